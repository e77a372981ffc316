"""The Settings dialog (non-modal): API keys per profile, download folder, notifications,
polling preference and the user's "unified video API" profiles.

Keys are typed into masked fields and go ONLY to the OS keyring through core.secrets.KeyStore
(its async methods: a keyring call can block on D-Bus). Where no keyring backend exists the
dialog says so plainly and offers "Use for this session only" (the KeyStore's in-memory store).
"Test key" stores the typed key, then asks TaskService.credits() for that profile and shows the
balance or the provider's error in words.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kievideo.core.jobs import JobState
from kievideo.ui import icons
from kievideo.ui.appsettings import UnifiedProfile
from kievideo.ui.style import error_color, state_color

log = logging.getLogger("kievideo.ui")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class KeyRow(QWidget):
    """One profile's key: masked field, Save, Test, Remove and a status line."""

    def __init__(self, dialog: SettingsDialog, profile: str, label: str) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        self.profile = profile
        self._seq = 0
        self.setObjectName(f"keyRow_{profile}")
        self.edit = QLineEdit(self)
        self.edit.setObjectName("keyEdit")
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setPlaceholderText(self.tr("paste the API key"))
        self.edit.setAccessibleName(self.tr("API key for %1").replace("%1", label))
        self.save_btn = QPushButton(self.tr("Save"), self)
        self.save_btn.setObjectName("keySave")
        self.test_btn = QPushButton(self.tr("Test key"), self)
        self.test_btn.setObjectName("keyTest")
        self.remove_btn = QPushButton(self.tr("Remove"), self)
        self.remove_btn.setObjectName("keyRemove")
        self.status = QLabel(self)
        self.status.setObjectName("keyStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel(label, self), 0, 0)
        grid.addWidget(self.edit, 0, 1)
        grid.addWidget(self.save_btn, 0, 2)
        grid.addWidget(self.test_btn, 0, 3)
        grid.addWidget(self.remove_btn, 0, 4)
        grid.addWidget(self.status, 1, 1, 1, 4)
        grid.setColumnStretch(1, 1)
        self.save_btn.clicked.connect(lambda: self.dialog.spawn(self.save()))
        self.test_btn.clicked.connect(lambda: self.dialog.spawn(self.test()))
        self.remove_btn.clicked.connect(lambda: self.dialog.spawn(self.remove()))

    def set_status(self, text: str, *, ok: bool | None = None) -> None:
        pal = self.status.palette()
        if ok is None:
            pal.setColor(QPalette.ColorRole.WindowText, self.palette().color(QPalette.ColorRole.WindowText))
        else:
            pal.setColor(QPalette.ColorRole.WindowText, state_color(JobState.DONE) if ok else error_color())
        self.status.setPalette(pal)
        self.status.setText(text)

    def _busy(self, on: bool) -> None:
        self._seq += 1  # a user action happened: a slower background refresh must not overwrite it
        for b in (self.save_btn, self.test_btn, self.remove_btn):
            b.setEnabled(not on)

    async def refresh(self) -> None:
        keys = self.dialog.keys
        if keys is None:
            self.set_status(self.tr("No key store in this session."))
            return
        seq = self._seq
        status = await keys.astatus(self.profile)
        if seq != self._seq:
            return
        texts = {
            "stored": self.tr("A key is stored in the system keyring."),
            "session": self.tr("A key is set for this session only (it will be forgotten on exit)."),
            "missing": self.tr("No key yet."),
            "no-backend": self.tr("No key yet."),
        }
        self.set_status(texts.get(status, status))
        self._show_key_present(status in ("stored", "session"))

    def _show_key_present(self, present: bool) -> None:
        """The empty field says whether a key is set (the key itself is never shown)."""
        text = self.tr("•••••••• (stored)") if present else self.tr("paste the API key")
        self.edit.setPlaceholderText(text)

    async def save(self) -> bool:
        keys = self.dialog.keys
        text = self.edit.text()
        if keys is None or not text.strip():
            self.set_status(self.tr("Paste a key first."), ok=False)
            return False
        self._busy(True)
        try:
            where = await keys.aset(self.profile, text)
        except (ValueError, TypeError) as exc:
            self.set_status(str(exc), ok=False)
            return False
        finally:
            self._busy(False)
        self.edit.clear()  # the key does not stay in the widget once stored
        self._show_key_present(True)
        cache = getattr(self.dialog.ctx.service, "key_cache", None)
        if cache is not None:
            await cache.load([self.profile])  # the registry reads keys from this cache
        if where == "stored":
            self.set_status(self.tr("Saved in the system keyring."), ok=True)
        else:
            self.set_status(self.tr("Set for this session only: no system keyring is available."), ok=True)
        self.dialog.keysChanged.emit(self.profile)
        return True

    async def test(self) -> None:
        if self.edit.text().strip() and not await self.save():
            return
        service = self.dialog.ctx.service
        self._busy(True)
        self.set_status(self.tr("Testing…"))
        try:
            balance = await service.credits(self.profile)
        except Exception as exc:  # the provider's answer in words (AuthError: "key not accepted")
            self.set_status(self.tr("Test failed: %1").replace("%1", str(exc)), ok=False)
            return
        finally:
            self._busy(False)
        self.set_status(self.tr("The key works. Balance: %1 credits.").replace("%1", f"{balance:,}"), ok=True)

    async def remove(self) -> None:
        keys = self.dialog.keys
        if keys is None:
            return
        await keys.adelete(self.profile)
        cache = getattr(self.dialog.ctx.service, "key_cache", None)
        if cache is not None:
            await cache.load([self.profile])
        self.dialog.keysChanged.emit(self.profile)
        await self.refresh()


class SettingsDialog(QDialog):
    profilesChanged = Signal()
    keysChanged = Signal(str)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.keys = ctx.keys
        self.setObjectName("settingsDialog")
        self.setWindowTitle(self.tr("Settings"))
        self.setWindowIcon(icons.icon("settings"))
        self.resize(640, 460)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dir_dialog: QFileDialog | None = None
        settings = ctx.settings

        tabs = QTabWidget(self)
        # --- keys ---
        keys_tab = QWidget(self)
        kl = QVBoxLayout(keys_tab)
        self.keyring_warning = QLabel(self)
        self.keyring_warning.setObjectName("keyringWarning")
        self.keyring_warning.setWordWrap(True)
        pal = self.keyring_warning.palette()
        pal.setColor(QPalette.ColorRole.WindowText, error_color())
        self.keyring_warning.setPalette(pal)
        no_backend = self.keys is not None and not self.keys.backend_available()
        self.keyring_warning.setText(
            self.tr(
                "No system keyring is available, so kievideo cannot remember API keys. You can use a key "
                "for this session only (it is kept in memory and forgotten when kievideo closes), or "
                "install and unlock a keyring (GNOME Keyring, KWallet, macOS Keychain or Windows "
                "Credential Manager) and restart."
            )
        )
        self.keyring_warning.setVisible(no_backend)
        kl.addWidget(self.keyring_warning)
        self.key_box = QGroupBox(self.tr("API keys (stored only in the system keyring)"), self)
        self.key_layout = QVBoxLayout(self.key_box)
        kl.addWidget(self.key_box)
        kl.addStretch(1)
        self.rows: dict[str, KeyRow] = {}
        self._build_key_rows(no_backend)
        tabs.addTab(keys_tab, self.tr("API keys"))

        # --- general ---
        gen = QWidget(self)
        form = QFormLayout(gen)
        self.library_edit = QLineEdit(str(settings.library_dir or ctx.library_dir), self)
        self.library_edit.setObjectName("libraryEdit")
        browse = QPushButton(self.tr("Browse…"), self)
        browse.clicked.connect(self._browse_library)
        row = QHBoxLayout()
        row.addWidget(self.library_edit, 1)
        row.addWidget(browse)
        form.addRow(self.tr("Download folder"), row)
        form.addRow("", QLabel(self.tr("A new folder is used from the next start."), self))
        self.notify_check = QCheckBox(self.tr("Show a desktop notification when a task finishes"), self)
        self.notify_check.setObjectName("notifyCheck")
        self.notify_check.setChecked(settings.notify)
        form.addRow("", self.notify_check)
        self.polling_combo = QComboBox(self)
        self.polling_combo.setObjectName("pollingCombo")
        self.polling_combo.addItem(self.tr("Normal (results arrive quickly)"), "normal")
        self.polling_combo.addItem(self.tr("Frugal (fewer status requests)"), "frugal")
        self.polling_combo.setCurrentIndex(max(0, self.polling_combo.findData(settings.polling)))
        form.addRow(self.tr("Status checks"), self.polling_combo)
        tabs.addTab(gen, self.tr("General"))

        # --- unified profiles ---
        uni = QWidget(self)
        ul = QVBoxLayout(uni)
        ul.addWidget(
            QLabel(
                self.tr(
                    "Aggregators that offer the OpenAI-style unified video API (/v1/video/create). "
                    "Each profile has its own base URL and its own API key."
                ),
                self,
            )
        )
        self.profile_list = QListWidget(self)
        self.profile_list.setObjectName("profileList")
        for p in settings.unified_profiles:
            self._add_profile_item(p)
        ul.addWidget(self.profile_list, 1)
        pform = QHBoxLayout()
        self.profile_name = QLineEdit(self)
        self.profile_name.setObjectName("profileName")
        self.profile_name.setPlaceholderText(self.tr("name, e.g. myrouter"))
        self.profile_url = QLineEdit(self)
        self.profile_url.setObjectName("profileUrl")
        self.profile_url.setPlaceholderText("https://api.example.com")
        add = QPushButton(self.tr("Add"), self)
        add.setObjectName("profileAdd")
        add.clicked.connect(self.add_profile)
        remove = QPushButton(self.tr("Remove"), self)
        remove.setObjectName("profileRemove")
        remove.clicked.connect(self.remove_profile)
        pform.addWidget(self.profile_name)
        pform.addWidget(self.profile_url, 1)
        pform.addWidget(add)
        pform.addWidget(remove)
        ul.addLayout(pform)
        self.profile_error = QLabel(self)
        self.profile_error.setPalette(pal)
        self.profile_error.hide()
        ul.addWidget(self.profile_error)
        tabs.addTab(uni, self.tr("Unified APIs"))
        self.tabs = tabs

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        lay = QVBoxLayout(self)
        lay.addWidget(tabs, 1)
        lay.addWidget(buttons)
        self.spawn(self._refresh_rows())

    # --- keys -----------------------------------------------------------------------------------

    def _build_key_rows(self, no_backend: bool) -> None:
        for row in self.rows.values():
            row.setParent(None)
            row.deleteLater()
        self.rows.clear()
        entries = [("kie", self.tr("kie.ai (Veo, Runway, Aleph)"))]
        entries += [(p.name, p.name) for p in self.ctx.settings.unified_profiles]
        for profile, label in entries:
            row = KeyRow(self, profile, label)
            if no_backend:
                row.save_btn.setText(self.tr("Use for this session only"))
            self.key_layout.addWidget(row)
            self.rows[profile] = row

    async def _refresh_rows(self) -> None:
        for row in list(self.rows.values()):
            await row.refresh()

    # --- general ----------------------------------------------------------------------------------

    def _browse_library(self) -> None:
        dlg = QFileDialog(self, self.tr("Download folder"), self.library_edit.text())
        dlg.setFileMode(QFileDialog.FileMode.Directory)
        dlg.setOption(QFileDialog.Option.ShowDirsOnly)
        dlg.fileSelected.connect(self.library_edit.setText)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dir_dialog = dlg
        dlg.open()

    # --- profiles ---------------------------------------------------------------------------------

    def _add_profile_item(self, p: UnifiedProfile) -> None:
        item = QListWidgetItem(f"{p.name} — {p.base_url}")
        item.setData(Qt.ItemDataRole.UserRole, (p.name, p.base_url))
        self.profile_list.addItem(item)

    def profiles(self) -> list[UnifiedProfile]:
        out = []
        for i in range(self.profile_list.count()):
            name, url = self.profile_list.item(i).data(Qt.ItemDataRole.UserRole)
            out.append(UnifiedProfile(name, url))
        return out

    def add_profile(self) -> bool:
        name = self.profile_name.text().strip()
        url = self.profile_url.text().strip().rstrip("/")
        error = ""
        if not _NAME_RE.match(name) or name == "kie":
            error = self.tr("Use a short name of letters, digits, '.', '_' or '-' (not 'kie').")
        elif any(p.name == name for p in self.profiles()):
            error = self.tr("A profile called %1 exists already.").replace("%1", name)
        elif not re.match(r"^https?://[^\s/]+", url):
            error = self.tr("The base URL must start with https:// (or http:// for a local server).")
        self.profile_error.setText(error)
        self.profile_error.setVisible(bool(error))
        if error:
            return False
        self._add_profile_item(UnifiedProfile(name, url))
        self.profile_name.clear()
        self.profile_url.clear()
        return True

    def remove_profile(self) -> None:
        for item in self.profile_list.selectedItems():
            self.profile_list.takeItem(self.profile_list.row(item))

    # --- apply ------------------------------------------------------------------------------------

    def apply(self) -> None:
        s = self.ctx.settings
        lib = self.library_edit.text().strip()
        s.library_dir = None if not lib or lib == str(self.ctx.library_dir) else lib
        s.notify = self.notify_check.isChecked()
        polling_changed = s.polling != self.polling_combo.currentData()
        s.polling = str(self.polling_combo.currentData())
        new_profiles = self.profiles()
        changed = new_profiles != s.unified_profiles
        s.unified_profiles = new_profiles
        s.sync()
        if changed:
            self._build_key_rows(self.keys is not None and not self.keys.backend_available())
            self.spawn(self._refresh_rows())
        if changed or polling_changed:
            self.profilesChanged.emit()

    def accept(self) -> None:
        self.apply()
        super().accept()

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def done(self, r: int) -> None:
        for t in list(self._tasks):
            t.cancel()
        super().done(r)
