"""Diagnostic (not a benchmark): where does the GUI thread spend its stalls in a responsiveness phase?

    python -m bench._diag_gui [demo50|history50|load] [--seconds 20]

Runs one phase of :mod:`bench.responsiveness` with two probes and prints, besides the heartbeat
lateness:

* every asyncio callback that ran longer than 15 ms after the heartbeat started, keyed by task
  coroutine and the line it was suspended at (count, max ms);
* ``QApplication.notify`` time per receiver class / object name / event type, for dispatches over
  2 ms (count, total ms, max ms) - the C++ side (painting, timers) that Python stacks cannot show.

Both probes cost a little themselves; compare with the plain benchmark, not with the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import asyncio.events
import collections
import os
import sys
import time
from typing import Any

from bench._common import percentile


def main(argv: list[str] | None = None) -> int:
    """Run the phase with the probes installed and print the tables."""
    ap = argparse.ArgumentParser(prog="python -m bench._diag_gui")
    ap.add_argument("phase", nargs="?", default="demo50", choices=("demo50", "history50", "load"))
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    dispatch: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0])
    depth = [0]

    class TimedApp(QApplication):
        def notify(self, obj: QObject, ev: QEvent) -> bool:
            if depth[0]:
                return super().notify(obj, ev)
            depth[0] += 1
            t = time.perf_counter()
            try:
                return super().notify(obj, ev)
            finally:
                d = (time.perf_counter() - t) * 1000
                depth[0] -= 1
                if d > 2:
                    row = dispatch[f"{type(obj).__name__}/{obj.objectName()}:{ev.type().name}"]
                    row[0] += 1
                    row[1] += d
                    row[2] = max(row[2], d)

    _keep = TimedApp(sys.argv[:1])  # qt_app_and_loop() reuses this instance
    from bench import responsiveness as resp
    from bench._common import qt_app_and_loop

    _app, loop = qt_app_and_loop()
    started: list[float] = []
    orig_start = resp.Heartbeat.start

    def start(self: resp.Heartbeat) -> None:
        started.append(time.perf_counter())
        orig_start(self)

    resp.Heartbeat.start = start  # type: ignore[method-assign]
    slow: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    orig_run = asyncio.events.Handle._run

    def timed_run(self: asyncio.events.Handle) -> None:
        t = time.perf_counter()
        try:
            orig_run(self)
        finally:
            d = (time.perf_counter() - t) * 1000
            if started and d > 15:
                cb: Any = getattr(self, "_callback", None)
                key = repr(cb)[:120]
                task = getattr(cb, "__self__", None)
                if isinstance(task, asyncio.Task):
                    coro: Any = task.get_coro()
                    frame = getattr(coro, "cr_frame", None)
                    where = (
                        f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}" if frame else "done"
                    )
                    key = f"task {getattr(coro, '__qualname__', coro)} @ {where}"
                slow[key][0] += 1
                slow[key][1] = max(slow[key][1], d)

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
    n, downloads, history = {"demo50": (50, 0, 0), "history50": (50, 0, 10_000), "load": (300, 4, 0)}[
        args.phase
    ]
    with loop:
        r = loop.run_until_complete(resp.phase_poll(n, args.seconds, downloads, history))
    late = r["lateness_ms"]
    p50, p99 = percentile(late, 50), percentile(late, 99)
    print(f"heartbeat lateness: p50 {p50:.1f} p99 {p99:.1f} max {max(late):.1f} ms")
    print("\nasyncio callbacks > 15 ms (count, max ms):")
    for key, (count, worst) in sorted(slow.items(), key=lambda kv: -kv[1][1])[:15]:
        print(f"  {count:5.0f} {worst:8.1f}  {key}")
    print("\nQt dispatch > 2 ms (count, total ms, max ms):")
    for key, (count, total, worst) in sorted(dispatch.items(), key=lambda kv: -kv[1][2])[:15]:
        print(f"  {count:5.0f} {total:9.1f} {worst:8.1f}  {key}")
    print("\nstall samples (GUI thread Python stack while the heartbeat was > 25 ms late):")
    for key, count in r["stall_stacks"]:
        print(f"  {count:5d}  {key}")
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown (PySide6 6.12 + CPython 3.11 refcount bugs at exit)


if __name__ == "__main__":
    sys.exit(main())
