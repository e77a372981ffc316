"""Shared helpers of the benchmarks: result lines, memory and CPU probes, percentiles, the simulator.

Output contract (every benchmark): ONE JSON object per result line on stdout, each with

``bench`` (the benchmark), ``metric`` (what is compared with the target), ``value`` and ``unit``,
``target`` (a human-readable bound such as ``"<= 3.0"``), ``pass`` (bool), ``details`` (the
supporting figures), and the machine: ``cores``, ``date`` (ISO), ``python``, ``platform``.

then a short human table on stderr (:func:`print_table`). Linux-first: memory comes from
``/proc/self/status`` (VmRSS / VmHWM; no psutil dependency) and the peak is reset with
``/proc/self/clear_refs`` so "peak growth during X" can be measured inside a long-lived process.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

__all__ = [
    "PYTHON",
    "ROOT",
    "ChildRun",
    "SimProcess",
    "emit",
    "fmt",
    "host_probe_ms",
    "hwm_kb",
    "machine",
    "median",
    "percentile",
    "print_table",
    "proc_cpu_s",
    "qt_version",
    "read_status_kb",
    "reset_hwm",
    "rss_kb",
    "run_child",
    "start_sim",
    "steal_pct",
    "timed",
]

_RESULTS: list[dict[str, Any]] = []


# ---- machine and result lines ------------------------------------------------------------------


def _cpu_jiffies() -> tuple[int, int] | None:
    """(steal, total) of all CPUs, in clock ticks since boot (Linux ``/proc/stat``), else None."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return ticks[7], sum(ticks)


_last_cpu = _cpu_jiffies()
_probe: tuple[float, float] | None = None  # (when, ms)

#: iterations of :func:`host_probe_ms`'s loop: 13-27 ms on this VM (one full run, 11:36-11:44)
PROBE_LOOPS = 200_000


def host_probe_ms() -> float:
    """Milliseconds for a fixed pure-Python loop, now: the host's speed at the moment.

    This VM's speed drifts (other guests on the host): the same loop has taken from 0.5x to 1.7x
    its usual time within an hour, and GUI latencies follow it. CPU steal does not show it (under
    4 % in every line of a full run whose probe went from 13 to 27 ms): hence a probe. Each result
    line carries it (cached for 10 s, results come in bursts) so a figure can be read against it."""
    global _probe
    now = time.monotonic()
    if _probe is None or now - _probe[0] > 10:
        t = time.perf_counter()
        acc = 0
        for i in range(PROBE_LOOPS):
            acc += i * i
        _probe = (now, (time.perf_counter() - t) * 1000)
    return _probe[1]


def steal_pct() -> float | None:
    """Share of CPU time the hypervisor gave to other guests (``steal``), in %, since the previous
    call (the first: since this module was imported). None where the system does not say."""
    global _last_cpu
    now = _cpu_jiffies()
    before, _last_cpu = _last_cpu, now
    if now is None or before is None or now[1] <= before[1]:
        return None
    return 100.0 * (now[0] - before[0]) / (now[1] - before[1])


