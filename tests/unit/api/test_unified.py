"""Unified video API: create body, id encoding, every §8.4 status word, URL pick order, errors."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from kievideo.api import errors
from kievideo.api.http import HttpConfig
from kievideo.api.models import ProviderKind, TaskState
from kievideo.api.unified import UnifiedClient, UnifiedCreateRequest, parse_query

TID = "veo3.1-fast:1770350082-trii1OXZc3"

# API reference §8.3, completed example (verbatim; the "..." elisions are the reference's)
STALE_ERROR_EXAMPLE = json.loads(
    (
        Path(__file__).resolve().parents[3]
        / "tests/fixtures/seeds/reference/unified_query_completed_8_3.json"
    ).read_text(encoding="utf-8")
)

PENDING_EXAMPLE = json.loads("""{ "id": "task_01k6x15vhrff09dkkqjrzwhm60", "status": "pending",
  "video_url": null, "enhanced_prompt": "", "status_update_time": 1759763621142 }""")

UPSAMPLED = "https://pro.filesystem.site/cdn/20260206/1b50395bad4c6c7bc22e6ada144951.mp4"
BASE_VIDEO = "https://pro.filesystem.site/cdn/20260206/9ddbd3bdc67f75a02f766363ebf8eb.mp4"


def run(scripted: Any, method: str, *args: Any, **client_kw: Any) -> Any:
    async def main() -> Any:
        async with scripted.transport(upload=False, config=HttpConfig(max_retries=1)) as t:
            return await getattr(UnifiedClient(t, **client_kw), method)(*args)

    return asyncio.run(main())


def test_create_body_and_id(scripted: Any) -> None:
    scripted.add(
        scripted.json(
            {
                "id": "veo3-fast-frames:1757555257-PORrVn9sa9",
                "status": "pending",
                "status_update_time": 1757555257582,
            }
        )
    )
    req = UnifiedCreateRequest(
        "veo3.1-fast",
        "make animate",
        images=("https://filesystem.site/cdn/20250702/w8AauvxxPhYoqqkFWdMippJpb9zBxN.png",),
        enhance_prompt=True,
        enable_upsample=True,
        aspect_ratio="16:9",
    )
    assert run(scripted, "create", req) == "veo3-fast-frames:1757555257-PORrVn9sa9"
    sent = scripted.requests[0]
    assert sent.method == "POST" and sent.url.path == "/v1/video/create"
    assert scripted.body() == {
        "enable_upsample": True,
        "enhance_prompt": True,
        "images": ["https://filesystem.site/cdn/20250702/w8AauvxxPhYoqqkFWdMippJpb9zBxN.png"],
        "model": "veo3.1-fast",
        "prompt": "make animate",
        "aspect_ratio": "16:9",
    }


def test_create_without_id_is_ambiguous(scripted: Any) -> None:
    scripted.add(scripted.json({"status": "pending"}))
    with pytest.raises(errors.AmbiguousSubmitError):
        run(scripted, "create", UnifiedCreateRequest("veo3", "p"))
    assert len(scripted.requests) == 1


@pytest.mark.parametrize(
    "req",
    [
        UnifiedCreateRequest("", "p"),
        UnifiedCreateRequest("m", " "),
        UnifiedCreateRequest("m", "p", images=("a", "b", "c", "d")),
        UnifiedCreateRequest("m", "p", aspect_ratio="1:1"),
    ],
)
def test_create_invalid(scripted: Any, req: UnifiedCreateRequest) -> None:
    with pytest.raises(errors.InvalidRequestError):
        run(scripted, "create", req)
    assert scripted.requests == []


def test_query_encodes_colon(scripted: Any) -> None:
    scripted.add(scripted.json(PENDING_EXAMPLE))
    view = run(scripted, "query", TID)
    raw = scripted.requests[0].url.raw_path
    assert raw == b"/v1/video/query?id=veo3.1-fast%3A1770350082-trii1OXZc3"
    assert view.state is TaskState.QUEUED and view.provider is ProviderKind.UNIFIED


def test_configurable_paths(scripted: Any) -> None:
    scripted.add(scripted.json(PENDING_EXAMPLE))
    run(scripted, "query", TID, query_path="/api/v2/video/status")
    assert scripted.requests[0].url.path == "/api/v2/video/status"


def test_seed_completed_with_stale_error_is_success(seed: Any) -> None:
    for body in (seed("001_unified_query_completed.json"), STALE_ERROR_EXAMPLE):
        view = parse_query(body, TID)
        assert view.state is TaskState.SUCCEEDED
        assert view.video_urls == (UPSAMPLED,)
        assert view.error_message is None and view.error_code is None
        assert view.provider_status == "completed"
        assert view.created_at == datetime.fromtimestamp(1770350082.099, tz=UTC)
        assert view.completed_at == datetime.fromtimestamp(1770350328.994, tz=UTC)


def test_url_pick_order() -> None:
    body = copy.deepcopy(STALE_ERROR_EXAMPLE)
    assert parse_query(body, TID).video_urls == (UPSAMPLED,)
    body["detail"]["upsample_video_url"] = ""
    assert parse_query(body, TID).video_urls == (BASE_VIDEO,)
    body["detail"]["video_url"] = None
    body["video_url"] = "https://top/level.mp4"
    assert parse_query(body, TID).video_urls == ("https://top/level.mp4",)
    del body["detail"]
    assert parse_query(body, TID).video_urls == ("https://top/level.mp4",)


IN_PROGRESS = [
    "pending",
    "processing",
    "image_downloading",
    "video_generating",
    "video_generation_completed",
    "video_upsampling",
    "queued",
]
SUCCESS = ["completed", "video_upsampling_completed", "succeeded"]
FAILURE = ["failed", "error", "video_generation_failed"]


@pytest.mark.parametrize("word", IN_PROGRESS)
def test_in_progress_words(word: str) -> None:
    view = parse_query({"id": TID, "status": word, "video_url": None, "status_update_time": 1759763621}, TID)
    assert view.state in (TaskState.QUEUED, TaskState.RUNNING)
    assert view.state is (TaskState.QUEUED if word in ("pending", "queued") else TaskState.RUNNING)
    assert view.provider_status == word and view.video_urls == ()


@pytest.mark.parametrize("word", SUCCESS)
def test_success_words(word: str) -> None:
    view = parse_query({"id": TID, "status": word.upper(), "video_url": "https://v/a.mp4"}, TID)
    assert view.state is TaskState.SUCCEEDED and view.video_urls == ("https://v/a.mp4",)


@pytest.mark.parametrize("word", SUCCESS)
def test_success_without_url_is_never_silent(word: str) -> None:
    with pytest.raises(errors.MalformedResponseError):
        parse_query({"id": TID, "status": word, "video_url": None}, TID)


@pytest.mark.parametrize("word", FAILURE)
def test_failure_words(word: str) -> None:
    body = {
        "id": TID,
        "status": word,
        "video_url": None,
        "detail": {"video_generation_error": "rejected by google", "error_message": "older"},
    }
    view = parse_query(body, TID)
    assert view.state is TaskState.FAILED and view.error_message == "rejected by google"
    assert parse_query({"id": TID, "status": word}, TID).error_message


def test_upsampling_failed_with_base_video_is_success_with_warning() -> None:
    body = {
        "id": TID,
        "status": "video_upsampling_failed",
        "video_url": None,
        "detail": {"video_url": BASE_VIDEO, "upsample_video_url": "", "error_message": "upsample timeout"},
    }
    view = parse_query(body, TID)
    assert view.state is TaskState.SUCCEEDED and view.video_urls == (BASE_VIDEO,)
    assert view.warning and "Upscaling failed" in view.warning and "upsample timeout" in view.warning


def test_upsampling_failed_without_video_is_failure() -> None:
    view = parse_query({"id": TID, "status": "video_upsampling_failed", "video_url": None}, TID)
    assert view.state is TaskState.FAILED and view.error_message


def test_unknown_word_is_unknown_with_raw_text() -> None:
    view = parse_query({"id": TID, "status": "Teleporting", "video_url": "https://v/a.mp4"}, TID)
    assert view.state is TaskState.UNKNOWN and view.provider_status == "Teleporting"
    assert view.video_urls == ()  # never a silent success


def test_status_from_detail_when_top_level_missing() -> None:
    view = parse_query({"id": TID, "detail": {"status": "video_generating"}}, TID)
    assert view.state is TaskState.RUNNING


@pytest.mark.parametrize("seconds_or_ms", [1770350329, 1770350329000])
def test_status_update_time_seconds_or_ms(seconds_or_ms: int) -> None:
    view = parse_query({"id": TID, "status": "failed", "status_update_time": seconds_or_ms}, TID)
    assert view.completed_at == datetime.fromtimestamp(1770350329, tz=UTC)


def test_created_at_from_id_seconds() -> None:
    view = parse_query({"id": TID, "status": "pending"}, TID)
    assert view.created_at == datetime.fromtimestamp(1770350082, tz=UTC)


@pytest.mark.parametrize("body", [None, [], {"id": TID}, {"id": TID, "status": ""}, {"status": 5}])
def test_malformed(body: Any) -> None:
    with pytest.raises(errors.MalformedResponseError):
        parse_query(body, TID)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            401,
            {"error": {"message": "Invalid token (request id: x)", "type": "new_api_error"}},
            errors.AuthError,
        ),
        (402, {"error": {"message": "quota exhausted"}}, errors.InsufficientCreditsError),
        (404, {"error": "task not found"}, errors.NotFoundError),
        (400, {"code": 400, "msg": "bad model"}, errors.BadRequestError),
        (429, {"error": {"message": "slow down"}}, errors.RateLimitError),
        (500, {"error": {"message": "upstream"}}, errors.ServerError),
    ],
)
def test_unified_error_answers_map_by_http_status(scripted: Any, status: int, body: dict, cls: type) -> None:
    scripted.add(*[scripted.json(body, status=status) for _ in range(2)])
    with pytest.raises(cls) as info:
        run(scripted, "query", TID)
    assert info.value.http_status == status
    assert info.value.provider_message


def test_unified_create_5xx_is_ambiguous(scripted: Any) -> None:
    scripted.add(scripted.json({"error": {"message": "upstream"}}, status=503), httpx.Response(200))
    with pytest.raises(errors.AmbiguousSubmitError):
        run(scripted, "create", UnifiedCreateRequest("veo3", "p"))
    assert len(scripted.requests) == 1
