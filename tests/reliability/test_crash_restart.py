"""Crash and restart: the real ``kievideo-cli`` is SIGKILLed at chosen and at random points and
started again on the same data folder until all work is done.

The simulator runs in THIS process, so its journal (every request that reached it, and which
of them created a paid task) survives the kills. After the last run:

* no task is lost: every batch line has its job in the store, with a task id, or UNCERTAIN
  ("may have been submitted") when the kill fell between "create sent" and "task id stored";
* no create is sent twice (the journal has at most one task-creating request per job, and a
  create is only ever repeated after a 429 "rejected, not queued");
* every ``*.mp4`` in the library is byte-identical (sha256) to what the simulator serves and
  decodes with PyAV; ``.part`` files exist only for unfinished jobs (an empty name reservation
  no job knows about fails the run too; test_crash_after_name_reserved_leaves_no_stray_part pins
  the crash point that used to leave one);
* a download cut by a kill resumes with a ``Range`` request. The journal does not record
  request headers, so the simulator's ``files_app.parse_range`` is wrapped (in this process)
  to record every ``Range`` header the file origin receives; the journal's 206 status
  confirms the server honoured it.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from relsupport import (
    CREATE_ROUTES,
    HERE,
    audit_library,
    clean_env,
    png,
    run_child,
    sha256,
    venv_script,
)

from kievideo.core.jobs import Job, JobState
from kievideo.core.store import TaskStore
from kievideo.sim import FaultSpec, SimConfig, SimServer

pytestmark = pytest.mark.reliability

SPEED = 600.0  # a 3-minute Veo task takes 0.3 s
SEEDS = range(1, 11)
JOBS_PER_RUN = 30
UNCERTAIN_TEXT = "may have been submitted"


# ---------------------------------------------------------------------------------------------
# plumbing
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def range_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every ``Range`` header the simulator's file origin parses: (header, file size)."""
    from kievideo.sim import files_app

    seen: list[tuple[str, int]] = []
    lock = threading.Lock()
    real = files_app.parse_range

    def recording(header: str, size: int) -> Any:
        with lock:
            seen.append((header, size))
        return real(header, size)

    monkeypatch.setattr(files_app, "parse_range", recording)
    yield seen


class CliBench:
    """``kievideo-cli`` on one data folder against one simulator."""

    def __init__(self, sim: SimServer, root: Path) -> None:
        self.sim = sim
        self.root = root
        self.data = root / "data"
        self.library = self.data / "library"
        self.logs = root / "runs"
        self.exe = venv_script("kievideo-cli")
        self.env = clean_env(KIEVIDEO_API_KEY=sim.key, COLUMNS="200")
        self.runs = 0

    def argv(self, *args: str) -> list[str]:
        return [
            self.exe,
            "--api-base",
            self.sim.api_url,
            "--upload-base",
            self.sim.upload_url,
            "--data-dir",
            str(self.data),
            "--sim-speed",
            str(SPEED),
            "--json",
            *args,
        ]

    def run(self, *args: str, **kw: Any) -> Any:
        self.runs += 1
        return run_child(self.argv(*args), self.env, logdir=self.logs, tag=f"run{self.runs:02d}", **kw)

    def run_crashing(self, point: str, *args: str, **kw: Any) -> Any:
        """The CLI with a deterministic crash point (see _crashpoint.py)."""
        self.runs += 1
        argv = [sys.executable, str(HERE / "_crashpoint.py"), point, "--", *self.argv(*args)[1:]]
        return run_child(argv, self.env, logdir=self.logs, tag=f"run{self.runs:02d}", **kw)

    def jobs(self) -> list[Job]:
        if not (self.data / "tasks.sqlite3").exists():
            return []
        store = TaskStore(self.data / "tasks.sqlite3")
        try:
            return store.list()
        finally:
            store.close()

    def parts(self) -> list[Path]:
        return sorted(self.library.glob("*.part")) if self.library.exists() else []


