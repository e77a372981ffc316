"""Downloading finished videos into the library: resumable, verifiable, never half-visible.

The result of a paid task lives on the provider's file host for a limited time (14 days, 24 h
for some, 20 min for a download-url link), so the download must survive flaky networks and app
restarts, and must never leave something that *looks* like a finished video when it is not:

* bytes go to ``NAME.part``; a sidecar ``NAME.part.json`` holds the ETag / Last-Modified and
  the total length, written before the first byte, so a restarted process can resume;
* a resume sends ``Range: bytes=N-`` with ``If-Range``; a ``200`` answer (content changed, or
  no range support) restarts from zero, a ``206`` is checked against its ``Content-Range``;
* transient failures (connection reset, timeout, 5xx, a body shorter than promised) are
  retried with back-off, each time resuming from what is already on disk;
* 401/403/404/410 raise :class:`UrlExpiredError` at once: the caller asks the provider for a
  fresh URL and calls again; the ``.part`` is reused if the new URL serves the same file;
* at the end: fsync the file, move it to ``dest`` *without ever overwriting* (hard link, which
  fails if ``dest`` exists, then unlink), fsync the directory, drop the sidecar;
* the ``.part`` is flock-ed for the whole download, so the GUI and the CLI resuming the same
  job cannot both write it (the second gets :class:`DownloadInProgressError`);
* a ``200``/``206`` with an empty body is never a finished file, and with ``expect_video=True``
  (what the service asks for) neither is a ``text/*``, JSON or XML answer, nor a file that does not
  start like a video container (MP4/MOV: an ``ftyp``/``moov``/``mdat``/``free``/``skip``/``wide``
  box; WebM/Matroska: the EBML magic ``1A 45 DF A3``). Such an answer is retried like any other
  transient failure, without touching what is already on disk, and when the host keeps sending
  it, :class:`NotAVideoError` tells the caller to fetch a fresh URL. It never reaches ``dest``.

The HTTP client carries no credentials: result files are on other hosts than the API, and the
API key must never go there.
"""

from __future__ import annotations

import asyncio
import asyncio.selector_events
import contextlib
import functools
import hashlib
import json
import logging
import os
import random
import re
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import httpx

from kievideo.api.http import open_file_client, preload_transport
from kievideo.core.background import background_executor
from kievideo.core.naming import part_path

if sys.platform != "win32":
    import fcntl

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DownloadError",
    "DownloadInProgressError",
    "DownloadIntegrityError",
    "DownloadResult",
    "Downloader",
    "NotAVideoError",
    "ProgressCallback",
    "UrlExpiredError",
    "looks_like_video",
    "sidecar_path",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None], None]  # (bytes on disk, total or None)

DEFAULT_CHUNK_SIZE = 512 * 1024  # bytes per write batch: few thread hops, flat memory
_HASH_BLOCK = 1024 * 1024
#: httpcore reads the socket 64 KiB per call; each read walks anyio's cancel scope, h11 and a
#: generator stack, which made downloads cost ~3.5x curl's CPU per GB. 1 MiB reads bring it under
#: 3x (bench/download.py --experiments). Below httpcore, asyncio's socket transport takes at most
#: 256 KiB per recv() (``_SelectorSocketTransport.max_size``), so each 1 MiB of a fast download
#: still took four trips through the stack: 1 MiB there too brought the app from 5.5-5.8 to
#: 3.9-4.2 CPU s per GB (curl: 1.6-1.9) and from ~190 to ~270 MB/s on loopback. Both only let a
#: read return more of what is already buffered, so other connections (small JSON answers) are
#: unaffected.
_SOCKET_READ_BYTES = 1024 * 1024


_widened = False


