"""stop() then start(): the simulator really goes away (connections refused) and comes back on the
same ports with the same tasks, credits, uploads, journal and clock ("the provider went away")."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from kievideo.sim import SimConfig, SimServer

from .conftest import advance_to, auth, upload_png, veo_create, veo_info

pytestmark = pytest.mark.sim(speed=0, credits=1000)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _refused(url: str) -> bool:
    """True when nothing listens on ``url``'s port (the TCP connect itself is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", _port(url))) != 0


def test_stopped_simulator_refuses_connections_then_serves_the_same_state(sim: SimServer) -> None:
    urls = sim.urls()
    with httpx.Client(base_url=sim.api_url, headers=auth(sim), timeout=5) as api:
        task_id = veo_create(api)
    credits = sim.credits
    journal_before = len(sim.journal)

    sim.stop()
    assert not sim.running
    assert all(_refused(u) for u in urls.values())
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=2) as c:
        c.get(f"{urls['api']}/api/v1/veo/record-info", params={"taskId": task_id}, headers=auth(sim))
    # The state lives on while the server is down (tests can still look at it).
    assert sim.task(task_id)["id"] == task_id
    assert len(sim.journal) == journal_before

    sim.start()
    assert sim.running and sim.urls() == urls  # the same ports
    with httpx.Client(base_url=sim.api_url, headers=auth(sim), timeout=5) as api:
        info = veo_info(api, task_id)
        assert info["code"] == 200 and info["data"]["taskId"] == task_id
        assert sim.credits == credits  # nothing charged or refunded by the restart
        # The task goes on after the restart and finishes.
        advance_to(sim, sim.task(task_id)["done_at"])
        done = veo_info(api, task_id)
    assert done["data"]["successFlag"] == 1
    assert len(sim.creates()) == 1
    # The journal kept the requests from before the stop and records the new ones.
    routes = [e.route for e in sim.journal]
    assert routes[:1] == ["veo.generate"] and routes.count("veo.record_info") == 2


def test_uploaded_files_survive_a_restart(sim: SimServer) -> None:
    with httpx.Client(base_url=sim.upload_url, headers=auth(sim), timeout=5) as up:
        uploaded = upload_png(up)
    url = uploaded["downloadUrl"]
    before = sim.file_bytes(url)
    sim.stop()
    sim.start()
    with httpx.Client(timeout=5) as c:
        r = c.get(url)
    assert r.status_code == 200 and r.content == before


def test_stop_is_idempotent_and_close_is_final(tmp_path: Path) -> None:
    sim = SimServer(SimConfig(speed=0))
    sim.start()
    data_dir = sim._data_dir  # the temporary upload store
    assert data_dir.is_dir()
    sim.stop()
    sim.stop()
    assert data_dir.is_dir()  # kept for a restart
    sim.start()
    sim.close()
    assert not sim.running and not data_dir.exists()
    with pytest.raises(RuntimeError, match="closed"):
        sim.start()
    sim.close()  # harmless
