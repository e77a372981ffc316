"""Two OS processes writing one task store at the same time: nothing lost, nothing corrupt."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from kievideo.core.jobs import JobState
from kievideo.core.store import SCHEMA_VERSION, TaskStore

N = 150

_CHILD = r"""
import sys, time, uuid
from pathlib import Path
from kievideo.api.models import ProviderKind
from kievideo.core.jobs import Job, JobSpec, JobState
from kievideo.core.store import TaskStore

db, me, n, sync = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
(sync / f"ready-{me}").touch()
deadline = time.monotonic() + 30
while not (sync / "go").exists():  # start together so the writes really interleave
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.001)
t0 = time.monotonic()
store = TaskStore(db)  # both processes may create and migrate the fresh file at once
spec = JobSpec(provider=ProviderKind.VEO, model="veo3_fast", prompt=f"from {me}")
jobs = []
for i in range(n):
    job = Job(id=f"{me}-{i:04d}", spec=spec, job_key=f"{me}-key-{i}", state=JobState.SUBMITTING)
    store.insert(job)
    jobs.append(job)
    if i % 3 == 0 and i:
        prev = jobs[i - 1]
        prev.state = JobState.RUNNING
        prev.task_id = f"task-{prev.id}"
        store.update(prev)
for job in jobs:
    job.state = JobState.DONE
    job.poll_count += 1
    store.update(job)
store.close()
print(t0, time.monotonic())  # CLOCK_MONOTONIC is system-wide: the parent compares the windows
"""


def test_two_processes_hammering_one_store(tmp_path: Path) -> None:
    db = tmp_path / "tasks.sqlite3"
    sync = tmp_path / "sync"
    sync.mkdir()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(db), name, str(N), str(sync)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("a", "b")
    ]
    try:
        deadline = time.monotonic() + 30
        while not all((sync / f"ready-{n}").exists() for n in ("a", "b")):
            assert all(c.poll() is None for c in children), "a child died before starting"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        (sync / "go").touch()
        outputs = [c.communicate(timeout=60) for c in children]
    finally:
        for c in children:
            if c.poll() is None:
                c.kill()
                c.wait()
    assert [c.returncode for c in children] == [0, 0], [err.decode() for _, err in outputs]
    windows = [tuple(float(x) for x in out.split()) for out, _ in outputs]
    assert max(w[0] for w in windows) < min(w[1] for w in windows), "the writers did not overlap"

    with TaskStore(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.integrity_check() == "ok"
        assert store.count() == 2 * N
        assert store.count(states=[JobState.DONE]) == 2 * N
        jobs = store.list()
        assert {j.id for j in jobs} == {f"{m}-{i:04d}" for m in "ab" for i in range(N)}
        assert all(j.poll_count == 1 for j in jobs)
        # updated_at stamps are unique and strictly ordered across both writers
        stamps = sorted(j.updated_at for j in jobs)
        assert len(set(stamps)) == len(stamps)
        assert store.by_job_key("b-key-7") is not None
