"""The task list panel: search box, state filter, the list view, and the per-row context menu.

The menu is built from the row's state (qutebrowser's download view does the same): a done row
offers play/open/upgrade/extend, a failed one "Copy error details" and retry, an active one
"Stop watching". Paid follow-ups (retry, 1080p, 4K, extend) always show their estimated cost and
ask first, through non-modal dialogs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAccessible,
    QAction,
    QDesktopServices,
    QGuiApplication,
    QHoverEvent,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QMenu,
    QStyle,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from kievideo.core import rules
from kievideo.core.jobs import Job, JobKind, JobState
from kievideo.ui import dialogs, icons
from kievideo.ui.style import kind_label, tr
from kievideo.ui.taskdelegate import TaskDelegate
from kievideo.ui.taskmodel import Roles, TaskFilterProxy, TaskListModel, state_filters
from kievideo.ui.thumbs import ThumbCache

log = logging.getLogger("kievideo.ui")

_HOVER_SET = (QEvent.Type.HoverEnter, QEvent.Type.HoverMove)
_HOVER_LEAVE = QEvent.Type.HoverLeave
_DRAGGING = QAbstractItemView.State.DraggingState
_EDITING = QAbstractItemView.State.EditingState
_ENABLED = QStyle.StateFlag.State_Enabled
_SELECTED_BIT = QStyle.StateFlag.State_Selected.value
_FOCUS_BIT = QStyle.StateFlag.State_HasFocus.value
_EDITING_BIT = QStyle.StateFlag.State_Editing.value
_HOVER_BIT = QStyle.StateFlag.State_MouseOver.value
#: a page with more rows than this that are not plain finished ones is painted by QListView
SLOW_ROWS_MAX = 1


class TaskActions(Protocol):
    """What the panel's menu needs from TaskService."""

    def upgrade(self, job_id: str, to: JobKind) -> Job: ...
    def extend(self, job_id: str, prompt: str) -> Job: ...
    def retry(self, job_id: str) -> Job: ...
    def stop_watching(self, job_id: str) -> Any: ...
    def resume_watching(self, job_id: str) -> Any: ...
    async def remove(self, job_id: str, *, delete_file: bool) -> None: ...
    def jobs(self) -> list[Job]: ...


def cost_text(credits: int | None) -> str:
    if credits is None:
        return tr("cost unknown (billed by the provider)")
    return tr("1 credit") if credits == 1 else tr("%1 credits").replace("%1", f"{credits:,}")


def error_details(job: Job) -> str:
    """Everything a support request needs, nothing secret (no keys live in a Job)."""
    lines = [
        tr("Task: %1").replace("%1", job.task_id or tr("(none)")),
        tr("Local id: %1").replace("%1", job.id),
        tr("Provider: %1").replace(
            "%1", f"{job.spec.provider.value} / {job.spec.model} ({job.spec.profile})"
        ),
        tr("State: %1").replace("%1", job.state.value),
    ]
    if job.error_code is not None:
        lines.append(tr("Code: %1").replace("%1", str(job.error_code)))
    if job.error_message:
        lines.append(tr("Message: %1").replace("%1", job.error_message))
    if job.provider_message:
        lines.append(tr("Provider said: %1").replace("%1", job.provider_message))
    if job.provider_status:
        lines.append(tr("Provider status: %1").replace("%1", job.provider_status))
    return "\n".join(lines)


def _source_rows(proxy: TaskFilterProxy, source: TaskListModel) -> Callable[[int], int]:
    """Proxy row -> source row. With no filter the proxy passes every row through in order (it
    never sorts), so the mapping (a Qt round trip a row) is skipped."""
    if proxy.is_filtering() or proxy.rowCount() != source.rowCount():
        return lambda r: proxy.mapToSource(proxy.index(r, 0)).row()
    return lambda r: r


