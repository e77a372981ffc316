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
from gui_fakes import Clock, FakeService, make_job
from PySide6.QtCore import QEvent, QObject, QRect
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import JobSpec, JobState
from kievideo.ui.tasklist import TaskListPanel
from kievideo.ui.taskmodel import Roles, TaskListModel

NOW = 1_800_000_000.0
SPEC = JobSpec(ProviderKind.VEO, "veo3_fast", "a paper boat drifting down a rainy street")
ROWS_SHOWN = 4
JOBS = 12


class Paints(QObject):
    """The rectangles of the paint events a widget gets."""

    def __init__(self) -> None:
        super().__init__()
        self.rects: list[QRect] = []  # each paint's bounding rectangle
        self.parts: list[QRect] = []  # the rectangles of each paint's region

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.rects.append(event.rect())  # type: ignore[attr-defined]
            self.parts.extend(event.region())  # type: ignore[attr-defined]
        return False


def settle() -> None:
    """Run what Qt has queued: posted events, zero-time timers (a delayed relayout), the
    repaint they ask for. A few passes, as each step may queue the next."""
    for _ in range(8):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def shown(qtbot: QtBot, clock: Clock) -> Iterator[tuple[TaskListPanel, FakeService, Paints]]:
    """Twelve rows, four on screen; every third job (job00, job03, ...) is done, the rest run."""
    svc = FakeService()
    for i in range(JOBS):  # job00 is the oldest: the bottom row
        done = i % 3 == 0
        svc.put(
            make_job(
                SPEC,
                id=f"job{i:02d}",
                created_at=NOW - 1000 + i,
                state=JobState.DONE if done else JobState.RUNNING,
                submitted_at=NOW - 100,
                started_at=NOW - 60,
                finished_at=NOW - 30 if done else None,
            )
        )
    panel = TaskListPanel(TaskListModel(svc, clock=clock, tick_ms=10**8), None)
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


def test_the_clock_tick_repaints_the_running_rows_on_screen(shown, clock) -> None:
    """Each second the running rows' time text moves on: the rows on screen that run are
    repainted (with the new time), the finished ones and those off screen are not."""
    panel, _svc, paints = shown
    view = panel.view
    model = panel.model
    rows = [view.visualRect(view.model().index(r, 0)) for r in range(ROWS_SHOWN)]
    running = [r for r in range(ROWS_SHOWN) if not model.job_at(r).is_final]
    done = [r for r in range(ROWS_SHOWN) if model.job_at(r).is_final]
    assert running and done  # job11 and job10 run, job09 is done, job08 runs
    before = view.viewport().grab().toImage()  # grab() paints too: forget those paints
    paints.rects.clear()
    paints.parts.clear()
    clock.now += 5
    model._tick()  # what its one-second timer does
    settle()
    assert paints.parts
    ticked = list(paints.parts)
    for r in running:
        assert any(part.intersects(rows[r]) for part in ticked)
    for r in done:
        assert not any(part.intersects(rows[r]) for part in ticked)
    after = view.viewport().grab().toImage()
    for r in running:  # the row now shows the new time
        assert after.copy(rows[r]) != before.copy(rows[r])
    assert "running 1:05" in model.index(running[0]).data(Roles.TimeText)


def test_no_tick_repaint_when_nothing_runs(shown) -> None:
    panel, svc, paints = shown
    for job in svc.jobs():
        svc.put(dataclasses.replace(job, state=JobState.DONE, finished_at=NOW - 1))
    panel.model.flush()
    settle()
    paints.rects.clear()
    paints.parts.clear()
    signals: list[bool] = []
    panel.model.timesChanged.connect(lambda: signals.append(True))
    panel.model._tick()
    settle()
    assert signals == [] and paints.rects == []
