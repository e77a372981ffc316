"""TaskStore on a real SQLite file: round trips, filters, migrations, change tracking."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from kievideo.api.models import ProviderKind
from kievideo.core.clock import FakeClock
from kievideo.core.jobs import Job, JobKind, JobSpec, JobState, Mode
from kievideo.core.store import (
    SCHEMA_V1,
    SCHEMA_VERSION,
    DuplicateJobError,
    JobNotFoundError,
    StaleJobError,
    StoreError,
    StoreVersionError,
    TaskStore,
)


def make_job(
    prompt: str = "a cat surfing a wave",
    *,
    provider: ProviderKind = ProviderKind.VEO,
    model: str = "veo3_fast",
    state: JobState = JobState.QUEUED,
    created_at: float = 0.0,
    **kw: object,
) -> Job:
    spec = JobSpec(provider=provider, model=model, prompt=prompt)
    return Job(id=uuid.uuid4().hex, spec=spec, state=state, created_at=created_at, **kw)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time=1_800_000_000.0)


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> TaskStore:
    s = TaskStore(tmp_path / "tasks.sqlite3", clock=clock)
    yield s  # type: ignore[misc]
    s.close()


def test_full_round_trip_keeps_every_field(store: TaskStore) -> None:
    spec = JobSpec(
        provider=ProviderKind.RUNWAY,
        model="runway-duration-5-generate",
        prompt="Кот на доске «серф» ✓",
        mode=Mode.FRAMES,
        profile="kie",
        images=("/tmp/a.png", "https://x/b.jpg"),
        video_url=None,
        aspect_ratio="16:9",
        duration=5,
        quality="720p",
        seed=42,
        watermark="wm",
        translate=False,
        upsample=True,
    )
    job = Job(
        id="j1",
        spec=spec,
        kind=JobKind.EXTEND,
        state=JobState.DOWNLOADING,
        parent_id="p0",
        task_id="task:123",
        job_key="batch-1",
        provider_status="generating",
        created_at=1.5,
        submitted_at=2.25,
        started_at=3.0,
        finished_at=None,
        uploaded_urls=("https://u/1",),
        result_urls=("https://r/1", "https://r/2"),
        image_urls=("https://i/1",),
        resolution="1080p",
        expires_at=99.0,
        file_path="/lib/x.mp4",
        thumb_path="/c/x.jpg",
        error_code=422,
        error_message="msg",
        provider_message="prov ✓",
        upload_progress=1.0,
        download_progress=0.5,
        slow=True,
        poll_count=7,
        extra={"a": [1, 2], "ключ": {"n": None}},
    )
    store.insert(job)
    got = store.get("j1")
    assert got == job
    assert got is not job


def test_insert_stamps_times_and_update_bumps_updated_at(store: TaskStore, clock: FakeClock) -> None:
    job = make_job()
    store.insert(job)
    assert job.created_at == clock.time() and job.updated_at == clock.time()
    first = job.updated_at
    job.state = JobState.RUNNING
    store.update(job)  # same wall time: the stamp still strictly increases
    assert job.updated_at > first
    stored = store.get(job.id)
    assert stored is not None
    assert stored.state is JobState.RUNNING and stored.updated_at == job.updated_at
    clock.advance(10)
    store.update(job)
    assert job.updated_at == clock.time()


def test_optimistic_update_detects_other_writer(store: TaskStore) -> None:
    job = make_job()
    store.insert(job)
    other = store.get(job.id)
    assert other is not None
    other.poll_count = 5
    store.update(other)
    job.poll_count = 1
    with pytest.raises(StaleJobError):
        store.update(job, if_unchanged=True)
    fresh = store.get(job.id)
    assert fresh is not None and fresh.poll_count == 5
    fresh.poll_count = 6
    store.update(fresh, if_unchanged=True)


def test_duplicates_and_missing_rows(store: TaskStore) -> None:
    a = make_job(job_key="k1")
    store.insert(a)
    with pytest.raises(DuplicateJobError):
        store.insert(make_job(job_key="k1"))
    with pytest.raises(DuplicateJobError):
        store.insert(Job(id=a.id, spec=a.spec))
    store.insert(make_job())  # many rows without a key are fine
    store.insert(make_job())
    assert store.count() == 3
    ghost = make_job()
    with pytest.raises(JobNotFoundError):
        store.update(ghost)
    with pytest.raises(KeyError):  # JobNotFoundError is a KeyError too
        store.update(ghost)
    b = make_job(job_key="k2")
    store.insert(b)
    b.job_key = "k1"
    with pytest.raises(DuplicateJobError):
        store.update(b)


def test_lookups_by_task_id_and_job_key(store: TaskStore, clock: FakeClock) -> None:
    parent = make_job(task_id="T1", job_key="key-1")
    store.insert(parent)
    clock.advance(1)
    hd = make_job(task_id="T1", kind=JobKind.UPGRADE_1080P, parent_id=parent.id)
    store.insert(hd)
    found = store.by_task_id("T1")
    assert found is not None and found.id == parent.id  # the generation, not the 1080p sharing its id
    found_hd = store.by_task_id("T1", kind=JobKind.UPGRADE_1080P)
    assert found_hd is not None and found_hd.id == hd.id
    assert store.by_task_id("nope") is None
    by_key = store.by_job_key("key-1")
    assert by_key is not None and by_key.id == parent.id
    assert store.by_job_key("other") is None
    assert [j.id for j in store.children(parent.id)] == [hd.id]


def test_list_filters_and_newest_first(store: TaskStore, clock: FakeClock) -> None:
    ids = []
    specs = [
        ("A red fox in the snow", ProviderKind.VEO, "veo3_fast", JobState.DONE),
        ("Un CHAT qui surfe", ProviderKind.RUNWAY, "runway", JobState.RUNNING),
        ("Кот ест рыбу", ProviderKind.VEO, "veo3", JobState.FAILED),
        ("100% fun_time", ProviderKind.UNIFIED, "veo3-fast", JobState.QUEUED),
        ("plain", ProviderKind.VEO, "veo3_fast", JobState.DONE),
    ]
    for i, (prompt, prov, model, state) in enumerate(specs):
        j = make_job(prompt, provider=prov, model=model, state=state, task_id=f"TASK-{i}:x")
        store.insert(j)
        ids.append(j.id)
        clock.advance(10)
    t0 = store.get(ids[0])
    assert t0 is not None
    base = t0.created_at

    assert [j.id for j in store.list()] == ids[::-1]
    assert [j.id for j in store.list(limit=2)] == [ids[4], ids[3]]
    assert [j.id for j in store.list(limit=2, offset=2)] == [ids[2], ids[1]]
    assert {j.id for j in store.list(states=[JobState.DONE])} == {ids[0], ids[4]}
    assert store.list(states=[]) == [] and store.count(states=[]) == 0
    assert {j.id for j in store.list(states=["done", "failed"])} == {ids[0], ids[2], ids[4]}
    assert {j.id for j in store.list(provider=ProviderKind.VEO)} == {ids[0], ids[2], ids[4]}
    assert {j.id for j in store.list(provider="runway")} == {ids[1]}
    # text: case-insensitive over prompt, task id and model; Unicode folded too
    assert [j.id for j in store.list(text="chat")] == [ids[1]]
    assert [j.id for j in store.list(text="кот")] == [ids[2]]
    assert [j.id for j in store.list(text="КОТ")] == [ids[2]]
    assert [j.id for j in store.list(text="task-3")] == [ids[3]]
    assert [j.id for j in store.list(text="VEO3-FAST")] == [ids[3]]
    assert [j.id for j in store.list(text="100%")] == [ids[3]]  # % is literal, not a wildcard
    assert store.list(text="un_chat") == []  # _ is literal too (as a wildcard it would match "Un CHAT")
    assert store.count(text="  ") == 5
    # time window on created_at: since inclusive, until exclusive
    assert [j.id for j in store.list(since=base + 10, until=base + 30)] == [ids[2], ids[1]]
    assert store.count(since=base + 10, until=base + 30) == 2
    assert store.count() == 5
    assert store.count(provider=ProviderKind.VEO, states=[JobState.DONE]) == 2
    assert store.count(kinds=[JobKind.EXTEND]) == 0
    assert store.count(profile="kie") == 5


def test_active_delete_and_tombstones(store: TaskStore) -> None:
    done = make_job(state=JobState.DONE)
    running = make_job(state=JobState.RUNNING)
    uploading = make_job(state=JobState.UPLOADING)
    for j in (done, running, uploading):
        store.insert(j)
    assert [j.id for j in store.active()] == [running.id, uploading.id]
    mark = store.last_change()
    assert store.delete(running.id) is True
    assert store.delete(running.id) is False
    assert store.get(running.id) is None
    assert store.deleted_since(mark) == [running.id]
    assert store.last_change() > mark


def test_done_files_lists_only_finished_videos_the_provider_still_keeps(store: TaskStore) -> None:
    now = 1_800_000_000.0
    kept = make_job(state=JobState.DONE, result_urls=("https://f/a.mp4",), file_path="/lib/a.mp4")
    no_expiry = make_job(state=JobState.DONE, result_urls=("https://f/b.mp4",))
    expired = make_job(state=JobState.DONE, result_urls=("https://f/c.mp4",), expires_at=now - 1)
    no_urls = make_job(state=JobState.DONE, file_path="/lib/d.mp4")
    failed = make_job(state=JobState.FAILED, result_urls=("https://f/e.mp4",))
    for j in (kept, no_expiry, expired, no_urls, failed):
        store.insert(j)
    kept.expires_at = now + 60
    store.update(kept)
    assert sorted(store.done_files(now)) == sorted([(kept.id, "/lib/a.mp4"), (no_expiry.id, None)])
    assert store.done_files(now + 120) == [(no_expiry.id, None)]


def test_changed_since_sees_every_write_in_order(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "t.sqlite3"
    writer = TaskStore(path, clock=clock)
    reader = TaskStore(path, clock=clock)
    try:
        mark = reader.last_change()
        a, b = make_job(), make_job()
        writer.insert(a)
        writer.insert(b)
        changed = reader.changed_since(mark)
        assert [j.id for j in changed] == [a.id, b.id]
        mark = max(j.updated_at for j in changed)
        assert reader.changed_since(mark) == []
        a.state = JobState.DONE
        writer.update(a)  # same wall time as the insert: still seen
        seen = reader.changed_since(mark)
        assert [(j.id, j.state) for j in seen] == [(a.id, JobState.DONE)]
    finally:
        writer.close()
        reader.close()


def test_stamps_ids_and_get_many_match_the_full_reads(store: TaskStore) -> None:
    """The cheap reads (stamps, active ids) name the same rows as changed_since()/active(), and
    get_many() loads exactly the rows asked for, in the order asked, past one query's id limit."""
    from kievideo.core import store as store_mod

    mark = store.last_change()
    jobs = [make_job(f"job {i}", state=JobState.RUNNING if i % 3 else JobState.DONE) for i in range(7)]
    for j in jobs:
        store.insert(j)
    jobs[2].state = JobState.FAILED
    store.update(jobs[2])
    stamps = store.stamps_since(mark)
    assert stamps == [(j.id, j.updated_at) for j in store.changed_since(mark)]
    assert [i for i, _ in stamps] == [j.id for j in (*jobs[:2], *jobs[3:], jobs[2])]
    assert store.stamps_since(stamps[-1][1]) == []
    assert store.active_ids() == [j.id for j in store.active()]
    wanted = [jobs[5].id, "no-such-job", jobs[1].id, jobs[4].id]
    assert [j.id for j in store.get_many(wanted)] == [jobs[5].id, jobs[1].id, jobs[4].id]
    assert store.get_many([]) == []
    many = [make_job(f"bulk {i}") for i in range(store_mod._IDS_PER_QUERY + 7)]
    for j in many:
        store.insert(j)
    ids = [j.id for j in reversed(many)]
    assert [j.id for j in store.get_many(ids)] == ids