def _widen_socket_reads() -> None:
    """Done at the first download or ``prepare()``, not at construction: the import of httpcore
    it needs costs ~40 ms, which must not sit on a window's first-paint path."""
    global _widened
    if _widened:
        return
    _widened = True
    try:
        from httpcore._async import http11
    except ImportError:  # a future httpcore moved it: keep its default, lose only some speed
        return
    current = getattr(http11.AsyncHTTP11Connection, "READ_NUM_BYTES", None)
    if isinstance(current, int) and current < _SOCKET_READ_BYTES:
        http11.AsyncHTTP11Connection.READ_NUM_BYTES = _SOCKET_READ_BYTES
    # A class attribute of CPython's (3.11-3.13); a release without it keeps its own size.
    transport = getattr(asyncio.selector_events, "_SelectorSocketTransport", None)
    size = getattr(transport, "max_size", None)
    if transport is not None and isinstance(size, int) and size < _SOCKET_READ_BYTES:
        transport.max_size = _SOCKET_READ_BYTES


_IN_FLIGHT = 4  # queued write batches per download: memory <= (_IN_FLIGHT + 1) * chunk_size
_SIDECAR_VERSION = 1
_EXPIRED_STATUSES = frozenset({401, 403, 404, 410})
_TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: ISO BMFF (MP4/MOV/M4V) top-level boxes a video file starts with (type at bytes 4..8)
_VIDEO_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide"})
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # WebM / Matroska
_HEAD_BYTES = 16  # enough of the body to tell a video container from a page
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


class DownloadError(Exception):
    """A download failed for good (after retries, or for a reason retrying cannot fix)."""


class UrlExpiredError(DownloadError):
    """The file host refused the URL (401/403/404/410): it has expired or was never valid.

    Ask the provider for a fresh URL (record-info, or the common download-url endpoint) and
    call :meth:`Downloader.download` again with the same ``dest``: the partial file is kept.
    """

    def __init__(self, status: int, url: str) -> None:
        self.status = status
        self.url = url  # kept for the caller; not in str(): signed URLs carry tokens
        super().__init__(f"the download link expired or is not valid (HTTP {status} from {_host(url)})")


class DownloadInProgressError(DownloadError):
    """Another download (in this process or another kievideo process) is writing the same
    ``NAME.part`` right now. Nothing was touched; the other one will finish the file."""


class NotAVideoError(DownloadError):
    """The file host kept answering 200/206 with something that is not the video (an empty
    body, a JSON or HTML page, bytes without a video container signature), on every retry.

    Nothing was moved to ``dest`` and the partial file was left as it was. Ask the provider for
    a fresh URL and call again; ``what`` says what came instead (no URL, no token).
    """

    def __init__(self, what: str, url: str) -> None:
        self.what = what
        self.url = url  # kept for the caller; not in str(): signed URLs carry tokens
        super().__init__(f"the file host ({_host(url)}) sent {what} instead of the video")


class DownloadIntegrityError(DownloadError):
    """The finished file does not have the expected size or SHA-256. The partial file is
    deleted: retrying would only reproduce it."""


@dataclass(frozen=True, slots=True)
class DownloadResult:
    path: Path  # the final file (== dest)
    size: int
    sha256: str  # hex digest of the whole file
    etag: str | None
    resumed: bool  # True when bytes from an earlier attempt or process were kept


class _Transient(Exception):
    """A failure worth retrying. ``progressed``: bytes were written in this attempt, so the
    failure budget starts afresh (a slow, choppy link should still get there)."""

    def __init__(
        self,
        message: str,
        *,
        progressed: bool = False,
        retry_after: float | None = None,
        not_video: str | None = None,
    ) -> None:
        super().__init__(message)
        self.progressed = progressed
        self.retry_after = retry_after
        #: what came instead of the video (the answer was not the file at all)
        self.not_video = not_video


@dataclass(slots=True)
class _Meta:
    """What the sidecar remembers about the partial file."""

    etag: str | None = None
    last_modified: str | None = None
    total: int | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": _SIDECAR_VERSION,
                "etag": self.etag,
                "last_modified": self.last_modified,
                "total": self.total,
            }
        )


@dataclass(slots=True)
class _Outcome:
    size: int
    sha256: str
    etag: str | None
    resumed: bool


class _HashCarry:
    """The running hash of the bytes already on disk, kept between attempts of one download()
    call so a resume does not re-read the whole partial file."""

    def __init__(self) -> None:
        self.hasher = hashlib.sha256()
        self.length = 0

    def reset(self) -> None:
        self.hasher = hashlib.sha256()
        self.length = 0


