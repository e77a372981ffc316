"""pytest fixtures for the simulator: ``sim`` and ``sim_factory``.

Enable with ``pytest_plugins = ["kievideo.sim.pytest_plugin"]`` in a conftest. ``sim`` is a fresh
SimServer on free ports per test; tune it with ``@pytest.mark.sim(speed=..., credits=..., faults=...,
seed=...)`` (any :class:`~kievideo.sim.config.SimConfig` field). ``sim_factory(**overrides)``
starts extra/other simulators; all are stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .config import SimConfig
from .server import SimServer

SimFactory = Callable[..., SimServer]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sim(**config): SimConfig overrides for the `sim` fixture (speed, credits, faults, seed, ...)",
    )


@pytest.fixture
def sim_factory() -> Iterator[SimFactory]:
    started: list[SimServer] = []

    def make(**overrides: Any) -> SimServer:
        server = SimServer(SimConfig(**overrides))
        server.start()
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.close()


@pytest.fixture
def sim(request: pytest.FixtureRequest, sim_factory: SimFactory) -> SimServer:
    overrides: dict[str, Any] = {}
    marker = request.node.get_closest_marker("sim")
    if marker is not None:
        overrides.update(marker.kwargs)
    return sim_factory(**overrides)