def test_upload_cache(store: TaskStore, clock: FakeClock) -> None:
    now = clock.time()
    assert store.upload_cache_get("h", "kie") is None
    store.upload_cache_put("h", "kie", "https://u/1", now + 100)
    assert store.upload_cache_get("h", "kie") == ("https://u/1", now + 100)
    assert store.upload_cache_get("h", "other") is None
    assert store.upload_cache_get("h", "kie", now=now + 100) is None  # expired exactly at expiry
    store.upload_cache_put("h", "kie", "https://u/2", now + 200)  # replaces
    assert store.upload_cache_get("h", "kie") == ("https://u/2", now + 200)
    store.upload_cache_delete("h", "kie")
    assert store.upload_cache_get("h", "kie") is None


def test_model_durations(store: TaskStore) -> None:
    def add(
        model: str,
        state: JobState,
        sub: float | None,
        start: float | None,
        fin: float | None,
        kind: JobKind = JobKind.GENERATE,
    ) -> None:
        store.insert(
            make_job(model=model, state=state, submitted_at=sub, started_at=start, finished_at=fin, kind=kind)
        )

    add("veo3_fast", JobState.DONE, 0, 10, 70)  # 60 from start
    add("veo3_fast", JobState.DONE, 100, None, 190)  # 90 from submit
    add("veo3_fast", JobState.FAILED, 0, 10, 500)  # not done
    add("veo3_fast", JobState.DONE, 0, 10, None)  # never finished
    add("veo3", JobState.DONE, 0, 0, 999)  # other model
    add("veo3_fast", JobState.DONE, 0, 0, 5000, JobKind.UPGRADE_4K)  # other kind
    assert store.model_durations(ProviderKind.VEO, "veo3_fast") == [90.0, 60.0]  # newest finish first
    assert store.model_durations("veo", "veo3_fast", limit=1) == [90.0]
    assert store.model_durations(ProviderKind.VEO, "veo3_fast", kind=JobKind.UPGRADE_4K) == [5000.0]


