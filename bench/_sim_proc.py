"""The simulator in its own process, with knobs the ``kievideo-sim`` CLI does not expose.

    python -m bench._sim_proc [--speed 20] [--rate-limit 100000] [--credits N]

Like ``kievideo-sim``: prints one JSON line with the three origins' URLs once they listen, serves
until SIGTERM/SIGINT. ``--rate-limit`` lifts the 20-creates-per-10-s limit so a benchmark can
create hundreds of tasks at once (the app's own create limiter is not involved: the benchmark
creates those tasks directly, then hands them to the app as tasks to resume).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from types import FrameType

from kievideo.sim import DEMO_KEY, SimConfig, SimServer


def main(argv: list[str] | None = None) -> int:
    """Run until terminated."""
    ap = argparse.ArgumentParser(prog="python -m bench._sim_proc")
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--rate-limit", type=int, default=100_000)
    ap.add_argument("--credits", type=int, default=10**9)
    args = ap.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with tempfile.TemporaryDirectory(prefix="kievideo-bench-sim-") as cache:
        cfg = SimConfig(
            speed=args.speed,
            credits=args.credits,
            keys=(DEMO_KEY,),
            rate_limit=args.rate_limit,
            cache_dir=cache,
        )
        with SimServer(cfg) as sim:
            print(json.dumps(sim.urls()), flush=True)
            while not stop.wait(0.2):
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
