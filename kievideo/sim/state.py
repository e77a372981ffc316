"""The simulator's mutable state: tasks, credits, the rate-limit window and the file registry.

One :class:`SimState` is shared by the three origins (they run on one asyncio loop) and by the
test thread (advance, credits, task inspection), so every access goes through ``self.lock``. No
method awaits while holding it; critical sections are a few dict operations.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .clock import SimClock, fmt_space
from .config import SimConfig
from .media import ClipKey, MediaCache, free_box, sha256_hex
from .tasks import Task

DAY = 86400.0


@dataclass
class ResultFile:
    """A generated file on the file origin (a cached clip or thumbnail plus a per-task tag)."""

    path: str
    clip: ClipKey
    thumbnail: bool
    label: str
    available_from: float
    expires_at: float
    task_id: str

    @property
    def content_type(self) -> str:
        return "image/png" if self.thumbnail else "video/mp4"


@dataclass
class UploadedFile:
    """A file stored through the File Upload API (bytes on disk, never all in memory)."""

    path: str
    disk_path: Path
    size: int
    sha256: str
    mime: str
    uploaded_at: float
    expires_at: float
    image_size: tuple[int, int] | None = None


@dataclass
class SignedLink:
    """A ``download-url`` answer: a fresh URL for an existing file, valid 20 simulated minutes."""

    token: str
    target: str
    expires_at: float


@dataclass
class RateWindow:
    stamps: collections.deque[float] = field(default_factory=collections.deque)


class SimState:
    """Everything the handlers read and write (see module docstring for the locking rule)."""

    def __init__(self, config: SimConfig, clock: SimClock, media: MediaCache, data_dir: Path) -> None:
        self.config = config
        self.clock = clock
        self.media = media
        self.data_dir = data_dir
        self.lock = threading.RLock()
        self.credits = int(config.credits)
        self.tasks: dict[str, Task] = {}
        self.counter = 0
        self.results: dict[str, ResultFile] = {}
        self.uploads: dict[str, UploadedFile] = {}
        self.links: dict[str, SignedLink] = {}
        self.rate: dict[str, RateWindow] = {"kie": RateWindow(), "unified": RateWindow()}
        self.files_base = ""  # "http://127.0.0.1:PORT", set once the files port is bound
        self._link_secret = hashlib.sha256(f"kievideo-sim-link:{config.seed}".encode()).digest()
        self._etags: dict[tuple[str, str], str] = {}

    # ------------------------------------------------------------------ counters and credits

    def next_counter(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def try_charge(self, price: int) -> bool:
        with self.lock:
            if price > self.credits:
                return False
            self.credits -= price
            return True

    # ------------------------------------------------------------------ rate limiting

    def rate_limited(self, family: str, now: float) -> bool:
        """True when ``rate_limit`` accepted creates already happened in the simulated window."""
        with self.lock:
            win = self.rate[family].stamps
            while win and win[0] <= now - self.config.rate_window_s:
                win.popleft()
            return len(win) >= self.config.rate_limit

    def note_create(self, family: str, now: float) -> None:
        with self.lock:
            self.rate[family].stamps.append(now)

    # ------------------------------------------------------------------ tasks

    def add_task(self, task: Task) -> None:
        with self.lock:
            self.tasks[task.id] = task

    def get_task(self, task_id: str) -> Task | None:
        with self.lock:
            return self.tasks.get(task_id)

    def expired(self, task: Task, now: float) -> bool:
        return now - task.created > self.config.retention_days * DAY

    def add_result(
        self,
        task: Task,
        name: str,
        clip: ClipKey,
        thumbnail: bool = False,
        available_from: float | None = None,
    ) -> str:
        """Register a result file for ``task`` and return its absolute URL."""
        path = f"/r/{task.slug}/{name}"
        rf = ResultFile(
            path=path,
            clip=clip,
            thumbnail=thumbnail,
            label=f"{task.id} {name}",
            available_from=task.done_at if available_from is None else available_from,
            expires_at=task.created + self.config.retention_days * DAY,
            task_id=task.id,
        )
        with self.lock:
            self.results[path] = rf
        return self.files_base + path

    # ------------------------------------------------------------------ uploads and links

    def add_upload(self, up: UploadedFile) -> None:
        with self.lock:
            old = self.uploads.get(up.path)
            self.uploads[up.path] = up
        # Reusing a name overwrites the old file (documented); drop the replaced bytes.
        if old is not None and old.disk_path != up.disk_path:
            old.disk_path.unlink(missing_ok=True)

    def make_link(self, target: str, now: float) -> str:
        expires = now + self.config.download_url_minutes * 60.0
        mac = hmac.new(self._link_secret, f"{target}|{expires:.3f}".encode(), hashlib.sha256)
        token = mac.hexdigest()[:40]
        with self.lock:
            self.links[token] = SignedLink(token, target, expires)
        return f"{self.files_base}/d/{token}"

    # ------------------------------------------------------------------ file lookup

    def lookup(self, path: str, now: float) -> ResultFile | UploadedFile | None:
        """The file served at ``path`` right now (None when unknown, not ready, or expired)."""
        with self.lock:
            if path.startswith("/d/"):
                link = self.links.get(path[3:])
                if link is None or now >= link.expires_at:
                    return None
                path = link.target
            rf = self.results.get(path)
            if rf is not None:
                return rf if rf.available_from <= now < rf.expires_at else None
            up = self.uploads.get(path)
            if up is not None and now < up.expires_at:
                return up
            return None

    def local_path(self, url: str) -> str | None:
        """The path of ``url`` when it points at this simulator's file origin, else None.

        The simulator never fetches anything from the network: only its own files are reachable.
        """
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not self.files_base:
            return None
        own = urlsplit(self.files_base)
        host_ok = (parts.hostname or "") in {own.hostname, "127.0.0.1", "localhost"}
        if not host_ok or parts.port != own.port:
            return None
        return unquote(parts.path)

    def fetchable(self, url: str, now: float) -> bool:
        path = self.local_path(url) if isinstance(url, str) else None
        return path is not None and self.lookup(path, now) is not None

    def image_size_of(self, url: str, now: float) -> tuple[int, int] | None:
        path = self.local_path(url)
        f = self.lookup(path, now) if path else None
        if isinstance(f, UploadedFile):
            return f.image_size
        if isinstance(f, ResultFile) and f.thumbnail:
            return f.clip.size
        return None

    # ------------------------------------------------------------------ file bytes

    def file_size_and_etag(self, f: ResultFile | UploadedFile) -> tuple[int, str]:
        if isinstance(f, UploadedFile):
            return f.size, f'"{f.sha256[:32]}"'
        data = self.media.thumbnail(f.clip) if f.thumbnail else self.media.clip(f.clip)
        suffix = b"" if f.thumbnail else free_box(f.label)
        key = (f.path, f.label)
        with self.lock:
            etag = self._etags.get(key)
        if etag is None:
            etag = f'"{sha256_hex(data, suffix)[:32]}"'
            with self.lock:
                self._etags[key] = etag
        return len(data) + len(suffix), etag

    def read_range(self, f: ResultFile | UploadedFile, start: int, length: int) -> bytes:
        """Bytes ``[start, start+length)``; uploads are read from disk, clips from the cache."""
        if isinstance(f, UploadedFile):
            with f.disk_path.open("rb") as fh:
                fh.seek(start)
                return fh.read(length)
        data = self.media.thumbnail(f.clip) if f.thumbnail else self.media.clip(f.clip) + free_box(f.label)
        return data[start : start + length]

    # ------------------------------------------------------------------ inspection

    def describe(self, task: Task, now: float) -> dict[str, Any]:
        # Under the lock: handlers on the server thread mutate the task's 1080p/4K maps.
        with self.lock:
            return self._describe(task, now)

    def _describe(self, task: Task, now: float) -> dict[str, Any]:
        stage, since = task.stage(now)
        files = {
            p: {
                "url": self.files_base + p,
                "available_from": rf.available_from,
                "expires_at": rf.expires_at,
            }
            for p, rf in self.results.items()
            if rf.task_id == task.id
        }
        return {
            "id": task.id,
            "family": task.family,
            "kind": task.kind,
            "model": task.model,
            "counter": task.counter,
            "stage": stage,
            "stage_since": since,
            "stages": [(name, task.created + off) for name, off in task.stages],
            "terminal": task.terminal,
            "created": task.created,
            "created_str": fmt_space(task.created),
            "done_at": task.done_at,
            "finished": task.finished(now),
            "failure": None if task.failure is None else vars(task.failure).copy(),
            "price": task.price,
            "parent_id": task.parent_id,
            "params": task.params,
            "clip": {"portrait": task.clip.portrait, "tier": task.clip.tier, "long": task.clip.long},
            "files": files,
            "hd": {str(k): {"asked": a, "ready": r} for k, (a, r) in task.index_1080p.items()},
            "fourk_task": {str(k): v for k, v in task.fourk_task.items()},
            "stale_error": task.stale_error,
            "expired": self.expired(task, now),
        }


def sniff_image_size(head: bytes) -> tuple[int, int] | None:
    """Width/height of a PNG or JPEG from its first bytes (used for ``Auto`` aspect ratios)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        w, h = struct.unpack(">II", head[16:24])
        return int(w), int(h)
    if head.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(head):
            if head[i] != 0xFF:
                i += 1
                continue
            marker = head[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (seg_len,) = struct.unpack(">H", head[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", head[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + seg_len
    return None
