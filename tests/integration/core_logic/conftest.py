"""Fixtures for the TaskService integration tests (helpers live in svc_helpers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from svc_helpers import SPEED, Harness


@pytest.fixture
def harness(sim: Any, tmp_path: Path) -> Harness:
    return Harness(sim, tmp_path, speed=SPEED)
