"""Bundle benchmark: size and start time of the frozen app vs a frozen bare PySide6 window.

    python -m bench.bundle                 # reuse dist/kievideo if present, build the bare bundle if missing
    python -m bench.bundle --rebuild       # rebuild both bundles first (about 2 minutes for the app)
    python -m bench.bundle --runs 15

What it measures, for ``dist/kievideo/kievideo`` (the app, started with a fresh ``--data-dir``) and
``dist/bench-bare/bench-bare`` (``packaging/bare_window.py``: a QMainWindow with a QLabel, frozen by
the same PyInstaller with the same runtime hook):

* ``size_mb``: ``du`` of the bundle folder (apparent size, MiB);
* ``first_paint_ms``: from ``exec`` to the first Paint event of a top-level window;
* ``start_exit_ms``: from ``exec`` to process exit, the window having been closed right after that
  first paint through the app's normal shutdown path;

both as the median of ``--runs`` runs after one warm-up run each, offscreen
(``QT_QPA_PLATFORM=offscreen``); the two bundles' runs alternate, so background load hits both alike.
The quit-after-paint behaviour is ``KIEVIDEO_QUIT_AFTER_PAINT=1``, implemented by the PyInstaller
runtime hook ``packaging/rthook_quit_after_paint.py`` that both bundles carry.

Output: one JSON line per bundle (``{"bench": "bundle", "variant": "app"|"bare", "cores": ..., "date": ...}``)
then a short table.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
APP_EXE = ROOT / "dist" / "kievideo" / "kievideo"
BARE_EXE = ROOT / "dist" / "bench-bare" / "bench-bare"
FIRST_PAINT_TAG = "KIEVIDEO_FIRST_PAINT"
RUN_TIMEOUT_S = 60.0


@dataclass
class Result:
    """One bundle's numbers (one JSON line)."""

    bench: str
    variant: str
    cores: int
    date: str
    platform: str
    qpa: str
    runs: int
    size_mb: float
    files: int
    first_paint_ms: float | None
    start_exit_ms: float | None
    start_exit_min_ms: float | None
    failures: int
    exe: str


def bundle_size(folder: Path) -> tuple[float, int]:
    """Apparent size in MiB (like ``du -s --apparent-size``) and the number of files."""
    total, files = 0, 0
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
            files += 1
    return total / 2**20, files


