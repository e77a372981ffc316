"""Benchmark ``responsiveness``: does the GUI thread stay smooth while the app works hard?

A 5 ms heartbeat ``QTimer`` (PreciseTimer) runs on the GUI thread of the real ``MainWindow``
(offscreen), on the real stack (``ui.wiring.make_service``: TaskStore, ProviderRegistry,
TaskService on a :class:`~kievideo.ui.wiring.ScaledClock` as fast as the simulator), against a
simulator in its own process (``bench._sim_proc``: in real use the server is elsewhere). The
lateness of each tick (interval - 5 ms) is how long the GUI thread was busy with something else.

Each phase runs in its own child process (``--phase NAME``):

* ``load``: 300 tasks of mixed models poll the simulator at 20x speed (the demo's speed: a 3-min
  Veo task takes 9 s) while 4 large downloads (500 MB each, 25 MB/s each) run on the app's
  Downloader. The 300 tasks are created on the simulator beforehand and handed to the app as
  queued jobs to resume (creating them through the app would take 150 s of real time behind the
  client-side 20-per-10-s create limiter). Targets: lateness p99 < 8 ms, max < 33 ms;
* ``demo50``: 50 tasks in demo mode (20x), nothing else. Target (issue 4): no GUI stall > 50 ms;
* ``history50``: the same with 10,000 finished tasks in the history (:mod:`bench._history_data`),
  as a long-time user has them. Same target;
* ``generate``: a 9 MB image in the image panel, the Generate button clicked 5 times (a new image
  each time, so each one really uploads). Target: the row is in the model and painted within
  50 ms of the click, before the upload ends.

Run: ``python -m bench.responsiveness [--phase load|demo50|history50|generate] [--seconds 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import (
    PYTHON,
    SimProcess,
    emit,
    median,
    percentile,
    print_table,
    qt_app_and_loop,
    start_sim,
)

BENCH = "responsiveness"
SPEED = 20.0  # kievideo.app.DEMO_SPEED
PHASES = ("load", "demo50", "history50", "generate")


@dataclass
class SimRef:
    """What ``make_service`` reads from a simulator (here: one in another process)."""

    api_url: str
    upload_url: str
    files_url: str
    key: str


# ---- pieces used inside a phase (child process) -------------------------------------------------


class Heartbeat:
    """A PreciseTimer every ``interval_ms`` on the GUI thread; records when each tick ran."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval_ms = interval_ms
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> list[float]:
        """Lateness of every tick, ms."""
        self.timer.stop()
        t = self.ticks
        return [max(0.0, (b - a) * 1000 - self.interval_ms) for a, b in itertools.pairwise(t)]


class StallSampler:
    """A watchdog thread: while the heartbeat is more than ``threshold_ms`` overdue, it samples the
    GUI thread's Python stack every 5 ms (``sys._current_frames``). The stacks seen most often are
    where the GUI thread spends its stalls (a diagnostic for the report, not a target)."""

    def __init__(self, hb: Heartbeat, threshold_ms: float = 25.0) -> None:
        import collections
        import threading

        self.hb = hb
        self.threshold = threshold_ms / 1000
        self.gui = threading.get_ident()
        self.samples: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-stall-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, top: int = 6) -> list[tuple[str, int]]:
        self._stop.set()
        self._thread.join(2)
        return self.samples.most_common(top)

    def _run(self) -> None:
        import traceback

        while not self._stop.wait(0.005):
            ticks = self.hb.ticks
            if not ticks or time.perf_counter() - ticks[-1] < self.threshold:
                continue
            frame = sys._current_frames().get(self.gui)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            ours = [f for f in stack if "/kievideo/" in f.filename or "/site-packages/" in f.filename]
            picked = (ours or stack)[-3:]
            key = " <- ".join(
                f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno} {f.name}"
                for f in reversed(picked)
            )
            self.samples[key] += 1


def decodable_png(path: Path, size: int, seed: int = 0) -> None:
    """A real RGB PNG of about ``size`` bytes: random pixels, stored without compression, so any
    decoder reads it (the image panel makes a preview of it, as of a photo)."""
    import random
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    side = max(16, int((size / 3) ** 0.5))
    rng = random.Random(seed)
    raw = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 0))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)


def _mix(i: int) -> tuple[Any, dict[str, Any], str]:
    """The i-th task of the mix: (JobSpec, create body, create path)."""
    from kievideo.api.models import ProviderKind
    from kievideo.core.jobs import JobSpec

    prompt = f"bench task {i}: a paper boat drifting down a rainy street"
    k = i % 10
    if k < 4:
        model = "veo3_fast"
    elif k < 6:
        model = "veo3_lite"
    elif k < 7:
        model = "veo3"
    else:
        spec = JobSpec(ProviderKind.RUNWAY, "runway", prompt, duration=5, quality="720p", aspect_ratio="16:9")
        body = {"prompt": prompt, "duration": 5, "quality": "720p", "aspectRatio": "16:9"}
        return spec, body, "/api/v1/runway/generate"
    return (
        JobSpec(ProviderKind.VEO, model, prompt),
        {"prompt": prompt, "model": model},
        "/api/v1/veo/generate",
    )