def test_persists_across_reopen_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    job = make_job()
    with TaskStore(path) as s:
        s.insert(job)
        assert s.schema_version == SCHEMA_VERSION
    with TaskStore(path) as s:
        assert s.get(job.id) == job
        assert s.integrity_check() == "ok"
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_closed_store_raises(tmp_path: Path) -> None:
    s = TaskStore(tmp_path / "t.sqlite3")
    s.close()
    s.close()
    with pytest.raises(StoreError):
        s.get("x")
    assert "closed" in repr(s)


def _v1_file(path: Path) -> None:
    con = sqlite3.connect(path)
    for stmt in SCHEMA_V1:
        con.execute(stmt)
    spec = JobSpec(provider=ProviderKind.VEO, model="veo3", prompt="old").to_dict()
    con.execute(
        "INSERT INTO jobs (id, kind, state, provider, profile, model, prompt, spec, created_at, updated_at,"
        " task_id) VALUES ('old1', 'generate', 'running', 'veo', 'kie', 'veo3', 'old', ?, 1.0, 2.0, 'T-old')",
        (json.dumps(spec),),
    )
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()


def test_migrates_a_v1_file_to_current(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    _v1_file(path)
    with TaskStore(path) as s:
        assert s.schema_version == SCHEMA_VERSION == 2
        old = s.get("old1")
        assert old is not None and old.state is JobState.RUNNING and old.task_id == "T-old"
        assert [j.id for j in s.active()] == ["old1"]
        s.upload_cache_put("h", "kie", "https://u", 1e12)  # v2 table exists
        assert s.upload_cache_get("h", "kie", now=0) == ("https://u", 1e12)
        s.delete("old1")
        assert s.deleted_since(0) == ["old1"]
        assert s.integrity_check() == "ok"
    con = sqlite3.connect(path)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    con.close()
    assert {"jobs", "upload_cache", "deletions", "jobs_updated", "jobs_state", "jobs_job_key"} <= names


def test_refuses_newer_or_foreign_files(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite3"
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(StoreVersionError, match="newer"):
        TaskStore(newer)

    foreign = tmp_path / "foreign.sqlite3"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE something (x)")
    con.commit()
    con.close()
    with pytest.raises(StoreVersionError):
        TaskStore(foreign)

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreVersionError):
        TaskStore(garbage)
    assert garbage.read_bytes().startswith(b"this is not")  # never clobbered


def test_unreadable_row_is_skipped_not_fatal(store: TaskStore) -> None:
    good = make_job()
    store.insert(good)
    bad = make_job()
    store.insert(bad)
    con = sqlite3.connect(store.path)
    con.execute("UPDATE jobs SET state = 'from-the-future' WHERE id = ?", (bad.id,))
    con.commit()
    con.close()
    assert [j.id for j in store.list()] == [good.id]
    with pytest.raises(StoreError):
        store.get(bad.id)


def test_unstorable_extra_is_refused(store: TaskStore) -> None:
    job = make_job()
    job.extra["x"] = object()
    with pytest.raises(StoreError):
        store.insert(job)
    assert store.count() == 0


def test_usable_from_executor_threads(store: TaskStore) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        jobs = [make_job(f"p{i}") for i in range(40)]
        await asyncio.gather(*(loop.run_in_executor(None, store.insert, j) for j in jobs))
        got = await loop.run_in_executor(None, lambda: store.count())
        assert got == 40

    asyncio.run(main())
