"""TaskListModel: a thin Qt list model over the jobs TaskService owns, plus its filter proxy.

The service calls our listener on every change (each poll, each chunk of a download). Repainting
per call would flood the view, so the listener only stores the new Job and marks its row dirty; a
250 ms timer turns dirty rows into one ``dataChanged`` per contiguous range. A second, 1 s timer
announces the clock's tick (``timesChanged``): the running-time text of active rows
(``Roles.TimeText``, "running 1:40") is a function of the clock, not of the job, and views repaint
what they show of those rows. A ``dataChanged`` naming every active row each second would make a
filter proxy ask its (Python) ``filterAcceptsRow`` of each one, whatever the roles and even with
dynamic filtering off (Qt 6.12): 1-17 ms a second on the GUI thread with 200 tasks under way.

Rows are the service's jobs flattened as a two-level tree: newest generation first, its
1080p/4K/extend children right after it (the delegate indents them and shows a badge).

A long history is loaded in pages (Qt's ``canFetchMore``/``fetchMore``): with a real TaskService
the model reads the newest :data:`PAGE_SIZE` jobs from its TaskStore, and the view asks for the
next page when it is scrolled to the bottom, so opening the app with 10,000 tasks builds a screen's
worth of rows, not 10,000. Loaded jobs always come with their ancestors (a child is never shown
before its parent), so every later insert keeps the existing rows in order. The filter proxy
filters what is loaded; :meth:`TaskListModel.load_matching` brings older matches of a search or
state filter in from the store. A source without a store (the test double) is loaded whole.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)

from kievideo.core.jobs import Job, JobState
from kievideo.ui.style import fmt_clock, kind_label, provider_label, state_label, tr

if TYPE_CHECKING:
    from kievideo.core.service import TaskService
    from kievideo.core.store import TaskStore

ModelIndex = QModelIndex | QPersistentModelIndex

#: rows read per page (the first screen needs ~15; a page is ~10 ms of store reads)
PAGE_SIZE = 200
#: at most this many older matches are brought in per search / filter change
MATCH_LIMIT = 500
#: a flush with at most this many changed rows signals each row alone (see TaskListModel.flush)
ROW_SIGNALS_MAX = 64
#: finished rows whose paint data is kept (see TaskListModel._paint_data): a few screens' worth
PAINT_KEPT = 512


class JobSource(Protocol):
    """The part of TaskService the model needs (kept small so the model is easy to test)."""

    def jobs(self) -> list[Job]: ...

    def add_listener(self, cb: Callable[[Job], None]) -> Callable[[], None]: ...


class StorePager:
    """Pages of a TaskService's history, read straight from its TaskStore, newest first.

    ``TaskService.jobs()`` sorts and copies every job; this reads only what is asked for. Store
    rows of jobs the service is working on may lag its in-memory copy, so :meth:`fresh` swaps
    those for ``service.get()`` (on the loop thread). The store is thread-safe: :meth:`matching`
    may run in an executor.
    """

    def __init__(self, service: TaskService) -> None:
        self._service = service
        self._store: TaskStore = service.store

    def page(self, floor: float | None, ties: int, limit: int) -> list[Job]:
        """Jobs created at or before ``floor`` (all when None), newest first: ``ties`` already
        loaded jobs created exactly at ``floor`` come first (store order), then up to ``limit``."""
        until = None if floor is None else math.nextafter(floor, math.inf)
        return self._store.list(until=until, limit=limit + ties)

    def matching(self, text: str | None, states: Iterable[JobState] | None, limit: int) -> list[Job]:
        """Up to ``limit`` jobs matching a search text (prompt, task id, model) and/or states."""
        return self._store.list(text=text or None, states=states, limit=limit)

    def get(self, job_id: str) -> Job | None:
        return self._service.get(job_id)

    def fresh(self, jobs: Sequence[Job]) -> list[Job]:
        """The service's own (newer) copy of every job it may be working on."""
        out = []
        for job in jobs:
            if not job.is_final:
                job = self._service.get(job.id) or job
            out.append(job)
        return out


