"""Fault soak: 100 tasks of every provider and mode through one in-process TaskService against
the simulator, with ~20% of the requests to every endpoint the service uses spoiled by a fault
of every kind the simulator knows.

The verdict for each job is computed from the simulator's journal, independently of the app:

* its create request(s), matched by the job's unique prompt, may repeat only after a 429;
* the LAST create request decides: an ambiguous fault (no usable answer: 5xx, reset, stall,
  unreadable body, truncated answer, accept-then-500/reset) -> UNCERTAIN, never resent; a
  definite refusal (455 maintenance, four 429s) -> FAILED, nothing billed; otherwise the task
  exists and must end DONE with a byte-identical file, or FAILED for the trigger words with the
  right message (REJECT: content filter, FAILGEN: generation failed);
* no job has two task-creating requests; nothing crashes (no "unexpected error" logged, no
  exception left in the event loop).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from relsupport import (
    CREATE_ROUTES,
    journal_creates_by_prompt,
    png,
    scaled_create_limiter,
    service_for,
    sha256,
    sha256_file,
)

from kievideo.api.http import HttpConfig
from kievideo.api.models import ProviderKind as P
from kievideo.core.jobs import Job, JobSpec, JobState, Mode
from kievideo.core.service import MESSAGES
from kievideo.sim import FaultSpec, SimConfig, SimServer

pytestmark = pytest.mark.reliability

SPEED = 600.0
FAULT_RATE = 0.20  # the target share of spoiled requests
RANDOM_RATE = 0.17  # from the random rules; the guaranteed first hits of each kind add the rest
N_TASKS = 100

GENERIC = (
    "http500",
    "http502",
    "http503",
    "code500",
    "code455",
    "rate429",
    "reset",
    "stall",
    "slow",
    "malformed_json",
    "html_error",
    "empty_body",
)
#: which fault kinds hit which routes (every kind somewhere; each group ~20% of its requests)
GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "create": (
        ("veo.generate", "runway.generate", "aleph.generate", "unified.create"),
        (*GENERIC, "truncate", "accept_then_500", "accept_then_reset"),
    ),
    "poll": (
        ("veo.record_info", "runway.record_detail", "aleph.record_info", "unified.query"),
        (*GENERIC, "truncate"),
    ),
    "upload": (("upload.stream",), (*GENERIC, "truncate")),
    # malformed_json / empty_body on the file host are a 200 that is no video: the Downloader
    # retries them (and never moves them into the library), see also test_bad_input
    "files": (("files.result",), (*GENERIC, "truncate")),
}
#: create answers that leave open whether the task was made: the job must end UNCERTAIN
AMBIGUOUS = frozenset(
    {
        "http500",
        "http502",
        "http503",
        "code500",
        "reset",
        "stall",
        "malformed_json",
        "html_error",
        "empty_body",
        "truncate",
        "accept_then_500",
        "accept_then_reset",
    }
)


def _kw(kind: str) -> dict[str, Any]:
    if kind == "stall":
        return {"seconds": 0.4}  # short: the connection is dropped after 0.4 s
    if kind == "slow":
        return {"seconds": 0.3}
    if kind in ("rate429", "http503"):
        return {"retry_after": 0}
    return {}


def fault_plan() -> list[FaultSpec]:
    """One guaranteed hit of every kind (on a route of a group that takes it, in turn), so that
    no kind goes untested by chance; then random rules spoiling ~RANDOM_RATE of each route's
    requests. The measured share is reported (retries add requests, faults add retries)."""
    specs: list[FaultSpec] = []
    groups = list(GROUPS.values())
    all_kinds = sorted({k for _, kinds in groups for k in kinds})
    for i, kind in enumerate(all_kinds):
        takers = [routes for routes, kinds in groups if kind in kinds]
        routes = takers[i % len(takers)]
        specs.append(FaultSpec(routes[i % len(routes)], kind, count=1, after=2 + i % 5, **_kw(kind)))
    for routes, kinds in groups:
        # one rule per (kind, route); together they fire on ~FAULT_RATE of a route's requests
        p = 1.0 - (1.0 - RANDOM_RATE) ** (1.0 / len(kinds))
        for kind in kinds:
            for route in routes:
                specs.append(FaultSpec(route, kind, rate=p, **_kw(kind)))
    return specs


def task_specs(tmp: Path, video_url: str, image_url: str) -> list[JobSpec]:
    specs: list[JobSpec] = []
    n = [0]

    def prompt(text: str) -> str:
        n[0] += 1
        return f"soak {n[0]:03d} {text}"

    def img() -> str:
        p = tmp / f"in-{n[0]}-{len(specs)}-{len(list(tmp.glob('in-*')))}.png"
        p.write_bytes(png(seed=len(specs) * 7 + len(list(tmp.glob("in-*")))))
        return str(p)

    veo_models = ("veo3_fast", "veo3", "veo3_lite")
    for i in range(30):
        word = " REJECT" if i < 4 else (" FAILGEN" if i < 7 else "")
        specs.append(JobSpec(P.VEO, veo_models[i % 3], prompt(f"a paper boat{word}")))
    for _ in range(10):
        specs.append(
            JobSpec(P.VEO, "veo3_fast", prompt("the photo comes alive"), mode=Mode.IMAGE, images=(img(),))
        )
    for _ in range(5):
        specs.append(
            JobSpec(P.VEO, "veo3", prompt("from dawn to dusk"), mode=Mode.FRAMES, images=(img(), img()))
        )
    for i in range(5):
        specs.append(
            JobSpec(
                P.VEO,
                "veo3_fast",
                prompt("keep these characters"),
                mode=Mode.REFERENCE,
                images=tuple(img() for _ in range(1 + i % 3)),
            )
        )
    for i in range(15):
        word = " REJECT" if i < 2 else (" FAILGEN" if i < 4 else "")
        specs.append(
            JobSpec(
                P.RUNWAY,
                "runway",
                prompt(f"a city at night{word}"),
                aspect_ratio="16:9",
                duration=(5, 10)[i % 2],
                quality="720p",
            )
        )
    for _ in range(8):
        specs.append(
            JobSpec(P.RUNWAY, "runway", prompt("the painting moves"), mode=Mode.IMAGE, images=(img(),))
        )
    for i in range(7):
        word = " REJECT" if i == 0 else ""
        specs.append(
            JobSpec(P.ALEPH, "aleph", prompt(f"make it winter{word}"), mode=Mode.VIDEO, video_url=video_url)
        )
    for i in range(15):
        word = " REJECT" if i < 2 else (" FAILGEN" if i < 4 else "")
        specs.append(
            JobSpec(
                P.UNIFIED, ("veo3.1-fast", "veo3-fast")[i % 2], prompt(f"a desert road{word}"), profile="agg"
            )
        )
    for _ in range(5):
        specs.append(
            JobSpec(
                P.UNIFIED,
                "veo3.1-fast",
                prompt("the sketch animates"),
                mode=Mode.IMAGE,
                images=(image_url,),
                profile="agg",
            )
        )
    assert len(specs) == N_TASKS
    return specs


class ErrorLog(logging.Handler):
    """Collects ERROR records of the app (an 'unexpected error' means a crash of a job task)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def expected_outcome(job: Job, requests: list[Any]) -> tuple[str, str]:
    """(expected state, why) from the journal alone."""
    if not requests:
        return "failed", "no create request: an image upload failed for good"
    for e in requests[:-1]:
        assert e.status == 429, f"{job.spec.prompt}: create repeated after {e.status}/{e.fault}"
    last = requests[-1]
    if last.fault in AMBIGUOUS:
        return "uncertain", f"create answered by {last.fault}"
    if last.fault == "code455":
        if last.route == "unified.create":
            # a unified gateway says "maintenance" with HTTP 503 and no body code: the app treats
            # every 5xx create answer as ambiguous (conservative: a manual check, never money)
            return "uncertain", "unified create answered HTTP 503 (maintenance)"
        return "failed", "create refused: maintenance (455)"
    if last.status == 429:
        return "failed", "create rate limited 4 times"
    assert last.create and last.task_id, (job.spec.prompt, last)
    if "REJECT" in job.spec.prompt:
        return "failed", "content"
    if "FAILGEN" in job.spec.prompt:
        return "failed", "generation_failed"
    return "done", "created"


