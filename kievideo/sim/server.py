"""SimServer: the three origins on one asyncio loop in one background thread.

The sockets are bound in the calling thread (so ports are known, and errors surface, before
``start()`` returns), then three ``uvicorn.Server`` instances serve them concurrently on a private
event loop. Everything the test thread touches (journal, clock, faults, credits, tasks) is guarded
by ``threading.Lock``s in those objects.

A simulator can be stopped and started again (``stop()`` then ``start()``): it really stops
listening (new connections are refused, open ones are closed), and the restart binds the SAME
ports with the SAME state - tasks, credits, uploaded files, journal, faults and clock (which keeps
running while the server is down, like a provider's). Tests use it for "the provider went away
mid-task". ``close()`` (or leaving the ``with`` block) stops it for good and removes its temporary
upload store; a simulator that is only ``stop()``-ed is cleaned up when it is garbage-collected or
at interpreter exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import tempfile
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from . import api_app, files_app, upload_app
from .clock import SimClock
from .config import FaultSpec, SimConfig, parse_faults
from .faults import FaultInjector
from .journal import Journal, JournalEntry
from .media import MediaCache
from .middleware import SimMiddleware, protocol_class
from .runtime import Runtime
from .state import SimState

log = logging.getLogger(__name__)


class _PromptServer(uvicorn.Server):
    """uvicorn.Server that stops promptly.

    Stock uvicorn polls ``should_exit`` every 0.1 s and sleeps another 0.1 s while shutting down,
    which adds ~0.3 s to every test's teardown; tests start a fresh simulator each, so this waits
    on an event instead and polls the connection drain at 10 ms.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_event: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self.exit_event = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000  # on_tick refreshes the Date header when counter % 10 == 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exit_event.wait(), timeout=1.0)

    def request_exit(self) -> None:
        self.should_exit = True
        if self.exit_event is not None:
            self.exit_event.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(self.config.timeout_graceful_shutdown or 2)
        # uvicorn keeps plain sets of connections/tasks (no event to wait on): poll them briefly.
        while (self.server_state.connections or self.server_state.tasks) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        for t in list(self.server_state.tasks):
            t.cancel()
        for conn in list(self.server_state.connections):
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.abort()
        for server in self.servers:
            await server.wait_closed()