def pager_for(source: Any) -> StorePager | None:
    """A StorePager when ``source`` is a service with a TaskStore, else None (load it whole)."""
    store = getattr(source, "store", None)
    return StorePager(source) if store is not None and hasattr(store, "list") else None


class Roles:
    """Custom item roles (ints so they can be used in ``index.data(role)``)."""

    Job = int(Qt.ItemDataRole.UserRole) + 1
    JobId = Job + 1
    State = Job + 2
    Depth = Job + 3  # 0 for a generation, 1 for its 1080p/4K/extend children
    TimeText = Job + 4  # "queued 0:12 · running 1:40"
    SearchText = Job + 5  # what the search box matches
    ParentLabel = Job + 6  # "1080p of “a cat on …”"
    #: (Job, Depth, ParentLabel, TimeText) in one tuple: what the delegate paints a row from.
    #: Each ``index.data()`` is a Python round trip through the filter proxy, and a scrolled
    #: page repaints a dozen rows, so the delegate asks once instead of four times.
    Paint = Job + 7


def job_sort_key(job: Job) -> tuple[float, str]:
    return (job.created_at or 0.0, job.id)


def time_text(job: Job, now: float | None = None) -> str:
    """Queued time and running time, separately (a slow queue is not a slow model). A finished
    job that was never seen running (its first status answer already said done) shows its total
    time: how it split between queue and generation is not known."""
    now = time.time() if now is None else now
    if job.is_final and job.started_at is None and job.submitted_at is not None and job.finished_at:
        return tr("took %1").replace("%1", fmt_clock(job.finished_at - job.submitted_at))
    parts: list[str] = []
    if job.submitted_at is not None:
        queued_end = job.started_at or job.finished_at or now
        if job.started_at is None and job.is_final:
            queued_end = job.finished_at or job.updated_at or now
        parts.append(tr("queued %1").replace("%1", fmt_clock(queued_end - job.submitted_at)))
    if job.started_at is not None:
        end = job.finished_at if job.finished_at is not None else (job.updated_at if job.is_final else now)
        parts.append(tr("running %1").replace("%1", fmt_clock((end or now) - job.started_at)))
    return " · ".join(parts)


def status_note(job: Job) -> tuple[str, bool]:
    """The third line's note of an active row: (text, is_warning). Empty for final rows."""
    if job.is_final:
        return "", False
    if job.slow:
        return tr("taking unusually long"), True
    problem = job.extra.get("last_error") or job.error_message
    if problem:
        # A transient problem while polling (network down, provider busy): say so; the service
        # keeps trying on its own.
        return tr("%1 Still trying.").replace("%1", str(problem)), True
    return job.provider_status or "", False


def excerpt(text: str, limit: int = 60) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1].rstrip() + "…"


