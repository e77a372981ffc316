"""httpcore looks for sniffio on every lock, event and semaphore it sets up; when sniffio is
not installed, that lookup must not search ``sys.path`` again each time (kievideo.api.http)."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import pytest

import kievideo.api.http  # noqa: F401  (the import is what makes the lookup cheap)


class CountingFinder(importlib.abc.MetaPathFinder):
    """Records every module name the import system has to go looking for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        self.names.append(fullname)
        return None  # let the real finders answer


def test_httpcore_async_library_check_does_not_search_for_sniffio(monkeypatch: pytest.MonkeyPatch) -> None:
    from httpcore import _synchronization

    finder = CountingFinder()
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    for _ in range(50):
        assert _synchronization.current_async_library() == "asyncio"
    assert "sniffio" not in finder.names
