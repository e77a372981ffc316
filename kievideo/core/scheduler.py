"""One poll scheduler for every job: adaptive per job, one request budget for all.

Why adaptive: a fixed 10 s poller wastes most of its requests while a video cannot possibly be
ready yet, and still shows the finished video 5 s late on average. Each job here follows a
plan built from how long such tasks take (this user's own finished jobs of the same model when
there are enough of them, else the documented figures in :data:`DURATIONS` read as a three-point
estimate: :meth:`DurationModel.triangular`):

1. one early check (``early_checks``, 20 s after the create): a bad image URL, a non-English
   prompt and most content rejections come back by then, and the answer proves the task exists;
2. nothing more until ``start_q`` (30 %) of the distribution: polling before most tasks can be
   done only finds "still running";
3. from there to ``dense_q`` (the median) the interval follows the *inverse hazard* - the
   expected waiting "mass" ahead: ``interval = kappa * (S(t) / f(t)) ** exponent``, at most
   ``max_interval`` - sparse while few completions are due;
4. from the median to the longest plausible duration: every ``floor`` seconds (2.5 s). This is
   where the plan spends its requests: half of the tasks finish in this window and each is shown
   done within ``floor`` + one round trip. Placing the dense window in the late half is what makes
   it cheap - only the tasks still running pay for it (minimising requests for a given median
   latency puts the window where the hazard is highest, which for these right-skewed
   distributions is the upper half);
5. past the range the interval grows again (``floor + 0.25 * overtime``, capped at 30 s);
6. past the deadline of ACTIVE time (queued/running while the app was running) the job is
   marked slow and polled every 60 s - never abandoned.

The price is paid by the early finishers: a task done before the median waits for the next sparse
poll (p90 of the detection latency is about 35 s, against 9 s for a 10 s poller).

Errors back off exponentially per job; a 429 pauses the whole budget for its Retry-After.
The budget is one token bucket (default 4 requests/s, burst 8) shared by all jobs; jobs whose
time has come are served earliest-due first, so a hundred running tasks never trip the
provider's rate limit and none of them starves.

Everything waits on an injected :class:`~kievideo.core.clock.Clock`, so tests run hours of
polling on a FakeClock in milliseconds.

Measured (``python -m bench.polling``: 300 tasks of mixed models, durations drawn exactly as the
simulator draws them): see docs/PERFORMANCE.md; tests/unit/core_logic/test_scheduler.py runs the
same kind of simulation as a regression check.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from kievideo.api.errors import RateLimitError
from kievideo.api.models import ProviderKind
from kievideo.core.clock import Clock
from kievideo.core.jobs import JobKind, JobSpec
from kievideo.core.settings import ServiceSettings

__all__ = [
    "DURATIONS",
    "DurationModel",
    "PollFn",
    "PollPolicy",
    "PollScheduler",
    "TokenBucket",
    "deadline_for",
    "duration_key",
    "prior_for",
]

log = logging.getLogger(__name__)

#: How long tasks take, in seconds from the create: (shortest, typical, longest). The one table.
#: Sources: api-reference §1.7 (Veo "a few minutes", 1080p 1-3 min, 4K 5-10 min, extend "several
#: minutes to over ten minutes") and the simulator's documented ranges; Runway/Aleph have no
#: documented figure, the ranges are the simulator's.
DURATIONS: dict[str, tuple[float, float, float]] = {
    "veo3_fast": (90.0, 150.0, 240.0),
    "veo3": (180.0, 300.0, 480.0),
    "veo3_lite": (60.0, 120.0, 180.0),
    "runway:5": (60.0, 90.0, 120.0),
    "runway:10": (120.0, 180.0, 240.0),
    "runway:extend": (90.0, 150.0, 200.0),
    "aleph": (90.0, 180.0, 240.0),
    "1080p": (60.0, 120.0, 180.0),
    "4k": (300.0, 450.0, 600.0),
    "extend": (180.0, 300.0, 600.0),
}

#: Veo ``resolution`` on generate adds an upscale to the generation (§2.1 V-D).
_VEO_RESOLUTION_EXTRA = {"1080p": "1080p", "4k": "4k"}

#: The wait before generation starts (the provider's queue, the unified API's "pending"), on top
#: of :data:`DURATIONS` for generations and extensions. Runway's figures already count it.
_QUEUE: dict[ProviderKind, tuple[float, float, float]] = {
    ProviderKind.VEO: (2.0, 6.0, 10.0),
    ProviderKind.ALEPH: (2.0, 6.0, 10.0),
    ProviderKind.UNIFIED: (3.0, 9.0, 15.0),
}
#: The unified API downloads input images before it starts ("image_downloading").
_IMAGE_FETCH = (3.0, 6.0, 10.0)


def _plus(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple[float, float, float]:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def duration_key(spec: JobSpec, kind: JobKind = JobKind.GENERATE) -> str:
    """The :data:`DURATIONS` row for a job."""
    if kind is JobKind.UPGRADE_1080P:
        return "1080p"
    if kind is JobKind.UPGRADE_4K:
        return "4k"
    if kind is JobKind.EXTEND:
        return "runway:extend" if spec.provider is ProviderKind.RUNWAY else "extend"
    if spec.provider is ProviderKind.VEO:
        return spec.model if spec.model in DURATIONS else "veo3_fast"
    if spec.provider is ProviderKind.RUNWAY:
        return "runway:10" if spec.duration == 10 else "runway:5"
    if spec.provider is ProviderKind.ALEPH:
        return "aleph"
    # The unified API serves Veo: its generation takes what the matching Veo model takes.
    return "veo3_fast" if "fast" in spec.model.lower() else "veo3"


def prior_for(spec: JobSpec, kind: JobKind = JobKind.GENERATE) -> tuple[float, float, float]:
    """(shortest, typical, longest) seconds from the create to the result: the generation, its
    queue, and a generate-time upscale (Veo ``resolution``, unified ``enable_upsample``)."""
    figures = DURATIONS[duration_key(spec, kind)]
    if kind in (JobKind.GENERATE, JobKind.EXTEND) and spec.provider in _QUEUE:
        figures = _plus(figures, _QUEUE[spec.provider])
    if kind is JobKind.GENERATE and spec.provider is ProviderKind.VEO:
        extra = _VEO_RESOLUTION_EXTRA.get(spec.quality or "")
        if extra:
            figures = _plus(figures, DURATIONS[extra])
    if kind is JobKind.GENERATE and spec.provider is ProviderKind.UNIFIED:
        if spec.images:
            figures = _plus(figures, _IMAGE_FETCH)
        if spec.upsample:
            figures = _plus(figures, DURATIONS["1080p"])
    return figures


def deadline_for(spec: JobSpec, kind: JobKind, settings: ServiceSettings) -> float:
    """Active seconds before a job counts as slow: longer for 4K and extensions (§9.1)."""
    long_job = kind in (JobKind.UPGRADE_4K, JobKind.EXTEND) or (
        kind is JobKind.GENERATE and spec.provider is ProviderKind.VEO and spec.quality == "4k"
    )
    return settings.deadline_long_s if long_job else settings.deadline_s


class DurationModel:
    """A duration distribution as a piecewise-linear quantile function.

    ``uniform(lo, hi)`` is the prior; :meth:`from_samples` uses this user's own durations once
    there are ``min_samples`` of them (the last ``max_samples``: provider speed drifts).
    """

    __slots__ = ("_q", "_x")

    def __init__(self, knots: Sequence[tuple[float, float]]) -> None:
        pts = sorted(knots)
        if len(pts) < 2:
            raise ValueError("a duration model needs at least two knots")
        self._q = [q for q, _ in pts]
        xs: list[float] = []
        for _, x in pts:  # non-decreasing, positive
            xs.append(max(x, xs[-1] if xs else 0.0))
        if xs[-1] <= xs[0]:
            xs[-1] = xs[0] + 1.0
        self._x = xs

    @classmethod
    def uniform(cls, lo: float, hi: float) -> DurationModel:
        return cls([(0.0, lo), (1.0, max(hi, lo + 1.0))])

    @classmethod
    def triangular(cls, lo: float, typical: float, hi: float, *, knots: int = 24) -> DurationModel:
        """Most tasks near ``typical``, none outside ``lo..hi``: the documented figures read as a
        three-point estimate (the prior until this user has finished tasks of their own)."""
        hi = max(hi, lo + 1.0)
        mode = min(max(typical, lo), hi)
        c = (mode - lo) / (hi - lo)
        pts = []
        for i in range(knots + 1):
            q = i / knots
            if q < c:
                x = lo + math.sqrt(q * (hi - lo) * (mode - lo))
            else:
                x = hi - math.sqrt((1.0 - q) * (hi - lo) * (hi - mode))
            pts.append((q, x))
        return cls(pts)

    @classmethod
    def from_samples(
        cls,
        samples: Sequence[float],
        prior: tuple[float, float, float],
        *,
        min_samples: int = 8,
        max_samples: int = 100,
    ) -> DurationModel:
        good = [float(s) for s in samples[:max_samples] if s > 0 and math.isfinite(s)]
        if len(good) < min_samples:
            return cls.triangular(*prior)
        good.sort()
        n = len(good)
        # Widen the observed range a little on both ends: the next task may be the fastest or
        # slowest yet, and an empirical max would otherwise look like a hard wall.
        spread = max(good[-1] - good[0], 1.0)
        knots = [(0.0, max(1.0, good[0] - 0.05 * spread))]
        knots += [((i + 0.5) / n, x) for i, x in enumerate(good)]
        knots.append((1.0, good[-1] + 0.05 * spread))
        return cls(knots)

    @property
    def lo(self) -> float:
        return self._x[0]

    @property
    def hi(self) -> float:
        return self._x[-1]

    def quantile(self, q: float) -> float:
        q = min(1.0, max(0.0, q))
        i = bisect.bisect_right(self._q, q) - 1
        i = min(max(i, 0), len(self._q) - 2)
        q0, q1 = self._q[i], self._q[i + 1]
        x0, x1 = self._x[i], self._x[i + 1]
        return x0 if q1 <= q0 else x0 + (x1 - x0) * (q - q0) / (q1 - q0)

    def cdf(self, t: float) -> float:
        if t <= self._x[0]:
            return 0.0
        if t >= self._x[-1]:
            return 1.0
        i = bisect.bisect_right(self._x, t) - 1
        i = min(max(i, 0), len(self._x) - 2)
        x0, x1 = self._x[i], self._x[i + 1]
        q0, q1 = self._q[i], self._q[i + 1]
        return q1 if x1 <= x0 else q0 + (q1 - q0) * (t - x0) / (x1 - x0)

    def inverse_hazard(self, t: float) -> float:
        """``S(t) / f(t)`` in seconds: how much "remaining distribution" lies ahead of ``t``.

        The density is taken as the slope of the quantile function over a window of 10 % of the
        probability mass, which smooths an empirical distribution of a few dozen samples.
        """
        q = self.cdf(t)
        s = 1.0 - q
        if s <= 0.0:
            return 0.0
        h = 0.05
        a, b = max(0.0, q - h), min(1.0, q + h)
        dq_dx = (b - a) / max(self.quantile(b) - self.quantile(a), 1e-6)
        return s / dq_dx


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """The per-job plan (see the module docstring); tuned by tests/unit/core_logic simulation."""

    early_checks: tuple[float, ...] = (20.0,)
    start_q: float = 0.30
    dense_q: float = 0.50
    kappa: float = 0.6
    exponent: float = 0.7
    floor: float = 2.5
    max_interval: float = 30.0
    overtime_slope: float = 0.25

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> PollPolicy:
        return cls(
            early_checks=(settings.early_check_s,),
            floor=settings.dense_interval_s,
            max_interval=settings.max_interval_s,
        )

    def next_delay(self, age: float, model: DurationModel) -> float:
        """Seconds until the next poll of a job created ``age`` seconds ago."""
        start = model.quantile(self.start_q)
        for e in self.early_checks:
            if age < e - 0.5 and e < start:
                return e - age
        if age < start - 0.5:
            return start - age
        dense = model.quantile(self.dense_q)
        if age < dense - 0.5:
            interval = self.kappa * math.pow(model.inverse_hazard(age), self.exponent)
            return min(self.max_interval, max(self.floor, interval), dense - age)
        if age < model.hi:
            return self.floor
        return min(self.max_interval, self.floor + self.overtime_slope * (age - model.hi))


PollFn = Callable[[], Awaitable[bool]]
"""One status request for a job: True when the job is final (stop polling), False to go on.
Exceptions are errors: the scheduler backs off (and pauses everything on a RateLimitError)."""


class TokenBucket:
    """``rate`` requests per second with bursts of ``burst``, on an injected clock."""

    def __init__(self, clock: Clock, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._clock = clock
        self.rate = float(rate)
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last = clock.monotonic()
        self._paused_until = -math.inf

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_acquire(self) -> bool:
        now = self._clock.monotonic()
        if now < self._paused_until:
            return False
        self._refill(now)
        if self._tokens >= 1.0 - 1e-9:
            self._tokens -= 1.0
            return True
        return False

    def wait_time(self) -> float:
        """Seconds until a token is available (0 if one is)."""
        now = self._clock.monotonic()
        if now < self._paused_until:
            return self._paused_until - now
        self._refill(now)
        return 0.0 if self._tokens >= 1.0 - 1e-9 else (1.0 - self._tokens) / self.rate

    async def acquire(self) -> None:
        while not self.try_acquire():
            await self._clock.sleep(max(self.wait_time(), 1e-3))

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a 429's Retry-After applies to the whole account)."""
        now = self._clock.monotonic()
        self._paused_until = max(self._paused_until, now + seconds)
        self._tokens = 0.0
        self._last = max(self._last, now)


