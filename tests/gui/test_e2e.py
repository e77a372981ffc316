"""End to end through the real stack: the window, TaskService, SQLite under tmp_path, the
simulator over loopback, real MP4 files decoded by QMediaPlayer."""

from __future__ import annotations

from pathlib import Path

import pytest
from studio import SPEED, Studio, close_studio, open_studio
from test_panels import drop_files

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import JobState, Mode


@pytest.fixture
def studio(qtbot, qloop, sim_factory, tmp_path):
    sim = sim_factory(speed=SPEED, credits=100_000)
    s = open_studio(qtbot, sim, tmp_path)
    yield s
    close_studio(s)


def test_frames_flow_drop_generate_play(studio: Studio, image_files):
    w = studio.window
    drop_files(w.images, image_files)
    studio.qtbot.waitUntil(lambda: w.images.count() == 2, timeout=3000)
    assert w.prompt.spec().mode is Mode.FRAMES  # two images dropped in text mode -> first/last
    assert [w.images.model.index(i).data() for i in range(2)] == ["First", "Last"]
    w.prompt.prompt.setPlainText("the sun sets over the sea")
    studio.generate()
    job = studio.wait_new_job()
    assert job.spec.mode is Mode.FRAMES and [Path(p).name for p in job.spec.images] == [
        "first.png",
        "last.png",
    ]
    final = studio.wait_final(job.id)
    assert final.state is JobState.DONE, final.error_message
    assert Path(final.file_path).is_file()
    assert studio.row_job(job.id).state is JobState.DONE
    creates = studio.sim.creates()
    assert len(creates) == 1 and creates[0].route == "veo.generate"
    duration, frames = studio.play_row(job.id)
    assert abs(duration - 2000) <= 100
    assert len(frames) > 10


CASES = [
    # (id, provider, profile, model, mode, n_images)
    ("veo-text", ProviderKind.VEO, "kie", "veo3_fast", Mode.TEXT, 0),
    ("veo-image", ProviderKind.VEO, "kie", "veo3_fast", Mode.IMAGE, 1),
    ("veo-reference", ProviderKind.VEO, "kie", "veo3_fast", Mode.REFERENCE, 2),
    ("runway-text", ProviderKind.RUNWAY, "kie", "runway", Mode.TEXT, 0),
    ("runway-image", ProviderKind.RUNWAY, "kie", "runway", Mode.IMAGE, 1),
    ("unified-text", ProviderKind.UNIFIED, "unified", "veo3.1-fast", Mode.TEXT, 0),
]