def test_fault_soak_100_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures: dict[str, Any]
) -> None:
    scaled_create_limiter(monkeypatch, SPEED)
    errors = ErrorLog()
    logging.getLogger("kievideo").addHandler(errors)
    loop_errors: list[dict[str, Any]] = []
    http = HttpConfig(backoff_base=0.01, backoff_cap=0.05, retry_after_cap=0.05)
    work = tmp_path / "work"
    work.mkdir()
    try:
        with SimServer(SimConfig(speed=SPEED, seed=7, credits=1_000_000)) as sim:

            async def main() -> list[Job]:
                asyncio.get_running_loop().set_exception_handler(lambda _l, ctx: loop_errors.append(ctx))
                async with service_for(sim, work, speed=SPEED, http_config=http) as svc:
                    # clean warm-up: a source video for Aleph and an uploaded image for the unified API
                    src = svc.submit(JobSpec(P.VEO, "veo3_fast", "warm-up source clip"))
                    src = await asyncio.wait_for(svc.wait(src.id), 60)
                    assert src.state is JobState.DONE, src.error_message
                    pic = tmp_path / "unified.png"
                    pic.write_bytes(png(seed=999))
                    uploaded = await svc.registry.adapter("kie").upload(pic)
                    specs = task_specs(tmp_path, src.result_urls[0], uploaded.download_url)

                    sim.set_faults(fault_plan())
                    jobs = [svc.submit(s) for s in specs]
                    finals = await asyncio.wait_for(
                        asyncio.gather(*(svc.wait(j.id) for j in jobs)), timeout=200
                    )
                    sim.clear_faults()
                    return list(finals)

            jobs = asyncio.run(main())
            fired = Counter(e.fault for e in sim.journal if e.fault)
            group_of = {r: g for g, (routes, _) in GROUPS.items() for r in routes}
            per_group = Counter(group_of.get(e.route or "", "other") for e in sim.journal if e.fault)
            seen_group = Counter(group_of.get(e.route or "", "other") for e in sim.journal if e.route)
            requests_total = sum(1 for e in sim.journal if e.route not in (None, "common.credit"))
            by_prompt = journal_creates_by_prompt(sim, CREATE_ROUTES)
            created = Counter(str(e.body.get("prompt")) for e in sim.creates() if isinstance(e.body, dict))

            outcome: Counter[str] = Counter()
            mismatches: list[str] = []
            for job in jobs:
                want, why = expected_outcome(job, by_prompt.get(job.spec.prompt, []))
                got = job.state.value
                outcome[got] += 1
                if got != want:
                    mismatches.append(
                        f"{job.spec.prompt!r}: {got} ({job.error_message}), expected {want}: {why}"
                    )
                    continue
                msg = job.error_message or ""
                if want == "done":
                    assert job.file_path and sha256_file(Path(job.file_path)) == sha256(
                        sim.file_bytes(job.result_urls[0])
                    ), job.spec.prompt
                    assert not Path(job.file_path + ".part").exists()
                elif want == "uncertain":
                    assert job.task_id is None and "may have been submitted" in msg, msg
                elif why in ("content", "generation_failed"):
                    assert msg == MESSAGES[why], (job.spec.prompt, msg)
                    assert job.task_id
                elif "maintenance" in why:
                    assert "maintenance" in msg.lower() and not job.task_id, msg
                elif "rate limited" in why:
                    assert msg == MESSAGES["rate_limited"], msg
                else:
                    assert "could not be uploaded" in msg and "Nothing was sent" in msg, msg
            assert not mismatches, "\n".join(mismatches)
            twice = {p: c for p, c in created.items() if c > 1}
            assert not twice, f"created twice: {twice}"
            assert sum(created.values()) <= N_TASKS + 1  # + the warm-up clip
            kinds_hit = set(fired)
            all_kinds = {k for _, kinds in GROUPS.values() for k in kinds}
            assert kinds_hit == all_kinds, f"kinds that never fired: {sorted(all_kinds - kinds_hit)}"
            crash = [
                r.getMessage()
                for r in errors.records
                if "unexpected" in r.getMessage() or "pipeline failed" in r.getMessage()
            ]
            assert not crash, crash
            assert not loop_errors, loop_errors
            uncertain_ok = [j for j in jobs if j.state is JobState.UNCERTAIN]
            faulted_requests = sum(fired.values())
    finally:
        logging.getLogger("kievideo").removeHandler(errors)
    figures.update(
        tasks=N_TASKS,
        requests=requests_total,
        faults_injected=faulted_requests,
        fault_share=round(faulted_requests / max(1, requests_total), 3),
        faults_by_kind=dict(sorted(fired.items())),
        faults_by_endpoint_group={g: f"{per_group[g]}/{seen_group[g]}" for g in GROUPS},
        final_states=dict(outcome),
        uncertain=len(uncertain_ok),
        creates=sum(created.values()) - 1,
        duplicate_creates=0,
        error_log_records=len(errors.records),
    )
