"""The bundle of shared objects every origin app needs (config, clock, state, journal, faults)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from .clock import SimClock
from .config import SimConfig
from .faults import FaultInjector
from .journal import Journal
from .media import MediaCache
from .state import SimState


@dataclass
class Runtime:
    config: SimConfig
    clock: SimClock
    state: SimState
    journal: Journal
    faults: FaultInjector
    media: MediaCache
    keys: frozenset[str] = field(default_factory=frozenset)
    # Set (on the server loop) when the simulator stops, so stalled handlers end promptly.
    shutdown: asyncio.Event | None = None

    def key_valid(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and token.strip() in self.keys

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` of wall time; returns False early when the simulator shuts down."""
        if self.shutdown is None:
            await asyncio.sleep(seconds)
            return True
        try:
            await asyncio.wait_for(self.shutdown.wait(), timeout=seconds)
        except TimeoutError:
            return True
        return False
