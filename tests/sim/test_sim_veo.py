"""Veo 3.1 endpoints of the simulator: generate, record-info, 1080p, 4K, extend, failures."""

from __future__ import annotations

import hashlib
import json
import re

import httpx
import pytest

from kievideo.sim import SimServer

from .conftest import advance_to, finish, probe, upload_png, veo_create, veo_info

pytestmark = pytest.mark.sim(speed=0, credits=10_000)

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def test_generate_polls_from_0_to_1_and_serves_a_real_mp4(sim: SimServer, api: httpx.Client) -> None:
    body = {
        "prompt": "A dog playing in a park",
        "model": "veo3_fast",
        "aspectRatio": "16:9",
        "seeds": 12345,
        "watermark": "MyBrand",
        "enableTranslation": True,
    }
    tid = veo_create(api, **body)
    assert re.fullmatch(r"[0-9a-f]{32}", tid)

    first = veo_info(api, tid)
    assert first["code"] == 200 and first["msg"] == "success"
    d = first["data"]
    assert d["successFlag"] == 0 and d["response"] is None and d["completeTime"] is None
    assert TIME_RE.match(d["createTime"])
    assert json.loads(d["paramJson"]) == body
    assert d["fallbackFlag"] is False

    info = sim.task(tid)
    assert 90 <= info["done_at"] - info["created"] <= 250  # veo3_fast: 1.5-4 min (+ short queue)
    advance_to(sim, info["done_at"] - 5)
    assert veo_info(api, tid)["data"]["successFlag"] == 0
    sim.advance(10)
    d = veo_info(api, tid)["data"]
    assert d["successFlag"] == 1 and d["errorCode"] is None and d["errorMessage"] == ""
    assert TIME_RE.match(d["completeTime"])
    resp = d["response"]
    assert resp["taskId"] == tid and resp["resolution"] == "720p"
    assert resp["originUrls"] is None and resp["fullResultUrls"] is None
    (url,) = resp["resultUrls"]
    assert url.startswith(sim.files_url + "/r/")

    r = httpx.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert hashlib.sha256(r.content).digest() == hashlib.sha256(sim.file_bytes(url)).digest()
    meta = probe(r.content)
    assert meta["vcodec"] == "h264" and meta["acodec"] == "aac"
    assert (meta["width"], meta["height"]) == (320, 180)


def test_snake_case_aspect_ratio_gives_portrait_with_origin_urls(sim: SimServer, api: httpx.Client) -> None:
    tid = veo_create(api, aspect_ratio="9:16", model="veo3_lite")
    finish(sim, tid)
    resp = veo_info(api, tid)["data"]["response"]
    meta = probe(httpx.get(resp["resultUrls"][0]).content)
    assert (meta["width"], meta["height"]) == (180, 320)
    origin = probe(httpx.get(resp["originUrls"][0]).content)
    assert (origin["width"], origin["height"]) == (320, 180)


def test_each_task_gets_unique_result_bytes(sim: SimServer, api: httpx.Client) -> None:
    a, b = veo_create(api), veo_create(api)
    finish(sim, a)
    finish(sim, b)
    ua = veo_info(api, a)["data"]["response"]["resultUrls"][0]
    ub = veo_info(api, b)["data"]["response"]["resultUrls"][0]
    assert ua != ub
    assert httpx.get(ua).content != httpx.get(ub).content


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        ({"prompt": ""}, "prompt is required"),
        ({"prompt": "x", "model": "veo4"}, "model must be one of"),
        (
            {"prompt": "x", "model": "veo3", "generationType": "REFERENCE_2_VIDEO", "imageUrls": ["u"]},
            "veo3_fast",
        ),
        ({"prompt": "x", "generationType": "REFERENCE_2_VIDEO", "imageUrls": ["a", "b", "c", "d"]}, "1 to 3"),
        ({"prompt": "x", "imageUrls": ["a", "b", "c"]}, "at most 2"),
        ({"prompt": "x", "generationType": "FIRST_AND_LAST_FRAMES_2_VIDEO"}, "1 or 2"),
        ({"prompt": "x", "seeds": 999}, "seeds"),
        ({"prompt": "x", "aspectRatio": "4:3"}, "aspect_ratio"),
        ({"prompt": "x", "resolution": "8k"}, "resolution"),
        ({"prompt": "x", "generationType": "IMAGE_2_VIDEO"}, "generationType"),
    ],
)
def test_generate_validation_is_422_and_free(
    sim: SimServer, api: httpx.Client, body: dict[str, object], msg: str
) -> None:
    before = sim.credits
    r = api.post("/api/v1/veo/generate", json=body)
    assert r.status_code == 200
    assert r.json()["code"] == 422 and msg in r.json()["msg"]
    assert sim.credits == before and sim.creates() == [] and sim.tasks() == []


