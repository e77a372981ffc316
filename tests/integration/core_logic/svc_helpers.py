"""Helpers for TaskService tests against the real simulator over loopback.

The service runs on a clock scaled like the simulator's (``speed`` times real time), so its poll
plan is in provider seconds while a 3-minute Veo task takes about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import Job, JobSpec, JobState, Mode
from kievideo.core.providers import ProviderProfile, ProviderRegistry
from kievideo.core.service import TaskService
from kievideo.core.settings import ServiceSettings
from kievideo.core.store import TaskStore

SPEED = 120.0


class ScaledClock:
    """time() and monotonic() run ``speed`` times faster than real time; sleep() accordingly."""

    def __init__(self, speed: float = SPEED) -> None:
        self.speed = speed
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def time(self) -> float:
        return self._wall0 + (time.time() - self._wall0) * self.speed

    def monotonic(self) -> float:
        return self._mono0 + (time.monotonic() - self._mono0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


def png_bytes(width: int = 64, height: int = 36, color: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    """A valid RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(color) * width
    raw = row * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def veo_text(prompt: str = "a red fox running through snow", **kw: Any) -> JobSpec:
    return JobSpec(ProviderKind.VEO, kw.pop("model", "veo3_fast"), prompt, mode=Mode.TEXT, **kw)


class Harness:
    def __init__(self, sim: Any, tmp_path: Path, *, key: str | None = None, speed: float = SPEED) -> None:
        self.sim = sim
        self.tmp = tmp_path
        self.key = sim.key if key is None else key
        self.speed = speed
        self.db = tmp_path / "tasks.sqlite3"
        self.library = tmp_path / "library"

    def registry(self) -> ProviderRegistry:
        unified = ProviderProfile("agg", "unified", "Test gateway", self.sim.api_url, None)
        return ProviderRegistry(
            lambda _name: self.key,
            [unified],
            kie_api_base=self.sim.api_url,
            kie_upload_base=self.sim.upload_url,
        )

    @contextlib.asynccontextmanager
    async def service(
        self, *, start: bool = True, settings: ServiceSettings | None = None, downloader: Any = None
    ) -> AsyncIterator[TaskService]:
        store = TaskStore(self.db)
        svc = TaskService(
            store,
            self.registry(),
            library_dir=self.library,
            clock=ScaledClock(self.speed),
            settings=settings or ServiceSettings(),
            downloader=downloader,
        )
        try:
            if start:
                await svc.start()
            yield svc
        finally:
            await svc.aclose()
            store.close()


async def wait_for(pred: Callable[[], bool], limit: float = 30.0, step: float = 0.01) -> None:
    """Wait (real time) until ``pred()`` holds."""
    deadline = time.monotonic() + limit
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


async def wait_final(svc: TaskService, job: Job, limit: float = 40.0) -> Job:
    """The job once final (``limit`` real seconds at most)."""
    return await asyncio.wait_for(svc.wait(job.id), limit)


def final_ok(job: Job) -> None:
    assert job.state is JobState.DONE, (job.state, job.error_message, job.provider_message)
