"""core.heap: the young generations' collections, run by the idle collector as CPython would."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from kievideo.core import heap


@pytest.fixture
def taken() -> Iterator[None]:
    gc.collect()
    before = heap.take_over()
    try:
        yield
    finally:
        heap.give_back(before)


class Node:
    def __init__(self) -> None:
        self.other: object = None


def test_take_over_raises_the_first_threshold_only_and_give_back_restores() -> None:
    before = gc.get_threshold()
    saved = heap.take_over()
    try:
        assert saved == before
        assert gc.get_threshold() == (heap.BACKSTOP_THRESHOLD, before[1], before[2])
        assert heap.taken_over()
    finally:
        heap.give_back(saved)
    assert gc.get_threshold() == before
    assert not heap.taken_over()


def test_nothing_is_collected_below_the_idle_threshold_or_with_the_collector_off(taken: None) -> None:
    assert gc.get_count()[0] < heap.IDLE_THRESHOLD
    assert heap.collect_if_due() is None
    keep = [[] for _ in range(heap.IDLE_THRESHOLD + 50)]
    gc.disable()
    try:
        assert heap.collect_if_due() is None
    finally:
        gc.enable()
    assert heap.collect_if_due() == 0
    del keep


def test_a_due_collection_frees_young_cycles_and_resets_the_count(taken: None) -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    del a, b
    keep = [[] for _ in range(heap.IDLE_THRESHOLD + 50)]  # pending allocations, over the threshold
    assert gone() is not None
    assert heap.collect_if_due() == 0
    assert gone() is None
    assert gc.get_count()[0] < heap.IDLE_THRESHOLD
    del keep


def test_the_generation_is_the_one_cpython_would_collect(taken: None) -> None:
    _first, second, third = gc.get_threshold()
    keep: list[object] = []
    for _ in range(second + 1):  # CPython collects generation 1 after `second` + 1 young runs
        gc.collect(0)
    keep.extend([] for _ in range(heap.IDLE_THRESHOLD + 50))
    assert gc.get_count()[1] > second
    assert heap.collect_if_due() == 1
    for _ in range(third + 1):  # ... and everything after `third` + 1 runs of generation 1
        gc.collect(1)
    keep.extend([] for _ in range(heap.IDLE_THRESHOLD + 50))
    assert heap.collect_if_due() == 2
    assert gc.get_count() == (0, 0, 0)
    keep.extend([] for _ in range(heap.IDLE_THRESHOLD + 50))
    assert heap.collect_if_due() == 0