def precreate_jobs(sim: SimProcess, db_path: Path, n: int, clock: Any) -> None:
    """Create ``n`` tasks on the simulator and store them as QUEUED jobs of a process that is gone,
    so the app adopts and polls them on start (the "restart with work in flight" path)."""
    import httpx

    from kievideo.core.jobs import Job, JobState
    from kievideo.core.store import TaskStore
    from kievideo.sim import DEMO_KEY

    made: list[tuple[Any, str, float]] = []
    with httpx.Client(base_url=sim.api, headers={"Authorization": f"Bearer {DEMO_KEY}"}, timeout=30) as c:
        for i in range(n):
            spec, body, path = _mix(i)
            r = c.post(path, json=body).json()
            if r.get("code") != 200:
                raise RuntimeError(f"simulator create failed: {r}")
            made.append((spec, r["data"]["taskId"], clock.time()))
    with TaskStore(db_path) as store:
        for spec, tid, at in made:
            job = Job(id=uuid.uuid4().hex, spec=spec, state=JobState.QUEUED, task_id=tid, created_at=at)
            job.submitted_at = at
            job.extra = {"owner": {"pid": -1, "token": "bench-gone"}, "create_sent_at": at}
            store.insert(job)


_idle_gc: Any = None  # the idle garbage collector (kievideo.ui.idlegc), started by open_window


async def open_window(sim: SimProcess, work: Path, n_tasks: int, history: int = 0) -> tuple[Any, Any, Any]:
    """The real stack + MainWindow, shown; returns (window, service, store). ``history``: that
    many finished tasks in the store first (:mod:`bench._history_data`)."""
    from kievideo.core.paths import AppPaths
    from kievideo.sim import DEMO_KEY
    from kievideo.ui.appsettings import AppSettings, open_settings
    from kievideo.ui.mainwindow import AppContext, MainWindow
    from kievideo.ui.wiring import ScaledClock, make_service, provider_choices

    if history:
        cmd = [PYTHON, "-m", "bench._history_data", str(work / "data"), str(history)]
        await asyncio.to_thread(subprocess.run, cmd, check=True)
    paths = AppPaths.under(work / "data").ensure()
    clock = ScaledClock(SPEED)
    if n_tasks:
        precreate_jobs(sim, paths.db_path, n_tasks, clock)
    settings = AppSettings(open_settings(paths.config_dir))
    ref = SimRef(sim.api, sim.upload, sim.files, DEMO_KEY)
    store, service = make_service(paths, settings, None, ref, clock=clock)
    await service.start()
    await service.prepare()  # as kievideo.app.start_stack does
    ctx = AppContext(
        service=service,
        settings=settings,
        cache_dir=paths.cache_dir,
        library_dir=paths.library_dir,
        log_dir=paths.log_dir,
        demo=True,
    )
    window = MainWindow(ctx)
    window.set_provider_choices(provider_choices(settings, demo=True))
    window.resize(1280, 800)
    window.show()
    await asyncio.sleep(0.5)  # first paint, first credits refresh
    from PySide6.QtWidgets import QApplication

    from kievideo.app import settle_heap
    from kievideo.ui.idlegc import IdleCollector

    settle_heap()  # the end of kievideo.app.start_stack
    global _idle_gc
    if _idle_gc is None:  # ... which starts it once; it lives as long as the process here
        _idle_gc = IdleCollector(QApplication.instance())
        _idle_gc.start()
    return window, service, store


async def close_window(window: Any, store: Any) -> None:
    window.close()
    try:
        await asyncio.wait_for(window.wait_closed(), 20)
    finally:
        store.close()


def _job_stats(service: Any) -> dict[str, Any]:
    from kievideo.core.jobs import JobState

    jobs = service.jobs()
    return {
        "jobs": len(jobs),
        "jobs_done": sum(j.state is JobState.DONE for j in jobs),
        "jobs_final": sum(j.is_final for j in jobs),
        "status_requests": service.scheduler.requests,
    }


