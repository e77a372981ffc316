"""TaskListModel over a long history in a real TaskStore: pages (canFetchMore/fetchMore), children
that arrive with their parents, search reaching older jobs, and the same rows as loading it all."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import Job, JobKind, JobSpec, JobState
from kievideo.core.store import TaskStore
from kievideo.ui.taskmodel import PAGE_SIZE, Roles, TaskFilterProxy, TaskListModel

SPEC = JobSpec(provider=ProviderKind.VEO, model="veo3_fast", prompt="x")
LIGHTHOUSES = (7, 120, 333)  # old generations (the first page holds 450-649) with a searchable word


class StoreService:
    """The TaskService surface the model uses, over a TaskStore (no network, no scheduler)."""

    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self.listeners: list[Callable[[Job], None]] = []
        self.get_calls = 0

    def jobs(self) -> list[Job]:  # what a model without paging would read: everything
        return self.store.list()

    def get(self, job_id: str) -> Job | None:
        self.get_calls += 1
        return self.store.get(job_id)

    def add_listener(self, cb: Callable[[Job], None]) -> Callable[[], None]:
        self.listeners.append(cb)
        return lambda: self.listeners.remove(cb)

    def put(self, job: Job) -> Job:
        self.store.insert(job)
        for cb in list(self.listeners):
            cb(job)
        return job


def _job(created: float, prompt: str, **kw: object) -> Job:
    kw.setdefault("state", JobState.DONE)
    return Job(id=uuid.uuid4().hex, spec=SPEC.with_(prompt=prompt), created_at=created, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def history_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Job]]:
    """650 generations (one a second, newest last) and children of old ones made much later."""
    path = tmp_path_factory.mktemp("history") / "tasks.sqlite3"
    t0 = time.time() - 100_000
    jobs = [_job(t0 + i, f"generation {i}" + (" lighthouse" if i in LIGHTHOUSES else "")) for i in range(650)]
    # An upgrade of generation 5 made recently (it sorts near the top, its parent is on page 4)
    # and an extension of that upgrade made even later.
    up = _job(t0 + 640.5, "generation 5", kind=JobKind.UPGRADE_1080P, parent_id=jobs[5].id)
    ext = _job(t0 + 645.5, "what happens next", kind=JobKind.EXTEND, parent_id=up.id)
    # Same-second ties across a page boundary must neither be lost nor duplicated.
    ties = [_job(t0 + 300.0, f"tie {k}") for k in range(5)]
    with TaskStore(path) as store:
        for j in [*jobs, up, ext, *ties]:
            store.insert(j)
    return path, [*jobs, up, ext, *ties]


@pytest.fixture
def history(history_db, tmp_path: Path) -> Iterator[tuple[StoreService, list[Job]]]:
    path, jobs = history_db
    copy = tmp_path / "tasks.sqlite3"
    shutil.copyfile(path, copy)
    store = TaskStore(copy)
    yield StoreService(store), jobs
    store.close()


def _ids(model: TaskListModel) -> list[str]:
    return [model.job_at(r).id for r in range(model.rowCount())]


def test_first_page_only_then_more_on_demand(history, qtbot) -> None:
    svc, all_jobs = history
    model = TaskListModel(svc)
    try:
        first = model.rowCount()
        # The first screen, not the whole history: a page plus the ancestors it needs.
        assert PAGE_SIZE <= first <= PAGE_SIZE + 5
        assert model.canFetchMore(QModelIndex()) and not model.canFetchMore(model.index(0))
        # The child of an old generation arrived with its parent and sits right under it.
        depth = {model.job_at(r).id: model.index(r).data(Roles.Depth) for r in range(first)}
        kids = [r for r in range(first) if depth[model.job_at(r).id] == 1]
        assert len(kids) == 2
        root_row = kids[0] - 1
        assert model.job_at(root_row).spec.prompt == "generation 5"
        assert [model.job_at(r).kind for r in kids] == [JobKind.UPGRADE_1080P, JobKind.EXTEND]
        while model.canFetchMore(QModelIndex()):
            before = _ids(model)
            model.fetchMore(QModelIndex())
            after = _ids(model)
            # Existing rows keep their order; new ones only get inserted.
            assert [i for i in after if i in set(before)] == before
        assert sorted(_ids(model)) == sorted(j.id for j in all_jobs)  # nothing lost, no duplicate
        whole = TaskListModel()
        whole.reset_jobs(all_jobs)
        assert _ids(model) == _ids(whole)  # the same rows as loading everything at once
        whole.detach()
    finally:
        model.detach()


def test_model_contract_while_paging(history, qtmodeltester, qtbot) -> None:
    svc, _ = history
    model = TaskListModel(svc)
    qtmodeltester.check(model, force_py=True)
    model.fetchMore(QModelIndex())
    qtmodeltester.check(model, force_py=True)
    model.detach()


def test_new_jobs_and_changes_still_arrive(history, qtbot) -> None:
    svc, all_jobs = history
    model = TaskListModel(svc)
    try:
        newest = svc.put(_job(time.time(), "brand new", state=JobState.RUNNING))
        assert model.job_at(0).id == newest.id
        # An upgrade of a generation that is not loaded yet brings that generation along.
        old = all_jobs[3]
        assert model.job(old.id) is None
        child = svc.put(_job(time.time() + 1, "old", kind=JobKind.UPGRADE_4K, parent_id=old.id))
        row = model.index_of(child.id).row()
        assert model.job_at(row - 1).id == old.id and model.index(row).data(Roles.Depth) == 1
        n = model.rowCount()
        model.fetch_page()  # the next page does not duplicate what is already there
        ids = _ids(model)
        assert len(ids) == len(set(ids)) and len(ids) > n
    finally:
        model.detach()


def test_search_finds_jobs_that_are_not_loaded_yet(history, qtbot) -> None:
    svc, _ = history
    model = TaskListModel(svc)
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    try:
        proxy.set_text("lighthouse")
        assert proxy.rowCount() == 0
        model.load_matching("lighthouse")  # no event loop running here: reads inline
        prompts = {proxy.index(r, 0).data(Roles.Job).spec.prompt for r in range(proxy.rowCount())}
        assert prompts == {f"generation {n} lighthouse" for n in LIGHTHOUSES}
        proxy.set_text("")
        proxy.set_states(frozenset({JobState.RUNNING}))
        assert proxy.rowCount() == 0
    finally:
        model.detach()


def test_an_older_job_under_way_waits_for_its_page(history, qtbot) -> None:
    """A job older than every loaded page (resumed after a restart, say) is not made a row when
    it changes: its page brings it, with its newest state. It still announces its end."""
    svc, all_jobs = history
    model = TaskListModel(svc)
    try:
        old = all_jobs[10]
        running = Job(
            id=old.id, spec=old.spec, created_at=old.created_at, state=JobState.RUNNING, task_id="t-old"
        )
        svc.store.update(running)
        rows = model.rowCount()
        inserted: list[int] = []
        model.rowsInserted.connect(lambda _p, first, _last: inserted.append(first))
        finished: list[Job] = []
        model.jobFinished.connect(finished.append)
        for cb in svc.listeners:  # a poll of it
            cb(running)
        assert model.job(old.id) is None and model.rowCount() == rows and inserted == []
        done = Job(
            id=old.id,
            spec=old.spec,
            created_at=old.created_at,
            state=JobState.DONE,
            task_id="t-old",
            file_path="/videos/old.mp4",
        )
        svc.store.update(done)
        for cb in svc.listeners:
            cb(done)
        assert [j.id for j in finished] == [old.id]  # the window's "video ready" still fires
        assert model.job(old.id) is None and inserted == []
        while model.job(old.id) is None and model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())
        row = model.index_of(old.id).row()
        assert model.job_at(row).state is JobState.DONE  # the page read its newest state
        ids = _ids(model)
        assert len(ids) == len(set(ids))
        # Loaded now: its changes go to its row, and no second "finished" for it.
        model.on_job_changed(done)
        assert len(finished) == 1
    finally:
        model.detach()
