"""The normalized view of a remote task that the rest of the app sees, whatever the provider.

Each provider module parses its own answers into these types. Parsing is lenient where the
doc versions disagree (times as strings or numbers, ``msg`` or ``message``, arrays or strings
in URL fields, unknown extra fields) and explicit where it matters: an unknown status becomes
``TaskState.UNKNOWN`` with the raw text, never a crash and never a silent success.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ProviderKind(enum.StrEnum):
    """The provider families the API layer speaks to."""

    VEO = "veo"
    RUNWAY = "runway"
    ALEPH = "aleph"
    UNIFIED = "unified"


class TaskState(enum.StrEnum):
    """Where a remote task is, as far as the provider says."""

    QUEUED = "queued"  # accepted, not started (Runway wait/queueing, unified pending)
    RUNNING = "running"  # generating (Veo successFlag 0, Runway generating, ...)
    SUCCEEDED = "succeeded"  # result URLs available
    FAILED = "failed"  # the provider gave up; error_code/error_message say why
    EXPIRED = "expired"  # the record or its files are past retention
    UNKNOWN = "unknown"  # a status word we do not know; provider_status holds it

    @property
    def is_final(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.EXPIRED)


@dataclass(frozen=True, slots=True)
class TaskView:
    """One status answer, normalized.

    ``provider_status`` keeps the provider's own words (``"successFlag=0"``, ``"generating"``,
    ``"video_upsampling"``) so the UI can show them and a bug report can quote them.
    """

    provider: ProviderKind
    task_id: str
    state: TaskState
    provider_status: str
    video_urls: tuple[str, ...] = ()
    image_urls: tuple[str, ...] = ()  # poster/thumbnail URLs where the provider gives them
    resolution: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    warning: str | None = None  # e.g. unified video_upsampling_failed with a base video
    created_at: datetime | None = None
    completed_at: datetime | None = None
    parent_task_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    """Answer of a 1080p or 4K request: ready with URLs, or still processing."""

    ready: bool
    video_urls: tuple[str, ...] = ()
    image_urls: tuple[str, ...] = ()
    task_id: str | None = None  # the 4K task id when the provider returns one
    message: str = ""
    #: not ready because the *base* task has not succeeded yet (Veo 1080p: 422 "record status
    #: is not success."), as opposed to the upgrade itself still processing
    base_not_ready: bool = False


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file the File Upload API accepted; ``download_url`` is what generation endpoints take."""

    file_name: str
    file_path: str
    download_url: str
    file_size: int
    mime_type: str
    uploaded_at: datetime | None = None
