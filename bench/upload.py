"""Benchmark ``upload``: a 20 MB image streamed to the simulator's upload origin through kievideo.api.

The file is a valid PNG (signature + IHDR + one IDAT chunk of random bytes + IEND; decoders would
reject the pixel data, the upload host only sniffs the header). Each round uploads it once with
the app (``python -m bench._upload_child``: ``KieAccount(api, upload, DEMO_KEY).files.upload_stream``
in a child process, measured from inside) and once with ``curl -F`` to the same endpoint,
alternating the order. The simulator runs in its own process.

Targets: peak RSS growth during the upload well under the file size (< 25 %: the file is never
read whole into memory); throughput is reported against curl's, side by side (no target set).

Run: ``python -m bench.upload [--rounds 5] [--mib 20]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

from bench._common import PYTHON, emit, median, print_table, run_child, start_sim
from kievideo.sim import DEMO_KEY

BENCH = "upload"


def make_png(path: Path, size: int) -> None:
    """A ``size``-byte file that starts like a PNG (signature, IHDR, a big IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4096, 2048, 8, 2, 0, 0, 0))
    tail = chunk(b"IEND", b"")
    payload = size - len(head) - len(tail) - 12
    with open(path, "wb") as fh:
        fh.write(head)
        fh.write(struct.pack(">I", payload) + b"IDAT")
        left = payload
        crc = zlib.crc32(b"IDAT")
        while left:
            block = os.urandom(min(left, 1 << 20))
            crc = zlib.crc32(block, crc)
            fh.write(block)
            left -= len(block)
        fh.write(struct.pack(">I", crc))
        fh.write(tail)


def _app(api: str, upload: str, path: Path) -> dict[str, Any]:
    run = run_child([PYTHON, "-m", "bench._upload_child", api, upload, str(path)])
    lines = run.json_lines()
    if run.rc != 0 or not lines:
        raise RuntimeError(f"app upload failed (rc {run.rc}): {run.stderr[-2000:]}")
    return lines[-1]


def _curl(upload: str, path: Path) -> dict[str, Any]:
    run = run_child(
        [
            "curl", "-sS", "-o", "/dev/null", "-w", "%{time_total} %{http_code}",
            "-H", f"Authorization: Bearer {DEMO_KEY}",
            "-F", f"file=@{path};type=image/png", "-F", "uploadPath=bench/uploads",
            "-F", f"fileName={path.name}",
            f"{upload}/api/file-stream-upload",
        ]
    )  # fmt: skip
    total, status = run.stdout.split()
    if run.rc != 0 or status != "200":
        raise RuntimeError(f"curl upload failed (rc {run.rc}, HTTP {status}): {run.stderr[-500:]}")
    return {"wall_s": float(total), "cpu_s": run.cpu_s}


def main(argv: list[str] | None = None) -> int:
    """Upload the file with the app and curl, interleaved; print the result lines."""
    ap = argparse.ArgumentParser(prog="python -m bench.upload", description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mib", type=int, default=20)
    args = ap.parse_args(argv)
    size = args.mib * 1024 * 1024
    work = Path(tempfile.mkdtemp(prefix="kievideo-bench-up-"))
    apps: list[dict[str, Any]] = []
    curls: list[dict[str, Any]] = []
    try:
        path = work / "big.png"
        make_png(path, size)
        have_curl = shutil.which("curl") is not None
        with start_sim() as sim:
            _app(sim.api, sim.upload, path)  # warm-up
            for i in range(args.rounds):
                order = ("app", "curl") if i % 2 == 0 else ("curl", "app")
                for who in order:
                    if who == "app":
                        apps.append(_app(sim.api, sim.upload, path))
                    elif have_curl:
                        curls.append(_curl(sim.upload, path))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    growth = [(a["hwm_kb"] - a["rss_before_kb"]) / 1024 for a in apps]
    worst = max(growth)
    limit = 0.25 * args.mib
    emit(
        BENCH,
        "peak_rss_growth",
        worst,
        unit="MiB",
        target=f"< {limit:g} (25% of file)",
        passed=worst < limit,
        details={
            "file_mib": args.mib,
            "median_mib": median(growth),
            "rss_before_mib": median([a["rss_before_kb"] / 1024 for a in apps]),
            "hwm_reset_ok": all(a["hwm_reset"] for a in apps),
            "server_saw_all_bytes": all(a["server_size"] == a["bytes"] for a in apps),
        },
    )
    app_mb_s = median([a["bytes"] / a["wall_s"] / 1e6 for a in apps])
    details: dict[str, Any] = {
        "rounds": args.rounds,
        "app_wall_s": median([a["wall_s"] for a in apps]),
        "app_cpu_s": median([a["cpu_s"] for a in apps]),
        "progress_calls": apps[-1]["progress_calls"],
    }
    if curls:
        details["curl_mb_s"] = median([size / c["wall_s"] / 1e6 for c in curls])
        details["app_vs_curl_throughput"] = median(
            [(c["wall_s"] / a["wall_s"]) for a, c in zip(apps, curls, strict=True)]
        )
        details["curl_cpu_s"] = median([c["cpu_s"] for c in curls])
    emit(BENCH, "throughput", app_mb_s, unit="MB/s", target="info", passed=True, details=details)
    print_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
