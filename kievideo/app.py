"""GUI entry point: ``kievideo`` (gui-script) and ``python -m kievideo``.

The window is on screen before anything slow happens. :func:`main`:

1. creates the QApplication (desktop file name, icon, translators), builds the main window's
   frame (``MainWindow(..., deferred=True)``: title, menus, status bar) and shows it; a local Qt
   event loop runs until its first paint. Nothing but Qt's widget modules is imported so far;
2. then starts the qasync loop (one loop for the whole process, on the GUI thread) and
   :func:`run`: the panels are built, and off the GUI thread the keyring is opened and the
   TaskStore + TaskService are created (httpx, SQLite; with a long history the service reads it);
   the window gets the service and shows the newest page of tasks.

``--demo`` starts the embedded simulator on loopback (free ports, fast clock, demo key, generous
credits) and keeps its tasks in DATA_DIR/demo, like ``kievideo-cli --demo``; the simulator is only
imported then. ``--smoke-test`` opens the main window, plays a short real clip to the end and exits
0 (non-zero on any failure, and at once when Qt has no multimedia backend): packaging runs it
against the frozen bundle. ``--lang zh_CN`` picks a translation (default: the system locale);
``--dark`` (or ``KIEVIDEO_DARK=1``) forces a dark colour scheme (checking the UI on any desktop).

``KIEVIDEO_QUIT_AFTER_PAINT=1`` (start-up benchmarks): on the main window's first paint, print
``KIEVIDEO_FIRST_PAINT <time.perf_counter()>`` to stdout and ``KIEVIDEO_FIRST_PAINT <time.time()>``
to stderr (the protocol of packaging/rthook_quit_after_paint.py), finish starting up, then close
the window the normal way and exit 0.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")  # qasync must bind to PySide6, whatever else is installed

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kievideo

if TYPE_CHECKING:
    import logging

    from kievideo.ui.appsettings import AppSettings
    from kievideo.ui.mainwindow import MainWindow


def _log() -> logging.Logger:
    # Not a module-level logger: importing ``logging`` costs ~10 ms that the first paint need not wait for.
    import logging

    return logging.getLogger("kievideo")


#: matches packaging/linux/io.github.kievideo.KieVideo.desktop (Wayland app id, taskbar grouping)
DESKTOP_FILE_NAME = "io.github.kievideo.KieVideo"
DEMO_SPEED = 20.0  # a 3-minute Veo task takes 9 s: quick enough to watch, slow enough to see states
DEMO_CREDITS = 100_000
SMOKE_TIMEOUT_S = 60.0
#: how long main() waits for the first paint before carrying on regardless (a hidden window)
FIRST_PAINT_WAIT_MS = 3000
QUIT_AFTER_PAINT_ENV = "KIEVIDEO_QUIT_AFTER_PAINT"
FIRST_PAINT_TAG = "KIEVIDEO_FIRST_PAINT"
#: packaging/rthook_quit_after_paint.py leaves KIEVIDEO_QUIT_AFTER_PAINT to this module
HANDLES_QUIT_AFTER_PAINT = True


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kievideo", description="Desktop studio for AI video generation.")
    p.add_argument(
        "--demo",
        action="store_true",
        help="run against the built-in simulator (no network, no key, no credits used)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep tasks, library, logs, settings and cache under DIR (default: the platform folders)",
    )
    p.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the window, play a sample clip to the end, exit 0 on success (packaging check)",
    )
    p.add_argument(
        "--lang",
        metavar="LOCALE",
        help="user interface language, e.g. zh_CN (default: the system's)",
    )
    p.add_argument("--dark", action="store_true", help="force a dark colour scheme")
    p.add_argument("--debug", action="store_true", help="verbose logging")
    p.add_argument("--version", action="version", version=f"kievideo {kievideo.__version__}")
    return p


@dataclass
class Stack:
    """What run() built, torn down in reverse order."""

    paths: Any
    store: Any = None
    service: Any = None
    sim: Any = None
    keys: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_paths(args: argparse.Namespace, smoke_dir: Path | None = None) -> Any:
    from kievideo.core.paths import AppPaths

    if smoke_dir is not None and not args.data_dir:
        return AppPaths.under(smoke_dir).ensure()
    paths = AppPaths.resolve(args.data_dir)
    if args.demo:
        paths = AppPaths.under(paths.data_dir / "demo")  # demo tasks never mix with real ones
    return paths.ensure()


async def start_sim(paths: Any) -> Any:
    """The embedded simulator, started in a worker thread (binding sockets must not block the GUI)."""
    import asyncio
    import random

    from kievideo.sim import DEMO_KEY, SimConfig, SimServer

    # A fresh seed each run: the demo store outlives the simulator, and the simulator derives
    # task ids from (seed, counter), so a fixed seed would hand out ids earlier runs already stored.
    cfg = SimConfig(
        speed=DEMO_SPEED,
        credits=DEMO_CREDITS,
        keys=(DEMO_KEY,),
        cache_dir=str(paths.cache_dir / "sim-media"),
        seed=random.SystemRandom().randrange(1, 2**31),
    )
    server = SimServer(cfg)
    await asyncio.get_running_loop().run_in_executor(None, server.start)
    _log().info("demo simulator on %s", server.api_url)
    return server


def build_service(paths: Any, settings: Any, keys: Any, sim: Any) -> tuple[Any, Any]:
    """TaskStore + ProviderRegistry + TaskService for the real providers or the simulator.

    No Qt and no event loop: run() calls it in an executor (it imports httpx and reads the store).
    """
    from kievideo.ui.wiring import make_service

    return make_service(paths, settings, keys, sim)


def open_keystore() -> Any:
    """The KeyStore with the keyring backend already chosen (importing keyring and its backend
    discovery take a few hundred ms, D-Bus included): run() calls it in an executor."""
    from kievideo.core.secrets import KeyStore

    keys = KeyStore()
    keys.backend_available()  # discovers the backend now, not in the Settings dialog
    return keys


class FirstPaint:
    """Waits for the main window's first paint (a local Qt event loop, before qasync exists).

    With ``announce`` (KIEVIDEO_QUIT_AFTER_PAINT=1) it prints the time of that paint.
    """

    def __init__(self, window: Any, *, announce: bool = False) -> None:
        from PySide6.QtCore import QEvent, QEventLoop, QObject

        self.window = window
        self.announce = announce
        self.painted_at: float | None = None
        self._loop = QEventLoop()
        paint = QEvent.Type.Paint
        outer = self

        class Filter(QObject):
            def eventFilter(self, obj: QObject, event: QEvent) -> bool:
                if event.type() == paint and obj is outer.window and outer.painted_at is None:
                    outer._painted()
                return False

        self._filter = Filter()
        window.installEventFilter(self._filter)

    def _painted(self) -> None:
        from PySide6.QtCore import QTimer

        self.painted_at = time.perf_counter()
        if self.announce:
            print(f"{FIRST_PAINT_TAG} {self.painted_at:.6f}", flush=True)
            print(f"{FIRST_PAINT_TAG} {time.time():.6f}", file=sys.stderr, flush=True)
        QTimer.singleShot(0, self._loop.quit)  # after the paint has been delivered

    def wait(self, timeout_ms: int = FIRST_PAINT_WAIT_MS) -> bool:
        """Run Qt's event loop until the first paint (or the timeout); True when painted."""
        from PySide6.QtCore import QTimer

        if self.painted_at is None:
            QTimer.singleShot(timeout_ms, self._loop.quit)
            self._loop.exec()
        self.window.removeEventFilter(self._filter)
        return self.painted_at is not None


