"""The main window: prompt and image panels on the left, task list and player on the right.

It owns the one user action that costs money, Generate, and guards it: the click handler is
synchronous, sets a busy flag and disables the button BEFORE any coroutine is scheduled, so a
double click cannot submit twice. Everything else is wiring between the panels and TaskService.

Start-up is in three steps so the window is on screen first (kievideo.app does them in order):

1. ``MainWindow(ctx, deferred=True)``: only the frame (title, menus, status bar, a "starting"
   line). This module imports nothing heavier than the Qt widgets, so it paints about as soon as a
   bare QMainWindow would;
2. :meth:`MainWindow.build_ui` (after the first paint): the panels, the toolbar and the icons;
3. :meth:`MainWindow.attach_service` once the TaskService exists (built off the GUI thread):
   the task list fills with the newest page of the history and Generate is enabled.

``MainWindow(ctx)`` with ``ctx.service`` set does all three at once (tests, scripts).

Closing the window is asynchronous (stop polling, close HTTP clients, flush the store): the first
close event is ignored, the shutdown coroutine runs, then the window closes for real.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QByteArray, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QWidget

import kievideo
from kievideo.ui.appsettings import AppSettings
from kievideo.ui.icons import app_icon

if TYPE_CHECKING:  # the panels are imported by build_ui(), after the first paint
    import asyncio
    import logging

    from PySide6.QtWidgets import QSplitter, QSystemTrayIcon, QToolBar

    from kievideo.core.jobs import Job, JobSpec, Mode
    from kievideo.ui.imagepanel import ImagePanel
    from kievideo.ui.player import PlayerPanel
    from kievideo.ui.promptpanel import PromptPanel, ProviderChoice
    from kievideo.ui.tasklist import TaskActions, TaskListPanel
    from kievideo.ui.taskmodel import TaskListModel

# Before the first paint this module must stay cheap to import: no ``logging`` (its import pulls
# in traceback/linecache/tokenize) and no ``Qt`` namespace (~30 ms to create) at module level;
# the methods that run later import them.


def _log() -> logging.Logger:
    import logging

    return logging.getLogger("kievideo.ui")


if TYPE_CHECKING:  # an annotation only: the task list module loads after the first paint

    class Service(TaskActions, Protocol):
        """The TaskService surface the window uses: the task list's actions and these (the real
        one is kievideo.core.service.TaskService)."""

        def get(self, job_id: str) -> Job | None: ...
        def add_listener(self, cb: Callable[[Job], None]) -> Callable[[], None]: ...
        def submit(self, spec: JobSpec, *, job_key: str | None = None) -> Job: ...
        async def credits(self, profile: str = "kie") -> int: ...
        async def aclose(self) -> None: ...


@dataclass
class AppContext:
    """Everything the window needs, built by kievideo.app (or a test)."""

    service: Service | None
    settings: AppSettings
    cache_dir: Path
    library_dir: Path
    log_dir: Path
    keys: Any = None  # core.secrets.KeyStore
    demo: bool = False
    #: apply changed unified profiles / polling mode (rebuilds the registry); set by app.py
    reconfigure: Callable[[], Awaitable[None]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class MainWindow(QMainWindow):
    #: emitted once the asynchronous shutdown has finished and the window is closed
    shutdownFinished = Signal()
    #: a job was submitted from Generate (tests and the status bar use it)
    jobSubmitted = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *, deferred: bool = False) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.service: Any = None
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("kievideo") + (self.tr(" — demo") if ctx.demo else ""))
        self.setWindowIcon(app_icon())
        self._submitting = False
        self._closing = False
        self._closed = False
        self._built = False
        self._credits_task: asyncio.Task[None] | None = None
        self._shutdown_task: asyncio.Task[None] | None = None
        self._startup: Awaitable[Any] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._settings_dialog: QWidget | None = None
        self._my_jobs: set[str] = set()
        self._tray: QSystemTrayIcon | None = None
        self._store_timer: QTimer | None = None
        # The credit refresh after Generate, once the new row has painted (see _generate).
        self._credits_timer = QTimer(self)
        self._credits_timer.setSingleShot(True)
        self._credits_timer.setInterval(150)
        self._credits_timer.timeout.connect(self.refresh_credits)
        self._deleted_mark = 0.0
        #: close() came before there was an event loop to shut down on (see closeEvent)
        self.close_requested = False

        # --- the frame: cheap, shown before anything slow is imported ---
        self.credit_label = QLabel(self)
        self.credit_label.setObjectName("creditLabel")
        self.credit_label.setText(self.tr("Credits: …"))
        self.statusBar().addPermanentWidget(self.credit_label)
        self._build_actions()
        self._build_menus()
        self._restore_geometry()
        if deferred:
            # Centred by the markup (vertically by QLabel's default): no Qt enum needed here.
            starting = QLabel('<p align="center">' + self.tr("Starting kievideo…") + "</p>", self)
            starting.setObjectName("startingLabel")
            starting.setEnabled(False)  # the quiet grey of the palette
            self.setCentralWidget(starting)
            self._set_ready(False)
        else:
            self.build_ui()
            if ctx.service is not None:
                self.attach_service(ctx.service)

    # --- start-up steps 2 and 3 -------------------------------------------------------------------

    def build_ui(self) -> None:
        """Create the panels, toolbar and icons (start-up step 2; idempotent)."""
        if self._built:
            return
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QSplitter, QSystemTrayIcon, QVBoxLayout

        from kievideo.core.jobs import Mode
        from kievideo.ui import icons
        from kievideo.ui.imagepanel import ImagePanel
        from kievideo.ui.player import PlayerPanel
        from kievideo.ui.promptpanel import PromptPanel
        from kievideo.ui.tasklist import TaskListPanel
        from kievideo.ui.taskmodel import TaskListModel

        ctx = self.ctx
        self.prompt: PromptPanel = PromptPanel(self)
        self.images: ImagePanel = ImagePanel(ctx.cache_dir, self)
        self.model: TaskListModel = TaskListModel(None, self)
        self.tasks: TaskListPanel = TaskListPanel(self.model, None, self)
        self.player: PlayerPanel = PlayerPanel(self)

        self.left_split: QSplitter = QSplitter(Qt.Orientation.Vertical, self)
        self.left_split.setObjectName("leftSplit")
        self.left_split.addWidget(self.prompt)
        self.left_split.addWidget(self.images)
        self.left_split.setStretchFactor(0, 3)
        self.left_split.setStretchFactor(1, 2)
        self.right_split: QSplitter = QSplitter(Qt.Orientation.Vertical, self)
        self.right_split.setObjectName("rightSplit")
        self.right_split.addWidget(self.tasks)
        self.right_split.addWidget(self.player)
        self.right_split.setStretchFactor(0, 1)
        self.right_split.setStretchFactor(1, 1)
        self.main_split: QSplitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.main_split.setObjectName("mainSplit")
        self.main_split.addWidget(self.left_split)
        self.main_split.addWidget(self.right_split)
        self.main_split.setStretchFactor(0, 2)
        self.main_split.setStretchFactor(1, 3)
        for s in (self.left_split, self.right_split, self.main_split):
            s.setChildrenCollapsible(False)

        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.banner = QLabel(self.tr("Demo mode: simulated, no credits used"), self)
        self.banner.setObjectName("demoBanner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setMargin(6)
        # Highlight colours from the palette: readable in light and dark schemes alike.
        self.banner.setStyleSheet(
            "QLabel#demoBanner { background: palette(highlight); color: palette(highlighted-text);"
            " font-weight: bold; }"
        )
        self.banner.setVisible(ctx.demo)
        lay.addWidget(self.banner)
        lay.addWidget(self.main_split, 1)
        old = self.centralWidget()
        self.setCentralWidget(central)  # deletes the "starting" placeholder
        del old

        for act, name in self._icon_names.items():
            act.setIcon(icons.icon(name))
        for act, shortcut in self._shortcuts.items():
            act.setShortcut(shortcut)
        self._build_toolbar()
        self._wire()
        self._restore_splits()
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._tray = QSystemTrayIcon(app_icon(), self)
            self._tray.setToolTip(self.tr("kievideo"))
            self._tray.show()
        self._built = True
        self._update_cost()
        self._on_mode(Mode(self.prompt.mode.value() or "text"))
        # Pick up what another process (kievideo-cli) wrote or deleted. SQLite in WAL mode makes
        # this a cheap read; it must run on the loop thread because it notifies the listeners.
        self._store_timer = QTimer(self)
        self._store_timer.setInterval(3000)
        self._store_timer.timeout.connect(self._refresh_from_store)
        self._set_ready(self.service is not None)

    def attach_service(self, service: Any) -> None:
        """The TaskService is ready (start-up step 3): fill the task list, enable Generate."""
        self.build_ui()
        self.service = service
        self.ctx.service = service
        clock = getattr(service, "clock", None)
        if clock is not None:
            self.model.set_clock(clock.time)
        self.model.set_source(service)
        self.tasks.task_actions = service
        store = getattr(service, "store", None)
        if store is not None and hasattr(store, "last_change"):
            self._deleted_mark = store.last_change()
        if hasattr(service, "refresh_from_store") and self._store_timer is not None:
            self._store_timer.start()
        self._set_ready(True)

    def set_startup(self, startup: Awaitable[Any]) -> None:
        """The start-up coroutine's task: closing waits for it before closing the service."""
        self._startup = startup

    def _set_ready(self, ready: bool) -> None:
        """Until a service is attached nothing can be submitted, asked or configured."""
        for act in (self.act_generate, self.act_settings, self.act_credits):
            act.setEnabled(ready)
        if self._built:
            self.prompt.set_busy(not ready or self._submitting)

    @property
    def ready(self) -> bool:
        # Not once closing: the service is being closed, and a request started now (say by
        # the credit refresh Generate schedules) would outlive it or the event loop.
        return self.service is not None and self._built and not self._closing

    def _refresh_from_store(self) -> None:
        if self._closing or self.service is None:
            return
        try:
            self.service.refresh_from_store()  # notifies the model of changed jobs
            store = getattr(self.service, "store", None)
            if store is not None and hasattr(store, "deleted_since"):
                # Rows deleted by another process: the store's tombstones since the last look
                # (cheap), never a scan of every job (10,000 of them would freeze the window).
                mark = store.last_change()
                gone = store.deleted_since(self._deleted_mark)
                self._deleted_mark = mark
                for job_id in gone:
                    self.model.remove_job(job_id)
            else:
                self.model.prune({j.id for j in self.service.jobs()})
        except Exception:
            _log().exception("refresh from the store failed")

    # --- construction -------------------------------------------------------------------------

    def _build_actions(self) -> None:
        """Actions without icons (build_ui() adds them): the frame must not render SVGs."""
        self._icon_names: dict[QAction, str] = {}
        # Shortcuts are set by build_ui() too: the first setShortcut() makes PySide create the
        # whole ``Qt`` namespace (~60 ms), which the first paint does not need to wait for.
        self._shortcuts: dict[QAction, Any] = {}

        def act(
            text: str, icon_name: str | None, slot: Callable[[], Any], shortcut: Any = None, name: str = ""
        ) -> QAction:
            a = QAction(text, self)
            if shortcut is not None:
                self._shortcuts[a] = shortcut
            a.setObjectName(name)
            # triggered(bool checked): PySide6 hands ``checked`` to any slot that takes an
            # argument, even an optional one, so the slot is called with none.
            a.triggered.connect(lambda *_: slot())
            if icon_name:
                self._icon_names[a] = icon_name
            return a

        self.act_generate = act(
            self.tr("Generate"), "generate", self.on_generate_clicked, None, "actGenerate"
        )
        self.act_open_library = act(
            self.tr("Open library folder"), "folder", self.open_library, None, "actLibrary"
        )
        self.act_logs = act(self.tr("Show logs"), "logs", self.show_logs, None, "actLogs")
        self.act_quit = act(self.tr("Quit"), None, self.close, QKeySequence.StandardKey.Quit, "actQuit")
        self.act_paste = act(self.tr("Paste image"), "paste", self._paste_image, None, "actPaste")
        self.act_settings = act(
            self.tr("Settings…"),
            "settings",
            self.open_settings,
            QKeySequence.StandardKey.Preferences,
            "actSettings",
        )
        self.act_credits = act(
            self.tr("Refresh credits"),
            "refresh",
            self.refresh_credits,
            QKeySequence("F5"),
            "actCredits",
        )
        self.act_about = act(self.tr("About kievideo"), "info", self.about, None, "actAbout")
        self.act_play = act(
            self.tr("Play/pause"),
            "play",
            self._toggle_play,
            None,
            "actPlayPause",
        )

    def _paste_image(self) -> None:
        if self._built:  # the panels come after the frame (deferred start-up)
            self.images.paste()

    def _toggle_play(self) -> None:
        if self._built:
            self.player.toggle_play()

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu(self.tr("&File"))
        m.setObjectName("menuFile")
        m.addAction(self.act_open_library)
        m.addAction(self.act_logs)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu(self.tr("&Edit"))
        m.setObjectName("menuEdit")
        m.addAction(self.act_paste)
        m = mb.addMenu(self.tr("&View"))
        m.setObjectName("menuView")
        self.view_menu = m
        m = mb.addMenu(self.tr("&Tools"))
        m.setObjectName("menuTools")
        m.addAction(self.act_settings)
        m.addAction(self.act_credits)
        m = mb.addMenu(self.tr("&Help"))
        m.setObjectName("menuHelp")
        m.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QToolBar

        tb = QToolBar(self.tr("Main toolbar"), self)
        tb.setObjectName("mainToolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.setMovable(False)
        for a in (
            self.act_generate,
            self.act_paste,
            self.act_credits,
            self.act_settings,
            self.act_open_library,
        ):
            tb.addAction(a)
        self.addToolBar(tb)
        self.toolbar: QToolBar = tb
        self.view_menu.addAction(tb.toggleViewAction())
        self.view_menu.addAction(self.act_play)
        self.act_show_demo = self.banner.isVisible()

    def _wire(self) -> None:
        self.prompt.generateRequested.connect(self.on_generate_clicked)
        self.prompt.specChanged.connect(self._update_cost)
        self.prompt.modeChanged.connect(self._on_mode)
        self.images.imagesChanged.connect(self._on_images)
        self.tasks.playRequested.connect(self.play_job)
        self.tasks.reuseRequested.connect(self.reuse_settings)
        self.tasks.message.connect(self.show_message)
        self.tasks.submitted.connect(self._on_follow_up)
        self.player.message.connect(self.show_message)
        self.model.jobFinished.connect(self._on_job_finished)

    # --- state persistence ----------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        geo = self.ctx.settings.qs.value("window/geometry")
        if isinstance(geo, QByteArray | bytes) and self.restoreGeometry(QByteArray(geo)):
            return
        if isinstance(geo, QByteArray | bytes):
            _log().debug("could not restore window geometry")
        self.resize(1280, 820)

    def _restore_splits(self) -> None:
        qs = self.ctx.settings.qs
        for split in (self.main_split, self.left_split, self.right_split):
            st = qs.value(f"window/{split.objectName()}")
            if isinstance(st, QByteArray | bytes):
                split.restoreState(QByteArray(st))
        if not isinstance(qs.value("window/mainSplit"), QByteArray | bytes):
            self.main_split.setSizes([480, 800])
            self.left_split.setSizes([520, 240])
            self.right_split.setSizes([420, 380])

    def save_state(self) -> None:
        qs = self.ctx.settings.qs
        qs.setValue("window/geometry", self.saveGeometry())
        if self._built:
            for split in (self.main_split, self.left_split, self.right_split):
                qs.setValue(f"window/{split.objectName()}", split.saveState())
        qs.sync()

    # --- generate -------------------------------------------------------------------------------

    def on_generate_clicked(self) -> None:
        """Synchronous on purpose: the guard is set before any coroutine exists."""
        if self._submitting or self._closing or not self.ready:
            return
        self._submitting = True
        self.prompt.set_busy(True)
        self.act_generate.setEnabled(False)
        task = self._spawn(self._generate())
        task.add_done_callback(lambda _t: self._release_generate())

    def _release_generate(self) -> None:
        # Keep the button off for one double-click interval so the second press of a fast
        # double click lands on a disabled button even when the submit finished instantly.
        def release() -> None:
            self._submitting = False
            self.prompt.set_busy(False)
            self.act_generate.setEnabled(True)

        from PySide6.QtWidgets import QApplication

        # The window is the timer's context: no call into a deleted window after it closed.
        QTimer.singleShot(max(250, QApplication.doubleClickInterval()), self, release)

    def specs_to_submit(self) -> list[JobSpec]:
        """One spec, or one per image in image mode with several images."""
        from kievideo.core.jobs import Mode

        images = self.images.sources()
        spec = self.prompt.spec(images)
        if spec.mode is Mode.IMAGE and len(images) > 1:
            return [spec.with_(images=(img,)) for img in images]
        return [spec]

    async def _generate(self) -> list[Job]:
        import asyncio

        from kievideo.api.errors import ApiError
        from kievideo.core import rules
        from kievideo.ui import dialogs
        from kievideo.ui.promptpanel import tr_rules
        from kievideo.ui.tasklist import cost_text

        specs = self.specs_to_submit()
        loop = asyncio.get_running_loop()
        check = getattr(self.service, "check", rules.problems)  # service.check adds profile checks
        # Validation reads image heads: off the GUI thread.
        found = await loop.run_in_executor(None, lambda: [p for s in specs for p in check(s)])
        if found:
            msgs = list(dict.fromkeys(tr_rules(p.message) for p in found))
            self.prompt.show_problems(msgs)
            image_msgs = [tr_rules(p.message) for p in found if p.field.startswith("images")]
            if image_msgs:
                self.images.show_problem("\n".join(dict.fromkeys(image_msgs)))
            self.show_message(msgs[0])
            return []
        if len(specs) > 1:
            each = rules.estimate_cost(specs[0])
            total = None if each is None else each * len(specs)
            ok = await dialogs.confirm(
                self,
                self.tr("One task per image"),
                self.tr("Create %1 tasks, one per image, with the same settings?").replace(
                    "%1", str(len(specs))
                ),
                self.tr("Create %1 tasks (%2)")
                .replace("%1", str(len(specs)))
                .replace("%2", cost_text(total)),
                informative=self.tr("Estimated total: %1").replace("%1", cost_text(total)),
            )
            if not ok:
                return []
        jobs: list[Job] = []
        for spec in specs:
            try:
                job = self.service.submit(spec)
            except rules.SpecError as exc:
                self.prompt.show_problems([tr_rules(p.message) for p in exc.problems])
                break
            except ApiError as exc:  # e.g. no key for this profile: nothing was written or sent
                self.prompt.show_problems([exc.user_message])
                self.show_message(exc.user_message)
                break
            jobs.append(job)
            self._my_jobs.add(job.id)
            self.jobSubmitted.emit(job)
        if jobs:
            self.prompt.show_problems([])
            self.images.show_problem("")
            self.tasks.select_job(jobs[0].id)
            self.show_message(
                self.tr("Submitted 1 task.")
                if len(jobs) == 1
                else self.tr("Submitted %1 tasks.").replace("%1", str(len(jobs)))
            )
            # After the new row has painted: the first credits call builds an HTTP client
            # (~30 ms), which would otherwise delay the row the user is waiting to see.
            self._credits_timer.start()
        return jobs

    def _update_cost(self) -> None:
        from kievideo.core import rules
        from kievideo.ui.tasklist import cost_text

        specs = self.specs_to_submit()
        each = rules.estimate_cost(specs[0])
        n = len(specs)
        if each is None:
            text = self.tr("Generate") if n == 1 else self.tr("Generate %1 tasks").replace("%1", str(n))
            tip = self.tr("The provider bills its own account; kievideo cannot estimate the cost.")
        elif n == 1:
            text = self.tr("Generate · %1").replace("%1", cost_text(each))
            tip = self.tr("Estimated cost: %1").replace("%1", cost_text(each))
        else:
            text = self.tr("Generate %1 tasks · %2").replace("%1", str(n)).replace("%2", cost_text(each * n))
            tip = (
                self.tr("%1 tasks, estimated total %2")
                .replace("%1", str(n))
                .replace("%2", cost_text(each * n))
            )
        self.prompt.set_cost_text(text)
        self.prompt.generate_btn.setToolTip(tip + "\n" + self.tr("Ctrl+Enter"))

    def _on_mode(self, mode: Mode) -> None:
        self.images.set_mode(mode)
        self._update_cost()

    def _on_images(self) -> None:
        from kievideo.core.jobs import Mode

        n = self.images.count()
        if n and self.prompt.spec().mode is Mode.TEXT:
            # Images dropped while in text mode: the user clearly wants an image mode.
            wanted = Mode.FRAMES if n == 2 else Mode.IMAGE
            self.prompt.set_mode(wanted) or self.prompt.set_mode(Mode.IMAGE) or self.prompt.set_mode(
                Mode.REFERENCE
            )
        self.prompt.set_image_count(n)
        self._update_cost()

    # --- credits --------------------------------------------------------------------------------

    def refresh_credits(self) -> None:
        if not self.ready:
            return
        if self._credits_task is not None and not self._credits_task.done():
            return  # one request at a time
        self._credits_task = self._spawn(self._refresh_credits())

    async def _refresh_credits(self) -> None:
        self.credit_label.setText(self.tr("Credits: …"))
        try:
            n = await self.service.credits("kie")
        except Exception as exc:  # shown, not raised: a missing key is a normal first-run state
            self.credit_label.setText(self.tr("Credits: –"))
            self.credit_label.setToolTip(str(exc))
            self.show_message(self.tr("Could not read the credit balance: %1").replace("%1", str(exc)))
            return
        self.credit_label.setText(self.tr("Credits: %1").replace("%1", f"{n:,}"))
        self.credit_label.setToolTip(self.tr("kie.ai credit balance"))

    # --- task actions -----------------------------------------------------------------------------

    def play_job(self, job: Job) -> None:
        if job.file_path and self.player.load(job.file_path, job.spec.prompt):
            self.tasks.select_job(job.id)

    def reuse_settings(self, spec: JobSpec) -> None:
        self.prompt.apply_spec(spec)
        self.images.set_sources(spec.images)
        self.show_message(self.tr("Settings copied into the prompt panel."))

    def _on_follow_up(self, job: Job) -> None:
        self._my_jobs.add(job.id)
        self.refresh_credits()

    def _on_job_finished(self, job: Job) -> None:
        from kievideo.core.jobs import JobState
        from kievideo.ui.style import state_label

        if job.state is JobState.DONE and job.file_path and self.player.path is None:
            # The first result of the session goes into the player, paused: one click to watch.
            self.player.load(job.file_path, job.spec.prompt, autoplay=False)
        if self.ctx.settings.notify and not self.isActiveWindow() and self._tray is not None:
            title = self.tr("Video ready") if job.state is JobState.DONE else state_label(job.state)
            body = (
                job.spec.prompt[:80]
                if job.state is JobState.DONE
                else (job.error_message or job.spec.prompt[:80])
            )
            self._tray.showMessage(title, body, app_icon(), 5000)

    # --- menu actions -----------------------------------------------------------------------------

    def open_library(self) -> None:
        self.ctx.library_dir.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ctx.library_dir)))

    def show_logs(self) -> None:
        self.ctx.log_dir.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ctx.log_dir)))

    def open_settings(self) -> None:
        from PySide6.QtCore import Qt

        from kievideo.ui.settingsdialog import SettingsDialog

        if not self.ready:
            return
        if self._settings_dialog is not None and self._settings_dialog.isVisible():
            self._settings_dialog.raise_()
            self._settings_dialog.activateWindow()
            return
        dlg = SettingsDialog(self.ctx, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.profilesChanged.connect(self.apply_profiles)
        dlg.destroyed.connect(lambda: setattr(self, "_settings_dialog", None))
        self._settings_dialog = dlg
        dlg.open()  # non-modal to the app loop: no exec()

    def apply_profiles(self) -> None:
        from kievideo.ui.promptpanel import default_choices

        names = [p.name for p in self.ctx.settings.unified_profiles]
        self.prompt.set_choices(default_choices(names))
        if self.ctx.reconfigure is not None:
            self._spawn(self.ctx.reconfigure())

    def set_provider_choices(self, choices: list[ProviderChoice]) -> None:
        self.prompt.set_choices(choices)

    def about(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(self)
        box.setObjectName("aboutDialog")
        box.setWindowTitle(self.tr("About kievideo"))
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setText(self.tr("<b>kievideo %1</b>").replace("%1", kievideo.__version__))
        box.setInformativeText(
            self.tr(
                "A desktop studio for AI video generation: kie.ai Veo 3.1, Runway, Runway Aleph and "
                "unified video APIs. Your API keys stay in the system keyring."
            )
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def show_message(self, text: str, ms: int = 8000) -> None:
        self.statusBar().showMessage(text, ms)

    # --- async plumbing ---------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        import asyncio

        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            _log().error("UI task failed", exc_info=(type(exc), exc, exc.__traceback__))
            self.show_message(self.tr("Something went wrong: %1").replace("%1", str(exc)))

    # --- shutdown -------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:
            event.accept()
            return
        event.ignore()
        if self._closing:
            return
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # Closed before the event loop runs (during start-up step 1): kievideo.app closes
            # the window again once it has started.
            self.close_requested = True
            return
        self._closing = True
        self._credits_timer.stop()
        self.save_state()
        self._shutdown_task = asyncio.ensure_future(self._shutdown())

    async def _shutdown(self) -> None:
        import asyncio

        try:
            if self._startup is not None:
                # Closed while starting: let the start-up finish (it is short and must not leave
                # a half-built service behind), then close what it built.
                await asyncio.wait({asyncio.ensure_future(self._startup)})  # errors: reported by it
            if self._store_timer is not None:
                self._store_timer.stop()
            if self._built:
                self.model.detach()
                self.player.shutdown()
                await asyncio.wait_for(self.player.settled(), 5.0)
            for t in list(self._tasks):
                t.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            if self.service is not None:
                await self.service.aclose()
        except Exception:
            _log().exception("error while shutting down")
        finally:
            self._closed = True
            if self._tray is not None:
                self._tray.hide()
            self.close()
            self.shutdownFinished.emit()

    async def wait_closed(self) -> None:
        """Until the asynchronous shutdown has finished."""
        import asyncio

        if self._closed:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def finished() -> None:
            if not fut.done():
                fut.set_result(None)

        self.shutdownFinished.connect(finished)
        await fut