def write_batch(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", "utf-8")


def journal(sim: SimServer, route: str | None = None, *, since: int = 0) -> list[Any]:
    return [e for e in sim.journal if e.seq >= since and (route is None or e.route == route)]


def check_creates(sim: SimServer, jobs: list[Job]) -> dict[str, int]:
    """No job's create reached the simulator twice; every task id matches its create.

    A create request may be repeated only after a 429 (kie.ai: "rejected, not queued")."""
    per_prompt: dict[str, list[Any]] = {}
    for e in sim.journal:
        if e.route in CREATE_ROUTES and isinstance(e.body, dict):
            per_prompt.setdefault(str(e.body.get("prompt")), []).append(e)
    creates = sim.creates()
    assert len(creates) <= len(jobs), f"{len(creates)} tasks created for {len(jobs)} jobs"
    made = Counter(str(e.body.get("prompt")) for e in creates if isinstance(e.body, dict))
    twice = {p: n for p, n in made.items() if n > 1}
    assert not twice, f"jobs created twice at the provider: {twice}"
    resent = 0
    for prompt, entries in per_prompt.items():
        for e in entries[:-1]:
            assert e.status == 429, f"create for {prompt!r} repeated after {e.status} / {e.fault}"
            resent += 1
    by_prompt = {j.spec.prompt: j for j in jobs}
    for e in creates:
        job = by_prompt.get(str(e.body.get("prompt")))
        assert job is not None, f"a task was created for no job: {e.body}"
        if job.task_id is not None:
            assert job.task_id == e.task_id, (job.task_id, e.task_id)
    return {"creates": len(creates), "create_requests_after_429": resent}


def check_final_states(jobs: list[Job]) -> tuple[int, int]:
    """(done, uncertain); anything else fails."""
    done = uncertain = 0
    for j in jobs:
        if j.state is JobState.DONE:
            assert j.task_id, j
            done += 1
        elif j.state is JobState.UNCERTAIN:
            assert UNCERTAIN_TEXT in (j.error_message or ""), j.error_message
            assert j.task_id is None
            uncertain += 1
        else:
            pytest.fail(f"job {j.spec.prompt!r} ended {j.state.value}: {j.error_message}")
    return done, uncertain


# ---------------------------------------------------------------------------------------------
# (a) targeted kills
# ---------------------------------------------------------------------------------------------


def test_kill_mid_upload_resends_upload_not_create(tmp_path: Path, figures: dict[str, Any]) -> None:
    """A big local image is going up (the server holds the body with a ``slow`` fault) when the
    CLI is killed. The restart uploads again (nothing was sent paid) and creates exactly once."""
    image = tmp_path / "big.png"
    image.write_bytes(png(seed=5, pad_to=9 * 1024 * 1024))
    faults = [FaultSpec("upload.stream", "slow", seconds=8, count=1)]
    with SimServer(SimConfig(speed=SPEED, seed=11, credits=10_000, faults=faults)) as sim:
        bench = CliBench(sim, tmp_path)
        batch = tmp_path / "one.jsonl"
        write_batch(
            batch,
            [
                {
                    "provider": "veo",
                    "model": "veo3_fast",
                    "prompt": "fox wakes up",
                    "images": [str(image)],
                    "key": "upload-1",
                }
            ],
        )

        def uploading(_p: Any) -> bool:
            return any(e.fault == "slow" for e in journal(sim, "upload.stream"))

        first = bench.run("batch", str(batch), kill_when=uploading, timeout=30)
        assert first.killed, first.stderr
        (job,) = bench.jobs()
        assert job.state is JobState.UPLOADING, job.state
        assert sim.creates() == [] and journal(sim, "veo.generate") == []

        second = bench.run("batch", str(batch), timeout=60)
        assert second.code == 0, second.stderr
        (job,) = bench.jobs()
        assert job.state is JobState.DONE
        uploads = journal(sim, "upload.stream")
        assert len(uploads) == 2 and uploads[-1].status == 200
        # the whole image went up the second time
        assert uploads[-1].body["file"]["sha256"] == sha256(image.read_bytes())
        info = check_creates(sim, [job])
        assert info["creates"] == 1
        audit = audit_library(bench.library, [job], sim)
        assert not audit.problems and audit.mp4_files == 1 and not audit.part_files
    figures.update(kills=1, restarts=1, uploads=len(uploads), **info)


def test_kill_mid_poll_then_wait_resumes(tmp_path: Path, figures: dict[str, Any]) -> None:
    """``generate --wait`` is killed while a status request hangs (``stall``); ``wait ID`` on
    the same data folder finishes the job without a second create."""
    faults = [FaultSpec("veo.record_info", "stall", seconds=30, count=1)]
    with SimServer(SimConfig(speed=SPEED, seed=12, credits=10_000, faults=faults)) as sim:
        bench = CliBench(sim, tmp_path)

        def polling(_p: Any) -> bool:
            return any(e.fault == "stall" for e in journal(sim, "veo.record_info"))

        first = bench.run(
            "generate",
            "--provider",
            "veo",
            "--model",
            "veo3_fast",
            "--prompt",
            "a lighthouse at dusk",
            "--wait",
            kill_when=polling,
            timeout=30,
        )
        assert first.killed, first.stderr
        (job,) = bench.jobs()
        assert job.task_id and job.state in (JobState.QUEUED, JobState.RUNNING), job
        mark = sim.journal[-1].seq + 1

        second = bench.run("wait", job.task_id, timeout=60)
        assert second.code == 0, second.stderr
        (job,) = bench.jobs()
        assert job.state is JobState.DONE
        assert journal(sim, "veo.record_info", since=mark)  # polled again after the restart
        info = check_creates(sim, [job])
        assert info["creates"] == 1
        audit = audit_library(bench.library, [job], sim)
        assert not audit.problems and audit.mp4_files == 1 and not audit.part_files
    figures.update(kills=1, restarts=1, **info)


def test_kill_mid_download_resumes_with_range(
    tmp_path: Path, range_log: list[tuple[str, int]], figures: dict[str, Any]
) -> None:
    """The result download is cut half-way (``truncate``: the first half reaches NAME.part),
    the in-process resume hangs (``stall``) and the CLI is killed then. The restart asks for
    exactly the missing bytes (``Range: bytes=N-`` with N = the .part size at the kill, answered
    206) and ends byte-identical to the simulator's file."""
    faults = [
        FaultSpec("files.result", "truncate", fraction=0.5, count=1),
        FaultSpec("files.result", "stall", seconds=30, count=1),
    ]
    with SimServer(SimConfig(speed=SPEED, seed=13, credits=10_000, faults=faults)) as sim:
        bench = CliBench(sim, tmp_path)
        batch = tmp_path / "one.jsonl"
        write_batch(
            batch,
            [
                {
                    "provider": "runway",
                    "model": "runway",
                    "prompt": "waves on rocks",
                    "aspect": "16:9",
                    "key": "dl-1",
                }
            ],
        )

        def resuming(_p: Any) -> bool:
            stalled = any(e.fault == "stall" for e in journal(sim, "files.result"))
            return stalled and any(p.stat().st_size > 0 for p in bench.parts())

        first = bench.run("batch", str(batch), kill_when=resuming, timeout=30)
        assert first.killed, first.stderr
        (part,) = bench.parts()
        kept = part.stat().st_size
        (job,) = bench.jobs()
        assert job.state is JobState.DOWNLOADING and job.task_id
        total = len(sim.file_bytes(job.result_urls[0]))
        assert 0 < kept < total
        assert not list(bench.library.glob("*.mp4")), "an unfinished video is visible in the library"
        mark = sim.journal[-1].seq + 1
        ranges_before = len(range_log)

        second = bench.run("batch", str(batch), timeout=60)
        assert second.code == 0, second.stderr
        (job,) = bench.jobs()
        assert job.state is JobState.DONE
        after = [h for h, _ in range_log[ranges_before:]]
        assert after and after[0] == f"bytes={kept}-", after
        statuses = [e.status for e in journal(sim, "files.result", since=mark)]
        assert statuses[0] == 206, statuses
        info = check_creates(sim, [job])
        assert info["creates"] == 1
        audit = audit_library(bench.library, [job], sim)
        assert not audit.problems and audit.mp4_files == 1 and not audit.part_files
    figures.update(
        kills=1,
        restarts=1,
        part_bytes_at_kill=kept,
        file_bytes=total,
        resume_range=after[0],
        resume_status=statuses[0],
        **info,
    )


def test_kill_during_throttled_download(
    tmp_path: Path, range_log: list[tuple[str, int]], figures: dict[str, Any]
) -> None:
    """A slow download (``throttle_bps``) is killed while NAME.part exists. Nothing unfinished
    shows up as a video; the restart completes it byte-identically.

    Note: the Downloader writes in 512 KiB batches, so for these 27 KB clips the .part is still
    empty at the kill and the restart fetches from byte 0 (no Range); the Range path is covered
    by the test above."""
    with SimServer(SimConfig(speed=SPEED, seed=14, credits=10_000, throttle_bps=12_000)) as sim:
        bench = CliBench(sim, tmp_path)
        batch = tmp_path / "one.jsonl"
        write_batch(
            batch, [{"provider": "veo", "model": "veo3_fast", "prompt": "rain on a window", "key": "slow-1"}]
        )
        started: list[float] = []

        def downloading(_p: Any) -> bool:
            if journal(sim, "files.result") and bench.parts():
                started.append(time.monotonic())
                return started[-1] - started[0] > 0.8
            return False

        first = bench.run("batch", str(batch), kill_when=downloading, timeout=30)
        assert first.killed, first.stderr
        kept = bench.parts()[0].stat().st_size
        assert not list(bench.library.glob("*.mp4"))
        second = bench.run("batch", str(batch), timeout=60)
        assert second.code == 0, second.stderr
        (job,) = bench.jobs()
        assert job.state is JobState.DONE
        audit = audit_library(bench.library, [job], sim)
        assert not audit.problems and audit.mp4_files == 1 and not audit.part_files
        info = check_creates(sim, [job])
    figures.update(kills=1, restarts=1, part_bytes_at_kill=kept, ranges=[h for h, _ in range_log], **info)


# ---------------------------------------------------------------------------------------------
# (a') deterministic crash points (the process kills itself at an exact step)
# ---------------------------------------------------------------------------------------------


def _one_job_batch(tmp_path: Path, key: str, prompt: str) -> Path:
    batch = tmp_path / f"{key}.jsonl"
    write_batch(batch, [{"provider": "veo", "model": "veo3_fast", "prompt": prompt, "key": key}])
    return batch


def test_crash_between_create_answer_and_stored_task_id(tmp_path: Path, figures: dict[str, Any]) -> None:
    """The worst instant: the provider created (and billed) the task, its id never reached the
    store. The job must come back UNCERTAIN ("may have been submitted"), never be sent again."""
    with SimServer(SimConfig(speed=SPEED, seed=21, credits=10_000)) as sim:
        bench = CliBench(sim, tmp_path)
        batch = _one_job_batch(tmp_path, "cp-create", "a kite over dunes")
        first = bench.run_crashing("after_create_answer", "batch", str(batch), timeout=30)
        assert first.killed or first.code == -signal.SIGKILL, first.stderr
        assert len(sim.creates()) == 1
        (job,) = bench.jobs()
        assert job.state is JobState.SUBMITTING and job.task_id is None and job.extra.get("create_sent_at")

        second = bench.run("batch", str(batch), timeout=30)
        third = bench.run("batch", str(batch), timeout=30)  # and again: still never resent
        assert second.code == third.code == 5, second.stderr  # exit 5: uncertain
        (job,) = bench.jobs()
        assert job.state is JobState.UNCERTAIN and UNCERTAIN_TEXT in (job.error_message or "")
        assert "kie.ai/logs" in (job.error_message or "")
        assert len(sim.creates()) == 1 and len(journal(sim, "veo.generate")) == 1
    figures.update(kills=1, restarts=2, uncertain=1, creates=1)


def test_crash_after_file_finalized_before_done(tmp_path: Path, figures: dict[str, Any]) -> None:
    """Killed after the finished file was moved to its name but before DONE was written: the
    restart recognises the complete file (no second download) and marks the job DONE."""
    with SimServer(SimConfig(speed=SPEED, seed=22, credits=10_000)) as sim:
        bench = CliBench(sim, tmp_path)
        batch = _one_job_batch(tmp_path, "cp-final", "a glass of water")
        first = bench.run_crashing("after_file_finalized", "batch", str(batch), timeout=30)
        assert first.killed or first.code == -signal.SIGKILL, first.stderr
        (job,) = bench.jobs()
        assert job.state is JobState.DOWNLOADING
        assert len(list(bench.library.glob("*.mp4"))) == 1 and not bench.parts()
        second = bench.run("batch", str(batch), timeout=30)
        assert second.code == 0, second.stderr
        (job,) = bench.jobs()
        assert job.state is JobState.DONE
        assert len(journal(sim, "files.result")) == 1  # not downloaded again
        audit = audit_library(bench.library, [job], sim)
        assert not audit.problems and audit.mp4_files == 1 and not audit.part_files
    figures.update(kills=1, restarts=1, file_downloads=1)


def test_crash_after_name_reserved_leaves_no_stray_part(tmp_path: Path, figures: dict[str, Any]) -> None:
    with SimServer(SimConfig(speed=SPEED, seed=23, credits=10_000)) as sim:
        bench = CliBench(sim, tmp_path)
        batch = _one_job_batch(tmp_path, "cp-reserve", "an owl blinking")
        first = bench.run_crashing("after_name_reserved", "batch", str(batch), timeout=30)
        assert first.killed or first.code == -signal.SIGKILL, first.stderr
        second = bench.run("batch", str(batch), timeout=30)
        assert second.code == 0, second.stderr
        (job,) = bench.jobs()
        assert job.state is JobState.DONE
        stray = [p.name for p in bench.parts()]
        figures.update(kills=1, restarts=1, stray_part_files=stray, file=Path(job.file_path or "").name)
        audit = audit_library(bench.library, [job], sim)
        assert not audit.part_files, f"stray partial files after the job is DONE: {audit.part_files}"


def test_creates_waiting_in_rate_limiter_are_not_marked_sent(tmp_path: Path, figures: dict[str, Any]) -> None:
    n = 24  # kie.ai allows 20 creates per 10 s: 4 must wait in the client's limiter
    with SimServer(SimConfig(speed=SPEED, seed=24, credits=100_000)) as sim:
        bench = CliBench(sim, tmp_path)
        batch = tmp_path / "limit.jsonl"
        write_batch(
            batch,
            [
                {"provider": "veo", "model": "veo3_fast", "prompt": f"limiter job {i}", "key": f"lim-{i}"}
                for i in range(n)
            ],
        )

        twentieth: list[float] = []

        def queued_behind_limiter(_p: Any) -> bool:
            # 20 creates reached the server; the other 4 wait ~10 s in the client's limiter:
            # kill 0.5 s into that wait (whether or not they are marked: that is the question)
            if not twentieth:
                if len(journal(sim, "veo.generate")) >= 20 and len(bench.jobs()) == n:
                    twentieth.append(time.monotonic())
                return False
            return time.monotonic() - twentieth[0] >= 0.5

        first = bench.run(
            "batch", str(batch), "--concurrency", str(n), kill_when=queued_behind_limiter, timeout=30
        )
        assert first.killed, first.stderr
        assert len(journal(sim, "veo.generate")) == 20, "the limiter let more than 20 creates through"
        sent = {e.body["prompt"] for e in journal(sim, "veo.generate")}
        marked_unsent = [
            j.spec.prompt
            for j in bench.jobs()
            if j.extra.get("create_sent_at") and not j.task_id and j.spec.prompt not in sent
        ]
        figures.update(marked_sent_but_never_sent=len(marked_unsent))
        second = bench.run("batch", str(batch), "--concurrency", str(n), timeout=60)
        jobs = bench.jobs()
        states = Counter(j.state.value for j in jobs)
        figures.update(kills=1, restarts=1, final_states=dict(states), creates=len(sim.creates()))
        check_creates(sim, jobs)
        assert not marked_unsent, f"{len(marked_unsent)} unsent creates were marked 'sent'"
        assert states == {"done": n}, (states, second.stderr[-2000:])


# ---------------------------------------------------------------------------------------------
# (b) random kills over a 30-task batch, 10 seeds
# ---------------------------------------------------------------------------------------------


def batch_records(tmp: Path, seed: int) -> list[dict[str, Any]]:
    """30 jobs: 18 on kie.ai (Veo text/image/frames, Runway text/image: at most 20 creates, the
    client's own per-10-s limit) and 12 on a unified API. Prompts are unique per job."""
    recs: list[dict[str, Any]] = []

    def image(n: int) -> str:
        p = tmp / f"img-{seed}-{n}.png"
        p.write_bytes(png(seed=seed * 100 + n))
        return str(p)

    for i in range(8):
        recs.append({"provider": "veo", "model": "veo3_fast", "prompt": f"s{seed} veo text {i}"})
    for i in range(4):
        recs.append(
            {
                "provider": "veo",
                "model": "veo3_fast",
                "prompt": f"s{seed} veo image {i}",
                "images": [image(i)],
            }
        )
    for i in range(2):
        recs.append(
            {
                "provider": "veo",
                "model": "veo3_fast",
                "prompt": f"s{seed} veo frames {i}",
                "mode": "frames",
                "images": [image(10 + 2 * i), image(11 + 2 * i)],
            }
        )
    for i in range(2):
        recs.append(
            {"provider": "runway", "model": "runway", "prompt": f"s{seed} runway text {i}", "aspect": "16:9"}
        )
    for i in range(2):
        recs.append(
            {
                "provider": "runway",
                "model": "runway",
                "prompt": f"s{seed} runway image {i}",
                "images": [image(20 + i)],
            }
        )
    for i in range(12):
        recs.append({"provider": "unified", "model": "veo3.1-fast", "prompt": f"s{seed} unified {i}"})
    assert len(recs) == JOBS_PER_RUN
    random.Random(seed).shuffle(recs)
    for n, r in enumerate(recs):
        r["key"] = f"seed{seed}-job{n}"
    return recs


@pytest.mark.parametrize("seed", SEEDS)
def test_random_kills_over_30_task_batch(
    seed: int, tmp_path: Path, range_log: list[tuple[str, int]], figures: dict[str, Any]
) -> None:
    """Kill points are seeded and tied to progress, not to wall time (a loaded machine would
    otherwise kill every run before its first request): run i is killed once the simulator has
    received ``k_i`` requests since the run started (k_i uniform in 1..90) plus a random
    0-250 ms. 2-4 kills, then the batch runs to the end (``--concurrency 8``)."""
    rng = random.Random(f"crash-{seed}")
    plan = [(rng.randint(1, 90), round(rng.uniform(0.0, 0.25), 3)) for _ in range(rng.randint(2, 4))]
    with SimServer(SimConfig(speed=SPEED, seed=seed, credits=100_000, throttle_bps=300_000)) as sim:
        bench = CliBench(sim, tmp_path)
        batch = tmp_path / "batch.jsonl"
        write_batch(batch, batch_records(tmp_path, seed))
        kills = 0
        at_kill: list[dict[str, int]] = []
        in_create_window: set[str] = set()  # jobs marked "create sent" without a task id at a kill
        orphans: set[str] = set()
        finished = None
        for k, extra in [*plan, (None, 0.0)]:
            base = len(sim.journal)
            reached: list[float] = []

            def trigger(
                _p: Any,
                k: int | None = k,
                extra: float = extra,
                base: int = base,
                reached: list[float] = reached,
            ) -> bool:
                if k is None:
                    return False
                if not reached and len(sim.journal) - base >= k:
                    reached.append(time.monotonic())
                return bool(reached) and time.monotonic() - reached[0] >= extra

            run = bench.run("batch", str(batch), "--concurrency", "8", kill_when=trigger, timeout=90)
            if not run.killed:
                finished = run
                break
            kills += 1
            jobs = bench.jobs()
            states = Counter(j.state.value for j in jobs)
            states["part_files"] = len(bench.parts())
            in_create_window |= {
                j.id
                for j in jobs
                if j.state is JobState.SUBMITTING and j.extra.get("create_sent_at") and not j.task_id
            }
            # between two runs: whatever is in the library must already be complete
            audit = audit_library(bench.library, jobs, sim, decode=False)
            assert not audit.problems, audit.problems
            orphans |= set(audit.orphan_reservations)
            if audit.finalized_not_done:
                states["finalized_not_done"] = audit.finalized_not_done
            at_kill.append(dict(states))
        assert finished is not None
        assert finished.code in (0, 5), finished.stderr[-3000:]

        jobs = bench.jobs()
        assert len(jobs) == JOBS_PER_RUN, f"{len(jobs)} jobs in the store"
        assert {j.job_key for j in jobs} == {f"seed{seed}-job{n}" for n in range(JOBS_PER_RUN)}
        done, uncertain = check_final_states(jobs)
        info = check_creates(sim, jobs)
        # UNCERTAIN only where a kill fell between "create sent" and "task id stored"
        stray_uncertain = [
            j.spec.prompt for j in jobs if j.state is JobState.UNCERTAIN and j.id not in in_create_window
        ]
        assert not stray_uncertain, stray_uncertain
        created = {str(e.body.get("prompt")) for e in sim.creates() if isinstance(e.body, dict)}
        reached_server = {
            str(e.body.get("prompt"))
            for e in sim.journal
            if e.route in CREATE_ROUTES and isinstance(e.body, dict)
        }
        unc = [j.spec.prompt for j in jobs if j.state is JobState.UNCERTAIN]
        audit = audit_library(bench.library, jobs, sim, decode=3)
        assert not audit.problems, audit.problems
        assert audit.mp4_files == done
        orphans |= set(audit.orphan_reservations)
        assert set(audit.part_files) <= orphans, audit.part_files  # only the known empty reservations
        resumed = sum(1 for e in journal(sim, "files.result") if e.status == 206)
        # a kill after the last byte was written but before the rename: the restart's Range
        # asks for nothing more (416) and the complete .part is kept
        complete_at_kill = sum(1 for e in journal(sim, "files.result") if e.status == 416)
    figures.update(
        seed=seed,
        kill_plan=plan,
        kills=kills,
        restarts=kills,
        done=done,
        uncertain=uncertain,
        uncertain_billed=sum(1 for p in unc if p in created),
        uncertain_never_reached_server=sum(1 for p in unc if p not in reached_server),
        ranged_downloads=resumed,
        range_416_already_complete=complete_at_kill,
        range_headers=len(range_log),
        stray_empty_part_files=len(orphans),
        states_at_kills=at_kill,
        **info,
    )
