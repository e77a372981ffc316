"""PollScheduler on a FakeClock: budget, fairness, deadlines, Retry-After, and the latency/requests
simulation against a fixed 10-second poller."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import random
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from kievideo.api.errors import RateLimitError, ServerError
from kievideo.api.models import ProviderKind
from kievideo.core.clock import FakeClock
from kievideo.core.jobs import JobKind, JobSpec, Mode
from kievideo.core.scheduler import (
    DURATIONS,
    DurationModel,
    PollPolicy,
    PollScheduler,
    TokenBucket,
    deadline_for,
    duration_key,
    prior_for,
)
from kievideo.core.settings import ServiceSettings

# --------------------------------------------------------------------------------------------
# A tiny discrete-event driver: advance the FakeClock to the next sleeper, let the loop settle.
# --------------------------------------------------------------------------------------------


async def settle(rounds: int = 40) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def drive(
    clock: FakeClock,
    until: Callable[[], bool],
    *,
    events: list[tuple[float, Callable[[], None]]] | None = None,
    horizon: float = 10 * 3600.0,
) -> None:
    """Run until ``until()``; ``events`` are (monotonic time, action) to fire on the way."""
    pending = sorted(events or [], key=lambda e: e[0])
    start = clock.monotonic()
    await settle()
    while not until():
        now = clock.monotonic()
        while pending and pending[0][0] <= now:
            pending.pop(0)[1]()
            await settle()
        nxt = clock.next_deadline
        candidates = [d for d in (nxt,) if d is not None]
        if pending:
            candidates.append(max(0.0, pending[0][0] - now))
        if not candidates:
            await settle()
            if clock.next_deadline is None and not pending:
                raise AssertionError("nothing is scheduled but the run is not finished")
            continue
        step = min(candidates)
        clock.advance(step)
        await settle()
        if clock.monotonic() - start > horizon:
            raise AssertionError("simulation ran past its horizon")


@dataclass
class FakeJob:
    """A remote task that finishes (or fails) at a known time."""

    created: float  # wall
    duration: float
    key: str
    seen_at: float | None = None
    requests: list[float] = field(default_factory=list)


def make_poll(
    clock: FakeClock, job: FakeJob, log: list[float] | None = None
) -> Callable[[], Awaitable[bool]]:
    async def poll() -> bool:
        now = clock.time()
        job.requests.append(now)
        if log is not None:
            log.append(clock.monotonic())
        if now >= job.created + job.duration:
            job.seen_at = now
            return True
        return False

    return poll


def fixed_poller_requests(duration: float, interval: float = 10.0) -> int:
    """Requests a fixed poller (first poll one interval after the create) needs to see it done."""
    return max(1, math.ceil(duration / interval - 1e-9))


# --------------------------------------------------------------------------------------------
# Unit pieces
# --------------------------------------------------------------------------------------------


def test_duration_model_uniform_and_quantiles() -> None:
    m = DurationModel.uniform(90, 240)
    assert m.quantile(0) == 90 and m.quantile(1) == 240
    assert m.quantile(0.5) == pytest.approx(165)
    assert m.cdf(165) == pytest.approx(0.5)
    # inverse hazard of a uniform is the time left to the max
    assert m.inverse_hazard(200) == pytest.approx(40, rel=0.02)
    assert m.inverse_hazard(300) == 0.0


def test_duration_model_learns_from_samples_and_falls_back_to_prior() -> None:
    prior = DURATIONS["veo3_fast"]
    few = DurationModel.from_samples([100, 110], prior)
    assert (few.lo, few.hi) == (prior[0], prior[2])
    samples = [120 + i for i in range(20)]
    learned = DurationModel.from_samples(samples, prior)
    assert 115 < learned.lo < 121 and 139 < learned.hi < 142
    assert learned.quantile(0.5) == pytest.approx(129.5, abs=1.0)


def test_policy_shape_early_then_sparse_then_dense_then_backoff() -> None:
    pol = PollPolicy()
    m = DurationModel.triangular(90, 150, 240)
    assert pol.next_delay(0, m) == pytest.approx(20)  # the early check
    start = m.quantile(pol.start_q)
    assert pol.next_delay(20, m) == pytest.approx(start - 20)  # nothing until the 30th percentile
    dense = m.quantile(pol.dense_q)
    assert start < dense
    sparse = pol.next_delay(start, m)
    assert pol.floor < sparse <= dense - start + 1e-9  # sparse, but never past the dense window
    assert pol.next_delay(dense, m) == pytest.approx(pol.floor)  # from the median: dense
    assert pol.next_delay(235, m) == pytest.approx(pol.floor)  # up to the longest plausible time
    over = [pol.next_delay(240 + x, m) for x in (0, 20, 60, 200)]
    assert over == sorted(over) and over[-1] == pol.max_interval


def test_triangular_model_puts_the_mass_near_the_typical_time() -> None:
    m = DurationModel.triangular(90, 150, 240)
    assert (m.lo, m.hi) == (90, 240)
    assert m.cdf(150) == pytest.approx(60 / 150, abs=0.01)  # (mode - lo) / (hi - lo)
    assert m.quantile(0.5) == pytest.approx(240 - math.sqrt(0.5 * 150 * 90), abs=0.5)
    assert m.inverse_hazard(200) < m.inverse_hazard(120)


def test_priors_include_the_queue_and_the_upscale() -> None:
    veo = JobSpec(ProviderKind.VEO, "veo3_fast", "p")
    lo, typ, hi = prior_for(veo)
    assert (lo, typ, hi) == (92.0, 156.0, 250.0)  # generation + the 2-10 s queue
    assert prior_for(veo.with_(quality="1080p"))[1] == typ + DURATIONS["1080p"][1]
    assert prior_for(veo, JobKind.UPGRADE_1080P) == DURATIONS["1080p"]  # no queue for upgrades
    uni = JobSpec(ProviderKind.UNIFIED, "veo3-fast", "p", profile="agg")
    assert prior_for(uni)[0] == DURATIONS["veo3_fast"][0] + 3.0
    assert prior_for(uni.with_(upsample=True))[2] == prior_for(uni)[2] + DURATIONS["1080p"][2]


def test_tables() -> None:
    veo = JobSpec(ProviderKind.VEO, "veo3_fast", "p")
    assert duration_key(veo) == "veo3_fast"
    assert duration_key(veo, JobKind.UPGRADE_4K) == "4k"
    assert prior_for(veo.with_(quality="4k"))[0] == DURATIONS["veo3_fast"][0] + 2.0 + DURATIONS["4k"][0]
    run10 = JobSpec(ProviderKind.RUNWAY, "runway", "p", aspect_ratio="16:9", duration=10)
    assert duration_key(run10) == "runway:10"
    s = ServiceSettings()
    assert deadline_for(veo, JobKind.GENERATE, s) == 15 * 60
    assert deadline_for(veo, JobKind.UPGRADE_4K, s) == 30 * 60
    assert deadline_for(veo, JobKind.EXTEND, s) == 30 * 60
    uni = JobSpec(ProviderKind.UNIFIED, "veo3.1-fast", "p", mode=Mode.TEXT)
    assert duration_key(uni) == "veo3_fast"  # the unified API serves Veo
    assert duration_key(uni.with_(model="veo3")) == "veo3"


def test_token_bucket_rate_and_pause() -> None:
    async def main() -> None:
        clock = FakeClock()
        b = TokenBucket(clock, rate=4, burst=8)
        assert all(b.try_acquire() for _ in range(8))
        assert not b.try_acquire()
        assert b.wait_time() == pytest.approx(0.25)
        clock.advance(0.25)
        assert b.try_acquire()
        b.pause(7)
        clock.advance(6.9)
        assert not b.try_acquire()
        clock.advance(0.2)
        assert b.wait_time() == pytest.approx(0.25 - 0.1, abs=1e-6) or b.try_acquire()

    asyncio.run(main())


# --------------------------------------------------------------------------------------------
# Behaviour
# --------------------------------------------------------------------------------------------


def test_rejected_prompt_stops_polling_within_one_poll() -> None:
    """The provider says "failed" at t=12 s: the next poll (the early check) sees it and nothing
    follows."""

    async def main() -> None:
        clock = FakeClock()
        sched = PollScheduler(clock)
        created = clock.time()
        fail_at = created + 12.0
        polls: list[float] = []
        final = asyncio.Event()

        async def poll() -> bool:
            polls.append(clock.time())
            if clock.time() >= fail_at:
                final.set()
                return True  # FAILED is final
            return False

        sched.watch("j", poll, model=DurationModel.uniform(90, 240), created_wall=created)
        await drive(clock, final.is_set)
        seen = polls[-1]
        # the early check (20 s) sees the rejection
        assert polls == [created + 20]
        assert seen - fail_at <= 20
        assert not sched.watching("j")
        clock.advance(3600)
        await settle()
        assert len(polls) == 1  # no poll after the final answer
        await sched.aclose()

    asyncio.run(main())


def test_two_hundred_jobs_share_the_budget_without_429() -> None:
    """200 jobs submitted at once: every sliding window stays within burst + rate * window, and a
    provider limiting status reads to 10 per second (the secondary-source figure, §1.5, checked
    over 2-second windows: 20 per 2 s) never answers 429. (Over a single second the default
    budget allows 8 + 4 = 12; set poll_burst=6 for a hard 10-per-any-second guarantee.)"""

    async def main() -> None:
        clock = FakeClock()
        settings = ServiceSettings()  # 4/s, burst 8
        sched = PollScheduler(clock, settings)
        rng = random.Random(7)
        sent: list[float] = []
        provider_window: list[float] = []
        rejected = 0
        jobs = []
        for i in range(200):
            job = FakeJob(created=clock.time(), duration=rng.uniform(90, 240), key=f"j{i}")
            jobs.append(job)

            def make(job: FakeJob = job) -> Callable[[], Awaitable[bool]]:
                inner = make_poll(clock, job, sent)

                async def poll() -> bool:
                    nonlocal rejected
                    now = clock.monotonic()
                    while provider_window and provider_window[0] <= now - 2.0:
                        provider_window.pop(0)
                    if len(provider_window) >= 20:
                        rejected += 1
                        raise RateLimitError(retry_after=1.0)
                    provider_window.append(now)
                    return await inner()

                return poll

            sched.watch(job.key, make(), model=DurationModel.uniform(90, 240), created_wall=job.created)
        await drive(clock, lambda: all(j.seen_at is not None for j in jobs))
        assert rejected == 0
        assert sched.rate_limited == 0
        sent.sort()
        for window in (1.0, 5.0, 30.0):
            limit = settings.poll_burst + settings.poll_rate * window
            worst = max(bisect.bisect_left(sent, t + window) - i for i, t in enumerate(sent))
            assert worst <= limit, (window, worst, limit)
        # fairness: nobody starves; even with 200 simultaneous submits every job is seen done
        # before a poller at 4/s could have cycled through all of them twice (100 s)
        worst_latency = max(j.seen_at - (j.created + j.duration) for j in jobs if j.seen_at)
        assert worst_latency < 2 * len(jobs) / settings.poll_rate
        await sched.aclose()

    asyncio.run(main())


def test_deadline_counts_only_active_time() -> None:
    """A job created two hours ago (the app was closed) is not slow on resume; it becomes slow
    after 15 min of ACTIVE polling, then polls every 60 s, and the active time carries over a
    stop/resume."""

    async def main() -> None:
        clock = FakeClock()
        settings = ServiceSettings(deadline_s=900)
        sched = PollScheduler(clock, settings)
        created = clock.time() - 7200  # submitted two hours ago, app closed since
        slow_calls: list[float] = []
        polls: list[float] = []

        async def poll() -> bool:
            polls.append(clock.monotonic())
            return False

        sched.watch(
            "j",
            poll,
            model=DurationModel.uniform(90, 240),
            created_wall=created,
            active_s=300.0,  # 5 min active in the earlier session
            on_slow=lambda: slow_calls.append(clock.monotonic()),
            first_delay=0,
        )
        t0 = clock.monotonic()
        await drive(clock, lambda: clock.monotonic() - t0 >= 500)
        assert slow_calls == []  # 300 + 500 < 900
        active = sched.active_seconds("j")
        assert active is not None and 790 <= active <= 810
        # the user stops watching; an hour passes (does not count)
        sched.unwatch("j")
        clock.advance(3600)
        await settle()
        sched.watch(
            "j",
            poll,
            model=DurationModel.uniform(90, 240),
            created_wall=created,
            active_s=active,
            on_slow=lambda: slow_calls.append(clock.monotonic()),
            first_delay=0,
        )
        t1 = clock.monotonic()
        await drive(clock, lambda: len(slow_calls) > 0)
        assert len(slow_calls) == 1
        # slow after about 900 - active more seconds, within one poll interval
        assert 900 - active <= slow_calls[0] - t1 <= 900 - active + 31
        assert sched.is_slow("j")
        n = len(polls)
        clock_before = clock.monotonic()
        await drive(clock, lambda: len(polls) >= n + 3)
        gaps = [b - a for a, b in zip(polls[n - 1 :], polls[n:], strict=False)]
        assert all(g == pytest.approx(60) for g in gaps[1:]), gaps
        assert clock.monotonic() - clock_before <= 200
        assert len(slow_calls) == 1  # announced once
        await sched.aclose()

    asyncio.run(main())


def test_retry_after_is_honoured_for_everyone() -> None:
    async def main() -> None:
        clock = FakeClock()
        sched = PollScheduler(clock, ServiceSettings())
        times: list[tuple[str, float]] = []
        raised = False

        def make(key: str) -> Callable[[], Awaitable[bool]]:
            async def poll() -> bool:
                nonlocal raised
                times.append((key, clock.monotonic()))
                if key == "a" and not raised:
                    raised = True
                    raise RateLimitError(retry_after=7.0)
                return False

            return poll

        sched.watch("a", make("a"), model=DurationModel.uniform(90, 240), first_delay=0)
        sched.watch("b", make("b"), model=DurationModel.uniform(90, 240), first_delay=0.5)
        t0 = clock.monotonic()
        await drive(clock, lambda: len(times) >= 4)
        assert times[0] == ("a", t0)
        # b was due at 0.5 s but the whole budget pauses for the Retry-After
        assert times[1][1] - t0 >= 7.0 - 1e-9
        a_times = [t for k, t in times if k == "a"]
        assert a_times[1] - a_times[0] >= 7.0 - 1e-9
        assert sched.rate_limited == 1
        await sched.aclose()

    asyncio.run(main())


def test_errors_back_off_exponentially_and_recover() -> None:
    async def main() -> None:
        clock = FakeClock()
        sched = PollScheduler(clock, ServiceSettings(error_backoff_s=5, error_backoff_cap_s=120))
        times: list[float] = []
        errors_seen: list[BaseException] = []

        async def poll() -> bool:
            times.append(clock.monotonic())
            if len(times) <= 5:
                raise ServerError()
            return len(times) >= 7

        sched.watch(
            "j", poll, model=DurationModel.uniform(90, 240), first_delay=0, on_error=errors_seen.append
        )
        await drive(clock, lambda: not sched.watching("j"))
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert gaps[:4] == pytest.approx([5, 10, 20, 40])
        assert len(errors_seen) == 5
        await sched.aclose()

    asyncio.run(main())


def test_unwatch_stops_and_aclose_is_clean() -> None:
    async def main() -> None:
        clock = FakeClock()
        sched = PollScheduler(clock)
        n = 0

        async def poll() -> bool:
            nonlocal n
            n += 1
            return False

        sched.watch("j", poll, model=DurationModel.uniform(90, 240), first_delay=0)
        await drive(clock, lambda: n >= 2)
        assert sched.unwatch("j")
        clock.advance(1000)
        await settle()
        assert n == 2
        await sched.aclose()
        with pytest.raises(RuntimeError):
            sched.watch("k", poll, model=DurationModel.uniform(1, 2))

    asyncio.run(main())


# --------------------------------------------------------------------------------------------
# The benchmark-style simulation: adaptive scheduler vs a fixed 10 s poller
# --------------------------------------------------------------------------------------------

SIM_KEYS = tuple(DURATIONS)


async def _simulate(
    per_key: int, seed: int, policy: PollPolicy | None = None, *, flat: bool = False
) -> dict[str, object]:
    """``flat``: durations uniform over min..max (and a uniform prior) instead of triangular."""
    clock = FakeClock()
    settings = ServiceSettings()
    sched = PollScheduler(clock, settings, policy=policy)
    rng = random.Random(seed)
    jobs: list[tuple[str, FakeJob]] = []
    events: list[tuple[float, Callable[[], None]]] = []
    t0 = clock.monotonic()
    wall0 = clock.time()
    horizon = 3 * 3600.0
    for key in SIM_KEYS:
        lo, typ, hi = DURATIONS[key]
        model = DurationModel.uniform(lo, hi) if flat else DurationModel.triangular(lo, typ, hi)
        for i in range(per_key):
            at = rng.uniform(0, horizon)
            duration = rng.uniform(lo, hi) if flat else rng.triangular(lo, hi, typ)
            job = FakeJob(created=wall0 + at, duration=duration, key=f"{key}#{i}")
            jobs.append((key, job))

            def submit(job: FakeJob = job, model: DurationModel = model) -> None:
                sched.watch(job.key, make_poll(clock, job), model=model, created_wall=job.created)

            events.append((t0 + at, submit))
    await drive(
        clock, lambda: all(j.seen_at is not None for _, j in jobs), events=events, horizon=horizon + 3600
    )
    await sched.aclose()
    latencies = [j.seen_at - (j.created + j.duration) for _, j in jobs if j.seen_at is not None]
    ours = sum(len(j.requests) for _, j in jobs)
    fixed = sum(fixed_poller_requests(j.duration) for _, j in jobs)
    fixed_lat = [math.ceil(j.duration / 10 - 1e-9) * 10 - j.duration for _, j in jobs]
    per_model = {}
    for key in SIM_KEYS:
        sel = [j for k, j in jobs if k == key]
        per_model[key] = (
            round(sum(len(j.requests) for j in sel) / sum(fixed_poller_requests(j.duration) for j in sel), 3),
            round(statistics.median(j.seen_at - (j.created + j.duration) for j in sel if j.seen_at), 2),
        )
    latencies.sort()
    return {
        "jobs": len(jobs),
        "requests": ours,
        "fixed_requests": fixed,
        "ratio": ours / fixed,
        "median_latency": statistics.median(latencies),
        "p90_latency": latencies[int(0.9 * len(latencies))],
        "max_latency": latencies[-1],
        "fixed_median_latency": statistics.median(fixed_lat),
        "per_model": per_model,
        "rate_limited": sched.rate_limited,
    }


def test_simulation_adaptive_vs_fixed_10s_poller(capsys: pytest.CaptureFixture[str]) -> None:
    """Durations triangular over each (shortest, typical, longest), as the simulator draws them;
    660 jobs over three hours. The issue's target: median "done on the server" -> "seen done"
    <= 3 s with at most half the requests of a fixed 10 s poller."""
    result = asyncio.run(_simulate(per_key=60, seed=11))
    with capsys.disabled():
        print("\nscheduler simulation:", {k: v for k, v in result.items() if k != "per_model"})
        print("per model (requests ratio, median latency):", result["per_model"])
    assert result["median_latency"] <= 3.0
    assert result["ratio"] <= 0.5
    assert result["p90_latency"] <= 45.0  # the price: early finishers wait for a sparse poll
    assert result["fixed_median_latency"] >= 4.0
    assert result["rate_limited"] == 0


def test_simulation_on_flat_durations_keeps_the_median() -> None:
    """Durations uniform over min..max: the median still holds; the requests cannot reach half
    (see bench/polling.py: at least R/24 per task for a flat range of width R), but stay well
    under the fixed poller's."""
    result = asyncio.run(_simulate(per_key=60, seed=11, flat=True))
    assert result["median_latency"] <= 3.0, result
    assert result["ratio"] <= 0.65, result