async def phase_poll(n_tasks: int, seconds: float, downloads: int, history: int = 0) -> dict[str, Any]:
    """``load`` (downloads > 0), ``demo50`` and ``history50`` (downloads == 0)."""
    work = Path(tempfile.mkdtemp(prefix="kievideo-bench-resp-"))
    try:
        with start_sim(speed=SPEED, module="bench._sim_proc") as sim:
            window, service, store = await open_window(sim, work, n_tasks, history)
            hb = Heartbeat()
            hb.start()
            sampler = StallSampler(hb)
            sampler.start()
            big: list[asyncio.Future[Any]] = []
            size, bps = 500 * 1024 * 1024, 25_000_000
            got = [0] * downloads

            def progress_of(k: int) -> Any:
                def progress(done: int, _total: int | None) -> None:
                    got[k] = done

                return progress

            t0 = time.perf_counter()
            for k in range(downloads):
                url = f"{sim.files}/blob/{size}?seed={k}&throttle={bps}"
                coro = service.downloader.download(url, work / f"big-{k}.bin", progress=progress_of(k))
                big.append(asyncio.ensure_future(coro))
            await asyncio.sleep(seconds)
            late = hb.stop()
            stalls = sampler.stop()
            elapsed = time.perf_counter() - t0
            stats = _job_stats(service)
            done_bytes = sum(got)
            for f in big:
                f.cancel()
            await asyncio.gather(*big, return_exceptions=True)
            await close_window(window, store)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "lateness_ms": late,
        "seconds": elapsed,
        "big_downloads": downloads,
        "big_downloads_finished": sum(1 for f in big if f.done() and not f.cancelled() and not f.exception()),
        "big_download_mb": done_bytes / 1e6,
        "stall_stacks": stalls,
        **stats,
    }