async def run(
    args: argparse.Namespace,
    app: Any,
    window: MainWindow,
    paths: Any,
    settings: AppSettings,
    *,
    quit_after_paint: bool = False,
) -> int:
    """Everything after the first paint, on the qasync loop; returns the exit code."""
    import asyncio
    import contextlib

    from kievideo import logs
    from kievideo.ui import errors as ui_errors

    logs.setup_logging(paths.log_dir, debug=args.debug, console=args.debug or args.smoke_test)
    logs.install_asyncio_handler(asyncio.get_running_loop())
    bridge = ui_errors.install(app)
    bridge.parent_window = window
    stack = Stack(paths=paths)
    startup = asyncio.ensure_future(start_stack(args, window, stack, settings))
    window.set_startup(startup)
    rc = 0
    try:
        await startup
        if quit_after_paint or window.close_requested:
            window.close()
        elif args.smoke_test:
            rc = await smoke(window, paths)
            window.close()
        else:
            window.refresh_credits()
        await window.wait_closed()
    except Exception:
        _log().exception("kievideo failed")
        rc = 1
        if not window._closed:
            window.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(window.wait_closed(), 10)
    finally:
        if stack.service is not None and window.service is not stack.service:
            with contextlib.suppress(Exception):
                await stack.service.aclose()  # built, but the window never got it
        settings.sync()
        if stack.store is not None:
            with contextlib.suppress(Exception):
                stack.store.close()
        if stack.sim is not None:
            await asyncio.get_running_loop().run_in_executor(None, stack.sim.close)
        ui_errors.uninstall()
        logs.teardown_logging()
    return rc