class SimServer:
    """A running simulator (see the package docstring for the public API)."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        cfg = self.config
        self._own_data_dir = cfg.data_dir is None
        self._data_dir = (
            Path(cfg.data_dir) if cfg.data_dir else Path(tempfile.mkdtemp(prefix="kievideo-sim-"))
        )
        self.clock = SimClock(cfg.speed, cfg.start_time)
        self.media = MediaCache(cfg.cache_dir)
        self.state = SimState(cfg, self.clock, self.media, self._data_dir)
        self._journal = Journal(limit=cfg.journal_limit)
        self.faults = FaultInjector(cfg.seed, cfg.faults)
        self.rt = Runtime(
            config=cfg,
            clock=self.clock,
            state=self.state,
            journal=self._journal,
            faults=self.faults,
            media=self.media,
            keys=frozenset(cfg.keys),
        )
        self.api_url = ""
        self.upload_url = ""
        self.files_url = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[_PromptServer] = []
        self._started = threading.Event()
        self._error: BaseException | None = None
        #: (api, upload, files) ports of the first start: a restart binds the same ones
        self._ports: tuple[int, int, int] | None = None
        self._lifecycle = threading.Lock()  # start()/stop()/close() from several threads
        self._closed = False
        # The temporary upload store outlives stop() (a restart needs it); it goes with close(),
        # or when this object is collected / the interpreter exits.
        self._cleanup: Callable[[], object] = (
            weakref.finalize(self, shutil.rmtree, str(self._data_dir), True)
            if self._own_data_dir
            else (lambda: None)
        )

    # ------------------------------------------------------------------ lifecycle

    @property
    def key(self) -> str:
        """The first configured key (what a client under test should send)."""
        return self.config.keys[0] if self.config.keys else ""

    @property
    def running(self) -> bool:
        """True while the three origins are serving."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self, timeout: float = 15.0) -> SimServer:
        """Bind the three ports, start serving, and block until all three listen.

        After :meth:`stop`, this binds the same ports again and serves the same state.
        """
        with self._lifecycle:
            if self._closed:
                raise RuntimeError("this simulator was closed; create a new SimServer")
            if self._thread is not None:
                return self
            self._start_locked(timeout)
        return self

    def _start_locked(self, timeout: float) -> None:
        cfg = self.config
        ports = self._ports or (cfg.api_port, cfg.upload_port, cfg.files_port)
        socks: list[socket.socket] = []
        try:
            for port in ports:
                socks.append(self._bind(cfg.host, port))
        except OSError:
            for s in socks:
                s.close()
            raise
        self._ports = (socks[0].getsockname()[1], socks[1].getsockname()[1], socks[2].getsockname()[1])
        host = cfg.host if ":" not in cfg.host else f"[{cfg.host}]"
        urls = [f"http://{host}:{port}" for port in self._ports]
        self.api_url, self.upload_url, self.files_url = urls
        self.state.files_base = self.files_url
        proto = protocol_class(cfg.http)
        # Fresh apps and servers per start: anything asyncio-bound belongs to the new loop.
        apps = [
            SimMiddleware(api_app.build_api_app(self.rt), "api", self.rt, api_app.route_for),
            SimMiddleware(
                upload_app.build_upload_app(self.rt),
                "upload",
                self.rt,
                upload_app.route_for,
                no_preread=upload_app.NO_PREREAD,
            ),
            SimMiddleware(files_app.build_files_app(self.rt), "files", self.rt, files_app.route_for),
        ]
        self._servers = []
        for app in apps:
            ucfg = uvicorn.Config(
                app,
                http=proto,
                ws="none",
                lifespan="off",
                access_log=False,
                log_level="warning",
                timeout_graceful_shutdown=2,
                timeout_keep_alive=30,
                server_header=False,
            )
            self._servers.append(_PromptServer(ucfg))
        self._started = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(socks,), name="kievideo-sim", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout) or self._error is not None:
            error = self._error
            self._stop_locked()
            raise RuntimeError(f"simulator failed to start: {error!r}")

    @staticmethod
    def _bind(host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
        # IPPROTO_TCP, and with Nagle on every response pays a ~40 ms delayed-ACK stall.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(1024)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def _run(self, socks: list[socket.socket]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(socks))
        except BaseException as exc:  # surfaced to start()/stop()
            self._error = exc
            self._started.set()
        finally:
            for s in socks:
                s.close()
            loop.close()

    async def _serve(self, socks: list[socket.socket]) -> None:
        self.rt.shutdown = asyncio.Event()
        tasks = [
            asyncio.create_task(srv.serve(sockets=[s])) for srv, s in zip(self._servers, socks, strict=True)
        ]

        async def mark_started() -> None:
            # uvicorn exposes only a `started` flag (no event), so poll it briefly.
            while not all(srv.started for srv in self._servers):
                if any(t.done() for t in tasks):
                    return
                await asyncio.sleep(0.005)
            self._started.set()

        await mark_started()
        await asyncio.gather(*tasks)

    def stop(self) -> None:
        """Stop serving: close the listening sockets and open connections, wait for the thread.

        The state (tasks, credits, files, journal, clock) is kept: :meth:`start` serves it again
        on the same ports.
        """
        with self._lifecycle:
            self._stop_locked()

    def _stop_locked(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            servers = list(self._servers)

            def _shutdown() -> None:
                if self.rt.shutdown is not None:
                    self.rt.shutdown.set()
                for srv in servers:
                    srv.request_exit()

            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                loop.call_soon_threadsafe(_shutdown)
            thread.join(timeout=15)
        self._thread = None
        self._loop = None

    def close(self) -> None:
        """Stop for good and remove the temporary upload store (no restart after this)."""
        with self._lifecycle:
            self._stop_locked()
            self._closed = True
        self._cleanup()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ test helpers

    @property
    def journal(self) -> list[JournalEntry]:
        return self._journal.entries()

    def creates(self) -> list[JournalEntry]:
        """Create requests that created a task (paid ones, incl. those answered by accept_then_*)."""
        return [e for e in self._journal.entries() if e.create]

    def clear_journal(self) -> None:
        self._journal.clear()

    def set_faults(self, faults: Sequence[FaultSpec] | Sequence[dict[str, Any]]) -> None:
        self.faults.set(list(parse_faults(list(faults))))

    def clear_faults(self) -> None:
        self.faults.clear()

    def advance(self, seconds: float) -> float:
        """Move the simulated clock forward; returns the new simulated time."""
        return self.clock.advance(seconds)

    def now(self) -> float:
        return self.clock.now()

    @property
    def credits(self) -> int:
        with self.state.lock:
            return self.state.credits

    @credits.setter
    def credits(self, value: int) -> None:
        with self.state.lock:
            self.state.credits = int(value)

    def task(self, task_id: str) -> dict[str, Any]:
        """A description of a simulated task (stage, times, files...); KeyError when unknown."""
        task = self.state.get_task(task_id)
        if task is None:
            raise KeyError(task_id)
        return self.state.describe(task, self.clock.now())

    def tasks(self) -> list[dict[str, Any]]:
        with self.state.lock:
            all_tasks = list(self.state.tasks.values())
        now = self.clock.now()
        return [self.state.describe(t, now) for t in all_tasks]

    def file_bytes(self, url: str) -> bytes:
        """The exact bytes the file origin serves for ``url`` (KeyError if it would 404 now)."""
        path = self.state.local_path(url)
        if path is None:
            raise KeyError(f"not a file-origin URL of this simulator: {url}")
        f = self.state.lookup(path, self.clock.now())
        if f is None:
            raise KeyError(f"no file served at {urlsplit(url).path} right now")
        size, _ = self.state.file_size_and_etag(f)
        return self.state.read_range(f, 0, size)

    def urls(self) -> dict[str, str]:
        return {"api": self.api_url, "upload": self.upload_url, "files": self.files_url}
