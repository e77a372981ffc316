"""A tiny scriptable HTTP/1.1 server on 127.0.0.1 for the API integration tests.

Real sockets, real keep-alive, real timeouts: each test scripts what the server does per request
(answer, hang until the test ends, or drop the connection) and then reads back what arrived.
Bodies are hashed as they stream in (first and last bytes kept), so a 20 MB upload costs the
server no memory either. The simulator (kievideo/sim) will take these tests over later.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

KEEP_HEAD = 64 * 1024
KEEP_TAIL = 1024


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    raw_path: str
    headers: dict[str, str]
    length: int
    sha256: str
    head: bytes  # the first KEEP_HEAD bytes of the body
    tail: bytes  # the last KEEP_TAIL bytes

    @property
    def path(self) -> str:
        return self.raw_path.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.head)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    action: str = "respond"  # "respond" | "hang" (never answer) | "drop" (close without answering)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})


Responder = Callable[[Recorded], Reply]


class ScriptServer:
    """``responder`` decides each answer; ``replies`` (a queue) is used first when not empty."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[Recorded] = []
        self.replies: list[Reply] = []
        self.responder: Responder = lambda rec: Reply.json({"code": 200, "msg": "success", "data": None})
        self.release = threading.Event()
        self.connections = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def setup(self) -> None:
                super().setup()
                outer.connections += 1

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                digest = hashlib.sha256()
                head = bytearray()
                tail = b""
                remaining = length
                while remaining:
                    chunk = self.rfile.read(min(65536, remaining))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    digest.update(chunk)
                    if len(head) < KEEP_HEAD:
                        head += chunk[: KEEP_HEAD - len(head)]
                    tail = (tail + chunk)[-KEEP_TAIL:]
                rec = Recorded(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    length - remaining,
                    digest.hexdigest(),
                    bytes(head),
                    tail,
                )
                outer.requests.append(rec)
                reply = outer.replies.pop(0) if outer.replies else outer.responder(rec)
                if reply.action == "hang":
                    outer.release.wait(30)
                    self.close_connection = True
                    return
                if reply.action == "drop":
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


def free_port() -> int:
    """A port nothing listens on (connections to it are refused until someone binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # Loopback traffic must not go through a proxy configured in the environment.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def servers() -> Iterator[Callable[..., ScriptServer]]:
    """``servers()`` starts another origin (a new port); all are stopped after the test."""
    started: list[ScriptServer] = []

    def start(port: int = 0) -> ScriptServer:
        srv = ScriptServer(port)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


@dataclass
class SleepLog:
    calls: list[float] = field(default_factory=list)
    hook: Callable[[float], None] | None = None

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.hook is not None:
            self.hook(seconds)


@pytest.fixture
def sleeps() -> SleepLog:
    """An injected sleep that records and returns at once (no test waits on a real timer)."""
    return SleepLog()


@pytest.fixture
def reply_cls() -> type[Reply]:
    return Reply


@pytest.fixture
def port_factory() -> Callable[[], int]:
    return free_port
