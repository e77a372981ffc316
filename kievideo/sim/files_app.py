"""The file origin (the CDN): generated results, uploaded files, signed links and synthetic blobs.

Paths:

* ``/r/<task>/<name>`` - generated results (MP4 clips, PNG thumbnails); 404 before the task is
  done and after the retention period.
* ``/u/<uploadPath>/<fileName>`` - uploaded files; 404 after ``upload_retention_days``.
* ``/d/<token>`` - ``download-url`` links; 403 once their 20 simulated minutes are over.
* ``/blob/<n_bytes>?seed=S&throttle=BPS`` - deterministic pseudo-random bytes, streamed.

All support ``GET``/``HEAD``, a strong ``ETag``, ``If-None-Match`` (304), single ``Range`` requests
(206 + ``Content-Range``; 416 with ``Content-Range: bytes */size`` when unsatisfiable; multi-range
requests are answered 200 with the whole body, which RFC 9110 allows) and ``If-Range`` (a
non-matching validator makes the server ignore ``Range``). No auth: result URLs are capabilities.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .media import blob_slice
from .runtime import Runtime
from .state import ResultFile, UploadedFile

CHUNK = 64 * 1024
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def route_for(method: str, path: str) -> str | None:
    if path.startswith("/r/"):
        return "files.result"
    if path.startswith("/u/"):
        return "files.upload"
    if path.startswith("/d/"):
        return "files.signed"
    if path.startswith("/blob/"):
        return "files.blob"
    return None


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """``(start, end_inclusive)``; None to ignore the header; ``"416"`` when unsatisfiable."""
    m = _RANGE_RE.match(header)
    if m is None:
        return None  # invalid or multi-range: ignore (serve the full body)
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return "416"
        return max(0, size - n), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None  # syntactically invalid range: ignore
    if start >= size:
        return "416"
    return start, end


class RangedBody(Response):
    """A streamed body with ETag/Range/If-Range semantics over a random-access reader."""

    def __init__(
        self,
        request: Request,
        size: int,
        etag: str,
        content_type: str,
        reader: Callable[[int, int], bytes],
        throttle_bps: int | None = None,
    ) -> None:
        self.request = request
        self.size = size
        self.etag = etag
        self.media_type = content_type
        self.reader = reader
        self.throttle_bps = throttle_bps if throttle_bps and throttle_bps > 0 else None
        self.background = None
        self.body = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = self.request.headers
        base = [
            (b"etag", self.etag.encode()),
            (b"accept-ranges", b"bytes"),
            (b"cache-control", b"private, max-age=3600"),
        ]
        inm = headers.get("if-none-match")
        if inm is not None and (inm.strip() == "*" or self.etag in [t.strip() for t in inm.split(",")]):
            await send({"type": "http.response.start", "status": 304, "headers": base})
            await send({"type": "http.response.body", "body": b""})
            return
        status, start, end = 200, 0, self.size - 1
        rng = headers.get("range")
        if rng is not None:
            if_range = headers.get("if-range")
            # If-Range needs a strong match; a weak tag or a date never matches our strong ETag.
            honour = if_range is None or if_range.strip() == self.etag
            parsed = parse_range(rng, self.size) if honour else None
            if parsed == "416":
                await send(
                    {
                        "type": "http.response.start",
                        "status": 416,
                        "headers": [
                            *base,
                            (b"content-range", f"bytes */{self.size}".encode()),
                            (b"content-length", b"0"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            if isinstance(parsed, tuple):
                status, (start, end) = 206, parsed
        length = max(0, end - start + 1)
        ctype = (self.media_type or "application/octet-stream").encode()
        out = [*base, (b"content-type", ctype), (b"content-length", str(length).encode())]
        if status == 206:
            out.append((b"content-range", f"bytes {start}-{end}/{self.size}".encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        if scope["method"] == "HEAD" or length == 0:
            await send({"type": "http.response.body", "body": b""})
            return
        await self._stream(receive, send, start, length)

    async def _stream(self, receive: Receive, send: Send, start: int, length: int) -> None:
        gone = asyncio.Event()

        async def watch() -> None:  # uvicorn's send() silently drops data after a disconnect
            while True:
                if (await receive())["type"] == "http.disconnect":
                    gone.set()
                    return

        watcher = asyncio.create_task(watch())
        try:
            chunk = CHUNK
            if self.throttle_bps:
                chunk = max(1024, min(CHUNK, self.throttle_bps // 10))  # ~10 sends per second
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            sent = 0
            while sent < length and not gone.is_set():
                n = min(chunk, length - sent)
                data = self.reader(start + sent, n)
                if not data:
                    break
                sent += len(data)
                await send({"type": "http.response.body", "body": data, "more_body": sent < length})
                if self.throttle_bps:
                    ahead = sent / self.throttle_bps - (loop.time() - t0)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
            if sent < length and not gone.is_set():  # reader ran short: never claim completion
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher


def build_files_app(rt: Runtime) -> Starlette:
    state = rt.state
    clock = rt.clock

    def throttle_of(request: Request) -> int | None:
        raw = request.query_params.get("throttle")
        if raw:
            try:
                return max(0, int(raw))
            except ValueError:
                return None
        return rt.config.throttle_bps

    async def serve_file(request: Request) -> Response:
        path: str = request.scope["path"]  # already percent-decoded
        now = clock.now()
        if path.startswith("/d/"):
            with state.lock:
                link = state.links.get(path[3:])
            if link is not None and now >= link.expires_at:
                return PlainTextResponse("Request has expired", status_code=403)
        f = state.lookup(path, now)
        if f is None:
            return PlainTextResponse("Not Found", status_code=404)
        if isinstance(f, ResultFile):
            # First use of a clip encodes it (~0.2 s): do that off the event loop.
            await asyncio.get_running_loop().run_in_executor(None, state.file_size_and_etag, f)
        size, etag = state.file_size_and_etag(f)
        ctype = f.content_type if isinstance(f, ResultFile) else f.mime
        target: ResultFile | UploadedFile = f
        return RangedBody(
            request, size, etag, ctype, lambda s, n: state.read_range(target, s, n), throttle_of(request)
        )

    async def blob(request: Request) -> Response:
        try:
            n = int(request.path_params["n"])
            seed = int(request.query_params.get("seed", "0") or 0)
        except ValueError:
            return PlainTextResponse("Bad Request", status_code=400)
        if n < 0:
            return PlainTextResponse("Bad Request", status_code=400)
        return RangedBody(
            request,
            n,
            f'"blob-{n}-{seed}"',
            "application/octet-stream",
            lambda s, k: blob_slice(seed, s, k),
            throttle_of(request),
        )

    methods = ["GET", "HEAD"]
    return Starlette(
        routes=[
            Route("/r/{rest:path}", serve_file, methods=methods),
            Route("/u/{rest:path}", serve_file, methods=methods),
            Route("/d/{token}", serve_file, methods=methods),
            Route("/blob/{n}", blob, methods=methods),
        ]
    )
