"""Python's cyclic garbage collector, run while the GUI is idle rather than inside a paint.

CPython collects its youngest generation whenever allocations of container objects outnumber
their deallocations by 700 (the first ``gc`` threshold), wherever the program happens to be. In
the task list that is often the middle of a scrolled frame: on the 2-core test machine a
collection of the young generations took 2-3 ms there, more than half of a frame's 4 ms budget
(``bench.history``).

:func:`take_over` raises that threshold to :data:`BACKSTOP_THRESHOLD` (a backstop for bursts),
and :func:`collect_if_due`, called from a timer on the GUI thread (``ui.idlegc``), runs the very
collection CPython would have run (the same generation, chosen by the same counts) once
:data:`IDLE_THRESHOLD` allocations are pending. The work is the same; only its moment moves, to
between events. The long-lived (frozen) start-up objects stay out of it (``app.settle_heap``).
"""

from __future__ import annotations

import gc

#: the automatic collection's threshold while the idle collector runs: only a burst of
#: allocations between two of its ticks (a page of jobs loaded, say) reaches it
BACKSTOP_THRESHOLD = 20_000
#: the idle collector collects once this many allocations are pending (CPython's own default)
IDLE_THRESHOLD = 700


def take_over() -> tuple[int, int, int]:
    """Leave the young generation's collections to :func:`collect_if_due`; returns the
    thresholds before, for :func:`give_back`."""
    before = gc.get_threshold()
    gc.set_threshold(BACKSTOP_THRESHOLD, before[1], before[2])
    return before


def taken_over() -> bool:
    """Whether the young generation's collections are left to :func:`collect_if_due`."""
    return gc.get_threshold()[0] == BACKSTOP_THRESHOLD


def give_back(thresholds: tuple[int, int, int]) -> None:
    """Restore the thresholds :func:`take_over` replaced."""
    gc.set_threshold(*thresholds)


def collect_if_due() -> int | None:
    """Run the collection CPython would run next, when :data:`IDLE_THRESHOLD` allocations are
    pending: the oldest generation whose count is over its threshold (the count of a generation
    is how many collections of the one below it ran since its own last), else the youngest.
    Returns the generation collected, or None."""
    pending, young_runs, middle_runs = gc.get_count()
    if pending < IDLE_THRESHOLD or not gc.isenabled():  # gc.disable() (a profiler, a test) holds
        return None
    _first, second, third = gc.get_threshold()
    # CPython also skips a full collection while few objects survived into the oldest
    # generation since the last one; here the oldest holds little (start-up is frozen), so a
    # full collection is cheap and runs on the count alone.
    generation = 2 if middle_runs > third else 1 if young_runs > second else 0
    gc.collect(generation)
    return generation
