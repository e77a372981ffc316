"""Auth, credits, 402, the 429 rate limit, download-url and HTTP-status mirroring."""

from __future__ import annotations

import httpx
import pytest

from kievideo.sim import DEMO_KEY, SimServer

from .conftest import finish, upload_png, veo_create, veo_info

pytestmark = pytest.mark.sim(speed=0)


def test_credit_endpoint_reports_a_decreasing_balance(sim: SimServer, api: httpx.Client) -> None:
    assert api.get("/api/v1/chat/credit").json() == {"code": 200, "msg": "success", "data": 500}
    veo_create(api, model="veo3_fast")
    veo_create(api, model="veo3_lite")
    assert api.get("/api/v1/chat/credit").json()["data"] == 500 - 60 - 30
    assert sim.credits == 410
    assert [e.charged for e in sim.creates()] == [60, 30]


@pytest.mark.sim(speed=0, credits=100)
def test_insufficient_credits_is_402_and_not_queued(sim: SimServer, api: httpx.Client) -> None:
    veo_create(api)  # 60 of 100
    r = api.post("/api/v1/veo/generate", json={"prompt": "x"})
    assert r.status_code == 200
    assert r.json() == {"code": 402, "msg": "Insufficient Credits", "data": None}
    assert len(sim.tasks()) == 1 and len(sim.creates()) == 1 and sim.credits == 40
    sim.credits = 1000
    veo_create(api)
    assert len(sim.tasks()) == 2
    # the control endpoint sees and sets the same balance
    assert httpx.get(sim.api_url + "/_sim/credits").json() == {"credits": 940}
    assert httpx.post(sim.api_url + "/_sim/credits", json={"credits": 5}).json() == {"credits": 5}
    assert api.get("/api/v1/chat/credit").json()["data"] == 5


@pytest.mark.sim(speed=0, credits=100_000)
def test_more_than_20_creates_in_10_simulated_seconds_get_429(sim: SimServer, api: httpx.Client) -> None:
    for i in range(20):
        veo_create(api, prompt=f"n{i}")
    before = sim.credits
    r = api.post("/api/v1/veo/generate", json={"prompt": "one too many"})
    assert r.status_code == 429
    assert r.json() == {"code": 429, "msg": "Rate limit exceeded"}
    r = api.post(
        "/api/v1/runway/generate",
        json={"prompt": "x", "duration": 5, "quality": "720p", "aspectRatio": "16:9"},
    )
    assert r.status_code == 429  # one window per account, across models
    assert sim.credits == before and len(sim.tasks()) == 20 and len(sim.creates()) == 20
    sim.advance(10.5)
    veo_create(api, prompt="after the window")
    assert len(sim.tasks()) == 21
    # the unified API has its own window
    r = api.post("/v1/video/create", json={"model": "veo3.1-fast", "prompt": "x"})
    assert r.status_code == 200


@pytest.mark.sim(speed=0, keys=("k-one", "k-two"))
def test_auth_rules(sim: SimServer) -> None:
    url = sim.api_url + "/api/v1/chat/credit"
    assert httpx.get(url).json() == {"code": 401, "msg": "You do not have access permissions"}
    assert httpx.get(url).status_code == 200  # kie answers errors in the body
    assert httpx.get(url, headers={"Authorization": f"Bearer {DEMO_KEY}"}).json()["code"] == 401
    assert httpx.get(url, headers={"Authorization": "Bearer k-two"}).json()["code"] == 200
    assert httpx.get(url, headers={"Authorization": "k-one"}).json()["code"] == 401  # scheme required
    up = httpx.post(
        sim.upload_url + "/api/file-base64-upload", json={"base64Data": "aGk=", "uploadPath": "x"}
    )
    assert up.json() == {"success": False, "code": 401, "msg": "Authentication failed: Invalid API Key"}
    uni = httpx.post(sim.api_url + "/v1/video/create", json={"model": "veo3.1-fast", "prompt": "x"})
    assert uni.status_code == 401 and uni.json()["error"]["message"] and uni.json()["error"]["type"]
    flags = [(e.auth_present, e.auth_valid) for e in sim.journal]
    assert flags == [
        (False, False),
        (False, False),
        (True, False),
        (True, True),
        (True, False),
        (False, False),
        (False, False),
    ]
    assert sim.creates() == []


@pytest.mark.sim(speed=0, http_status_mirrors_code=True, credits=10)
def test_http_status_can_mirror_the_body_code(sim: SimServer, api: httpx.Client) -> None:
    r = api.post("/api/v1/veo/generate", json={"prompt": "x"})
    assert r.status_code == 402 and r.json()["code"] == 402
    assert api.get("/api/v1/veo/record-info", params={"taskId": "x"}).status_code == 422
    assert api.get("/api/v1/chat/credit").status_code == 200


def test_download_url_signs_sim_files_for_20_minutes(sim: SimServer, api: httpx.Client) -> None:
    tid = veo_create(api)
    finish(sim, tid)
    video = veo_info(api, tid)["data"]["response"]["resultUrls"][0]
    r = api.post("/api/v1/common/download-url", json={"url": video}).json()
    assert r["code"] == 200 and isinstance(r["data"], str)
    link = r["data"]
    assert link.startswith(sim.files_url) and link != video
    assert httpx.get(link).content == httpx.get(video).content
    sim.advance(19 * 60)
    assert httpx.get(link).status_code == 200
    fresh = api.post("/api/v1/common/download-url", json={"url": link}).json()["data"]  # re-sign a link
    sim.advance(61)
    assert httpx.get(link).status_code == 403
    assert httpx.get(fresh).status_code == 200  # issued later, so it is still valid
    ext = api.post("/api/v1/common/download-url", json={"url": "https://example.com/a.mp4"}).json()
    assert ext["code"] == 422
    assert api.post("/api/v1/common/download-url", json={}).json()["code"] == 422
    uploaded = upload_png(httpx.Client(base_url=sim.upload_url, headers=api.headers))["downloadUrl"]
    assert api.post("/api/v1/common/download-url", json={"url": uploaded}).json()["code"] == 422
    assert sim.creates()[-1].route == "veo.generate"  # download-url is not billed
