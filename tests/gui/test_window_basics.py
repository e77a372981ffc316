"""Main window behaviour that needs no provider: generate guard, batch confirm, state, menus.

Uses the TaskService test double (gui_fakes.FakeService); end-to-end flows are in test_e2e.py.
"""

from __future__ import annotations

from gui_fakes import FakeService
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton
from test_panels import drop_files

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import JobState, Mode
from kievideo.ui.appsettings import AppSettings, open_settings
from kievideo.ui.mainwindow import AppContext, MainWindow


def make_window(qtbot, tmp_path, service=None) -> MainWindow:
    service = service or FakeService()
    settings = AppSettings(open_settings(tmp_path / "config"))
    ctx = AppContext(
        service=service,
        settings=settings,
        cache_dir=tmp_path / "cache",
        library_dir=tmp_path / "library",
        log_dir=tmp_path / "logs",
    )
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def close_window(qtbot, w: MainWindow) -> None:
    with qtbot.waitSignal(w.shutdownFinished, timeout=5000):
        w.close()


def find_dialog(w, name: str) -> QMessageBox | None:
    for d in w.findChildren(QMessageBox, name):
        if d.isVisible():
            return d
    return None


def answer(qtbot, w, accept: bool = True) -> None:
    qtbot.waitUntil(lambda: find_dialog(w, "confirmDialog") is not None, timeout=3000)
    box = find_dialog(w, "confirmDialog")
    btn = box.findChild(QPushButton, "confirmAccept" if accept else "confirmCancel")
    qtbot.mouseClick(btn, Qt.MouseButton.LeftButton)


def test_double_click_submits_once(qtbot, qloop, tmp_path):
    svc = FakeService()
    w = make_window(qtbot, tmp_path, svc)
    w.prompt.prompt.setPlainText("a lighthouse in a storm")
    qtbot.mouseDClick(w.prompt.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.prompt.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(svc.submitted) == 1, timeout=3000)
    qtbot.wait(100)
    assert len(svc.submitted) == 1
    assert w.model.rowCount() == 1
    qtbot.waitUntil(lambda: w.prompt.generate_btn.isEnabled(), timeout=3000)
    close_window(qtbot, w)
    assert svc.closed


def test_empty_prompt_sends_nothing(qtbot, qloop, tmp_path):
    svc = FakeService()
    w = make_window(qtbot, tmp_path, svc)
    qtbot.mouseClick(w.prompt.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.prompt.problem.isHidden(), timeout=3000)
    assert "Write a prompt" in w.prompt.problem.text()
    assert svc.submitted == []
    close_window(qtbot, w)


def test_several_images_in_image_mode_offer_one_task_each(qtbot, qloop, tmp_path, image_files):
    svc = FakeService()
    w = make_window(qtbot, tmp_path, svc)
    w.prompt.mode.setCurrentIndex(w.prompt.mode.findData(Mode.IMAGE.value))
    drop_files(w.images, image_files)
    qtbot.waitUntil(lambda: w.images.count() == 2, timeout=3000)
    assert w.prompt.generate_btn.text() == "Generate 2 tasks · 120 credits"
    w.prompt.prompt.setPlainText("make it move")
    qtbot.mouseClick(w.prompt.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(w, "confirmDialog") is not None, timeout=3000)
    box = find_dialog(w, "confirmDialog")
    assert "2 task" in box.text() and "120 credits" in box.informativeText()
    answer(qtbot, w, accept=False)
    qtbot.wait(50)
    assert svc.submitted == []
    qtbot.waitUntil(lambda: w.prompt.generate_btn.isEnabled(), timeout=3000)
    qtbot.mouseClick(w.prompt.generate_btn, Qt.MouseButton.LeftButton)
    answer(qtbot, w, accept=True)
    qtbot.waitUntil(lambda: len(svc.submitted) == 2, timeout=3000)
    assert [len(s.images) for s in svc.submitted] == [1, 1]
    close_window(qtbot, w)


def test_window_state_is_saved(qtbot, qloop, tmp_path):
    w = make_window(qtbot, tmp_path)
    # The offscreen screen is small (800x600): check a split that fits it exactly.
    w.right_split.setSizes([150, 300])
    wanted = w.right_split.sizes()
    close_window(qtbot, w)
    assert (tmp_path / "config" / "kievideo.ini").exists()
    w2 = make_window(qtbot, tmp_path)
    assert abs(w2.right_split.sizes()[0] - wanted[0]) <= 25  # minimum sizes may nudge it
    close_window(qtbot, w2)


def test_context_menu_follows_state(qtbot, qloop, tmp_path):
    from dataclasses import replace

    from gui_fakes import make_job

    from kievideo.core.jobs import JobSpec

    svc = FakeService()
    w = make_window(qtbot, tmp_path, svc)
    spec = JobSpec(provider=ProviderKind.VEO, model="veo3_fast", prompt="p")
    done = svc.put(make_job(spec, state=JobState.DONE, file_path=str(tmp_path / "x.mp4"), task_id="T1"))
    failed = svc.put(
        replace(
            make_job(spec),
            state=JobState.FAILED,
            error_message="Rejected.",
            error_code=400,
            provider_message="flagged",
        )
    )
    names = lambda job: {a.objectName() for a in w.tasks.build_menu(job).actions() if a.objectName()}  # noqa: E731
    assert {"actPlay", "actOpenFolder", "act1080p", "act4k", "actExtend", "actCopyTaskId"} <= names(done)
    assert "actRetry" not in names(done)
    f = names(failed)
    assert {"actCopyError", "actRetry", "actReuse", "actRemove"} <= f and "actPlay" not in f
    running = svc.put(make_job(spec, state=JobState.RUNNING))
    assert "actStop" in names(running) and "actRemove" not in names(running)
    close_window(qtbot, w)


