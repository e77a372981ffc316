"""A small cache of scaled thumbnails, decoded off the GUI thread.

Painting must never read a file: ``get()`` returns the cached QPixmap or None and, on a miss,
decodes the image in a worker thread (QImage is safe to use outside the GUI thread), scales it
there, and emits ``loaded(path)`` back on the loop so the owner can repaint just that row.

Decoding has one worker thread of its own. Scrolling a page asks for a dozen thumbnails at once;
on the loop's default executor (a pool of threads) they were decoded on every core at once,
while the GUI thread painted the next frames. One thread leaves a core to the GUI; the
thumbnails arrive one after another, a few ms apart. Requests are only noted while a row is
painted, and started when the paint pass is over.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

from kievideo.core.background import background_executor

log = logging.getLogger("kievideo.ui")

_decoder: ThreadPoolExecutor | None = None


def _decode_executor() -> ThreadPoolExecutor:
    """The thumbnail decoding thread (created on first use, shared by every ThumbCache)."""
    global _decoder
    if _decoder is None:
        _decoder = background_executor(max_workers=1, thread_name_prefix="kievideo-thumbs")
    return _decoder


def _load_scaled(path: str, size: QSize) -> QImage | None:
    reader = QImageReader(path)
    reader.setAutoTransform(True)  # honour EXIF rotation of phone photos
    full = reader.size()
    if full.isValid():
        # Decode at reduced size where the format allows (JPEG): less memory, much faster.
        reader.setScaledSize(full.scaled(size * 2, Qt.AspectRatioMode.KeepAspectRatio))
    img = reader.read()
    if img.isNull():
        return None
    return img.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


class ThumbCache(QObject):
    """LRU of QPixmaps keyed by (path, size)."""

    loaded = Signal(str)

    def __init__(self, parent: QObject | None = None, *, capacity: int = 400) -> None:
        super().__init__(parent)
        self._cache: OrderedDict[tuple[str, int, int], QPixmap | None] = OrderedDict()
        self._pending: set[tuple[str, int, int]] = set()
        self._capacity = capacity
        self._tasks: set[asyncio.Task[None]] = set()
        self._queued: list[tuple[tuple[str, int, int], QSize]] = []

    def get(self, path: str | None, size: QSize) -> QPixmap | None:
        if not path:
            return None
        key = (path, size.width(), size.height())
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if key not in self._pending:
            self._pending.add(key)
            self._start(key, size)
        return None

    def invalidate(self, path: str) -> None:
        for key in [k for k in self._cache if k[0] == path]:
            del self._cache[key]

    def _start(self, key: tuple[str, int, int], size: QSize) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            # No loop (a plain widget test, a script): decode inline, it is one small image.
            self._store(key, _load_scaled(key[0], size))
            return
        # get() runs while a row is painted: only note the request there. The misses of one
        # paint pass (a scrolled page: a dozen) are started together once the pass is over.
        if not self._queued:
            loop.call_soon(self._start_queued)
        self._queued.append((key, QSize(size)))

    def _start_queued(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.get_running_loop().create_task(self._load(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load(self, batch: list[tuple[tuple[str, int, int], QSize]]) -> None:
        """Decode one after another (one decoding thread); each row repaints as it arrives."""
        loop = asyncio.get_running_loop()
        for key, size in batch:
            try:
                img = await loop.run_in_executor(_decode_executor(), _load_scaled, key[0], size)
            except Exception:  # a broken thumbnail must not become an app error
                log.debug("thumbnail %s failed", key[0], exc_info=True)
                img = None
            self._store(key, img)

    def _store(self, key: tuple[str, int, int], img: QImage | None) -> None:
        self._pending.discard(key)
        self._cache[key] = QPixmap.fromImage(img) if img is not None else None
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        self.loaded.emit(key[0])
