"""core.providers: profiles, the registry and the Job -> request mapping (no network)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from kievideo.api.errors import AuthError
from kievideo.api.kie import DEFAULT_API_BASE, DEFAULT_UPLOAD_BASE
from kievideo.api.models import ProviderKind, TaskState
from kievideo.api.runway import AlephGenerateRequest, RunwayGenerateRequest
from kievideo.api.unified import UnifiedCreateRequest
from kievideo.api.veo import VeoGenerateRequest
from kievideo.core.jobs import Job, JobKind, JobSpec, Mode
from kievideo.core.providers import KIE_PROFILE, MissingKeyError, ProviderProfile, ProviderRegistry

KEY = "sk-unit-test-key-0123456789"


def job(spec: JobSpec, **kw: Any) -> Job:
    return Job(id="j1", spec=spec, **kw)


def test_profile_round_trip_and_validation() -> None:
    p = ProviderProfile("agg", "unified", "My gateway", "https://gw.example/openai", None, query_path="/v2/q")
    assert ProviderProfile.from_dict(p.to_dict()) == p
    assert p.providers == (ProviderKind.UNIFIED,) and not p.can_upload
    assert KIE_PROFILE.providers == (ProviderKind.VEO, ProviderKind.RUNWAY, ProviderKind.ALEPH)
    assert (KIE_PROFILE.api_base, KIE_PROFILE.upload_base) == (DEFAULT_API_BASE, DEFAULT_UPLOAD_BASE)
    with pytest.raises(ValueError):
        ProviderProfile("x", "weird", "x", "https://a")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ProviderProfile("x", "unified", "x", "ftp://a")
    with pytest.raises(ValueError):
        ProviderProfile.from_dict({"name": "x", "kind": "nope", "api_base": "https://a"})


def test_registry_profiles_and_keys() -> None:
    keys = {"kie": KEY}
    reg = ProviderRegistry(keys.get, kie_api_base="http://127.0.0.1:9")
    assert reg.get("kie").api_base == "http://127.0.0.1:9"
    assert reg.get("kie").upload_base == DEFAULT_UPLOAD_BASE
    reg.load_user_profiles([{"name": "agg", "kind": "unified", "api_base": "https://gw.example"}, {"bad": 1}])
    assert [p["name"] for p in reg.user_profiles()] == ["agg"]
    with pytest.raises(ValueError):
        reg.add(ProviderProfile("kie", "unified", "x", "https://a"))
    with pytest.raises(ValueError):
        reg.remove("kie")
    with pytest.raises(MissingKeyError) as ei:
        reg.adapter("agg")
    assert isinstance(ei.value, AuthError) and "nothing was sent" in ei.value.user_message
    a1 = reg.adapter("kie")
    assert reg.adapter("kie") is a1
    keys["kie"] = KEY + "-new"
    a2 = reg.adapter("kie")
    assert a2 is not a1  # the key changed: a fresh client
    assert KEY not in repr(a2)
    assert reg.profile_for(ProviderKind.UNIFIED).name == "agg"
    reg.remove("agg")
    asyncio.run(reg.aclose())


def test_broken_keyring_reads_as_no_key() -> None:
    def boom(_name: str) -> str | None:
        raise RuntimeError("keyring locked")

    reg = ProviderRegistry(boom)
    assert not reg.has_key("kie")
    with pytest.raises(MissingKeyError):
        reg.adapter("kie")


@pytest.fixture
def reg() -> ProviderRegistry:
    r = ProviderRegistry(lambda _n: KEY, [ProviderProfile("agg", "unified", "GW", "https://gw.example")])
    yield r
    asyncio.run(r.aclose())


def test_veo_requests_per_mode(reg: ProviderRegistry) -> None:
    a = reg.adapter("kie")
    base = JobSpec(ProviderKind.VEO, "veo3_fast", "p", seed=12345, watermark="Me", quality="1080p")
    r = a.build_request(job(base))
    assert isinstance(r, VeoGenerateRequest)
    assert (r.generation_type, r.aspect_ratio, r.seeds, r.watermark, r.resolution) == (
        "TEXT_2_VIDEO",
        "16:9",
        12345,
        "Me",
        "1080p",
    )
    img = job(base.with_(mode=Mode.IMAGE, images=("/tmp/a.png",)), uploaded_urls=("https://f/a.png",))
    r = a.build_request(img)
    assert (
        isinstance(r, VeoGenerateRequest)
        and r.generation_type is None
        and r.image_urls == ("https://f/a.png",)
    )
    frames = job(base.with_(mode=Mode.FRAMES, images=("https://f/1", "https://f/2")))
    assert a.build_request(frames).generation_type == "FIRST_AND_LAST_FRAMES_2_VIDEO"  # type: ignore[union-attr]
    ref = job(base.with_(mode=Mode.REFERENCE, images=("https://f/1",)))
    assert a.build_request(ref).generation_type == "REFERENCE_2_VIDEO"  # type: ignore[union-attr]
    with pytest.raises(ValueError):  # a local image that is not uploaded yet is never sent
        a.build_request(job(base.with_(mode=Mode.IMAGE, images=("/tmp/a.png",))))


def test_runway_aleph_unified_requests(reg: ProviderRegistry) -> None:
    a = reg.adapter("kie")
    r = a.build_request(job(JobSpec(ProviderKind.RUNWAY, "runway", "p", aspect_ratio="1:1")))
    assert isinstance(r, RunwayGenerateRequest) and (r.duration, r.quality, r.aspect_ratio) == (
        5,
        "720p",
        "1:1",
    )
    r = a.build_request(
        job(
            JobSpec(
                ProviderKind.ALEPH,
                "aleph",
                "p",
                mode=Mode.VIDEO,
                video_url="https://v",
                images=("https://i",),
            )
        )
    )
    assert (
        isinstance(r, AlephGenerateRequest)
        and r.reference_image == "https://i"
        and r.video_url == "https://v"
    )
    u = reg.adapter("agg")
    r = u.build_request(
        job(JobSpec(ProviderKind.UNIFIED, "veo3.1-fast", "p", profile="agg", translate=False, upsample=True))
    )
    assert isinstance(r, UnifiedCreateRequest) and not r.enhance_prompt and r.enable_upsample


def test_poll_dispatch_over_a_mock_transport() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v1/veo/record-info":
            data = {"taskId": "t1", "successFlag": 0, "response": None}
            return httpx.Response(200, json={"code": 200, "msg": "success", "data": data})
        if request.url.path == "/api/v1/veo/get-1080p-video":
            return httpx.Response(
                200, json={"code": 400, "msg": "1080P is processing. It should be ready soon."}
            )
        if request.url.path == "/api/v1/veo/get-4k-video":
            body = json.loads(request.content)
            assert body["taskId"] == "parent"
            return httpx.Response(
                200,
                json={
                    "code": 422,
                    "msg": "The video has been generated successfully",
                    "data": {"taskId": "parent", "resultUrls": ["https://f/4k.mp4"], "imageUrls": []},
                },
            )
        return httpx.Response(404, json={"code": 404, "msg": "no"})

    async def main() -> None:
        reg = ProviderRegistry(lambda _n: KEY, transport=httpx.MockTransport(handler))
        a = reg.adapter("kie")
        spec = JobSpec(ProviderKind.VEO, "veo3_fast", "p")
        v = await a.poll(job(spec, task_id="t1"))
        assert v.state is TaskState.RUNNING
        hd = job(spec, kind=JobKind.UPGRADE_1080P, task_id="parent", extra={"parent_task_id": "parent"})
        assert (await a.poll(hd)).state is TaskState.RUNNING
        k4 = job(spec, kind=JobKind.UPGRADE_4K, task_id="parent", extra={"parent_task_id": "parent"})
        v4 = await a.poll(k4)
        assert v4.state is TaskState.SUCCEEDED and v4.video_urls == ("https://f/4k.mp4",)
        await reg.aclose()

    asyncio.run(main())
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in seen)
