"""Fixtures of the CLI tests (helpers live in clihelpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from clihelpers import PNG, Cli


@pytest.fixture(scope="session")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pycache")


@pytest.fixture
def cli(sim: Any, tmp_path: Path, pycache: Path) -> Cli:
    """``kievideo-cli`` against the ``sim`` fixture, with ``--data-dir tmp_path/data``."""
    return Cli(tmp_path / "data", sim, tmp_path, pycache)


@pytest.fixture
def png(tmp_path: Path) -> Path:
    p = tmp_path / "input.png"
    p.write_bytes(PNG)
    return p


@pytest.fixture
def store_of() -> Iterator[Callable[[Path], Any]]:
    """Open the TaskStore of a data dir (closed at teardown)."""
    from kievideo.core.store import TaskStore

    opened: list[TaskStore] = []

    def open_(data_dir: Path) -> TaskStore:
        s = TaskStore(data_dir / "tasks.sqlite3")
        opened.append(s)
        return s

    yield open_
    for s in opened:
        s.close()
