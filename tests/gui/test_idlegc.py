"""ui.idlegc: the GUI thread's timer runs the young collections between events."""

from __future__ import annotations

import gc

from PySide6.QtWidgets import QWidget

from kievideo.core import heap
from kievideo.ui.idlegc import IdleCollector


def test_started_it_collects_on_its_timer_and_stopped_it_gives_the_collections_back(qtbot):
    before = gc.get_threshold()
    collector = IdleCollector(tick_ms=5)
    collector.start()
    try:
        assert heap.taken_over()
        keep = [[] for _ in range(heap.IDLE_THRESHOLD * 2)]
        qtbot.waitUntil(lambda: collector.collections >= 1)
        assert gc.get_count()[0] < heap.IDLE_THRESHOLD
        del keep
    finally:
        collector.stop()
    assert gc.get_threshold() == before


def test_deleted_with_its_parent_it_gives_the_collections_back(qtbot):
    before = gc.get_threshold()
    parent = QWidget()
    IdleCollector(parent).start()
    assert heap.taken_over()
    parent.deleteLater()
    qtbot.waitUntil(lambda: not heap.taken_over())
    assert gc.get_threshold() == before