def machine() -> dict[str, Any]:
    """The fields every result line carries."""
    steal = steal_pct()
    return {
        "cores": os.cpu_count(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        # other work on the machine: the figures of a loaded machine are not comparable
        "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        # the host's state while the figure was measured (see host_probe_ms and steal_pct)
        "steal_pct": None if steal is None else round(steal, 2),
        "host_probe_ms": round(host_probe_ms(), 1),
    }


def emit(
    bench: str,
    metric: str,
    value: float | int | None,
    *,
    unit: str,
    target: str,
    passed: bool | None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Print one result line (JSON, stdout) and remember it for :func:`print_table`.

    ``passed=None`` marks a figure reported for context, with no target of its own (``"pass"``
    is then ``null`` and the table says ``info``)."""
    rec: dict[str, Any] = {
        "bench": bench,
        "metric": metric,
        "value": _round(value),
        "unit": unit,
        "target": target,
        "pass": None if passed is None else bool(passed),
        "details": {k: _round(v) for k, v in (details or {}).items()},
        **machine(),
    }
    print(json.dumps(rec), flush=True)
    _RESULTS.append(rec)
    return rec


def _round(v: Any) -> Any:
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return round(v, 4) if abs(v) < 100 else round(v, 1)
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_round(x) for x in v]
    return v


def fmt(v: Any) -> str:
    """Compact rendering for the human table."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def print_table(results: Sequence[dict[str, Any]] | None = None, file: Any = None) -> None:
    """The short human table of the result lines (stderr by default)."""
    rows = list(_RESULTS if results is None else results)
    out = file or sys.stderr
    if not rows:
        return
    w_metric = max(len(r["metric"]) for r in rows)
    w_bench = max(len(r["bench"]) for r in rows)
    print(file=out)
    print(
        f"{'bench':<{w_bench}}  {'metric':<{w_metric}}  {'value':>10} {'unit':<6} {'target':<20} ok", file=out
    )
    for r in rows:
        ok = "info" if r["pass"] is None else "yes" if r["pass"] else "MISS"
        print(
            f"{r['bench']:<{w_bench}}  {r['metric']:<{w_metric}}  {fmt(r['value']):>10} "
            f"{r['unit']:<6} {r['target']:<20} {ok}",
            file=out,
        )
    out.flush()


# ---- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in 0..100 (NaN for no values)."""
    if not values:
        return float("nan")
    xs = sorted(values)
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


# ---- memory (Linux /proc) -----------------------------------------------------------------------


def read_status_kb(field_name: str, pid: int | str = "self") -> int | None:
    """A ``kB`` field of ``/proc/PID/status`` (``VmRSS``, ``VmHWM``...), None where unavailable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_kb(pid: int | str = "self") -> int | None:
    """Resident set size now (kB)."""
    return read_status_kb("VmRSS", pid)


def hwm_kb(pid: int | str = "self") -> int | None:
    """Peak resident set size (kB) since start or the last :func:`reset_hwm`."""
    hwm = read_status_kb("VmHWM", pid)
    if hwm is None:  # not Linux: ru_maxrss (kB on Linux, bytes on macOS)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 1024 if sys.platform == "darwin" else peak
    return hwm


def reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


# ---- CPU ----------------------------------------------------------------------------------------


def proc_cpu_s(pid: int) -> float | None:
    """CPU seconds (user+system, all threads) used so far by another live process (Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class ChildRun:
    """One finished child process: exit code, wall seconds, CPU seconds (from ``wait4``), stdout."""

    rc: int
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_kb: int
    stdout: str
    stderr: str

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def json_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out


def run_child(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 120.0, cwd: Path | None = None
) -> ChildRun:
    """Run ``cmd`` to the end and return its own CPU time (``os.wait4`` rusage: this child only,
    whatever else runs), wall time and output. stderr goes to a temp file (no pipe deadlock)."""
    import tempfile

    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=err, env=env, cwd=cwd)
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        # Read until EOF; then reap with wait4 to get this child's rusage.
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                break
            if sel.select(timeout=min(left, 1.0)):
                data = os.read(proc.stdout.fileno(), 65536)
                if not data:
                    break
                chunks.append(data)
        sel.close()
        _pid, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not try to reap it again
        proc.stdout.close()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return ChildRun(
        rc=proc.returncode,
        wall_s=wall,
        user_s=ru.ru_utime,
        sys_s=ru.ru_stime,
        maxrss_kb=ru.ru_maxrss,
        stdout=b"".join(chunks).decode("utf-8", "replace"),
        stderr=stderr,
    )


# ---- the simulator in its own process ------------------------------------------------------------


@dataclass
class SimProcess:
    """A ``kievideo-sim`` subprocess and its URLs."""

    proc: subprocess.Popen[str]
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def api(self) -> str:
        return self.urls["api"]

    @property
    def upload(self) -> str:
        return self.urls["upload"]

    @property
    def files(self) -> str:
        return self.urls["files"]

    def cpu_s(self) -> float | None:
        return proc_cpu_s(self.proc.pid)


@contextlib.contextmanager
def start_sim(
    *extra_args: str, speed: float = 60.0, credits: int = 100_000_000, module: str = "kievideo.sim"
) -> Iterator[SimProcess]:
    """Run ``python -m kievideo.sim`` (the ``kievideo-sim`` CLI; or ``bench._sim_proc`` for more
    knobs) in its own process, so its CPU time is never counted as the app's; yields once it
    printed its URL line."""
    cmd = [PYTHON, "-m", module, "--speed", str(speed), "--credits", str(credits), *extra_args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator did not start ({' '.join(cmd)})")
        yield SimProcess(proc, json.loads(line))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of ``fn()`` on the performance counter."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def qt_version() -> str | None:
    """PySide6/Qt version if importable (for the docs), without creating an application."""
    try:
        import PySide6
        from PySide6 import QtCore

        return f"PySide6 {PySide6.__version__}, Qt {QtCore.qVersion()}"
    except ImportError:
        return None


def qt_app_and_loop() -> tuple[Any, Any]:
    """A QApplication (offscreen unless QT_QPA_PLATFORM says otherwise) and a qasync loop set as
    the current event loop, prepared like ``kievideo.app.main`` (incl. ``ui.pyside_fixes``)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_API", "pyside6")
    os.environ.setdefault(
        "QT_LOGGING_RULES", "qt.multimedia.symbolsresolver=false;qt.multimedia.ffmpeg=false"
    )
    import asyncio

    from PySide6.QtWidgets import QApplication

    from kievideo.app import tune_qt_environment

    tune_qt_environment()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    try:  # the app's workaround for PySide6 6.12's refcount bugs on CPython 3.11 (see that module)
        from kievideo.ui import pyside_fixes

        pyside_fixes.install()
    except ImportError:
        pass
    from kievideo.ui.eventloop import new_event_loop

    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    return app, loop
