"""Benchmark ``download``: the app's Downloader against curl, on the same file from the same origin.

Setup: the simulator runs in its own process (``python -m kievideo.sim``: its CPU is never counted);
its file origin serves a synthetic 200 MiB blob (``/blob/<n>?seed=S``, optionally
``&throttle=<bytes/s>``). Each round fetches it once with the app and once with curl, the order
alternating (ABBA) so drift on a noisy machine hits both alike:

* app: ``python -m bench._download_child URL DEST`` - a child process running
  :class:`kievideo.core.downloads.Downloader` (hash, ``.part`` + sidecar, fsync, atomic rename);
  it reports its own CPU time, wall time and memory for the ``download()`` call only;
* curl: ``curl -sS -o DEST URL`` (CPU from ``wait4`` of the curl process; wall = curl's
  ``time_total``).

Targets (issue):

(a) origin throttled to 100 MB/s: app throughput >= 0.95 x curl's (median of paired ratios);
(b) unthrottled loopback: app CPU seconds per GB <= 3 x curl's (median of paired ratios);
(c) the app's peak RSS growth during a download < 20 MB (VmHWM - RSS before, worst run).

``--experiments`` adds what-if variants of the app (1 MiB socket reads; no SHA-256) to the CPU line's
details, to size the fixes for a miss.

Run: ``python -m bench.download [--rounds 5] [--mib 200] [--experiments]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._common import PYTHON, emit, median, print_table, run_child, start_sim
from bench._download_child import VARIANTS

BENCH = "download"
THROTTLE_BPS = 100_000_000  # 100 MB/s


def _app(url: str, dest: Path, variant: str = "stock") -> dict[str, Any]:
    run = run_child([PYTHON, "-m", "bench._download_child", url, str(dest), variant])
    lines = run.json_lines()
    if run.rc != 0 or not lines:
        raise RuntimeError(f"app download failed (rc {run.rc}): {run.stderr[-2000:]}")
    out = lines[-1]
    out["process_cpu_s"] = run.cpu_s  # whole child, interpreter start-up and imports included
    out["process_wall_s"] = run.wall_s
    dest.unlink()
    return out


def _curl(url: str, dest: Path) -> dict[str, Any]:
    run = run_child(["curl", "-sS", "-o", str(dest), "-w", "%{time_total} %{size_download}", url])
    if run.rc != 0:
        raise RuntimeError(f"curl failed (rc {run.rc}): {run.stderr[-500:]}")
    total, size = run.stdout.split()
    dest.unlink()
    return {
        "wall_s": float(total),
        "bytes": int(float(size)),
        "cpu_s": run.cpu_s,
        "process_wall_s": run.wall_s,
    }


def _rounds(url: str, rounds: int, work: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    apps: list[dict[str, Any]] = []
    curls: list[dict[str, Any]] = []
    for i in range(rounds):
        order = ("app", "curl") if i % 2 == 0 else ("curl", "app")
        for who in order:
            if who == "app":
                apps.append(_app(url, work / f"app-{i}.bin"))
            else:
                curls.append(_curl(url, work / f"curl-{i}.bin"))
    return apps, curls


def _experiments(url: str, rounds: int, work: Path) -> dict[str, float]:
    """CPU per GB of each what-if variant of the app, as a multiple of curl's (interleaved)."""
    variants = [v for v in VARIANTS if v != "stock"]
    ratios: dict[str, list[float]] = {v: [] for v in variants}
    for i in range(rounds):
        curl = _curl(url, work / f"x-curl-{i}.bin")
        for v in variants:
            ratios[v].append(_app(url, work / f"x-{i}.bin", v)["cpu_s"] / curl["cpu_s"])
    return {v: median(r) for v, r in ratios.items()}


