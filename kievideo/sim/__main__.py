"""``kievideo-sim``: run the simulator standalone.

Prints one JSON line ``{"api": url, "upload": url, "files": url}`` to stdout once all three
origins listen, then serves until SIGINT/SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .config import DEFAULT_FAIL_WORDS, DEMO_KEY, SimConfig, load_faults_file
from .server import SimServer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kievideo-sim", description="Local simulator of the kie.ai and unified video APIs."
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--api-port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--upload-port", type=int, default=0)
    p.add_argument("--files-port", type=int, default=0)
    p.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second (0 = frozen)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--key", action="append", dest="keys", help=f"accepted API key (repeatable; default {DEMO_KEY})"
    )
    p.add_argument("--credits", type=int, default=500)
    p.add_argument("--faults", metavar="FILE", help="JSON list of fault specs")
    p.add_argument(
        "--fail-words",
        help="comma list of words that reject like REJECT (default: REJECT and FAILGEN, each its own kind)",
    )
    p.add_argument(
        "--throttle-bps", type=int, default=None, help="default download throttle of the file origin"
    )
    p.add_argument(
        "--http-status-mirrors-code",
        action="store_true",
        help="answer kie errors with the body code as HTTP status instead of 200",
    )
    p.add_argument(
        "--http",
        choices=("auto", "h11", "httptools"),
        default="auto",
        help="uvicorn HTTP implementation (auto: httptools when installed, else h11)",
    )
    return p


def config_from_args(args: argparse.Namespace) -> SimConfig:
    fail_words: dict[str, str] = dict(DEFAULT_FAIL_WORDS)
    if args.fail_words is not None:
        words = [w.strip() for w in args.fail_words.split(",") if w.strip()]
        fail_words = {w: DEFAULT_FAIL_WORDS.get(w, "content_policy") for w in words}
    return SimConfig(
        speed=args.speed,
        seed=args.seed,
        keys=tuple(args.keys) if args.keys else (DEMO_KEY,),
        credits=args.credits,
        faults=load_faults_file(args.faults) if args.faults else (),
        fail_words=fail_words,
        host=args.host,
        api_port=args.api_port,
        upload_port=args.upload_port,
        files_port=args.files_port,
        throttle_bps=args.throttle_bps,
        http_status_mirrors_code=args.http_status_mirrors_code,
        http=args.http,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)
    except (OSError, ValueError) as exc:
        print(f"kievideo-sim: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sim = SimServer(cfg)
    try:
        sim.start()
    except (OSError, RuntimeError) as exc:
        print(f"kievideo-sim: cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        print(json.dumps(sim.urls()), flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
