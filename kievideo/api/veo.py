"""kie.ai Veo 3.1: generate, record-info, 1080p, 4K and extend (``/api/v1/veo/*``).

Facts from the API reference (§2): ``record-info`` is the source of truth for every Veo task
(generate, extend, 1080p, 4K); ``get-1080p-video`` answers body code 400 "1080P is processing"
until the upscale is done; ``get-4k-video`` is a paid POST whose repeats answer 422, one of them
*with* the result. Requests are validated on the client first, so a wrong combination is refused
before anything is sent or billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kievideo.api.errors import InvalidRequestError, MalformedResponseError, ValidationKind, error_for_code
from kievideo.api.http import ApiTransport, Envelope
from kievideo.api.models import ProviderKind, TaskState, TaskView, UpgradeResult
from kievideo.api.parsing import (
    as_dict,
    as_int,
    as_str,
    first_str,
    parse_time,
    require_dict,
    require_int,
    task_id_from_create,
    url_list,
)

GENERATE_PATH = "/api/v1/veo/generate"
RECORD_INFO_PATH = "/api/v1/veo/record-info"
GET_1080P_PATH = "/api/v1/veo/get-1080p-video"
GET_4K_PATH = "/api/v1/veo/get-4k-video"
EXTEND_PATH = "/api/v1/veo/extend"

MODELS = ("veo3", "veo3_fast", "veo3_lite")
TEXT_2_VIDEO = "TEXT_2_VIDEO"
FIRST_AND_LAST_FRAMES_2_VIDEO = "FIRST_AND_LAST_FRAMES_2_VIDEO"
REFERENCE_2_VIDEO = "REFERENCE_2_VIDEO"
GENERATION_TYPES = (TEXT_2_VIDEO, FIRST_AND_LAST_FRAMES_2_VIDEO, REFERENCE_2_VIDEO)
ASPECT_RATIOS = ("16:9", "9:16", "Auto")
RESOLUTIONS = ("720p", "1080p", "4k")
EXTEND_MODELS = ("fast", "quality", "lite")
SEED_RANGE = (10000, 99999)


def _check_seed(seeds: int | None) -> None:
    if seeds is not None and not SEED_RANGE[0] <= seeds <= SEED_RANGE[1]:
        raise InvalidRequestError(
            f"Seed must be between {SEED_RANGE[0]} and {SEED_RANGE[1]} (got {seeds}).", field="seeds"
        )


def _check_prompt(prompt: str) -> None:
    if not prompt.strip():
        raise InvalidRequestError("Enter a prompt.", field="prompt")


@dataclass(frozen=True)
class VeoGenerateRequest:
    """Body of ``POST /api/v1/veo/generate``; ``validate()`` runs before anything is sent."""

    prompt: str
    model: str = "veo3_fast"
    image_urls: tuple[str, ...] = ()
    generation_type: str | None = None  # TEXT_2_VIDEO | FIRST_AND_LAST_FRAMES_2_VIDEO | REFERENCE_2_VIDEO
    aspect_ratio: str | None = "16:9"
    seeds: int | None = None
    watermark: str | None = None
    enable_translation: bool = True
    resolution: str | None = None
    callback_url: str | None = None

    def validate(self) -> None:
        """Raise :class:`InvalidRequestError` for a combination the docs rule out."""
        _check_prompt(self.prompt)
        if self.model not in MODELS:
            raise InvalidRequestError(
                f"Unknown Veo model {self.model!r}; use one of {MODELS}.", field="model"
            )
        if self.aspect_ratio is not None and self.aspect_ratio not in ASPECT_RATIOS:
            raise InvalidRequestError(
                f"Aspect ratio must be one of {ASPECT_RATIOS} (got {self.aspect_ratio!r}).",
                field="aspect_ratio",
            )
        if self.resolution is not None and self.resolution not in RESOLUTIONS:
            raise InvalidRequestError(
                f"Resolution must be one of {RESOLUTIONS} (got {self.resolution!r}).", field="resolution"
            )
        _check_seed(self.seeds)
        if any(not isinstance(u, str) or not u.strip() for u in self.image_urls):
            raise InvalidRequestError("An image URL is empty.", field="image_urls")
        n = len(self.image_urls)
        kind = self.generation_type
        if kind is not None and kind not in GENERATION_TYPES:
            raise InvalidRequestError(
                f"Unknown generation type {kind!r}; use one of {GENERATION_TYPES}.", field="generation_type"
            )
        if kind == TEXT_2_VIDEO and n:
            raise InvalidRequestError("Text to video takes no images.", field="image_urls")
        if kind == REFERENCE_2_VIDEO:
            if not 1 <= n <= 3:
                raise InvalidRequestError("Reference to video needs 1 to 3 images.", field="image_urls")
            if self.model != "veo3_fast":
                raise InvalidRequestError(
                    "Reference to video works only with the veo3_fast model.", field="model"
                )
        elif kind == FIRST_AND_LAST_FRAMES_2_VIDEO and not 1 <= n <= 2:
            raise InvalidRequestError(
                "First and last frames mode takes one or two images (two: first and last frame).",
                field="image_urls",
            )
        elif kind is None and n > 2:
            raise InvalidRequestError(
                "Three images need generation type REFERENCE_2_VIDEO.", field="generation_type"
            )

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": self.prompt, "model": self.model}
        if self.image_urls:
            body["imageUrls"] = list(self.image_urls)
        if self.generation_type is not None:
            body["generationType"] = self.generation_type
        if self.aspect_ratio is not None:
            # Older docs (V-A/V-B) name it aspectRatio, newer ones (V-C/V-D) aspect_ratio; which one
            # the live server reads is unverified, so both go out with the same value.
            body["aspect_ratio"] = self.aspect_ratio
            body["aspectRatio"] = self.aspect_ratio
        if self.seeds is not None:
            body["seeds"] = self.seeds
        if self.watermark:
            body["watermark"] = self.watermark
        body["enableTranslation"] = self.enable_translation
        if self.resolution is not None:
            body["resolution"] = self.resolution
        if self.callback_url:
            body["callBackUrl"] = self.callback_url
        return body


@dataclass(frozen=True)
class VeoExtendRequest:
    """Body of ``POST /api/v1/veo/extend``."""

    task_id: str
    prompt: str
    model: str = "fast"
    seeds: int | None = None
    watermark: str | None = None
    callback_url: str | None = None

    def validate(self) -> None:
        if not self.task_id.strip():
            raise InvalidRequestError("Extend needs the task id of a finished Veo video.", field="task_id")
        _check_prompt(self.prompt)
        if self.model not in EXTEND_MODELS:
            raise InvalidRequestError(
                f"Extend model must be one of {EXTEND_MODELS} (got {self.model!r}).", field="model"
            )
        _check_seed(self.seeds)

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"taskId": self.task_id, "prompt": self.prompt, "model": self.model}
        if self.seeds is not None:
            body["seeds"] = self.seeds
        if self.watermark:
            body["watermark"] = self.watermark
        if self.callback_url:
            body["callBackUrl"] = self.callback_url
        return body


def parse_record_info(data: object, task_id: str, *, is_extend: bool = False) -> TaskView:
    """``data`` of ``record-info`` as a TaskView.

    successFlag 0 running, 1 success (``response.resultUrls``; for an extend task the full-length
    ``fullResultUrls`` when present), 2 and 3 failed with ``errorCode``/``errorMessage``. Any other
    flag is UNKNOWN, never a success.
    """
    record = require_dict(data, "record data")
    flag = require_int(record, "successFlag")
    response = as_dict(record.get("response"))
    common: dict[str, Any] = {
        "provider": ProviderKind.VEO,
        "task_id": first_str(record, "taskId") or task_id,
        "provider_status": f"successFlag={flag}",
        "resolution": as_str(response.get("resolution")),
        "created_at": parse_time(record.get("createTime")),
        "raw": record,
    }
    if flag == 0:
        return TaskView(state=TaskState.RUNNING, **common)
    if flag == 1:
        results = url_list(response.get("resultUrls"))
        full = url_list(response.get("fullResultUrls"))
        urls = (full or results) if is_extend else (results or full)
        if not urls:
            # Success without a file would look done but give the user nothing; say so instead.
            raise MalformedResponseError(
                "The provider reports the video as finished but sent no video URL yet.",
                provider_message="successFlag=1 without response.resultUrls",
            )
        return TaskView(
            state=TaskState.SUCCEEDED,
            video_urls=urls,
            completed_at=parse_time(record.get("completeTime")),
            **common,
        )
    if flag in (2, 3):
        message = as_str(record.get("errorMessage"))
        if message is None:
            message = "Task failed before completion." if flag == 2 else "Generation failed upstream."
        return TaskView(
            state=TaskState.FAILED,
            error_code=as_int(record.get("errorCode")),
            error_message=message,
            completed_at=parse_time(record.get("completeTime")),
            **common,
        )
    return TaskView(state=TaskState.UNKNOWN, **common)


_1080P_PROCESSING = "is processing"


def parse_1080p(envelope: Envelope, task_id: str) -> UpgradeResult:
    """Read a ``get-1080p-video`` answer (see :meth:`VeoClient.get_1080p`)."""
    if envelope.ok:
        data = as_dict(envelope.data)
        urls = url_list(data.get("resultUrl")) or url_list(data.get("resultUrls"))
        if urls:
            return UpgradeResult(ready=True, video_urls=urls, task_id=task_id, message=envelope.msg)
        return UpgradeResult(ready=False, task_id=task_id, message=envelope.msg or "1080P is not ready yet.")
    if envelope.code == 400 and _1080P_PROCESSING in envelope.msg.lower():
        return UpgradeResult(ready=False, task_id=task_id, message=envelope.msg)
    if envelope.code == 422 and ValidationKind.from_message(envelope.msg) is ValidationKind.NOT_SUCCESS_YET:
        return UpgradeResult(ready=False, task_id=task_id, message=envelope.msg, base_not_ready=True)
    raise error_for_code(envelope.code, envelope.msg or None, http_status=envelope.http_status)


def parse_4k(envelope: Envelope, task_id: str) -> UpgradeResult:
    """Read a ``get-4k-video`` answer (see :meth:`VeoClient.request_4k`)."""
    data = as_dict(envelope.data)
    urls = url_list(data.get("resultUrls"))
    images = url_list(data.get("imageUrls"))
    four_k_id = first_str(data, "taskId") or task_id
    if envelope.ok:
        return UpgradeResult(
            ready=bool(urls), video_urls=urls, image_urls=images, task_id=four_k_id, message=envelope.msg
        )
    kind = ValidationKind.from_message(envelope.msg)
    if envelope.code == 422 and kind in (ValidationKind.FOURK_PROCESSING, ValidationKind.FOURK_DONE):
        # Repeats of the same request answer 422; "generated successfully" carries the result.
        return UpgradeResult(
            ready=bool(urls), video_urls=urls, image_urls=images, task_id=four_k_id, message=envelope.msg
        )
    raise error_for_code(envelope.code, envelope.msg or None, http_status=envelope.http_status)


class VeoClient:
    """Veo 3.1 on kie.ai."""

    def __init__(self, transport: ApiTransport) -> None:
        self._t = transport

    async def generate(self, req: VeoGenerateRequest) -> str:
        """Create a generation task; returns its taskId.

        Paid: never sent twice once the request may have reached the server. An unreadable
        answer raises AmbiguousSubmitError; an invalid request raises InvalidRequestError
        before anything is sent.
        """
        req.validate()
        return await self._t.call(
            "POST", GENERATE_PATH, json_body=req.to_body(), idempotent=False, parse=task_id_from_create
        )

    async def record_info(self, task_id: str, *, is_extend: bool = False) -> TaskView:
        """Status of any Veo task (retried). ``is_extend``: prefer ``fullResultUrls``."""
        return await self._t.call(
            "GET",
            RECORD_INFO_PATH,
            params={"taskId": task_id},
            parse=lambda env: parse_record_info(env.data, task_id, is_extend=is_extend),
        )

    async def get_1080p(self, task_id: str, index: int = 0) -> UpgradeResult:
        """The 1080p version of a finished task (a read: retried).

        Not ready is an answer, not an error: ``ready=False`` for body code 400 "1080P is
        processing..." and also for 422 "record status is not success." (the base task is not
        done yet), the latter with ``base_not_ready=True``. Other 422 texts (record null or
        older than 14 days, result missing) raise ValidationError/RecordExpiredError.
        """
        return await self._t.call(
            "GET",
            GET_1080P_PATH,
            params={"taskId": task_id, "index": index},
            accept_codes=frozenset({400, 422}),
            parse=lambda env: parse_1080p(env, task_id),
        )

    async def request_4k(
        self, task_id: str, index: int = 0, callback_url: str | None = None
    ) -> UpgradeResult:
        """Ask for (and later check on) the 4K version. Paid on the first call: never auto-repeated.

        The first call answers 200 with ``resultUrls`` null (``ready=False``); repeating the call
        for the same task answers 422 "4k is processing..." (``ready=False``) or 422 "The video
        has been generated successfully" with the URLs (``ready=True``). Neither 422 is an error.
        """
        body: dict[str, Any] = {"taskId": task_id, "index": index}
        if callback_url:
            body["callBackUrl"] = callback_url
        return await self._t.call(
            "POST",
            GET_4K_PATH,
            json_body=body,
            idempotent=False,
            accept_codes=frozenset({422}),
            parse=lambda env: parse_4k(env, task_id),
        )

    async def extend(self, req: VeoExtendRequest) -> str:
        """Extend a finished Veo video; returns the new taskId (poll it with record_info). Paid."""
        req.validate()
        return await self._t.call(
            "POST", EXTEND_PATH, json_body=req.to_body(), idempotent=False, parse=task_id_from_create
        )
