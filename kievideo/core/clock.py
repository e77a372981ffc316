"""Time as a dependency: the wall clock, the monotonic clock and sleeping.

Everything in core that waits (the poll scheduler, download back-off, upload expiry) takes a
:class:`Clock` so that tests can drive hours of provider time in microseconds with
:class:`FakeClock`, instead of sleeping and hoping the timing works out.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time as _time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What core code may ask of time."""

    def time(self) -> float:
        """Wall-clock UNIX seconds (what the store records; can jump when the user sets the clock)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes back (for deadlines and intervals)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling coroutine for ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real clocks of the machine and :func:`asyncio.sleep`."""

    __slots__ = ()

    def time(self) -> float:
        return _time.time()

    def monotonic(self) -> float:
        return _time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that only moves when a test says so.

    ``time()`` and ``monotonic()`` start at the given values and move together in
    :meth:`advance`. ``await sleep(s)`` parks the coroutine until the clock has been advanced
    to (or past) its deadline; the waiter is woken through its own loop's
    ``call_soon_threadsafe``, so the clock works with any running loop (plain asyncio or
    qasync) and ``advance`` may be called from a test thread that is not the loop thread.

    Typical use::

        clock = FakeClock()
        task = asyncio.ensure_future(scheduler.run())
        await clock.wait_for_sleepers(1)   # the scheduler is now parked in sleep()
        await clock.advance_async(30)      # ... and has run its next round
    """

    def __init__(self, time: float = 1_790_000_000.0, monotonic: float = 1_000.0) -> None:
        self._time = float(time)
        self._mono = float(monotonic)
        # (deadline on the monotonic scale, sequence, future); the sequence keeps FIFO order for
        # equal deadlines and avoids comparing futures.
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        # advance() may run on a test thread while sleep() runs on the loop thread.
        self._lock = threading.Lock()

    def time(self) -> float:
        return self._time

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            # Like asyncio.sleep(0): give other tasks a turn, but never block.
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), fut))
        try:
            await fut
        finally:
            if not fut.done():  # cancelled: forget the entry so `sleepers` stays truthful
                fut.cancel()
            with self._lock:
                self._sleepers = [e for e in self._sleepers if e[2] is not fut]
                heapq.heapify(self._sleepers)

    def advance(self, seconds: float) -> None:
        """Move both clocks forward and wake every sleeper whose deadline has passed."""
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        with self._lock:
            self._time += seconds
            self._mono += seconds
            due: list[asyncio.Future[None]] = []
            while self._sleepers and self._sleepers[0][0] <= self._mono:
                due.append(heapq.heappop(self._sleepers)[2])
        for fut in due:
            with contextlib.suppress(RuntimeError):  # that loop is closed; nobody waits any more
                fut.get_loop().call_soon_threadsafe(_wake, fut)

    def set_time(self, wall: float) -> None:
        """Jump the wall clock only (the user changed the system time); monotonic is untouched."""
        self._time = float(wall)

    @property
    def sleepers(self) -> int:
        """How many coroutines are parked in :meth:`sleep` right now."""
        with self._lock:
            return sum(1 for e in self._sleepers if not e[2].done())

    @property
    def next_deadline(self) -> float | None:
        """Seconds until the earliest sleeper is due (0 if overdue), or None if nobody sleeps."""
        with self._lock:
            live = [e[0] for e in self._sleepers if not e[2].done()]
        return None if not live else max(0.0, min(live) - self._mono)

    async def settle(self, rounds: int = 20) -> None:
        """Let the loop run woken tasks for a few turns (they resume through call_soon)."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def advance_async(self, seconds: float, *, rounds: int = 20) -> None:
        """:meth:`advance`, then :meth:`settle` so the woken coroutines have run their next step."""
        self.advance(seconds)
        await self.settle(rounds)

    async def wait_for_sleepers(self, n: int = 1, *, max_rounds: int = 10_000) -> None:
        """Yield to the loop until at least ``n`` coroutines sleep on this clock.

        Bounded by loop turns, not by time: a test that never gets its sleeper fails with a
        clear error instead of hanging.
        """
        for _ in range(max_rounds):
            if self.sleepers >= n:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"expected {n} sleeper(s) on the FakeClock, have {self.sleepers}")

    def __repr__(self) -> str:
        return f"FakeClock(time={self._time!r}, monotonic={self._mono!r}, sleepers={self.sleepers})"


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
