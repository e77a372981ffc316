"""Fault injection: every kind on the wire, plus rate/count/after determinism and runtime control."""

from __future__ import annotations

import time

import httpx
import pytest

from kievideo.sim import FaultSpec, SimServer

from .conftest import auth, finish, veo_create, veo_info

pytestmark = pytest.mark.sim(speed=0, credits=10_000)

GEN = "/api/v1/veo/generate"


def post_gen(sim: SimServer, **kw: object) -> httpx.Response:
    return httpx.post(sim.api_url + GEN, json={"prompt": "x"}, headers=auth(sim), **kw)  # type: ignore[arg-type]


def test_http_statuses_and_bodies(sim: SimServer) -> None:
    sim.set_faults(
        [
            FaultSpec("veo.generate", "http500", count=1),
            FaultSpec("veo.generate", "http502", count=1),
            FaultSpec("veo.generate", "http503", count=1, seconds=7),
            FaultSpec("veo.generate", "html_error", count=1),
        ]
    )
    r = post_gen(sim)
    assert r.status_code == 500 and r.json()["code"] == 500
    r = post_gen(sim)
    assert r.status_code == 502 and "Bad Gateway" in r.text
    r = post_gen(sim)
    assert r.status_code == 503 and r.headers["retry-after"] == "7"
    r = post_gen(sim)
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html") and "<html>" in r.text
    with pytest.raises(ValueError):
        r.json()
    assert sim.tasks() == [] and sim.creates() == []  # none of these processed the create
    assert post_gen(sim).json()["code"] == 200  # rules with count are used up
    assert [e.fault for e in sim.journal] == ["http500", "http502", "http503", "html_error", None]


def test_body_codes_and_rate429(sim: SimServer) -> None:
    sim.set_faults(
        [
            FaultSpec("veo.generate", "code500", count=1),
            FaultSpec("veo.generate", "code455", count=1),
            FaultSpec("veo.generate", "rate429", count=1, seconds=3),
        ]
    )
    r = post_gen(sim)
    assert r.status_code == 200 and r.json()["code"] == 500
    r = post_gen(sim)
    assert r.status_code == 200 and r.json()["code"] == 455
    r = post_gen(sim)
    assert r.status_code == 429 and r.json()["code"] == 429 and r.headers["retry-after"] == "3"
    assert sim.tasks() == [] and sim.credits == 10_000


def test_malformed_and_empty_bodies(sim: SimServer) -> None:
    sim.set_faults(
        [
            FaultSpec("common.credit", "malformed_json", count=1),
            FaultSpec("common.credit", "empty_body", count=1),
        ]
    )
    url = sim.api_url + "/api/v1/chat/credit"
    r = httpx.get(url, headers=auth(sim))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        r.json()
    r = httpx.get(url, headers=auth(sim))
    assert r.status_code == 200 and r.content == b""


def test_reset_drops_the_connection_without_a_response(sim: SimServer) -> None:
    sim.set_faults([FaultSpec("veo.generate", "reset", count=1)])
    with httpx.Client(headers=auth(sim)) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(sim.api_url + GEN, json={"prompt": "x"})
        assert client.post(sim.api_url + GEN, json={"prompt": "x"}).json()["code"] == 200
    assert len(sim.tasks()) == 1  # the reset one was not processed
    assert sim.journal[0].dropped and sim.journal[0].status is None


def test_stall_hangs_until_the_client_gives_up(sim: SimServer) -> None:
    sim.set_faults([FaultSpec("veo.record_info", "stall", seconds=60)])
    t = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(sim.api_url + "/api/v1/veo/record-info?taskId=x", headers=auth(sim), timeout=0.5)
    assert time.perf_counter() - t < 5
    # stop() must not wait for the 60 s stall (checked by the fixture teardown staying fast)


def test_slow_answers_late_but_correctly(sim: SimServer) -> None:
    sim.set_faults([FaultSpec("common.credit", "slow", seconds=0.4)])
    t = time.perf_counter()
    r = httpx.get(sim.api_url + "/api/v1/chat/credit", headers=auth(sim))
    assert time.perf_counter() - t >= 0.35
    assert r.json() == {"code": 200, "msg": "success", "data": 10_000}


def test_slow_create_is_processed_even_if_the_client_left(sim: SimServer) -> None:
    sim.set_faults([FaultSpec("veo.generate", "slow", seconds=0.5)])
    with pytest.raises(httpx.ReadTimeout):
        post_gen(sim, timeout=0.1)
    deadline = time.monotonic() + 5
    while not sim.creates() and time.monotonic() < deadline:  # the server finishes on its own clock
        time.sleep(0.05)
    assert len(sim.creates()) == 1 and sim.credits == 10_000 - 60


def test_accept_then_500_is_charged_and_journaled(sim: SimServer, api: httpx.Client) -> None:
    sim.set_faults([FaultSpec("veo.generate", "accept_then_500", count=1)])
    r = post_gen(sim)
    assert r.status_code == 500 and r.json()["code"] == 500
    (created,) = sim.creates()
    assert created.fault == "accept_then_500" and created.charged == 60 and created.status == 500
    assert sim.credits == 10_000 - 60
    finish(sim, created.task_id or "")
    assert veo_info(api, created.task_id or "")["data"]["successFlag"] == 1  # the task really exists


