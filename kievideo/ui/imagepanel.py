"""The image panel: drop, paste or browse images; see them as thumbnails; reorder; remove.

Inputs accepted:
* image files dropped from a file manager (``text/uri-list`` with ``file:`` URLs),
* image links dragged from a browser (``text/uri-list`` / text with ``http(s)`` URLs): the provider
  (or the service's upload-by-URL) fetches them, so they are kept as URLs,
* the clipboard: image data (saved as a PNG under the cache folder), file URLs or a link,
* Browse… (a non-modal QFileDialog).

Local files are checked by CONTENT (core.rules.sniff_image, via rules.local_image_problem) and
size, in a worker thread so a slow network share cannot freeze the window. Order matters in
first/last-frame mode: the list is drag-reorderable and labels its items "First" and "Last".
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QCoreApplication,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kievideo.core import rules
from kievideo.core.jobs import Mode
from kievideo.ui import icons
from kievideo.ui.style import error_color, tr
from kievideo.ui.thumbs import ThumbCache

log = logging.getLogger("kievideo.ui")

ROW_MIME = "application/x-kievideo-image-rows"
THUMB_SIZE = QSize(120, 90)
MAX_ITEMS = 12  # more than any mode takes; enough for "one task per image" batches


@dataclass(frozen=True, slots=True)
class ImageItem:
    """One input image: a local path or an http(s) link."""

    source: str

    @property
    def is_url(self) -> bool:
        return rules.is_url(self.source)

    @property
    def name(self) -> str:
        if self.is_url:
            tail = QUrl(self.source).fileName()
            return tail or QUrl(self.source).host()
        return Path(self.source).name


def validate_local(path: str) -> str | None:
    """Problem text for a local file, or None (runs in a worker thread: it reads the file head)."""
    problem = rules.local_image_problem(0, path)
    if problem is None:
        return None
    # The rules message starts with "Image 1: "; the panel names the file itself.
    text = problem.message
    prefix = "Image 1: "
    return text[len(prefix) :] if text.startswith(prefix) else text


class ImageListModel(QAbstractListModel):
    """The images in the user's order; supports internal moves for drag-reorder."""

    def __init__(self, thumbs: ThumbCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[ImageItem] = []
        self._mode = Mode.TEXT
        self._thumbs = thumbs
        thumbs.loaded.connect(self._on_thumb)

    @property
    def items(self) -> list[ImageItem]:
        return list(self._items)

    def sources(self) -> tuple[str, ...]:
        return tuple(i.source for i in self._items)

    def set_mode(self, mode: Mode) -> None:
        self._mode = mode
        if self._items:
            self.dataChanged.emit(self.index(0), self.index(len(self._items) - 1))

    def add(self, items: Iterable[ImageItem]) -> int:
        new = [i for i in items if i.source not in self.sources()]
        new = new[: max(0, MAX_ITEMS - len(self._items))]
        if not new:
            return 0
        first = len(self._items)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._items.extend(new)
        self.endInsertRows()
        return len(new)

    def remove_rows(self, rows: Sequence[int]) -> None:
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._items):
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._items[row]
                self.endRemoveRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._items.clear()
        self.endResetModel()

    def move(self, src: int, dst: int) -> bool:
        """Move row ``src`` so it ends up at index ``dst`` of the resulting list."""
        n = len(self._items)
        if not (0 <= src < n and 0 <= dst < n) or src == dst:
            return False
        # beginMoveRows wants the destination *before* removal: one past dst when moving down.
        qt_dst = dst + 1 if dst > src else dst
        if not self.beginMoveRows(QModelIndex(), src, src, QModelIndex(), qt_dst):
            return False
        item = self._items.pop(src)
        self._items.insert(dst, item)
        self.endMoveRows()
        return True

    def label(self, row: int) -> str:
        if self._mode is Mode.FRAMES and len(self._items) >= 1:
            if row == 0:
                return self.tr("First")
            if row == 1:
                return self.tr("Last")
        if self._mode is Mode.REFERENCE:
            return self.tr("Reference %1").replace("%1", str(row + 1))
        return self._items[row].name

    # --- Qt model -----------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.label(index.row())
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.source
        if role == Qt.ItemDataRole.DecorationRole:
            if item.is_url:
                return icons.pixmap("image-add", 48)
            pm = self._thumbs.get(item.source, THUMB_SIZE)
            return pm if pm is not None else icons.pixmap("image-add", 48)
        if role == Qt.ItemDataRole.UserRole:
            return item.source
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def mimeTypes(self) -> list[str]:
        return [ROW_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        md = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        md.setData(ROW_MIME, QByteArray(",".join(map(str, rows)).encode()))
        return md

    def _on_thumb(self, path: str) -> None:
        for row, item in enumerate(self._items):
            if item.source == path:
                idx = self.index(row)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


class ThumbListView(QListView):
    """Icon-mode list that reorders by drag (internal) and hands external drops to the panel."""

    externalDrop = Signal(QMimeData)
    deleteRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Snap)
        self.setIconSize(THUMB_SIZE)
        self.setGridSize(QSize(THUMB_SIZE.width() + 16, THUMB_SIZE.height() + 30))
        self.setSpacing(4)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.empty_text = tr("Drop images here, paste, or click Browse")

    # Our own startDrag: QAbstractItemView's would delete the source rows after a MoveAction.
    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        indexes = self.selectedIndexes()
        if not indexes:
            return
        drag = QDrag(self)
        drag.setMimeData(self.model().mimeData(indexes))
        pm = indexes[0].data(Qt.ItemDataRole.DecorationRole)
        if pm is not None:
            drag.setPixmap(pm.scaled(64, 48, Qt.AspectRatioMode.KeepAspectRatio))
        drag.exec(Qt.DropAction.MoveAction)

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        self._judge_drag(e)

    def dragMoveEvent(self, e: QDragMoveEvent) -> None:
        self._judge_drag(e)

    def _judge_drag(self, e: QDragMoveEvent) -> None:
        """Accept a row being moved or images being dropped (enter and move alike)."""
        if e.mimeData().hasFormat(ROW_MIME) or _has_image_payload(e.mimeData()):
            e.setDropAction(
                Qt.DropAction.MoveAction if e.mimeData().hasFormat(ROW_MIME) else Qt.DropAction.CopyAction
            )
            e.accept()
        else:
            e.ignore()

    def dropEvent(self, e: QDropEvent) -> None:
        md = e.mimeData()
        if md.hasFormat(ROW_MIME):
            rows = [int(x) for x in bytes(md.data(ROW_MIME).data()).decode().split(",") if x]
            model = self.model()
            target = self.indexAt(e.position().toPoint())
            dst = target.row() if target.isValid() else model.rowCount() - 1
            if rows and isinstance(model, ImageListModel):
                model.move(rows[0], dst)
                self.setCurrentIndex(model.index(dst))
            # The drag is ours (startDrag): it offers MoveAction only and ignores the result, so
            # the moved row is never deleted at the source. (A CopyAction set here was ignored:
            # a drop action must be one the drag offers.)
            e.acceptProposedAction()
            return
        if _has_image_payload(md):
            e.setDropAction(Qt.DropAction.CopyAction)
            e.accept()
            self.externalDrop.emit(md)
            return
        e.ignore()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.deleteRequested.emit()
            e.accept()
            return
        super().keyPressEvent(e)

    def paintEvent(self, e: QPaintEvent) -> None:
        super().paintEvent(e)
        if self.model() is not None and self.model().rowCount() == 0:
            p = QPainter(self.viewport())
            col = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
            p.setPen(col)
            r: QRect = self.viewport().rect().adjusted(12, 12, -12, -12)
            p.drawText(r, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.empty_text)
            p.end()