async def start_stack(args: argparse.Namespace, window: MainWindow, stack: Stack, settings: Any) -> None:
    """Start-up steps 2 and 3 (see MainWindow): panels, then the service built off the GUI thread."""
    import asyncio

    loop = asyncio.get_running_loop()
    window.build_ui()
    await asyncio.sleep(0)  # let the panels paint before the work below competes for the GIL
    keys_future = loop.run_in_executor(None, open_keystore)
    if args.demo:
        stack.sim = await start_sim(stack.paths)
    stack.store, stack.service = await loop.run_in_executor(
        None, build_service, stack.paths, settings, None, stack.sim
    )
    stack.keys = await keys_future
    cache = stack.service.key_cache
    cache.set_keys(stack.keys)
    await cache.load(stack.service.registry.profiles)  # keyring reads off the GUI thread
    ctx = window.ctx
    ctx.keys = stack.keys
    ctx.extra["stack"] = stack
    ctx.reconfigure = _reconfigure_factory(ctx, stack)
    from kievideo.ui.wiring import provider_choices

    window.set_provider_choices(provider_choices(settings, demo=bool(args.demo)))
    window.attach_service(stack.service)
    await stack.service.start()
    # The file client, the HTTP stack's lazy imports (~40 ms) and PyAV (~0.1 s), on a worker
    # thread now rather than at the first status request, download or poster frame.
    await stack.service.prepare()
    settle_heap()
    from kievideo.ui.idlegc import IdleCollector

    # Young-generation collections between events from now on, not inside paints (core.heap).
    stack.extra["idle_gc"] = collector = IdleCollector(window)
    collector.start()


def settle_heap() -> None:
    """Start-up is over: move everything it allocated (Qt wrappers, modules, the first screen of
    jobs) out of the garbage collector's view. A full collection otherwise walks those ~10^5
    long-lived objects, a 20-40 ms pause on the GUI thread that lands in a scroll or a paint;
    frozen objects are never collected, which is what they are anyway."""
    import gc

    gc.collect()
    gc.freeze()


def _reconfigure_factory(ctx: Any, stack: Stack) -> Any:
    async def reconfigure() -> None:
        from kievideo.ui.wiring import apply_settings

        await apply_settings(stack, ctx.settings, demo=ctx.demo)

    return reconfigure


def multimedia_problem() -> str | None:
    """Why this Qt cannot play video (no multimedia backend/plugin), or None when it can."""
    from PySide6.QtMultimedia import QMediaPlayer

    probe = QMediaPlayer()
    try:
        if not probe.isAvailable():
            return "QMediaPlayer is not available: Qt found no multimedia backend (ffmpeg plugin missing?)"
        if probe.error() != QMediaPlayer.Error.NoError:
            return f"QMediaPlayer error: {probe.errorString() or probe.error().name}"
        return None
    finally:
        probe.deleteLater()


