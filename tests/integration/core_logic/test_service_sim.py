"""TaskService end to end against the real simulator (three loopback origins) and a real SQLite file."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from svc_helpers import SPEED, Harness, final_ok, png_bytes, veo_text, wait_final, wait_for

from kievideo.api.models import ProviderKind
from kievideo.core.downloads import Downloader, UrlExpiredError
from kievideo.core.jobs import Job, JobKind, JobSpec, JobState, Mode
from kievideo.core.rules import SpecError
from kievideo.core.store import TaskStore
from kievideo.sim import FaultSpec

pytestmark = pytest.mark.sim(speed=SPEED, credits=5000)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_matches(sim: Any, job: Job) -> None:
    assert job.file_path is not None
    data = Path(job.file_path).read_bytes()
    assert sha(data) == sha(sim.file_bytes(job.result_urls[0]))
    assert not Path(job.file_path + ".part").exists()


def read(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def exists(path: str | Path) -> bool:
    return Path(path).exists()


def creates(sim: Any, route: str | None = None) -> list[Any]:
    return [e for e in sim.creates() if route is None or e.route == route]


# --------------------------------------------------------------------------------------------


def test_text_to_video_end_to_end(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        seen: list[Job] = []
        async with harness.service() as svc:
            svc.add_listener(seen.append)
            job = svc.submit(veo_text())
            assert job.state is JobState.SUBMITTING
            assert seen and seen[0].id == job.id  # the row is shown at once
            done = await wait_final(svc, job)
            final_ok(done)
            file_matches(sim, done)
            assert done.task_id and done.submitted_at and done.finished_at
            assert done.expires_at == pytest.approx(done.finished_at + 14 * 86400)
            await wait_for(lambda: bool((j := svc.get(job.id)) and j.thumb_path))  # the poster follows DONE
            thumb = svc.get(job.id).thumb_path  # type: ignore[union-attr]
            assert thumb and read(thumb)[:2] == b"\xff\xd8"
            states = [j.state for j in seen if j.id == job.id]
            assert JobState.QUEUED in states and JobState.DOWNLOADING in states
            assert len(creates(sim)) == 1
            # the store has the same
            stored = svc.store.get(job.id)
            assert stored is not None and stored.state is JobState.DONE

    asyncio.run(main())


def test_invalid_spec_writes_and_sends_nothing(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            with pytest.raises(SpecError) as ei:
                svc.submit(veo_text(prompt="   "))
            assert ei.value.problems[0].field == "prompt"
            assert svc.jobs() == []
            assert svc.store.count() == 0
        assert sim.journal == []

    asyncio.run(main())


def test_image_to_video_uploads_once_per_content(harness: Harness, sim: Any, tmp_path: Path) -> None:
    img = tmp_path / "photo.png"
    img.write_bytes(png_bytes())
    copy = tmp_path / "same-photo-renamed.jpg"  # same bytes, other name: still one upload
    copy.write_bytes(png_bytes())

    async def main() -> None:
        progress: list[float] = []
        async with harness.service() as svc:
            svc.add_listener(lambda j: progress.append(j.upload_progress or 0.0))
            spec = JobSpec(
                ProviderKind.VEO, "veo3_fast", "the photo comes alive", mode=Mode.IMAGE, images=(str(img),)
            )
            first = svc.submit(spec)
            assert first.state is JobState.UPLOADING
            done1 = await wait_final(svc, first)
            final_ok(done1)
            assert done1.uploaded_urls and done1.uploaded_urls[0].startswith(sim.files_url)
            assert 1.0 in progress
            second = svc.submit(spec.with_(images=(str(copy),), prompt="again"))
            done2 = await wait_final(svc, second)
            final_ok(done2)
            assert done2.uploaded_urls == done1.uploaded_urls
        uploads = [e for e in sim.journal if e.origin == "upload"]
        assert len(uploads) == 1
        assert len(creates(sim)) == 2

    asyncio.run(main())


def test_rejected_prompt_fails_with_actionable_message(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            job = svc.submit(veo_text(prompt="a cat REJECT"))
            done = await wait_final(svc, job)
        assert done.state is JobState.FAILED
        assert done.error_message and "content filter" in done.error_message
        assert done.provider_message and "content polic" in done.provider_message.lower()
        assert done.error_code == 400
        assert done.file_path is None
        assert len(creates(sim)) == 1
        # polling stopped: no status request after the one that saw the failure
        polls = [e for e in sim.journal if e.route == "veo.record_info"]
        assert polls and polls[-1].seq == max(e.seq for e in sim.journal)

    asyncio.run(main())


@pytest.mark.sim(speed=SPEED, faults=[FaultSpec(endpoint="veo.generate", kind="accept_then_500", count=1)])
def test_accept_then_500_is_uncertain_and_never_resent(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            job = svc.submit(veo_text())
            done = await wait_final(svc, job)
            assert done.state is JobState.UNCERTAIN
            assert done.error_message and "may have been submitted" in done.error_message
            assert "check your provider's logs" in done.error_message
        assert len(creates(sim)) == 1  # the server made (and billed) it once
        # a restart does not resend it either
        async with harness.service() as svc2:
            await asyncio.sleep(0.2)
            again = svc2.get(job.id)
            assert again is not None and again.state is JobState.UNCERTAIN
        assert len(creates(sim)) == 1

    asyncio.run(main())


def test_restart_resumes_polling_and_download_without_second_create(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            job = svc.submit(veo_text(model="veo3"))  # 3-8 simulated minutes
            await wait_for(lambda: (j := svc.get(job.id)) is not None and j.task_id is not None)
            task_id = svc.get(job.id).task_id  # type: ignore[union-attr]
        # "the app was closed"; it comes back
        async with harness.service() as svc2:
            resumed = svc2.get(job.id)
            assert resumed is not None and resumed.task_id == task_id
            assert svc2.scheduler.watching(job.id)
            done = await wait_final(svc2, resumed, limit=60)
            final_ok(done)
            file_matches(sim, done)
        assert len(creates(sim)) == 1

    asyncio.run(main())


def test_restart_after_crash_before_send_and_during_send(harness: Harness, sim: Any, tmp_path: Path) -> None:
    """Rows a crashed process left behind: UPLOADING (never sent) resumes, SUBMITTING without the
    sent-marker resumes, SUBMITTING with the marker becomes UNCERTAIN. Nothing is sent twice."""
    img = tmp_path / "p.png"
    img.write_bytes(png_bytes())
    store = TaskStore(harness.db)
    dead_owner = {"pid": 999_999_999, "token": "gone"}
    uploading = Job(
        id=uuid.uuid4().hex,
        spec=JobSpec(ProviderKind.VEO, "veo3_fast", "resume me", mode=Mode.IMAGE, images=(str(img),)),
        state=JobState.UPLOADING,
        created_at=1.0,
        extra={"owner": dead_owner},
    )
    unsent = Job(
        id=uuid.uuid4().hex, spec=veo_text(prompt="not sent yet"), state=JobState.SUBMITTING, created_at=2.0
    )
    maybe = Job(
        id=uuid.uuid4().hex,
        spec=veo_text(prompt="maybe sent"),
        state=JobState.SUBMITTING,
        created_at=3.0,
        extra={"create_sent_at": 3.0, "owner": dead_owner},
    )
    for j in (uploading, unsent, maybe):
        store.insert(j)
    store.close()

    async def main() -> None:
        async with harness.service() as svc:
            m = svc.get(maybe.id)
            assert m is not None and m.state is JobState.UNCERTAIN
            assert m.error_message and "may have been submitted" in m.error_message
            d1 = await wait_final(svc, uploading)
            d2 = await wait_final(svc, unsent)
            final_ok(d1)
            final_ok(d2)
        assert sorted(e.body["prompt"] for e in creates(sim)) == ["not sent yet", "resume me"]

    asyncio.run(main())


def test_upgrades_and_extend_child_jobs(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            parent = await wait_final(svc, svc.submit(veo_text()))
            final_ok(parent)
            hd = svc.upgrade(parent.id, JobKind.UPGRADE_1080P)
            assert svc.upgrade(parent.id, JobKind.UPGRADE_1080P).id == hd.id  # asked twice: one job
            k4 = svc.upgrade(parent.id, JobKind.UPGRADE_4K)
            ext = svc.extend(parent.id, "the fox jumps over a fence")
            assert {hd.parent_id, k4.parent_id, ext.parent_id} == {parent.id}
            hd_done, k4_done, ext_done = await asyncio.gather(
                wait_final(svc, hd, 60), wait_final(svc, k4, 60), wait_final(svc, ext, 60)
            )
            for child in (hd_done, k4_done, ext_done):
                final_ok(child)
                file_matches(sim, child)
            assert k4_done.extra.get("first_call_at")
            assert "1080p" in Path(hd_done.file_path or "").name
            assert "4k" in Path(k4_done.file_path or "").name.lower()
        assert len(creates(sim, "veo.get_4k")) == 1  # the paid 4K call went out once
        assert len(creates(sim, "veo.get_1080p")) == 1
        assert len(creates(sim, "veo.extend")) == 1
        assert len(creates(sim, "veo.generate")) == 1

    asyncio.run(main())


def test_history_stays_in_the_store_and_children_are_found_after_restart(harness: Harness, sim: Any) -> None:
    """A restarted service keeps finished jobs in the store, not in memory (10,000 of them made
    the window slow to open), yet finds a parent's children and still dedupes an upgrade."""

    async def main() -> None:
        async with harness.service() as svc:
            parent = await wait_final(svc, svc.submit(veo_text()))
            final_ok(parent)
            hd = await wait_final(svc, svc.upgrade(parent.id, JobKind.UPGRADE_1080P), 60)
            final_ok(hd)
        async with harness.service() as svc2:
            assert svc2._jobs == {}  # nothing to resume: nothing loaded
            assert [c.id for c in svc2.children(parent.id)] == [hd.id]
            assert svc2.upgrade(parent.id, JobKind.UPGRADE_1080P).id == hd.id  # asked again: one job
            assert [j.id for j in svc2.jobs()] == [hd.id, parent.id]
        assert len(creates(sim, "veo.get_1080p")) == 1

    asyncio.run(main())