def test_reject_word_fails_with_flag_2_or_3_content_policy(sim: SimServer, api: httpx.Client) -> None:
    flags = set()
    for _ in range(8):
        tid = veo_create(api, prompt="please REJECT this")
        finish(sim, tid)
        d = veo_info(api, tid)["data"]
        assert d["errorCode"] == 400
        assert d["errorMessage"] == "Your prompt was flagged by Website as violating content policies."
        assert d["response"] is None and TIME_RE.match(d["completeTime"])
        flags.add(d["successFlag"])
    assert flags == {2, 3}  # alternates by seed


def test_failgen_word_is_flag_3_error_501(sim: SimServer, api: httpx.Client) -> None:
    tid = veo_create(api, prompt="FAILGEN sunset")
    finish(sim, tid)
    d = veo_info(api, tid)["data"]
    assert (d["successFlag"], d["errorCode"]) == (3, 501)


def test_english_only_when_translation_disabled(sim: SimServer, api: httpx.Client) -> None:
    tid = veo_create(api, prompt="一只可爱的小猫", enableTranslation=False)
    finish(sim, tid)
    d = veo_info(api, tid)["data"]
    assert (d["successFlag"], d["errorCode"]) == (2, 400)
    assert d["errorMessage"] == "Only English prompts are supported at this time."


def test_images_must_live_on_the_sim_file_origin(sim: SimServer, api: httpx.Client, up: httpx.Client) -> None:
    fetch_msg = (
        "Failed to fetch the image. Kindly verify any access limits set by you or your service provider."
    )
    bad = veo_create(api, imageUrls=["https://example.com/cat.png"])
    finish(sim, bad)
    d = veo_info(api, bad)["data"]
    assert (d["successFlag"], d["errorCode"], d["errorMessage"]) == (2, 400, fetch_msg)

    uploaded = upload_png(up, size=(36, 64))  # portrait image
    good = veo_create(api, imageUrls=[uploaded["downloadUrl"]], aspect_ratio="Auto")
    finish(sim, good)
    d = veo_info(api, good)["data"]
    assert d["successFlag"] == 1
    assert d["response"]["originUrls"]  # Auto followed the portrait image -> 9:16

    sim.advance(3 * 86400 + 1)  # uploads live 3 simulated days
    expired = veo_create(api, imageUrls=[uploaded["downloadUrl"]])
    finish(sim, expired)
    assert veo_info(api, expired)["data"]["errorMessage"] == fetch_msg


def test_reference_mode_accepts_three_images(sim: SimServer, api: httpx.Client, up: httpx.Client) -> None:
    urls = [upload_png(up, name=f"r{i}.png")["downloadUrl"] for i in range(3)]
    tid = veo_create(api, generationType="REFERENCE_2_VIDEO", imageUrls=urls, model="veo3_fast")
    finish(sim, tid)
    assert veo_info(api, tid)["data"]["successFlag"] == 1


def test_unknown_task_and_missing_id(api: httpx.Client) -> None:
    assert api.get("/api/v1/veo/record-info", params={"taskId": "nope"}).json()["code"] == 422
    assert api.get("/api/v1/veo/record-info", params={"taskId": "nope"}).json()["msg"] == "record is null."
    assert api.get("/api/v1/veo/record-info").json()["code"] == 422


def test_1080p_not_success_then_processing_then_ready(sim: SimServer, api: httpx.Client) -> None:
    tid = veo_create(api)
    r = api.get("/api/v1/veo/get-1080p-video", params={"taskId": tid, "index": 0}).json()
    assert (r["code"], r["msg"]) == (422, "record status is not success.")
    finish(sim, tid)
    credits = sim.credits
    processing = "1080P is processing. It should be ready in 1-2 minutes. Please check back shortly."
    r = api.get("/api/v1/veo/get-1080p-video", params={"taskId": tid, "index": 0}).json()
    assert (r["code"], r["msg"]) == (400, processing)
    assert sim.credits == credits - 5
    sim.advance(30)
    r = api.get("/api/v1/veo/get-1080p-video", params={"taskId": tid, "index": 0}).json()
    assert r["code"] == 400
    assert sim.credits == credits - 5  # only the first call pays
    ready = sim.task(tid)["hd"]["0"]["ready"]
    advance_to(sim, ready)
    r = api.get("/api/v1/veo/get-1080p-video", params={"taskId": tid, "index": 0}).json()
    assert r["code"] == 200
    hd_url = r["data"]["resultUrl"]
    base_url = veo_info(api, tid)["data"]["response"]["resultUrls"][0]
    assert hd_url != base_url
    meta = probe(httpx.get(hd_url).content)
    assert (meta["width"], meta["height"]) == (384, 216)
    bad = api.get("/api/v1/veo/get-1080p-video", params={"taskId": tid, "index": 1}).json()
    assert bad["code"] == 422


