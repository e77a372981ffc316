"""TaskService: the one facade the GUI and the CLI use. No Qt.

The life of a generation (money is at stake at every step):

1. ``submit(spec)`` validates (``rules.problems`` -> :class:`~kievideo.core.rules.SpecError`:
   nothing written, nothing sent), writes the Job row FIRST (UPLOADING when there are local
   images, else SUBMITTING) and tells the listeners, so the row is on screen at once.
2. In the background: local images are uploaded (once per content hash and profile, see
   :class:`~kievideo.core.uploads.UploadCache`), with per-image progress.
3. Right before the paid create the row is written again as SUBMITTING with the marker
   ``extra["create_sent_at"]``. The create is sent once (the api layer never repeats a paid
   request once its bytes may have left). The task id is stored the moment it arrives (QUEUED).
   No usable answer (:class:`~kievideo.api.errors.AmbiguousSubmitError`) -> UNCERTAIN: "may have
   been submitted; check your provider's logs". It is never resubmitted silently.
4. The :class:`~kievideo.core.scheduler.PollScheduler` polls until the provider says it
   succeeded, failed or expired.
5. On success the video is downloaded into the library (``NAME.part``, resumable, fsync +
   atomic rename, never overwriting), a poster frame is made in an executor, and the job is DONE.

Restart (``start()``): jobs with a task id resume polling, DOWNLOADING jobs (and DONE jobs whose
file is missing, while the provider still keeps it) resume downloading; a job in UPLOADING, or in
SUBMITTING without the sent-marker, provably never reached the provider and is resumed; a job in
SUBMITTING *with* the marker but no task id becomes UNCERTAIN.

Two processes (the GUI and ``kievideo-cli``) share the store. Every job this service works on
carries an owner stamp (``extra["owner"]``: pid + a per-service token). A service only works on
jobs it owns, or adopts jobs whose owner is gone - with an optimistic-lock write, so two
processes can never both adopt (and re-send) the same job. ``refresh_from_store()`` (the GUI
calls it on a timer) picks up what the other process wrote and adopts orphans.

Listeners get a snapshot copy of the job on every change, on the loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import logging
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kievideo.api import errors as api_errors
from kievideo.api.errors import (
    AmbiguousSubmitError,
    ApiError,
    InsufficientCreditsError,
    RateLimitError,
    RecordExpiredError,
    TransportError,
    ValidationError,
    ValidationKind,
)
from kievideo.api.models import ProviderKind, TaskState, TaskView
from kievideo.core import rules
from kievideo.core.clock import Clock, SystemClock
from kievideo.core.downloads import (
    Downloader,
    DownloadError,
    DownloadResult,
    NotAVideoError,
    UrlExpiredError,
    sidecar_path,
)
from kievideo.core.jobs import Job, JobKind, JobSpec, JobState, Mode
from kievideo.core.naming import guess_extension, job_filename, part_path, unique_path
from kievideo.core.providers import ProviderAdapter, ProviderRegistry
from kievideo.core.rules import Problem, SpecError
from kievideo.core.scheduler import DurationModel, PollScheduler, deadline_for, prior_for
from kievideo.core.settings import ServiceSettings
from kievideo.core.store import JobNotFoundError, StaleJobError, TaskStore
from kievideo.core.uploads import UploadCache

__all__ = ["ERROR_KIND_NETWORK", "ERROR_KIND_NOT_VIDEO", "MESSAGES", "TaskService"]

log = logging.getLogger(__name__)

Listener = Callable[[Job], None]

#: What the service itself says to a person (rules.MESSAGES holds the validation texts).
MESSAGES: dict[str, str] = {
    "uncertain": (
        "This request may have been submitted (and billed), but no answer came back: check your "
        "provider's logs{logs} before trying again. kievideo will not send it again on its own."
    ),
    "uncertain_answer": (
        "This request may have been submitted (and billed): the provider answered{status} "
        "without a task id, so kievideo cannot tell whether the task was created; check your "
        "provider's logs{logs} before trying again. kievideo will not send it again on its own."
    ),
    "interrupted_submit": (
        "kievideo stopped while this request was being sent, so it may have been submitted: check "
        "your provider's logs{logs} before trying again. kievideo will not send it again on its own."
    ),
    "content": (
        "The provider's content filter rejected this prompt or image. Rephrase the prompt or use "
        "another image; no video was made."
    ),
    "english": (
        "The provider accepts only English prompts here: translate the prompt (or turn on translation)."
    ),
    "image_fetch": (
        "The provider could not download an input image. Use a public, non-expiring link, or a local "
        "file that kievideo uploads for you."
    ),
    "generation_failed": (
        "The provider could not generate this video. Try again, perhaps with a different prompt."
    ),
    "server": "The provider had an internal error or timed out. Try again in a few minutes.",
    "failed": "The provider could not make this video.",
    "expired": (
        "The provider no longer keeps this result (kie.ai keeps files for 14 days, some APIs for "
        "24 hours), so it cannot be downloaded any more."
    ),
    "not_found": "The provider does not know this task (id {task_id}). Check your provider's logs.",
    "upload_failed": "Image {index} could not be uploaded: {reason} Nothing was sent or billed.",
    "download_failed": "The video is ready but the download failed: {reason} kievideo keeps trying.",
    "download_not_video": (
        "The video is ready, but the provider's file host sent something that is not a video "
        "({reason}), also after kievideo asked for a fresh link, so nothing was saved. Try "
        "again later, or fetch the result from your provider's logs{logs}."
    ),
    "create_failed_unsent": "{reason} Nothing was sent, so nothing was billed.",
    "rate_limited": (
        "The provider refused the request because too many were sent at once; nothing was billed. "
        "Use Retry in a minute."
    ),
    "no_upload": "{profile} has no file upload service: use http(s) links for images with this profile.",
    "no_profile": "There is no provider profile called '{profile}'. Add it in Settings or pick another.",
    "profile_mismatch": "The profile '{profile}' does not serve {provider}.",
    "upgrade_needs_done": "Only a finished video can be upgraded or extended; this one is {state}.",
    "upgrade_not_veo": "Only Veo videos have 1080p and 4K versions.",
    "extend_unsupported": "{provider} videos cannot be extended.",
    "extend_after_hd": "Videos generated in 1080p or 4K cannot be extended (a provider rule).",
    "busy_submitting": "This job's request is being sent right now; wait a moment and try again.",
    "not_done": "The video of this job is not available ({state}).",
    "warning_upsample": "{warning}",
    "slow": "Taking unusually long; kievideo keeps checking once a minute.",
}

_KIE_LOGS = " (https://kie.ai/logs)"

# Job.extra keys
X_OWNER = "owner"
X_SENT = "create_sent_at"  # set (and committed) right before a paid create is sent
X_FIRST_CALL = "first_call_at"  # 1080p/4K: the first (paid) upgrade call was made or is going out
X_PARENT_TID = "parent_task_id"
X_INDEX = "index"
X_FOURK_TID = "fourk_task_id"
X_ACTIVE = "active_s"
X_DEST = "dest"
X_DEST_PLANNED = "dest_planned"  # the library name about to be reserved (a crash may leave its .part)
X_ERROR_KIND = "error_kind"  # why a job failed, for scripts: ERROR_KIND_* below
X_STOPPED_FROM = "stopped_from"
X_STOP_REQUESTED = "stop_requested"
X_WARNING = "warning"
X_LAST_ERROR = "last_error"
X_NOT_FOUND = "not_found_count"
X_DL_ERRORS = "download_errors"

#: ``extra["error_kind"]`` of a FAILED job whose provider could not be reached: its create never
#: connected (also after retries), or an image upload kept failing on the network. Nothing was
#: sent or billed; kievideo-cli exits 4 for it.
ERROR_KIND_NETWORK = "network"
#: ``extra["error_kind"]`` of a download whose file host kept sending something that is no video
ERROR_KIND_NOT_VIDEO = "not_video"

#: this process's live services (tokens), for ownership checks inside one process (tests)
_LIVE_TOKENS: set[str] = set()

_NOT_FOUND_LIMIT = 12  # consecutive "record is null"/404 answers before a job is given up


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _snapshot(job: Job) -> Job:
    return replace(job, extra=copy.deepcopy(job.extra))


def _provider_logs(job: Job) -> str:
    return _KIE_LOGS if job.spec.provider is not ProviderKind.UNIFIED else ""


def uncertain_message(job: Job, exc: ApiError | None) -> str:
    """What to say about a create that may have been billed: "no answer came back" only when
    none did (the connection failed); an answer that arrived without a task id (an unreadable
    body, a 5xx) is called that."""
    logs = _provider_logs(job)
    status = exc.http_status if exc is not None else None
    if status is None:
        return MESSAGES["uncertain"].format(logs=logs)
    return MESSAGES["uncertain_answer"].format(status=f" (HTTP {status})", logs=logs)


def humanize_failure(view: TaskView) -> str:
    """A person-actionable message for a provider-side failure (the provider's text is kept apart)."""
    text = (view.error_message or "").lower()
    code = view.error_code
    if "english" in text:
        return MESSAGES["english"]
    if "fetch the image" in text or "image download" in text or code == 451:
        return MESSAGES["image_fetch"]
    hints = (
        "content polic",
        "flagged",
        "moderat",
        "inappropriate",
        "nsfw",
        "unsafe",
        "prominent people",
        "minor upload",
        "rejected by google",
        "rejected by flow",
    )
    if any(h in text for h in hints):
        return MESSAGES["content"]
    if code == 501 or ("generation" in text and "fail" in text):
        return MESSAGES["generation_failed"]
    if (code is not None and code >= 500) or "timeout" in text or "internal" in text:
        return MESSAGES["server"]
    if code == 400:
        return MESSAGES["content"] if not text else f"{MESSAGES['failed']} {view.error_message}"
    return MESSAGES["failed"]


class TaskService:
    """See the module docstring. Construct, ``await start()``, use, ``await aclose()``."""

    def __init__(
        self,
        store: TaskStore,
        registry: ProviderRegistry,
        *,
        library_dir: Path,
        clock: Clock | None = None,
        settings: ServiceSettings | None = None,
        thumbs_dir: Path | None = None,
        downloader: Downloader | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.settings = settings or ServiceSettings()
        self.library_dir = Path(self.settings.library_dir or library_dir)
        self.thumbs_dir = Path(thumbs_dir) if thumbs_dir is not None else self.library_dir / ".thumbnails"
        self.clock: Clock = clock or SystemClock()
        self.scheduler = PollScheduler(self.clock, self.settings)
        self.uploads = UploadCache(store, clock=self.clock)
        self._own_downloader = downloader is None
        self.downloader = downloader or Downloader(sleep=self.clock.sleep)
        self._token = uuid.uuid4().hex
        _LIVE_TOKENS.add(self._token)
        self._owner = {"pid": os.getpid(), "token": self._token}
        self._listeners: list[Listener] = []
        # The jobs this service has touched or works on, by id: a cache in front of the store,
        # NOT every job. A history of 10,000 finished jobs stays in the store (reading them all
        # cost ~250 ms at start and ~40 MB); the task list pages them from the store itself.
        # A job this service works on is always here, and this copy is the truth for it.
        self._jobs: dict[str, Job] = {}
        self._work: dict[str, asyncio.Task[None]] = {}  # upload/create/download pipeline per job
        self._creating: set[str] = set()  # a paid create (or first upgrade call) is in flight
        self._waiters: dict[str, list[asyncio.Future[Job]]] = {}
        self._durations: dict[tuple[str, ...], tuple[float, list[float]]] = {}
        self._persisted_active: dict[str, float] = {}
        self._dl_sem: asyncio.Semaphore | None = None
        self._up_sem: asyncio.Semaphore | None = None
        self._started = False
        self._closed = False
        self._store_seen = store.last_change()
        self._deleted_seen = self._store_seen

    # ==========================================================================================
    # Queries and listeners
    # ==========================================================================================

    def add_listener(self, cb: Listener) -> Callable[[], None]:
        """Call ``cb(job_snapshot)`` on every change (loop thread). Returns the unsubscribe."""
        self._listeners.append(cb)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(cb)

        return remove

    def jobs(self) -> list[Job]:
        """Every job, newest first (snapshots). Reads the whole store: the GUI pages instead."""
        return [_snapshot(self._jobs.get(j.id, j)) for j in self.store.list()]

    def get(self, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        if job is None:
            job = self.store.get(job_id)
            if job is not None:
                self._jobs[job.id] = job
        return None if job is None else _snapshot(job)

    def children(self, job_id: str) -> list[Job]:
        """Upgrades and extensions made from this job, oldest first (snapshots)."""
        return [_snapshot(j) for j in self._children(job_id)]

    def _children(self, job_id: str) -> list[Job]:
        # The store knows every child; our copy wins for the ones we hold (it may be newer).
        return [self._jobs.get(j.id, j) for j in self.store.children(job_id)]

    def estimate_cost(self, spec: JobSpec, kind: JobKind = JobKind.GENERATE) -> int | None:
        return rules.estimate_cost(spec, kind)

    # ==========================================================================================
    # Submitting
    # ==========================================================================================

    def check(self, spec: JobSpec) -> list[Problem]:
        """rules.problems plus what only the service knows (profiles, upload support)."""
        found = rules.problems(spec)
        profiles = self.registry.profiles
        profile = profiles.get(spec.profile)
        if profile is None:
            found.append(
                Problem("profile", MESSAGES["no_profile"].format(profile=spec.profile), "no_profile")
            )
        elif not profile.serves(spec.provider):
            found.append(
                Problem(
                    "profile",
                    MESSAGES["profile_mismatch"].format(
                        profile=profile.label, provider=rules.provider_label(spec.provider)
                    ),
                    "profile_mismatch",
                )
            )
        elif not profile.can_upload:
            for i, img in enumerate(spec.images):
                if not rules.is_url(img):
                    found.append(
                        Problem(
                            f"images[{i}]", MESSAGES["no_upload"].format(profile=profile.label), "no_upload"
                        )
                    )
        return found

    def submit(self, spec: JobSpec, *, job_key: str | None = None) -> Job:
        """Validate, write the row, notify, and work on it in the background.

        Raises SpecError (with ``.problems``) for an invalid spec and MissingKeyError when no key
        is set for the profile: in both cases nothing is written or sent. A ``job_key`` that is
        already in the store returns that job (CLI batches are idempotent).
        """
        self._check_open()
        if job_key is not None:
            existing = self.store.by_job_key(job_key)
            if existing is not None:
                self._jobs.setdefault(existing.id, existing)
                return _snapshot(self._jobs[existing.id])
        found = self.check(spec)
        if found:
            raise SpecError(found)
        self.registry.adapter(spec.profile)  # MissingKeyError before anything is written
        has_local = any(not rules.is_url(i) for i in spec.images)
        job = Job(
            id=uuid.uuid4().hex,
            spec=spec,
            kind=JobKind.GENERATE,
            state=JobState.UPLOADING if has_local else JobState.SUBMITTING,
            job_key=job_key,
            created_at=self.clock.time(),
            upload_progress=0.0 if has_local else None,
        )
        job.extra[X_OWNER] = dict(self._owner)
        self.store.insert(job)
        self._jobs[job.id] = job
        self._notify(job)
        self._spawn(job.id, self._pipeline(job.id))
        return _snapshot(job)

    def retry(self, job_id: str) -> Job:
        """A NEW paid job with the same request (the UI confirms first)."""
        job = self._require(job_id)
        if job.kind is JobKind.GENERATE:
            return self.submit(job.spec)
        if job.parent_id is None:
            raise ValueError("this job has no parent to retry from")
        if job.kind is JobKind.EXTEND:
            return self.extend(job.parent_id, job.spec.prompt)
        return self.upgrade(job.parent_id, job.kind, _dedupe=False)

    def upgrade(self, job_id: str, to: JobKind, *, _dedupe: bool = True) -> Job:
        """A 1080p or 4K version of a finished Veo video, as a child job.

        Asking twice for the same upgrade returns the existing child (unless it failed): the
        provider treats repeats for the same task as one upgrade anyway.
        """
        self._check_open()
        if to not in (JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K):
            raise ValueError("upgrade() takes JobKind.UPGRADE_1080P or JobKind.UPGRADE_4K")
        parent = self._require(job_id)
        self._check_parent(parent)
        if parent.spec.provider is not ProviderKind.VEO:
            raise ValueError(MESSAGES["upgrade_not_veo"])
        if _dedupe:
            for child in self._children(parent.id):
                if child.kind is to and child.state not in (JobState.FAILED, JobState.EXPIRED):
                    return _snapshot(child)
        self.registry.adapter(parent.spec.profile)
        child = Job(
            id=uuid.uuid4().hex,
            spec=parent.spec,
            kind=to,
            state=JobState.SUBMITTING,
            parent_id=parent.id,
            created_at=self.clock.time(),
        )
        child.extra.update({X_OWNER: dict(self._owner), X_PARENT_TID: parent.task_id, X_INDEX: 0})
        self.store.insert(child)
        self._jobs[child.id] = child
        self._notify(child)
        self._spawn(child.id, self._pipeline(child.id))
        return _snapshot(child)

    def extend(self, job_id: str, prompt: str) -> Job:
        """A paid extension of a finished Veo or Runway video, as a child job."""
        self._check_open()
        parent = self._require(job_id)
        self._check_parent(parent)
        prov = parent.spec.provider
        if prov not in (ProviderKind.VEO, ProviderKind.RUNWAY):
            raise ValueError(MESSAGES["extend_unsupported"].format(provider=rules.provider_label(prov)))
        if parent.kind in (JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K) or (
            prov is ProviderKind.VEO and parent.spec.quality in ("1080p", "4k")
        ):
            raise ValueError(MESSAGES["extend_after_hd"])
        spec = parent.spec.with_(prompt=prompt, images=(), mode=Mode.TEXT, seed=None)
        found = [p for p in rules.problems(spec, check_files=False) if p.field == "prompt"]
        if found:
            raise SpecError(found)
        self.registry.adapter(spec.profile)
        child = Job(
            id=uuid.uuid4().hex,
            spec=spec,
            kind=JobKind.EXTEND,
            state=JobState.SUBMITTING,
            parent_id=parent.id,
            created_at=self.clock.time(),
        )
        child.extra.update({X_OWNER: dict(self._owner), X_PARENT_TID: parent.task_id})
        self.store.insert(child)
        self._jobs[child.id] = child
        self._notify(child)
        self._spawn(child.id, self._pipeline(child.id))
        return _snapshot(child)

    def _check_parent(self, parent: Job) -> None:
        if not parent.task_id or not (parent.state is JobState.DONE or parent.result_urls):
            raise ValueError(MESSAGES["upgrade_needs_done"].format(state=parent.state.value))

    # ==========================================================================================
    # Control
    # ==========================================================================================

    def stop_watching(self, job_id: str) -> None:
        """Stop polling/uploading/downloading this job (STOPPED). The remote task may still run.

        A create that is being sent right now cannot be taken back: the job stops right after
        its task id is stored.
        """
        job = self._require(job_id)
        if job.is_final:
            return
        if job_id in self._creating:
            job.extra[X_STOP_REQUESTED] = True
            self._save(job)
            return
        self.scheduler.unwatch(job_id)
        task = self._work.pop(job_id, None)
        if task is not None:
            task.cancel()
        job.extra[X_STOPPED_FROM] = job.state.value
        job.state = JobState.STOPPED
        job.upload_progress = None
        job.download_progress = None
        self._changed(job)

    def resume_watching(self, job_id: str) -> None:
        job = self._require(job_id)
        if job.state is not JobState.STOPPED:
            return
        before = JobState(str(job.extra.pop(X_STOPPED_FROM, JobState.QUEUED.value)))
        job.extra.pop(X_STOP_REQUESTED, None)
        if before is JobState.SUBMITTING and not job.task_id and job.extra.get(X_SENT):
            before = JobState.UNCERTAIN
        job.state = before
        job.extra[X_OWNER] = dict(self._owner)
        if before is JobState.UNCERTAIN:
            job.error_message = MESSAGES["interrupted_submit"].format(logs=_provider_logs(job))
        self._changed(job)
        if not job.is_final:
            self._resume(job)

    async def remove(self, job_id: str, *, delete_file: bool) -> None:
        """Forget a job (and optionally delete its video and poster). Its children stay."""
        job = self._jobs.get(job_id) or self.store.get(job_id)
        if job is None:
            return
        if job_id in self._creating:
            raise ValueError(MESSAGES["busy_submitting"])
        self.scheduler.unwatch(job_id)
        task = self._work.pop(job_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.get_running_loop().run_in_executor(None, self.store.delete, job_id)
        self._jobs.pop(job_id, None)
        self._persisted_active.pop(job_id, None)
        if delete_file:
            paths = [p for p in (job.file_path, job.thumb_path, job.extra.get(X_DEST)) if p]
            await asyncio.get_running_loop().run_in_executor(None, _delete_files, paths)
            planned = job.extra.get(X_DEST_PLANNED)
            if planned:  # a reservation a crash left behind: only ever an empty, unused .part
                await asyncio.get_running_loop().run_in_executor(None, _drop_planned, Path(str(planned)))
        for fut in self._waiters.pop(job_id, []):
            if not fut.done():
                fut.set_exception(KeyError(job_id))

    async def wait(self, job_id: str, timeout: float | None = None) -> Job:  # noqa: ASYNC109 - the contract; counts on self.clock
        """Wait until the job is final (DONE, FAILED, EXPIRED, UNCERTAIN, STOPPED).

        ``timeout`` counts on the service's clock; TimeoutError when it runs out. Jobs another
        process works on are followed through :meth:`refresh_from_store`.
        """
        job = self._require(job_id)
        if job.is_final:
            return _snapshot(job)
        fut: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(job_id, []).append(fut)
        follower: asyncio.Task[None] | None = None
        if not self._works_on(job):
            follower = asyncio.ensure_future(self._follow_other_process(job_id, fut))
        try:
            if timeout is None:
                return await fut
            timer = asyncio.ensure_future(self.clock.sleep(timeout))
            try:
                pair: list[asyncio.Future[Any]] = [fut, timer]
                await asyncio.wait(pair, return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer
            if fut.done():
                return fut.result()
            raise TimeoutError(f"job {job_id} is not finished after {timeout:g} s")
        finally:
            if follower is not None:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
            lst = self._waiters.get(job_id)
            if lst and fut in lst:
                lst.remove(fut)
            if not fut.done():
                fut.cancel()

    async def _follow_other_process(self, job_id: str, fut: asyncio.Future[Job]) -> None:
        while not fut.done():
            await self.clock.sleep(1.0)
            self.refresh_from_store()

    async def credits(self, profile: str = "kie") -> int:
        """The account's credit balance (kie.ai profiles)."""
        return await self.registry.adapter(profile).credits()

    async def download(self, job_id: str, out_dir: Path | None = None) -> Path:
        """The finished video's path; with ``out_dir``, a copy there (never overwriting).

        Waits for a job that is still running; re-downloads a DONE video whose file is gone.
        """
        job = self._require(job_id)
        if not job.is_final:
            await self.wait(job_id)
            job = self._require(job_id)
        loop = asyncio.get_running_loop()
        if job.state is JobState.DONE and (
            not job.file_path or not await loop.run_in_executor(None, os.path.exists, job.file_path)
        ):
            job.state = JobState.DOWNLOADING
            job.extra[X_OWNER] = dict(self._owner)
            self._changed(job)
            self._spawn(job.id, self._download_job(job.id))
            await self.wait(job_id)
            job = self._require(job_id)
        if job.state is not JobState.DONE or not job.file_path:
            raise ValueError(
                MESSAGES["not_done"].format(state=job.state.value)
                + (f" {job.error_message}" if job.error_message else "")
            )
        src = Path(job.file_path)
        if out_dir is None:
            return src
        out = Path(out_dir)
        return await loop.run_in_executor(None, _copy_unique, src, out)

    # ==========================================================================================
    # Lifecycle
    # ==========================================================================================

    async def prepare(self) -> None:
        """Import and build, on worker threads, what the first status request, download and
        poster frame would otherwise bring in on the way: the HTTP stack's lazy parts and the
        file client (see Downloader.prepare), and PyAV (~0.1 s). Call it once at start: a worker
        thread running an import still holds the GIL for most of it, so paying it the moment the
        first video finishes stalled the GUI thread by up to ~80 ms (bench.responsiveness)."""
        await self.downloader.prepare()
        await asyncio.get_running_loop().run_in_executor(None, _preload_posters)

    async def start(self) -> None:
        """Resume everything that was in flight when the app (or another process) stopped."""
        self._check_open()
        if self._started:
            return
        self._started = True
        for job in self.store.active():
            self._jobs[job.id] = job
            self._adopt(job)
        await self._resume_missing_files()

    async def aclose(self) -> None:
        """Stop cleanly: let in-flight creates store their task ids (bounded), cancel the rest,
        close the HTTP clients. Every store write is already committed."""
        if self._closed:
            return
        self._closed = True
        creating = [self._work[j] for j in self._creating if j in self._work]
        if creating:
            await asyncio.wait(creating, timeout=10.0)
        await self.scheduler.aclose()
        tasks = list(self._work.values())
        self._work.clear()
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for futs in self._waiters.values():
            for f in futs:
                if not f.done():
                    f.cancel()
        self._waiters.clear()
        await self.registry.aclose()
        if self._own_downloader:
            await self.downloader.aclose()
        _LIVE_TOKENS.discard(self._token)

    def refresh_from_store(self) -> list[Job]:
        """Pick up jobs another process (the CLI) wrote or deleted, notify the listeners, and
        adopt active jobs whose owner has gone. Returns the jobs that changed."""
        if self._closed:
            return []
        # This runs every few seconds on the GUI thread, and nearly every row written since the
        # last look is our own write: look at the stamps first, load only the other rows.
        # (Loading and parsing all of them cost ~20 ms a look with 300 jobs polling.)
        changed: list[Job] = []
        wanted: list[str] = []
        for job_id, stamp in self.store.stamps_since(self._store_seen):
            self._store_seen = max(self._store_seen, stamp)
            if not self._theirs(self._jobs.get(job_id), stamp):
                continue
            wanted.append(job_id)
        for job in self.store.get_many(wanted):
            mine = self._jobs.get(job.id)
            if not self._theirs(mine, job.updated_at):
                continue
            self._jobs[job.id] = job
            changed.append(job)
            self._notify(job)
        mark = self.store.last_change()
        for job_id in self.store.deleted_since(self._deleted_seen):
            if job_id in self._jobs and self.store.get(job_id) is None:
                self.scheduler.unwatch(job_id)
                task = self._work.pop(job_id, None)
                if task is not None:
                    task.cancel()
                self._jobs.pop(job_id, None)
        self._deleted_seen = mark
        if self._started:
            orphans = [i for i in self.store.active_ids() if not self._works_on_id(i)]
            for job in self.store.get_many(orphans):
                if job.is_final:  # finished between the two reads
                    continue
                if not self._owner_alive(job):
                    self._jobs[job.id] = job
                    self._adopt(job)
        return changed

    # ==========================================================================================
    # Ownership and resume
    # ==========================================================================================

    def _owned_by_me(self, job: Job) -> bool:
        owner = job.extra.get(X_OWNER)
        return isinstance(owner, dict) and owner.get("token") == self._token

    def _owner_alive(self, job: Job) -> bool:
        owner = job.extra.get(X_OWNER)
        if not isinstance(owner, dict):
            return False
        token = owner.get("token")
        pid = owner.get("pid")
        if token == self._token:
            return True
        if pid == os.getpid():
            return token in _LIVE_TOKENS
        return isinstance(pid, int) and _pid_alive(pid)

    def _works_on(self, job: Job) -> bool:
        return self._works_on_id(job.id)

    def _works_on_id(self, job_id: str) -> bool:
        return job_id in self._work or self.scheduler.watching(job_id) or job_id in self._creating

    def _theirs(self, mine: Job | None, stamp: float) -> bool:
        """Is a row stamped ``stamp`` news to us? Not when it is our own write, nor when we are
        working on the job (our copy is the truth)."""
        if mine is None:
            return True
        if mine.updated_at >= stamp:
            return False  # our own write
        return not (self._works_on(mine) and self._owned_by_me(mine))

    def _adopt(self, job: Job) -> None:
        """Claim ``job`` (unless a live process owns it) and resume it."""
        if self._works_on(job):
            return
        if not self._owned_by_me(job):
            if self._owner_alive(job):
                return  # another live process works on it; refresh_from_store follows it
            job.extra[X_OWNER] = dict(self._owner)
            try:
                self.store.update(job, if_unchanged=True)
            except StaleJobError:
                fresh = self.store.get(job.id)
                if fresh is not None:
                    self._jobs[job.id] = fresh
                return  # someone else was faster
            except JobNotFoundError:
                self._jobs.pop(job.id, None)
                return
        self._resume(job)

    def _resume(self, job: Job) -> None:
        st = job.state
        if st is JobState.UPLOADING:
            self._spawn(job.id, self._pipeline(job.id))
        elif st is JobState.SUBMITTING:
            if job.task_id and job.kind in (JobKind.GENERATE, JobKind.EXTEND):
                job.state = JobState.QUEUED
                self._changed(job)
                self._watch(job, first_delay=0.0)
            elif job.kind in (JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K) and job.extra.get(X_FIRST_CALL):
                # The first upgrade call may have gone out: only free repeats from here on.
                self._to_polling_after_first_call(job)
            elif job.extra.get(X_SENT) and not job.task_id:
                job.state = JobState.UNCERTAIN
                job.error_message = MESSAGES["interrupted_submit"].format(logs=_provider_logs(job))
                job.finished_at = self.clock.time()
                self._changed(job)
            else:
                self._spawn(job.id, self._pipeline(job.id))  # provably never sent
        elif st in (JobState.QUEUED, JobState.RUNNING):
            self._watch(job, first_delay=0.0)
        elif st is JobState.DOWNLOADING:
            self._spawn(job.id, self._download_job(job.id))

    async def _resume_missing_files(self) -> None:
        """DONE jobs whose file is gone (or only partly there) download again while the provider
        still keeps the result."""
        now = self.clock.time()
        loop = asyncio.get_running_loop()
        # Off the loop: one query of two columns, then a stat per finished video.
        missing = await loop.run_in_executor(None, _missing_files, self.store, now)
        for job_id in missing:
            job = self._jobs.get(job_id) or self.store.get(job_id)
            if job is None or job.state is not JobState.DONE:
                continue  # deleted or changed meanwhile
            self._jobs.setdefault(job.id, job)
            job = self._jobs[job.id]
            if job.state is JobState.DONE and not self._works_on(job) and not self._owner_alive_other(job):
                job.state = JobState.DOWNLOADING
                job.extra[X_OWNER] = dict(self._owner)
                if job.file_path:
                    job.extra[X_DEST] = job.file_path
                self._changed(job)
                self._spawn(job.id, self._download_job(job.id))

    def _owner_alive_other(self, job: Job) -> bool:
        return not self._owned_by_me(job) and self._owner_alive(job)

    # ==========================================================================================
    # The pipeline: upload -> create -> (scheduler) -> download
    # ==========================================================================================

    def _spawn(self, job_id: str, coro: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            log.info("no running loop: job %s is resumed by start()", job_id)
            return
        old = self._work.get(job_id)
        if old is not None and not old.done():
            coro.close()
            return
        task = loop.create_task(coro, name=f"kievideo-job-{job_id}")
        self._work[job_id] = task

        def done(t: asyncio.Task[None]) -> None:
            if self._work.get(job_id) is t:
                del self._work[job_id]
            if not t.cancelled() and t.exception() is not None:
                log.error("job %s: unexpected error", job_id, exc_info=t.exception())

        task.add_done_callback(done)

    async def _pipeline(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        try:
            if job.kind in (JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K):
                await self._first_upgrade_call(job)
                return
            if job.state is JobState.UPLOADING and not await self._upload(job):
                return
            if job.state is JobState.SUBMITTING and not job.task_id:
                await self._create(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not leave the job spinning forever
            log.exception("job %s: pipeline failed", job_id)
            unsent = job.state is JobState.UPLOADING or (
                job.state is JobState.SUBMITTING and not job.extra.get(X_SENT)
            )
            if unsent:
                self._fail(job, f"Internal error before sending: {exc}. Nothing was sent or billed.")
            elif job.state is JobState.SUBMITTING and not job.task_id:
                self._uncertain(job)

    def _adapter(self, job: Job) -> ProviderAdapter:
        return self.registry.adapter(job.spec.profile)

    async def _upload(self, job: Job) -> bool:
        """Upload local images (cached by content hash). False when the job failed or stopped."""
        try:
            adapter = self._adapter(job)
        except ApiError as exc:
            self._fail(job, exc.user_message, exc=exc)
            return False
        images = list(job.spec.images)
        local = _local_images(images)
        loop = asyncio.get_running_loop()
        sizes = await loop.run_in_executor(None, _sizes, [p for _, p in local])
        total = max(1, sum(sizes))
        sent = [0] * len(local)
        urls = list(images)
        if self._up_sem is None:
            self._up_sem = asyncio.Semaphore(max(1, self.settings.upload_concurrency))

        def progress_for(k: int) -> Callable[[int, int], None]:
            def cb(done: int, _total: int) -> None:
                sent[k] = min(done, sizes[k]) if sizes[k] else done
                job.upload_progress = min(1.0, sum(sent) / total)
                self._notify(job)

            return cb

        async def upload_fn(path: Path, progress: Callable[[int, int], None] | None) -> Any:
            return await adapter.upload(path, progress)

        for k, (i, path) in enumerate(local):
            problem = await loop.run_in_executor(None, rules.local_image_problem, i, str(path))
            if problem is not None:
                self._fail(job, problem.message + " Nothing was sent or billed.")
                return False
            try:
                async with self._up_sem:
                    urls[i] = await self.uploads.ensure_uploaded(
                        path, job.spec.profile, upload_fn, progress_for(k)
                    )
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                if isinstance(exc, TransportError):  # the upload host was out of reach: nothing paid
                    job.extra[X_ERROR_KIND] = ERROR_KIND_NETWORK
                self._fail(
                    job, MESSAGES["upload_failed"].format(index=i + 1, reason=exc.user_message), exc=exc
                )
                return False
            except (OSError, ValueError) as exc:
                self._fail(job, MESSAGES["upload_failed"].format(index=i + 1, reason=f"{exc}."))
                return False
        job.uploaded_urls = tuple(urls)
        job.upload_progress = 1.0
        job.state = JobState.SUBMITTING
        self._changed(job)
        return True

    async def _create(self, job: Job) -> None:
        """Send the paid create once and store the task id the moment it arrives."""
        try:
            adapter = self._adapter(job)
            parent: Job | None = None
            if job.kind is JobKind.EXTEND:
                parent = self._require(job.parent_id or "")
                if not parent.task_id:
                    raise api_errors.InvalidRequestError("The original video has no task id.")
            if job.kind is JobKind.GENERATE:
                adapter.build_request(job).validate()  # refuse locally before the marker
        except ApiError as exc:
            self._fail(job, MESSAGES["create_failed_unsent"].format(reason=exc.user_message), exc=exc)
            return
        except (KeyError, ValueError) as exc:
            self._fail(job, MESSAGES["create_failed_unsent"].format(reason=str(exc)))
            return
        # First the place in the provider's create window (kie.ai: 20 per 10 s; up to 10 s of
        # waiting): a create still waiting there has provably not been sent, so the marker must
        # not be on disk yet - a crash now resumes the job instead of making it UNCERTAIN.
        slot = await adapter.acquire_create_slot()
        if self._jobs.get(job.id) is not job or job.state is not JobState.SUBMITTING or job.task_id:
            return  # removed or stopped while waiting: nothing was sent
        # The marker goes to disk BEFORE any byte leaves: after a crash it says "maybe sent".
        job.state = JobState.SUBMITTING
        job.submitted_at = self.clock.time()
        job.extra[X_SENT] = job.submitted_at
        job.extra[X_OWNER] = dict(self._owner)
        self._changed(job)
        self._creating.add(job.id)
        try:
            if parent is not None:
                task_id = await adapter.extend(job, parent, slot=slot)
            else:
                task_id = await adapter.create(job, slot=slot)
        except AmbiguousSubmitError as exc:
            self._uncertain(job, exc)
            return
        except TransportError as exc:
            if exc.may_have_reached_server:
                self._uncertain(job, exc)
            else:
                # The connection never opened (also after retries): nothing left this machine.
                job.extra[X_ERROR_KIND] = ERROR_KIND_NETWORK
                self._fail(job, MESSAGES["create_failed_unsent"].format(reason=exc.user_message), exc=exc)
            return
        except RateLimitError as exc:
            self._fail(job, MESSAGES["rate_limited"], exc=exc)
            return
        except ApiError as exc:
            # A definite answer: the provider did not create the task.
            self._fail(job, exc.user_message, exc=exc)
            return
        finally:
            self._creating.discard(job.id)
        job.task_id = task_id
        job.state = JobState.QUEUED
        job.provider_status = "submitted"
        self._changed(job)
        if job.extra.pop(X_STOP_REQUESTED, None):
            self.stop_watching(job.id)
            return
        self._watch(job)

    async def _first_upgrade_call(self, job: Job) -> None:
        """The first 1080p/4K call of a child job, made once; later checks are free repeats."""
        try:
            adapter = self._adapter(job)
        except ApiError as exc:
            self._fail(job, exc.user_message, exc=exc)
            return
        parent_tid = str(job.extra.get(X_PARENT_TID) or "")
        if job.extra.get(X_FIRST_CALL):
            self._to_polling_after_first_call(job)
            return
        job.submitted_at = self.clock.time()
        job.extra[X_FIRST_CALL] = job.submitted_at  # marker BEFORE the paid first call
        job.extra[X_OWNER] = dict(self._owner)
        self._changed(job)
        if job.kind is JobKind.UPGRADE_1080P:
            # get-1080p-video is a GET: its first call starts the upscale and is retried safely.
            job.task_id = parent_tid
            job.state = JobState.RUNNING
            self._changed(job)
            self._watch(job, first_delay=0.0)
            return
        self._creating.add(job.id)
        try:
            res = await adapter.request_4k(parent_tid, int(job.extra.get(X_INDEX, 0)))
        except (
            AmbiguousSubmitError,
            TransportError,
            api_errors.ServerError,
            api_errors.MalformedResponseError,
        ) as exc:
            # The request may or may not have arrived: either way only free repeats follow.
            job.extra[X_LAST_ERROR] = exc.user_message
            self._creating.discard(job.id)
            self._to_polling_after_first_call(job)
            return
        except ApiError as exc:
            self._creating.discard(job.id)
            self._fail(job, exc.user_message, exc=exc)
            return
        self._creating.discard(job.id)
        if res.task_id and res.task_id != parent_tid:
            job.extra[X_FOURK_TID] = res.task_id
        job.task_id = res.task_id or parent_tid
        job.provider_status = res.message or "processing"
        if res.ready and res.video_urls:
            self._apply_view(job, self._view_from_urls(job, res.video_urls, res.image_urls))
            return
        job.state = JobState.RUNNING
        job.started_at = job.started_at or self.clock.time()
        self._changed(job)
        self._watch(job)

    def _to_polling_after_first_call(self, job: Job) -> None:
        job.task_id = job.task_id or str(job.extra.get(X_PARENT_TID) or "") or None
        job.state = JobState.RUNNING
        self._changed(job)
        self._watch(job, first_delay=0.0)

    def _view_from_urls(self, job: Job, videos: tuple[str, ...], images: tuple[str, ...]) -> TaskView:
        return TaskView(
            provider=job.spec.provider,
            task_id=job.task_id or "",
            state=TaskState.SUCCEEDED,
            provider_status="ready",
            video_urls=videos,
            image_urls=images,
        )

    # ---- polling ------------------------------------------------------------------------------

    def _duration_model(self, job: Job) -> DurationModel:
        prior = prior_for(job.spec, job.kind)
        if job.kind is not JobKind.GENERATE:
            return DurationModel.triangular(*prior)
        spec = job.spec
        key = (spec.provider.value, spec.profile, spec.model, str(spec.quality), str(spec.duration))
        now = self.clock.monotonic()
        cached = self._durations.get(key)
        if cached is None or now - cached[0] > 300:
            samples: list[float] = []
            try:
                for j in self.store.list(
                    states=[JobState.DONE], provider=spec.provider, kinds=[JobKind.GENERATE], limit=300
                ):
                    s = j.spec
                    if (s.model, s.quality, s.duration, s.profile) != (
                        spec.model,
                        spec.quality,
                        spec.duration,
                        spec.profile,
                    ):
                        continue
                    if j.finished_at and j.submitted_at and j.finished_at > j.submitted_at:
                        samples.append(j.finished_at - j.submitted_at)
                    if len(samples) >= 100:
                        break
            except Exception:  # learning is an optimisation; never let it stop polling
                log.exception("reading past durations failed")
            cached = (now, samples)
            self._durations[key] = cached
        return DurationModel.from_samples(cached[1], prior)

    def _watch(self, job: Job, *, first_delay: float | None = None) -> None:
        if self._closed:
            return
        job_id = job.id

        async def poll() -> bool:
            return await self._poll_job(job_id)

        def on_slow() -> None:
            j = self._jobs.get(job_id)
            if j is not None and not j.slow:
                j.slow = True
                self._changed(j)

        def on_error(exc: BaseException) -> None:
            j = self._jobs.get(job_id)
            if j is None:
                return
            text = exc.user_message if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
            if j.extra.get(X_LAST_ERROR) != text:
                j.extra[X_LAST_ERROR] = text
                self._notify(j)
            log.info("polling %s: %s", job_id, text)

        created = job.submitted_at or job.created_at or None
        self.scheduler.watch(
            job_id,
            poll,
            model=self._duration_model(job),
            created_wall=created,
            active_s=float(job.extra.get(X_ACTIVE, 0.0) or 0.0),
            deadline_s=deadline_for(job.spec, job.kind, self.settings),
            first_delay=first_delay,
            on_slow=on_slow,
            on_error=on_error,
        )

    async def _poll_job(self, job_id: str) -> bool:
        job = self._jobs.get(job_id)
        if job is None or job.is_final or job.state not in (JobState.QUEUED, JobState.RUNNING):
            return True
        adapter = self._adapter(job)  # MissingKeyError -> scheduler backoff until a key is set
        try:
            view = await adapter.poll(job)
        except RecordExpiredError as exc:
            self._expire(job, exc)
            return True
        except (InsufficientCreditsError, api_errors.FeatureDisabledError) as exc:
            self._fail(job, exc.user_message, exc=exc)
            return True
        except (api_errors.NotFoundError, ValidationError) as exc:
            kind = getattr(exc, "kind", None)
            not_found = isinstance(exc, api_errors.NotFoundError) or kind is ValidationKind.RECORD_NULL
            if job.kind in (JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K) and not not_found:
                self._fail(job, exc.user_message, exc=exc)
                return True
            if not_found:
                count = int(job.extra.get(X_NOT_FOUND, 0)) + 1
                job.extra[X_NOT_FOUND] = count
                if count >= _NOT_FOUND_LIMIT:
                    self._fail(job, MESSAGES["not_found"].format(task_id=job.task_id), exc=exc)
                    return True
            raise
        except api_errors.BadRequestError as exc:
            if job.kind in (JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K):
                self._fail(job, exc.user_message, exc=exc)
                return True
            raise
        if self._jobs.get(job_id) is not job or job.state not in (JobState.QUEUED, JobState.RUNNING):
            return True  # removed or stopped while the request was out
        job.extra.pop(X_NOT_FOUND, None)
        job.extra.pop(X_LAST_ERROR, None)
        return self._apply_view(job, view)

    def _apply_view(self, job: Job, view: TaskView) -> bool:
        """Record one status answer; True when the job left the polling phase."""
        now = self.clock.time()
        before = (job.state, job.provider_status, job.slow)
        job.poll_count += 1
        job.provider_status = view.provider_status
        active = self.scheduler.active_seconds(job.id)
        if active is not None:
            job.extra[X_ACTIVE] = round(active, 1)
        if view.state is TaskState.QUEUED:
            job.state = JobState.QUEUED
        elif view.state is TaskState.RUNNING:
            job.state = JobState.RUNNING
            job.started_at = job.started_at or now
        elif view.state is TaskState.SUCCEEDED:
            job.result_urls = view.video_urls
            job.image_urls = view.image_urls or job.image_urls
            job.resolution = view.resolution or job.resolution
            job.finished_at = now
            # started_at stays unset when the first answer already said "done": the split
            # between queue and generation is unknown (the list then shows the total time).
            retention = (
                self.settings.retention_unified_s
                if job.spec.provider is ProviderKind.UNIFIED
                else self.settings.retention_kie_s
            )
            job.expires_at = now + retention
            if view.warning:
                job.extra[X_WARNING] = view.warning
            job.state = JobState.DOWNLOADING
            job.download_progress = 0.0
            job.error_message = None
            self._changed(job)
            self.scheduler.unwatch(job.id)
            self._spawn(job.id, self._download_job(job.id))
            return True
        elif view.state is TaskState.FAILED:
            job.error_code = view.error_code
            job.provider_message = view.error_message
            job.finished_at = now
            job.state = JobState.FAILED
            job.error_message = humanize_failure(view)
            self._changed(job)
            return True
        elif view.state is TaskState.EXPIRED:
            self._expire(job)
            return True
        # UNKNOWN: keep the state, show the provider's word
        changed = before != (job.state, job.provider_status, job.slow)
        last = self._persisted_active.get(job.id, 0.0)
        if changed or (active is not None and active - last >= 60.0):
            self._persisted_active[job.id] = active or 0.0
            self._changed(job)
        return False

    # ---- download -----------------------------------------------------------------------------

    async def _download_job(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        if self._dl_sem is None:
            self._dl_sem = asyncio.Semaphore(max(1, self.settings.download_concurrency))
        async with self._dl_sem:
            await self._download(job)

    async def _download(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        if not job.result_urls:
            # Nothing to fetch yet (e.g. resumed from an odd state): ask the provider again.
            try:
                job.result_urls = await self._adapter(job).refresh_urls(job)
            except ApiError as exc:
                job.extra[X_LAST_ERROR] = exc.user_message
            if not job.result_urls:
                self._fail(job, MESSAGES["download_failed"].format(reason="the provider gave no video link."))
                return
        dest_s = job.extra.get(X_DEST)
        if not dest_s:
            dest = await self._reserve_dest(job, guess_extension(job.result_urls[0]))
            if dest is None:
                return
        else:
            dest = Path(str(dest_s))
        refreshed = 0
        not_video = 0
        failures = 0
        result: DownloadResult | None = None
        if await loop.run_in_executor(None, _finished_earlier, dest):
            # A crash after the file was finalized but before DONE was written: it is complete
            # (only a verified download is ever moved to its name, and the name was ours).
            result = await loop.run_in_executor(None, _describe, dest)
        while result is None:
            url = job.result_urls[0]

            def progress(done: int, total: int | None) -> None:
                if total:
                    job.download_progress = min(1.0, done / total)
                    self._notify(job)

            try:
                result = await self.downloader.download(url, dest, progress=progress, expect_video=True)
                break
            except NotAVideoError as exc:
                # The host keeps answering with something that is no video (an empty body, a JSON
                # or HTML page): the Downloader retried; now ask the provider for a fresh link,
                # and give up clearly when that does not help either. Nothing reached the library.
                if not_video >= 2:
                    # Give up: no broken file, and no reservation, stays in the library.
                    await loop.run_in_executor(None, Downloader.discard_partial, dest)
                    job.extra[X_ERROR_KIND] = ERROR_KIND_NOT_VIDEO
                    self._fail(
                        job, MESSAGES["download_not_video"].format(reason=exc.what, logs=_provider_logs(job))
                    )
                    return
                not_video += 1
                if not await self._refresh_result_urls(job):
                    return
                continue
            except UrlExpiredError:
                now = self.clock.time()
                if refreshed >= 2 or (job.expires_at is not None and now > job.expires_at + 86400):
                    self._expire(job)
                    return
                refreshed += 1
                if not await self._refresh_result_urls(job):
                    return
                continue
            except FileExistsError:
                # Something else took the name meanwhile: never overwrite, take a new name.
                job.extra.pop(X_DEST, None)
                fresh_dest = await self._reserve_dest(job, guess_extension(url))
                if fresh_dest is None:
                    return
                dest = fresh_dest
                continue
            except (DownloadError, OSError) as exc:
                failures += 1
                reason = f"{exc}."
            # Keep trying with a growing pause while the provider keeps the file.
            job.error_message = MESSAGES["download_failed"].format(reason=reason)
            job.extra[X_DL_ERRORS] = failures
            self._changed(job)
            if job.expires_at is not None and self.clock.time() > job.expires_at:
                self._expire(job)
                return
            await self.clock.sleep(min(600.0, 10.0 * (2 ** min(failures, 6))))
        # DONE is written the moment the file is in place; the poster follows.
        job.file_path = str(result.path)
        job.download_progress = 1.0
        job.state = JobState.DONE
        job.error_message = None
        job.extra.pop(X_DL_ERRORS, None)
        job.extra["sha256"] = result.sha256
        job.extra["size"] = result.size
        self._changed(job)
        thumb = await self._make_thumbnail(job.id, result.path)
        if thumb and self._jobs.get(job.id) is job:
            job.thumb_path = thumb
            self._changed(job)

    async def _refresh_result_urls(self, job: Job) -> bool:
        """Ask the provider for fresh result links (record-info or download-url).

        False when the record itself has expired (the job is now EXPIRED); a passing API error
        is kept as the row's last error and the old links are tried again.
        """
        try:
            fresh = await self._adapter(job).refresh_urls(job)
        except RecordExpiredError as exc:
            self._expire(job, exc)
            return False
        except ApiError as exc:
            job.extra[X_LAST_ERROR] = exc.user_message
            fresh = ()
        if fresh and fresh != job.result_urls:
            job.result_urls = fresh
            self._changed(job)
        return True

    async def _reserve_dest(self, job: Job, ext: str) -> Path | None:
        """Claim the job's library name and store it on the job (``extra["dest"]``).

        The name is written to the job (``extra["dest_planned"]``) BEFORE its empty ``NAME.part``
        is created, so a crash in between never leaves a reservation nobody knows about: the
        restart adopts that empty ``.part`` (see :func:`_adopt_planned`) instead of taking
        ``NAME-2``. None when the job went away meanwhile.
        """
        loop = asyncio.get_running_loop()
        planned_s = job.extra.get(X_DEST_PLANNED)
        if planned_s:
            # Rare (only after a crash): ask the store, which also knows the other process's jobs.
            others = {
                str(p)
                for j in [*self.store.active(), *self._jobs.values()]
                if j.id != job.id and not j.is_final
                for p in (j.extra.get(X_DEST), j.extra.get(X_DEST_PLANNED))
                if p
            }
            if str(planned_s) not in others:
                adopted = await loop.run_in_executor(None, _adopt_planned, Path(str(planned_s)))
                if adopted is not None:
                    job.extra[X_DEST] = str(adopted)
                    job.extra.pop(X_DEST_PLANNED, None)
                    return adopted if self._save(job) else None
        name = job_filename(job, ext=ext)
        planned = await loop.run_in_executor(None, _free_name, self.library_dir, name)
        job.extra[X_DEST_PLANNED] = str(planned)
        if not self._save(job):
            return None
        dest = await loop.run_in_executor(None, _reserve, self.library_dir, planned.name)
        job.extra[X_DEST] = str(dest)
        job.extra.pop(X_DEST_PLANNED, None)
        self._changed(job)
        return dest

    async def _make_thumbnail(self, job_id: str, video: Path) -> str | None:
        """A poster frame (decoded in an executor); None when the file has none to give."""
        out = self.thumbs_dir / f"{job_id}.jpg"
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, _ensure_dir, self.thumbs_dir)
            # The import happens in the worker too: the first `import av` takes 0.1-0.8 s and
            # would freeze the GUI thread the moment the first video finishes.
            path = await loop.run_in_executor(None, _poster_frame, video, out)
        except Exception as exc:  # a poster is nice to have; never fail a job over it
            log.info("no poster for %s: %s", job_id, exc)
            return None
        return str(path)

    # ==========================================================================================
    # State helpers
    # ==========================================================================================

    def _fail(self, job: Job, message: str, *, exc: ApiError | None = None) -> None:
        self.scheduler.unwatch(job.id)
        job.state = JobState.FAILED
        job.error_message = message
        if exc is not None:
            job.error_code = exc.code
            job.provider_message = exc.provider_message
        job.finished_at = job.finished_at or self.clock.time()
        self._changed(job)

    def _uncertain(self, job: Job, exc: ApiError | None = None) -> None:
        self.scheduler.unwatch(job.id)
        job.state = JobState.UNCERTAIN
        job.error_message = uncertain_message(job, exc)
        if exc is not None:
            job.error_code = exc.code
            job.provider_message = exc.provider_message or exc.user_message
        job.finished_at = self.clock.time()
        self._changed(job)

    def _expire(self, job: Job, exc: ApiError | None = None) -> None:
        self.scheduler.unwatch(job.id)
        job.state = JobState.EXPIRED
        job.error_message = MESSAGES["expired"]
        if exc is not None:
            job.error_code = exc.code
            job.provider_message = exc.provider_message
        job.finished_at = job.finished_at or self.clock.time()
        self._changed(job)

    def _save(self, job: Job) -> bool:
        try:
            self.store.update(job)
        except JobNotFoundError:
            # Deleted by the other process: stop working on it.
            log.info("job %s was removed from the store; dropping it", job.id)
            self.scheduler.unwatch(job.id)
            task = self._work.pop(job.id, None)
            if task is not None and task is not asyncio.current_task():
                task.cancel()
            self._jobs.pop(job.id, None)
            return False
        return True

    def _changed(self, job: Job) -> None:
        """Persist, notify, and wake waiters when final."""
        if self._save(job):
            self._notify(job)
            if job.is_final:
                self._persisted_active.pop(job.id, None)
                for fut in self._waiters.pop(job.id, []):
                    if not fut.done():
                        fut.set_result(_snapshot(job))

    def _notify(self, job: Job) -> None:
        if not self._listeners:
            return
        snap = _snapshot(job)
        for cb in list(self._listeners):
            try:
                cb(snap)
            except Exception:
                log.exception("a job listener failed")

    def _require(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            job = self.store.get(job_id)
            if job is None:
                raise KeyError(f"no job {job_id!r}")
            self._jobs[job.id] = job
        return job

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the task service is closed")


# ---- blocking helpers (run in an executor) -----------------------------------------------------


def _local_images(images: list[str]) -> list[tuple[int, Path]]:
    return [(i, Path(p).expanduser()) for i, p in enumerate(images) if not rules.is_url(p)]


def _sizes(paths: Iterable[Path]) -> list[int]:
    out = []
    for p in paths:
        try:
            out.append(p.stat().st_size)
        except OSError:
            out.append(0)
    return out


def _preload_posters() -> None:
    from kievideo.core import thumbnails  # noqa: F401  (imports PyAV)


def _poster_frame(video: Path, out: Path) -> Path:
    """Runs in an executor; imports PyAV (via thumbnails) off the event loop's thread."""
    from kievideo.core import thumbnails

    return thumbnails.poster_frame(video, out)


def _ensure_dir(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)


def _finished_earlier(dest: Path) -> bool:
    """``dest`` exists, with no partial download next to it."""
    return dest.is_file() and not part_path(dest).exists() and dest.stat().st_size > 0


def _describe(dest: Path) -> DownloadResult:
    h = hashlib.sha256()
    size = 0
    with open(dest, "rb") as fh:
        while block := fh.read(1024 * 1024):
            h.update(block)
            size += len(block)
    sidecar_path(dest).unlink(missing_ok=True)
    return DownloadResult(dest, size, h.hexdigest(), None, True)


def _free_name(directory: Path, name: str) -> Path:
    """The first free library name for ``name`` (not reserved yet)."""
    directory.mkdir(parents=True, exist_ok=True)
    return unique_path(directory, name)


def _reserve(directory: Path, name: str) -> Path:
    """Claim ``name`` (or the next free variant) by creating its empty ``NAME.part``."""
    directory.mkdir(parents=True, exist_ok=True)
    return unique_path(directory, name, reserve=True)


def _drop_planned(planned: Path) -> None:
    if _adopt_planned(planned) is not None:
        part_path(planned).unlink(missing_ok=True)


def _adopt_planned(planned: Path) -> Path | None:
    """``planned`` when its ``NAME.part`` is the empty reservation a crash left behind (empty,
    no sidecar, no finished file, nobody downloading into it); else None."""
    part = part_path(planned)
    try:
        if planned.exists() or sidecar_path(planned).exists() or part.stat().st_size != 0:
            return None
    except OSError:
        return None
    try:
        fd = os.open(part, os.O_RDWR)
    except OSError:
        return None
    try:
        if sys.platform != "win32":
            import fcntl

            locked = False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            except BlockingIOError:
                return None  # a download holds it right now: not a stray reservation
            except OSError:
                pass  # no locks on this file system: the emptiness check has to do
            if locked:
                fcntl.flock(fd, fcntl.LOCK_UN)
        if os.fstat(fd).st_size != 0:
            return None
    finally:
        os.close(fd)
    return planned


def _missing_files(store: TaskStore, now: float) -> list[str]:
    """Ids of DONE jobs, still kept by the provider, whose video is not on disk."""
    return [job_id for job_id, path in store.done_files(now) if not path or not os.path.exists(path)]


def _delete_files(paths: list[Any]) -> None:
    for p in paths:
        for candidate in (Path(str(p)), part_path(Path(str(p)))):
            with contextlib.suppress(OSError):
                candidate.unlink()
        with contextlib.suppress(OSError):
            Path(str(p) + ".part.json").unlink()


def _copy_unique(src: Path, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    if out_dir.resolve() == src.parent.resolve():
        return src
    dest = unique_path(out_dir, src.name, reserve=True)
    tmp = part_path(dest)
    try:
        shutil.copyfile(src, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, dest)  # never overwrites
            tmp.unlink()
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system
            if dest.exists():
                raise FileExistsError(dest) from None
            os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return dest
