"""The GUI thread's idle garbage collection: a timer that runs :func:`core.heap.collect_if_due`.

A timer's tick runs between events, never inside a paint or a callback, which is the point (see
:mod:`kievideo.core.heap`). Ten ticks a second keep the pending allocations far below the
backstop threshold even while a scroll allocates ~10^4 objects a second.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from kievideo.core import heap

#: how often the collector looks at the allocation count
TICK_MS = 100


class IdleCollector(QObject):
    """Owns the young generations' collections while started (one per process)."""

    def __init__(self, parent: QObject | None = None, *, tick_ms: int = TICK_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)
        self._before: tuple[int, int, int] | None = None
        self.collections = 0  # how many it ran (for tests and diagnostics)

    def start(self) -> None:
        if self._before is None:
            self._before = before = heap.take_over()

            def give_back(*_: object) -> None:
                # Deleted with its parent (the window) while started: CPython has them again.
                if heap.taken_over():
                    heap.give_back(before)

            self.destroyed.connect(give_back)
            self._timer.start()

    def stop(self) -> None:
        """Hand the collections back to CPython (its thresholds as before)."""
        self._timer.stop()
        if self._before is not None:
            heap.give_back(self._before)
            self._before = None

    def _tick(self) -> None:
        if heap.collect_if_due() is not None:
            self.collections += 1
