"""kievideo.ui.eventloop.AppEventLoop: asyncio's scheduling rules on Qt's event loop.

Each test runs its own loop with ``run_until_complete`` (the session loop of the other GUI tests
is never stopped or closed, see conftest), on the one QApplication of the session.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from kievideo.ui import eventloop
from kievideo.ui.eventloop import AppEventLoop

T = TypeVar("T")


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[AppEventLoop]:
    outer = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)  # run_until_complete refuses to nest
    lp = AppEventLoop(qapp)
    try:
        yield lp
    finally:
        if not lp.is_closed():
            lp.close()
        asyncio.events._set_running_loop(outer)


def run(lp: AppEventLoop, make: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(make(), timeout)

    return lp.run_until_complete(bounded())


def test_call_soon_runs_in_registration_order(loop: AppEventLoop) -> None:
    seen: list[int] = []

    async def main() -> None:
        for i in range(2000):
            loop.call_soon(seen.append, i)
            if i % 7 == 0:
                loop.call_later(0, seen.append, -1)  # a zero delay is a timer: never ahead of them
        await asyncio.sleep(0.05)
        assert len(seen) == 2000 + 286

    run(loop, main)
    assert [i for i in seen if i >= 0] == list(range(2000))


def test_timers_fire_in_deadline_order_and_cancelled_ones_never(loop: AppEventLoop) -> None:
    seen: list[str] = []

    async def main() -> None:
        t0 = loop.time()
        handles = {
            name: loop.call_later(delay, seen.append, name)
            for name, delay in [("c", 0.03), ("a", 0.01), ("x", 0.02), ("b", 0.02), ("d", 0.04)]
        }
        assert isinstance(handles["a"], asyncio.TimerHandle)
        assert handles["a"].when() == pytest.approx(t0 + 0.01, abs=0.005)
        handles["x"].cancel()
        at = loop.call_at(t0 + 0.015, seen.append, "between")
        assert at.when() == t0 + 0.015
        await asyncio.sleep(0.06)

    started = time.monotonic()
    run(loop, main)
    assert seen == ["a", "between", "b", "c", "d"]
    assert time.monotonic() - started >= 0.06  # sleep() is never early


def test_cancelled_timers_do_not_pile_up(loop: AppEventLoop) -> None:
    """Every httpx read arms a timeout and cancels it: the heap must not keep them for their
    whole delay (asyncio's rule: purge when most of a large heap is cancelled)."""

    async def main() -> int:
        for _ in range(5):
            for h in [loop.call_later(3600, lambda: None) for _ in range(400)]:
                h.cancel()
            await asyncio.sleep(0.01)  # a deadline passes: the heap is looked at
        return len(loop._kv_heap)

    assert run(loop, main) < 200


def test_a_busy_coroutine_does_not_starve_qt(loop: AppEventLoop) -> None:
    """A task that yields with sleep(0) forever keeps the ready queue full; Qt's own timers must
    still run (a batch takes only what was ready when it began, within the time budget)."""
    fired = threading.Event()
    steps = 0

    async def main() -> None:
        nonlocal steps
        QTimer.singleShot(20, fired.set)
        give_up = time.monotonic() + 5  # a starved Qt would never fire wait_for's timeout either
        while not fired.is_set() and time.monotonic() < give_up:
            steps += 1
            await asyncio.sleep(0)

    run(loop, main, timeout=10)
    assert fired.is_set() and steps > 10


def test_a_long_batch_yields_to_qt_within_the_budget(loop: AppEventLoop) -> None:
    done: list[int] = []
    at_qt_timer: list[int] = []

    finished = asyncio.Event()

    def slow(i: int) -> None:
        time.sleep(0.001)
        done.append(i)
        if len(done) == 60:
            finished.set()

    async def main() -> None:
        for i in range(60):
            loop.call_soon(slow, i)
        QTimer.singleShot(0, lambda: at_qt_timer.append(len(done)))
        await finished.wait()

    run(loop, main)
    assert done == list(range(60))
    assert at_qt_timer and at_qt_timer[0] < 60  # Qt ran before the 60 ms of callbacks were over
    assert at_qt_timer[0] <= 10 * eventloop.BATCH_BUDGET_S / 0.001


def test_an_exception_in_a_callback_is_reported_and_the_batch_goes_on(loop: AppEventLoop) -> None:
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _lp, ctx: reported.append(ctx))
    seen: list[str] = []

    def boom() -> None:
        raise ValueError("boom")

    async def main() -> None:
        loop.call_soon(seen.append, "before")
        loop.call_soon(boom)
        loop.call_soon(seen.append, "after")
        await asyncio.sleep(0.01)

    run(loop, main)
    assert seen == ["before", "after"]
    assert len(reported) == 1 and isinstance(reported[0]["exception"], ValueError)