class TaskListModel(QAbstractListModel):
    """One row per Job; ``Roles.Job`` returns the Job object for the delegate and the actions."""

    #: a job reached a final state during this session (for notifications, auto-play)
    jobFinished = Signal(object)
    #: the set of rows changed (the view shows/hides its empty-state text)
    countChanged = Signal(int)
    #: the clock ticked while rows are under way: their time text (Roles.TimeText) moved on
    timesChanged = Signal()

    def __init__(
        self,
        source: JobSource | None = None,
        parent: QObject | None = None,
        *,
        throttle_ms: int = 250,
        tick_ms: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self._rows: list[str] = []  # job ids in display order
        self._jobs: dict[str, Job] = {}
        # job id -> (job, its parent, the Roles.Paint tuple), for finished rows (_paint_data)
        self._paint_kept: dict[str, tuple[Job, Job | None, tuple[Job, int, str, str]]] = {}
        self._row_of: dict[str, int] = {}
        self._dirty: set[str] = set()
        # Jobs under way that sort below the loaded pages (see on_job_changed): they are not rows
        # until their page is read, but they still announce when they finish (jobFinished).
        self._beyond: set[str] = set()
        self._by_thumb: dict[str, set[str]] = {}  # thumb_path -> job ids (repaint on decode)
        self._clock = clock
        self._unsubscribe: Callable[[], None] | None = None
        # Paging (see the module docstring): the oldest created_at read by pages, how many paged
        # jobs carry exactly that time, and whether the store has nothing older.
        self._pager: StorePager | None = None
        self._floor: float | None = None
        self._floor_ties = 0
        self._exhausted = True
        self._match_seq = 0
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(throttle_ms)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self.flush)
        self._tick_timer = QTimer(self)
        self._tick_timer.setInterval(tick_ms)
        self._tick_timer.timeout.connect(self._tick)
        self._tick_timer.start()
        if source is not None:
            self.set_source(source)

    # --- wiring -------------------------------------------------------------------------------

    def set_source(self, source: JobSource, pager: StorePager | None = None) -> None:
        """Show ``source``'s jobs: the first page from its store (see the module docstring), or
        all of them when it has none; then follow its changes."""
        self.detach()
        self._pager = pager if pager is not None else pager_for(source)
        if self._pager is None:
            self.reset_jobs(source.jobs())
        else:
            self.reset_jobs([])
            self._floor, self._floor_ties, self._exhausted = None, 0, False
            self.fetch_page()
        self._unsubscribe = source.add_listener(self.on_job_changed)
        self._tick_timer.start()

    def set_clock(self, clock: Callable[[], float]) -> None:
        """The service's clock (expiry and running times are on it)."""
        self._clock = clock

    def detach(self) -> None:
        """Stop listening (window closing): the service may outlive the model by a few ticks."""
        if self._unsubscribe is not None:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            unsubscribe()
        self._flush_timer.stop()
        self._tick_timer.stop()
        self._match_seq += 1  # a search still reading the store is dropped
        self._exhausted = True  # and no more pages: the store may be closed next

    def reset_jobs(self, jobs: Iterable[Job]) -> None:
        self.beginResetModel()
        self._jobs = {j.id: j for j in jobs}
        self._by_thumb = {}
        for j in self._jobs.values():
            self._index_thumb(j)
        self._rows = self._ordered_ids()
        self._reindex()
        self._dirty.clear()
        self._beyond.clear()
        self.endResetModel()
        self.countChanged.emit(len(self._rows))

    def sync(self, jobs: Iterable[Job]) -> None:
        """Bring the rows in line with ``jobs`` (after a removal or a change by another process)."""
        fresh = {j.id: j for j in jobs}
        for job_id in [i for i in self._rows if i not in fresh]:
            self._remove(job_id)
        for job in sorted(fresh.values(), key=job_sort_key):
            self.on_job_changed(job)

    # --- paging -------------------------------------------------------------------------------

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008 - Qt signature
        return not parent.isValid() and self._pager is not None and not self._exhausted

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008 - Qt signature
        if not parent.isValid():
            self.fetch_page()

    def fetch_page(self, limit: int = PAGE_SIZE) -> int:
        """Read the next (older) page from the store; returns how many rows were added."""
        pager = self._pager
        if pager is None or self._exhausted:
            return 0
        ties = self._floor_ties
        jobs = pager.page(self._floor, ties, limit)
        if len(jobs) < limit + ties:
            self._exhausted = True
        if jobs:
            oldest = jobs[-1].created_at
            same = sum(1 for j in jobs if j.created_at == oldest)
            self._floor_ties = same if oldest != self._floor else max(same, ties)
            self._floor = oldest
        return self.add_jobs(pager.fresh(jobs))

    def has_more(self) -> bool:
        """True while older jobs are still in the store only."""
        return self.canFetchMore()

    def load_matching(self, text: str = "", states: Iterable[JobState] | None = None) -> None:
        """Bring older jobs matching a search / state filter in from the store, off the GUI
        thread (the proxy already filters what is loaded). No-op when everything is loaded."""
        pager = self._pager
        text = text.strip()
        if pager is None or self._exhausted or (not text and states is None):
            return
        self._match_seq += 1
        seq = self._match_seq
        wanted = None if states is None else list(states)

        def read() -> list[Job]:
            return pager.matching(text, wanted, MATCH_LIMIT)

        try:
            import asyncio

            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a plain widget test): read inline
            self._add_matches(seq, read())
            return
        fut = loop.run_in_executor(None, read)

        def done(f: Any) -> None:
            if f.cancelled() or f.exception() is not None:
                return
            self._add_matches(seq, f.result())

        fut.add_done_callback(done)

    def _add_matches(self, seq: int, jobs: list[Job]) -> None:
        if seq != self._match_seq or self._pager is None:
            return  # superseded by a newer search, or detached
        self.add_jobs(self._pager.fresh(jobs))

    def add_jobs(self, jobs: Iterable[Job]) -> int:
        """Insert jobs that are not loaded yet (with their ancestors), keeping every existing
        row where it is; one rowsInserted per contiguous run. Returns how many were added."""
        new: dict[str, Job] = {}
        for job in jobs:
            if job.id not in self._jobs and job.id not in new:
                new[job.id] = job
        if not new:
            return 0
        for job in list(new.values()):
            for anc in self._missing_ancestors(job, new):
                new[anc.id] = anc
        self._jobs.update(new)
        self._beyond.difference_update(new)
        for job in new.values():
            self._index_thumb(job)
        order = self._ordered_ids()
        # The old rows keep their relative order in ``order`` (ancestors come along), so walking
        # it top-down and inserting each run of new ids at its final index is exact.
        i = 0
        while i < len(order):
            if order[i] in new:
                j = i
                while j < len(order) and order[j] in new:
                    j += 1
                self.beginInsertRows(QModelIndex(), i, j - 1)
                self._rows[i:i] = order[i:j]
                self.endInsertRows()
                i = j
            else:
                i += 1
        self._reindex()
        self.countChanged.emit(len(self._rows))
        return len(new)

    def _missing_ancestors(self, job: Job, pending: dict[str, Job]) -> list[Job]:
        """Parents (grand-parents...) of ``job`` that are neither loaded nor ``pending``."""
        out: list[Job] = []
        seen = {job.id}
        cur = job
        while cur.parent_id and cur.parent_id not in self._jobs and cur.parent_id not in pending:
            if self._pager is None or cur.parent_id in seen:
                break
            parent = self._pager.get(cur.parent_id)
            if parent is None:
                break
            seen.add(parent.id)
            out.append(parent)
            cur = parent
        return out

    # --- listener -----------------------------------------------------------------------------

    def on_job_changed(self, job: Job) -> None:
        """TaskService listener: cheap by design, it runs for every poll and download chunk."""
        old = self._jobs.get(job.id)
        if old is None and self._below_pages(job):
            # An older job under way (resumed after a restart, say) whose page is not read yet:
            # it is not a row until that page is, where fetch_page's fresh() brings its newest
            # state. Inserting it now would be out of paging order, and every insert costs
            # QListView a relayout and a repaint of the whole viewport (bench.responsiveness,
            # load phase: 100 of 300 tasks beyond the first page, 5 inserts a second).
            if not job.is_final:
                self._beyond.add(job.id)
            elif job.id in self._beyond:
                self._beyond.discard(job.id)
                self.jobFinished.emit(job)
            return
        if old is None and job.parent_id and job.parent_id not in self._jobs and self._pager is not None:
            self.add_jobs([job])  # brings its parent along (an upgrade of an old, unloaded video)
            return
        self._jobs[job.id] = job
        if old is not None and old.thumb_path != job.thumb_path:
            self._unindex_thumb(old)
        self._index_thumb(job)
        if job.id not in self._row_of:
            self._insert(job)
            return
        if old is not None and not old.is_final and job.is_final:
            self.jobFinished.emit(job)
        self._dirty.add(job.id)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _below_pages(self, job: Job) -> bool:
        """True for a top-level job older than every loaded page while older pages remain (a
        child goes with its parent: see add_jobs)."""
        floor = self._floor
        return (
            floor is not None
            and not self._exhausted
            and self._pager is not None
            and not job.parent_id
            and job.created_at < floor
        )

    def flush(self) -> None:
        """Emit dataChanged for the dirty rows: one signal per row when there are a few, else
        one per contiguous run of rows.

        A view repaints just the row of a one-row dataChanged, and only if it is on screen; for
        a range (even of two rows, even off screen) QAbstractItemView repaints its whole
        viewport. With 300 tasks polling, a flush held ~13 rows from all over the list: nearly
        every flush repainted the visible page (bench.responsiveness, load phase)."""
        rows = sorted(self._row_of[i] for i in self._dirty if i in self._row_of)
        self._dirty.clear()
        if len(rows) <= ROW_SIGNALS_MAX:
            for r in rows:
                index = self.index(r)
                self.dataChanged.emit(index, index)
            return
        for first, last in _runs(rows):
            self.dataChanged.emit(self.index(first), self.index(last))

    def _tick(self) -> None:
        # Only the time text of non-final rows changes with the clock (see the module docstring).
        jobs = self._jobs
        if any(not jobs[i].is_final for i in self._rows):
            self.timesChanged.emit()

    # --- structure ----------------------------------------------------------------------------

    def _ordered_ids(self) -> list[str]:
        tops = [j for j in self._jobs.values() if not j.parent_id or j.parent_id not in self._jobs]
        tops.sort(key=job_sort_key, reverse=True)
        kids: dict[str, list[Job]] = {}
        for j in self._jobs.values():
            if j.parent_id and j.parent_id in self._jobs:
                kids.setdefault(self._root_of(j), []).append(j)
        out: list[str] = []
        for top in tops:
            out.append(top.id)
            out.extend(k.id for k in sorted(kids.get(top.id, []), key=job_sort_key))
        return out

    def _root_of(self, job: Job) -> str:
        """The top-level ancestor (an extension of an extension stays with the original)."""
        seen = {job.id}
        cur = job
        while cur.parent_id and cur.parent_id in self._jobs and cur.parent_id not in seen:
            cur = self._jobs[cur.parent_id]
            seen.add(cur.id)
        return cur.id

    def _insert(self, job: Job) -> None:
        if job.parent_id and job.parent_id in self._row_of:
            root = self._root_of(job)
            row = self._row_of[root] + 1
            while row < len(self._rows) and self._depth_of(self._rows[row]) > 0:
                row += 1
        else:
            # Newest first: a new top-level job goes above every older top-level job.
            row = 0
            while row < len(self._rows):
                other = self._jobs[self._rows[row]]
                if self._depth_of(other.id) == 0 and job_sort_key(other) < job_sort_key(job):
                    break
                row += 1
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.insert(row, job.id)
        self._reindex()
        self.endInsertRows()
        self.countChanged.emit(len(self._rows))

    def _remove(self, job_id: str) -> None:
        row = self._row_of.get(job_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        gone = self._jobs.pop(job_id, None)
        if gone is not None:
            self._unindex_thumb(gone)
        self._dirty.discard(job_id)
        self._reindex()
        self.endRemoveRows()
        self.countChanged.emit(len(self._rows))

    def prune(self, keep: set[str]) -> None:
        """Drop rows whose job is gone (deleted by another process)."""
        for job_id in [i for i in self._rows if i not in keep]:
            self._remove(job_id)

    def remove_job(self, job_id: str) -> None:
        """Drop a row right away (the service has removed the job)."""
        self._remove(job_id)

    def _reindex(self) -> None:
        self._row_of = {job_id: row for row, job_id in enumerate(self._rows)}

    def _index_thumb(self, job: Job) -> None:
        if job.thumb_path:
            self._by_thumb.setdefault(job.thumb_path, set()).add(job.id)

    def _unindex_thumb(self, job: Job) -> None:
        if job.thumb_path:
            ids = self._by_thumb.get(job.thumb_path)
            if ids is not None:
                ids.discard(job.id)
                if not ids:
                    del self._by_thumb[job.thumb_path]

    def rows_with_thumb(self, path: str) -> list[int]:
        """Rows whose poster frame is ``path`` (no scan of every row)."""
        return sorted(self._row_of[i] for i in self._by_thumb.get(path, ()) if i in self._row_of)

    def _depth_of(self, job_id: str) -> int:
        job = self._jobs.get(job_id)
        return 1 if job is not None and job.parent_id and job.parent_id in self._jobs else 0

    # --- lookup -------------------------------------------------------------------------------

    @property
    def clock(self) -> Callable[[], float]:
        """Now, on the service's clock (follows :meth:`set_clock`)."""
        return self.now

    def now(self) -> float:
        return self._clock()

    def job_at(self, row: int) -> Job | None:
        if 0 <= row < len(self._rows):
            return self._jobs[self._rows[row]]
        return None

    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def index_of(self, job_id: str) -> QModelIndex:
        row = self._row_of.get(job_id)
        return self.index(row) if row is not None else QModelIndex()

    def all_jobs(self) -> list[Job]:
        return [self._jobs[i] for i in self._rows]

    # --- QAbstractItemModel -------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    # flags(): QAbstractListModel's own (enabled, selectable, never has children), left in C++:
    # the view asks for it on every row it paints, and a Python override cost a tenth of a frame.

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Roles.Paint:
            return self._paint_data(index)
        if not index.isValid() or index.parent().isValid() or not 0 <= index.row() < len(self._rows):
            return None
        job = self._jobs[self._rows[index.row()]]
        if role == Qt.ItemDataRole.DisplayRole:
            return excerpt(job.spec.prompt) or tr("(no prompt)")
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(job)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            note, _warn = status_note(job)
            text = f"{state_label(job.state)}: {excerpt(job.spec.prompt)}"
            return f"{text}. {note}" if note else text
        if role == Roles.Job:
            return job
        if role == Roles.JobId:
            return job.id
        if role == Roles.State:
            return job.state.value
        if role == Roles.Depth:
            return self._depth_of(job.id)
        if role == Roles.TimeText:
            return time_text(job, self._clock())
        if role == Roles.SearchText:
            return " ".join(
                x
                for x in (
                    job.spec.prompt,
                    job.spec.model,
                    job.spec.provider.value,
                    job.spec.profile,
                    job.task_id or "",
                    job.id,
                    state_label(job.state),
                    job.error_message or "",
                )
                if x
            ).lower()
        if role == Roles.ParentLabel:
            return self._parent_label(job, self._jobs.get(job.parent_id) if job.parent_id else None)
        return None

    def _paint_data(self, index: ModelIndex) -> tuple[Job, int, str, str] | None:
        """``Roles.Paint``: (Job, Depth, ParentLabel, TimeText), on the shortest path (it is
        asked for every painted row). An index of a list model never has a valid parent.

        A finished job's row whose texts do not move with the clock gets the same tuple object
        on every call until the job or its parent changes (the service hands a new Job object
        for every change): the delegate keeps the row's image by that tuple, so a scrolled page
        of history is a dozen look-ups (see taskdelegate._RowImages). The texts are translated
        once; the language is chosen at start-up.
        """
        if not index.isValid():
            return None
        return self.paint_data_at(index.row())

    def paint_data_at(self, row: int) -> tuple[Job, int, str, str] | None:
        """``Roles.Paint`` of ``row`` (see :meth:`_paint_data`), without an index: the task
        view's own paint loop asks for every visible row with no trip through Qt."""
        if not 0 <= row < len(self._rows):
            return None
        job_id = self._rows[row]
        job = self._jobs[job_id]
        parent = self._jobs.get(job.parent_id) if job.parent_id else None
        kept = self._paint_kept.get(job_id)
        if kept is not None and kept[0] is job and kept[1] is parent:
            return kept[2]
        now = self._clock()
        times = time_text(job, now)
        out = (job, 0, "", times) if parent is None else (job, 1, self._parent_label(job, parent), times)
        if job.is_final and time_text(job, now + 3600.0) == times:  # fixed: it may be kept
            kept_rows = self._paint_kept
            if len(kept_rows) >= PAINT_KEPT:
                del kept_rows[next(iter(kept_rows))]  # the oldest kept row
            kept_rows[job_id] = (job, parent, out)
        return out

    @staticmethod
    def _parent_label(job: Job, parent: Job | None) -> str:
        if parent is None:
            return ""
        label = tr("%1 of “%2”").replace("%1", kind_label(job.kind))
        return label.replace("%2", excerpt(parent.spec.prompt, 28))

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        names.update(
            {
                Roles.Job: QByteArray(b"job"),
                Roles.JobId: QByteArray(b"jobId"),
                Roles.State: QByteArray(b"state"),
                Roles.Depth: QByteArray(b"depth"),
                Roles.TimeText: QByteArray(b"timeText"),
                Roles.SearchText: QByteArray(b"searchText"),
                Roles.ParentLabel: QByteArray(b"parentLabel"),
                Roles.Paint: QByteArray(b"paint"),
            }
        )
        return names

    def _tooltip(self, job: Job) -> str:
        lines = [
            job.spec.prompt,
            f"{provider_label(job.spec.provider)} · {job.spec.model} · {state_label(job.state)}",
        ]
        if job.task_id:
            lines.append(tr("Task ID: %1").replace("%1", job.task_id))
        if job.error_message:
            lines.append(job.error_message)
        if job.provider_message:
            lines.append(tr("Provider said: %1").replace("%1", job.provider_message))
        return "\n".join(lines)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """[1,2,3,7,8] -> [(1,3),(7,8)]"""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        elif not out or r != out[-1][1]:
            out.append((r, r))
    return out


#: the state filter combo: (label, states; None = all)
def state_filters() -> list[tuple[str, frozenset[JobState] | None]]:
    return [
        (tr("All tasks"), None),
        (tr("In progress"), frozenset(s for s in JobState if s.is_active)),
        (tr("Done"), frozenset({JobState.DONE})),
        (tr("Failed or uncertain"), frozenset({JobState.FAILED, JobState.UNCERTAIN, JobState.EXPIRED})),
        (tr("Stopped"), frozenset({JobState.STOPPED})),
    ]


class TaskFilterProxy(QSortFilterProxyModel):
    """Search text (prompt, model, task id, error) and a state filter; keeps source order."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._states: frozenset[JobState] | None = None
        self.setDynamicSortFilter(True)

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_states(self, states: frozenset[JobState] | None) -> None:
        self.beginFilterChange()
        self._states = states
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def is_filtering(self) -> bool:
        return bool(self._text) or self._states is not None

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        if self._states is None and not self._text:
            # Qt calls this for every changed row, even for a time-text-only dataChanged (the
            # running rows tick each second): with no filter set, answer before any model call.
            return True
        src = self.sourceModel()
        idx = src.index(source_row, 0, source_parent)
        if self._states is not None:
            state = idx.data(Roles.State)
            if state is None or JobState(state) not in self._states:
                return False
        if self._text:
            hay = idx.data(Roles.SearchText) or ""
            return all(word in hay for word in self._text.split())
        return True
