"""Shared helpers for the simulator tests (raw httpx over real sockets; no app api layer)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kievideo.sim import SimServer


def auth(sim: SimServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.key}"}


@pytest.fixture
def api(sim: SimServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.api_url, headers=auth(sim), timeout=10) as client:
        yield client


@pytest.fixture
def up(sim: SimServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.upload_url, headers=auth(sim), timeout=10) as client:
        yield client


def advance_to(sim: SimServer, t: float) -> None:
    """Move the simulated clock to just after ``t`` (no-op if already there)."""
    delta = t - sim.now()
    if delta > -0.0005:
        sim.advance(delta + 0.001)


def finish(sim: SimServer, task_id: str) -> dict[str, Any]:
    info = sim.task(task_id)
    advance_to(sim, info["done_at"])
    return sim.task(task_id)


def veo_create(api: httpx.Client, **body: Any) -> str:
    body.setdefault("prompt", "A dog playing in a park")
    r = api.post("/api/v1/veo/generate", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["code"] == 200, data
    return str(data["data"]["taskId"])


def veo_info(api: httpx.Client, task_id: str) -> dict[str, Any]:
    r = api.get("/api/v1/veo/record-info", params={"taskId": task_id})
    assert r.status_code == 200
    return dict(r.json())


def probe(data: bytes) -> dict[str, Any]:
    """Decode an MP4 with PyAV and summarise it."""
    import av

    with av.open(io.BytesIO(data), mode="r") as c:
        v = c.streams.video[0]
        a = c.streams.audio[0]
        frames = len(list(c.decode(video=0)))
        return {
            "vcodec": v.codec_context.name,
            "acodec": a.codec_context.name,
            "width": v.codec_context.width,
            "height": v.codec_context.height,
            "frames": frames,
        }


def upload_png(up: httpx.Client, name: str = "frame.png", size: tuple[int, int] = (64, 36)) -> dict[str, Any]:
    from kievideo.sim.media import make_png

    png = make_png(size[0], size[1], (10, 20, 30), (200, 100, 50))
    r = up.post(
        "/api/file-stream-upload",
        files={"file": (name, png, "image/png")},
        data={"uploadPath": "images/test", "fileName": name},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True, body
    return dict(body["data"])
