"""The app's asyncio event loop: qasync's ``QEventLoop`` with asyncio's own scheduling inside.

qasync (0.28) runs asyncio on Qt's event loop, which is what the app needs: one loop, on the GUI
thread, that both Qt and asyncio code run on. But it maps each asyncio primitive to a Qt object:

* every ``call_soon`` (every task step, every future callback) starts a QTimer and kills it after
  it fired: a ``startTimer``, a Python ``timerEvent`` and a ``killTimer`` per callback, ~40,000 of
  them in 20 s of ``bench.responsiveness --phase load``. Zero-interval timers also carry no
  ordering promise, while asyncio promises callbacks "in the order in which they are registered"
  (qasync PR #123 reports them running out of order under GUI load);
* every ``call_later``/``call_at`` (every anyio/httpx read timeout) starts a QTimer too, and a
  cancelled one stays armed in Qt until it would have fired;
* every ``add_reader`` builds a new ``QSocketNotifier`` and connects a lambda to it (~0.3 ms),
  and anyio resumes and pauses reading around each socket read, so a download pays it per chunk.

This subclass keeps qasync for everything else (``run_forever``/``run_until_complete`` on
``QApplication.exec``, executors, exception handling, ``call_soon_threadsafe``, ``asyncSlot``)
and does the scheduling the way ``asyncio.BaseEventLoop`` does: a FIFO of ready handles, a heap
of timer handles with lazy removal of cancelled ones, and one ``QSocketNotifier`` per file
descriptor and direction, kept and re-enabled instead of rebuilt. Two Qt timers drive it: a
zero-interval one while handles are ready (it runs once per Qt loop iteration, after pending
input and paint events), and a precise single-shot one for the earliest deadline.

A batch of ready handles stops after :data:`BATCH_BUDGET_S`, so a flood of callbacks cannot keep
Qt from painting or from its own timers; like asyncio, a batch runs only the handles that were
ready when it started.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import heapq
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import qasync
from PySide6.QtCore import QCoreApplication, QSocketNotifier, Qt, QTimer

from kievideo.core.background import background_executor

#: Longest stretch of ready callbacks run in one go before Qt gets the thread back: Qt's own
#: timers (the heartbeat of bench.responsiveness, animations) and input wait at most this long
#: behind asyncio work, plus the one callback that crosses it. A pass of Qt's loop costs ~30 us,
#: so short batches are cheap. bench.responsiveness, load phase (300 tasks polling, 4 large
#: downloads), heartbeat p99 in interleaved runs: 2 ms batches 8.2-10.0 ms, 1 ms 7.4-10.5 ms,
#: 0.5 ms 5.9-7.5 ms, 0.25 ms 5.4-7.1 ms, for the same polls and bytes a second.
BATCH_BUDGET_S = 0.0005

# asyncio.base_events' rule for purging cancelled timers from the heap (same numbers).
_MIN_SCHEDULED_TIMER_HANDLES = 100
_MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5


class _Watch:
    """One QSocketNotifier for one fd and direction, re-targeted by add/remove."""

    __slots__ = ("handle", "notifier")

    def __init__(self, notifier: QSocketNotifier) -> None:
        self.notifier = notifier
        self.handle: asyncio.Handle | None = None

    def fire(self, *_args: object) -> None:
        # Called by Qt when the fd is ready. asyncio's selector loop runs an fd's callback once
        # per iteration while it is ready; Qt calls this once per iteration while it is enabled.
        handle = self.handle
        if handle is None:  # removed while Qt was already delivering: nothing to do
            return
        if handle._cancelled:
            self.handle = None
            self.notifier.setEnabled(False)
            return
        handle._run()


class AppEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """``qasync.QEventLoop`` with asyncio-style ready queue, timer heap and reused notifiers."""

    _timer_cancelled_count: int  # asyncio.BaseEventLoop's; TimerHandle.cancel() counts on it

    def __init__(
        self,
        app: QCoreApplication | None = None,
        already_running: bool = False,
        *,
        batch_budget_s: float = BATCH_BUDGET_S,
    ) -> None:
        # Before super().__init__: asyncio's SelectorEventLoop registers its self-pipe reader
        # from its constructor, which lands in _add_reader below.
        self._kv_ready: collections.deque[asyncio.Handle] = collections.deque()
        self._kv_heap: list[asyncio.TimerHandle] = []
        self._kv_readers: dict[int, _Watch] = {}
        self._kv_writers: dict[int, _Watch] = {}
        self._kv_budget = batch_budget_s
        self._kv_clock_resolution = time.get_clock_info("monotonic").resolution
        self._kv_ready_timer = QTimer()
        self._kv_ready_timer.setInterval(0)
        self._kv_ready_timer.timeout.connect(self._kv_run_ready)
        self._kv_deadline_timer = QTimer()
        self._kv_deadline_timer.setSingleShot(True)
        self._kv_deadline_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._kv_deadline_timer.timeout.connect(self._kv_on_deadline)
        self._kv_armed_for = math.inf  # the deadline the deadline timer is set for
        self._kv_saved_agen_hooks: Any = None
        super().__init__(app, already_running=already_running)

    # ---- async generators ---------------------------------------------------------------------

    def _before_run_forever(self) -> None:
        """Install asyncio's async-generator hooks while the loop runs, as
        ``BaseEventLoop.run_forever`` does and qasync's does not.

        Without them, an async generator left suspended is finished by the garbage collector,
        wherever it happens to run, often outside any task: its clean-up code cannot await, and
        httpcore's fails there with anyio's "cannot create weak reference to 'NoneType' object"
        (no current task). Seen at the end of bench.responsiveness's load phase, where the loop
        stops while tasks are still streaming response bodies. With the hooks, the collector
        hands the generator to the loop, which closes it in a task of its own."""
        super()._before_run_forever()
        if self._kv_saved_agen_hooks is None:
            self._kv_saved_agen_hooks = sys.get_asyncgen_hooks()
            sys.set_asyncgen_hooks(
                firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook
            )

    def _after_run_forever(self) -> None:
        try:
            super()._after_run_forever()
        finally:
            if self._kv_saved_agen_hooks is not None:
                sys.set_asyncgen_hooks(*self._kv_saved_agen_hooks)
                self._kv_saved_agen_hooks = None

    # ---- scheduling -------------------------------------------------------------------------

    def call_soon(
        self, callback: Callable[..., object], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.Handle:
        """Run ``callback(*args)`` in a coming batch, after those registered before it."""
        self._check_closed()
        handle = asyncio.Handle(callback, args, self, context)
        self._kv_ready.append(handle)
        if not self._kv_ready_timer.isActive():
            self._kv_ready_timer.start()
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        """Run ``callback(*args)`` after ``delay`` seconds (a ``TimerHandle``, as in asyncio)."""
        return self.call_at(self.time() + delay, callback, *args, context=context)

    def call_at(
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        """Run ``callback(*args)`` at loop time ``when``."""
        self._check_closed()
        handle = asyncio.TimerHandle(when, callback, args, self, context)
        heapq.heappush(self._kv_heap, handle)
        handle._scheduled = True  # type: ignore[attr-defined]
        if when < self._kv_armed_for:
            self._kv_arm(when)
        return handle

    def _kv_arm(self, when: float) -> None:
        # Qt timers count whole milliseconds: round up, so a deadline never fires early.
        delay_ms = max(0, math.ceil((when - self.time()) * 1000.0))
        self._kv_armed_for = when
        self._kv_deadline_timer.start(delay_ms)

    def _kv_on_deadline(self) -> None:
        self._kv_armed_for = math.inf
        heap = self._kv_heap
        count = len(heap)
        if (
            count > _MIN_SCHEDULED_TIMER_HANDLES
            and self._timer_cancelled_count / count > _MIN_CANCELLED_TIMER_HANDLES_FRACTION
        ):
            kept = []
            for handle in heap:
                if handle._cancelled:
                    handle._scheduled = False  # type: ignore[attr-defined]
                else:
                    kept.append(handle)
            heapq.heapify(kept)
            self._kv_heap = heap = kept
            self._timer_cancelled_count = 0
        end = self.time() + self._kv_clock_resolution
        while heap and (heap[0]._cancelled or heap[0].when() <= end):
            handle = heapq.heappop(heap)
            handle._scheduled = False  # type: ignore[attr-defined]
            if handle._cancelled:
                self._timer_cancelled_count -= 1
                continue
            # Into the ready queue, not run here: one batch per Qt pass, not two.
            self._kv_ready.append(handle)
        if heap:
            self._kv_arm(heap[0].when())
        if self._kv_ready and not self._kv_ready_timer.isActive():
            self._kv_ready_timer.start()

    def _kv_run_ready(self) -> None:
        ready = self._kv_ready
        budget_end = time.perf_counter() + self._kv_budget
        for _ in range(len(ready)):  # only what was ready when the batch began, as asyncio does
            handle = ready.popleft()
            if not handle._cancelled:
                handle._run()
            if time.perf_counter() >= budget_end:
                break
        if ready:
            if not self._kv_ready_timer.isActive():
                self._kv_ready_timer.start()
        else:
            self._kv_ready_timer.stop()

    # ---- file descriptors -------------------------------------------------------------------

    def _kv_watch(
        self,
        table: dict[int, _Watch],
        kind: QSocketNotifier.Type,
        fd: Any,
        callback: Callable[..., object],
        args: tuple[Any, ...],
    ) -> None:
        self._check_closed()
        fileno = qasync._fileno(fd)
        watch = table.get(fileno)
        if watch is None:
            watch = _Watch(QSocketNotifier(fileno, kind))
            watch.notifier.activated.connect(watch.fire)
            table[fileno] = watch
        watch.handle = asyncio.Handle(callback, args, self, None)
        if not watch.notifier.isEnabled():
            watch.notifier.setEnabled(True)

    @staticmethod
    def _kv_unwatch(table: dict[int, _Watch], fd: Any) -> bool:
        try:
            fileno = qasync._fileno(fd)
        except ValueError:
            return False
        watch = table.get(fileno)
        if watch is None or watch.handle is None:
            return False
        watch.handle = None
        watch.notifier.setEnabled(False)
        return True

    def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        self._kv_watch(self._kv_readers, QSocketNotifier.Type.Read, fd, callback, args)

    def _remove_reader(self, fd: Any) -> bool:
        return self._kv_unwatch(self._kv_readers, fd)

    def _add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        self._kv_watch(self._kv_writers, QSocketNotifier.Type.Write, fd, callback, args)

    def _remove_writer(self, fd: Any) -> bool:
        return self._kv_unwatch(self._kv_writers, fd)

    # ---- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the loop (qasync's close), then drop its timers, handles and notifiers."""
        was_closed = self.is_closed()
        super().close()  # raises for a running loop
        if was_closed:
            return
        self._kv_ready_timer.stop()
        self._kv_deadline_timer.stop()
        self._kv_ready.clear()
        for handle in self._kv_heap:
            handle._scheduled = False  # type: ignore[attr-defined]
        self._kv_heap.clear()
        for table in (self._kv_readers, self._kv_writers):
            for watch in table.values():
                watch.handle = None
                watch.notifier.setEnabled(False)
                watch.notifier.deleteLater()
            table.clear()


def new_event_loop(app: QCoreApplication | None = None, already_running: bool = False) -> AppEventLoop:
    """The loop the app, its benchmarks and its GUI tests run on. Its default executor (what
    ``run_in_executor(None, ...)`` uses: file operations, poster frames) runs its threads at
    background priority (:mod:`kievideo.core.background`), like asyncio's own default executor
    in size."""
    loop = AppEventLoop(app, already_running=already_running)
    loop.set_default_executor(
        background_executor(min(32, (os.cpu_count() or 1) + 4), thread_name_prefix="kievideo-worker")
    )
    return loop
