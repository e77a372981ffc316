"""Veo 3.1 client: request bodies and validation, record-info (successFlag 0-3), 1080p, 4K, extend."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from kievideo.api import errors
from kievideo.api.errors import ValidationKind
from kievideo.api.http import HttpConfig
from kievideo.api.models import ProviderKind, TaskState, UpgradeResult
from kievideo.api.veo import (
    FIRST_AND_LAST_FRAMES_2_VIDEO,
    REFERENCE_2_VIDEO,
    TEXT_2_VIDEO,
    VeoClient,
    VeoExtendRequest,
    VeoGenerateRequest,
    parse_record_info,
)

IMG = ("https://tempfile.redpandaai.co/a.png", "https://tempfile.redpandaai.co/b.png", "https://x/c.png")


def run_veo(scripted: Any, method: str, *args: Any, **kw: Any) -> Any:
    async def main() -> Any:
        async with scripted.transport(config=HttpConfig(max_retries=1)) as t:
            return await getattr(VeoClient(t), method)(*args, **kw)

    return asyncio.run(main())


def ok(data: Any) -> dict[str, Any]:
    return {"code": 200, "msg": "success", "data": data}


# -- generate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("req", "expected"),
    [
        (
            VeoGenerateRequest("a cat", model="veo3"),
            {
                "prompt": "a cat",
                "model": "veo3",
                "aspect_ratio": "16:9",
                "aspectRatio": "16:9",
                "enableTranslation": True,
            },
        ),
        (
            VeoGenerateRequest("wave", model="veo3_lite", image_urls=IMG[:1], aspect_ratio="9:16"),
            {
                "prompt": "wave",
                "model": "veo3_lite",
                "imageUrls": [IMG[0]],
                "aspect_ratio": "9:16",
                "aspectRatio": "9:16",
                "enableTranslation": True,
            },
        ),
        (
            VeoGenerateRequest(
                "morph",
                image_urls=IMG[:2],
                generation_type=FIRST_AND_LAST_FRAMES_2_VIDEO,
                aspect_ratio="Auto",
                seeds=12345,
                watermark="MyBrand",
                enable_translation=False,
                resolution="1080p",
                callback_url="https://cb.example/x",
            ),
            {
                "prompt": "morph",
                "model": "veo3_fast",
                "imageUrls": list(IMG[:2]),
                "generationType": "FIRST_AND_LAST_FRAMES_2_VIDEO",
                "aspect_ratio": "Auto",
                "aspectRatio": "Auto",
                "seeds": 12345,
                "watermark": "MyBrand",
                "enableTranslation": False,
                "resolution": "1080p",
                "callBackUrl": "https://cb.example/x",
            },
        ),
        (
            VeoGenerateRequest("refs", image_urls=IMG, generation_type=REFERENCE_2_VIDEO, resolution="4k"),
            {
                "prompt": "refs",
                "model": "veo3_fast",
                "imageUrls": list(IMG),
                "generationType": "REFERENCE_2_VIDEO",
                "aspect_ratio": "16:9",
                "aspectRatio": "16:9",
                "enableTranslation": True,
                "resolution": "4k",
            },
        ),
        (
            VeoGenerateRequest("t2v", generation_type=TEXT_2_VIDEO, aspect_ratio=None),
            {
                "prompt": "t2v",
                "model": "veo3_fast",
                "generationType": "TEXT_2_VIDEO",
                "enableTranslation": True,
            },
        ),
    ],
    ids=["text-veo3", "one-image-lite", "first-last", "reference-3", "no-aspect"],
)
def test_generate_sends_exact_body_and_returns_task_id(
    scripted: Any, req: VeoGenerateRequest, expected: dict
) -> None:
    scripted.add(scripted.json(ok({"taskId": "veo_task_abcdef123456"})))
    assert run_veo(scripted, "generate", req) == "veo_task_abcdef123456"
    sent = scripted.requests[0]
    assert sent.method == "POST" and sent.url.path == "/api/v1/veo/generate"
    assert sent.headers["content-type"] == "application/json"
    assert scripted.body() == expected


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (VeoGenerateRequest("  "), "prompt"),
        (VeoGenerateRequest("x", model="veo2"), "model"),
        (VeoGenerateRequest("x", aspect_ratio="4:3"), "aspect_ratio"),
        (VeoGenerateRequest("x", resolution="8k"), "resolution"),
        (VeoGenerateRequest("x", seeds=9999), "seeds"),
        (VeoGenerateRequest("x", seeds=100000), "seeds"),
        (VeoGenerateRequest("x", generation_type="IMAGE_2_VIDEO"), "generation_type"),
        (VeoGenerateRequest("x", image_urls=IMG[:1], generation_type=TEXT_2_VIDEO), "image_urls"),
        (
            VeoGenerateRequest("x", image_urls=IMG, generation_type=FIRST_AND_LAST_FRAMES_2_VIDEO),
            "image_urls",
        ),
        (VeoGenerateRequest("x", generation_type=FIRST_AND_LAST_FRAMES_2_VIDEO), "image_urls"),
        (VeoGenerateRequest("x", generation_type=REFERENCE_2_VIDEO), "image_urls"),
        (
            VeoGenerateRequest("x", image_urls=(*IMG, "https://d"), generation_type=REFERENCE_2_VIDEO),
            "image_urls",
        ),
        (
            VeoGenerateRequest("x", model="veo3", image_urls=IMG[:1], generation_type=REFERENCE_2_VIDEO),
            "model",
        ),
        (
            VeoGenerateRequest("x", model="veo3_lite", image_urls=IMG[:1], generation_type=REFERENCE_2_VIDEO),
            "model",
        ),
        (VeoGenerateRequest("x", image_urls=IMG), "generation_type"),
        (VeoGenerateRequest("x", image_urls=("",)), "image_urls"),
    ],
)
def test_invalid_generate_is_refused_before_sending(
    scripted: Any, req: VeoGenerateRequest, field: str
) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        run_veo(scripted, "generate", req)
    assert info.value.field == field
    assert isinstance(info.value, ValueError) and isinstance(info.value, errors.BadRequestError)
    assert scripted.requests == []


def test_generate_bodies_cover_the_seed_quickstart_examples(seed: Any) -> None:
    # 003 (Veo quickstart) shows camelCase aspectRatio bodies; ours carry the same keys and values
    text = seed("003_veo_generate_text_body.transcribed.json")
    body = VeoGenerateRequest(
        text["prompt"],
        model=text["model"],
        aspect_ratio=text["aspectRatio"],
        callback_url=text["callBackUrl"],
    ).to_body()
    assert {k: body[k] for k in text} == text
    image = seed("003_veo_generate_image_body.transcribed.json")
    body = VeoGenerateRequest(
        image["prompt"], model=image["model"], image_urls=tuple(image["imageUrls"]), aspect_ratio="16:9"
    ).to_body()
    assert {k: body[k] for k in image} == image


def test_generate_is_not_resent_after_a_server_error(scripted: Any) -> None:
    scripted.add(scripted.json({"code": 500, "msg": "Internal Error, Please try again later."}))
    with pytest.raises(errors.AmbiguousSubmitError):
        run_veo(scripted, "generate", VeoGenerateRequest("x"))
    assert len(scripted.requests) == 1


def test_generate_flow_rejection_is_validation_error(scripted: Any) -> None:
    msg = (
        "Your request was rejected by Flow(Your prompt was flagged by Website as violating content "
        "policies). "
        "You may consider using our other fallback channels, which are likely to succeed."
    )
    scripted.add(scripted.json({"code": 422, "msg": msg, "data": None}))
    with pytest.raises(errors.ValidationError) as info:
        run_veo(scripted, "generate", VeoGenerateRequest("x"))
    assert info.value.kind is ValidationKind.FLOW_REJECTED


def test_generate_content_policy_400(scripted: Any) -> None:
    scripted.add(
        scripted.json(
            {"code": 400, "msg": "Your prompt was flagged by Website as violating content policies."}
        )
    )
    with pytest.raises(errors.ContentRejectedError):
        run_veo(scripted, "generate", VeoGenerateRequest("x"))


# -- record-info ------------------------------------------------------------------------------


def test_seed_record_info_success(seed: Any, scripted: Any) -> None:
    scripted.add(scripted.json(seed("000_veo_record_info_success.json")))
    view = run_veo(scripted, "record_info", "veo_task_abcdef123456")
    assert scripted.requests[0].url.params["taskId"] == "veo_task_abcdef123456"
    assert view.provider is ProviderKind.VEO
    assert view.state is TaskState.SUCCEEDED
    assert view.video_urls == ("http://example.com/video1.mp4",)
    assert view.resolution == "1080p"
    assert view.provider_status == "successFlag=1"
    assert view.created_at == datetime(2025, 6, 6, 10, 25, tzinfo=UTC)
    assert view.completed_at == datetime(2025, 6, 6, 10, 30, tzinfo=UTC)
    assert view.error_code is None


REFERENCE_RECORD = json.loads("""{
  "code": 200, "msg": "success",
  "data": {
    "taskId": "veo_task_abcdef123456",
    "paramJson":
      "{\\"prompt\\":\\"A futuristic city with flying cars at sunset.\\",\\"waterMark\\":\\"KieAI\\"}",
    "completeTime": "2025-06-06 10:30:00",
    "response": {
      "taskId": "veo_task_abcdef123456",
      "resultUrls": ["http://example.com/video1.mp4"],
      "originUrls": ["http://example.com/original_video1.mp4"],
      "fullResultUrls": ["http://example.com/full_result.mp4"],
      "resolution": "1080p"
    },
    "successFlag": 1, "errorCode": null, "errorMessage": "",
    "createTime": "2025-06-06 10:25:00", "fallbackFlag": false
  }
}""")


def test_full_result_urls_preferred_for_extend_tasks() -> None:
    data = REFERENCE_RECORD["data"]
    assert parse_record_info(data, "x").video_urls == ("http://example.com/video1.mp4",)
    assert parse_record_info(data, "x", is_extend=True).video_urls == ("http://example.com/full_result.mp4",)
    only_full = {**data, "response": {"fullResultUrls": ["http://e/full.mp4"], "resultUrls": None}}
    assert parse_record_info(only_full, "x").video_urls == ("http://e/full.mp4",)


def test_record_info_extend_flag_goes_through_client(scripted: Any) -> None:
    scripted.add(scripted.json(REFERENCE_RECORD))
    view = run_veo(scripted, "record_info", "veo_extend_task_xyz789", is_extend=True)
    assert view.video_urls == ("http://example.com/full_result.mp4",)


@pytest.mark.parametrize(
    ("record", "state", "code", "message"),
    [
        (
            {"taskId": "t", "successFlag": 0, "response": None, "errorCode": None, "errorMessage": None},
            TaskState.RUNNING,
            None,
            None,
        ),
        (
            {
                "taskId": "t",
                "successFlag": 2,
                "response": None,
                "errorCode": 400,
                "errorMessage": "Only English prompts are supported at this time.",
            },
            TaskState.FAILED,
            400,
            "Only English prompts are supported at this time.",
        ),
        (
            {"taskId": "t", "successFlag": 3, "response": None, "errorCode": 501, "errorMessage": ""},
            TaskState.FAILED,
            501,
            "Generation failed upstream.",
        ),
        (
            {
                "taskId": "t",
                "successFlag": "3",
                "errorCode": "500",
                "errorMessage": "Internal Error - Timeout",
            },
            TaskState.FAILED,
            500,
            "Internal Error - Timeout",
        ),
        ({"taskId": "t", "successFlag": 2}, TaskState.FAILED, None, "Task failed before completion."),
        (
            {"taskId": "t", "successFlag": 4, "response": {"resultUrls": ["http://x/a.mp4"]}},
            TaskState.UNKNOWN,
            None,
            None,
        ),
    ],
)
def test_success_flags(record: dict, state: TaskState, code: int | None, message: str | None) -> None:
    view = parse_record_info(record, "t")
    assert view.state is state
    assert view.error_code == code and view.error_message == message
    assert view.provider_status == f"successFlag={int(record['successFlag'])}"
    if state is not TaskState.SUCCEEDED:
        assert view.video_urls == ()


def test_record_info_string_url_forms() -> None:
    bogus = {"successFlag": 1, "response": {"resultUrls": "[http://example.com/video1.mp4]"}}
    assert parse_record_info(bogus, "t").video_urls == ("http://example.com/video1.mp4",)
    plain = {
        "successFlag": 1,
        "response": {"resultUrls": "http://example.com/v.mp4"},
        "completeTime": 1755078480000,
    }
    view = parse_record_info(plain, "t")
    assert view.video_urls == ("http://example.com/v.mp4",)
    assert view.task_id == "t"
    assert view.completed_at == datetime.fromtimestamp(1755078480, tz=UTC)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "x",
        {"taskId": "t"},
        {"successFlag": "yes"},
        {"successFlag": True},
        {"successFlag": 1, "response": None},
        {"successFlag": 1, "response": {"resultUrls": []}},
    ],
)
def test_record_info_malformed(data: Any) -> None:
    with pytest.raises(errors.MalformedResponseError) as info:
        parse_record_info(data, "t")
    assert info.value.retryable


def test_record_info_malformed_is_retried_then_raised(scripted: Any) -> None:
    scripted.add(scripted.json(ok(None)), scripted.json(ok({"successFlag": 0})))
    view = run_veo(scripted, "record_info", "t")
    assert view.state is TaskState.RUNNING and len(scripted.requests) == 2
    scripted.add(scripted.json(ok(None)), scripted.json(ok(None)))
    with pytest.raises(errors.MalformedResponseError):
        run_veo(scripted, "record_info", "t")


@pytest.mark.parametrize(
    ("msg", "kind", "cls"),
    [
        ("record is null.", ValidationKind.RECORD_NULL, errors.ValidationError),
        (
            "Temporarily supports records within 14 days.",
            ValidationKind.RECORD_EXPIRED,
            errors.RecordExpiredError,
        ),
        ("record result data is blank.", ValidationKind.RESULT_MISSING, errors.ValidationError),
        ("record status is not success.", ValidationKind.NOT_SUCCESS_YET, errors.ValidationError),
        ("record result data not exist.", ValidationKind.RESULT_MISSING, errors.ValidationError),
        ("record result data is empty.", ValidationKind.RESULT_MISSING, errors.ValidationError),
        (
            "The request parameters are incorrect, please check the parameters.",
            ValidationKind.BAD_PARAMETERS,
            errors.ValidationError,
        ),
        ("something new", ValidationKind.OTHER, errors.ValidationError),
    ],
)
def test_record_info_422_texts(scripted: Any, msg: str, kind: ValidationKind, cls: type) -> None:
    scripted.add(scripted.json({"code": 422, "msg": msg, "data": None}))
    with pytest.raises(cls) as info:
        run_veo(scripted, "record_info", "t")
    assert info.value.kind is kind
    assert len(scripted.requests) == 1


# -- 1080p ------------------------------------------------------------------------------------


def test_1080p_ready(scripted: Any) -> None:
    url = "https://tempfile.aiquickdraw.com/p/42f4f8facbb040c0ade87c27cb2d5e58_1749711595.mp4"
    scripted.add(scripted.json(ok({"resultUrl": url})))
    res = run_veo(scripted, "get_1080p", "veo_task_abcdef123456", index=1)
    assert res == UpgradeResult(
        ready=True, video_urls=(url,), task_id="veo_task_abcdef123456", message="success"
    )
    req = scripted.requests[0]
    assert req.method == "GET" and req.url.path == "/api/v1/veo/get-1080p-video"
    assert dict(req.url.params) == {"taskId": "veo_task_abcdef123456", "index": "1"}


def test_1080p_processing_400_is_not_ready_not_failure(scripted: Any) -> None:
    msg = "1080P is processing. It should be ready in 1-2 minutes. Please check back shortly."
    scripted.add(scripted.json({"code": 400, "msg": msg, "data": None}))
    res = run_veo(scripted, "get_1080p", "t")
    assert res.ready is False and res.message == msg and res.base_not_ready is False
    assert len(scripted.requests) == 1


def test_1080p_base_not_success_is_not_ready_and_distinguishable(scripted: Any) -> None:
    scripted.add(scripted.json({"code": 422, "msg": "record status is not success.", "data": None}))
    res = run_veo(scripted, "get_1080p", "t")
    assert res.ready is False and res.base_not_ready is True
    assert res.message == "record status is not success."


def test_1080p_200_without_url_is_not_ready(scripted: Any) -> None:
    scripted.add(scripted.json(ok({"resultUrl": None})))
    assert run_veo(scripted, "get_1080p", "t").ready is False


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"code": 422, "msg": "record is null."}, errors.ValidationError),
        ({"code": 422, "msg": "Temporarily supports records within 14 days."}, errors.RecordExpiredError),
        (
            {"code": 400, "msg": "Failed to fetch the image. Kindly verify any access limits"},
            errors.ImageFetchError,
        ),
        ({"code": 400, "msg": "bad"}, errors.BadRequestError),
        ({"code": 401, "msg": "You do not have access permissions"}, errors.AuthError),
    ],
)
def test_1080p_real_errors_still_raise(scripted: Any, body: dict, cls: type) -> None:
    scripted.add(scripted.json(body))
    with pytest.raises(cls):
        run_veo(scripted, "get_1080p", "t")


def test_1080p_is_a_retried_read(scripted: Any) -> None:
    scripted.add(
        scripted.json({"code": 500, "msg": "Timeout"}), scripted.json(ok({"resultUrl": "https://f/a.mp4"}))
    )
    assert run_veo(scripted, "get_1080p", "t").ready is True
    assert len(scripted.requests) == 2


# -- 4K ---------------------------------------------------------------------------------------

FOURK_FIRST = {
    "code": 200,
    "msg": "success",
    "data": {"taskId": "veo_task_abcdef123456", "resultUrls": None, "imageUrls": None},
}
FOURK_PROCESSING = {
    "code": 422,
    "msg": "4k is processing. It should be ready in 5-10 minutes. Please check back shortly.",
    "data": {"taskId": "veo_task_example123", "resultUrls": None, "imageUrls": None},
}
FOURK_DONE = {
    "code": 422,
    "msg": "The video has been generated successfully",
    "data": {
        "taskId": "veo_task_example123",
        "resultUrls": ["https://tempfile.aiquickdraw.com/v/example_task_1234567890.mp4"],
        "imageUrls": ["https://tempfile.aiquickdraw.com/v/example_task_1234567890.jpg"],
    },
}


def test_4k_first_call_is_not_ready(scripted: Any) -> None:
    scripted.add(scripted.json(FOURK_FIRST))
    res = run_veo(scripted, "request_4k", "veo_task_abcdef123456", index=0, callback_url="https://cb/x")
    assert res.ready is False and res.task_id == "veo_task_abcdef123456"
    req = scripted.requests[0]
    assert req.method == "POST" and req.url.path == "/api/v1/veo/get-4k-video"
    assert scripted.body() == {"taskId": "veo_task_abcdef123456", "index": 0, "callBackUrl": "https://cb/x"}


def test_4k_repeat_processing_is_not_ready(scripted: Any) -> None:
    scripted.add(scripted.json(FOURK_PROCESSING))
    res = run_veo(scripted, "request_4k", "veo_task_example123")
    assert res.ready is False and res.message.startswith("4k is processing")


def test_4k_repeat_done_422_carries_the_result(scripted: Any) -> None:
    scripted.add(scripted.json(FOURK_DONE))
    res = run_veo(scripted, "request_4k", "veo_task_example123")
    assert res.ready is True
    assert res.video_urls == ("https://tempfile.aiquickdraw.com/v/example_task_1234567890.mp4",)
    assert res.image_urls == ("https://tempfile.aiquickdraw.com/v/example_task_1234567890.jpg",)


def test_4k_other_422_is_an_error(scripted: Any) -> None:
    scripted.add(scripted.json({"code": 422, "msg": "record status is not success."}))
    with pytest.raises(errors.ValidationError) as info:
        run_veo(scripted, "request_4k", "t")
    assert info.value.kind is ValidationKind.NOT_SUCCESS_YET


def test_4k_is_paid_so_never_resent_on_a_timeout(scripted: Any) -> None:
    import httpx

    scripted.add(httpx.ReadTimeout("slow"), scripted.json(FOURK_FIRST))
    with pytest.raises(errors.AmbiguousSubmitError):
        run_veo(scripted, "request_4k", "t")
    assert len(scripted.requests) == 1


# -- extend -----------------------------------------------------------------------------------


def test_extend_body_and_task_id(scripted: Any) -> None:
    scripted.add(scripted.json(ok({"taskId": "veo_extend_task_xyz789"})))
    req = VeoExtendRequest(
        "veo_task_abcdef123456",
        "The dog continues running",
        model="quality",
        seeds=12345,
        watermark="MyBrand",
        callback_url="https://cb/e",
    )
    assert run_veo(scripted, "extend", req) == "veo_extend_task_xyz789"
    assert scripted.requests[0].url.path == "/api/v1/veo/extend"
    assert scripted.body() == {
        "taskId": "veo_task_abcdef123456",
        "prompt": "The dog continues running",
        "model": "quality",
        "seeds": 12345,
        "watermark": "MyBrand",
        "callBackUrl": "https://cb/e",
    }


@pytest.mark.parametrize(
    "req",
    [
        VeoExtendRequest("", "p"),
        VeoExtendRequest("t", ""),
        VeoExtendRequest("t", "p", model="veo3"),
        VeoExtendRequest("t", "p", seeds=5),
    ],
)
def test_invalid_extend_refused(scripted: Any, req: VeoExtendRequest) -> None:
    with pytest.raises(errors.InvalidRequestError):
        run_veo(scripted, "extend", req)
    assert scripted.requests == []


def test_extend_501(scripted: Any) -> None:
    scripted.add(scripted.json({"code": 501, "msg": "Extension failed"}))
    with pytest.raises(errors.GenerationFailedError):
        run_veo(scripted, "extend", VeoExtendRequest("t", "p"))
