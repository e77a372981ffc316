"""``kievideo-cli`` with one deterministic crash point: the process SIGKILLs itself right after
(or right before) a named step of the core, then nothing else runs - exactly what a power cut
or ``kill -9`` at that instant leaves behind.

Usage (the test runs it with the venv's python)::

    python _crashpoint.py POINT -- <kievideo-cli arguments>

POINT is one of :data:`POINTS`. Everything after ``--`` goes to ``kievideo.cli.main``.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _after_async(owner: Any, name: str) -> None:
    real = getattr(owner, name)

    @functools.wraps(real)
    async def wrapper(*args: Any, **kw: Any) -> Any:
        await real(*args, **kw)
        _die()

    setattr(owner, name, wrapper)


def _after_sync(owner: Any, name: str) -> None:
    real = getattr(owner, name)

    @functools.wraps(real)
    def wrapper(*args: Any, **kw: Any) -> Any:
        real(*args, **kw)
        _die()

    setattr(owner, name, wrapper)


def _install(point: str) -> None:
    from kievideo.core import downloads, providers, service

    table: dict[str, Callable[[], None]] = {
        # the create's answer (with the task id) arrived, the id is not stored yet
        "after_create_answer": lambda: _after_async(providers.ProviderAdapter, "create"),
        # the finished download was moved to its name; DONE is not written yet
        "after_file_finalized": lambda: _after_async(downloads.Downloader, "download"),
        # the library name was reserved (empty NAME.part created); the job does not know it yet
        "after_name_reserved": lambda: _after_sync(service, "_reserve"),
    }
    table[point]()


POINTS = ("after_create_answer", "after_file_finalized", "after_name_reserved")


def main() -> int:
    argv = sys.argv[1:]
    if len(argv) < 2 or argv[1] != "--" or argv[0] not in POINTS:
        print(f"usage: _crashpoint.py {{{','.join(POINTS)}}} -- CLI-ARGS", file=sys.stderr)
        return 2
    _install(argv[0])
    from kievideo.cli import main as cli_main

    return cli_main(argv[2:])


if __name__ == "__main__":
    sys.exit(main())
