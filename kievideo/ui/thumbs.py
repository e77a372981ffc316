"""A small cache of scaled thumbnails, decoded off the GUI thread.

Painting must never read a file: ``get()`` returns the cached QPixmap or None and, on a miss,
decodes the image in a worker thread (QImage is safe to use outside the GUI thread), scales it
there, and emits ``loaded(path)`` back on the loop so the owner can repaint just that row.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

log = logging.getLogger("kievideo.ui")


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
        task = loop.create_task(self._load(key, size))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load(self, key: tuple[str, int, int], size: QSize) -> None:
        loop = asyncio.get_running_loop()
        try:
            img = await loop.run_in_executor(None, _load_scaled, key[0], QSize(size))
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