def test_deferred_start_then_close_while_starting(qtbot, qloop, tmp_path):
    """The app's start-up: frame first (nothing to submit yet), panels, then the service; a
    close during start-up waits for it and then closes the service it brought."""
    import asyncio

    svc = FakeService()
    settings = AppSettings(open_settings(tmp_path / "config"))
    ctx = AppContext(
        service=None,
        settings=settings,
        cache_dir=tmp_path / "cache",
        library_dir=tmp_path / "library",
        log_dir=tmp_path / "logs",
    )
    w = MainWindow(ctx, deferred=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert not w.ready and not w.act_generate.isEnabled() and not w.act_settings.isEnabled()
    assert w.menuBar().actions()[0].text() == "&File"
    w.on_generate_clicked()  # nothing to submit to yet: ignored
    w.refresh_credits()
    startup: asyncio.Future[None] = qloop.create_future()
    w.set_startup(startup)
    w.build_ui()
    assert not w.prompt.generate_btn.isEnabled()
    w.close()  # closed while the service is still being built
    qtbot.wait(50)
    assert not w._closed
    w.attach_service(svc)
    startup.set_result(None)
    qtbot.waitUntil(lambda: w._closed, timeout=3000)
    assert svc.closed and svc.submitted == []


def test_close_before_the_event_loop_runs_is_remembered(qtbot, tmp_path):
    """A close during start-up step 1 (no asyncio loop yet): kievideo.app closes it later."""
    ctx = AppContext(
        service=None,
        settings=AppSettings(open_settings(tmp_path / "config")),
        cache_dir=tmp_path / "cache",
        library_dir=tmp_path / "library",
        log_dir=tmp_path / "logs",
    )
    w = MainWindow(ctx, deferred=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.close()
    assert w.close_requested and w.isVisible() and not w._closing
    w._closed = True  # let pytest-qt's teardown close it for real


def test_follow_up_menu_actions_request_their_own_kind(qtbot, qloop, tmp_path):
    """Get 1080p / Get 4K / Extend from the task menu: each asks, then requests its own kind once.

    QAction.triggered passes ``checked``: a slot written ``lambda k=kind: ...`` received False as
    the kind, so every follow-up from the menu asked about, and requested, nothing sensible."""
    from gui_fakes import make_job
    from PySide6.QtWidgets import QInputDialog

    from kievideo.core.jobs import JobKind, JobSpec

    svc = FakeService()
    w = make_window(qtbot, tmp_path, svc)
    spec = JobSpec(provider=ProviderKind.VEO, model="veo3_fast", prompt="p", aspect_ratio="16:9")
    done = svc.put(make_job(spec, state=JobState.DONE, file_path=str(tmp_path / "x.mp4"), task_id="T1"))

    def children() -> list:
        return [j for j in svc.jobs() if j.parent_id == done.id]

    for name, kind in (("act1080p", JobKind.UPGRADE_1080P), ("act4k", JobKind.UPGRADE_4K)):
        menu = w.tasks.build_menu(done)
        act = next(a for a in menu.actions() if a.objectName() == name)
        before = len(children())
        act.trigger()
        answer(qtbot, w, accept=True)
        qtbot.waitUntil(lambda n=before: len(children()) == n + 1, timeout=3000)
        assert children()[0].kind is kind

    menu = w.tasks.build_menu(done)
    next(a for a in menu.actions() if a.objectName() == "actExtend").trigger()
    qtbot.waitUntil(lambda: w.findChild(QInputDialog, "askTextDialog") is not None, timeout=3000)
    dlg = w.findChild(QInputDialog, "askTextDialog")
    assert "Extend" in dlg.windowTitle()
    dlg.setTextValue("the camera pulls back")
    dlg.accept()
    qtbot.waitUntil(lambda: len(children()) == 3, timeout=3000)
    ext = children()[0]
    assert ext.kind is JobKind.EXTEND and ext.spec.prompt == "the camera pulls back"
    assert sorted(j.kind.value for j in children()) == sorted(
        k.value for k in (JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K, JobKind.EXTEND)
    )
    close_window(qtbot, w)


def test_right_click_on_a_row_opens_its_menu_and_elsewhere_nothing(qtbot, qloop, tmp_path):
    from gui_fakes import make_job
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QMenu

    from kievideo.core.jobs import JobSpec

    svc = FakeService()
    w = make_window(qtbot, tmp_path, svc)
    spec = JobSpec(provider=ProviderKind.VEO, model="veo3_fast", prompt="p")
    svc.put(make_job(spec, state=JobState.DONE, file_path=str(tmp_path / "x.mp4"), task_id="T1"))
    view = w.tasks.view
    qtbot.waitUntil(lambda: w.tasks.proxy.rowCount() == 1, timeout=3000)

    def menus() -> list[QMenu]:
        return [m for m in w.findChildren(QMenu, "taskMenu") if m.isVisible()]

    below = QPoint(10, view.visualRect(w.tasks.proxy.index(0, 0)).bottom() + 40)
    view.customContextMenuRequested.emit(below)  # empty space under the rows
    assert menus() == []
    view.customContextMenuRequested.emit(view.visualRect(w.tasks.proxy.index(0, 0)).center())
    qtbot.waitUntil(lambda: len(menus()) == 1, timeout=3000)
    names = {a.objectName() for a in menus()[0].actions()}
    assert {"actPlay", "act1080p", "actRemove"} <= names
    menus()[0].close()
    close_window(qtbot, w)
