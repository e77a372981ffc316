"""Child process of ``bench.upload``: one streamed upload through kievideo.api, measured from inside.

    python -m bench._upload_child API_BASE UPLOAD_BASE PATH

Uploads ``PATH`` with ``KieAccount(api, upload, DEMO_KEY).files.upload_stream`` and prints one JSON
line: ``bytes``, ``wall_s``, ``cpu_s`` (this process, the call only), ``rss_before_kb`` and
``hwm_kb`` (peak RSS during the call; VmHWM is reset right before it), ``progress_calls``.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

from bench._common import hwm_kb, reset_hwm, rss_kb
from kievideo.api.kie import KieAccount
from kievideo.sim import DEMO_KEY


async def _main(api: str, upload: str, path: Path, size: int) -> dict[str, object]:
    calls = [0]

    def progress(sent: int, total: int) -> None:
        calls[0] += 1

    async with KieAccount(api, upload, DEMO_KEY) as account:
        before = rss_kb()
        hwm_reset = reset_hwm()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        uploaded = await account.files.upload_stream(path, "bench/uploads", progress=progress)
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        peak = hwm_kb()
    return {
        "bytes": size,
        "server_size": uploaded.file_size,
        "wall_s": wall,
        "cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
        "rss_before_kb": before,
        "hwm_kb": peak,
        "hwm_reset": hwm_reset,
        "progress_calls": calls[0],
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``API_BASE UPLOAD_BASE PATH``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m bench._upload_child API_BASE UPLOAD_BASE PATH", file=sys.stderr)
        return 2
    print(
        json.dumps(asyncio.run(_main(args[0], args[1], Path(args[2]), Path(args[2]).stat().st_size))),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
