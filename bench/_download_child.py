"""Child process of ``bench.download``: one download with the app's Downloader, measured from inside.

    python -m bench._download_child URL DEST [VARIANT]

Prints one JSON line: ``bytes``, ``wall_s`` (the ``download()`` call: connect, transfer, fsync,
rename), ``cpu_s`` / ``user_s`` / ``sys_s`` (this process, all threads, during that call only:
interpreter start-up and imports are excluded, as curl has next to none), ``rss_before_kb`` (just
before the call), ``hwm_kb`` (peak RSS during the call; VmHWM is reset first) and ``finalize_s``
(from the progress callback reporting the last byte to the return: queue drain, fsync, rename).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

from bench._common import hwm_kb, reset_hwm, rss_kb
from kievideo.core import downloads
from kievideo.core.downloads import Downloader

#: What-if experiments (``bench.download --experiments``), never used for the targets:
#: ``read1m`` - httpcore reads the socket 1 MiB at a time instead of 64 KiB;
#: ``nohash`` - the Downloader's SHA-256 replaced by a no-op (what hashing costs).
VARIANTS = ("stock", "read1m", "nohash", "read1m+nohash")


class _NoHash:
    def update(self, data: bytes) -> None:
        pass

    def hexdigest(self) -> str:
        return "0" * 64


def apply_variant(variant: str) -> None:
    """Patch the libraries for a what-if experiment (see :data:`VARIANTS`)."""
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; expected one of {VARIANTS}")
    if "read1m" in variant:
        import httpcore._async.http11 as h11conn

        h11conn.AsyncHTTP11Connection.READ_NUM_BYTES = 1024 * 1024
    if "nohash" in variant:
        setattr(downloads, "hashlib", type("H", (), {"sha256": staticmethod(_NoHash)}))  # noqa: B010


async def _main(url: str, dest: Path) -> dict[str, object]:
    async with Downloader() as dl:
        # The app builds its file client once per session (the first download), so the one-time
        # set-up (httpcore's import, the CA bundle) is not part of a download's cost.
        await dl.prepare()
        before = rss_kb()
        hwm_reset = reset_hwm()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        last_byte = [0.0]

        def progress(done: int, total: int | None) -> None:
            if total is not None and done >= total and not last_byte[0]:
                last_byte[0] = time.perf_counter()

        t0 = time.perf_counter()
        result = await dl.download(url, dest, progress=progress)
        t1 = time.perf_counter()
        wall = t1 - t0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        peak = hwm_kb()
    user = ru1.ru_utime - ru0.ru_utime
    system = ru1.ru_stime - ru0.ru_stime
    return {
        "bytes": result.size,
        "wall_s": wall,
        "user_s": user,
        "sys_s": system,
        "cpu_s": user + system,
        "rss_before_kb": before,
        "hwm_kb": peak,
        "hwm_reset": hwm_reset,
        "sha256": result.sha256,
        # last byte handed to the writer -> download() returned: drain, fsync, rename
        "finalize_s": t1 - last_byte[0] if last_byte[0] else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``URL DEST``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print("usage: python -m bench._download_child URL DEST [VARIANT]", file=sys.stderr)
        return 2
    apply_variant(args[2] if len(args) == 3 else "stock")
    print(json.dumps(asyncio.run(_main(args[0], Path(args[1])))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