@pytest.mark.parametrize(
    ("provider", "profile", "model", "mode", "n_images"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_provider_mode_generates_and_plays(
    studio: Studio, image_files, provider, profile, model, mode, n_images
):
    w = studio.window
    assert w.prompt.select_provider(provider, profile)
    w.prompt.model_combo.setCurrentIndex(w.prompt.model_combo.findData(model))
    assert w.prompt.set_mode(mode)
    if n_images:
        drop_files(w.images, image_files[:n_images])
        studio.qtbot.waitUntil(lambda: w.images.count() == n_images, timeout=3000)
    w.prompt.prompt.setPlainText(f"{provider.value} {mode.value}: a paper boat on a river")
    studio.generate()
    job = studio.wait_new_job()
    assert (job.spec.provider, job.spec.profile, job.spec.model, job.spec.mode) == (
        provider,
        profile,
        model,
        mode,
    )
    assert len(job.spec.images) == n_images
    final = studio.wait_final(job.id)
    assert final.state is JobState.DONE, final.error_message
    assert Path(final.file_path).is_file()
    assert len(studio.sim.creates()) == 1
    duration, frames = studio.play_row(job.id)
    assert duration >= 1900 and frames


def test_aleph_video_to_video(studio: Studio):
    from kievideo.core.jobs import JobSpec

    # Aleph needs a reachable source video: the result of a first (Veo) task on the simulator.
    svc = studio.service
    first = svc.submit(JobSpec(provider=ProviderKind.VEO, model="veo3_fast", prompt="source clip"))
    source = studio.wait_final(first.id)
    assert source.state is JobState.DONE and source.result_urls
    w = studio.window
    assert w.prompt.select_provider(ProviderKind.ALEPH)
    assert w.prompt.spec().mode is Mode.VIDEO and not w.prompt.video_url.isHidden()
    w.prompt.video_url.setText(source.result_urls[0])
    w.prompt.prompt.setPlainText("make it winter")
    studio.generate()
    studio.qtbot.waitUntil(lambda: w.model.rowCount() == 2, timeout=5000)
    job = w.model.job_at(0)
    assert job.spec.provider is ProviderKind.ALEPH and job.spec.video_url == source.result_urls[0]
    final = studio.wait_final(job.id)
    assert final.state is JobState.DONE, final.error_message
    duration, frames = studio.play_row(job.id)
    assert duration >= 1900 and frames


def _menu_action(studio: Studio, job_id: str, name: str):
    menu = studio.window.tasks.build_menu(studio.row_job(job_id))
    return next(a for a in menu.actions() if a.objectName() == name)


def _requests(studio: Studio, route: str) -> list:
    return [e for e in studio.sim.journal if e.route == route]


def test_paid_follow_ups_from_the_task_menu_send_one_request_each(studio: Studio):
    """Get 1080p from a finished row's menu, clicked twice: one confirmation, one child task that
    finishes with its own file. Get 4K: cancelled, nothing is sent; confirmed (clicked twice),
    exactly one paid request."""
    w = studio.window
    w.prompt.prompt.setPlainText("a lighthouse at dusk, slow pan")
    studio.generate()
    job = studio.wait_new_job()
    assert studio.wait_final(job.id).state is JobState.DONE

    act = _menu_action(studio, job.id, "act1080p")
    act.trigger()
    act.trigger()  # a second click while the first asks: ignored
    studio.answer(accept=True)
    studio.qtbot.waitUntil(lambda: w.model.rowCount() == 2, timeout=5000)
    child = next(j for j in studio.service.jobs() if j.parent_id == job.id)
    final = studio.wait_final(child.id)
    assert final.state is JobState.DONE, final.error_message
    assert Path(final.file_path).is_file() and final.file_path != studio.service.get(job.id).file_path
    assert len(_requests(studio, "veo.get_1080p")) >= 1  # polled until ready: GETs, free
    assert len([j for j in studio.service.jobs() if j.parent_id == job.id]) == 1

    _menu_action(studio, job.id, "act4k").trigger()
    studio.answer(accept=False)
    studio.qtbot.waitUntil(lambda: job.id not in w.tasks._busy_jobs, timeout=3000)
    assert _requests(studio, "veo.get_4k") == []
    assert len([j for j in studio.service.jobs() if j.parent_id == job.id]) == 1

    act = _menu_action(studio, job.id, "act4k")
    act.trigger()
    act.trigger()
    studio.answer(accept=True)
    studio.qtbot.waitUntil(lambda: w.model.rowCount() == 3, timeout=5000)
    four_k = next(j for j in studio.service.jobs() if j.parent_id == job.id and j.id != child.id)
    studio.qtbot.waitUntil(lambda: studio.service.get(four_k.id).task_id is not None, timeout=5000)
    posts = [e for e in _requests(studio, "veo.get_4k") if e.method == "POST"]
    assert len(posts) == 1  # the paid request, once


def test_remove_and_delete_the_file_from_the_task_menu(studio: Studio):
    """Cancelled, the row and the video stay; confirmed, both go (and the store forgets the task),
    while "Remove from list" on another task keeps its video on disk."""
    w = studio.window
    jobs = []
    for prompt in ("a red kite over a field", "a blue kite over the sea"):
        w.prompt.prompt.setPlainText(prompt)
        studio.generate()
        jobs.append(studio.wait_new_job(before=len(jobs)))
    done = [studio.wait_final(j.id) for j in jobs]
    assert all(d.state is JobState.DONE for d in done)
    keep, delete = done
    assert Path(keep.file_path).is_file() and Path(delete.file_path).is_file()

    _menu_action(studio, delete.id, "actRemoveFile").trigger()
    studio.answer(accept=False)
    studio.qtbot.wait_until(lambda: not w.tasks._tasks, timeout=3000)
    assert Path(delete.file_path).is_file() and w.model.rowCount() == 2

    _menu_action(studio, delete.id, "actRemoveFile").trigger()
    studio.answer(accept=True)
    studio.qtbot.waitUntil(lambda: w.model.rowCount() == 1, timeout=5000)
    assert not Path(delete.file_path).exists()
    assert studio.store.get(delete.id) is None

    _menu_action(studio, keep.id, "actRemove").trigger()  # no question: nothing is lost
    studio.qtbot.waitUntil(lambda: w.model.rowCount() == 0, timeout=5000)
    assert Path(keep.file_path).is_file()
    assert studio.store.get(keep.id) is None


def test_stop_and_resume_watching_from_the_task_menu(qtbot, qloop, sim_factory, tmp_path):
    """Stop watching a task under way: the row says so and it is no longer polled; the
    provider may still finish it. Resume watching: it is polled again and its video arrives."""
    sim = sim_factory(speed=1.0, credits=100_000)  # the provider's clock moves only by advance()
    studio = open_studio(qtbot, sim, tmp_path)
    try:
        w = studio.window
        w.prompt.prompt.setPlainText("a tram in the rain")
        studio.generate()
        job = studio.wait_new_job()
        qtbot.waitUntil(lambda: studio.service.get(job.id).task_id is not None, timeout=5000)
        qtbot.waitUntil(lambda: len(_requests(studio, "veo.record_info")) >= 1, timeout=5000)

        messages: list[str] = []
        w.tasks.message.connect(messages.append)
        _menu_action(studio, job.id, "actStop").trigger()
        assert studio.service.get(job.id).state is JobState.STOPPED
        assert messages and "may still finish" in messages[-1]
        assert not studio.service.scheduler.watching(job.id)  # no more status requests
        sim.advance(3600)  # the provider finishes it meanwhile
        # A status request already in flight at the stop finishes but is not followed up.
        qtbot.waitUntil(
            lambda: all(e.status is not None for e in _requests(studio, "veo.record_info")), timeout=3000
        )
        assert studio.row_job(job.id).state is JobState.STOPPED
        assert studio.service.get(job.id).file_path is None

        _menu_action(studio, job.id, "actResume").trigger()
        final = studio.wait_final(job.id)
        assert final.state is JobState.DONE, final.error_message
        assert Path(final.file_path).is_file()
        assert len(sim.creates()) == 1
    finally:
        close_studio(studio)


def test_reuse_settings_from_the_task_menu_fills_both_panels(studio: Studio, image_files):
    w = studio.window
    assert w.prompt.set_mode(Mode.FRAMES)
    drop_files(w.images, image_files[:2])
    studio.qtbot.waitUntil(lambda: w.images.count() == 2, timeout=3000)
    w.prompt.prompt.setPlainText("from the first frame to the last")
    studio.generate()
    job = studio.wait_new_job()
    studio.wait_final(job.id)
    sources = w.images.sources()
    w.images.set_sources([])
    w.prompt.prompt.setPlainText("something else")
    assert w.prompt.set_mode(Mode.TEXT)

    _menu_action(studio, job.id, "actReuse").trigger()
    assert w.prompt.prompt.toPlainText() == "from the first frame to the last"
    assert w.prompt.spec().mode is Mode.FRAMES
    assert w.images.sources() == sources and len(sources) == 2


def test_a_task_deleted_by_the_cli_leaves_the_window_list(studio: Studio):
    """kievideo-cli and the window share the task store: a task the CLI removes goes from the
    window's list at its next look at the store (no full re-read)."""
    from kievideo.core.store import TaskStore

    w = studio.window
    w.prompt.prompt.setPlainText("a paper plane over a city")
    studio.generate()
    job = studio.wait_new_job()
    studio.wait_final(job.id)
    assert w._store_timer is not None
    w._store_timer.setInterval(20)  # the window looks every 3 s: sooner here
    other = TaskStore(studio.paths.db_path)  # what the CLI opens
    try:
        assert other.delete(job.id)
    finally:
        other.close()
    studio.qtbot.waitUntil(lambda: w.model.rowCount() == 0, timeout=5000)
    assert studio.service.get(job.id) is None


def test_a_unified_profile_added_in_settings_is_usable_at_once(studio: Studio):
    """Settings (opened from the window's menu action, once however often it is asked for): a new
    unified-API profile, applied, is offered in the prompt panel and generates through its own
    base URL, without a restart (the app's reconfigure: wiring.apply_settings)."""
    from types import SimpleNamespace

    from kievideo.ui.settingsdialog import SettingsDialog
    from kievideo.ui.wiring import apply_settings

    w = studio.window
    w.ctx.reconfigure = lambda: apply_settings(SimpleNamespace(service=studio.service), w.ctx.settings)
    w.act_settings.trigger()
    w.act_settings.trigger()  # already open: raised, not opened twice
    dialogs = [d for d in w.findChildren(SettingsDialog) if d.isVisible()]
    assert len(dialogs) == 1
    dlg = dialogs[0]
    dlg.profile_name.setText("router")
    dlg.profile_url.setText(studio.sim.api_url + "/")
    assert dlg.add_profile()
    dlg.apply()
    studio.qtbot.waitUntil(lambda: "router" in studio.service.registry.profiles, timeout=3000)
    dlg.accept()
    studio.qtbot.waitUntil(lambda: w._settings_dialog is None, timeout=3000)

    assert w.prompt.select_provider(ProviderKind.UNIFIED, "router")
    w.prompt.model_combo.setCurrentIndex(w.prompt.model_combo.findData("veo3.1-fast"))
    w.prompt.prompt.setPlainText("a router's first video")
    studio.generate()
    job = studio.wait_new_job()
    assert job.spec.profile == "router"
    final = studio.wait_final(job.id)
    assert final.state is JobState.DONE, final.error_message
    creates = studio.sim.creates()
    assert len(creates) == 1 and creates[0].path == "/v1/video/create"


def test_closing_right_after_generate_sends_no_late_credit_request(qtbot, qloop, sim_factory, tmp_path):
    """Generate schedules a credit refresh for after the new row has painted. Closing the window
    before it fires must not start it: the service is being closed, and a request then either
    fails or runs after the loop has stopped (CI once saw "no current event loop" here). A late
    call (a follow-up finishing as the window closes) starts nothing either."""
    sim = sim_factory(speed=SPEED, credits=100_000)
    studio = open_studio(qtbot, sim, tmp_path)
    w = studio.window
    try:
        w._credits_timer.setInterval(60_000)  # still pending at the close, however slow the machine
        w.prompt.prompt.setPlainText("a lighthouse at dusk")
        studio.generate()
        studio.wait_new_job()
        assert w._credits_timer.isActive()
        with qtbot.waitSignal(w.shutdownFinished, timeout=10000):
            w.close()
        assert not w._credits_timer.isActive()
        w.refresh_credits()
        assert w._credits_task is None
        assert not w._tasks
        assert _requests(studio, "common.credit") == []
    finally:
        close_studio(studio)
