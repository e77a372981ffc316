"""Benchmark ``history``: 10,000 tasks in the store, the task list and its memory.

A history of ``--tasks`` jobs is generated first, in a child process, with
:mod:`bench._history_data` (TaskStore in a temp ``--data-dir`` layout; varied states, models,
prompts, children). Then, in this process, offscreen (``QT_QPA_PLATFORM=offscreen``) inside a qasync
loop as in the app:

1. open + first screen, as the app does it: the task list is already on screen, empty (the app
   paints its window first; that is the ``startup`` benchmark's part and is not counted here);
   then ``ui.wiring.make_service`` (TaskStore open + TaskService) -> ``model.set_source(service)``
   (what ``MainWindow.attach_service`` does; the model reads the newest page of rows) -> the
   first Paint of the list's viewport with the rows has been handled. Target < 100 ms. (The
   app builds the service in an executor; here it is on the loop, which only adds to the time.)
   Building and first painting the empty panel are reported in the details, not counted;
2. scrolling: the view scrolls by one page ``--frames`` times (down, then back up); each frame is
   ``view.viewport().repaint()`` (a synchronous paint), timed. Frames come one display refresh
   apart (60 Hz, ``--frame-ms``): a page per refresh, far faster than anyone scrolls; between
   them the GUI runs what is queued (thumbnail loads, preparing the next rows), timed separately
   as its lateness. A scrolled frame paints rows that are not ready only within a budget and
   leaves the rest blank for that frame (the delegate's fling behaviour): how many rows that was,
   and in how many frames, is reported. Target p95 and max < 4 ms;
3. resident memory with the tasks loaded (after the scrolling): target < 150 MB.

The store alone is also measured (open, ``list()`` of everything, ``list(limit=50)``) for the record.

Run: ``python -m bench.history [--tasks 10000] [--frames 120]``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import PYTHON, emit, median, percentile, print_table, qt_app_and_loop, rss_kb

BENCH = "history"


def _gen(data_dir: Path, n: int) -> None:
    subprocess.run([PYTHON, "-m", "bench._history_data", str(data_dir), str(n)], check=True)


def store_parts(db: Path) -> dict[str, float]:
    """Open the store and read it the ways the app does; milliseconds."""
    from kievideo.core.store import TaskStore

    t0 = time.perf_counter()
    store = TaskStore(db)
    t1 = time.perf_counter()
    jobs = store.list()
    t2 = time.perf_counter()
    first = store.list(limit=50)
    t3 = time.perf_counter()
    n = store.count()
    t4 = time.perf_counter()
    store.close()
    return {
        "store_open_ms": (t1 - t0) * 1000,
        "store_list_all_ms": (t2 - t1) * 1000,
        "store_list_50_ms": (t3 - t2) * 1000,
        "store_count_ms": (t4 - t3) * 1000,
        "jobs": len(jobs),
        "first_page": len(first),
        "count": n,
    }


async def ui_parts(data_dir: Path, frames: int, frame_s: float) -> dict[str, Any]:
    """Steps 1-3 of the module docstring, on the running qasync loop."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    from kievideo.core.paths import AppPaths
    from kievideo.ui.appsettings import AppSettings, open_settings
    from kievideo.ui.tasklist import TaskListPanel
    from kievideo.ui.taskmodel import TaskListModel
    from kievideo.ui.wiring import make_service

    paths = AppPaths.under(data_dir)
    settings = AppSettings(open_settings(paths.config_dir))
    rss_before = rss_kb() or 0

    loop = asyncio.get_running_loop()
    painted: asyncio.Future[float] = loop.create_future()

    def mark() -> None:
        if not painted.done():
            painted.set_result(time.perf_counter())

    class NextPaint(QObject):
        """Sees the viewport's next Paint event; ``mark`` runs right after it has been handled."""

        seen = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not self.seen:
                self.seen = True
                QTimer.singleShot(0, mark)
            return False

    def next_paint(widget: Any) -> NextPaint:
        nonlocal painted
        painted = loop.create_future()
        watcher = NextPaint()
        widget.installEventFilter(watcher)
        return watcher

    # As in the app, the window (here: its task list, empty) is on screen before the store is
    # opened: kievideo.app paints first, then builds the service and attaches it
    # (MainWindow.attach_service -> TaskListModel.set_source). The window's own start-up is the
    # ``startup`` benchmark's; this one measures from opening the store to the first rows.
    s0 = time.perf_counter()
    model = TaskListModel(None)
    panel = TaskListPanel(model, None)
    panel.resize(560, 900)
    s1 = time.perf_counter()
    viewport = panel.view.viewport()
    watcher = next_paint(viewport)
    panel.show()
    s2 = await painted
    viewport.removeEventFilter(watcher)
    await asyncio.sleep(0.05)  # the empty window settles (no timers of ours are due)

    t0 = time.perf_counter()
    store, service = make_service(paths, settings, None)
    t1 = time.perf_counter()
    watcher = next_paint(viewport)
    model.set_clock(service.clock.time)
    model.set_source(service)
    t2 = time.perf_counter()
    t4 = await painted
    viewport.removeEventFilter(watcher)

    # Let the first screen's thumbnails arrive (decoded off the GUI thread), then scroll. The app
    # ends its start-up with settle_heap() (gc.freeze) and the idle garbage collector once the
    # list is attached; so does this.
    await asyncio.sleep(0.3)
    from kievideo.app import settle_heap
    from kievideo.ui.idlegc import IdleCollector

    settle_heap()
    collector = IdleCollector(panel)  # as start_stack does: collections between frames
    collector.start()
    view = panel.view
    bar = view.verticalScrollBar()
    step = max(1, bar.pageStep())
    paint_ms: list[float] = []
    paint_cpu_ms: list[float] = []
    between_ms: list[float] = []
    blank_rows: list[int] = []
    deferred = getattr(panel.delegate, "_deferred", set())
    direction = 1
    for _ in range(frames):
        value = bar.value() + direction * step
        if value > bar.maximum() or value < 0:
            direction = -direction
            value = bar.value() + direction * step
        bar.setValue(value)
        c = time.thread_time()  # outside the timed span: the wall-clock figure is unchanged
        s = time.perf_counter()
        view.viewport().repaint()
        paint_ms.append((time.perf_counter() - s) * 1000)
        paint_cpu_ms.append((time.thread_time() - c) * 1000)
        blank_rows.append(len(deferred))  # rows this frame left blank (painted when idle)
        # Queued work (thumbnail results, model flush, timers) runs now, on the loop, as in the
        # app; how long the GUI thread was busy with it shows as the lateness of this sleep.
        s = time.perf_counter()
        await asyncio.sleep(frame_s)
        between_ms.append(max(0.0, (time.perf_counter() - s - frame_s) * 1000))
    rss_after = rss_kb() or 0
    collector.stop()
    rows = model.rowCount()
    panel.close()
    model.detach()
    await service.aclose()
    store.close()
    return {
        "open_store_service_ms": (t1 - t0) * 1000,
        "attach_ms": (t2 - t1) * 1000,
        "attach_to_paint_ms": (t4 - t2) * 1000,
        "first_screen_ms": (t4 - t0) * 1000,
        "empty_panel_ms": (s1 - s0) * 1000,
        "empty_panel_first_paint_ms": (s2 - s1) * 1000,
        "paint_ms": paint_ms,
        "paint_cpu_ms": paint_cpu_ms,
        "between_ms": between_ms,
        "blank_rows": blank_rows,
        "rows": rows,
        "row_height_px": view.sizeHintForRow(0),
        "page_px": step,
        "rss_before_mib": rss_before / 1024,
        "rss_after_mib": rss_after / 1024,
    }


