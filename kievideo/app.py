"""GUI entry point: ``kievideo`` (gui-script) and ``python -m kievideo``.

One qasync loop for the whole process, on the GUI thread::

    app = QApplication(sys.argv); loop = qasync.QEventLoop(app); asyncio.set_event_loop(loop)
    with loop: loop.run_until_complete(run(args))

``--demo`` starts the embedded simulator on loopback (free ports, fast clock, demo key, generous
credits) and keeps its tasks in DATA_DIR/demo, like ``kievideo-cli --demo``. ``--smoke-test``
opens the main window, plays a short real clip to the end and exits 0 (non-zero on any failure):
packaging runs it against the frozen bundle.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")  # qasync must bind to PySide6, whatever else is installed

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kievideo

log = logging.getLogger("kievideo")

DEMO_SPEED = 20.0  # a 3-minute Veo task takes 9 s: quick enough to watch, slow enough to see states
DEMO_CREDITS = 100_000
SMOKE_TIMEOUT_S = 60.0


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
    from kievideo.sim import DEMO_KEY, SimConfig, SimServer

    cfg = SimConfig(
        speed=DEMO_SPEED, credits=DEMO_CREDITS, keys=(DEMO_KEY,), cache_dir=str(paths.cache_dir / "sim-media")
    )
    server = SimServer(cfg)
    await asyncio.get_running_loop().run_in_executor(None, server.start)
    log.info("demo simulator on %s", server.api_url)
    return server


def build_service(paths: Any, settings: Any, keys: Any, sim: Any) -> tuple[Any, Any]:
    """TaskStore + ProviderRegistry + TaskService for the real providers or the simulator."""
    from kievideo.ui.wiring import make_service

    return make_service(paths, settings, keys, sim)


async def run(args: argparse.Namespace, app: Any) -> int:
    from kievideo import logs
    from kievideo.core.secrets import KeyStore
    from kievideo.ui import errors as ui_errors
    from kievideo.ui.appsettings import AppSettings, open_settings
    from kievideo.ui.mainwindow import AppContext, MainWindow

    smoke_tmp = tempfile.TemporaryDirectory(prefix="kievideo-smoke-") if args.smoke_test else None
    paths = resolve_paths(args, Path(smoke_tmp.name) if smoke_tmp else None)
    logs.setup_logging(paths.log_dir, debug=args.debug, console=args.debug or args.smoke_test)
    logs.install_asyncio_handler(asyncio.get_running_loop())
    bridge = ui_errors.install(app)

    # QSettings under DIR/config when --data-dir is given (tests, demo): the user's stay untouched.
    qs = open_settings(paths.config_dir if (args.data_dir or args.demo or args.smoke_test) else None)
    settings = AppSettings(qs)
    stack = Stack(paths=paths)
    keys = KeyStore()
    window: Any = None
    rc = 0
    try:
        if args.demo:
            stack.sim = await start_sim(paths)
        stack.store, stack.service = build_service(paths, settings, keys, stack.sim)
        await stack.service.key_cache.load(stack.service.registry.profiles)  # keyring off the GUI thread
        await stack.service.start()
        library = settings.library_dir or paths.library_dir
        ctx = AppContext(
            service=stack.service,
            settings=settings,
            cache_dir=paths.cache_dir,
            library_dir=library,
            log_dir=paths.log_dir,
            keys=keys,
            demo=bool(args.demo),
        )
        ctx.extra["stack"] = stack
        ctx.reconfigure = _reconfigure_factory(ctx, stack)
        window = MainWindow(ctx)
        from kievideo.ui.wiring import provider_choices

        window.set_provider_choices(provider_choices(settings, demo=bool(args.demo)))
        bridge.parent_window = window
        window.show()
        if args.smoke_test:
            rc = await smoke(window, paths)
            window.close()
        else:
            window.refresh_credits()
        await window.wait_closed()
    except Exception:
        log.exception("kievideo failed")
        rc = 1
        if window is not None and not window._closed:
            window.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(window.wait_closed(), 10)
        elif stack.service is not None:
            with contextlib.suppress(Exception):
                await stack.service.aclose()
    finally:
        settings.sync()
        if stack.store is not None:
            with contextlib.suppress(Exception):
                stack.store.close()
        if stack.sim is not None:
            await asyncio.get_running_loop().run_in_executor(None, stack.sim.stop)
        ui_errors.uninstall()
        logs.teardown_logging()
        if smoke_tmp is not None:
            smoke_tmp.cleanup()
    return rc


def _reconfigure_factory(ctx: Any, stack: Stack) -> Any:
    async def reconfigure() -> None:
        from kievideo.ui.wiring import apply_settings

        await apply_settings(stack, ctx.settings, demo=ctx.demo)

    return reconfigure


async def smoke(window: Any, paths: Any) -> int:
    """Play a real H.264 clip to the end in the main window's player (packaging check)."""
    from PySide6.QtMultimedia import QMediaPlayer

    from kievideo.sim.media import ClipKey, encode_clip

    clip = paths.cache_dir / "smoke.mp4"
    data = await asyncio.get_running_loop().run_in_executor(None, encode_clip, ClipKey())
    clip.write_bytes(data)
    player = window.player.player
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    frames = {"n": 0}

    def on_status(status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.EndOfMedia and not done.done():
            done.set_result(0 if frames["n"] > 0 else 3)
        elif status == QMediaPlayer.MediaStatus.InvalidMedia and not done.done():
            done.set_result(2)

    def on_error(_err: Any, text: str) -> None:
        if not done.done():
            log.error("smoke test: player error %s", text)
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
        return 2
    try:
        rc = await asyncio.wait_for(done, SMOKE_TIMEOUT_S)
    except TimeoutError:
        log.error("smoke test: the clip did not finish within %s s", SMOKE_TIMEOUT_S)
        return 4
    log.info("smoke test: played %d frames, rc %d", frames["n"], rc)
    print(f"kievideo smoke test: {'ok' if rc == 0 else 'FAILED'} ({frames['n']} frames)")
    return rc


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import qasync
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("kievideo")
    QCoreApplication.setApplicationName("kievideo")
    QCoreApplication.setApplicationVersion(kievideo.__version__)
    # Qt gets no command-line options: argparse owns them (a typo must not be silently eaten).
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # the run() coroutine decides when we are done
    from kievideo.ui.icons import app_icon

    app.setWindowIcon(app_icon())
    from kievideo.ui import pyside_fixes

    pyside_fixes.install()  # PySide6 6.12 emit() refcount bug: see the module
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        rc = loop.run_until_complete(run(args, app))
    return rc


if __name__ == "__main__":
    sys.exit(main())
