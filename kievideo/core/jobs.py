"""The domain model shared by the GUI, the CLI and the store: what the user asked for (JobSpec)
and what became of it (Job).

A Job is the local record of one paid request (a generation, a 1080p/4K upgrade or an
extension). It exists in the store *before* its create request goes out, so no crash can lose
a billed task.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from kievideo.api.models import ProviderKind


class Mode(enum.StrEnum):
    """How the inputs shape the video."""

    TEXT = "text"  # prompt only
    IMAGE = "image"  # one image that comes alive
    FRAMES = "frames"  # first and last frame: exactly two images, order matters
    REFERENCE = "reference"  # 1-3 reference images (Veo veo3_fast only)
    VIDEO = "video"  # video to video (Runway Aleph)


class JobKind(enum.StrEnum):
    GENERATE = "generate"
    UPGRADE_1080P = "1080p"
    UPGRADE_4K = "4k"
    EXTEND = "extend"


class JobState(enum.StrEnum):
    """The local life of a job. Final states: DONE, FAILED, EXPIRED, UNCERTAIN, STOPPED."""

    UPLOADING = "uploading"  # row written, local images going up
    SUBMITTING = "submitting"  # create request about to go / in flight
    QUEUED = "queued"  # provider accepted, not started
    RUNNING = "running"  # provider is generating
    DOWNLOADING = "downloading"  # provider done, file coming to the library
    DONE = "done"  # file is in the library
    FAILED = "failed"  # provider or input failure; error_* say why
    EXPIRED = "expired"  # provider no longer keeps the result
    UNCERTAIN = "uncertain"  # create may have been sent but no task id is known: never resubmitted silently
    STOPPED = "stopped"  # the user stopped watching; the remote task may still run

    @property
    def is_final(self) -> bool:
        return self in _FINAL

    @property
    def is_active(self) -> bool:
        """True while the app should be working on it (uploading, polling, downloading)."""
        return not self.is_final


_FINAL = frozenset({JobState.DONE, JobState.FAILED, JobState.EXPIRED, JobState.UNCERTAIN, JobState.STOPPED})


@dataclass(frozen=True, slots=True)
class JobSpec:
    """Everything the user chose for one request. Stored verbatim with the job.

    ``images`` holds local paths or http(s) URLs, in the user's order (first/last matters).
    ``profile`` names the provider profile (``"kie"`` for kie.ai, or a user-defined unified
    API profile) so the job knows which base URL and key it belongs to.
    """

    provider: ProviderKind
    model: str
    prompt: str
    mode: Mode = Mode.TEXT
    profile: str = "kie"
    images: tuple[str, ...] = ()
    video_url: str | None = None
    aspect_ratio: str | None = None
    duration: int | None = None  # seconds (Runway 5/10)
    quality: str | None = None  # Runway 720p/1080p; Veo resolution 720p/1080p/4k
    seed: int | None = None
    watermark: str = ""
    translate: bool = True  # Veo enableTranslation / unified enhance_prompt
    upsample: bool = False  # unified enable_upsample

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider.value,
            "model": self.model,
            "prompt": self.prompt,
            "mode": self.mode.value,
            "profile": self.profile,
            "images": list(self.images),
            "video_url": self.video_url,
            "aspect_ratio": self.aspect_ratio,
            "duration": self.duration,
            "quality": self.quality,
            "seed": self.seed,
            "watermark": self.watermark,
            "translate": self.translate,
            "upsample": self.upsample,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobSpec:
        return cls(
            provider=ProviderKind(d["provider"]),
            model=str(d["model"]),
            prompt=str(d.get("prompt", "")),
            mode=Mode(d.get("mode", "text")),
            profile=str(d.get("profile", "kie")),
            images=tuple(str(x) for x in d.get("images") or ()),
            video_url=d.get("video_url"),
            aspect_ratio=d.get("aspect_ratio"),
            duration=None if d.get("duration") is None else int(d["duration"]),
            quality=d.get("quality"),
            seed=None if d.get("seed") is None else int(d["seed"]),
            watermark=str(d.get("watermark") or ""),
            translate=bool(d.get("translate", True)),
            upsample=bool(d.get("upsample", False)),
        )

    def with_(self, **changes: Any) -> JobSpec:
        return replace(self, **changes)


@dataclass(slots=True)
class Job:
    """The local record of one paid request and everything learnt about it since.

    Times are wall-clock UNIX seconds (float). ``queued_for`` / ``running_for`` are derived
    by the UI from ``submitted_at``, ``started_at`` and ``finished_at``.
    """

    id: str  # local id (uuid4 hex); stable across restarts
    spec: JobSpec
    kind: JobKind = JobKind.GENERATE
    state: JobState = JobState.UPLOADING
    parent_id: str | None = None  # 1080p/4K/extend: the job they came from
    task_id: str | None = None  # the provider's id, the moment it is known
    job_key: str | None = None  # caller's idempotency key (CLI batch)
    provider_status: str = ""  # the provider's own words, last seen
    created_at: float = 0.0
    submitted_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = 0.0
    uploaded_urls: tuple[str, ...] = ()  # the images as the provider sees them
    result_urls: tuple[str, ...] = ()
    image_urls: tuple[str, ...] = ()  # provider poster frames
    resolution: str | None = None
    expires_at: float | None = None  # when the provider deletes the result
    file_path: str | None = None  # the finished file in the library
    thumb_path: str | None = None
    error_code: int | None = None
    error_message: str | None = None  # for a person: what happened and what to do
    provider_message: str | None = None  # the provider's own text, copyable
    upload_progress: float | None = None  # 0..1 while uploading
    download_progress: float | None = None  # 0..1 while downloading
    slow: bool = False  # past the deadline: "taking unusually long"
    poll_count: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        return self.state.is_final
