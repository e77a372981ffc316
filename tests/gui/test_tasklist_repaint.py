"""A change to some rows repaints those rows where they are on screen, and nothing else.

QListView's own handler of dataChanged lays the whole list out again and repaints the whole
viewport, even for one row far off screen; with hundreds of tasks polling that was several full
repaints a second for rows nobody could see (bench.responsiveness, load phase). TaskView
repaints only what changed and shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from gui_fakes import FakeService, make_job
from PySide6.QtCore import QEvent, QObject, QRect
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import JobSpec, JobState
from kievideo.ui.tasklist import TaskListPanel
from kievideo.ui.taskmodel import TaskListModel

NOW = 1_800_000_000.0
SPEC = JobSpec(ProviderKind.VEO, "veo3_fast", "a paper boat drifting down a rainy street")
ROWS_SHOWN = 4
JOBS = 12


class Paints(QObject):
    """The rectangles of the paint events a widget gets."""

    def __init__(self) -> None:
        super().__init__()
        self.rects: list[QRect] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.rects.append(event.rect())  # type: ignore[attr-defined]
        return False


def settle() -> None:
    """Run what Qt has queued: posted events, zero-time timers (a delayed relayout), the
    repaint they ask for. A few passes, as each step may queue the next."""
    for _ in range(8):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


@pytest.fixture
def shown(qtbot: QtBot) -> Iterator[tuple[TaskListPanel, FakeService, Paints]]:
    svc = FakeService()
    for i in range(JOBS):  # job00 is the oldest: the bottom row
        svc.put(
            make_job(
                SPEC,
                id=f"job{i:02d}",
                created_at=NOW - 1000 + i,
                state=JobState.RUNNING,
                submitted_at=NOW - 100,
                started_at=NOW - 60,
            )
        )
    panel = TaskListPanel(TaskListModel(svc, clock=lambda: NOW, tick_ms=10**8), None)
    qtbot.addWidget(panel)
    panel.resize(560, 60)
    panel.show()
    qtbot.waitExposed(panel)
    view = panel.view
    row_h = view.sizeHintForRow(0)
    panel.resize(560, panel.height() + ROWS_SHOWN * row_h - view.viewport().height())
    settle()
    assert view.viewport().height() == ROWS_SHOWN * row_h
    paints = Paints()
    view.viewport().installEventFilter(paints)
    yield panel, svc, paints
    view.viewport().removeEventFilter(paints)
    panel.model.detach()


def _change(panel: TaskListPanel, svc: FakeService, job_id: str) -> None:
    job = svc.get(job_id)
    assert job is not None
    svc.put(dataclasses.replace(job, provider_status=f"{job.provider_status or ''}+"))
    panel.model.flush()  # the throttle timer's work, now


def test_a_row_off_screen_repaints_nothing(shown) -> None:
    panel, svc, paints = shown
    _change(panel, svc, "job00")  # the bottom row of twelve, four shown
    settle()
    assert paints.rects == []


def test_a_row_on_screen_repaints_that_row(shown) -> None:
    panel, svc, paints = shown
    view = panel.view
    _change(panel, svc, "job10")  # the second row from the top
    settle()
    row = view.visualRect(view.model().index(1, 0))
    assert paints.rects and all(row.contains(r) for r in paints.rects)


def test_a_range_repaints_only_its_rows_on_screen(shown) -> None:
    panel, _svc, paints = shown
    view = panel.view
    model = panel.model
    model.dataChanged.emit(model.index(JOBS - 4), model.index(JOBS - 1))  # all off screen
    settle()
    assert paints.rects == []
    model.dataChanged.emit(model.index(2), model.index(JOBS - 1))  # rows 2 and 3 are shown
    settle()
    shown_part = view.visualRect(view.model().index(2, 0)).united(view.visualRect(view.model().index(3, 0)))
    assert paints.rects and all(shown_part.contains(r) for r in paints.rects)
    assert any(r.intersects(view.visualRect(view.model().index(3, 0))) for r in paints.rects)
