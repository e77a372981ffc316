"""Make the README screenshots (not a test): the real demo stack under Xvfb.

    Xvfb :99 -screen 0 1400x900x24 -nolisten tcp &
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python tests/gui/screenshots.py docs/screenshots
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python tests/gui/screenshots.py docs/screenshots --dark

It runs what ``kievideo --demo`` runs (simulator, TaskService, MainWindow), submits a few tasks
through the window, and grabs the screen with QScreen.grabWindow (QWidget.grab() would leave
the video area blank: QVideoWidget renders through its own native window). ``--dark`` forces the
dark scheme (as ``kievideo --dark`` does) and saves main-dark.png instead of the two light ones.
With ``QT_QPA_PLATFORM=offscreen`` (no X server) the window grabs itself instead.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QGuiApplication
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QApplication

from kievideo.api.models import ProviderKind
from kievideo.app import start_sim
from kievideo.core.jobs import JobKind, JobSpec, Mode
from kievideo.core.paths import AppPaths
from kievideo.sim.media import make_png
from kievideo.ui.appsettings import AppSettings, open_settings
from kievideo.ui.eventloop import new_event_loop
from kievideo.ui.icons import app_icon
from kievideo.ui.mainwindow import AppContext, MainWindow
from kievideo.ui.wiring import make_service, provider_choices


async def wait_for(pred, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise TimeoutError("screenshot script: condition not met in time")
        await asyncio.sleep(0.05)


def grab(app: QApplication, window: MainWindow, path: Path) -> None:
    if QGuiApplication.platformName() == "offscreen":
        window.grab().save(str(path))
    else:
        app.primaryScreen().grabWindow(0).save(str(path))


async def main(out_dir: Path, app: QApplication, *, dark: bool = False) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kvshot-"))
    paths = AppPaths.under(tmp).ensure()
    sim = await start_sim(paths)
    settings = AppSettings(open_settings(paths.config_dir))
    store, service = make_service(paths, settings, None, sim)
    await service.start()
    ctx = AppContext(
        service=service,
        settings=settings,
        cache_dir=paths.cache_dir,
        library_dir=paths.library_dir,
        log_dir=paths.log_dir,
        demo=True,
    )
    w = MainWindow(ctx)
    w.set_provider_choices(provider_choices(settings, demo=True))
    w.setGeometry(0, 0, 1400, 900)
    w.show()
    w.refresh_credits()

    # Older tasks first (they end up lower in the list).
    img1, img2 = tmp / "dawn.png", tmp / "dusk.png"
    img1.write_bytes(make_png(320, 180, (40, 70, 160), (250, 190, 60)))
    img2.write_bytes(make_png(320, 180, (20, 20, 60), (230, 90, 40)))
    spec = JobSpec(
        provider=ProviderKind.VEO,
        model="veo3_fast",
        mode=Mode.FRAMES,
        images=(str(img1), str(img2)),
        prompt="Time-lapse of a harbour from dawn to dusk, boats leaving, warm light",
        aspect_ratio="16:9",
    )
    done = service.submit(spec)
    service.submit(
        JobSpec(
            provider=ProviderKind.RUNWAY,
            model="runway",
            prompt="A paper boat drifting down a rain-soaked street, macro lens",
            aspect_ratio="16:9",
            duration=5,
            quality="720p",
        )
    )
    await wait_for(lambda: service.get(done.id).is_final, 120)
    child = service.upgrade(done.id, JobKind.UPGRADE_1080P)
    # A fresh one that is still running when the picture is taken.
    w.prompt.prompt.setPlainText(
        "A red fox walking through fresh snow in a quiet birch forest, soft morning light"
    )
    w.on_generate_clicked()
    await wait_for(lambda: w.model.rowCount() >= 4, 20)
    await asyncio.sleep(1.0)
    job = service.get(done.id)
    w.tasks.select_job(done.id)
    w.player.audio.setMuted(True)
    w.play_job(job)
    await wait_for(lambda: w.player.player.position() > 1100, 20)
    w.player.player.pause()
    await asyncio.sleep(0.6)
    w.model.flush()
    await asyncio.sleep(0.3)
    if not dark:
        grab(app, w, out_dir / "main-playing.png")

    # The failed task: a prompt the provider's filter rejects.
    w.prompt.prompt.setPlainText("A crowd scene REJECT at a stadium at night")
    w.on_generate_clicked()
    await wait_for(lambda: w.model.rowCount() >= 5, 20)
    failed = w.model.job_at(0)
    await wait_for(lambda: service.get(failed.id).is_final, 60)
    await wait_for(lambda: service.get(child.id).is_final, 60)
    await asyncio.sleep(0.6)
    w.model.flush()
    w.tasks.view.clearSelection()  # an unselected failed row shows its error in red
    w.prompt.prompt.setPlainText("")
    w.show_message(service.get(failed.id).error_message or "")
    await asyncio.sleep(0.5)
    grab(app, w, out_dir / ("main-dark.png" if dark else "main-failed.png"))

    w.close()
    await w.wait_closed()
    w.deleteLater()
    store.close()
    await asyncio.get_running_loop().run_in_executor(None, sim.close)
    print(QMediaPlayer.__name__, "screenshots saved to", out_dir)


if __name__ == "__main__":
    argv = [a for a in sys.argv[1:] if a != "--dark"]
    dark = "--dark" in sys.argv[1:]
    out = Path(argv[0] if argv else "docs/screenshots").absolute()
    out.mkdir(parents=True, exist_ok=True)
    QCoreApplication.setOrganizationName("kievideo")
    app = QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    if dark:
        from kievideo.ui.scheme import force_dark

        force_dark(app)
    app.setQuitOnLastWindowClosed(False)
    from kievideo.ui import pyside_fixes

    pyside_fixes.install()
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main(out, app, dark=dark))
