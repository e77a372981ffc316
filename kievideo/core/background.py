"""Background threads yield the CPU to the GUI thread.

The app's GUI thread runs Qt and the asyncio loop; its helpers (writing and hashing downloads,
decoding posters and thumbnails, file operations run in an executor) are threads of the same
process. On a 2-core machine with downloads, posters and a local simulator running, there are more
runnable threads than cores, and the kernel's scheduler then gives the GUI thread a slice only
every few milliseconds: a stutter. Background threads therefore run at a lower priority
(:data:`BACKGROUND_NICE`): with the GUI thread runnable they get ~10 % of a shared core, and all
of an idle one, so they still finish promptly (libavcodec's own decode threads inherit it).

Linux only: there the nice value belongs to the thread (setpriority(2), "NOTES"); elsewhere
``setpriority`` with a thread id fails or does not exist, and the threads keep normal priority.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["BACKGROUND_NICE", "background_executor", "lower_thread_priority"]

log = logging.getLogger("kievideo.core")

#: nice 10 against the GUI thread's 0: a CFS weight of 110 against 1024.
BACKGROUND_NICE = 10


def lower_thread_priority(nice: int = BACKGROUND_NICE) -> bool:
    """Lower the calling thread's CPU priority to ``nice`` (never raise it). True when done."""
    setpriority = getattr(os, "setpriority", None)
    getpriority = getattr(os, "getpriority", None)
    if setpriority is None or getpriority is None or not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        if getpriority(os.PRIO_PROCESS, tid) >= nice:
            return True
        setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError as e:  # e.g. a sandbox that forbids it: keep working at normal priority
        log.debug("cannot lower the priority of thread %s: %s", tid, e)
        return False
    return True


def background_executor(max_workers: int | None = None, thread_name_prefix: str = "") -> ThreadPoolExecutor:
    """A ThreadPoolExecutor whose threads run at background priority."""
    return ThreadPoolExecutor(
        max_workers=max_workers, thread_name_prefix=thread_name_prefix, initializer=lower_thread_priority
    )