class TaskView(QListView):
    """List view with an empty-state text and Delete/Enter keys."""

    activatedJob = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("taskView")
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setUniformItemSizes(True)  # every row has the same height: fast layout with many jobs
        self.setMouseTracking(True)
        self.setAlternatingRowColors(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        # Rows are painted by _paint_rows (off: by QListView; tests compare the two).
        self.own_paint_loop = True
        self._hover = QPersistentModelIndex()  # the row under the mouse (see viewportEvent)
        self.empty_text = tr("No tasks yet. Write a prompt or drop images, then press Generate.")
        self.filtered_text = tr("No tasks match the search or filter.")

    def _paint_rows(self, e: QPaintEvent) -> bool:
        """QListView's paint loop, for the one layout this view has (a list, top to bottom, rows
        of one height, no spacing, grid, wrapping, hidden rows or alternating colours), with the
        rows painted by TaskDelegate.paint_rows: a scrolled page of history is then one Python
        call and a dozen image look-ups instead of a dozen trips through Qt (flags, data, a
        style option and an index per row). The state of each row is worked out as QListView
        does it.

        It pays only where rows are painted from their images: finished rows in their plain
        state. A page with more than SLOW_ROWS_MAX other rows (under way, selected, focused,
        hovered) is left to QListView, whose C++ loop is cheaper for rows that are drawn anew
        (bench.responsiveness, 300 running tasks: heartbeat p99 0.6-1.2 ms lower). Returns False
        (QListView paints) for those, a drag in progress, a delegate without row images, and a
        paint that starts below the last row."""
        delegate = self.itemDelegate()
        proxy = self.model()
        if not isinstance(delegate, TaskDelegate) or not isinstance(proxy, TaskFilterProxy):
            return False
        source = proxy.sourceModel()
        if not isinstance(source, TaskListModel) or not delegate.keeps_row_images:
            return False
        view_state = self.state()
        if view_state == _DRAGGING:
            return False
        area = e.rect()
        first = self.indexAt(area.topLeft())
        if not first.isValid():
            return False
        first_rect = self.visualRect(first)
        x, y, width, height = first_rect.x(), first_rect.y(), first_rect.width(), first_rect.height()
        if height <= 0:
            return False
        # QListView gives a row at most the width of its contents or viewport, whichever is wider.
        width = min(width, max(self.viewport().width(), self.contentsSize().width()))
        selections = self.selectionModel()
        selected = {i.row() for i in selections.selectedIndexes()} if selections is not None else set()
        current = self.currentIndex()
        focus_row = -1
        if current.isValid() and (self.hasFocus() or self.viewport().hasFocus()):
            focus_row = current.row()
        focus_bits = _FOCUS_BIT | (_EDITING_BIT if view_state == _EDITING else 0)
        hover_row = self._hover.row() if self._hover.isValid() else -1
        count = proxy.rowCount()
        to_source = _source_rows(proxy, source)
        rows: list[tuple[int, Any, tuple[int, int, int, int], int]] = []
        slow = 0
        r, bottom = first.row(), area.bottom()
        while r < count and y <= bottom:
            src = to_source(r)
            bits = _SELECTED_BIT if r in selected else 0
            if r == focus_row:
                bits |= focus_bits
            if r == hover_row:
                bits |= _HOVER_BIT
            row = source.paint_data_at(src)
            if bits or row is None or not row[0].is_final:
                slow += 1
                if slow > SLOW_ROWS_MAX:
                    return False
            rows.append((r, row, (x, y, width, height), bits))
            r += 1
            y += height
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        if option.state & _ENABLED:  # every row is enabled (the model's flags)
            pal = option.palette
            pal.setCurrentColorGroup(QPalette.ColorGroup.Normal)
            option.palette = pal
        painter = QPainter(self.viewport())
        try:
            delegate.paint_rows(painter, option, self, rows)
        finally:
            painter.end()
        return True

    def dataChanged(
        self,
        top_left: QModelIndex | QPersistentModelIndex,
        bottom_right: QModelIndex | QPersistentModelIndex,
        roles: Sequence[int] = (),
    ) -> None:
        """Repaint the changed rows that are on screen, and nothing else.

        QListView's own handler lays the whole list out again on every dataChanged, since an
        item's size may depend on its data (QListModeViewBase::dataChanged calls
        doDelayedItemsLayout), and so repaints the whole viewport, even for one row far off
        screen. Here every row has the one height of setUniformItemSizes, whatever its data, so
        there is nothing to lay out: with 300 tasks polling that was ~4 full repaints a second
        for rows nobody could see (bench.responsiveness, load phase).

        QAbstractItemView's part is otherwise only the data of open editors (this view has
        none: its rows are not editable) and the accessibility notice, so with an assistive
        technology listening, Qt's handler runs as before."""
        if QAccessible.isActive():
            super().dataChanged(top_left, bottom_right, list(roles))
            return
        if not self.isVisible() or not top_left.isValid() or not bottom_right.isValid():
            return
        if top_left == bottom_right:
            self.update(top_left)  # QAbstractItemView::update: only if the row is on screen
            return
        viewport = self.viewport()
        # Rows are stacked top to bottom, so the changed ones fill the rectangle from the first
        # one's top to the last one's bottom.
        area = self.visualRect(top_left).united(self.visualRect(bottom_right)) & viewport.rect()
        if not area.isEmpty():
            viewport.update(area)

    def repaint_running_rows(self) -> None:
        """The clock ticked (TaskListModel.timesChanged): repaint the rows on screen whose job
        is under way, their time text has moved on. Finished rows show fixed times."""
        proxy = self.model()
        if not self.isVisible() or not isinstance(proxy, TaskFilterProxy):
            return
        source = proxy.sourceModel()
        if not isinstance(source, TaskListModel):
            return
        viewport = self.viewport()
        first = self.indexAt(QPoint(0, 0))
        if not first.isValid():
            return
        to_source = _source_rows(proxy, source)
        bottom = viewport.height()
        for r in range(first.row(), proxy.rowCount()):
            rect = self.visualRect(proxy.index(r, 0))
            if rect.top() >= bottom:
                break
            job = source.job_at(to_source(r))
            if job is not None and not job.is_final:
                viewport.update(rect)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activatedJob.emit(self.currentIndex().data(Roles.Job))
            return
        super().keyPressEvent(e)

    def viewportEvent(self, e: QEvent) -> bool:
        """Follow the row under the mouse as QAbstractItemView does (its own record of it is
        private): the own paint loop (_paint_rows) needs it for the hover state."""
        kind = e.type()
        if kind in _HOVER_SET and isinstance(e, QHoverEvent):
            self._hover = QPersistentModelIndex(self.indexAt(e.position().toPoint()))
        elif kind == _HOVER_LEAVE:
            self._hover = QPersistentModelIndex()
        return super().viewportEvent(e)

    def paintEvent(self, e: QPaintEvent) -> None:
        if not (self.own_paint_loop and self._paint_rows(e)):
            super().paintEvent(e)
        model = self.model()
        if model is not None and model.rowCount() == 0:
            proxy = model if isinstance(model, TaskFilterProxy) else None
            text = (
                self.filtered_text
                if proxy is not None and proxy.sourceModel().rowCount()
                else self.empty_text
            )
            p = QPainter(self.viewport())
            p.setPen(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            r = self.viewport().rect().adjusted(24, 24, -24, -24)
            p.drawText(r, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
            p.end()


class TaskListPanel(QWidget):
    """Search + filter + list; the context menu acts through the service."""

    playRequested = Signal(object)  # Job
    reuseRequested = Signal(object)  # JobSpec
    message = Signal(str)  # status bar
    #: a paid follow-up was created (the window refreshes credits)
    submitted = Signal(object)

    def __init__(
        self, model: TaskListModel, actions: TaskActions | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("taskListPanel")
        self.model = model
        self.task_actions = actions
        self._tasks: set[asyncio.Task[Any]] = set()
        self._busy_jobs: set[str] = set()  # paid follow-ups in flight per job (no double request)

        self.search = QLineEdit(self)
        self.search.setObjectName("taskSearch")
        self.search.setPlaceholderText(self.tr("Search prompt, model, task ID…"))
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.state_combo = QComboBox(self)
        self.state_combo.setObjectName("stateFilter")
        for label, states in state_filters():
            self.state_combo.addItem(label, states)

        self.proxy = TaskFilterProxy(self)
        self.proxy.setSourceModel(model)
        self.thumbs = ThumbCache(self)
        self.view = TaskView(self)
        self.view.setModel(self.proxy)
        self.delegate = TaskDelegate(self.thumbs, self.view, clock=model.clock)
        self.view.setItemDelegate(self.delegate)
        self.thumbs.loaded.connect(self._on_thumb_loaded)

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.state_combo)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)

        self.search.textChanged.connect(self.proxy.set_text)
        self.state_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_states(self.state_combo.currentData())
        )
        self._match_timer = QTimer(self)
        self._match_timer.setSingleShot(True)
        self._match_timer.setInterval(250)
        self._match_timer.timeout.connect(self._load_matches)
        self.search.textChanged.connect(self._filter_changed)
        self.state_combo.currentIndexChanged.connect(self._filter_changed)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.doubleClicked.connect(self._on_double_click)
        self.view.activatedJob.connect(self._activate)
        model.countChanged.connect(lambda _n: self.view.viewport().update())
        model.timesChanged.connect(self.view.repaint_running_rows)

    # --- helpers ------------------------------------------------------------------------------

    def _on_thumb_loaded(self, path: str) -> None:
        for row in self.model.rows_with_thumb(path):
            idx = self.model.index(row)
            self.model.dataChanged.emit(idx, idx)

    def _filter_changed(self) -> None:
        """Older matches live only in the store until loaded: ask for them (debounced)."""
        self._match_timer.start()

    def _load_matches(self) -> None:
        self.model.load_matching(self.search.text(), self.state_combo.currentData())

    def job_at_view_row(self, row: int) -> Job | None:
        idx = self.proxy.index(row, 0)
        return idx.data(Roles.Job) if idx.isValid() else None

    def select_job(self, job_id: str) -> None:
        src = self.model.index_of(job_id)
        if src.isValid():
            idx = self.proxy.mapFromSource(src)
            self.view.setCurrentIndex(idx)
            self.view.scrollTo(idx)

    def current_job(self) -> Job | None:
        idx = self.view.currentIndex()
        return idx.data(Roles.Job) if idx.isValid() else None

    def _on_double_click(self, index: QModelIndex) -> None:
        self._activate(index.data(Roles.Job))

    def _activate(self, job: Job | None) -> None:
        if job is None:
            return
        if job.state is JobState.DONE and job.file_path:
            self.playRequested.emit(job)
        else:
            self.message.emit(self.tr("This task has no video yet."))

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- the menu -----------------------------------------------------------------------------

    def build_menu(self, job: Job) -> QMenu:
        """The context menu for ``job``, built from its state (exposed for tests)."""
        menu = QMenu(self)
        menu.setObjectName("taskMenu")

        def add(text: str, slot: Callable[[], Any], icon_name: str, name: str) -> QAction:
            act = menu.addAction(icons.icon(icon_name), text)
            act.setObjectName(name)
            # triggered(bool checked): PySide6 hands ``checked`` to any slot that takes an
            # argument, even an optional one, so the slot is called with none.
            act.triggered.connect(lambda *_: slot())
            return act

        def follow_up(kind: JobKind) -> Callable[[], Any]:
            return lambda: self._spawn(self.follow_up(job, kind))

        done = job.state is JobState.DONE and bool(job.file_path)
        if done:
            add(self.tr("Play"), lambda: self.playRequested.emit(job), "play", "actPlay")
        if job.file_path:
            add(self.tr("Open folder"), lambda: self.open_folder(job), "folder", "actOpenFolder")
        menu.addSeparator()
        if job.task_id:
            add(self.tr("Copy task ID"), lambda: self._copy(job.task_id or ""), "copy", "actCopyTaskId")
        add(self.tr("Copy prompt"), lambda: self._copy(job.spec.prompt), "copy", "actCopyPrompt")
        if job.state in (JobState.FAILED, JobState.UNCERTAIN, JobState.EXPIRED) or job.error_message:
            add(self.tr("Copy error details"), lambda: self._copy(error_details(job)), "copy", "actCopyError")
        add(self.tr("Reuse settings"), lambda: self.reuseRequested.emit(job.spec), "retry", "actReuse")

        follow = (
            rules.child_kinds(job.spec) if done and job.kind in (JobKind.GENERATE, JobKind.EXTEND) else ()
        )
        if follow:
            menu.addSeparator()
        for kind in follow:
            cost = rules.estimate_cost(job.spec, kind)
            if kind is JobKind.UPGRADE_1080P:
                text, icon_name, name = self.tr("Get 1080p (%1)"), "upscale", "act1080p"
            elif kind is JobKind.UPGRADE_4K:
                text, icon_name, name = self.tr("Get 4K (%1)"), "upscale", "act4k"
            else:
                text, icon_name, name = self.tr("Extend… (%1)"), "extend", "actExtend"
            act = add(
                text.replace("%1", cost_text(cost)),
                follow_up(kind),
                icon_name,
                name,
            )
            act.setEnabled(job.id not in self._busy_jobs)

        menu.addSeparator()
        if job.state in (JobState.FAILED, JobState.UNCERTAIN, JobState.EXPIRED, JobState.STOPPED):
            add(
                self.tr("Retry as a new task… (%1)").replace(
                    "%1", cost_text(rules.estimate_cost(job.spec, job.kind))
                ),
                lambda: self._spawn(self.retry(job)),
                "retry",
                "actRetry",
            )
        if not job.is_final:
            add(self.tr("Stop watching"), lambda: self._stop(job), "state-stopped", "actStop")
        elif job.state is JobState.STOPPED and job.task_id:
            add(self.tr("Resume watching"), lambda: self._resume(job), "refresh", "actResume")
        if job.is_final:
            menu.addSeparator()
            add(
                self.tr("Remove from list"),
                lambda: self._spawn(self.remove(job, delete_file=False)),
                "remove",
                "actRemove",
            )
            if job.file_path:
                add(
                    self.tr("Remove and delete the video file…"),
                    lambda: self._spawn(self.remove(job, delete_file=True)),
                    "trash",
                    "actRemoveFile",
                )
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        idx = self.view.indexAt(pos)
        if not idx.isValid():
            return
        job = idx.data(Roles.Job)
        menu = self.build_menu(job)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.view.viewport().mapToGlobal(pos))  # popup(), not exec(): no nested loop

    # --- actions ------------------------------------------------------------------------------

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.message.emit(self.tr("Copied to the clipboard."))

    def open_folder(self, job: Job) -> None:
        if job.file_path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(job.file_path).parent)))

    def _stop(self, job: Job) -> None:
        if self.task_actions is not None:
            self.task_actions.stop_watching(job.id)
            self.message.emit(self.tr("Stopped watching. The provider may still finish (and bill) the task."))

    def _resume(self, job: Job) -> None:
        if self.task_actions is not None:
            self.task_actions.resume_watching(job.id)

    async def follow_up(self, job: Job, kind: JobKind) -> Job | None:
        """1080p / 4K / extend: ask (with the cost), then one request."""
        if self.task_actions is None or job.id in self._busy_jobs:
            return None
        self._busy_jobs.add(job.id)  # before the first await: a second menu click is ignored
        try:
            cost = cost_text(rules.estimate_cost(job.spec, kind))
            if kind is JobKind.EXTEND:
                prompt = await dialogs.ask_text(
                    self,
                    self.tr("Extend video"),
                    self.tr("What happens next? (a new paid task, %1)").replace("%1", cost),
                )
                if not prompt or not prompt.strip():
                    return None
                child = self.task_actions.extend(job.id, prompt.strip())
            else:
                ok = await dialogs.confirm(
                    self,
                    self.tr("Get %1 version").replace("%1", kind_label(kind)),
                    self.tr("Request the %1 version of this video?").replace("%1", kind_label(kind)),
                    self.tr("Request (%1)").replace("%1", cost),
                )
                if not ok:
                    return None
                child = self.task_actions.upgrade(job.id, kind)
            self.submitted.emit(child)
            return child
        except rules.SpecError as exc:
            self.message.emit("; ".join(dialogs_tr_rules(p.message) for p in exc.problems))
        except Exception as exc:  # the service refused (e.g. not available for this task): say why
            log.info("follow-up %s refused: %s", kind, exc)
            self.message.emit(str(exc))
        finally:
            self._busy_jobs.discard(job.id)
        return None

    async def retry(self, job: Job) -> Job | None:
        if self.task_actions is None or job.id in self._busy_jobs:
            return None
        self._busy_jobs.add(job.id)
        try:
            cost = cost_text(rules.estimate_cost(job.spec, job.kind))
            info = self.tr("This sends a NEW paid request with the same settings.")
            if job.state is JobState.UNCERTAIN:
                info += "\n" + self.tr(
                    "The first request may have reached the provider and been billed. Check your "
                    "provider's task log before retrying."
                )
            ok = await dialogs.confirm(
                self,
                self.tr("Retry as a new task"),
                self.tr("Retry for %1?").replace("%1", cost),
                self.tr("Retry (%1)").replace("%1", cost),
                informative=info,
            )
            if not ok:
                return None
            new = self.task_actions.retry(job.id)
            self.submitted.emit(new)
            return new
        except rules.SpecError as exc:
            self.message.emit("; ".join(dialogs_tr_rules(p.message) for p in exc.problems))
        except Exception as exc:
            log.info("retry refused: %s", exc)
            self.message.emit(str(exc))
        finally:
            self._busy_jobs.discard(job.id)
        return None

    async def remove(self, job: Job, *, delete_file: bool) -> None:
        if self.task_actions is None:
            return
        if delete_file:
            ok = await dialogs.confirm(
                self,
                self.tr("Delete video"),
                self.tr("Remove this task and delete its video file?"),
                self.tr("Delete file"),
                informative=job.file_path or "",
            )
            if not ok:
                return
        await self.task_actions.remove(job.id, delete_file=delete_file)
        self.model.remove_job(job.id)
        self.message.emit(self.tr("Task removed."))


def dialogs_tr_rules(msg: str) -> str:
    from PySide6.QtCore import QCoreApplication

    return QCoreApplication.translate("rules", msg)


__all__ = ["TaskListPanel", "TaskView", "cost_text", "error_details"]
