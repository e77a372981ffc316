"""kievideo.core.background: helper threads run below the GUI thread's CPU priority."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from kievideo.core.background import BACKGROUND_NICE, background_executor, lower_thread_priority

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@linux_only
def test_only_the_calling_thread_is_lowered() -> None:
    before = _nice()
    seen: list[tuple[bool, int]] = []

    def worker() -> None:
        seen.append((lower_thread_priority(), _nice()))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [(True, max(before, BACKGROUND_NICE))]
    assert _nice() == before  # this thread (in the app: the GUI thread) keeps its priority


@linux_only
def test_background_executor_threads_and_their_children_run_lowered() -> None:
    def nested() -> int:
        out: list[int] = []
        t = threading.Thread(target=lambda: out.append(_nice()))  # as libavcodec's decode threads
        t.start()
        t.join()
        return out[0]

    with background_executor(max_workers=2, thread_name_prefix="test-bg") as pool:
        assert pool.submit(_nice).result() >= BACKGROUND_NICE
        assert pool.submit(nested).result() >= BACKGROUND_NICE


def test_never_raises_a_priority() -> None:
    # Asking for a higher priority than the thread has is a no-op, not an error.
    out: list[tuple[bool, int | None]] = []

    def worker() -> None:
        before = _nice() if sys.platform.startswith("linux") else None
        done = lower_thread_priority(-5)  # even where the process may raise it (root)
        out.append((done, (_nice() - before) if before is not None else None))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    if sys.platform.startswith("linux"):
        assert out == [(True, 0)]
    else:
        assert out == [(False, None)]
