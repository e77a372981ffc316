"""Runway and Aleph clients: bodies, client-side refusals, record-detail states, Aleph record-info."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from kievideo.api import errors
from kievideo.api.http import HttpConfig
from kievideo.api.models import ProviderKind, TaskState
from kievideo.api.runway import (
    AlephClient,
    AlephGenerateRequest,
    RunwayClient,
    RunwayExtendRequest,
    RunwayGenerateRequest,
    parse_aleph_record,
    parse_record_detail,
)

TASK = "ee603959-debb-48d1-98c4-a6d1c717eba6"


def run(scripted: Any, cls: type, method: str, *args: Any) -> Any:
    async def main() -> Any:
        async with scripted.transport(config=HttpConfig(max_retries=1)) as t:
            return await getattr(cls(t), method)(*args)

    return asyncio.run(main())


def ok(data: Any) -> dict[str, Any]:
    return {"code": 200, "msg": "success", "data": data}


# -- generate / extend ------------------------------------------------------------------------


def test_generate_text_only_body(scripted: Any) -> None:
    scripted.add(scripted.json(ok({"taskId": TASK})))
    req = RunwayGenerateRequest("a fluffy cat dancing", duration=10, quality="720p", aspect_ratio="9:16")
    assert run(scripted, RunwayClient, "generate", req) == TASK
    assert scripted.requests[0].url.path == "/api/v1/runway/generate"
    assert scripted.body() == {
        "prompt": "a fluffy cat dancing",
        "duration": 10,
        "quality": "720p",
        "waterMark": "",
        "aspectRatio": "9:16",
    }


def test_generate_with_image_needs_no_aspect_ratio(scripted: Any) -> None:
    scripted.add(scripted.json(ok({"taskId": TASK})))
    req = RunwayGenerateRequest(
        "animate", quality="1080p", image_url="https://f/i.png", watermark="kv", callback_url="https://cb/r"
    )
    run(scripted, RunwayClient, "generate", req)
    body = scripted.body()
    assert body == {
        "prompt": "animate",
        "duration": 5,
        "quality": "1080p",
        "waterMark": "kv",
        "imageUrl": "https://f/i.png",
        "callBackUrl": "https://cb/r",
    }
    assert "watermark" not in body  # capital M only


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (RunwayGenerateRequest("x", duration=10, quality="1080p", aspect_ratio="16:9"), "quality"),
        (RunwayGenerateRequest("x", duration=10, quality="1080p", image_url="https://f/i.png"), "quality"),
        (RunwayGenerateRequest("x"), "aspect_ratio"),
        (RunwayGenerateRequest("x", aspect_ratio="21:9"), "aspect_ratio"),
        (RunwayGenerateRequest("x", duration=8, aspect_ratio="16:9"), "duration"),
        (RunwayGenerateRequest("x", quality="4k", aspect_ratio="16:9"), "quality"),
        (RunwayGenerateRequest("", aspect_ratio="16:9"), "prompt"),
        (RunwayGenerateRequest("x" * 1801, aspect_ratio="16:9"), "prompt"),
    ],
)
def test_generate_refused_client_side_nothing_sent(
    scripted: Any, req: RunwayGenerateRequest, field: str
) -> None:
    with pytest.raises(ValueError) as info:
        run(scripted, RunwayClient, "generate", req)
    assert isinstance(info.value, errors.InvalidRequestError) and info.value.field == field
    assert scripted.requests == []


def test_ten_seconds_1080p_message_is_actionable() -> None:
    with pytest.raises(errors.InvalidRequestError, match=r"10-second.*1080p"):
        RunwayGenerateRequest("x", duration=10, quality="1080p", aspect_ratio="16:9").validate()


def test_extend_body(scripted: Any) -> None:
    scripted.add(scripted.json(ok({"taskId": "ext-1"})))
    assert (
        run(scripted, RunwayClient, "extend", RunwayExtendRequest(TASK, "then it jumps", "1080p", "w"))
        == "ext-1"
    )
    assert scripted.requests[0].url.path == "/api/v1/runway/extend"
    assert scripted.body() == {
        "taskId": TASK,
        "prompt": "then it jumps",
        "quality": "1080p",
        "waterMark": "w",
    }


def test_extend_invalid(scripted: Any) -> None:
    with pytest.raises(errors.InvalidRequestError):
        run(scripted, RunwayClient, "extend", RunwayExtendRequest(TASK, "p", quality="480p"))
    assert scripted.requests == []


def test_runway_422_parameters(scripted: Any) -> None:
    scripted.add(
        scripted.json(
            {"code": 422, "msg": "The request parameters are incorrect, please check the parameters."}
        )
    )
    with pytest.raises(errors.ValidationError) as info:
        run(scripted, RunwayClient, "generate", RunwayGenerateRequest("x", aspect_ratio="1:1"))
    assert info.value.kind is errors.ValidationKind.BAD_PARAMETERS


# -- record-detail ----------------------------------------------------------------------------


def test_seed_record_detail_wait(seed: Any, scripted: Any) -> None:
    # The seed example is state "wait" yet carries videoInfo and failCode 400: state decides.
    scripted.add(scripted.json(seed("002_runway_record_detail_wait.json")))
    view = run(scripted, RunwayClient, "record_detail", TASK)
    assert scripted.requests[0].url.path == "/api/v1/runway/record-detail"
    assert scripted.requests[0].url.params["taskId"] == TASK
    assert view.provider is ProviderKind.RUNWAY and view.task_id == TASK
    assert view.state is TaskState.QUEUED
    assert view.video_urls == () and view.error_code is None and view.error_message is None
    assert view.parent_task_id is None
    assert view.created_at == datetime(2023, 8, 15, 14, 30, 45, tzinfo=UTC)


BASE = {
    "taskId": TASK,
    "parentTaskId": "",
    "generateParam": {"prompt": "p", "imageUrl": "", "expandPrompt": True},
    "generateTime": "2023-08-15 14:30:45",
    "failCode": None,
    "failMsg": "",
    "expireFlag": 0,
}
VIDEO = {
    "videoId": "485da89c",
    "taskId": TASK,
    "videoUrl": "https://file.com/k/xxxxxxx.mp4",
    "imageUrl": "https://file.com/m/xxxxxxxx.png",
}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("wait", TaskState.QUEUED),
        ("queueing", TaskState.QUEUED),
        ("generating", TaskState.RUNNING),
        ("GENERATING", TaskState.RUNNING),
        ("paused", TaskState.UNKNOWN),
    ],
)
def test_non_final_states(state: str, expected: TaskState) -> None:
    view = parse_record_detail({**BASE, "state": state}, TASK)
    assert view.state is expected and view.provider_status == state and view.video_urls == ()


def test_success() -> None:
    view = parse_record_detail({**BASE, "state": "success", "videoInfo": VIDEO}, TASK)
    assert view.state is TaskState.SUCCEEDED
    assert view.video_urls == ("https://file.com/k/xxxxxxx.mp4",)
    assert view.image_urls == ("https://file.com/m/xxxxxxxx.png",)


def test_success_without_video_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError):
        parse_record_detail({**BASE, "state": "success", "videoInfo": None}, TASK)


@pytest.mark.parametrize(("fail_code", "code"), [(400, 400), ("400", 400), ("", None), (None, None)])
def test_fail(fail_code: Any, code: int | None) -> None:
    msg = "Your prompt was caught by our AI moderator."
    view = parse_record_detail({**BASE, "state": "fail", "failCode": fail_code, "failMsg": msg}, TASK)
    assert view.state is TaskState.FAILED and view.error_code == code and view.error_message == msg


def test_expire_flag() -> None:
    view = parse_record_detail({**BASE, "state": "success", "videoInfo": VIDEO, "expireFlag": 1}, TASK)
    assert view.state is TaskState.EXPIRED and view.provider_status == "success, expired"
    gone = parse_record_detail({**BASE, "state": "success", "videoInfo": {}, "expireFlag": "1"}, TASK)
    assert gone.state is TaskState.EXPIRED
    failed = parse_record_detail({**BASE, "state": "fail", "failMsg": "x", "expireFlag": 1}, TASK)
    assert failed.state is TaskState.FAILED  # the reason is worth more than "expired"


def test_extension_parent_task_id() -> None:
    view = parse_record_detail(
        {**BASE, "taskId": "child", "parentTaskId": TASK, "state": "generating"}, "child"
    )
    assert view.parent_task_id == TASK


def test_old_id_parent_id_shape() -> None:
    old = {
        "id": 12345,
        "parentId": 0,
        "generateParam": {"prompt": "p", "parentId": 0},
        "state": "success",
        "videoInfo": VIDEO,
        "failCode": "",
        "failMsg": "",
        "expireFlag": 0,
    }
    view = parse_record_detail(old, "asked")
    assert view.task_id == "12345" and view.parent_task_id is None and view.state is TaskState.SUCCEEDED
    child = {**old, "id": 12346, "parentId": 12345}
    assert parse_record_detail(child, "asked").parent_task_id == "12345"
    via_param = {**old, "parentId": None, "generateParam": {"parentId": 777}}
    assert parse_record_detail(via_param, "asked").parent_task_id == "777"


@pytest.mark.parametrize("data", [None, {}, {"state": None}, {"state": 3}, "success"])
def test_record_detail_malformed(data: Any) -> None:
    with pytest.raises(errors.MalformedResponseError):
        parse_record_detail(data, TASK)


# -- Aleph ------------------------------------------------------------------------------------


def test_aleph_generate_body(scripted: Any) -> None:
    scripted.add(scripted.json(ok({"taskId": TASK})))
    req = AlephGenerateRequest(
        "make it winter",
        "https://f/in.mp4",
        aspect_ratio="21:9",
        seed=42,
        reference_image="https://f/ref.png",
        watermark="w",
    )
    assert run(scripted, AlephClient, "generate", req) == TASK
    assert scripted.requests[0].url.path == "/api/v1/aleph/generate"
    body = scripted.body()
    assert body == {
        "prompt": "make it winter",
        "videoUrl": "https://f/in.mp4",
        "waterMark": "w",
        "aspectRatio": "21:9",
        "seed": 42,
        "referenceImage": "https://f/ref.png",
    }
    assert "seeds" not in body


@pytest.mark.parametrize(
    "req",
    [
        AlephGenerateRequest("", "https://v"),
        AlephGenerateRequest("p", ""),
        AlephGenerateRequest("p", "https://v", aspect_ratio="2:1"),
    ],
)
def test_aleph_invalid(scripted: Any, req: AlephGenerateRequest) -> None:
    with pytest.raises(errors.InvalidRequestError):
        run(scripted, AlephClient, "generate", req)
    assert scripted.requests == []


ALEPH_OK = {
    "taskId": TASK,
    "paramJson": "{}",
    "response": {"taskId": TASK, "resultVideoUrl": "https://f/out.mp4", "resultImageUrl": "https://f/o.jpg"},
    "completeTime": "2023-08-15T14:30:45Z",
    "createTime": "2023-08-15T14:28:00Z",
    "successFlag": 1,
    "errorCode": 0,
    "errorMessage": "",
}


def test_aleph_record_success(scripted: Any) -> None:
    scripted.add(scripted.json(ok(ALEPH_OK)))
    view = run(scripted, AlephClient, "record_info", TASK)
    assert scripted.requests[0].url.path == "/api/v1/aleph/record-info"
    assert view.provider is ProviderKind.ALEPH and view.state is TaskState.SUCCEEDED
    assert view.video_urls == ("https://f/out.mp4",) and view.image_urls == ("https://f/o.jpg",)
    assert view.completed_at == datetime(2023, 8, 15, 14, 30, 45, tzinfo=UTC)
    assert view.error_code is None


@pytest.mark.parametrize(
    ("code", "message", "state"),
    [
        (0, "", TaskState.RUNNING),
        (None, None, TaskState.RUNNING),
        (500, "", TaskState.FAILED),
        (0, "Inappropriate content detected.", TaskState.FAILED),
        ("400", None, TaskState.FAILED),
    ],
)
def test_aleph_flag_zero_is_ambiguous_until_errors(code: Any, message: Any, state: TaskState) -> None:
    view = parse_aleph_record(
        {"taskId": TASK, "successFlag": 0, "response": None, "errorCode": code, "errorMessage": message}, TASK
    )
    assert view.state is state
    if state is TaskState.FAILED:
        assert view.error_message


def test_aleph_unknown_flag() -> None:
    assert parse_aleph_record({"successFlag": 7}, TASK).state is TaskState.UNKNOWN
    assert parse_aleph_record({"successFlag": 2, "errorCode": 501}, TASK).state is TaskState.FAILED


def test_aleph_success_without_url_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError):
        parse_aleph_record({**ALEPH_OK, "response": {}}, TASK)
