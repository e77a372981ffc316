"""The aggregators' "unified video" API: ``POST /v1/video/create``, ``GET /v1/video/query?id=``.

Many OpenAI-compatible gateways share this shape (API reference §8). The base URL (and, if a
gateway differs, the paths) come from the provider profile; the transport has no upload origin.
Answers carry no kie.ai envelope: success is HTTP 2xx, errors are HTTP 4xx/5xx with an
OpenAI-style ``{"error": {"message": ...}}`` or a kie-style body, mapped by the transport.

Task ids look like ``veo3.1-fast:1770350082-trii1OXZc3``: the colon is percent-encoded on the
wire (httpx ``params``). Status is decided from ``status`` and the result URLs only: a completed
task may still carry stale error text from earlier upstream retries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kievideo.api.errors import InvalidRequestError, MalformedResponseError
from kievideo.api.http import ApiTransport
from kievideo.api.models import ProviderKind, TaskState, TaskView
from kievideo.api.parsing import (
    as_dict,
    as_str,
    first_str,
    first_text,
    parse_time,
    require_dict,
    task_id_from_create,
    url_list,
)

CREATE_PATH = "/v1/video/create"
QUERY_PATH = "/v1/video/query"

QUEUED_WORDS = frozenset({"pending", "queued"})
RUNNING_WORDS = frozenset(
    {"processing", "image_downloading", "video_generating", "video_generation_completed", "video_upsampling"}
)
SUCCESS_WORDS = frozenset({"completed", "video_upsampling_completed", "succeeded"})
FAILURE_WORDS = frozenset({"failed", "error", "video_generation_failed"})
UPSAMPLING_FAILED = "video_upsampling_failed"

_ID_SECONDS = re.compile(r":(\d{9,11})-")


@dataclass(frozen=True)
class UnifiedCreateRequest:
    """Body of ``POST /v1/video/create``; model ids are the gateway's (``veo3.1-fast``, ...)."""

    model: str
    prompt: str
    images: tuple[str, ...] = ()
    enhance_prompt: bool = True
    enable_upsample: bool = False
    aspect_ratio: str | None = None

    def validate(self) -> None:
        if not self.model.strip():
            raise InvalidRequestError("Choose a model.", field="model")
        if not self.prompt.strip():
            raise InvalidRequestError("Enter a prompt.", field="prompt")
        if len(self.images) > 3:
            raise InvalidRequestError("The unified API takes at most 3 images.", field="images")
        if any(not u.strip() for u in self.images):
            raise InvalidRequestError("An image URL is empty.", field="images")
        if self.aspect_ratio is not None and self.aspect_ratio not in ("16:9", "9:16"):
            raise InvalidRequestError("Aspect ratio must be 16:9 or 9:16.", field="aspect_ratio")

    def to_body(self) -> dict[str, Any]:
        # enhance_prompt/enable_upsample always go out: some doc pages list them as required.
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": self.prompt,
            "enhance_prompt": self.enhance_prompt,
            "enable_upsample": self.enable_upsample,
        }
        if self.images:
            body["images"] = list(self.images)
        if self.aspect_ratio is not None:
            body["aspect_ratio"] = self.aspect_ratio
        return body


def _first_url(*candidates: object) -> tuple[str, ...]:
    for value in candidates:
        urls = url_list(value)
        if urls:
            return urls
    return ()


def _failure_text(body: Mapping[str, Any], detail: Mapping[str, Any]) -> str | None:
    for source in (detail, body):
        text = first_str(source, "video_generation_error", "error_message", "fail_reason", "message")
        if text:
            return text
        err = source.get("error")
        text = first_str(err, "message") if isinstance(err, Mapping) else as_str(err)
        if text:
            return text
    return None


def parse_query(body: object, task_id: str) -> TaskView:
    """A ``/v1/video/query`` answer as a TaskView (§8.4 status words)."""
    top = require_dict(body, "task")
    detail = as_dict(top.get("detail"))
    status = first_text(top, "status") or first_text(detail, "status")
    if status is None:
        raise MalformedResponseError(
            "The provider's answer has no status.", provider_message="missing status"
        )
    word = status.lower()
    updated = parse_time(top.get("status_update_time") or detail.get("status_update_time"))
    the_id = first_str(top, "id") or task_id
    seconds = _ID_SECONDS.search(the_id)
    common: dict[str, Any] = {
        "provider": ProviderKind.UNIFIED,
        "task_id": the_id,
        "provider_status": status,
        "created_at": parse_time(detail.get("created_at"))
        or (parse_time(seconds.group(1)) if seconds else None),
        "raw": top,
    }
    if word in QUEUED_WORDS:
        return TaskView(state=TaskState.QUEUED, **common)
    if word in RUNNING_WORDS:
        return TaskView(state=TaskState.RUNNING, **common)
    completed_at = parse_time(detail.get("completed_at")) or updated
    if word in SUCCESS_WORDS:
        # Pick order used by public clients: upscaled, then base, then the top-level URL. Stale
        # error text in ``detail`` is ignored: the status and the URL decide.
        urls = _first_url(detail.get("upsample_video_url"), detail.get("video_url"), top.get("video_url"))
        if not urls:
            raise MalformedResponseError(
                "The provider reports the video as finished but sent no video URL yet.",
                provider_message=f"status={status} without a video URL",
            )
        return TaskView(state=TaskState.SUCCEEDED, video_urls=urls, completed_at=completed_at, **common)
    if word == UPSAMPLING_FAILED:
        base = _first_url(detail.get("video_url"), top.get("video_url"))
        reason = _failure_text(top, detail)
        if base:
            warning = "Upscaling failed; the video is available at its original resolution."
            if reason:
                warning += f" ({reason})"
            return TaskView(
                state=TaskState.SUCCEEDED,
                video_urls=base,
                warning=warning,
                completed_at=completed_at,
                **common,
            )
        return TaskView(
            state=TaskState.FAILED,
            error_message=reason or "Upscaling failed and no video is available.",
            completed_at=completed_at,
            **common,
        )
    if word in FAILURE_WORDS:
        return TaskView(
            state=TaskState.FAILED,
            error_message=_failure_text(top, detail) or "The video could not be generated.",
            completed_at=completed_at,
            **common,
        )
    return TaskView(state=TaskState.UNKNOWN, **common)


class UnifiedClient:
    """One gateway of the unified video API (base URL from the provider profile)."""

    def __init__(
        self, transport: ApiTransport, *, create_path: str = CREATE_PATH, query_path: str = QUERY_PATH
    ) -> None:
        self._t = transport
        self._create_path = create_path
        self._query_path = query_path

    async def create(self, req: UnifiedCreateRequest) -> str:
        """Create a task; returns its id (``model:seconds-random``, with a colon). Paid.

        The answer is the bare object ``{id, status, status_update_time}``; one without ``id``
        raises AmbiguousSubmitError (the task may exist; it must not be sent again).
        """
        req.validate()
        return await self._t.call(
            "POST", self._create_path, json_body=req.to_body(), idempotent=False, parse=task_id_from_create
        )

    async def query(self, task_id: str) -> TaskView:
        """Status of a task (retried); the id is URL-encoded (``:`` -> ``%3A``)."""
        return await self._t.call(
            "GET", self._query_path, params={"id": task_id}, parse=lambda env: parse_query(env.data, task_id)
        )
