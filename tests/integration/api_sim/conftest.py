"""Fixtures for the API layer run against the simulator (kievideo.sim) over real sockets.

Every simulator started here runs with a frozen clock (``speed=0`` unless a test says otherwise),
so task progress only happens through ``sim.advance()``. Helpers live in ``simapi_helpers.py``.

At teardown every simulator's journal is checked: no request to the file origin carried an
``Authorization`` header, and every request to the API and upload origins did. That makes the
credential rule hold across the whole folder, not just in the tests that look for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from simapi_helpers import SleepLog, check_credentials

from kievideo.sim import SimServer


@pytest.fixture
def sleeps() -> SleepLog:
    """An injected sleep that records what it was asked to wait and returns at once."""
    return SleepLog()


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # Loopback traffic must not go through a proxy configured in the environment.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def sim_factory(sim_factory: Callable[..., SimServer]) -> Iterator[Callable[..., SimServer]]:
    """The plugin's factory with a frozen clock by default and the credential check at teardown."""
    started: list[SimServer] = []

    def make(**overrides: Any) -> SimServer:
        overrides.setdefault("speed", 0)
        server = sim_factory(**overrides)
        started.append(server)
        return server

    yield make
    for server in started:
        check_credentials(server)
