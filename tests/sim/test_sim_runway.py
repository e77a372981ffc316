"""Runway and Runway Aleph endpoints of the simulator."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from kievideo.sim import SimServer

from .conftest import advance_to, finish, probe, upload_png, veo_create, veo_info

pytestmark = pytest.mark.sim(speed=0, credits=10_000)

BAD = "The request parameters are incorrect, please check the parameters."
FETCH = "Failed to fetch the image. Kindly verify any access limits set by you or your service provider."


def runway_create(api: httpx.Client, **body: object) -> str:
    body.setdefault("prompt", "A fluffy orange cat dancing")
    body.setdefault("duration", 5)
    body.setdefault("quality", "720p")
    body.setdefault("aspectRatio", "16:9")
    r = api.post("/api/v1/runway/generate", json=body).json()
    assert r["code"] == 200, r
    return str(r["data"]["taskId"])


def detail(api: httpx.Client, tid: str) -> dict[str, Any]:
    r = api.get("/api/v1/runway/record-detail", params={"taskId": tid})
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == 200, body
    return dict(body["data"])


def test_runway_goes_through_every_state(sim: SimServer, api: httpx.Client) -> None:
    tid = runway_create(api, waterMark="")
    uuid.UUID(tid)
    info = sim.task(tid)
    seen = []
    for name, at in info["stages"]:
        advance_to(sim, at)
        d = detail(api, tid)
        seen.append(d["state"])
        assert d["state"] == name
        assert d["taskId"] == tid and d["parentTaskId"] == "" and d["expireFlag"] == 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", d["generateTime"])
        assert d["generateParam"]["prompt"] == "A fluffy orange cat dancing"
        if name != "success":
            assert d["videoInfo"] is None and d["failCode"] is None and d["failMsg"] == ""
    assert seen == ["wait", "queueing", "generating", "success"]
    assert 60 <= info["done_at"] - info["created"] <= 125  # a 5 s clip takes 1-2 min
    vi = detail(api, tid)["videoInfo"]
    assert vi["taskId"] == tid and vi["videoId"]
    meta = probe(httpx.get(vi["videoUrl"]).content)
    assert (meta["width"], meta["height"]) == (320, 180)
    assert httpx.get(vi["imageUrl"]).content.startswith(b"\x89PNG")


def test_runway_prices_and_duration_as_string(sim: SimServer, api: httpx.Client) -> None:
    start = sim.credits
    t5 = runway_create(api, duration="5")
    assert sim.credits == start - 12
    t10 = runway_create(api, duration=10, aspectRatio="9:16")
    assert sim.credits == start - 12 - 30
    runway_create(api, duration=5, quality="1080p")
    assert sim.credits == start - 12 - 30 - 30
    i10 = sim.task(t10)
    assert 120 <= i10["done_at"] - i10["created"] <= 245
    finish(sim, t10)
    finish(sim, t5)
    meta = probe(httpx.get(detail(api, t10)["videoInfo"]["videoUrl"]).content)
    assert (meta["width"], meta["height"]) == (180, 320)
    assert meta["frames"] > probe(httpx.get(detail(api, t5)["videoInfo"]["videoUrl"]).content)["frames"]


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "x", "duration": 10, "quality": "1080p", "aspectRatio": "16:9"},
        {"prompt": "x", "duration": 5, "quality": "720p"},  # text-only needs aspectRatio
        {"prompt": "x" * 1801, "duration": 5, "quality": "720p", "aspectRatio": "16:9"},
        {"prompt": "x", "duration": 7, "quality": "720p", "aspectRatio": "16:9"},
        {"prompt": "x", "duration": 5, "quality": "4k", "aspectRatio": "16:9"},
        {"prompt": "x", "duration": 5, "quality": "720p", "aspectRatio": "2:1"},
        {"duration": 5, "quality": "720p", "aspectRatio": "16:9"},
    ],
)
def test_runway_bad_params(sim: SimServer, api: httpx.Client, body: dict[str, object]) -> None:
    r = api.post("/api/v1/runway/generate", json=body).json()
    assert (r["code"], r["msg"]) == (422, BAD)
    assert sim.creates() == [] and sim.credits == 10_000


def test_runway_reject_fails_with_moderation(sim: SimServer, api: httpx.Client) -> None:
    tid = runway_create(api, prompt="REJECT me")
    finish(sim, tid)
    d = detail(api, tid)
    assert d["state"] == "fail" and d["failCode"] == 400
    assert d["failMsg"] == "Your prompt was caught by our AI moderator."
    assert d["videoInfo"] is None


def test_runway_image_must_be_fetchable(sim: SimServer, api: httpx.Client, up: httpx.Client) -> None:
    r = api.post(
        "/api/v1/runway/generate",
        json={"prompt": "x", "duration": 5, "quality": "720p", "imageUrl": "https://example.com/a.png"},
    ).json()
    assert (r["code"], r["msg"]) == (451, FETCH)
    assert sim.creates() == [] and sim.tasks() == []
    img = upload_png(up, size=(36, 64))
    tid = runway_create(api, imageUrl=img["downloadUrl"], aspectRatio=None)
    assert sim.task(tid)["clip"]["portrait"] is True  # the image decides the ratio


def test_runway_extend_and_expiry(sim: SimServer, api: httpx.Client) -> None:
    base = runway_create(api)
    r = api.post("/api/v1/runway/extend", json={"taskId": base, "prompt": "then", "quality": "720p"}).json()
    assert (r["code"], r["msg"]) == (422, BAD)
    finish(sim, base)
    r = api.post("/api/v1/runway/extend", json={"taskId": base, "prompt": "then", "quality": "720p"}).json()
    assert r["code"] == 200
    ext = r["data"]["taskId"]
    finish(sim, ext)
    d = detail(api, ext)
    assert d["parentTaskId"] == base and d["state"] == "success"
    assert probe(httpx.get(d["videoInfo"]["videoUrl"]).content)["frames"] == 96  # the longer clip
    assert (
        api.post("/api/v1/runway/extend", json={"taskId": "nope", "prompt": "x", "quality": "720p"}).json()[
            "code"
        ]
        == 404
    )
    url = d["videoInfo"]["videoUrl"]
    sim.advance(14 * 86400 + 1)
    assert detail(api, base)["expireFlag"] == 1
    assert httpx.get(url).status_code == 404


def test_runway_unknown_task(api: httpx.Client) -> None:
    assert api.get("/api/v1/runway/record-detail", params={"taskId": "nope"}).json()["code"] == 404


def aleph_info(api: httpx.Client, tid: str) -> dict[str, Any]:
    body = api.get("/api/v1/aleph/record-info", params={"taskId": tid}).json()
    assert body["code"] == 200, body
    return dict(body["data"])


def test_aleph_transforms_a_sim_video(sim: SimServer, api: httpx.Client) -> None:
    src = veo_create(api, aspect_ratio="9:16")
    finish(sim, src)
    video = veo_info(api, src)["data"]["response"]["resultUrls"][0]
    start = sim.credits
    r = api.post(
        "/api/v1/aleph/generate",
        json={"prompt": "make it snow", "videoUrl": video, "seed": 7, "waterMark": ""},
    ).json()
    assert r["code"] == 200
    tid = r["data"]["taskId"]
    assert sim.credits == start - 110
    d = aleph_info(api, tid)
    assert d["successFlag"] == 0 and d["errorCode"] == 0 and d["errorMessage"] == "" and d["response"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["createTime"])
    finish(sim, tid)
    d = aleph_info(api, tid)
    assert d["successFlag"] == 1 and d["errorCode"] == 0 and d["errorMessage"] == ""
    meta = probe(httpx.get(d["response"]["resultVideoUrl"]).content)
    assert (meta["width"], meta["height"]) == (180, 320)  # follows the source video
    assert httpx.get(d["response"]["resultImageUrl"]).status_code == 200


def test_aleph_errors(sim: SimServer, api: httpx.Client) -> None:
    r = api.post("/api/v1/aleph/generate", json={"prompt": "x"}).json()
    assert r["code"] == 422
    r = api.post(
        "/api/v1/aleph/generate", json={"prompt": "x", "videoUrl": "https://example.com/v.mp4"}
    ).json()
    assert (r["code"], r["msg"]) == (451, FETCH)
    src = veo_create(api)
    finish(sim, src)
    video = veo_info(api, src)["data"]["response"]["resultUrls"][0]
    r = api.post(
        "/api/v1/aleph/generate", json={"prompt": "REJECT", "videoUrl": video, "aspectRatio": "21:9"}
    )
    tid = r.json()["data"]["taskId"]
    finish(sim, tid)
    d = aleph_info(api, tid)
    # Aleph's doc: 0 means "failed or in progress"; the error fields tell which.
    assert d["successFlag"] == 0 and d["errorCode"] == 400 and d["errorMessage"]
    assert api.get("/api/v1/aleph/record-info", params={"taskId": "nope"}).json()["code"] == 422
