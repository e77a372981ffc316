"""The real stack for end-to-end GUI tests: simulator over loopback, SQLite under tmp_path,
TaskService with a clock as fast as the simulator, and the MainWindow on top."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QMessageBox, QPushButton

from kievideo.api.http import HttpConfig
from kievideo.core.jobs import Job, JobState
from kievideo.core.paths import AppPaths
from kievideo.core.settings import ServiceSettings
from kievideo.ui.appsettings import AppSettings, open_settings
from kievideo.ui.mainwindow import AppContext, MainWindow
from kievideo.ui.wiring import KeyCache, ScaledClock, make_service, provider_choices

SPEED = 200.0  # simulator and service clock: a 2-minute Veo task takes well under a second


@dataclass
class Studio:
    window: MainWindow
    service: Any
    store: Any
    sim: Any
    paths: AppPaths
    qtbot: Any

    # --- driving the UI -------------------------------------------------------------------
    def generate(self) -> None:
        qtbot = self.qtbot
        qtbot.waitUntil(lambda: self.window.prompt.generate_btn.isEnabled(), timeout=3000)
        qtbot.mouseClick(self.window.prompt.generate_btn, Qt.MouseButton.LeftButton)

    def wait_new_job(self, before: int = 0, timeout: int = 5000) -> Job:
        self.qtbot.waitUntil(lambda: self.window.model.rowCount() > before, timeout=timeout)
        return self.window.model.job_at(0)

    def wait_final(self, job_id: str, timeout: int = 20000) -> Job:
        self.qtbot.waitUntil(lambda: self.service.get(job_id).is_final, timeout=timeout)
        return self.service.get(job_id)

    def row_job(self, job_id: str) -> Job:
        """What the task list model holds (after its throttled refresh)."""
        self.window.model.flush()
        return self.window.model.job(job_id)

    def play_row(self, job_id: str) -> tuple[int, list[int]]:
        """Double-click the row; wait for LoadedMedia; play to the end at 8x; (duration, frames)."""
        w = self.window
        qtbot = self.qtbot
        frames: list[int] = []
        sink = w.player.video.videoSink()
        sink.videoFrameChanged.connect(lambda f: frames.append(1) if f.isValid() else None)
        w.player.audio.setMuted(True)
        w.player.player.setPlaybackRate(8.0)
        w.tasks.select_job(job_id)
        idx = w.tasks.view.currentIndex()
        rect = w.tasks.view.visualRect(idx)
        # The first result of a session is pre-loaded (paused) into the player: start from nothing
        # so the double-click is what loads it.
        w.player.clear()
        # clear() stops from the event loop (PlayerPanel._from_loop): let it, and anything queued
        # before it (the pre-load), run before the double-click loads the file again.
        qtbot.waitUntil(lambda: w.player.player.source().isEmpty(), timeout=3000)
        ended: list[bool] = []
        w.player.player.mediaStatusChanged.connect(
            lambda s: ended.append(True) if s == QMediaPlayer.MediaStatus.EndOfMedia else None
        )
        with qtbot.waitSignal(
            w.player.player.mediaStatusChanged,
            timeout=8000,
            check_params_cb=lambda s: s == QMediaPlayer.MediaStatus.LoadedMedia,
        ):
            # A press first: item views only honour a double-click on the item that was pressed.
            qtbot.mouseClick(w.tasks.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            qtbot.mouseDClick(w.tasks.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        duration = w.player.player.duration()
        qtbot.waitUntil(lambda: bool(ended), timeout=10000)
        return duration, frames

    def answer(self, accept: bool = True) -> QMessageBox:
        def box() -> QMessageBox | None:
            return next(
                (d for d in self.window.findChildren(QMessageBox, "confirmDialog") if d.isVisible()), None
            )

        self.qtbot.waitUntil(lambda: box() is not None, timeout=3000)
        b = box()
        assert b is not None
        btn = b.findChild(QPushButton, "confirmAccept" if accept else "confirmCancel")
        self.qtbot.mouseClick(btn, Qt.MouseButton.LeftButton)
        return b


def open_studio(qtbot: Any, sim: Any, tmp_path: Path, *, key: str | None = None) -> Studio:
    paths = AppPaths.under(tmp_path / "data").ensure()
    settings = AppSettings(open_settings(paths.config_dir))
    fast = ServiceSettings(download_concurrency=3)
    # Short HTTP retry backoff: the API layer's own retries sleep in real time.
    http = HttpConfig(backoff_base=0.02, backoff_cap=0.1, retry_after_cap=0.5)
    store, service = make_service(
        paths, settings, None, sim, clock=ScaledClock(SPEED), service_settings=fast, http_config=http
    )
    if key is not None:
        service.registry._keys = KeyCache(fixed=key)  # a wrong key for the 401 test
    task = asyncio.ensure_future(service.start())
    qtbot.waitUntil(task.done, timeout=5000)
    task.result()
    ctx = AppContext(
        service=None,
        settings=settings,
        cache_dir=paths.cache_dir,
        library_dir=paths.library_dir,
        log_dir=paths.log_dir,
        demo=True,
    )
    # The app's start-up order (kievideo.app): the frame first, then the panels, then the service.
    w = MainWindow(ctx, deferred=True)
    # Not qtbot.addWidget: pytest-qt would close (and start the async shutdown of) the window
    # before this fixture's teardown runs; close_studio() closes it and waits for the shutdown.
    w.resize(1200, 760)
    w.show()
    qtbot.waitExposed(w)
    w.build_ui()
    w.set_provider_choices(provider_choices(settings, demo=True))
    w.attach_service(service)
    return Studio(w, service, store, sim, paths, qtbot)


def close_studio(studio: Studio) -> None:
    w = studio.window
    if not w._closed:
        with studio.qtbot.waitSignal(w.shutdownFinished, timeout=10000):
            w.close()
    w.deleteLater()
    studio.store.close()


def is_done(job: Job) -> bool:
    return job.state is JobState.DONE
