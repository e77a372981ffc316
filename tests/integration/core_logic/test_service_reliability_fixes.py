"""TaskService against the simulator: the fixes for what the reliability suite found.

* a create waiting in the client's rate limiter is NOT marked sent (a crash resumes it);
* the library name is written to the job before its NAME.part is created (a crash adopts it);
* a file host that keeps answering with something that is no video fails the job clearly,
  with nothing left in the library;
* a create that never connected is FAILED with ``extra["error_kind"] == "network"``;
* the UNCERTAIN text says "no answer came back" only when none did.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from svc_helpers import SPEED, Harness, ScaledClock, final_ok, png_bytes, veo_text, wait_final, wait_for

from kievideo.api.http import CreateLimiter, HttpConfig
from kievideo.core.jobs import Job, JobState, Mode
from kievideo.core.naming import part_path
from kievideo.core.providers import ProviderRegistry
from kievideo.core.service import ERROR_KIND_NETWORK, ERROR_KIND_NOT_VIDEO, MESSAGES, TaskService
from kievideo.core.store import TaskStore
from kievideo.sim import FaultSpec

pytestmark = pytest.mark.sim(speed=SPEED, credits=5000)

DEAD_OWNER = {"pid": 999_999_999, "token": "gone"}


def creates(sim: Any) -> list[Any]:
    return list(sim.creates())


class Gate(CreateLimiter):
    """A limiter whose every acquire waits until the test opens it; counts the acquires."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.waiting = 0
        self.opened = asyncio.Event()

    async def acquire(self) -> None:
        self.calls += 1
        self.waiting += 1
        try:
            await self.opened.wait()
        finally:
            self.waiting -= 1


def _gate(svc: TaskService) -> Gate:
    gate = Gate()
    svc.registry.adapter("kie").kie.transport.limiter = gate
    return gate


# ---- (1) the sent-marker comes after the limiter -----------------------------------------------