@pytest.mark.sim(speed=SPEED, credits=10)
def test_no_credits_fails_with_actionable_message_and_keeps_the_job(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            job = svc.submit(veo_text())
            done = await wait_final(svc, job)
            assert done.state is JobState.FAILED
            assert done.error_code == 402
            assert done.error_message and "credits" in done.error_message.lower()
            assert svc.store.get(job.id) is not None  # nothing lost: the request can be retried
            assert await svc.credits() == 10
            sim.credits = 500
            again = await wait_final(svc, svc.retry(job.id))
            final_ok(again)
        assert len(creates(sim)) == 1

    asyncio.run(main())


def test_wrong_key_fails_with_auth_message(sim: Any, tmp_path: Path) -> None:
    harness = Harness(sim, tmp_path, key="sk-wrong-key-1234567890")

    async def main() -> None:
        async with harness.service() as svc:
            job = svc.submit(veo_text())
            done = await wait_final(svc, job)
            assert done.state is JobState.FAILED
            assert done.error_code == 401
            assert done.error_message and "key" in done.error_message.lower()
        assert creates(sim) == []
        assert all("sk-wrong-key" not in str(e.to_dict()) for e in sim.journal)

    asyncio.run(main())


def test_missing_key_refused_before_anything_is_written(sim: Any, tmp_path: Path) -> None:
    from kievideo.core.providers import MissingKeyError

    harness = Harness(sim, tmp_path, key="")

    async def main() -> None:
        async with harness.service() as svc:
            with pytest.raises(MissingKeyError):
                svc.submit(veo_text())
            assert svc.store.count() == 0
        assert sim.journal == []

    asyncio.run(main())


def test_runway_aleph_and_unified(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            runway = svc.submit(
                JobSpec(ProviderKind.RUNWAY, "runway", "a boat at dawn", aspect_ratio="16:9", duration=5)
            )
            unified = svc.submit(
                JobSpec(
                    ProviderKind.UNIFIED, "veo3.1-fast", "a lighthouse", profile="agg", aspect_ratio="16:9"
                )
            )
            r, u = await asyncio.gather(wait_final(svc, runway, 60), wait_final(svc, unified, 60))
            final_ok(r)
            final_ok(u)
            file_matches(sim, r)
            file_matches(sim, u)
            assert u.expires_at == pytest.approx((u.finished_at or 0) + 86400)
            aleph = svc.submit(
                JobSpec(
                    ProviderKind.ALEPH, "aleph", "make it snow", mode=Mode.VIDEO, video_url=r.result_urls[0]
                )
            )
            a = await wait_final(svc, aleph, 60)
            final_ok(a)
            ext = await wait_final(svc, svc.extend(r.id, "the boat sails away"), 60)
            final_ok(ext)
        assert {e.route for e in creates(sim)} == {
            "runway.generate",
            "unified.create",
            "aleph.generate",
            "runway.extend",
        }

    asyncio.run(main())


def test_download_to_another_folder_and_remove(harness: Harness, sim: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            job = svc.submit(veo_text())
            out = await svc.download(job.id, tmp_path / "out")  # waits, then copies
            assert out.parent == tmp_path / "out"
            done = svc.get(job.id)
            assert done is not None and done.file_path
            assert read(out) == read(done.file_path)
            again = await svc.download(job.id, tmp_path / "out")
            assert again != out  # never overwrites
            await svc.remove(job.id, delete_file=True)
            assert svc.get(job.id) is None
            assert not exists(done.file_path)

    asyncio.run(main())


def test_cli_process_changes_are_picked_up(harness: Harness, sim: Any) -> None:
    """A second service on the same store (as the CLI would be) submits; the first one sees the
    row through refresh_from_store and does not touch a job whose owner is alive."""

    async def main() -> None:
        async with harness.service() as gui, harness.service() as cli:
            seen: list[str] = []
            gui.add_listener(lambda j: seen.append(j.id))
            job = cli.submit(veo_text(prompt="from the cli"))
            await wait_for(lambda: (gui.refresh_from_store() or True) and job.id in seen)
            assert not gui.scheduler.watching(job.id)
            done = await wait_final(cli, job)
            final_ok(done)
            await wait_for(
                lambda: (gui.refresh_from_store() or True) and gui.get(job.id).state is JobState.DONE
            )  # type: ignore[union-attr]
        assert len(creates(sim)) == 1

    asyncio.run(main())


def test_refresh_from_store_loads_only_rows_written_elsewhere(
    harness: Harness, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GUI calls refresh_from_store every 3 s. Rows this service wrote itself (every poll
    writes one) and active jobs it works on must not be loaded and parsed again: with hundreds
    of jobs that cost ~20 ms of the GUI thread per look. A row another process wrote is."""
    from kievideo.core import store as store_mod

    loaded: list[str] = []
    real = store_mod._row_to_job

    def counting(row: Any) -> Job:
        job = real(row)
        loaded.append(job.id)
        return job

    async def main() -> None:
        async with harness.service() as gui, harness.service() as cli:
            mine = [gui.submit(veo_text(prompt=f"mine {i}")) for i in range(3)]
            await wait_for(lambda: all(gui.get(j.id).task_id for j in mine))  # type: ignore[union-attr]
            gui.refresh_from_store()  # catch up with the writes so far
            done = await wait_final(gui, mine[0])  # more of our own writes: polls, download
            final_ok(done)
            monkeypatch.setattr(store_mod, "_row_to_job", counting)
            gui.refresh_from_store()
            assert loaded == []
            theirs = cli.submit(veo_text(prompt="from the cli"))
            await wait_for(lambda: (gui.refresh_from_store() or True) and theirs.id in loaded)
            assert set(loaded) == {theirs.id}

    asyncio.run(main())


def test_refresh_from_store_adopts_an_active_job_whose_owner_died(harness: Harness, sim: Any) -> None:
    """A CLI process dies mid-task (its row is active, its owner gone): the running GUI's next
    store refresh adopts the job and brings it to DONE, without a second create."""

    async def main() -> None:
        async with harness.service() as gui:
            async with harness.service() as cli:
                job = cli.submit(veo_text(prompt="the cli died"))
                await wait_for(lambda: bool(cli.get(job.id).task_id))  # type: ignore[union-attr]
            store = TaskStore(harness.db)
            row = store.get(job.id)
            assert row is not None and not row.is_final
            row.extra["owner"] = {"pid": 999_999_999, "token": "gone"}
            store.update(row)
            store.close()
            assert not gui.scheduler.watching(job.id)
            gui.refresh_from_store()
            assert gui.scheduler.watching(job.id) or gui.get(job.id).is_final  # type: ignore[union-attr]
            final_ok(await wait_final(gui, job))
        assert len(creates(sim)) == 1

    asyncio.run(main())


class ExpiringOnce(Downloader):
    """The first download attempt finds the link expired (as a 14-day-old link would)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    async def download(self, url: str, dest: Path, **kw: Any) -> Any:  # type: ignore[override]
        self.urls.append(url)
        if len(self.urls) == 1:
            raise UrlExpiredError(404, url)
        return await super().download(url, dest, **kw)


def test_expired_link_is_refreshed_then_downloaded(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        dl = ExpiringOnce()
        try:
            async with harness.service(downloader=dl) as svc:
                done = await wait_final(svc, svc.submit(veo_text()))
                final_ok(done)
                file_matches(sim, done)
        finally:
            await dl.aclose()
        assert len(dl.urls) == 2 and dl.urls[0] != dl.urls[1]
        assert [e.route for e in sim.journal].count("common.download_url") == 1

    asyncio.run(main())


def test_stop_and_resume_watching(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            job = svc.submit(veo_text(model="veo3"))
            await wait_for(lambda: (j := svc.get(job.id)) is not None and j.task_id is not None)
            svc.stop_watching(job.id)
            stopped = await wait_final(svc, job)
            assert stopped.state is JobState.STOPPED
            n = len(sim.journal)
            await asyncio.sleep(0.5)  # 60 simulated seconds: no polls while stopped
            assert len(sim.journal) == n
            svc.resume_watching(job.id)
            assert svc.get(job.id).state in (JobState.QUEUED, JobState.RUNNING)  # type: ignore[union-attr]
            done = await wait_final(svc, job, 60)
            final_ok(done)
        assert len(creates(sim)) == 1

    asyncio.run(main())


def test_wait_timeout_counts_on_the_service_clock(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            job = svc.submit(veo_text(model="veo3"))  # at least 180 simulated seconds
            with pytest.raises(TimeoutError):
                await svc.wait(job.id, timeout=30)  # 30 simulated seconds = 0.25 s real
            assert not svc.get(job.id).is_final  # type: ignore[union-attr]

    asyncio.run(main())


def test_done_job_with_missing_file_downloads_again_on_start(harness: Harness, sim: Any) -> None:
    async def main() -> None:
        async with harness.service() as svc:
            done = await wait_final(svc, svc.submit(veo_text()))
            final_ok(done)
        assert done.file_path
        os.unlink(done.file_path)
        async with harness.service() as svc2:
            again = await wait_final(svc2, done)
            final_ok(again)
            assert again.file_path == done.file_path
            file_matches(sim, again)
        assert len(creates(sim)) == 1

    asyncio.run(main())


def test_crash_after_file_was_finalized_but_before_done(harness: Harness, sim: Any) -> None:
    """The file is complete under its name but the row still says DOWNLOADING: DONE, no refetch."""

    async def main() -> None:
        async with harness.service() as svc:
            done = await wait_final(svc, svc.submit(veo_text()))
            final_ok(done)
        store = TaskStore(harness.db)
        row = store.get(done.id)
        assert row is not None
        row.state = JobState.DOWNLOADING
        row.extra["owner"] = {"pid": 999_999_999, "token": "gone"}
        store.update(row)
        store.close()
        n_files = [e for e in sim.journal if e.origin == "files"]
        async with harness.service() as svc2:
            again = await wait_final(svc2, done)
            final_ok(again)
            assert again.file_path == done.file_path
            assert again.extra["sha256"] == done.extra["sha256"]
        assert [e for e in sim.journal if e.origin == "files"] == n_files

    asyncio.run(main())