async def phase_generate(clicks: int = 5, image_mib: int = 9) -> dict[str, Any]:
    """Click Generate with a fresh image ``clicks`` times; time row, paint and upload end."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    from kievideo.core.jobs import JobState

    work = Path(tempfile.mkdtemp(prefix="kievideo-bench-gen-"))
    results: list[dict[str, float | None]] = []
    try:
        with start_sim(speed=SPEED, module="bench._sim_proc") as sim:
            # Distinct, decodable images (each one really uploads), written before the heartbeat
            # starts: writing 9 MB is the benchmark's work, not the app's.
            images = [work / f"input-{k}.png" for k in range(clicks)]
            for k, img in enumerate(images):
                await asyncio.to_thread(decodable_png, img, image_mib * 1024 * 1024, k)
            window, service, store = await open_window(sim, work, 0)
            hb = Heartbeat()
            hb.start()
            view = window.tasks.view
            marks: dict[str, float] = {}
            upload_end: dict[str, float] = {}

            def on_rows(*_a: Any) -> None:
                marks.setdefault("row", time.perf_counter())

            def on_job(job: Any) -> None:
                if job.state is not JobState.UPLOADING and job.id not in upload_end:
                    upload_end[job.id] = time.perf_counter()

            class PaintWatch(QObject):
                def eventFilter(self, obj: QObject, event: QEvent) -> bool:
                    if event.type() == QEvent.Type.Paint and "row" in marks and "paint" not in marks:
                        QTimer.singleShot(0, lambda: marks.setdefault("paint", time.perf_counter()))
                    return False

            watch = PaintWatch()
            view.viewport().installEventFilter(watch)
            window.model.rowsInserted.connect(on_rows)
            unsubscribe = service.add_listener(on_job)
            for k in range(clicks):
                img = images[k]
                window.images.clear()
                window.images.add_files([str(img)])
                for _ in range(500):
                    if window.images.count() >= 1 and window.prompt.generate_btn.isEnabled():
                        break
                    await asyncio.sleep(0.01)
                window.prompt.prompt.setPlainText(f"bench generate {k}: a lighthouse in a storm")
                await asyncio.sleep(0.3)
                rows_before = window.model.rowCount()
                marks.clear()
                t_click = time.perf_counter()
                window.prompt.generate_btn.click()
                for _ in range(1000):
                    if window.model.rowCount() > rows_before and "paint" in marks:
                        break
                    await asyncio.sleep(0.002)
                job = window.model.job_at(0) if window.model.rowCount() > rows_before else None
                for _ in range(1000):
                    if job is None or job.id in upload_end:
                        break
                    await asyncio.sleep(0.005)
                up = upload_end.get(job.id) if job is not None else None
                results.append(
                    {
                        "row_ms": (marks["row"] - t_click) * 1000 if "row" in marks else None,
                        "paint_ms": (marks["paint"] - t_click) * 1000 if "paint" in marks else None,
                        "upload_end_ms": (up - t_click) * 1000 if up is not None else None,
                        "mode": job.spec.mode.value if job is not None else None,
                        "uploaded": bool(job is not None and job.spec.images),
                    }
                )
                await asyncio.sleep(0.4)  # the button's double-click guard
            late = hb.stop()
            unsubscribe()
            view.viewport().removeEventFilter(watch)
            await close_window(window, store)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"clicks": results, "lateness_ms": late}


def run_phase(name: str, seconds: float) -> dict[str, Any]:
    """Run one phase in this process (a qasync loop on a fresh QApplication)."""
    _app, loop = qt_app_and_loop()
    with loop:
        result: dict[str, Any]
        if name == "load":
            result = loop.run_until_complete(phase_poll(300, seconds, downloads=4))
        elif name == "demo50":
            result = loop.run_until_complete(phase_poll(50, min(seconds, 15.0), downloads=0))
        elif name == "history50":
            result = loop.run_until_complete(phase_poll(50, min(seconds, 15.0), downloads=0, history=10_000))
        else:
            result = loop.run_until_complete(phase_generate())
    return result


# ---- the parent: run the phases in children, print result lines --------------------------------


def _child(name: str, seconds: float) -> dict[str, Any] | None:
    proc = subprocess.run(
        [PYTHON, "-m", "bench.responsiveness", "--phase", name, "--seconds", str(seconds), "--raw"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)  # type: ignore[no-any-return]
    print(
        f"bench.responsiveness: phase {name} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}",
        file=sys.stderr,
    )
    return None


def _lateness(late: list[float]) -> dict[str, float]:
    return {
        "ticks": len(late),
        "p50_ms": percentile(late, 50),
        "p99_ms": percentile(late, 99),
        "max_ms": max(late) if late else float("nan"),
        "ticks_late_over_16ms": sum(1 for x in late if x > 16),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the phases (each in a child process) and print their result lines."""
    ap = argparse.ArgumentParser(prog="python -m bench.responsiveness", description=__doc__.splitlines()[0])
    ap.add_argument("--phase", choices=PHASES, action="append", help="run only these phases")
    ap.add_argument("--seconds", type=float, default=20.0, help="measuring window of the load phase")
    ap.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)  # child mode: print raw JSON
    args = ap.parse_args(argv)
    phases = args.phase or list(PHASES)
    if args.raw:
        print(json.dumps(run_phase(phases[0], args.seconds)), flush=True)
        sys.stderr.flush()
        os._exit(0)  # skip interpreter teardown: PySide6 6.12 + CPython 3.11 can abort there

    if "load" in phases and (r := _child("load", args.seconds)) is not None:
        lat = _lateness(r["lateness_ms"])
        details = {
            **lat,
            "tasks": r["jobs"],
            "tasks_final_at_end": r["jobs_final"],
            "status_requests": r["status_requests"],
            "status_requests_per_s": r["status_requests"] / r["seconds"],
            "big_downloads": r["big_downloads"],
            "big_download_mb_s": r["big_download_mb"] / r["seconds"],
            "stall_stacks": r.get("stall_stacks", [])[:4],
            "speed": SPEED,
            "seconds": r["seconds"],
        }
        emit(
            BENCH,
            "load_heartbeat_p99",
            lat["p99_ms"],
            unit="ms",
            target="< 8",
            passed=lat["p99_ms"] < 8,
            details=details,
        )
        emit(
            BENCH,
            "load_heartbeat_max",
            lat["max_ms"],
            unit="ms",
            target="< 33",
            passed=lat["max_ms"] < 33,
            details=details,
        )
    for phase in ("demo50", "history50"):
        if phase not in phases or (r := _child(phase, args.seconds)) is None:
            continue
        lat = _lateness(r["lateness_ms"])
        details = {
            **lat,
            "tasks": r["jobs"],
            "tasks_final_at_end": r["jobs_final"],
            "status_requests": r["status_requests"],
            "stall_stacks": r.get("stall_stacks", [])[:4],
        }
        emit(
            BENCH,
            f"{phase}_max_stall",
            lat["max_ms"],
            unit="ms",
            target="<= 50",
            passed=lat["max_ms"] <= 50,
            details=details,
        )
    if "generate" in phases and (r := _child("generate", args.seconds)) is not None:
        clicks = r["clicks"]
        paints = [c["paint_ms"] for c in clicks if c["paint_ms"] is not None]
        worst = max(paints) if len(paints) == len(clicks) else float("inf")
        before_upload = all(
            c["paint_ms"] is not None
            and c["upload_end_ms"] is not None
            and c["paint_ms"] < c["upload_end_ms"]
            for c in clicks
        )
        emit(
            BENCH,
            "generate_row_painted",
            worst,
            unit="ms",
            target="< 50, before upload end",
            passed=worst < 50 and before_upload,
            details={
                "clicks": len(clicks),
                "row_in_model_ms": [c["row_ms"] for c in clicks],
                "row_painted_ms": [c["paint_ms"] for c in clicks],
                "upload_end_ms": [c["upload_end_ms"] for c in clicks],
                "median_painted_ms": median(paints),
                "all_before_upload_end": before_upload,
                "modes": sorted({str(c["mode"]) for c in clicks}),
                **{f"heartbeat_{k}": v for k, v in _lateness(r["lateness_ms"]).items()},
            },
        )
    print_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