def _has_image_payload(md: QMimeData) -> bool:
    if md.hasUrls():
        return any(u.isLocalFile() or u.scheme() in ("http", "https") for u in md.urls())
    if md.hasImage():
        return True
    return md.hasText() and rules.is_url(md.text().strip())


def urls_from_mime(md: QMimeData) -> tuple[list[str], list[str]]:
    """(local paths, http(s) links) carried by a drop or the clipboard."""
    paths: list[str] = []
    links: list[str] = []
    if md.hasUrls():
        for u in md.urls():
            if u.isLocalFile():
                paths.append(u.toLocalFile())
            elif u.scheme() in ("http", "https"):
                links.append(u.toString())
    elif md.hasText():
        for line in md.text().splitlines():
            line = line.strip()
            if rules.is_url(line):
                links.append(line)
            elif line.startswith("file:"):
                paths.append(QUrl(line).toLocalFile())
    return paths, links


class ImagePanel(QWidget):
    """Thumbnails + Browse/Paste/Remove buttons + a hint line for problems."""

    #: the list of images changed (count or order)
    imagesChanged = Signal()

    def __init__(self, cache_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imagePanel")
        self.setAcceptDrops(True)
        self._cache_dir = cache_dir
        self._mode = Mode.TEXT
        self._tasks: set[asyncio.Task[None]] = set()
        self._dialog: QFileDialog | None = None

        self.thumbs = ThumbCache(self)
        self.model = ImageListModel(self.thumbs, self)
        self.view = ThumbListView(self)
        self.view.setModel(self.model)
        self.view.setMinimumHeight(THUMB_SIZE.height() + 40)
        self.view.externalDrop.connect(self.handle_mime)
        self.view.deleteRequested.connect(self.remove_selected)

        self.title = QLabel(self.tr("Images"), self)
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.count_label = QLabel(self)
        self.browse_btn = QPushButton(icons.icon("image-add"), self.tr("Browse…"), self)
        self.browse_btn.clicked.connect(self.browse)
        self.paste_btn = QToolButton(self)
        self.paste_btn.setIcon(icons.icon("paste"))
        self.paste_btn.setToolTip(self.tr("Paste image (Ctrl+V)"))
        self.paste_btn.setAccessibleName(self.tr("Paste image"))
        self.paste_btn.clicked.connect(self.paste)
        self.remove_btn = QToolButton(self)
        self.remove_btn.setIcon(icons.icon("trash"))
        self.remove_btn.setToolTip(self.tr("Remove selected images (Delete)"))
        self.remove_btn.setAccessibleName(self.tr("Remove selected images"))
        self.remove_btn.clicked.connect(self.remove_selected)
        self.left_btn = QToolButton(self)
        self.left_btn.setArrowType(Qt.ArrowType.LeftArrow)
        self.left_btn.setToolTip(self.tr("Move earlier (order matters for first and last frame)"))
        self.left_btn.clicked.connect(lambda: self.move_selected(-1))
        self.right_btn = QToolButton(self)
        self.right_btn.setArrowType(Qt.ArrowType.RightArrow)
        self.right_btn.setToolTip(self.tr("Move later"))
        self.right_btn.clicked.connect(lambda: self.move_selected(+1))

        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hint.hide()

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.count_label)
        top.addStretch(1)
        for w in (self.left_btn, self.right_btn, self.remove_btn, self.paste_btn, self.browse_btn):
            top.addWidget(w)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.hint)

        for sig in (
            self.model.rowsInserted,
            self.model.rowsRemoved,
            self.model.rowsMoved,
            self.model.modelReset,
        ):
            sig.connect(self._changed)
        paste_sc = QShortcut(
            QKeySequence.StandardKey.Paste, self.view, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
        )
        paste_sc.activated.connect(self.paste)
        self._changed()

    # --- state --------------------------------------------------------------------------------

    def sources(self) -> tuple[str, ...]:
        return self.model.sources()

    def count(self) -> int:
        return self.model.rowCount()

    def set_mode(self, mode: Mode) -> None:
        self._mode = mode
        self.model.set_mode(mode)
        self._changed()

    def set_sources(self, sources: Iterable[str]) -> None:
        """Replace the images (reuse settings of a task); files are not re-validated here."""
        self.model.clear()
        self.model.add(ImageItem(s) for s in sources)

    def clear(self) -> None:
        self.model.clear()

    def show_problem(self, text: str) -> None:
        """A clear message under the thumbnails (replaced by the next action)."""
        self.hint.setText(text)
        pal = self.hint.palette()
        pal.setColor(QPalette.ColorRole.WindowText, error_color())
        self.hint.setPalette(pal)
        self.hint.setVisible(bool(text))

    def _changed(self) -> None:
        n = self.model.rowCount()
        lo, hi = rules.image_range(self._mode)
        if self._mode is Mode.TEXT:
            text = (
                self.tr("(not used in text mode)")
                if n == 0
                else (self.tr("1 image") if n == 1 else self.tr("%1 images").replace("%1", str(n)))
            )
        elif self._mode is Mode.IMAGE and n > 1:
            text = self.tr("%1 images: one task per image").replace("%1", str(n))
        elif lo == hi:
            text = self.tr("%1 of %2").replace("%1", str(n)).replace("%2", str(hi))
        else:
            text = self.tr("%1 of %2–%3").replace("%1", str(n)).replace("%2", str(lo)).replace("%3", str(hi))
        self.count_label.setText(text)
        has = n > 0
        self.remove_btn.setEnabled(has)
        self.left_btn.setEnabled(n > 1)
        self.right_btn.setEnabled(n > 1)
        self.imagesChanged.emit()

    # --- actions ------------------------------------------------------------------------------

    def remove_selected(self) -> None:
        rows = [i.row() for i in self.view.selectionModel().selectedIndexes()]
        if not rows and self.view.currentIndex().isValid():
            rows = [self.view.currentIndex().row()]
        self.model.remove_rows(rows)
        self.show_problem("")

    def move_selected(self, delta: int) -> None:
        idx = self.view.currentIndex()
        if not idx.isValid():
            return
        dst = idx.row() + delta
        if self.model.move(idx.row(), dst):
            self.view.setCurrentIndex(self.model.index(dst))

    def browse(self) -> None:
        """Non-modal file dialog (open() + filesSelected), never exec()."""
        if self._dialog is not None and self._dialog.isVisible():
            self._dialog.raise_()
            return
        dlg = QFileDialog(self, self.tr("Choose images"))
        dlg.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dlg.setNameFilters([self.tr("Images (*.jpg *.jpeg *.png *.webp)"), self.tr("All files (*)")])
        dlg.filesSelected.connect(self.add_files)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.destroyed.connect(lambda: setattr(self, "_dialog", None))
        self._dialog = dlg
        dlg.open()

    def paste(self) -> None:
        md = QGuiApplication.clipboard().mimeData()
        if md is None:
            return
        self.handle_mime(md, from_clipboard=True)

    def handle_mime(self, md: QMimeData, from_clipboard: bool = False) -> None:
        """Files, links or raw image data from a drop or the clipboard."""
        paths, links = urls_from_mime(md)
        if paths or links:
            self._spawn(self._add(paths, links))
        elif md.hasImage():
            img = QImage(md.imageData())
            if img.isNull():
                self.show_problem(self.tr("The clipboard holds an image kievideo cannot read."))
            else:
                self._spawn(self._add_image_data(img))
        elif from_clipboard:
            self.show_problem(self.tr("The clipboard holds no image, image file or image link."))

    def add_files(self, paths: Sequence[str]) -> None:
        self._spawn(self._add(list(paths), []))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _add(self, paths: list[str], links: list[str]) -> None:
        loop = asyncio.get_running_loop()
        # Reading file heads can block (network shares, sleeping disks): do it off the GUI thread.
        results = await loop.run_in_executor(
            None, lambda: [(os.path.abspath(p), validate_local(p)) for p in paths]
        )
        good = [ImageItem(p) for p, err in results if err is None]
        bad = [(p, err) for p, err in results if err is not None]
        good.extend(ImageItem(u) for u in links)
        before = self.model.rowCount()
        added = self.model.add(good)
        messages = [
            self.tr("%1: %2")
            .replace("%1", Path(p).name)
            .replace("%2", QCoreApplication.translate("rules", err))
            for p, err in bad
            if err
        ]
        if added < len(good) and before + added >= MAX_ITEMS:
            messages.append(
                self.tr("At most %1 images can be added at a time.").replace("%1", str(MAX_ITEMS))
            )
        self.show_problem("\n".join(messages))

    async def _add_image_data(self, img: QImage) -> None:
        if self._cache_dir is None:
            self.show_problem(self.tr("No cache folder to save the pasted image to."))
            return
        target = self._cache_dir / "pasted" / f"paste-{uuid.uuid4().hex[:12]}.png"
        loop = asyncio.get_running_loop()

        def save() -> bool:
            target.parent.mkdir(parents=True, exist_ok=True)
            # PySide6 6.12's stub says bytes for the format, but the binding takes only a str
            return bool(img.save(str(target), "PNG"))  # type: ignore[call-overload]

        ok = await loop.run_in_executor(None, save)
        if not ok:
            self.show_problem(self.tr("Could not save the pasted image to %1.").replace("%1", str(target)))
            return
        await self._add([str(target)], [])

    # --- drops on the panel itself (outside the list) ---------------------------------------

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        self._judge_drag(e)

    def dragMoveEvent(self, e: QDragMoveEvent) -> None:
        self._judge_drag(e)

    def _judge_drag(self, e: QDragMoveEvent) -> None:
        """Accept images being dropped (enter and move alike)."""
        if _has_image_payload(e.mimeData()):
            e.setDropAction(Qt.DropAction.CopyAction)
            e.accept()
        else:
            e.ignore()

    def dropEvent(self, e: QDropEvent) -> None:
        if _has_image_payload(e.mimeData()):
            e.setDropAction(Qt.DropAction.CopyAction)
            e.accept()
            self.handle_mime(e.mimeData())
        else:
            e.ignore()

    def pending(self) -> bool:
        """True while dropped files are still being checked (tests wait on this)."""
        return bool(self._tasks)
