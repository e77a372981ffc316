"""The aggregator "unified video" API: /v1/video/create and /v1/video/query."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from kievideo.sim import SimServer

from .conftest import advance_to, finish, probe, upload_png

pytestmark = pytest.mark.sim(speed=0)


def create(api: httpx.Client, **body: Any) -> str:
    body.setdefault("model", "veo3.1-fast")
    body.setdefault("prompt", "make animate")
    r = api.post("/v1/video/create", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["status"] == "pending" and isinstance(data["status_update_time"], int)
    assert data["status_update_time"] > 10**12  # milliseconds
    return str(data["id"])


def query(api: httpx.Client, tid: str) -> dict[str, Any]:
    r = api.get("/v1/video/query", params={"id": tid})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_statuses_from_pending_to_completed_with_upsample(
    sim: SimServer, api: httpx.Client, up: httpx.Client
) -> None:
    img = upload_png(up)["downloadUrl"]
    tid = create(api, images=[img], enhance_prompt=True, enable_upsample=True, aspect_ratio="16:9")
    assert re.fullmatch(r"veo3\.1-fast:\d{10}-[A-Za-z0-9]{10}", tid)
    seen = []
    for name, at in sim.task(tid)["stages"]:
        advance_to(sim, at)
        q = query(api, tid)
        seen.append(q["status"])
        assert q["id"] == tid and q["detail"]["status"] == name
        if name != "completed":
            assert q["video_url"] is None
    assert seen == ["pending", "image_downloading", "video_generating", "video_upsampling", "completed"]
    q = query(api, tid)
    d = q["detail"]
    assert d["running"] is False and d["upsample_status"] == "MEDIA_GENERATION_STATUS_SUCCESSFUL"
    assert q["video_url"] == d["upsample_video_url"] != d["video_url"]
    assert q["enhanced_prompt"] and d["req"]["images"] == [img]
    assert probe(httpx.get(d["upsample_video_url"]).content)["width"] == 384
    assert probe(httpx.get(d["video_url"]).content)["width"] == 320


def test_without_upsample_and_portrait(sim: SimServer, api: httpx.Client) -> None:
    tid = create(api, model="veo3", aspect_ratio="9:16")
    stages = [n for n, _ in sim.task(tid)["stages"]]
    assert stages == ["pending", "video_generating", "completed"]
    finish(sim, tid)
    q = query(api, tid)
    assert q["status"] == "completed" and q["video_url"] == q["detail"]["video_url"]
    meta = probe(httpx.get(q["video_url"]).content)
    assert (meta["width"], meta["height"]) == (180, 320)


def test_every_third_completed_task_keeps_a_stale_error(sim: SimServer, api: httpx.Client) -> None:
    ids = [create(api, prompt=f"p{i}") for i in range(6)]
    stale = []
    for tid in ids:
        finish(sim, tid)
        q = query(api, tid)
        assert q["status"] == "completed" and q["video_url"]
        stale.append(bool(q["detail"]["error_message"]))
        if q["detail"]["error_message"]:
            assert q["detail"]["video_generation_error"]
            assert q["detail"]["video_generation_status"] == "MEDIA_GENERATION_STATUS_SUCCESSFUL"
    assert stale.count(True) == 2
    assert stale[:3] == stale[3:]  # a fixed rhythm, chosen by the seed


def test_reject_and_unreachable_images_fail(sim: SimServer, api: httpx.Client) -> None:
    tid = create(api, prompt="REJECT this")
    finish(sim, tid)
    q = query(api, tid)
    assert q["status"] == "failed" and q["video_url"] is None
    assert "unsafe prompt" in q["detail"]["video_generation_error"]
    tid = create(api, images=["https://example.com/x.png"])
    assert [n for n, _ in sim.task(tid)["stages"]] == ["pending", "image_downloading", "failed"]
    finish(sim, tid)
    q = query(api, tid)
    assert q["status"] == "failed" and q["detail"]["error_message"]


def test_unified_errors_are_http_statuses(sim: SimServer, api: httpx.Client) -> None:
    r = api.post("/v1/video/create", json={"model": "sora-9", "prompt": "x"})
    assert r.status_code == 400 and "error" in r.json()
    r = api.post("/v1/video/create", json={"model": "veo3.1-fast"})
    assert r.status_code == 400
    r = api.post("/v1/video/create", json={"model": "veo3-pro-frames", "prompt": "x", "images": ["a", "b"]})
    assert r.status_code == 400
    r = api.get("/v1/video/query", params={"id": "veo3.1-fast:1-abcdefghij"})
    assert r.status_code == 404 and r.json()["error"]["message"]
    assert api.get("/v1/video/query").status_code == 400
    assert sim.creates() == []
