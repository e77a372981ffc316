"""The simulated clock.

``now() = base + (monotonic elapsed) * speed + manual offset``. Task lifetimes are computed
lazily from this clock, so advancing it (tests, ``POST /_sim/advance``) moves every task forward
at once with no background work.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SimClock:
    """Thread-safe simulated clock; seconds since the Unix epoch, as floats."""

    def __init__(self, speed: float, start_time: float | None = None) -> None:
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._mono0 = time.monotonic()
        self._base = time.time() if start_time is None else float(start_time)
        self._offset = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        # The read is cheap; the lock only guards against a torn (offset, speed) pair.
        with self._lock:
            return self._base + (time.monotonic() - self._mono0) * self._speed + self._offset

    def advance(self, seconds: float) -> float:
        """Jump forward (never backwards: records must not un-complete)."""
        if seconds < 0:
            raise ValueError("cannot move the simulated clock backwards")
        with self._lock:
            self._offset += float(seconds)
        return self.now()

    def real_seconds(self, sim_seconds: float) -> float:
        """How many wall seconds a simulated interval lasts (inf when the clock is frozen)."""
        return float("inf") if self._speed == 0 else sim_seconds / self._speed


def fmt_space(ts: float) -> str:
    """Veo/Runway style ``"YYYY-MM-DD HH:MM:SS"`` (UTC)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_iso(ts: float) -> str:
    """Aleph style ``"2023-08-15T14:30:45Z"`` (UTC)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_iso_ms(ts: float) -> str:
    """Upload API style ``"2025-01-01T12:00:00.000Z"`` (UTC)."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def ms(ts: float) -> int:
    return round(ts * 1000)
