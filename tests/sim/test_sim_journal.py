"""The request journal, the /_sim control endpoints, determinism and real-time speed."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from kievideo.sim import DEMO_KEY, SimConfig, SimServer

from .conftest import auth, finish, veo_create, veo_info

pytestmark = pytest.mark.sim(speed=0)


def test_journal_records_requests_and_masks_secrets(
    sim: SimServer, api: httpx.Client, up: httpx.Client
) -> None:
    api.post(
        "/api/v1/veo/generate", json={"prompt": "hello", "apiKey": "zzz-secret", "note": f"key={DEMO_KEY}"}
    )
    api.get("/api/v1/chat/credit", params={"key": DEMO_KEY, "taskId": "t1"})
    up.post("/api/file-base64-upload", json={"base64Data": "aGVsbG8gd29ybGQ=", "uploadPath": "p"})
    entries = sim.journal
    dumped = json.dumps([e.to_dict() for e in entries])
    assert DEMO_KEY not in dumped and "zzz-secret" not in dumped and "aGVsbG8gd29ybGQ=" not in dumped
    gen, credit, upload = entries
    assert (gen.origin, gen.method, gen.path, gen.route) == (
        "api",
        "POST",
        "/api/v1/veo/generate",
        "veo.generate",
    )
    assert gen.body["prompt"] == "hello" and gen.body["apiKey"] == "***" and gen.body["note"] == "key=***"
    assert gen.status == 200 and gen.code == 200 and gen.create and gen.charged == 60 and gen.task_id
    assert gen.auth_present and gen.auth_valid
    assert credit.query == {"key": "***", "taskId": "t1"} and credit.code == 200 and not credit.create
    assert upload.origin == "upload" and upload.body["base64Data"]["size"] == 11
    assert gen.sim_time <= credit.sim_time and gen.wall_time > 1e9
    assert sim.creates() == [gen]


def test_journal_over_http_and_control_endpoints_are_not_journaled(sim: SimServer, api: httpx.Client) -> None:
    tid = veo_create(api)
    r = httpx.get(sim.api_url + "/_sim/journal")
    assert r.status_code == 200
    (entry,) = r.json()
    assert entry["task_id"] == tid and entry["create"] is True and entry["charged"] == 60
    state = httpx.get(sim.api_url + "/_sim/state").json()
    assert state["credits"] == 440 and state["tasks"][0]["id"] == tid and state["speed"] == 0
    t = httpx.get(sim.api_url + "/_sim/task", params={"id": tid}).json()
    assert t["id"] == tid and t["family"] == "veo"
    before = state["now"]
    adv = httpx.post(sim.api_url + "/_sim/advance", json={"seconds": 3600}).json()
    assert adv["now"] == pytest.approx(before + 3600, abs=1)
    assert veo_info(api, tid)["data"]["successFlag"] == 1
    assert len(httpx.get(sim.api_url + "/_sim/journal").json()) == 2  # the /_sim calls are not in it
    assert len(httpx.get(sim.api_url + "/_sim/journal", params={"since": 1}).json()) == 1


def _run_script(sim: SimServer) -> list[object]:
    """The same request sequence; returns everything observable about the tasks."""
    out: list[object] = []
    with httpx.Client(base_url=sim.api_url, headers=auth(sim)) as api:
        ids = [veo_create(api, prompt=p) for p in ("a", "REJECT b", "c")]
        ids.append(
            api.post(
                "/api/v1/runway/generate",
                json={"prompt": "d", "duration": 5, "quality": "720p", "aspectRatio": "1:1"},
            ).json()["data"]["taskId"]
        )
        ids.append(api.post("/v1/video/create", json={"model": "veo3.1-fast", "prompt": "e"}).json()["id"])
        for tid in ids:
            info = sim.task(tid)
            out.append((tid, info["stages"], info["failure"], info["stale_error"]))
        finish(sim, ids[0])
        out.append(veo_info(api, ids[0])["data"])
    return out


def test_same_seed_same_story_different_seed_different_story(sim_factory) -> None:  # type: ignore[no-untyped-def]
    a = _run_script(sim_factory(speed=0, seed=42, start_time=1_760_000_000.0))
    b = _run_script(sim_factory(speed=0, seed=42, start_time=1_760_000_000.0))
    c = _run_script(sim_factory(speed=0, seed=43, start_time=1_760_000_000.0))
    # URLs embed the port, which differs per server: compare without them.
    norm = [json.dumps(x, default=str) for x in a]
    assert [json.dumps(x, default=str) for x in b][:5] == norm[:5]
    assert a[5]["createTime"] == b[5]["createTime"] and a[5]["completeTime"] == b[5]["completeTime"]  # type: ignore[index]
    assert [x[0] for x in a[:5]] != [x[0] for x in c[:5]]  # type: ignore[index]


def test_speed_factor_runs_the_clock(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(speed=2000, seed=3)
    with httpx.Client(base_url=sim.api_url, headers=auth(sim)) as api:
        tid = veo_create(api, model="veo3_lite")
        info = sim.task(tid)
        real = (info["done_at"] - sim.now()) / 2000
        assert real < 0.2  # at most 190 simulated seconds
        deadline = time.monotonic() + 10
        flag = 0
        while flag == 0 and time.monotonic() < deadline:
            flag = veo_info(api, tid)["data"]["successFlag"]
            time.sleep(0.02)
        assert flag == 1


def test_context_manager_and_properties() -> None:
    with SimServer(SimConfig(speed=0, credits=7)) as sim:
        assert sim.api_url.startswith("http://127.0.0.1:") and not sim.api_url.endswith("/")
        assert len({sim.api_url, sim.upload_url, sim.files_url}) == 3
        assert sim.key == DEMO_KEY and sim.credits == 7
        sim.credits = 9
        assert httpx.get(sim.api_url + "/api/v1/chat/credit", headers=auth(sim)).json()["data"] == 9
        with pytest.raises(KeyError):
            sim.task("missing")
        with pytest.raises(KeyError):
            sim.file_bytes("https://example.com/x.mp4")
    with pytest.raises(httpx.ConnectError):
        httpx.get(sim.api_url + "/_sim/state")


@pytest.mark.sim(speed=0, credits=123, seed=9)
def test_marker_configures_the_fixture(sim: SimServer) -> None:
    assert sim.credits == 123 and sim.config.seed == 9


@pytest.mark.sim(speed=0, journal_limit=3)
def test_journal_limit_drops_the_oldest_but_keeps_counting(sim: SimServer, api: httpx.Client) -> None:
    for _ in range(5):
        api.get("/api/v1/chat/credit")
    assert [e.seq for e in sim.journal] == [2, 3, 4]
    assert [e["seq"] for e in httpx.get(sim.api_url + "/_sim/journal", params={"since": 4}).json()] == [4]