def test_create_waiting_in_the_limiter_is_not_marked_sent(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            gate = _gate(svc)
            job = svc.submit(veo_text(prompt="waits for its place"))
            await wait_for(lambda: gate.waiting == 1)
            await asyncio.sleep(0.05)
            for row in (svc.get(job.id), svc.store.get(job.id)):
                assert row is not None and row.state is JobState.SUBMITTING
                assert "create_sent_at" not in row.extra and row.task_id is None
            assert creates(sim) == []
            gate.opened.set()
            done = await wait_final(svc, job)
            final_ok(done)
            assert done.extra.get("create_sent_at")
        assert gate.calls == 1  # the create used the slot it waited for; it did not queue again
        assert len(creates(sim)) == 1

    asyncio.run(main())


def test_closing_while_waiting_in_the_limiter_resumes_the_create_after_restart(
    harness: Harness, sim: Any
) -> None:
    """What a crash during the limiter wait leaves: an unmarked SUBMITTING row, which the next
    start sends (once) instead of calling it UNCERTAIN."""

    async def main() -> Job:
        async with harness.service() as svc:
            gate = _gate(svc)
            job = svc.submit(veo_text(prompt="crash while waiting"))
            await wait_for(lambda: gate.waiting == 1)
        row = TaskStore(harness.db)
        try:
            left = row.get(job.id)
        finally:
            row.close()
        assert left is not None and left.state is JobState.SUBMITTING and "create_sent_at" not in left.extra
        assert creates(sim) == []
        async with harness.service() as svc2:
            done = await wait_final(svc2, job)
            final_ok(done)
            return done

    asyncio.run(main())
    assert len(creates(sim)) == 1


# ---- (2) the library name is known before it is reserved ---------------------------------------


def _as_crashed_after_reserve(harness: Harness, done: Job, planned: Path, *, part: bytes = b"") -> None:
    """Turn a finished job's row back into what a kill right after the reservation left."""
    Path(done.file_path or "").unlink()
    part_path(planned).write_bytes(part)
    store = TaskStore(harness.db)
    try:
        row = store.get(done.id)
        assert row is not None
        row.state = JobState.DOWNLOADING
        row.file_path = None
        row.extra.pop("dest", None)
        row.extra["dest_planned"] = str(planned)
        row.extra["owner"] = DEAD_OWNER
        store.update(row)
    finally:
        store.close()


def test_restart_adopts_the_empty_reservation_a_crash_left(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            done = await wait_final(svc, svc.submit(veo_text(prompt="an owl blinking")))
            final_ok(done)
        planned = Path(done.file_path or "")
        _as_crashed_after_reserve(harness, done, planned)
        async with harness.service() as svc2:
            again = await wait_final(svc2, done)
            final_ok(again)
            assert again.file_path == str(planned)  # the same name, not NAME-2
            assert "dest_planned" not in again.extra and again.extra["dest"] == str(planned)
        assert sorted(p.name for p in harness.library.iterdir() if p.is_file()) == [planned.name]

    asyncio.run(main())


def test_a_non_empty_part_at_the_planned_name_is_not_taken_over(harness: Harness, sim: Any) -> None:
    """Bytes at the planned name are not ours to continue: a fresh name is reserved."""

    async def main() -> None:
        async with harness.service() as svc:
            done = await wait_final(svc, svc.submit(veo_text(prompt="a heron")))
            final_ok(done)
        planned = Path(done.file_path or "")
        _as_crashed_after_reserve(harness, done, planned, part=b"someone else's bytes")
        async with harness.service() as svc2:
            again = await wait_final(svc2, done)
            final_ok(again)
            assert again.file_path and again.file_path != str(planned)
            assert Path(again.file_path).name == planned.stem + "-2" + planned.suffix
        assert part_path(planned).read_bytes() == b"someone else's bytes"  # untouched

    asyncio.run(main())


def test_a_planned_name_another_job_holds_is_not_taken_over(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            done = await wait_final(svc, svc.submit(veo_text(prompt="a lark")))
            final_ok(done)
        planned = Path(done.file_path or "")
        _as_crashed_after_reserve(harness, done, planned)
        store = TaskStore(harness.db)
        try:  # another (running) job of another live process reserved that name meanwhile
            other = Job(
                id=uuid.uuid4().hex,
                spec=veo_text(prompt="the other one"),
                state=JobState.RUNNING,
                task_id="other-task",
                created_at=1.0,
                extra={"dest": str(planned), "owner": {"pid": 1, "token": "init"}},
            )
            store.insert(other)
        finally:
            store.close()
        async with harness.service() as svc2:
            again = await wait_final(svc2, done)
            final_ok(again)
            assert again.file_path and again.file_path != str(planned)

    asyncio.run(main())


# ---- (3) a file host that keeps sending something that is no video ------------------------------


def test_file_host_that_keeps_sending_json_fails_clearly(harness: Harness, sim: Any) -> None:
    # the result URL and the fresh (signed) links kie.ai hands out for it
    sim.set_faults(
        [FaultSpec(route, "malformed_json", count=1000) for route in ("files.result", "files.signed")]
    )

    async def main() -> Job:
        async with harness.service() as svc:
            return await wait_final(svc, svc.submit(veo_text(prompt="a harbour")), limit=60)

    job = asyncio.run(main())
    sim.clear_faults()
    assert job.state is JobState.FAILED, (job.state, job.error_message)
    assert job.extra.get("error_kind") == ERROR_KIND_NOT_VIDEO
    assert job.task_id and job.result_urls  # the paid result is still known
    text = job.error_message or ""
    assert "not a video" in text and "fresh link" in text and "kie.ai/logs" in text
    assert [p.name for p in harness.library.iterdir() if p.is_file()] == []  # nothing half-made
    # it asked the provider for a fresh link before giving up
    assert [e.route for e in sim.journal].count("common.download_url") >= 1


def test_one_bad_answer_from_the_file_host_is_retried(harness: Harness, sim: Any) -> None:
    sim.set_faults([FaultSpec("files.result", "empty_body", count=1)])

    async def main() -> Job:
        async with harness.service() as svc:
            return await wait_final(svc, svc.submit(veo_text(prompt="a quiet pier")))

    job = asyncio.run(main())
    final_ok(job)
    assert Path(job.file_path or "").read_bytes() == sim.file_bytes(job.result_urls[0])


# ---- (6) a create that never connected ----------------------------------------------------------


@pytest.mark.parametrize("with_image", [False, True], ids=["create", "upload"])
def test_provider_out_of_reach_is_failed_as_network(tmp_path: Path, with_image: bool) -> None:
    registry = ProviderRegistry(
        lambda _name: "sk-test",
        kie_api_base="http://127.0.0.1:9",  # nothing listens on the discard port
        kie_upload_base="http://127.0.0.1:9",
        http_config=HttpConfig(max_retries=1, backoff_base=0.001, backoff_cap=0.002, connect_timeout=2.0),
    )
    spec = veo_text()
    if with_image:
        img = tmp_path / "in.png"
        img.write_bytes(png_bytes())
        spec = spec.with_(mode=Mode.IMAGE, images=(str(img),))

    async def main() -> Job:
        store = TaskStore(tmp_path / "tasks.sqlite3")
        svc = TaskService(store, registry, library_dir=tmp_path / "lib", clock=ScaledClock(SPEED))
        try:
            await svc.start()
            return await asyncio.wait_for(svc.wait(svc.submit(spec).id), 30)
        finally:
            await svc.aclose()
            store.close()

    job = asyncio.run(main())
    assert job.state is JobState.FAILED
    assert job.extra.get("error_kind") == ERROR_KIND_NETWORK
    assert job.task_id is None and "Nothing was sent" in (job.error_message or "")
    if with_image:
        assert "create_sent_at" not in job.extra  # it never got as far as the create


# ---- (7) the two UNCERTAIN texts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "answered"), [("accept_then_500", True), ("code500", True), ("accept_then_reset", False)]
)
def test_uncertain_text_says_whether_an_answer_came(
    harness: Harness, sim: Any, fault: str, answered: bool
) -> None:
    sim.set_faults([FaultSpec("veo.generate", fault, count=1)])

    async def main() -> Job:
        async with harness.service() as svc:
            return await wait_final(svc, svc.submit(veo_text(prompt=f"uncertain {fault}")))

    job = asyncio.run(main())
    assert job.state is JobState.UNCERTAIN
    text = job.error_message or ""
    assert "may have been submitted" in text and "check your provider's logs" in text
    if answered:
        assert "no answer came back" not in text
        assert "without a task id" in text and "(HTTP " in text
    else:
        assert text == MESSAGES["uncertain"].format(logs=" (https://kie.ai/logs)")
    assert len([e for e in sim.journal if e.route == "veo.generate"]) == 1