def test_call_soon_threadsafe_from_a_worker_thread(loop: AppEventLoop) -> None:
    async def main() -> str:
        fut: asyncio.Future[str] = loop.create_future()
        threading.Thread(target=lambda: loop.call_soon_threadsafe(fut.set_result, "from a thread")).start()
        return await fut

    assert run(loop, main) == "from a thread"


def test_streams_over_loopback_reuse_one_notifier_per_socket(
    loop: AppEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 MB each way through asyncio streams: reading is paused and resumed many times (the
    StreamReader's limit), yet each socket gets one read notifier, kept and re-enabled."""
    made: list[int] = []

    class Counting(QSocketNotifier):
        def __init__(self, fd: int, kind: QSocketNotifier.Type) -> None:
            made.append(fd)
            super().__init__(fd, kind)

    monkeypatch.setattr(eventloop, "QSocketNotifier", Counting)
    payload = bytes(range(256)) * (8 * 4096)  # 8 MiB

    async def main() -> tuple[bytes, int]:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0, limit=64 * 1024)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=64 * 1024)

        async def send() -> None:
            for i in range(0, len(payload), 256 * 1024):
                writer.write(payload[i : i + 256 * 1024])
                await writer.drain()
            writer.write_eof()

        sender = asyncio.ensure_future(send())
        got = bytearray()
        reads = 0
        while chunk := await reader.read(32 * 1024):
            got += chunk
            reads += 1
            if reads % 16 == 0:
                await asyncio.sleep(0.001)  # let buffers fill: the transports pause and resume
        await sender
        writer.close()
        server.close()
        await server.wait_closed()
        return bytes(got), reads

    got, reads = run(loop, main, timeout=30)
    assert got == payload
    assert reads > 100
    # self-pipe + listening socket + two connection ends, a read and maybe a write notifier each
    assert len(made) <= 8


def test_close_stops_everything(qapp: QApplication) -> None:
    lp = AppEventLoop(qapp)
    ran: list[str] = []
    lp.call_soon(ran.append, "never")
    lp.call_later(0.01, ran.append, "never either")
    lp.close()
    assert lp._kv_ready_timer.isActive() is False
    assert lp._kv_deadline_timer.isActive() is False
    assert not lp._kv_readers and not lp._kv_writers
    with pytest.raises(RuntimeError):
        lp.call_soon(ran.append, "closed")
    qapp.processEvents()
    assert ran == []


def test_an_abandoned_async_generator_is_closed_in_a_task(loop: AppEventLoop) -> None:
    """asyncio's async-generator hooks are installed while the loop runs: a generator left
    suspended and then collected is closed by the loop, in a task, so its clean-up may await."""
    import gc

    cleaned: list[bool] = []
    unraisable: list[Any] = []

    async def body() -> Any:
        try:
            yield 1
            yield 2
        finally:
            await asyncio.sleep(0)  # clean-up that awaits, as httpcore's does
            cleaned.append(asyncio.current_task() is not None)

    async def main() -> None:
        gen = body()
        assert await gen.__anext__() == 1
        del gen  # abandoned mid-way, like a body iterator of a cancelled download
        gc.collect()
        for _ in range(20):
            if cleaned:
                break
            await asyncio.sleep(0)

    old_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        run(loop, main)
    finally:
        sys.unraisablehook = old_hook
    assert cleaned == [True]
    assert unraisable == []