def _run_ui(data_dir: Path, frames: int, frame_s: float = 1 / 60) -> dict[str, Any]:
    _app, loop = qt_app_and_loop()
    with loop:
        result: dict[str, Any] = loop.run_until_complete(ui_parts(data_dir, frames, frame_s))
    return result


def main(argv: list[str] | None = None) -> int:
    """Generate the history, measure the store and the UI, print the result lines."""
    ap = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--frame-ms", type=float, default=1000 / 60, help="time between frames (a 60 Hz display)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="kievideo-bench-hist-"))
    try:
        data = work / "data"
        t = time.perf_counter()
        _gen(data, args.tasks)
        gen_s = time.perf_counter() - t
        store = store_parts(data / "tasks.sqlite3")
        store["generate_s"] = gen_s
        ui = _run_ui(data, args.frames, args.frame_ms / 1000)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    emit(
        BENCH,
        "open_to_first_screen",
        ui["first_screen_ms"],
        unit="ms",
        target="< 100",
        passed=ui["first_screen_ms"] < 100,
        details={
            "tasks": args.tasks,
            "rows": ui["rows"],
            "open_store_service_ms": ui["open_store_service_ms"],
            "attach_ms": ui["attach_ms"],
            "attach_to_paint_ms": ui["attach_to_paint_ms"],
            "not_counted_empty_panel_ms": ui["empty_panel_ms"],
            "not_counted_empty_panel_first_paint_ms": ui["empty_panel_first_paint_ms"],
            **store,
        },
    )
    paint = ui["paint_ms"]
    between = ui["between_ms"]
    p95, worst = percentile(paint, 95), max(paint)
    details = {
        "frames": len(paint),
        "p50_ms": median(paint),
        "p99_ms": percentile(paint, 99),
        "row_height_px": ui["row_height_px"],
        "page_px": ui["page_px"],
        "gui_busy_between_frames_p95_ms": percentile(between, 95),
        "gui_busy_between_frames_max_ms": max(between),
        # CPU time of the GUI thread per frame: the same work without the time spent waiting
        # for a core, for comparing runs on a busy machine (needs a fine thread clock: Linux).
        "paint_cpu_p50_ms": median(ui["paint_cpu_ms"]),
        "paint_cpu_p95_ms": percentile(ui["paint_cpu_ms"], 95),
        "paint_cpu_max_ms": max(ui["paint_cpu_ms"]),
        "frame_interval_ms": args.frame_ms,
        "rows_left_blank": sum(ui["blank_rows"]),
        "frames_with_blank_rows": sum(1 for n in ui["blank_rows"] if n),
    }
    emit(BENCH, "scroll_paint_p95", p95, unit="ms", target="< 4", passed=p95 < 4, details=details)
    emit(BENCH, "scroll_paint_max", worst, unit="ms", target="< 4", passed=worst < 4, details=details)
    emit(
        BENCH,
        "rss_with_tasks_loaded",
        ui["rss_after_mib"],
        unit="MiB",
        target="< 150",
        passed=ui["rss_after_mib"] < 150,
        details={"tasks": args.tasks, "rss_before_open_mib": ui["rss_before_mib"]},
    )
    print_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