def test_4k_first_call_then_processing_then_generated(sim: SimServer, api: httpx.Client) -> None:
    tid = veo_create(api)
    r = api.post("/api/v1/veo/get-4k-video", json={"taskId": tid, "index": 0}).json()
    assert (r["code"], r["msg"]) == (422, "record status is not success.")
    finish(sim, tid)
    credits = sim.credits
    r = api.post("/api/v1/veo/get-4k-video", json={"taskId": tid, "index": 0}).json()
    assert r["code"] == 200
    k4 = r["data"]["taskId"]
    assert r["data"]["resultUrls"] is None and r["data"]["imageUrls"] is None
    assert sim.credits == credits - 120
    r = api.post("/api/v1/veo/get-4k-video", json={"taskId": tid, "index": 0}).json()
    assert r["code"] == 422
    assert r["msg"] == "4k is processing. It should be ready in 5-10 minutes. Please check back shortly."
    assert r["data"] == {"taskId": k4, "resultUrls": None, "imageUrls": None}
    assert veo_info(api, k4)["data"]["successFlag"] == 0
    info = sim.task(k4)
    assert 300 <= info["done_at"] - info["created"] <= 600
    finish(sim, k4)
    r = api.post("/api/v1/veo/get-4k-video", json={"taskId": tid, "index": 0}).json()
    assert (r["code"], r["msg"]) == (422, "The video has been generated successfully")
    (video,) = r["data"]["resultUrls"]
    (image,) = r["data"]["imageUrls"]
    assert sim.credits == credits - 120
    meta = probe(httpx.get(video).content)
    assert (meta["width"], meta["height"]) == (448, 252)
    assert httpx.get(image).content.startswith(b"\x89PNG")
    d = veo_info(api, k4)["data"]
    assert d["successFlag"] == 1 and d["response"]["resolution"] == "4k"
    assert d["response"]["resultUrls"] == [video] and "fallbackFlag" not in d


def test_extend_gives_a_longer_full_clip(sim: SimServer, api: httpx.Client) -> None:
    base = veo_create(api)
    r = api.post("/api/v1/veo/extend", json={"taskId": base, "prompt": "it keeps running"}).json()
    assert (r["code"], r["msg"]) == (422, "record status is not success.")
    finish(sim, base)
    credits = sim.credits
    r = api.post(
        "/api/v1/veo/extend",
        json={"taskId": base, "prompt": "it keeps running", "model": "quality", "seeds": 23456},
    ).json()
    assert r["code"] == 200
    ext = r["data"]["taskId"]
    assert sim.credits == credits - 250
    info = sim.task(ext)
    assert info["parent_id"] == base and 180 <= info["done_at"] - info["created"] <= 620
    finish(sim, ext)
    resp = veo_info(api, ext)["data"]["response"]
    (full,) = resp["fullResultUrls"]
    short = probe(httpx.get(resp["resultUrls"][0]).content)
    longer = probe(httpx.get(full).content)
    assert longer["frames"] == 2 * short["frames"]

    assert api.post("/api/v1/veo/extend", json={"taskId": "missing", "prompt": "x"}).json()["code"] == 404
    assert (
        api.post("/api/v1/veo/extend", json={"taskId": base, "prompt": "x", "model": "pro"}).json()["code"]
        == 422
    )


def test_resolution_1080p_generation_cannot_be_extended(sim: SimServer, api: httpx.Client) -> None:
    credits = sim.credits
    tid = veo_create(api, resolution="1080p", model="veo3")
    assert sim.credits == credits - 255
    finish(sim, tid)
    d = veo_info(api, tid)["data"]
    assert d["response"]["resolution"] == "1080p"
    r = api.post("/api/v1/veo/extend", json={"taskId": tid, "prompt": "more"}).json()
    assert r["code"] == 422 and "cannot be extended" in r["msg"]


def test_records_older_than_14_days(sim: SimServer, api: httpx.Client) -> None:
    tid = veo_create(api)
    finish(sim, tid)
    url = veo_info(api, tid)["data"]["response"]["resultUrls"][0]
    assert httpx.get(url).status_code == 200
    sim.advance(14 * 86400 + 1)
    r = veo_info(api, tid)
    assert (r["code"], r["msg"]) == (422, "Temporarily supports records within 14 days.")
    assert httpx.get(url).status_code == 404