@dataclass(eq=False)
class _Watch:
    key: str
    poll: PollFn
    model: DurationModel
    created_wall: float | None
    deadline_s: float
    active_base: float
    started_mono: float
    on_slow: Callable[[], None] | None
    on_error: Callable[[BaseException], None] | None
    fixed_interval: float | None
    seq: int = -1  # sequence of the live heap entry; older entries are stale
    due: float = 0.0
    polls: int = 0
    errors: int = 0
    slow: bool = False
    in_flight: bool = False
    closed: bool = False
    history: list[float] = field(default_factory=list)


class PollScheduler:
    """Polls every watched job through one shared request budget. See the module docstring."""

    def __init__(
        self,
        clock: Clock,
        settings: ServiceSettings | None = None,
        *,
        policy: PollPolicy | None = None,
    ) -> None:
        self._clock = clock
        self.settings = settings or ServiceSettings()
        self.policy = policy or PollPolicy.from_settings(self.settings)
        self.bucket = TokenBucket(clock, self.settings.poll_rate, self.settings.poll_burst)
        self._watches: dict[str, _Watch] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._polls: set[asyncio.Task[None]] = set()
        self._closed = False
        #: status requests started, and how many of them were answered 429 (for tests/diagnostics)
        self.requests = 0
        self.rate_limited = 0

    # ---- public -------------------------------------------------------------------------------

    def watch(
        self,
        key: str,
        poll: PollFn,
        *,
        model: DurationModel,
        created_wall: float | None = None,
        active_s: float = 0.0,
        deadline_s: float | None = None,
        first_delay: float | None = None,
        fixed_interval: float | None = None,
        on_slow: Callable[[], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Start (or restart) polling ``key``.

        ``created_wall``: wall time the provider got the task (the plan's time zero);
        ``active_s``: active seconds already spent in earlier sessions (the deadline counts on
        from there); ``first_delay``: override the first wait (0 = poll as soon as a token is
        free, e.g. on resume); ``fixed_interval``: poll at this interval instead of the plan.
        """
        if self._closed:
            raise RuntimeError("the poll scheduler is closed")
        self.unwatch(key)
        w = _Watch(
            key=key,
            poll=poll,
            model=model,
            created_wall=created_wall,
            deadline_s=self.settings.deadline_s if deadline_s is None else deadline_s,
            active_base=max(0.0, active_s),
            started_mono=self._clock.monotonic(),
            on_slow=on_slow,
            on_error=on_error,
            fixed_interval=fixed_interval,
        )
        w.slow = w.active_base >= w.deadline_s
        self._watches[key] = w
        delay = self._plan_delay(w) if first_delay is None else max(0.0, first_delay)
        self._schedule(w, delay)
        self._ensure_runner()

    def unwatch(self, key: str) -> bool:
        """Stop polling ``key`` (an in-flight request finishes but is not followed up)."""
        w = self._watches.pop(key, None)
        if w is None:
            return False
        w.closed = True
        return True

    def watching(self, key: str) -> bool:
        return key in self._watches

    def keys(self) -> list[str]:
        return list(self._watches)

    def active_seconds(self, key: str) -> float | None:
        """Active seconds of ``key`` so far (earlier sessions included), None if not watched."""
        w = self._watches.get(key)
        return None if w is None else self._active(w)

    def is_slow(self, key: str) -> bool:
        w = self._watches.get(key)
        return bool(w and w.slow)

    def poll_times(self, key: str) -> list[float]:
        """Monotonic times of the requests made for ``key`` (diagnostics, tests)."""
        w = self._watches.get(key)
        return list(w.history) if w else []

    def poke(self, key: str) -> None:
        """Poll ``key`` as soon as the budget allows (e.g. the user pressed "check now")."""
        w = self._watches.get(key)
        if w is not None and not w.in_flight:
            self._schedule(w, 0.0)

    async def aclose(self) -> None:
        """Stop everything; in-flight requests are cancelled and awaited."""
        self._closed = True
        for w in self._watches.values():
            w.closed = True
        self._watches.clear()
        tasks = [t for t in (self._runner, *self._polls) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._runner = None
        self._polls.clear()

    # ---- internals ----------------------------------------------------------------------------

    def _active(self, w: _Watch) -> float:
        return w.active_base + max(0.0, self._clock.monotonic() - w.started_mono)

    def _age(self, w: _Watch) -> float:
        if w.created_wall is None:
            return self._active(w)
        return max(0.0, self._clock.time() - w.created_wall)

    def _plan_delay(self, w: _Watch) -> float:
        if self._active(w) >= w.deadline_s:
            if not w.slow:
                w.slow = True
                if w.on_slow is not None:
                    try:
                        w.on_slow()
                    except Exception:  # a listener bug must not stop the polling
                        log.exception("on_slow callback failed for %s", w.key)
            return self.settings.slow_poll_s
        if w.fixed_interval is not None:
            return w.fixed_interval
        return self.policy.next_delay(self._age(w), w.model)

    def _schedule(self, w: _Watch, delay: float) -> None:
        w.seq = next(self._seq)
        w.due = self._clock.monotonic() + max(0.0, delay)
        heapq.heappush(self._heap, (w.due, w.seq, w.key))
        self._wake.set()

    def _ensure_runner(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="kievideo-poll-scheduler")

    def _peek(self) -> _Watch | None:
        """The earliest live entry (stale ones are dropped)."""
        while self._heap:
            _, seq, key = self._heap[0]
            w = self._watches.get(key)
            if w is None or w.seq != seq or w.in_flight:
                heapq.heappop(self._heap)
                continue
            return w
        return None

    async def _run(self) -> None:
        while not self._closed:
            w = self._peek()
            if w is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = self._clock.monotonic()
            wait = w.due - now
            if wait <= 0:
                wait = self.bucket.wait_time()
                if wait <= 0 and self.bucket.try_acquire():
                    heapq.heappop(self._heap)
                    self._launch(w)
                    continue
            self._wake.clear()
            await self._sleep_or_wake(max(wait, 1e-3))

    async def _sleep_or_wake(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (sleeper, waker):
                if not t.done():
                    t.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    def _launch(self, w: _Watch) -> None:
        w.in_flight = True
        w.polls += 1
        w.history.append(self._clock.monotonic())
        if len(w.history) > 500:
            del w.history[:250]
        self.requests += 1
        task = asyncio.get_running_loop().create_task(self._poll_once(w), name=f"kievideo-poll-{w.key}")
        self._polls.add(task)
        task.add_done_callback(self._polls.discard)

    async def _poll_once(self, w: _Watch) -> None:
        try:
            final = await w.poll()
        except asyncio.CancelledError:
            w.in_flight = False
            raise
        except Exception as exc:
            w.in_flight = False
            w.errors += 1
            if isinstance(exc, RateLimitError):
                self.rate_limited += 1
                backoff = self._error_delay(w.errors)
                delay = exc.retry_after if exc.retry_after is not None else backoff
                delay = min(max(delay, self.settings.dense_interval_s), self.settings.error_backoff_cap_s)
                self.bucket.pause(delay)  # the limit is per account: everyone waits
            else:
                delay = self._error_delay(w.errors)
            if w.on_error is not None:
                try:
                    w.on_error(exc)
                except Exception:
                    log.exception("on_error callback failed for %s", w.key)
            else:
                log.info("poll of %s failed (%s); next try in %.0f s", w.key, type(exc).__name__, delay)
            if not w.closed:
                self._schedule(w, max(delay, self._plan_delay(w) if w.slow else 0.0))
            return
        w.in_flight = False
        w.errors = 0
        if final:
            if self._watches.get(w.key) is w:
                del self._watches[w.key]
            w.closed = True
            return
        if not w.closed:
            self._schedule(w, self._plan_delay(w))

    def _error_delay(self, errors: int) -> float:
        base = self.settings.error_backoff_s
        return min(self.settings.error_backoff_cap_s, base * math.pow(2.0, max(0, errors - 1)))
