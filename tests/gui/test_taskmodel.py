"""TaskListModel: Qt model contract (qtmodeltester), ordering, throttled updates, filtering."""

from __future__ import annotations

import time

from gui_fakes import FakeService, make_job
from PySide6.QtCore import QModelIndex

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import JobKind, JobSpec, JobState
from kievideo.ui import taskmodel
from kievideo.ui.taskmodel import Roles, TaskFilterProxy, TaskListModel, time_text

SPEC = JobSpec(provider=ProviderKind.VEO, model="veo3_fast", prompt="a cat surfing a wave")


def _service_with_jobs() -> FakeService:
    svc = FakeService()
    now = time.time()
    a = svc.put(make_job(SPEC, created_at=now - 30, state=JobState.DONE, task_id="t-a"))
    svc.put(
        make_job(
            SPEC.with_(prompt="a dog"),
            created_at=now - 20,
            state=JobState.RUNNING,
            submitted_at=now - 19,
            started_at=now - 10,
        )
    )
    svc.put(make_job(SPEC, created_at=now - 5, kind=JobKind.UPGRADE_1080P, parent_id=a.id))
    return svc


def test_model_passes_qtmodeltester(qtmodeltester, qtbot):
    svc = _service_with_jobs()
    model = TaskListModel(svc, throttle_ms=1)
    qtmodeltester.check(model, force_py=True)
    qtmodeltester.check(model)
    # Mutations under the tester: insert, update, remove.
    job = svc.submit(SPEC.with_(prompt="new one"))
    svc.change(job.id, state=JobState.QUEUED, submitted_at=time.time())
    model.flush()
    model.remove_job(job.id)
    qtmodeltester.check(model)
    model.detach()


def test_role_names_keep_qts_and_add_the_models_own(qtbot):
    model = TaskListModel(_service_with_jobs(), throttle_ms=1)
    names = {role: bytes(name.data()) for role, name in model.roleNames().items()}
    assert names[0] == b"display"  # Qt.DisplayRole, from the base class
    assert names[Roles.Job] == b"job" and names[Roles.TimeText] == b"timeText"
    assert names[Roles.Paint] == b"paint"
    model.detach()


def test_children_follow_their_parent_newest_first():
    svc = _service_with_jobs()
    model = TaskListModel(svc)
    prompts = [model.job_at(r).spec.prompt for r in range(model.rowCount())]
    depths = [model.index(r).data(Roles.Depth) for r in range(model.rowCount())]
    assert prompts == ["a dog", "a cat surfing a wave", "a cat surfing a wave"]
    assert depths == [0, 0, 1]
    assert "1080p of" in model.index(2).data(Roles.ParentLabel)
    # A new generation goes on top, a new child under its parent.
    new = svc.submit(SPEC.with_(prompt="newest"))
    assert model.job_at(0).id == new.id
    child = svc.upgrade(new.id, JobKind.UPGRADE_4K)
    assert model.job_at(1).id == child.id
    model.detach()


def test_updates_are_throttled_into_one_datachanged(qtbot):
    svc = _service_with_jobs()
    model = TaskListModel(svc, throttle_ms=100, tick_ms=60_000)
    running = next(j for j in svc.jobs() if j.state is JobState.RUNNING)
    seen: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, _r=None: seen.append((a.row(), b.row())))
    for i in range(50):  # 50 progress updates (like download chunks)
        svc.change(running.id, download_progress=i / 50)
    assert seen == []  # nothing repainted per update
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=2000)
    qtbot.wait(150)
    assert len(seen) == 1
    row = model.index_of(running.id).row()
    assert seen[0] == (row, row)
    model.detach()


def test_time_text_separates_queue_and_run():
    job = make_job(SPEC, submitted_at=100.0, started_at=112.0, state=JobState.RUNNING)
    assert time_text(job, now=212.0) == "queued 0:12 · running 1:40"
    done = make_job(SPEC, submitted_at=100.0, started_at=112.0, finished_at=130.0, state=JobState.DONE)
    assert time_text(done, now=9999.0) == "queued 0:12 · running 0:18"
    # never seen running (the first answer said done): the total, not an invented split
    seen_done = make_job(SPEC, submitted_at=100.0, finished_at=151.0, state=JobState.DONE)
    assert time_text(seen_done, now=9999.0) == "took 0:51"


def test_filter_proxy_by_text_and_state(qtmodeltester):
    svc = _service_with_jobs()
    model = TaskListModel(svc)
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    proxy.set_text("dog")
    assert proxy.rowCount() == 1
    proxy.set_text("")
    proxy.set_states(frozenset({JobState.DONE}))
    assert proxy.rowCount() == 1
    assert proxy.index(0, 0).data(Roles.State) == "done"
    proxy.set_states(None)
    assert proxy.rowCount() == 3
    assert not model.index(0).parent().isValid() and model.rowCount(model.index(0)) == 0
    assert model.data(QModelIndex()) is None
    model.detach()


def test_state_filter_follows_state_changes(qtbot):
    """With a state filter set, a job whose state changes leaves and re-enters the view."""
    svc = _service_with_jobs()
    model = TaskListModel(svc, throttle_ms=10, tick_ms=60_000)
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    running = next(j for j in svc.jobs() if j.state is JobState.RUNNING)
    proxy.set_states(frozenset({JobState.RUNNING}))
    assert proxy.rowCount() == 1
    svc.change(running.id, state=JobState.DONE)
    qtbot.waitUntil(lambda: proxy.rowCount() == 0, timeout=2000)
    svc.change(running.id, state=JobState.RUNNING)
    qtbot.waitUntil(lambda: proxy.rowCount() == 1, timeout=2000)
    proxy.set_states(None)
    assert proxy.rowCount() == 3
    model.detach()


def test_a_flush_of_a_few_rows_signals_each_row_alone(qtbot, monkeypatch):
    """A view repaints only the row of a one-row dataChanged (and only if shown), but its whole
    viewport for a range: a flush of a few changed rows signals them one by one; a flush of
    many (more than ROW_SIGNALS_MAX) signals contiguous runs."""
    svc = FakeService()
    jobs = [
        svc.put(make_job(SPEC, id=f"j{i:02d}", created_at=1000.0 + i, state=JobState.RUNNING))
        for i in range(12)
    ]
    model = TaskListModel(svc, throttle_ms=10**6, tick_ms=10**8)
    seen: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, _r=None: seen.append((a.row(), b.row())))
    changed = [model.index_of(j.id).row() for j in jobs[2:6]]  # four neighbouring rows
    for job in jobs[2:6]:
        svc.change(job.id, provider_status="generating")
    model.flush()
    assert sorted(seen) == sorted((r, r) for r in changed)
    seen.clear()
    monkeypatch.setattr(taskmodel, "ROW_SIGNALS_MAX", 3)
    for job in jobs[2:6]:
        svc.change(job.id, provider_status="still generating")
    model.flush()
    assert seen == [(min(changed), max(changed))]
    model.detach()