async def smoke(window: Any, paths: Any) -> int:
    """Play a real H.264 clip to the end in the main window's player (packaging check)."""
    import asyncio

    from PySide6.QtMultimedia import QMediaPlayer

    problem = multimedia_problem()
    if problem is not None:
        _log().error("smoke test: %s", problem)
        print(f"kievideo smoke test: FAILED: {problem}", file=sys.stderr, flush=True)
        return 5

    from kievideo.sim.media import ClipKey, encode_clip

    clip = paths.cache_dir / "smoke.mp4"
    data = await asyncio.get_running_loop().run_in_executor(None, encode_clip, ClipKey())
    clip.write_bytes(data)
    player = window.player.player
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    frames = {"n": 0}
    errors: list[str] = []

    def on_status(status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.EndOfMedia and not done.done():
            done.set_result(0 if frames["n"] > 0 else 3)
        elif status == QMediaPlayer.MediaStatus.InvalidMedia and not done.done():
            errors.append("the clip was reported as invalid media")
            done.set_result(2)

    def on_error(_err: Any, text: str) -> None:
        if not done.done():
            errors.append(f"player error: {text}")
            done.set_result(2)

    def on_frame(frame: Any) -> None:
        if frame.isValid():
            frames["n"] += 1

    player.mediaStatusChanged.connect(on_status)
    player.errorOccurred.connect(on_error)
    window.player.video.videoSink().videoFrameChanged.connect(on_frame)
    window.player.audio.setMuted(True)
    player.setPlaybackRate(4.0)
    if not window.player.load(clip, "smoke test"):
        errors.append("the player refused the clip")
        rc = 2
    else:
        try:
            rc = await asyncio.wait_for(done, SMOKE_TIMEOUT_S)
        except TimeoutError:
            errors.append(f"the clip did not finish within {SMOKE_TIMEOUT_S:g} s")
            rc = 4
    _log().info("smoke test: played %d frames, rc %d", frames["n"], rc)
    if rc == 0:
        print(f"kievideo smoke test: ok ({frames['n']} frames)", flush=True)
    else:
        why = "; ".join(errors) or "no video frame was shown"
        _log().error("smoke test: %s", why)
        print(f"kievideo smoke test: FAILED ({frames['n']} frames): {why}", file=sys.stderr, flush=True)
    return rc


#: Set to 1 to leave Qt's GUI thread pool on (see :func:`tune_qt_environment`).
GUI_THREADPOOL_ENV = "KIEVIDEO_GUI_THREADPOOL"


#: Qt Multimedia's chatter: which optional GPU video (VA-API) libraries it could not load, the
#: FFmpeg version, a dump of each video's streams, "No HW decoder found" (software decoding is
#: what most machines here use). None is a problem, and a user who starts kievideo from a
#: terminal would read the dozen lines as one. ``--debug`` (or a QT_LOGGING_RULES of one's own)
#: shows them again; Qt's other warnings are untouched.
QUIET_QT_LOGGING = (
    "qt.multimedia.symbolsresolver=false;qt.multimedia.ffmpeg.info=false;"
    "qt.multimedia.ffmpeg.mediadataholder.info=false;qt.multimedia.playbackengine.codec.info=false"
)


def quiet_qt_logging(debug: bool) -> None:
    """Set :data:`QUIET_QT_LOGGING` unless debugging or already set; call before Qt logs."""
    if not debug:
        os.environ.setdefault("QT_LOGGING_RULES", QUIET_QT_LOGGING)


def tune_qt_environment() -> None:
    """Environment Qt reads when the QGuiApplication is created; call before that.

    Qt's raster painter splits every fill taller than 96 scanlines across a thread pool and waits
    for the slices. For this window's repaints (a viewport of rows, ~900 px) the hand-off costs
    more than it saves: on a 2-core machine a scrolled page of the task list painted in 2.3 ms
    instead of 1.2 ms with no rows drawn, and its worst frame was 4-10 ms instead of 1.3-2.8 ms
    (``bench.history``: the pool's threads wake, the GUI thread sleeps on a semaphore, both
    contend for the cores). Qt honours ``QT_NO_GUI_THREADPOOL`` whatever its value, so setting
    ``KIEVIDEO_GUI_THREADPOOL=1`` is the way to keep the pool.
    """
    if os.environ.get(GUI_THREADPOOL_ENV) != "1":
        os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_qt_logging(args.debug)
    tune_qt_environment()
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("kievideo")
    QCoreApplication.setApplicationName("kievideo")
    QCoreApplication.setApplicationVersion(kievideo.__version__)
    QGuiApplication.setDesktopFileName(DESKTOP_FILE_NAME)
    # Qt gets no command-line options: argparse owns them (a typo must not be silently eaten).
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # the run() coroutine decides when we are done
    from kievideo.ui import i18n
    from kievideo.ui.appsettings import AppSettings, open_settings
    from kievideo.ui.icons import app_icon
    from kievideo.ui.mainwindow import AppContext, MainWindow

    app.setWindowIcon(app_icon())
    if args.dark or os.environ.get("KIEVIDEO_DARK") == "1":
        from kievideo.ui.scheme import force_dark

        force_dark(app)
    translators = i18n.install(app, args.lang)

    # Step 1: the window's frame, on screen before anything slow is imported.
    smoke_tmp: Any = None
    if args.smoke_test:
        import tempfile

        smoke_tmp = tempfile.TemporaryDirectory(prefix="kievideo-smoke-")
    paths = resolve_paths(args, Path(smoke_tmp.name) if smoke_tmp else None)
    # QSettings under DIR/config when --data-dir is given (tests, demo): the user's stay untouched.
    settings = AppSettings(
        open_settings(paths.config_dir if (args.data_dir or args.demo or args.smoke_test) else None)
    )
    ctx = AppContext(
        service=None,
        settings=settings,
        cache_dir=paths.cache_dir,
        library_dir=settings.library_dir or paths.library_dir,
        log_dir=paths.log_dir,
        demo=bool(args.demo),
    )
    window = MainWindow(ctx, deferred=True)
    first_paint = FirstPaint(window, announce=os.environ.get(QUIT_AFTER_PAINT_ENV) == "1")
    window.show()
    first_paint.wait()

    # Step 2: the event loop everything else runs on.
    import asyncio

    from kievideo.ui import pyside_fixes
    from kievideo.ui.eventloop import new_event_loop

    pyside_fixes.install()  # PySide6 6.12 emit() refcount bug: see the module
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            rc: int = loop.run_until_complete(
                run(args, app, window, paths, settings, quit_after_paint=first_paint.announce)
            )
    finally:
        i18n.uninstall(app, translators)
        if smoke_tmp is not None:
            smoke_tmp.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
