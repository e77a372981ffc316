"""Fixtures of the reliability suites: a ``figures`` recorder whose numbers (kills, restarts,
UNCERTAIN jobs, faults by kind, ...) are printed in the terminal summary, and written as JSON to
``$KIEVIDEO_RELIABILITY_FIGURES`` when that is set (docs/RELIABILITY.md quotes them)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_FIGURES: dict[str, dict[str, Any]] = {}


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A dict for the test's figures; its runtime is added at teardown."""
    data: dict[str, Any] = {}
    t0 = time.monotonic()
    yield data
    data["runtime_s"] = round(time.monotonic() - t0, 2)
    _FIGURES[request.node.nodeid.split("::", 1)[-1]] = data


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name, data in _FIGURES.items():
        terminalreporter.write_line(f"{name}: {json.dumps(data, sort_keys=True, default=str)}")
    target = os.environ.get("KIEVIDEO_RELIABILITY_FIGURES")
    if target:
        Path(target).write_text(json.dumps(_FIGURES, indent=2, sort_keys=True, default=str), "utf-8")
