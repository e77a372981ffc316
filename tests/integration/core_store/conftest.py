"""A small threaded HTTP/1.1 file server on 127.0.0.1 for the download tests.

It speaks real HTTP over real sockets, with the behaviours a file host (S3, R2, a CDN) shows:
``Range`` / ``If-Range`` / ``ETag`` / ``Last-Modified``, 206 and 416, keep-alive. Tests can make
it misbehave once: cut the connection after N body bytes, answer a status once, stall after N
bytes until released, ignore Range, or change a file (and so its ETag). Every request is logged
with its Range/If-Range headers and the status sent, so tests can assert *how* a download
resumed, not only that it ended well.

(The project's simulator serves files too; the lead may move these tests onto it later.)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

_SEND_BLOCK = 64 * 1024


@dataclass
class Resource:
    file: Path
    etag: str | None
    last_modified: str | None
    content_type: str = "video/mp4"


@dataclass
class Logged:
    method: str
    path: str
    range: str | None
    if_range: str | None
    status: int
    sent: int = 0


@dataclass
class FileServer:
    root: Path
    base: str = ""
    resources: dict[str, Resource] = field(default_factory=dict)
    log: list[Logged] = field(default_factory=list)
    cut_after: dict[str, list[int]] = field(default_factory=dict)  # path -> one-shot byte counts
    status_once: dict[str, list[int]] = field(default_factory=dict)  # path -> statuses to send first
    stall_after: dict[str, tuple[int, threading.Event]] = field(default_factory=dict)
    no_range: set[str] = field(default_factory=set)
    with_etag: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    _n: int = 0

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, data: bytes | None = None, *, file: Path | None = None) -> str:
        """Serve ``data`` (or an existing ``file``) at ``path``; returns the URL. Re-adding a
        path changes the content and therefore the ETag and Last-Modified."""
        with self.lock:
            self._n += 1
            n = self._n
        if file is None:
            assert data is not None
            file = self.root / f"res{n}.bin"
            file.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()[:16]
        else:
            digest = f"{file.stat().st_size:x}-{n}"
        etag = f'"{digest}-{n}"' if self.with_etag else None
        self.resources[path] = Resource(file, etag, formatdate(1_700_000_000 + n, usegmt=True))
        return self.url(path)

    def alias(self, new_path: str, old_path: str) -> str:
        """Another URL for the same bytes and ETag (a fresh signed URL for the same file)."""
        self.resources[new_path] = self.resources[old_path]
        return self.url(new_path)

    def requests(self, path: str | None = None) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if path is None or r.path == path]

    def _pop(self, table: dict[str, list[int]], path: str) -> int | None:
        with self.lock:
            queue = table.get(path)
            return queue.pop(0) if queue else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        fs = self.server.fs
        path = self.path.split("?", 1)[0]
        entry = Logged(self.command, path, self.headers.get("Range"), self.headers.get("If-Range"), 0)
        with fs.lock:
            fs.log.append(entry)
        res = fs.resources.get(path)
        forced = fs._pop(fs.status_once, path)
        if res is None or forced is not None:
            status = forced if forced is not None else 404
            entry.status = status
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = res.file.stat().st_size
        start, status = 0, 200
        rng = entry.range
        validators = {v for v in (res.etag, res.last_modified) if v}
        range_ok = (
            rng is not None
            and path not in fs.no_range
            and (entry.if_range is None or entry.if_range in validators)
        )
        if range_ok and rng is not None and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes=") : -1])
            if start >= size:
                entry.status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        entry.status = status
        self.send_response(status)
        self.send_header("Content-Type", res.content_type)
        self.send_header("Content-Length", str(size - start))
        self.send_header("Accept-Ranges", "none" if path in fs.no_range else "bytes")
        if res.etag:
            self.send_header("ETag", res.etag)
        if res.last_modified:
            self.send_header("Last-Modified", res.last_modified)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.end_headers()
        if head:
            return
        cut = fs._pop(fs.cut_after, path)
        stall = fs.stall_after.pop(path, None)
        with open(res.file, "rb") as f:
            f.seek(start)
            sent = 0
            try:
                while block := f.read(_SEND_BLOCK):
                    if cut is not None and sent + len(block) >= cut:
                        self.wfile.write(block[: cut - sent])
                        self.wfile.flush()
                        entry.sent = cut
                        self._abort()
                        return
                    if stall is not None and sent + len(block) >= stall[0]:
                        self.wfile.write(block[: stall[0] - sent])
                        self.wfile.flush()
                        stall[1].wait(30)
                        self._abort()
                        return
                    self.wfile.write(block)
                    sent += len(block)
                    entry.sent = sent
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    def _abort(self) -> None:
        """Drop the connection mid-body, as a crashed proxy or a flaky network would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fs: FileServer

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up (our downloads do, on purpose) is not a server error.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    root = tmp_path / "served"
    root.mkdir()
    fs = FileServer(root)
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.fs = fs
    fs.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), name="file-server", daemon=True)
    thread.start()
    try:
        yield fs
    finally:
        for _, ev in list(fs.stall_after.values()):
            ev.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def payload() -> bytes:
    """3 MiB of incompressible bytes: several chunks, quick to move."""
    return os.urandom(3 * 1024 * 1024 + 12345)