def main(argv: list[str] | None = None) -> int:
    """Run the three download comparisons and print their result lines."""
    ap = argparse.ArgumentParser(prog="python -m bench.download", description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="app+curl pairs per mode")
    ap.add_argument("--mib", type=int, default=200, help="file size in MiB")
    ap.add_argument(
        "--experiments",
        action="store_true",
        help="also measure what-if variants (1 MiB socket reads, no hashing) against curl",
    )
    args = ap.parse_args(argv)
    if shutil.which("curl") is None:
        print("bench.download: curl is not installed; skipped", file=sys.stderr)
        return 0
    size = args.mib * 1024 * 1024
    gb = size / 1e9
    work = Path(tempfile.mkdtemp(prefix="kievideo-bench-dl-"))
    try:
        with start_sim() as sim:
            base = f"{sim.files}/blob/{size}?seed=7"
            # Warm-up (page cache, sim code paths): one unmeasured fetch each.
            _app(base, work / "warm-app.bin")
            _curl(base, work / "warm-curl.bin")
            t_apps, t_curls = _rounds(f"{base}&throttle={THROTTLE_BPS}", args.rounds, work)
            u_apps, u_curls = _rounds(base, args.rounds, work)
            experiments = _experiments(base, args.rounds, work) if args.experiments else {}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # (a) throughput under a 100 MB/s origin
    t_ratio = [
        (a["bytes"] / a["wall_s"]) / (c["bytes"] / c["wall_s"]) for a, c in zip(t_apps, t_curls, strict=True)
    ]
    ratio_a = median(t_ratio)
    emit(
        BENCH,
        "throttled_throughput_app_vs_curl",
        ratio_a,
        unit="x",
        target=">= 0.95",
        passed=ratio_a >= 0.95,
        details={
            "file_mib": args.mib,
            "throttle_mb_s": THROTTLE_BPS / 1e6,
            "rounds": args.rounds,
            "app_mb_s": median([a["bytes"] / a["wall_s"] / 1e6 for a in t_apps]),
            "curl_mb_s": median([c["bytes"] / c["wall_s"] / 1e6 for c in t_curls]),
            "app_finalize_s": median([a.get("finalize_s", 0.0) for a in t_apps]),
            "paired_ratios": t_ratio,
        },
    )

    # (b) CPU per GB on loopback, unthrottled
    cpu_ratio = [a["cpu_s"] / c["cpu_s"] for a, c in zip(u_apps, u_curls, strict=True)]
    ratio_b = median(cpu_ratio)
    emit(
        BENCH,
        "unthrottled_cpu_per_gb_app_vs_curl",
        ratio_b,
        unit="x",
        target="<= 3.0",
        passed=ratio_b <= 3.0,
        details={
            "app_cpu_s_per_gb": median([a["cpu_s"] for a in u_apps]) / gb,
            "app_user_s_per_gb": median([a["user_s"] for a in u_apps]) / gb,
            "app_sys_s_per_gb": median([a["sys_s"] for a in u_apps]) / gb,
            "app_process_cpu_s_per_gb": median([a["process_cpu_s"] for a in u_apps]) / gb,
            "curl_cpu_s_per_gb": median([c["cpu_s"] for c in u_curls]) / gb,
            "app_mb_s": median([a["bytes"] / a["wall_s"] / 1e6 for a in u_apps]),
            "curl_mb_s": median([c["bytes"] / c["wall_s"] / 1e6 for c in u_curls]),
            "paired_ratios": cpu_ratio,
            **{f"what_if_{k}_x_curl": v for k, v in experiments.items()},
        },
    )

    # (c) peak RSS growth, worst of every app run
    growth = [(a["hwm_kb"] - a["rss_before_kb"]) / 1024 for a in (*t_apps, *u_apps)]
    worst = max(growth)
    emit(
        BENCH,
        "peak_rss_growth",
        worst,
        unit="MiB",
        target="< 20",
        passed=worst < 20,
        details={
            "median_mib": median(growth),
            "rss_before_mib": median([a["rss_before_kb"] / 1024 for a in u_apps]),
            "hwm_reset_ok": all(a["hwm_reset"] for a in (*t_apps, *u_apps)),
        },
    )
    print_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
