"""kie.ai Runway (generate, record-detail, extend) and Runway Aleph (video to video).

Facts from the API reference (§3): durations 5 or 10 s, quality 720p or 1080p, never 10 s at
1080p; ``aspectRatio`` is required without an image; the watermark key is ``waterMark`` (capital
M). ``record-detail`` reports ``state`` words and ``expireFlag``; an older doc shape used
``id``/``parentId``, and ``failCode`` may be the int 400 or the string ``""``. Aleph has its own
``/api/v1/aleph/*`` paths, a singular ``seed`` and ``successFlag`` 0 meaning "failed or running".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kievideo.api.errors import InvalidRequestError, MalformedResponseError
from kievideo.api.http import ApiTransport
from kievideo.api.models import ProviderKind, TaskState, TaskView
from kievideo.api.parsing import (
    as_dict,
    as_int,
    as_str,
    first_str,
    parse_time,
    require_dict,
    require_int,
    require_str,
    task_id_from_create,
    url_list,
)

GENERATE_PATH = "/api/v1/runway/generate"
RECORD_DETAIL_PATH = "/api/v1/runway/record-detail"
EXTEND_PATH = "/api/v1/runway/extend"
ALEPH_GENERATE_PATH = "/api/v1/aleph/generate"
ALEPH_RECORD_INFO_PATH = "/api/v1/aleph/record-info"

DURATIONS = (5, 10)
QUALITIES = ("720p", "1080p")
ASPECT_RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16")
ALEPH_ASPECT_RATIOS = ("16:9", "9:16", "4:3", "3:4", "1:1", "21:9")
MAX_PROMPT = 1800


def _check_prompt(prompt: str) -> None:
    if not prompt.strip():
        raise InvalidRequestError("Enter a prompt.", field="prompt")
    if len(prompt) > MAX_PROMPT:
        raise InvalidRequestError(
            f"Runway prompts can be at most {MAX_PROMPT} characters (this one has {len(prompt)}).",
            field="prompt",
        )


def _check_quality(quality: str) -> None:
    if quality not in QUALITIES:
        raise InvalidRequestError(f"Quality must be one of {QUALITIES} (got {quality!r}).", field="quality")


@dataclass(frozen=True)
class RunwayGenerateRequest:
    """Body of ``POST /api/v1/runway/generate``."""

    prompt: str
    duration: int = 5
    quality: str = "720p"
    image_url: str | None = None
    aspect_ratio: str | None = None
    watermark: str = ""
    callback_url: str | None = None

    def validate(self) -> None:
        """Raise :class:`InvalidRequestError` (a ValueError) before anything is sent."""
        _check_prompt(self.prompt)
        if self.duration not in DURATIONS:
            raise InvalidRequestError(
                f"Runway videos are 5 or 10 seconds long (got {self.duration}).", field="duration"
            )
        _check_quality(self.quality)
        if self.duration == 10 and self.quality == "1080p":
            raise InvalidRequestError(
                "Runway cannot make 10-second videos in 1080p. Choose 5 seconds or 720p.", field="quality"
            )
        if self.aspect_ratio is not None and self.aspect_ratio not in ASPECT_RATIOS:
            raise InvalidRequestError(
                f"Aspect ratio must be one of {ASPECT_RATIOS} (got {self.aspect_ratio!r}).",
                field="aspect_ratio",
            )
        if not self.image_url and self.aspect_ratio is None:
            raise InvalidRequestError(
                "Choose an aspect ratio: Runway needs one when no image is given.", field="aspect_ratio"
            )

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": self.prompt,
            "duration": self.duration,
            "quality": self.quality,
            "waterMark": self.watermark,  # capital M, as documented
        }
        if self.image_url:
            body["imageUrl"] = self.image_url
        if self.aspect_ratio is not None:
            body["aspectRatio"] = self.aspect_ratio  # ignored by the server when an image is given
        if self.callback_url:
            body["callBackUrl"] = self.callback_url
        return body


@dataclass(frozen=True)
class RunwayExtendRequest:
    """Body of ``POST /api/v1/runway/extend``; the original aspect ratio is kept."""

    task_id: str
    prompt: str
    quality: str = "720p"
    watermark: str = ""
    callback_url: str | None = None

    def validate(self) -> None:
        if not self.task_id.strip():
            raise InvalidRequestError("Extend needs the task id of a finished Runway video.", field="task_id")
        _check_prompt(self.prompt)
        _check_quality(self.quality)

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "taskId": self.task_id,
            "prompt": self.prompt,
            "quality": self.quality,
            "waterMark": self.watermark,
        }
        if self.callback_url:
            body["callBackUrl"] = self.callback_url
        return body


@dataclass(frozen=True)
class AlephGenerateRequest:
    """Body of ``POST /api/v1/aleph/generate`` (video to video)."""

    prompt: str
    video_url: str
    aspect_ratio: str | None = None
    seed: int | None = None
    reference_image: str | None = None
    watermark: str = ""
    callback_url: str | None = None

    def validate(self) -> None:
        if not self.prompt.strip():
            raise InvalidRequestError("Enter a prompt.", field="prompt")
        if not self.video_url.strip():
            raise InvalidRequestError("Aleph needs a source video URL.", field="video_url")
        if self.aspect_ratio is not None and self.aspect_ratio not in ALEPH_ASPECT_RATIOS:
            raise InvalidRequestError(
                f"Aspect ratio must be one of {ALEPH_ASPECT_RATIOS} (got {self.aspect_ratio!r}).",
                field="aspect_ratio",
            )

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": self.prompt,
            "videoUrl": self.video_url,
            "waterMark": self.watermark,
        }
        if self.aspect_ratio is not None:
            body["aspectRatio"] = self.aspect_ratio
        if self.seed is not None:
            body["seed"] = self.seed  # singular here; Veo says "seeds"
        if self.reference_image:
            body["referenceImage"] = self.reference_image
        if self.callback_url:
            body["callBackUrl"] = self.callback_url
        return body


_RUNWAY_STATES: Mapping[str, TaskState] = {
    "wait": TaskState.QUEUED,
    "waiting": TaskState.QUEUED,
    "queueing": TaskState.QUEUED,
    "queuing": TaskState.QUEUED,
    "generating": TaskState.RUNNING,
    "success": TaskState.SUCCEEDED,
    "fail": TaskState.FAILED,
}


def _nonzero_id(value: object) -> str | None:
    """A parent id, where ``""``, ``0`` and null all mean "none" (old and new doc shapes)."""
    text = as_str(value)
    return None if text in (None, "0") else text


def parse_record_detail(data: object, task_id: str) -> TaskView:
    """``data`` of Runway ``record-detail`` as a TaskView.

    wait/queueing -> QUEUED, generating -> RUNNING, success -> SUCCEEDED (``videoInfo.videoUrl``
    required), fail -> FAILED. ``expireFlag`` 1 turns anything but a failure into EXPIRED (the
    files are gone; a failure stays a failure so its reason is kept). Other words -> UNKNOWN.
    """
    record = require_dict(data, "record data")
    status = require_str(record, "state")
    state = _RUNWAY_STATES.get(status.lower(), TaskState.UNKNOWN)
    info = as_dict(record.get("videoInfo"))
    params = as_dict(record.get("generateParam"))
    expired = as_int(record.get("expireFlag")) == 1
    video_urls: tuple[str, ...] = ()
    image_urls: tuple[str, ...] = ()
    if state is TaskState.SUCCEEDED:
        video_urls = url_list(info.get("videoUrl"))
        image_urls = url_list(info.get("imageUrl"))
        if not video_urls and not expired:
            raise MalformedResponseError(
                "The provider reports the video as finished but sent no video URL yet.",
                provider_message="state=success without videoInfo.videoUrl",
            )
    error_code: int | None = None
    error_message: str | None = None
    if state is TaskState.FAILED:
        error_code = as_int(record.get("failCode"))  # int 400, or "" in the older example
        error_message = as_str(record.get("failMsg")) or "Generation failed."
    if expired and state is not TaskState.FAILED:
        state = TaskState.EXPIRED
    return TaskView(
        provider=ProviderKind.RUNWAY,
        task_id=first_str(record, "taskId", "id") or task_id,
        state=state,
        provider_status=f"{status}, expired" if expired else status,
        video_urls=video_urls,
        image_urls=image_urls,
        error_code=error_code,
        error_message=error_message,
        created_at=parse_time(record.get("generateTime")),
        parent_task_id=_nonzero_id(record.get("parentTaskId", record.get("parentId")))
        or _nonzero_id(params.get("parentId")),
        raw=record,
    )


def parse_aleph_record(data: object, task_id: str) -> TaskView:
    """``data`` of Aleph ``record-info``: successFlag 1 success; 0 is failed when errorCode is
    nonzero or errorMessage is non-empty, else running. Other flags: failed with error fields,
    otherwise UNKNOWN.
    """
    record = require_dict(data, "record data")
    flag = require_int(record, "successFlag")
    response = as_dict(record.get("response"))
    error_code = as_int(record.get("errorCode"))
    error_message = as_str(record.get("errorMessage"))
    has_error = bool(error_code) or error_message is not None
    common: dict[str, Any] = {
        "provider": ProviderKind.ALEPH,
        "task_id": first_str(record, "taskId") or task_id,
        "provider_status": f"successFlag={flag}",
        "created_at": parse_time(record.get("createTime")),
        "raw": record,
    }
    if flag == 1:
        urls = url_list(response.get("resultVideoUrl")) or url_list(response.get("resultUrls"))
        if not urls:
            raise MalformedResponseError(
                "The provider reports the video as finished but sent no video URL yet.",
                provider_message="successFlag=1 without response.resultVideoUrl",
            )
        return TaskView(
            state=TaskState.SUCCEEDED,
            video_urls=urls,
            image_urls=url_list(response.get("resultImageUrl")),
            completed_at=parse_time(record.get("completeTime")),
            **common,
        )
    if has_error:
        return TaskView(
            state=TaskState.FAILED,
            error_code=error_code or None,
            error_message=error_message or "Generation failed.",
            completed_at=parse_time(record.get("completeTime")),
            **common,
        )
    return TaskView(state=TaskState.RUNNING if flag == 0 else TaskState.UNKNOWN, **common)


class RunwayClient:
    """Runway on kie.ai."""

    def __init__(self, transport: ApiTransport) -> None:
        self._t = transport

    async def generate(self, req: RunwayGenerateRequest) -> str:
        """Create a task; returns its taskId. Paid: never sent twice once it may have arrived."""
        req.validate()
        return await self._t.call(
            "POST", GENERATE_PATH, json_body=req.to_body(), idempotent=False, parse=task_id_from_create
        )

    async def record_detail(self, task_id: str) -> TaskView:
        """Status of a Runway generate or extend task (retried)."""
        return await self._t.call(
            "GET",
            RECORD_DETAIL_PATH,
            params={"taskId": task_id},
            parse=lambda env: parse_record_detail(env.data, task_id),
        )

    async def extend(self, req: RunwayExtendRequest) -> str:
        """Extend a finished Runway video; returns the new taskId. Paid."""
        req.validate()
        return await self._t.call(
            "POST", EXTEND_PATH, json_body=req.to_body(), idempotent=False, parse=task_id_from_create
        )


class AlephClient:
    """Runway Aleph (video to video) on kie.ai."""

    def __init__(self, transport: ApiTransport) -> None:
        self._t = transport

    async def generate(self, req: AlephGenerateRequest) -> str:
        """Create an Aleph task; returns its taskId. Paid."""
        req.validate()
        return await self._t.call(
            "POST", ALEPH_GENERATE_PATH, json_body=req.to_body(), idempotent=False, parse=task_id_from_create
        )

    async def record_info(self, task_id: str) -> TaskView:
        """Status of an Aleph task (retried)."""
        return await self._t.call(
            "GET",
            ALEPH_RECORD_INFO_PATH,
            params={"taskId": task_id},
            parse=lambda env: parse_aleph_record(env.data, task_id),
        )
