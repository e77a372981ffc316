"""``python -m bench [NAME ...] [--with-bundle]``: run the benchmarks, one child process each.

Every benchmark's result lines (one JSON object per line: ``bench``, ``metric``, ``value``,
``unit``, ``target``, ``pass``, ``details``, ``cores``, ``date``, ``python``, ``platform``) are
passed through to stdout as they come; each benchmark's own human table goes to stderr, and a
summary table of everything, with the missed targets listed, ends the run (stderr). ``sim_polls``
and ``bundle`` print their own formats; their results are converted to the same line format.

The exit code is 0 even when targets are missed (1 only for unknown names); a benchmark that
crashes is reported as a missed ``crashed`` line.

``bundle`` builds PyInstaller bundles and is slow: it runs only with ``--with-bundle`` (or when
named explicitly).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench import _common
from bench._common import PYTHON, ROOT, emit, print_table

#: Run order: the quick, self-contained ones first.
BENCHES: tuple[str, ...] = (
    "polling",
    "upload",
    "download",
    "history",
    "startup",
    "responsiveness",
    "sim_polls",
)
OPTIONAL: tuple[str, ...] = ("bundle",)
TIMEOUT_S = 600.0


def _run(name: str, extra: list[str]) -> tuple[int, list[dict[str, Any]], list[str], float]:
    """Run ``python -m bench.NAME``; (rc, JSON records, other stdout lines, seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, "-m", f"bench.{name}", *extra], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    records: list[dict[str, Any]] = []
    other: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        s = line.strip()
        if s.startswith("{"):
            try:
                records.append(json.loads(s))
                continue
            except ValueError:
                pass
        if s:
            other.append(line.rstrip("\n"))
    try:
        rc = proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = -9
    return rc, records, other, time.perf_counter() - t0


def _sim_polls(records: list[dict[str, Any]]) -> None:
    for r in records:
        emit(
            "sim_polls",
            "achieved_rps",
            r.get("achieved_rps"),
            unit="req/s",
            target=f">= 0.95 x {r.get('target_rps')}, p99 <= 250 ms",
            passed=not r.get("fell_behind", True),
            details={k: v for k, v in r.items() if k not in ("bench", "cores", "date")},
        )


def _bundle(records: list[dict[str, Any]]) -> None:
    by = {r.get("variant"): r for r in records}
    app, bare = by.get("app"), by.get("bare")
    if app is None or bare is None:
        return
    ok = not app.get("failures") and not bare.get("failures")
    ratio = (
        app["start_exit_ms"] / bare["start_exit_ms"]
        if app.get("start_exit_ms") and bare.get("start_exit_ms")
        else None
    )
    emit(
        "bundle",
        "start_exit_app_vs_bare",
        ratio,
        unit="x",
        target="info (runs ok)",
        passed=ok,
        details={
            **{
                f"app_{k}": v
                for k, v in app.items()
                if k not in ("bench", "variant", "cores", "date", "platform")
            },
            **{
                f"bare_{k}": v
                for k, v in bare.items()
                if k not in ("bench", "variant", "cores", "date", "platform")
            },
        },
    )


def _wait_quiet(limit_s: float) -> None:
    """Wait (up to ``limit_s``) until the machine is not busier than its core count."""
    if limit_s <= 0 or not hasattr(os, "getloadavg"):
        return
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] >= cores and time.monotonic() < deadline:
        time.sleep(5)
    print(f"(load average {os.getloadavg()[0]:.2f} on {cores} cores)", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and summarise."""
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHES)})")
    ap.add_argument("--with-bundle", action="store_true", help="also run bench.bundle (builds bundles: slow)")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each benchmark, wait up to SECONDS for the 1-min load average to drop below the cores",
    )
    args = ap.parse_args(argv)
    known = (*BENCHES, *OPTIONAL)
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 1
    names = list(args.names) or [*BENCHES, *(OPTIONAL if args.with_bundle else ())]
    results: list[dict[str, Any]] = []
    for name in names:
        print(f"\n=== bench.{name} ===", file=sys.stderr, flush=True)
        _wait_quiet(args.wait_quiet)
        rc, records, other, secs = _run(name, [])
        for line in other:  # sim_polls/bundle tables, stray output: humans only
            print(line, file=sys.stderr)
        before = len(_common._RESULTS)
        if name == "sim_polls":
            _sim_polls(records)
        elif name == "bundle":
            _bundle(records)
        else:
            for rec in records:
                print(json.dumps(rec), flush=True)
                _common._RESULTS.append(rec)
        if len(_common._RESULTS) == before or (rc not in (0, 1) and name not in ("sim_polls", "bundle")):
            emit(name, "crashed", rc, unit="rc", target="rc 0", passed=False, details={"seconds": secs})
        print(f"(bench.{name}: {secs:.0f} s, rc {rc})", file=sys.stderr, flush=True)
        results = _common._RESULTS
    print("\n=== summary ===", file=sys.stderr)
    print_table(results)
    missed = [f"{r['bench']}.{r['metric']}" for r in results if r["pass"] is False]
    print(
        f"\n{len(results) - len(missed)}/{len(results)} targets met"
        + (f"; missed: {', '.join(missed)}" if missed else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
