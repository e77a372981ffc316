"""The task store: every job, as one SQLite row, in one file shared by the GUI and the CLI.

Money is at stake, so the rules are strict:

* A row is written (and committed: WAL + ``synchronous=NORMAL`` survives a process crash)
  before the paid request goes out; ``insert()`` returns only after the commit.
* Two processes may open the same file (the GUI and ``kievideo-cli``). Every write is a short
  ``BEGIN IMMEDIATE`` transaction (so a writer never has to upgrade a read lock and deadlock),
  and ``busy_timeout`` makes the other side wait its turn instead of failing.
* ``updated_at`` is stamped inside the write transaction and is strictly increasing across
  processes, so ``changed_since(ts)`` never misses a change that lands in the same
  microsecond as the last one seen.
* The schema is versioned with ``PRAGMA user_version`` and only ever migrated forward, under
  the write lock, by whichever process gets there first. A file written by a *newer* kievideo
  is refused rather than damaged.

One ``sqlite3`` connection per store, guarded by a lock, so calls may come from the loop
thread or from an executor thread (``check_same_thread=False``).
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kievideo.api.models import ProviderKind
from kievideo.core.clock import Clock, SystemClock
from kievideo.core.jobs import Job, JobKind, JobSpec, JobState

__all__ = [
    "MIGRATIONS",
    "SCHEMA_V1",
    "SCHEMA_VERSION",
    "DuplicateJobError",
    "JobNotFoundError",
    "StaleJobError",
    "StoreError",
    "StoreVersionError",
    "TaskStore",
]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
# Tombstones let another process see deletions; a month is far longer than any app session.
_TOMBSTONE_DAYS = 30


class StoreError(Exception):
    """The task store could not do what was asked."""


class StoreVersionError(StoreError):
    """The file was written by a newer kievideo (or is not a kievideo store)."""


class DuplicateJobError(StoreError):
    """A job with this id or this job_key already exists (job keys are unique: idempotency)."""


class JobNotFoundError(StoreError, KeyError):
    """update() of a row that does not exist (another process may have deleted it)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "job not found"


class StaleJobError(StoreError):
    """update(..., if_unchanged=True) found the row changed since it was read."""


# --------------------------------------------------------------------------------------------
# Schema. Each migration is a list of single statements (never executescript: it would COMMIT
# behind our back and break the all-or-nothing upgrade).