def build_app(python: str) -> None:
    """Build dist/kievideo with the project's spec (same command as scripts/build-bundle.sh)."""
    subprocess.run(
        [python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", "dist", "--workpath", "build", "packaging/kievideo.spec"],
        cwd=ROOT, check=True,
    )  # fmt: skip


def build_bare(python: str) -> None:
    """Build dist/bench-bare from packaging/bare_window.py with plain PyInstaller flags."""
    work = ROOT / "build" / "bench-bare"
    subprocess.run(
        [python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--onedir",
         "--name", "bench-bare", "--distpath", "dist", "--workpath", str(work), "--specpath", str(work),
         "--runtime-hook", str(PACKAGING / "rthook_quit_after_paint.py"),
         "--exclude-module", "tkinter", str(PACKAGING / "bare_window.py")],
        cwd=ROOT, check=True,
    )  # fmt: skip


def time_one(cmd: list[str], env: dict[str, str]) -> tuple[float, float | None, int]:
    """Run ``cmd`` once: (ms to exit, ms to first paint or None, return code)."""
    t0_wall = time.time()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    elapsed = (time.perf_counter() - t0) * 1000
    paint = None
    for line in proc.stderr.splitlines():
        if line.startswith(FIRST_PAINT_TAG):
            paint = (float(line.split()[1]) - t0_wall) * 1000
            break
    return elapsed, paint, proc.returncode


def measure(
    variants: dict[str, list[str]], runs: int, env: dict[str, str]
) -> dict[str, tuple[list[float], list[float], int]]:
    """One warm-up run each, then ``runs`` rounds that run every variant once, interleaved (so a
    busy machine slows both alike). Per variant: exit times, first-paint times, failure count."""
    samples: dict[str, tuple[list[float], list[float], int]] = {}
    exits: dict[str, list[float]] = {v: [] for v in variants}
    paints: dict[str, list[float]] = {v: [] for v in variants}
    failures = dict.fromkeys(variants, 0)
    for cmd in variants.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            time_one(cmd, env)
    for _ in range(runs):
        for variant, cmd in variants.items():
            try:
                elapsed, paint, rc = time_one(cmd, env)
            except subprocess.TimeoutExpired:
                failures[variant] += 1
                continue
            if rc != 0 or paint is None:
                failures[variant] += 1
                continue
            exits[variant].append(elapsed)
            paints[variant].append(paint)
    for variant in variants:
        if failures[variant]:
            print(
                f"bench.bundle: {variant}: {failures[variant]}/{runs} runs failed (no paint, or rc)",
                file=sys.stderr,
            )
        samples[variant] = (exits[variant], paints[variant], failures[variant])
    return samples


def main(argv: list[str] | None = None) -> int:
    """Build or reuse both bundles, measure them, print JSON lines and a table."""
    parser = argparse.ArgumentParser(prog="python -m bench.bundle", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per bundle (median reported)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild both bundles first")
    parser.add_argument("--python", default=sys.executable, help="interpreter with PyInstaller")
    args = parser.parse_args(argv)

    if args.rebuild or not APP_EXE.exists():
        build_app(args.python)
    if args.rebuild or not BARE_EXE.exists():
        build_bare(args.python)

    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    env["KIEVIDEO_QUIT_AFTER_PAINT"] = "1"
    env["QT_LOGGING_RULES"] = "qt.multimedia.symbolsresolver=false;qt.multimedia.ffmpeg=false"
    data_dir = Path(tempfile.mkdtemp(prefix="kievideo-bench-"))
    date = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    exes = {"app": APP_EXE, "bare": BARE_EXE}
    cmds = {"app": [str(APP_EXE), "--data-dir", str(data_dir)], "bare": [str(BARE_EXE)]}
    try:
        samples = measure(cmds, args.runs, env)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    results: list[Result] = []
    for variant, (exits, paints, failures) in samples.items():
        exe = exes[variant]
        size, files = bundle_size(exe.parent)
        results.append(
            Result(
                bench="bundle",
                variant=variant,
                cores=os.cpu_count() or 0,
                date=date,
                platform=platform.platform(terse=True),
                qpa=env["QT_QPA_PLATFORM"],
                runs=len(exits),
                size_mb=round(size, 1),
                files=files,
                first_paint_ms=round(statistics.median(paints), 1) if paints else None,
                start_exit_ms=round(statistics.median(exits), 1) if exits else None,
                start_exit_min_ms=round(min(exits), 1) if exits else None,
                failures=failures,
                exe=str(exe.relative_to(ROOT)),
            )
        )

    for r in results:
        print(json.dumps(asdict(r)))
    print()
    print(f"{'bundle':<8} {'size MiB':>9} {'files':>6} {'first paint ms':>15} {'start+exit ms':>14}")
    for r in results:
        fp = f"{r.first_paint_ms:.0f}" if r.first_paint_ms is not None else "-"
        se = f"{r.start_exit_ms:.0f}" if r.start_exit_ms is not None else "-"
        print(f"{r.variant:<8} {r.size_mb:>9.1f} {r.files:>6} {fp:>15} {se:>14}")
    app, bare = results
    if app.start_exit_ms and bare.start_exit_ms:
        print(
            f"app/bare: size x{app.size_mb / bare.size_mb:.1f}, "
            f"start+exit x{app.start_exit_ms / bare.start_exit_ms:.1f} (median of {args.runs}, offscreen)"
        )
    return 0 if all(r.failures == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
