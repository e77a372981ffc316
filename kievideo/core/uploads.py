"""Uploading input images once: a cache of uploaded URLs keyed by content hash and profile.

The File Upload API is free but slow on big images, and the same picture is often used for
several jobs (retries, variations, first/last frame pairs). The provider keeps an upload for
3 days by the older docs and 24 hours by the newest, so a cached URL is trusted for 24 h minus
a safety margin (the provider still has to fetch it after we submit), and optionally
re-checked with a liveness callback (a HEAD request) that the caller provides.

Hashing reads the whole file: :func:`sha256_file` is blocking and runs in an executor.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from kievideo.core.clock import Clock, SystemClock
from kievideo.core.store import TaskStore

__all__ = [
    "SAFETY_MARGIN",
    "UPLOAD_TTL",
    "AliveCheck",
    "UploadCache",
    "UploadFn",
    "UploadProgress",
    "UploadedLike",
    "ensure_uploaded",
    "sha256_file",
]

log = logging.getLogger(__name__)

UPLOAD_TTL = 24 * 3600.0  # plan for the newest docs' 24 h, not the older 3 days
SAFETY_MARGIN = 2 * 3600.0  # the provider fetches the image after submit, sometimes much later
_HASH_CHUNK = 1024 * 1024

UploadProgress = Callable[[int, int], None]  # (bytes sent, total), as the api layer reports it


class UploadedLike(Protocol):
    """What an upload returns (kievideo.api.models.UploadedFile fits)."""

    @property
    def download_url(self) -> str: ...


UploadFn = Callable[[Path, UploadProgress | None], Awaitable[UploadedLike]]
AliveCheck = Callable[[str], Awaitable[bool]]


def sha256_file(path: str | os.PathLike[str], chunk_size: int = _HASH_CHUNK) -> str:
    """Hex SHA-256 of a file, read in chunks (flat memory). Blocking: run it in an executor."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_size):
            h.update(block)
    return h.hexdigest()


async def ensure_uploaded(
    path: Path,
    profile: str,
    upload: UploadFn,
    progress: UploadProgress | None = None,
    *,
    store: TaskStore,
    now: float,
    ttl: float = UPLOAD_TTL,
    margin: float = SAFETY_MARGIN,
    is_alive: AliveCheck | None = None,
    sha256: str | None = None,
) -> str:
    """The provider URL for the file at ``path``: a cached one if the same content went to
    the same profile recently enough, else a fresh upload (recorded in the store).

    ``now`` is wall time *before* the upload: the recorded expiry (``now + ttl - margin``)
    therefore errs on the early side. ``is_alive(url)`` may veto a cached URL (e.g. a HEAD
    that gets 404); a failing check counts as "not alive". ``sha256`` skips hashing when the
    caller already knows it.
    """
    loop = asyncio.get_running_loop()
    digest: str = sha256 if sha256 else await loop.run_in_executor(None, sha256_file, path)
    cached = await loop.run_in_executor(None, _cache_get, store, digest, profile, now)
    if cached is not None:
        url, _expires = cached
        alive = True
        if is_alive is not None:
            try:
                alive = await is_alive(url)
            except Exception as e:  # a broken check must not block the job: upload again
                log.info("upload liveness check failed (%s); uploading again", type(e).__name__)
                alive = False
        if alive:
            if progress is not None:
                size = await loop.run_in_executor(None, _size, path)
                progress(size, size)  # the UI shows the upload step as done
            return url
        await loop.run_in_executor(None, store.upload_cache_delete, digest, profile)
    result = await upload(path, progress)
    url = result.download_url
    if not url:
        raise ValueError("the upload returned no download URL")
    await loop.run_in_executor(None, store.upload_cache_put, digest, profile, url, now + ttl - margin)
    return url


class UploadCache:
    """:func:`ensure_uploaded` bound to a store and a clock, with concurrent uploads of the
    same content to the same profile merged into one (two jobs dropped with the same image)."""

    sha256_file = staticmethod(sha256_file)

    def __init__(
        self,
        store: TaskStore,
        *,
        clock: Clock | None = None,
        ttl: float = UPLOAD_TTL,
        margin: float = SAFETY_MARGIN,
        is_alive: AliveCheck | None = None,
    ) -> None:
        if ttl - margin <= 0:
            raise ValueError("ttl must be longer than the safety margin")
        self._store = store
        self._clock: Clock = clock or SystemClock()
        self._ttl = ttl
        self._margin = margin
        self._is_alive = is_alive
        self._inflight: dict[tuple[str, str], asyncio.Future[str]] = {}

    async def ensure_uploaded(
        self,
        path: Path,
        profile: str,
        upload: UploadFn,
        progress: UploadProgress | None = None,
    ) -> str:
        loop = asyncio.get_running_loop()
        digest = await loop.run_in_executor(None, sha256_file, path)
        key = (digest, profile)
        while (pending := self._inflight.get(key)) is not None:
            # Same bytes already going up: wait for that upload instead of paying the time twice.
            try:
                url = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # *we* were cancelled
                continue  # the other job gave up; this one still wants the file: try ourselves
            except Exception:
                continue  # that upload failed; ours gets its own chance (and its own error)
            if progress is not None:
                size = await loop.run_in_executor(None, _size, path)
                progress(size, size)
            return url
        fut: asyncio.Future[str] = loop.create_future()
        self._inflight[key] = fut
        try:
            url = await ensure_uploaded(
                path,
                profile,
                upload,
                progress,
                store=self._store,
                now=self._clock.time(),
                ttl=self._ttl,
                margin=self._margin,
                is_alive=self._is_alive,
                sha256=digest,
            )
        except BaseException as e:
            if not fut.done():
                if isinstance(e, asyncio.CancelledError):
                    fut.cancel()
                else:
                    fut.set_exception(e)
            # Nobody may be waiting on fut; mark the exception retrieved to avoid a warning.
            if fut.done() and not fut.cancelled():
                fut.exception()
            raise
        else:
            fut.set_result(url)
            return url
        finally:
            self._inflight.pop(key, None)


def _cache_get(store: TaskStore, digest: str, profile: str, now: float) -> tuple[str, float] | None:
    return store.upload_cache_get(digest, profile, now=now)


def _size(path: Path) -> int:
    return path.stat().st_size