def test_accept_then_reset_is_charged_and_journaled(sim: SimServer) -> None:
    sim.set_faults([FaultSpec("runway.generate", "accept_then_reset")])
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(
            sim.api_url + "/api/v1/runway/generate",
            headers=auth(sim),
            json={"prompt": "x", "duration": 5, "quality": "720p", "aspectRatio": "16:9"},
        )
    (created,) = sim.creates()
    assert created.fault == "accept_then_reset" and created.dropped and created.charged == 12
    assert sim.task(created.task_id or "")["family"] == "runway"


def test_truncate_cuts_a_download_after_the_full_length_header(sim: SimServer, api: httpx.Client) -> None:
    tid = veo_create(api)
    finish(sim, tid)
    url = veo_info(api, tid)["data"]["response"]["resultUrls"][0]
    full = sim.file_bytes(url)
    sim.set_faults([FaultSpec("files.result", "truncate", fraction=0.25, count=1)])
    got = b""
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", url) as r:
        assert r.status_code == 200 and int(r.headers["content-length"]) == len(full)
        for chunk in r.iter_raw():
            got += chunk
    assert 0 < len(got) < len(full) and full.startswith(got)
    assert httpx.get(url).content == full


def test_truncate_blob_with_range(sim: SimServer) -> None:
    sim.set_faults([FaultSpec("/blob/*", "truncate", fraction=0.5, count=1)])
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{sim.files_url}/blob/1000000", headers={"Range": "bytes=1000-"})


def _outcomes(sim: SimServer, n: int) -> list[int]:
    url = sim.api_url + "/api/v1/chat/credit"
    with httpx.Client(headers=auth(sim)) as c:
        return [c.get(url).status_code for _ in range(n)]


def test_rate_is_deterministic_by_seed(sim_factory) -> None:  # type: ignore[no-untyped-def]
    spec = [FaultSpec("common.credit", "http503", rate=0.5)]
    a = _outcomes(sim_factory(speed=0, seed=5, faults=spec), 30)
    b = _outcomes(sim_factory(speed=0, seed=5, faults=spec), 30)
    c = _outcomes(sim_factory(speed=0, seed=6, faults=spec), 30)
    assert a == b and a != c
    assert 5 < a.count(503) < 25


def test_count_and_after(sim: SimServer) -> None:
    sim.set_faults([FaultSpec("common.credit", "http500", after=2, count=3)])
    assert _outcomes(sim, 7) == [200, 200, 500, 500, 500, 200, 200]


def test_path_globs_origin_filter_and_runtime_control(sim: SimServer) -> None:
    r = httpx.post(
        sim.api_url + "/_sim/faults",
        json=[
            {"endpoint": "/api/v1/runway/*", "kind": "code455"},
            {"endpoint": "*", "kind": "http500", "origin": "upload"},
        ],
    )
    assert r.status_code == 200 and len(r.json()["faults"]) == 2
    rd = httpx.get(sim.api_url + "/api/v1/runway/record-detail?taskId=x", headers=auth(sim))
    assert rd.json()["code"] == 455
    assert httpx.get(sim.api_url + "/api/v1/chat/credit", headers=auth(sim)).json()["code"] == 200
    upr = httpx.post(sim.upload_url + "/api/file-base64-upload", headers=auth(sim), json={})
    assert upr.status_code == 500 and upr.json() == {
        "success": False,
        "code": 500,
        "msg": "Internal server error",
    }
    stats = httpx.get(sim.api_url + "/_sim/faults").json()["faults"]
    assert [s["fired"] for s in stats] == [1, 1]
    assert httpx.delete(sim.api_url + "/_sim/faults").json() == {"faults": []}
    assert (
        httpx.get(sim.api_url + "/api/v1/runway/record-detail?taskId=x", headers=auth(sim)).json()["code"]
        == 404
    )
    bad = httpx.post(sim.api_url + "/_sim/faults", json=[{"endpoint": "x", "kind": "explode"}])
    assert bad.status_code == 400


@pytest.mark.sim(speed=0, faults=({"endpoint": "unified.create", "kind": "code500", "count": 1},))
def test_faults_from_config_and_unified_style(sim: SimServer) -> None:
    r = httpx.post(
        sim.api_url + "/v1/video/create", headers=auth(sim), json={"model": "veo3.1-fast", "prompt": "x"}
    )
    assert r.status_code == 500 and "error" in r.json()
    sim.set_faults([FaultSpec("unified.query", "rate429")])
    r = httpx.get(sim.api_url + "/v1/video/query?id=x", headers=auth(sim))
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error"
    sim.clear_faults()
    assert httpx.get(sim.api_url + "/v1/video/query?id=x", headers=auth(sim)).status_code == 404


def test_control_endpoints_are_never_faulted(sim: SimServer) -> None:
    sim.set_faults([FaultSpec("*", "http500")])
    assert httpx.get(sim.api_url + "/_sim/state").status_code == 200
    assert httpx.get(sim.api_url + "/api/v1/chat/credit").status_code == 500


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_drops_work_with_each_uvicorn_http_implementation(sim_factory, http: str) -> None:  # type: ignore[no-untyped-def]
    if http == "httptools":
        pytest.importorskip("httptools")
    sim = sim_factory(
        speed=0,
        http=http,
        faults=[
            FaultSpec("common.credit", "reset", count=1),
            FaultSpec("/blob/*", "truncate", fraction=0.3, count=1),
        ],
    )
    with httpx.Client(headers=auth(sim)) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get(sim.api_url + "/api/v1/chat/credit")
        with pytest.raises(httpx.RemoteProtocolError):
            c.get(sim.files_url + "/blob/500000")
        assert c.get(sim.api_url + "/api/v1/chat/credit").json()["code"] == 200
        assert len(c.get(sim.files_url + "/blob/500000").content) == 500000
