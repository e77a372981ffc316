"""Helpers for the API-layer-against-the-simulator tests (fixtures live in conftest.py).

Every backoff goes through an injected ``sleep`` (:class:`SleepLog`) that records the delay and
returns at once; the retry jitter is pinned with ``rng`` so delays are exact numbers.
"""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from kievideo.api.http import ApiTransport, CreateLimiter, HttpConfig, open_file_client
from kievideo.api.kie import KieAccount
from kievideo.sim import SimServer
from kievideo.sim.media import make_png

T = TypeVar("T")

#: the jitter draw: full jitter then gives backoff(attempt) = 0.5 * base * 2**attempt
RNG_HALF = 0.5
FIRST_BACKOFF = RNG_HALF * HttpConfig().backoff_base  # 0.25 s with the defaults
DAY = 86400.0


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass
class SleepLog:
    """An injected ``sleep``: records what it was asked to wait and returns at once."""

    calls: list[float] = field(default_factory=list)
    hook: Callable[[float], None] | None = None

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.hook is not None:
            self.hook(seconds)


def check_credentials(sim: SimServer) -> None:
    """The key went to the API and upload origins only, never to the file origin."""
    for e in sim.journal:
        if e.origin == "files":
            assert not e.auth_present, f"Authorization reached the file origin: {e.method} {e.path}"
        else:
            assert e.auth_present, f"no Authorization on the {e.origin} origin: {e.method} {e.path}"


def http_config(**overrides: Any) -> HttpConfig:
    return HttpConfig(**{"timeout": 5.0, "connect_timeout": 2.0, **overrides})


def no_wait_limiter(sleeps: SleepLog) -> CreateLimiter:
    """A limiter that never holds a create back, so the SERVER's limits are what a test sees."""
    return CreateLimiter(max_calls=10_000, period=10.0, sleep=sleeps)


def account(
    sim: SimServer,
    sleeps: SleepLog,
    *,
    key: str | None = None,
    api_url: str | None = None,
    limiter: CreateLimiter | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **config: Any,
) -> KieAccount:
    return KieAccount(
        api_url or sim.api_url,
        sim.upload_url,
        key if key is not None else sim.key,
        config=http_config(**config),
        limiter=limiter or no_wait_limiter(sleeps),
        sleep=sleeps,
        rng=lambda: RNG_HALF,
        transport=transport,
    )


def unified_transport(
    sim: SimServer,
    sleeps: SleepLog,
    *,
    key: str | None = None,
    api_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **config: Any,
) -> ApiTransport:
    return ApiTransport(
        api_url or sim.api_url,
        None,
        key if key is not None else sim.key,
        config=http_config(**config),
        limiter=no_wait_limiter(sleeps),
        sleep=sleeps,
        rng=lambda: RNG_HALF,
        transport=transport,
    )


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The normal socket transport, remembering the raw request target of every request."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.targets.append(bytes(request.url.raw_path))
        return await super().handle_async_request(request)


async def fetch(url: str) -> bytes:
    """A result file through the app's credential-free file client."""
    async with open_file_client(timeout=10.0) as client:
        response = await client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.content


def advance_to(sim: SimServer, t: float) -> None:
    """Move the frozen simulated clock to just after ``t`` (no-op if it is already there)."""
    delta = t - sim.now()
    if delta > -0.0005:
        sim.advance(delta + 0.001)


def finish(sim: SimServer, task_id: str) -> None:
    """Run a simulated task to its terminal stage."""
    advance_to(sim, sim.task(task_id)["done_at"])


def route_entries(sim: SimServer, route: str) -> list[Any]:
    return [e for e in sim.journal if e.route == route]


def png_bytes(w: int = 64, h: int = 36, shade: int = 0) -> bytes:
    return make_png(w, h, (10 + shade, 20, 30), (200, 100, 50 + shade))


def mp4_seconds(data: bytes) -> float:
    """Duration of an MP4, decoded with PyAV (the simulator's own dependency)."""
    import av

    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a server-side event the client cannot observe (a create the simulator runs after
    the client gave up). Polls a condition with a deadline; never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (connections to it are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