def looks_like_video(head: bytes) -> bool:
    """Do the first bytes of a file start a video container (MP4/MOV box, WebM/Matroska EBML)?"""
    return (len(head) >= 8 and head[4:8] in _VIDEO_BOXES) or head[:4] == _EBML_MAGIC


def _is_page_type(content_type: str | None) -> str | None:
    """The media type when it says "a page or a message", not a file: text/*, JSON, XML (an S3
    or CDN error document)."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype.startswith("text/") or ctype in ("application/json", "application/xml"):
        return ctype
    if ctype.endswith(("+json", "+xml")):
        return ctype
    return None


def sidecar_path(dest: Path) -> Path:
    """``NAME.part.json`` next to ``NAME.part``."""
    part = part_path(dest)
    return part.with_name(part.name + ".json")


class Downloader:
    """Resumable downloads over one credential-free ``httpx.AsyncClient``.

    ``sleep`` is injectable (a core Clock's ``sleep``, or a no-op in tests) so back-off never
    makes a test wait in real time.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_retries: int = 5,
        max_attempts: int = 50,
        backoff_base: float = 0.5,
        backoff_cap: float = 15.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        timeout: float = 60.0,
    ) -> None:
        if chunk_size < 64 * 1024:
            raise ValueError("chunk_size below 64 KiB makes downloads needlessly slow")
        # Our own client is made on first use: building it (httpcore's import and the system CA
        # bundle) costs ~70 ms, which would otherwise delay the first window paint.
        self._own_client: httpx.AsyncClient | None = None
        self._given_client = client
        self._timeout = timeout
        self._chunk = chunk_size
        self._max_retries = max_retries
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep or asyncio.sleep

    @property
    def _client(self) -> httpx.AsyncClient:
        if self._given_client is not None:
            return self._given_client
        if self._own_client is None:
            self._own_client = open_file_client(timeout=self._timeout)
        return self._own_client

    async def prepare(self) -> None:
        """Build the client and import what its first request would import, on a worker
        thread, instead of on the loop in the first download (the app calls this at start)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, preload_transport)
        _widen_socket_reads()
        if self._given_client is not None or self._own_client is not None:
            return
        client = await loop.run_in_executor(None, lambda: open_file_client(timeout=self._timeout))
        if self._own_client is None:
            self._own_client = client
        else:  # a download made one meanwhile
            await client.aclose()

    async def aclose(self) -> None:
        """Close the client if this Downloader created it."""
        if self._own_client is not None:
            client, self._own_client = self._own_client, None
            await client.aclose()

    async def __aenter__(self) -> Downloader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def download(
        self,
        url: str,
        dest: Path,
        *,
        progress: ProgressCallback | None = None,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
        expect_video: bool = False,
    ) -> DownloadResult:
        """Fetch ``url`` into ``dest`` (which must not exist: pick it with
        :func:`kievideo.core.naming.unique_path`, and reuse the same ``dest`` to resume).

        ``progress(done, total)`` is called at most once per chunk (plus once when the body
        starts), on the loop thread; throttle UI updates on the caller's side. An exception it
        raises aborts the download and keeps the partial file.

        ``expect_video``: only a video container (see :func:`looks_like_video`) is a finished
        file; a ``text/*``/JSON answer or other bytes are retried, then NotAVideoError.

        Raises UrlExpiredError (fetch a new URL and call again), NotAVideoError (likewise),
        DownloadInProgressError (someone else is downloading this file right now),
        DownloadIntegrityError, DownloadError, FileExistsError, OSError (disk full...: not
        retried).
        """
        _widen_socket_reads()
        dest = Path(dest)
        part, side = part_path(dest), sidecar_path(dest)
        loop = asyncio.get_running_loop()
        if await loop.run_in_executor(None, os.path.lexists, dest):
            recovered = await loop.run_in_executor(None, _recover_finished, dest, part, side)
            if recovered is None:
                raise FileExistsError(f"{dest} already exists; kievideo never overwrites a file")
            return recovered
        await loop.run_in_executor(None, functools.partial(dest.parent.mkdir, parents=True, exist_ok=True))
        # Hold an exclusive lock on NAME.part for the whole download: the GUI and the CLI may
        # both resume the same job, and two writers on one .part would corrupt it silently.
        lock = await loop.run_in_executor(None, _lock_part, part, dest)
        try:
            return await self._download_locked(
                url, dest, part, side, progress, expected_sha256, expected_size, expect_video
            )
        finally:
            _unlock(lock)

    async def _download_locked(
        self,
        url: str,
        dest: Path,
        part: Path,
        side: Path,
        progress: ProgressCallback | None,
        expected_sha256: str | None,
        expected_size: int | None,
        expect_video: bool = False,
    ) -> DownloadResult:
        loop = asyncio.get_running_loop()
        carry = _HashCarry()
        failures = attempts = 0
        while True:
            attempts += 1
            try:
                outcome = await self._attempt(url, part, side, progress, carry, expect_video)
                break
            except _Transient as e:
                failures = 1 if e.progressed else failures + 1
                if failures > self._max_retries or attempts >= self._max_attempts:
                    if e.not_video is not None:
                        raise NotAVideoError(e.not_video, url) from e
                    raise DownloadError(
                        f"download from {_host(url)} failed after {attempts} attempts: {e}"
                    ) from e
                delay = self._backoff(failures, e.retry_after)
                log.info("download from %s: %s; retrying in %.1f s", _host(url), e, delay)
                await self._sleep(delay)

        if (expected_size is not None and outcome.size != expected_size) or (
            expected_sha256 is not None and outcome.sha256.lower() != expected_sha256.lower()
        ):
            await loop.run_in_executor(None, _discard, part, side)
            raise DownloadIntegrityError(
                "the downloaded file is not the expected one"
                f" (size {outcome.size}, sha256 {outcome.sha256[:12]}…)"
            )
        await loop.run_in_executor(None, _finalize, part, dest, side)
        return DownloadResult(dest, outcome.size, outcome.sha256, outcome.etag, outcome.resumed)

    @staticmethod
    def discard_partial(dest: Path) -> bool:
        """Delete ``NAME.part`` and its sidecar (the job was removed, or its result expired for
        good). Refuses (False) while a download holds the lock. Blocking: use an executor."""
        part, side = part_path(Path(dest)), sidecar_path(Path(dest))
        if not part.exists():
            side.unlink(missing_ok=True)
            return True
        try:
            lock = _lock_part(part, Path(dest))
        except (DownloadInProgressError, FileExistsError):
            return False
        try:
            _discard(part, side)
        finally:
            _unlock(lock)
        return True

    # ---- one HTTP exchange -------------------------------------------------------------------

    async def _attempt(
        self,
        url: str,
        part: Path,
        side: Path,
        progress: ProgressCallback | None,
        carry: _HashCarry,
        expect_video: bool = False,
    ) -> _Outcome:
        loop = asyncio.get_running_loop()
        offset, meta = await loop.run_in_executor(None, _load_state, part, side)
        headers = {"Accept-Encoding": "identity"}  # byte ranges must count the file's own bytes
        if offset > 0 and meta is not None:
            headers["Range"] = f"bytes={offset}-"
            validator = meta.etag if meta.etag and not meta.etag.startswith("W/") else meta.last_modified
            if validator:  # RFC 9110: If-Range needs a strong validator
                headers["If-Range"] = validator
        written = [0]  # bytes written in this attempt, visible to the except clause
        try:
            async with self._client.stream("GET", url, headers=headers) as resp:
                outcome = await self._consume(
                    resp, url, part, side, offset, meta, progress, carry, written, expect_video
                )
        except httpx.TransportError as e:  # timeouts, resets, truncated bodies (RemoteProtocolError)
            raise _Transient(f"{type(e).__name__}: {e}", progressed=written[0] > 0) from e
        if expect_video:
            # The whole file is on disk: whatever the headers said, it must start like a video
            # (this also covers a prefix kept from an earlier attempt or process).
            head = await loop.run_in_executor(None, _read_head, part)
            if not looks_like_video(head):
                await loop.run_in_executor(None, _reset, part, side)
                carry.reset()
                what = f"a {outcome.size}-byte file that is not a video"
                raise _Transient(what, not_video=what)
        return outcome

    async def _consume(
        self,
        resp: httpx.Response,
        url: str,
        part: Path,
        side: Path,
        offset: int,
        meta: _Meta | None,
        progress: ProgressCallback | None,
        carry: _HashCarry,
        written: list[int],
        expect_video: bool = False,
    ) -> _Outcome:
        loop = asyncio.get_running_loop()
        status = resp.status_code
        if status in _EXPIRED_STATUSES:
            raise UrlExpiredError(status, url)
        if status == 416:
            if offset > 0 and meta is not None and meta.total == offset:
                # We already have every byte (killed between the last write and the rename).
                digest = await loop.run_in_executor(None, _hash_prefix, part, offset, carry)
                return _Outcome(offset, digest, meta.etag, resumed=True)
            await loop.run_in_executor(None, _reset, part, side)
            carry.reset()
            raise _Transient("the server refused our byte range; starting over")
        if status in _TRANSIENT_STATUSES or status >= 500:
            raise _Transient(f"HTTP {status}", retry_after=_retry_after(resp))
        if status not in (200, 206):
            raise DownloadError(f"the file host answered HTTP {status}")

        encoded = resp.headers.get("content-encoding", "identity").lower() not in ("", "identity")
        etag = resp.headers.get("etag")
        length = _int_or_none(resp.headers.get("content-length"))
        page = _is_page_type(resp.headers.get("content-type")) if expect_video else None
        pieces = _Pieces(resp.aiter_bytes() if encoded else resp.aiter_raw())
        if length == 0:
            # Nothing at all is never the file (and must not empty a partial file we keep).
            raise _Transient(f"an empty answer (HTTP {status})", not_video=f"an empty answer (HTTP {status})")
        resumed = False
        total: int | None
        expect: int | None
        if status == 206:
            cr = _parse_content_range(resp.headers.get("content-range"))
            if (
                offset == 0
                or meta is None
                or encoded
                or cr is None
                or cr[0] != offset
                or (meta.total is not None and cr[2] is not None and cr[2] != meta.total)
            ):
                # Not the continuation we asked for: never splice unknown bytes onto the file.
                await loop.run_in_executor(None, _reset, part, side)
                carry.reset()
                raise _Transient("the server sent an unexpected byte range; starting over")
            if page is not None:
                # A page where the rest of the video should be: start over from byte 0, where the
                # next answer's first bytes can be checked.
                await loop.run_in_executor(None, _reset, part, side)
                carry.reset()
                sent = f"{page} content (HTTP 206)"
                raise _Transient(sent, not_video=sent)
            expect = cr[1] - cr[0] + 1
            total = cr[2] if cr[2] is not None else meta.total
            etag = etag or meta.etag
            resumed = True
        else:
            # 200: the whole file (first attempt, content changed, or no range support). Look at
            # its first bytes BEFORE the partial file is started over: an answer that is no file
            # (empty, a page) must not destroy what an earlier attempt kept.
            head = await pieces.peek(_HEAD_BYTES)
            what: str | None = None
            if not head:
                what = "an empty answer (HTTP 200)"
            elif expect_video and not looks_like_video(head):
                shown = length if length is not None else f"{len(head)}+"
                what = f"{page} content ({shown} bytes)" if page else "bytes that are not a video file"
            elif page is not None:
                log.warning("the file host labels a video as %s; keeping it", page)
            if what is not None:
                raise _Transient(what, not_video=what)
            offset = 0
            carry.reset()
            expect = None if encoded else length
            total = expect
            new_meta = _Meta(etag=etag, last_modified=resp.headers.get("last-modified"), total=total)
            # The sidecar goes down before the first byte, so a kill at any point can resume.
            # An encoded body cannot be resumed by byte range: no sidecar, restart next time.
            await loop.run_in_executor(None, _start_part, part, side, None if encoded else new_meta)

        # One writer thread per response: FIFO keeps the bytes in order, and writing + hashing
        # overlap with reading the socket. At most _IN_FLIGHT batches wait, so memory stays flat.
        io = background_executor(max_workers=1, thread_name_prefix="kievideo-download")
        pending: deque[asyncio.Future[None]] = deque()
        received = 0
        try:
            writer = await loop.run_in_executor(io, _PartWriter.open, part, offset, carry)
            try:
                if progress is not None:
                    progress(offset, total)
                batch: list[bytes] = []
                batch_len = 0
                try:
                    async for piece in pieces:
                        batch.append(piece)
                        batch_len += len(piece)
                        if batch_len >= self._chunk:
                            received += await self._submit(io, writer, batch, pending)
                            written[0] = received
                            batch, batch_len = [], 0
                            if progress is not None:
                                progress(offset + received, total)
                except httpx.TransportError:
                    # Keep what did arrive: the resume then starts after it.
                    received += await self._submit(io, writer, batch, pending)
                    written[0] = received
                    await _drain(pending)
                    raise
                received += await self._submit(io, writer, batch, pending)
                written[0] = received
                await _drain(pending)
                await loop.run_in_executor(io, writer.sync)
                if progress is not None and batch:
                    progress(offset + received, total)
            finally:
                for fut in pending:  # cancelled mid-way: queued writes are dropped
                    fut.cancel()
                writer.close()  # waits for a write still running on the writer thread
        finally:
            io.shutdown(wait=False, cancel_futures=True)
        size = offset + received
        if (expect is not None and received != expect) or (total is not None and size != total):
            raise _Transient(f"the body ended early ({size} of {total} bytes)", progressed=received > 0)
        return _Outcome(size, carry.hasher.hexdigest(), etag, resumed)

    @staticmethod
    async def _submit(
        io: ThreadPoolExecutor, writer: _PartWriter, batch: list[bytes], pending: deque[asyncio.Future[None]]
    ) -> int:
        """Queue a batch for the writer thread; wait for the oldest when too many are queued.
        Returns the batch's size. A write error surfaces here (or in _drain)."""
        if not batch:
            return 0
        pending.append(asyncio.get_running_loop().run_in_executor(io, writer.write, batch))
        while len(pending) > _IN_FLIGHT:
            await pending.popleft()
        return sum(len(b) for b in batch)

    def _backoff(self, failures: int, retry_after: float | None) -> float:
        cap = self._backoff_cap
        if retry_after is not None:
            return min(retry_after, cap * 4)
        # Full jitter: many downloads failing together should not retry in lockstep.
        return random.uniform(0, min(cap, self._backoff_base * 2 ** (failures - 1)))


# ---- file-system helpers (run in an executor: they block) -------------------------------------


#: os.posix_fadvise where it exists (Linux, most Unixes; not macOS or Windows).
_FADVISE = getattr(os, "posix_fadvise", None) if hasattr(os, "POSIX_FADV_DONTNEED") else None
_WRITEBACK_BYTES = 16 * 1024 * 1024


class _PartWriter:
    """Appends to the .part file and feeds the hash. A lock makes close() wait for a write
    still running on the executor thread when the task is cancelled."""

    def __init__(self, f: BinaryIO, carry: _HashCarry) -> None:
        self._f: BinaryIO | None = f
        self._carry = carry
        self._lock = threading.Lock()
        self._flushed_to = f.tell()  # bytes before this offset were handed to the kernel's writeback

    @classmethod
    def open(cls, part: Path, offset: int, carry: _HashCarry) -> _PartWriter:
        f = open(part, "r+b" if part.exists() else "w+b")  # noqa: SIM115 - closed by close()
        try:
            if offset > 0 and carry.length != offset:
                # New process, or the carried hash does not match the file: re-read the prefix.
                carry.reset()
                f.seek(0)
                remaining = offset
                while remaining:
                    block = f.read(min(_HASH_BLOCK, remaining))
                    if not block:
                        raise OSError(f"{part} is shorter than expected")
                    carry.hasher.update(block)
                    remaining -= len(block)
                carry.length = offset
            f.truncate(offset)
            f.seek(offset)
        except BaseException:
            f.close()
            raise
        return cls(f, carry)

    def write(self, pieces: list[bytes]) -> None:
        with self._lock:
            if self._f is None:
                return  # the download was abandoned; these bytes are not wanted
            for piece in pieces:
                self._f.write(piece)
                self._carry.hasher.update(piece)
                self._carry.length += len(piece)
            self._start_writeback()

    def _start_writeback(self) -> None:
        """Every _WRITEBACK_BYTES, ask the kernel to start writing what we wrote so far.

        Without this the whole file is still dirty in the page cache when the download ends, and
        the final fsync writes it all while the user waits (~60 ms per 200 MB here, seconds on a
        slow disk). POSIX_FADV_DONTNEED starts asynchronous writeback of the range (Linux) and
        drops pages already written; it does not wait. Durability still comes from the fsync.
        """
        assert self._f is not None
        pos = self._f.tell()
        if _FADVISE is None or pos - self._flushed_to < _WRITEBACK_BYTES:
            return
        self._f.flush()
        with contextlib.suppress(OSError):
            _FADVISE(self._f.fileno(), self._flushed_to, pos - self._flushed_to, os.POSIX_FADV_DONTNEED)
        self._flushed_to = pos

    def sync(self) -> None:
        with self._lock:
            if self._f is not None:
                self._f.flush()
                os.fsync(self._f.fileno())

    def close(self) -> None:
        with self._lock:
            if self._f is not None:
                self._f.close()
                self._f = None


async def _drain(pending: deque[asyncio.Future[None]]) -> None:
    while pending:
        await pending.popleft()


def _load_state(part: Path, side: Path) -> tuple[int, _Meta | None]:
    """(bytes to keep, sidecar) for a resume; (0, None) when the partial file cannot be trusted."""
    try:
        size = part.stat().st_size
    except FileNotFoundError:
        return 0, None
    try:
        raw = json.loads(side.read_text("utf-8"))
        if not isinstance(raw, dict) or raw.get("v") != _SIDECAR_VERSION:
            return 0, None
        total = raw.get("total")
        meta = _Meta(
            etag=raw.get("etag") if isinstance(raw.get("etag"), str) else None,
            last_modified=raw.get("last_modified") if isinstance(raw.get("last_modified"), str) else None,
            total=total if isinstance(total, int) and total >= 0 else None,
        )
    except (OSError, ValueError):
        return 0, None  # no sidecar (or a torn one): the bytes cannot be validated, start over
    if meta.total is not None and size > meta.total:
        return 0, None
    return size, meta


class _Pieces:
    """The body's pieces, with a look at its first bytes before they are consumed."""

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self._it = source.__aiter__()
        self._head: deque[bytes] = deque()
        self._done = False

    async def peek(self, n: int) -> bytes:
        """At least ``n`` bytes from the start (fewer only when the body ends), unconsumed."""
        have = sum(len(p) for p in self._head)
        while have < n and not self._done:
            try:
                piece = await self._it.__anext__()
            except StopAsyncIteration:
                self._done = True
                break
            if piece:
                self._head.append(piece)
                have += len(piece)
        return b"".join(self._head)[:n]

    def __aiter__(self) -> _Pieces:
        return self

    async def __anext__(self) -> bytes:
        if self._head:
            return self._head.popleft()
        if self._done:
            raise StopAsyncIteration
        return await self._it.__anext__()


def _read_head(part: Path) -> bytes:
    with open(part, "rb") as f:
        return f.read(_HEAD_BYTES)


def _start_part(part: Path, side: Path, meta: _Meta | None) -> None:
    """Empty the .part file and record what it is going to hold."""
    with open(part, "wb"):
        pass
    if meta is None:
        side.unlink(missing_ok=True)
        return
    tmp = side.with_name(side.name + ".tmp")
    tmp.write_text(meta.to_json(), "utf-8")
    os.replace(tmp, side)  # atomic: a kill never leaves a torn sidecar


def _hash_prefix(part: Path, length: int, carry: _HashCarry) -> str:
    """Hex SHA-256 of the first ``length`` bytes of the partial file."""
    if carry.length == length:
        return carry.hasher.hexdigest()
    h = hashlib.sha256()
    with open(part, "rb") as f:
        remaining = length
        while remaining and (block := f.read(min(_HASH_BLOCK, remaining))):
            h.update(block)
            remaining -= len(block)
    return h.hexdigest()


def _discard(part: Path, side: Path) -> None:
    part.unlink(missing_ok=True)
    side.unlink(missing_ok=True)


def _reset(part: Path, side: Path) -> None:
    """Start the partial file over *in place* (same inode: our lock stays valid)."""
    side.unlink(missing_ok=True)
    with open(part, "r+b") as f:
        f.truncate(0)


def _lock_part(part: Path, dest: Path) -> int | None:
    """Create/open NAME.part and take an exclusive, non-blocking lock on it.

    Returns the locked descriptor (None where the platform or file system cannot lock: the
    download then proceeds unprotected, as before). Raises DownloadInProgressError when
    another download, in this process or another, holds it, and FileExistsError when that
    other download finished while we were getting here.
    """
    if sys.platform == "win32":  # pragma: no cover - no flock; msvcrt locks are mandatory
        return None
    for _ in range(5):
        fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DownloadInProgressError(
                f"{part.name} is being downloaded by another task or process"
            ) from None
        except OSError:  # e.g. ENOLCK on some network file systems
            os.close(fd)
            log.warning("cannot lock %s; downloading without protection", part)
            return None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(part))
        except FileNotFoundError:
            same = False
        if same:
            if os.path.lexists(dest):  # the holder before us finished the file meanwhile
                if os.fstat(fd).st_size == 0:
                    part.unlink(missing_ok=True)
                _unlock(fd)
                raise FileExistsError(f"{dest} already exists; kievideo never overwrites a file")
            return fd
        # We locked a file that was renamed/unlinked meanwhile (a download just finished):
        # look again at what the path names now.
        _unlock(fd)
    raise DownloadInProgressError(f"{part.name} keeps changing under us")


def _unlock(fd: int | None) -> None:
    if fd is None:
        return
    try:
        if sys.platform != "win32":
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable. Windows has no directory fsync (and needs none for NTFS)."""
    if sys.platform == "win32":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


def _finalize(part: Path, dest: Path, side: Path) -> None:
    """Move the finished .part to dest without ever overwriting anything.

    ``os.replace`` would silently clobber a file that appeared at ``dest`` meanwhile; a hard
    link fails with FileExistsError instead, and is just as atomic. File systems without hard
    links (FAT, some network shares) fall back to rename after a last existence check.
    """
    try:
        os.link(part, dest)
    except FileExistsError:
        raise FileExistsError(f"{dest} appeared while downloading; the download stays in {part}") from None
    except OSError:
        if os.path.lexists(dest):
            raise FileExistsError(f"{dest} already exists") from None
        if sys.platform == "win32":
            os.rename(part, dest)  # fails if dest exists: never overwrites
        else:
            os.replace(part, dest)
    else:
        part.unlink()
    _fsync_dir(dest.parent)
    side.unlink(missing_ok=True)


def _recover_finished(dest: Path, part: Path, side: Path) -> DownloadResult | None:
    """A kill between link and unlink leaves dest and .part as the same file: finish the
    clean-up and report it, rather than refusing a download that in fact completed."""
    try:
        same = part.exists() and os.path.samefile(dest, part)
    except OSError:
        same = False
    if not same:
        return None
    etag = None
    with contextlib.suppress(OSError, ValueError):
        etag = json.loads(side.read_text("utf-8")).get("etag")
    part.unlink()
    side.unlink(missing_ok=True)
    _fsync_dir(dest.parent)
    h = hashlib.sha256()
    size = 0
    with open(dest, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
            size += len(block)
    return DownloadResult(dest, size, h.hexdigest(), etag if isinstance(etag, str) else None, True)


# ---- small parsers ----------------------------------------------------------------------------


def _parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    if not value:
        return None
    m = _CONTENT_RANGE.match(value)
    if not m:
        return None
    start, end = int(m.group(1)), int(m.group(2))
    total = None if m.group(3) == "*" else int(m.group(3))
    if end < start or (total is not None and end >= total):
        return None
    return start, end, total


def _int_or_none(value: str | None) -> int | None:
    try:
        n = int(value) if value is not None else None
    except ValueError:
        return None
    return n if n is not None and n >= 0 else None


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare on file hosts; plain back-off is fine


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc.rsplit("@", 1)[-1] or "?"
    except ValueError:
        return "?"
