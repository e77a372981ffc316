"""A TEST DOUBLE of the TaskService surface the UI uses, for fast widget tests only.

The end-to-end GUI tests use the real TaskService + simulator; this fake exists so model/view
tests (qtmodeltester, throttling) can create and mutate jobs precisely and instantly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from kievideo.core import rules
from kievideo.core.jobs import Job, JobKind, JobSpec, JobState


class Clock:
    """A clock the test moves by hand (``clock.now += 5``); called, it tells the time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeService:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._listeners: list[Callable[[Job], None]] = []
        self.submitted: list[JobSpec] = []
        self.credit_balance = 500
        self.closed = False

    # -- test helpers
    def put(self, job: Job) -> Job:
        self._jobs[job.id] = job
        for cb in list(self._listeners):
            cb(job)
        return job

    def change(self, job_id: str, **fields: object) -> Job:
        return self.put(replace(self._jobs[job_id], **fields))

    # -- TaskService surface
    def jobs(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def add_listener(self, cb: Callable[[Job], None]) -> Callable[[], None]:
        self._listeners.append(cb)
        return lambda: self._listeners.remove(cb) if cb in self._listeners else None

    def submit(self, spec: JobSpec, *, job_key: str | None = None) -> Job:
        rules.check(spec)
        self.submitted.append(spec)
        return self.put(make_job(spec))

    def upgrade(self, job_id: str, to: JobKind) -> Job:
        parent = self._jobs[job_id]
        return self.put(make_job(parent.spec, kind=to, parent_id=job_id))

    def extend(self, job_id: str, prompt: str) -> Job:
        parent = self._jobs[job_id]
        return self.put(make_job(parent.spec.with_(prompt=prompt), kind=JobKind.EXTEND, parent_id=job_id))

    def retry(self, job_id: str) -> Job:
        return self.submit(self._jobs[job_id].spec)

    def stop_watching(self, job_id: str) -> None:
        self.change(job_id, state=JobState.STOPPED)

    def resume_watching(self, job_id: str) -> None:
        self.change(job_id, state=JobState.RUNNING)

    async def remove(self, job_id: str, *, delete_file: bool) -> None:
        self._jobs.pop(job_id, None)

    async def credits(self, profile: str = "kie") -> int:
        return self.credit_balance

    async def aclose(self) -> None:
        self.closed = True


def make_job(spec: JobSpec, **kw: object) -> Job:
    now = time.time()
    base = dict(id=uuid.uuid4().hex, spec=spec, created_at=now, updated_at=now)
    base.update(kw)
    return Job(**base)  # type: ignore[arg-type]