def test_simulation_on_a_learned_distribution_meets_half() -> None:
    """Once the scheduler has learned this user's durations (a realistic spread of +-15 % around
    the typical time), it needs less than half the requests of the fixed poller at a median
    latency under 3 s."""

    async def main() -> dict[str, float]:
        clock = FakeClock()
        sched = PollScheduler(clock, ServiceSettings())
        rng = random.Random(5)
        jobs: list[FakeJob] = []
        events: list[tuple[float, Callable[[], None]]] = []
        t0, wall0 = clock.monotonic(), clock.time()
        for key in SIM_KEYS:
            _lo, typ, _hi = DURATIONS[key]
            history = [rng.gauss(typ, 0.15 * typ / 1.7) for _ in range(50)]
            model = DurationModel.from_samples(history, DURATIONS[key])
            for i in range(60):
                at = rng.uniform(0, 3 * 3600.0)
                job = FakeJob(
                    created=wall0 + at, duration=max(10.0, rng.gauss(typ, 0.15 * typ / 1.7)), key=f"{key}#{i}"
                )
                jobs.append(job)

                def submit(job: FakeJob = job, model: DurationModel = model) -> None:
                    sched.watch(job.key, make_poll(clock, job), model=model, created_wall=job.created)

                events.append((t0 + at, submit))
        await drive(clock, lambda: all(j.seen_at is not None for j in jobs), events=events, horizon=5 * 3600)
        await sched.aclose()
        lat = [j.seen_at - (j.created + j.duration) for j in jobs if j.seen_at is not None]
        ours = sum(len(j.requests) for j in jobs)
        fixed = sum(fixed_poller_requests(j.duration) for j in jobs)
        return {"ratio": ours / fixed, "median": statistics.median(lat)}

    r = asyncio.run(main())
    assert r["median"] <= 3.0, r
    assert r["ratio"] <= 0.5, r