SCHEMA_V1: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        id                TEXT PRIMARY KEY NOT NULL,
        kind              TEXT NOT NULL,
        state             TEXT NOT NULL,
        provider          TEXT NOT NULL,   -- copies of spec fields, for filtering and indexes
        profile           TEXT NOT NULL,
        model             TEXT NOT NULL,
        prompt            TEXT NOT NULL,
        spec              TEXT NOT NULL,   -- JobSpec.to_dict() as JSON: the source of truth
        parent_id         TEXT,
        task_id           TEXT,
        job_key           TEXT,
        provider_status   TEXT NOT NULL DEFAULT '',
        created_at        REAL NOT NULL,
        submitted_at      REAL,
        started_at        REAL,
        finished_at       REAL,
        updated_at        REAL NOT NULL,
        uploaded_urls     TEXT NOT NULL DEFAULT '[]',
        result_urls       TEXT NOT NULL DEFAULT '[]',
        image_urls        TEXT NOT NULL DEFAULT '[]',
        resolution        TEXT,
        expires_at        REAL,
        file_path         TEXT,
        thumb_path        TEXT,
        error_code        INTEGER,
        error_message     TEXT,
        provider_message  TEXT,
        upload_progress   REAL,
        download_progress REAL,
        slow              INTEGER NOT NULL DEFAULT 0,
        poll_count        INTEGER NOT NULL DEFAULT 0,
        extra             TEXT NOT NULL DEFAULT '{}'
    )
    """,
    "CREATE INDEX jobs_state ON jobs(state)",
    # rowid is implicitly the last key column, so ORDER BY created_at DESC, rowid DESC is a
    # pure index walk: list(limit=50) touches 50 rows whatever the table size.
    "CREATE INDEX jobs_created ON jobs(created_at)",
    "CREATE INDEX jobs_task_id ON jobs(task_id) WHERE task_id IS NOT NULL",
    # Unique: the same CLI batch line run twice (even by two processes at once) can never
    # become two paid jobs.
    "CREATE UNIQUE INDEX jobs_job_key ON jobs(job_key) WHERE job_key IS NOT NULL",
    "CREATE INDEX jobs_parent ON jobs(parent_id) WHERE parent_id IS NOT NULL",
)

SCHEMA_V2: tuple[str, ...] = (
    # Uploaded inputs by content hash, so the same image is not uploaded again per job.
    """
    CREATE TABLE upload_cache (
        sha256     TEXT NOT NULL,
        profile    TEXT NOT NULL,
        url        TEXT NOT NULL,
        expires_at REAL NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (sha256, profile)
    ) WITHOUT ROWID
    """,
    # changed_since() and the strictly increasing updated_at stamp both need this.
    "CREATE INDEX jobs_updated ON jobs(updated_at)",
    # Deletions must reach the other process too (the CLI removes, the GUI list follows).
    "CREATE TABLE deletions (id TEXT PRIMARY KEY NOT NULL, deleted_at REAL NOT NULL) WITHOUT ROWID",
    "CREATE INDEX deletions_at ON deletions(deleted_at)",
    # model_durations(): DONE jobs of one model, newest first.
    "CREATE INDEX jobs_model_done ON jobs(provider, model, state, finished_at)",
)

#: (version reached, statements). Append only; never edit a released step.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = ((1, SCHEMA_V1), (2, SCHEMA_V2))
SCHEMA_VERSION = MIGRATIONS[-1][0]

# Column order of every SELECT; _row_to_job() depends on it.
_COLS = (
    "id",
    "spec",
    "kind",
    "state",
    "parent_id",
    "task_id",
    "job_key",
    "provider_status",
    "created_at",
    "submitted_at",
    "started_at",
    "finished_at",
    "updated_at",
    "uploaded_urls",
    "result_urls",
    "image_urls",
    "resolution",
    "expires_at",
    "file_path",
    "thumb_path",
    "error_code",
    "error_message",
    "provider_message",
    "upload_progress",
    "download_progress",
    "slow",
    "poll_count",
    "extra",
)
_SELECT = f"SELECT {', '.join(_COLS)} FROM jobs"
# Written columns: the read columns plus the spec copies used for filtering.
_WCOLS = (*_COLS, "provider", "profile", "model", "prompt")
_INSERT = f"INSERT INTO jobs ({', '.join(_WCOLS)}) VALUES ({', '.join('?' * len(_WCOLS))})"
_UPDATE = f"UPDATE jobs SET {', '.join(c + ' = ?' for c in _WCOLS[1:])} WHERE id = ?"

_ACTIVE_STATES = tuple(s.value for s in JobState if not s.is_final)
#: ids bound per ``IN (...)`` query: far below SQLite's variable limit (999 before 3.32).
_IDS_PER_QUERY = 500


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _job_params(job: Job) -> tuple[Any, ...]:
    """The row for a job, in _WCOLS order. Raises StoreError for values JSON cannot hold."""
    try:
        spec = _dumps(job.spec.to_dict())
        extra = _dumps(job.extra)
    except (TypeError, ValueError) as e:
        raise StoreError(f"job {job.id}: not storable as JSON: {e}") from e
    return (
        job.id,
        spec,
        JobKind(job.kind).value,
        JobState(job.state).value,
        job.parent_id,
        job.task_id,
        job.job_key,
        job.provider_status or "",
        float(job.created_at),
        job.submitted_at,
        job.started_at,
        job.finished_at,
        float(job.updated_at),
        _dumps(list(job.uploaded_urls)),
        _dumps(list(job.result_urls)),
        _dumps(list(job.image_urls)),
        job.resolution,
        job.expires_at,
        job.file_path,
        job.thumb_path,
        job.error_code,
        job.error_message,
        job.provider_message,
        job.upload_progress,
        job.download_progress,
        1 if job.slow else 0,
        int(job.poll_count),
        extra,
        job.spec.provider.value,
        job.spec.profile,
        job.spec.model,
        job.spec.prompt,
    )


# Loading rows is the hot path of opening the app (service.jobs() on 10k rows), so the
# decoding below avoids the slow generic paths: raw_decode skips json.loads' whitespace
# handling (we write compact JSON), empty containers skip the parser, and enum members come
# from dicts instead of EnumMeta.__call__.
_decode = json.JSONDecoder().raw_decode
_KINDS = {k.value: k for k in JobKind}
_STATES = {s.value: s for s in JobState}


def _loads(text: str) -> Any:
    try:
        return _decode(text)[0]
    except ValueError:
        return json.loads(text)  # written by something else, with whitespace: slow path


@functools.lru_cache(maxsize=16_384)
def _spec(text: str) -> JobSpec:
    """JobSpec is frozen, and a row's spec text never changes once written, so repeated loads
    (list refreshes, changed_since polling) share one parsed object per distinct spec."""
    return JobSpec.from_dict(_loads(text))


def _tuple(text: str | None) -> tuple[str, ...]:
    if not text or text == "[]":
        return ()
    value = _loads(text)
    return tuple(v if isinstance(v, str) else str(v) for v in value) if isinstance(value, list) else ()


def _row_to_job(row: Sequence[Any]) -> Job:
    try:
        extra = _loads(row[27]) if row[27] and row[27] != "{}" else {}
        kind = _KINDS.get(row[2]) or JobKind(row[2])
        state = _STATES.get(row[3]) or JobState(row[3])
        return Job(
            id=row[0],
            spec=_spec(row[1]),
            kind=kind,
            state=state,
            parent_id=row[4],
            task_id=row[5],
            job_key=row[6],
            provider_status=row[7] or "",
            created_at=float(row[8]),
            submitted_at=row[9],
            started_at=row[10],
            finished_at=row[11],
            updated_at=float(row[12]),
            uploaded_urls=_tuple(row[13]),
            result_urls=_tuple(row[14]),
            image_urls=_tuple(row[15]),
            resolution=row[16],
            expires_at=row[17],
            file_path=row[18],
            thumb_path=row[19],
            error_code=row[20],
            error_message=row[21],
            provider_message=row[22],
            upload_progress=row[23],
            download_progress=row[24],
            slow=bool(row[25]),
            poll_count=int(row[26] or 0),
            extra=extra if isinstance(extra, dict) else {},
        )
    except (ValueError, KeyError, TypeError) as e:  # JSONDecodeError is a ValueError
        raise StoreError(f"job {row[0]!r}: unreadable row ({type(e).__name__}: {e})") from e


def _fold(text: object) -> str | None:
    """SQL function kv_fold(): Unicode case folding, so a search for "КОТ" finds "кот"
    (SQLite's own LIKE folds ASCII only)."""
    return text.casefold() if isinstance(text, str) else None


class TaskStore:
    """All jobs of one user, in one SQLite file. See the module docstring for the rules."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock | None = None,
        busy_timeout: float = BUSY_TIMEOUT_MS / 1000,
        synchronous: str = "NORMAL",
    ) -> None:
        self._path = Path(path)
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._path.parent.mkdir(parents=True, exist_ok=True)
        if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError("synchronous must be NORMAL, FULL or EXTRA")
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves (the sqlite3 module's implicit
            # transactions would start DEFERRED ones, which can deadlock two writers).
            conn = sqlite3.connect(
                str(self._path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the task store {self._path}: {e}") from e
        self._conn: sqlite3.Connection | None = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            mode = _enable_wal(conn, time.monotonic() + busy_timeout)
            if mode != "wal":  # e.g. some network file systems
                log.warning("task store %s: journal_mode is %s, not WAL", self._path, mode)
            conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            conn.create_function("kv_fold", 1, _fold, deterministic=True)
            self._migrate()
            self._prune()
        except sqlite3.DatabaseError as e:
            conn.close()
            self._conn = None
            raise StoreVersionError(f"{self._path} is not a usable kievideo task store: {e}") from e
        except BaseException:
            conn.close()
            self._conn = None
            raise

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db().execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close the connection (idempotent). Every write is already committed."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            with contextlib.suppress(sqlite3.Error):  # never let housekeeping block a shutdown
                conn.execute("PRAGMA optimize")
            conn.close()

    def __enter__(self) -> TaskStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TaskStore({str(self._path)!r}{'' if self._conn else ', closed'})"

    # ---- writes ------------------------------------------------------------------------------

    def insert(self, job: Job) -> None:
        """Write a new job and commit. Sets ``job.created_at`` (if 0) and ``job.updated_at``
        on the object passed in. Raises DuplicateJobError for a known id or job_key."""
        with self._write() as cur:
            stamp = self._stamp(cur)
            if not job.created_at:
                job.created_at = stamp
            old = job.updated_at
            job.updated_at = stamp
            try:
                cur.execute(_INSERT, _job_params(job))
            except sqlite3.IntegrityError as e:
                job.updated_at = old
                raise DuplicateJobError(f"job {job.id} (job_key {job.job_key!r}) already exists") from e
            except BaseException:
                job.updated_at = old
                raise

    def update(self, job: Job, *, if_unchanged: bool = False) -> None:
        """Rewrite the whole row and commit; ``job.updated_at`` is bumped on the object too.

        ``if_unchanged=True`` first checks that the row's updated_at still equals
        ``job.updated_at`` (optimistic locking against the other process) and raises
        StaleJobError otherwise. Raises JobNotFoundError if the row is gone.
        """
        with self._write() as cur:
            row = cur.execute("SELECT updated_at FROM jobs WHERE id = ?", (job.id,)).fetchone()
            if row is None:
                raise JobNotFoundError(f"job {job.id} is not in the store")
            if if_unchanged and float(row[0]) != float(job.updated_at):
                raise StaleJobError(f"job {job.id} was changed by someone else")
            old = job.updated_at
            job.updated_at = self._stamp(cur)
            try:
                params = _job_params(job)
                cur.execute(_UPDATE, (*params[1:], job.id))
            except sqlite3.IntegrityError as e:
                job.updated_at = old
                raise DuplicateJobError(f"job {job.id}: job_key {job.job_key!r} is taken") from e
            except BaseException:
                job.updated_at = old
                raise

    def delete(self, job_id: str) -> bool:
        """Remove a row (not its children, not its file). True if it existed. Leaves a
        tombstone so another process's ``deleted_since()`` sees it."""
        with self._write() as cur:
            n = cur.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount
            if n:
                cur.execute(
                    "INSERT OR REPLACE INTO deletions (id, deleted_at) VALUES (?, ?)",
                    (job_id, self._stamp(cur)),
                )
            return n > 0

    # ---- reads -------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        return self._one(f"{_SELECT} WHERE id = ?", (job_id,))

    def by_task_id(self, task_id: str, *, kind: JobKind | None = None) -> Job | None:
        """The job that owns a provider task id. A Veo 1080p job shares its parent's task id,
        so without ``kind`` the GENERATE job wins, then the oldest."""
        if kind is not None:
            return self._one(
                f"{_SELECT} WHERE task_id = ? AND kind = ? ORDER BY created_at, rowid LIMIT 1",
                (task_id, JobKind(kind).value),
            )
        return self._one(
            f"{_SELECT} WHERE task_id = ? ORDER BY kind = 'generate' DESC, created_at, rowid LIMIT 1",
            (task_id,),
        )

    def by_job_key(self, key: str) -> Job | None:
        return self._one(f"{_SELECT} WHERE job_key = ?", (key,))

    def list(
        self,
        *,
        states: Iterable[JobState | str] | None = None,
        provider: ProviderKind | str | None = None,
        text: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
        offset: int = 0,
        profile: str | None = None,
        kinds: Iterable[JobKind | str] | None = None,
    ) -> builtins.list[Job]:
        """Jobs newest first (created_at, then insertion order).

        ``text``: case-insensitive substring of the prompt, the task id or the model.
        ``since`` <= created_at < ``until``. An empty ``states``/``kinds`` matches nothing.
        """
        where, params = self._where(states, provider, text, since, until, profile, kinds)
        sql = f"{_SELECT}{where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
        return self._many(sql, (*params, -1 if limit is None else max(0, limit), max(0, offset)))

    def count(
        self,
        *,
        states: Iterable[JobState | str] | None = None,
        provider: ProviderKind | str | None = None,
        text: str | None = None,
        since: float | None = None,
        until: float | None = None,
        profile: str | None = None,
        kinds: Iterable[JobKind | str] | None = None,
    ) -> int:
        where, params = self._where(states, provider, text, since, until, profile, kinds)
        with self._lock:
            return int(self._read(f"SELECT count(*) FROM jobs{where}", params)[0][0])

    def children(self, job_id: str) -> builtins.list[Job]:
        """Upgrades and extensions made from this job, oldest first."""
        return self._many(f"{_SELECT} WHERE parent_id = ? ORDER BY created_at, rowid", (job_id,))

    def done_files(self, now: float) -> builtins.list[tuple[str, str | None]]:
        """``(id, file_path)`` of every DONE job whose result the provider still keeps (it has
        result links that have not expired at ``now``): what a restart checks on disk. Two
        columns, not whole jobs, so 10,000 finished jobs cost milliseconds, not a full decode."""
        with self._lock:
            rows = self._read(
                "SELECT id, file_path FROM jobs WHERE state = ? AND result_urls != '[]'"
                " AND (expires_at IS NULL OR expires_at > ?)",
                (JobState.DONE.value, now),
            )
        return [(str(r[0]), None if r[1] is None else str(r[1])) for r in rows]

    def active(self) -> builtins.list[Job]:
        """Every non-final job, oldest first: what must be resumed on start."""
        marks = ", ".join("?" * len(_ACTIVE_STATES))
        return self._many(f"{_SELECT} WHERE state IN ({marks}) ORDER BY created_at, rowid", _ACTIVE_STATES)

    def changed_since(self, ts: float) -> builtins.list[Job]:
        """Rows written after ``ts`` (by any process), in write order. Feed the largest
        ``updated_at`` seen back in next time; start with :meth:`last_change`."""
        return self._many(f"{_SELECT} WHERE updated_at > ? ORDER BY updated_at", (ts,))

    def stamps_since(self, ts: float) -> builtins.list[tuple[str, float]]:
        """``(id, updated_at)`` of the rows written after ``ts``, in write order: what
        :meth:`changed_since` would return, without building a Job per row. A process that
        wrote most of those rows itself looks here first and loads only the others."""
        with self._lock:
            rows = self._read(
                "SELECT id, updated_at FROM jobs WHERE updated_at > ? ORDER BY updated_at", (ts,)
            )
        return [(str(r[0]), float(r[1])) for r in rows]

    def active_ids(self) -> builtins.list[str]:
        """The ids of :meth:`active`, oldest first, without loading the rows."""
        marks = ", ".join("?" * len(_ACTIVE_STATES))
        with self._lock:
            rows = self._read(
                f"SELECT id FROM jobs WHERE state IN ({marks}) ORDER BY created_at, rowid", _ACTIVE_STATES
            )
        return [str(r[0]) for r in rows]

    def get_many(self, ids: Sequence[str]) -> builtins.list[Job]:
        """The jobs with these ids that still exist, in the order given."""
        found: dict[str, Job] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            for job in self._many(f"{_SELECT} WHERE id IN ({marks})", chunk):
                found[job.id] = job
        return [found[i] for i in ids if i in found]

    def deleted_since(self, ts: float) -> builtins.list[str]:
        """Ids of rows deleted after ``ts`` (tombstones are kept for 30 days)."""
        with self._lock:
            rows = self._read("SELECT id FROM deletions WHERE deleted_at > ? ORDER BY deleted_at", (ts,))
        return [str(r[0]) for r in rows]

    def last_change(self) -> float:
        """The newest write stamp in the store (rows and deletions); 0.0 when empty."""
        with self._lock:
            row = self._read(
                "SELECT max(coalesce((SELECT max(updated_at) FROM jobs), 0),"
                " coalesce((SELECT max(deleted_at) FROM deletions), 0))",
                (),
            )
        return float(row[0][0] or 0.0)

    def model_durations(
        self, provider: ProviderKind | str, model: str, limit: int = 50, *, kind: JobKind = JobKind.GENERATE
    ) -> builtins.list[float]:
        """How long this user's finished tasks of one model took, newest first: finished_at
        minus started_at (or submitted_at when the start was never seen). Only DONE jobs of
        ``kind`` (an upgrade's timing says nothing about a generation's)."""
        with self._lock:
            rows = self._read(
                "SELECT finished_at - coalesce(started_at, submitted_at) FROM jobs"
                " WHERE provider = ? AND model = ? AND state = ? AND kind = ?"
                " AND finished_at IS NOT NULL AND coalesce(started_at, submitted_at) IS NOT NULL"
                " ORDER BY finished_at DESC LIMIT ?",
                (_enum_value(provider), model, JobState.DONE.value, JobKind(kind).value, max(0, limit)),
            )
        return [float(r[0]) for r in rows if r[0] is not None and r[0] > 0]

    # ---- upload cache ------------------------------------------------------------------------

    def upload_cache_get(
        self, sha256: str, profile: str, *, now: float | None = None
    ) -> tuple[str, float] | None:
        """(url, expires_at) of an earlier upload of the same content to the same profile,
        only if it is still alive at ``now`` (default: the store's clock)."""
        at = self._clock.time() if now is None else now
        with self._lock:
            rows = self._read(
                "SELECT url, expires_at FROM upload_cache"
                " WHERE sha256 = ? AND profile = ? AND expires_at > ?",
                (sha256, profile, at),
            )
        return (str(rows[0][0]), float(rows[0][1])) if rows else None

    def upload_cache_put(self, sha256: str, profile: str, url: str, expires_at: float) -> None:
        now = self._clock.time()
        with self._write() as cur:
            cur.execute("DELETE FROM upload_cache WHERE expires_at <= ?", (now,))
            cur.execute(
                "INSERT INTO upload_cache (sha256, profile, url, expires_at, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256, profile) DO UPDATE SET"
                " url = excluded.url, expires_at = excluded.expires_at, created_at = excluded.created_at",
                (sha256, profile, url, float(expires_at), now),
            )

    def upload_cache_delete(self, sha256: str, profile: str) -> None:
        """Forget a cached upload (e.g. a liveness check found it gone before expiry)."""
        with self._write() as cur:
            cur.execute("DELETE FROM upload_cache WHERE sha256 = ? AND profile = ?", (sha256, profile))

    # ---- maintenance -------------------------------------------------------------------------

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: "ok" when the file is sound."""
        with self._lock:
            rows = self._read("PRAGMA integrity_check", ())
        return "\n".join(str(r[0]) for r in rows)

    # ---- internals ---------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the task store is closed")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        """One short write transaction. IMMEDIATE takes the write lock up front (waiting up to
        busy_timeout), so two processes serialise instead of failing with SQLITE_BUSY mid-way."""
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise StoreError(f"the task store is busy (another kievideo process?): {e}") from e
            cur = conn.cursor()
            try:
                yield cur
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as e:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise StoreError(f"could not commit to the task store: {e}") from e
            finally:
                cur.close()

    def _read(self, sql: str, params: Sequence[Any]) -> builtins.list[Any]:
        """Run a SELECT (caller holds the lock). Autocommit mode: each statement is its own
        consistent snapshot, and no read transaction is left open to block WAL checkpoints."""
        try:
            return self._db().execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as e:
            raise StoreError(f"task store read failed: {e}") from e

    def _one(self, sql: str, params: Sequence[Any]) -> Job | None:
        with self._lock:
            rows = self._read(sql, params)
        return _row_to_job(rows[0]) if rows else None

    def _many(self, sql: str, params: Sequence[Any]) -> builtins.list[Job]:
        with self._lock:
            rows = self._read(sql, params)
        jobs: builtins.list[Job] = []
        for row in rows:
            try:
                jobs.append(_row_to_job(row))
            except StoreError as e:
                # One bad row (e.g. a state written by a newer version) must not hide the rest.
                log.warning("skipping %s", e)
        return jobs

    def _stamp(self, cur: sqlite3.Cursor) -> float:
        """A write time strictly after every earlier write, in any process (we hold the write
        lock, so no one else can stamp in between)."""
        last = cur.execute(
            "SELECT max(coalesce((SELECT max(updated_at) FROM jobs), 0),"
            " coalesce((SELECT max(deleted_at) FROM deletions), 0))"
        ).fetchone()[0]
        now = self._clock.time()
        last = float(last or 0.0)
        return now if now > last else last + 1e-6

    @staticmethod
    def _where(
        states: Iterable[JobState | str] | None,
        provider: ProviderKind | str | None,
        text: str | None,
        since: float | None,
        until: float | None,
        profile: str | None,
        kinds: Iterable[JobKind | str] | None,
    ) -> tuple[str, builtins.list[Any]]:
        clauses: builtins.list[str] = []
        params: builtins.list[Any] = []
        if states is not None:
            values = [JobState(s).value for s in states]
            clauses.append(f"state IN ({', '.join('?' * len(values))})" if values else "0")
            params.extend(values)
        if kinds is not None:
            kvalues = [JobKind(k).value for k in kinds]
            clauses.append(f"kind IN ({', '.join('?' * len(kvalues))})" if kvalues else "0")
            params.extend(kvalues)
        if provider is not None:
            clauses.append("provider = ?")
            params.append(_enum_value(provider))
        if profile is not None:
            clauses.append("profile = ?")
            params.append(profile)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("created_at < ?")
            params.append(until)
        needle = (text or "").strip()
        if needle:
            if needle.isascii():
                # Fast path in C: LIKE already ignores ASCII case. Escape the wildcards.
                pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                clauses.append(
                    "(prompt LIKE ? ESCAPE '\\' OR task_id LIKE ? ESCAPE '\\' OR model LIKE ? ESCAPE '\\')"
                )
                params.extend([pattern] * 3)
            else:
                clauses.append(
                    "(instr(kv_fold(prompt), ?) > 0 OR instr(kv_fold(task_id), ?) > 0"
                    " OR instr(kv_fold(model), ?) > 0)"
                )
                params.extend([needle.casefold()] * 3)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def _migrate(self) -> None:
        conn = self._db()
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"{self._path} was written by a newer kievideo (schema {version}, this one knows"
                f" {SCHEMA_VERSION}); update kievideo or use another --data-dir"
            )
        with self._write() as cur:
            # Re-read under the write lock: the other process may have migrated meanwhile.
            version = int(cur.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreVersionError(f"{self._path}: schema {version} is newer than {SCHEMA_VERSION}")
            if version == 0 and cur.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreVersionError(f"{self._path} holds other tables and no kievideo schema version")
            for target, statements in MIGRATIONS:
                if target > version:
                    for statement in statements:
                        cur.execute(statement)
                    log.info("task store %s: schema %d -> %d", self._path, version, target)
            cur.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _prune(self) -> None:
        cutoff = self._clock.time() - _TOMBSTONE_DAYS * 86_400
        with self._lock:
            stale = self._read("SELECT 1 FROM deletions WHERE deleted_at < ? LIMIT 1", (cutoff,))
        if stale:  # only take the write lock when there is something to do
            with self._write() as cur:
                cur.execute("DELETE FROM deletions WHERE deleted_at < ?", (cutoff,))


def _enable_wal(conn: sqlite3.Connection, deadline: float) -> str:
    """Switch the file to WAL (persistent: only the very first open really does it).

    Changing the journal mode needs an exclusive lock and SQLite reports SQLITE_BUSY at once
    instead of calling the busy handler, which bites exactly when two processes create a fresh
    store together; so wait for it ourselves, bounded by the busy timeout.
    """
    delay = 0.005
    while True:
        try:
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if mode != "wal":
                mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
            return mode
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(delay)  # waiting for another process's lock, not for timing luck
            delay = min(delay * 2, 0.1)


def _enum_value(value: ProviderKind | str) -> str:
    return value.value if isinstance(value, ProviderKind) else str(value)
