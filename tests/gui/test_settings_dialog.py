"""Settings dialog: masked key entry, keyring-less fallback, Test key, unified profiles."""

from __future__ import annotations

from gui_fakes import FakeService
from keyring.backends import fail
from memkeyring import MemoryKeyring
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from kievideo.core.secrets import KeyStore
from kievideo.ui.appsettings import AppSettings, UnifiedProfile, open_settings
from kievideo.ui.mainwindow import AppContext
from kievideo.ui.settingsdialog import SettingsDialog


def make_dialog(qtbot, tmp_path, service=None, keys=None) -> SettingsDialog:
    ctx = AppContext(
        service=service or FakeService(),
        settings=AppSettings(open_settings(tmp_path / "config")),
        cache_dir=tmp_path,
        library_dir=tmp_path / "lib",
        log_dir=tmp_path,
        keys=keys if keys is not None else KeyStore(backend=fail.Keyring()),
    )
    dlg = SettingsDialog(ctx)
    qtbot.addWidget(dlg)
    dlg.open()
    return dlg


def test_no_keyring_offers_session_only_and_test_key(qtbot, qloop, tmp_path):
    svc = FakeService()
    svc.credit_balance = 1234
    keys = KeyStore(backend=fail.Keyring())
    dlg = make_dialog(qtbot, tmp_path, svc, keys)
    assert not dlg.keyring_warning.isHidden()
    assert "No system keyring" in dlg.keyring_warning.text()
    row = dlg.rows["kie"]
    assert row.edit.echoMode() == QLineEdit.EchoMode.Password
    assert row.save_btn.text() == "Use for this session only"
    row.edit.setText("sk-test-key-123456")
    qtbot.mouseClick(row.test_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "1,234" in row.status.text(), timeout=3000)
    assert keys.get("kie") == "sk-test-key-123456"
    assert keys.status("kie") == "session"
    assert row.edit.text() == ""  # not kept in the widget


def test_test_key_shows_the_error(qtbot, qloop, tmp_path):
    class Refusing(FakeService):
        async def credits(self, profile: str = "kie") -> int:
            raise RuntimeError("The API key was not accepted. Open Settings and enter a valid key.")

    dlg = make_dialog(qtbot, tmp_path, Refusing())
    row = dlg.rows["kie"]
    qtbot.mouseClick(row.test_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "not accepted" in row.status.text(), timeout=3000)


def test_unified_profiles_are_validated_and_saved(qtbot, qloop, tmp_path):
    dlg = make_dialog(qtbot, tmp_path)
    dlg.profile_name.setText("kie")
    dlg.profile_url.setText("https://x.example")
    assert not dlg.add_profile()
    dlg.profile_name.setText("router")
    dlg.profile_url.setText("ftp://nope")
    assert not dlg.add_profile() and "https://" in dlg.profile_error.text()
    dlg.profile_url.setText("https://api.router.example/")
    assert dlg.add_profile()
    with qtbot.waitSignal(dlg.profilesChanged, timeout=1000):
        dlg.apply()
    assert dlg.ctx.settings.unified_profiles == [UnifiedProfile("router", "https://api.router.example")]
    assert "router" in dlg.rows
    dlg.notify_check.setChecked(False)
    dlg.accept()
    assert AppSettings(open_settings(tmp_path / "config")).notify is False


def test_key_saved_in_the_keyring_then_removed(qtbot, qloop, tmp_path):
    backend = MemoryKeyring()
    keys = KeyStore(backend=backend)
    dlg = make_dialog(qtbot, tmp_path, keys=keys)
    assert dlg.keyring_warning.isHidden()
    row = dlg.rows["kie"]
    qtbot.waitUntil(lambda: row.status.text() == "No key yet.", timeout=3000)
    assert row.save_btn.text() == "Save"

    row.edit.setText("   ")
    qtbot.mouseClick(row.save_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row.status.text() == "Paste a key first.", timeout=3000)
    assert backend.data == {}

    row.edit.setText("sk-live-0123456789abcdef")
    with qtbot.waitSignal(dlg.keysChanged, timeout=3000) as changed:
        qtbot.mouseClick(row.save_btn, Qt.MouseButton.LeftButton)
    assert changed.args == ["kie"]
    assert row.status.text() == "Saved in the system keyring."
    assert list(backend.data.values()) == ["sk-live-0123456789abcdef"]
    assert row.edit.text() == ""  # not kept in the widget
    assert row.edit.placeholderText() == "•••••••• (stored)"  # as when the dialog opens with one
    assert keys.status("kie") == "stored"

    with qtbot.waitSignal(dlg.keysChanged, timeout=3000):
        qtbot.mouseClick(row.remove_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row.status.text() == "No key yet.", timeout=3000)
    assert backend.data == {} and keys.get("kie") is None
    assert row.edit.placeholderText() == "paste the API key"
