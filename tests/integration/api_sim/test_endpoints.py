"""The API layer end to end against the simulator: every endpoint, every documented outcome.

Real sockets on 127.0.0.1, three origins (API, upload, files), the simulator's clock frozen so
only ``sim.advance()`` moves a task along. Each test drives the typed clients
(``KieAccount`` / ``UnifiedClient``) and then checks what the server saw in ``sim.journal``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from simapi_helpers import (
    DAY,
    FIRST_BACKOFF,
    RecordingTransport,
    SleepLog,
    account,
    advance_to,
    fetch,
    finish,
    mp4_seconds,
    png_bytes,
    route_entries,
    run,
    unified_transport,
)

from kievideo.api import errors
from kievideo.api.http import CreateLimiter, open_file_client
from kievideo.api.kie import KieAccount
from kievideo.api.models import ProviderKind, TaskState, TaskView, UploadedFile
from kievideo.api.runway import AlephGenerateRequest, RunwayExtendRequest, RunwayGenerateRequest
from kievideo.api.unified import UnifiedClient, UnifiedCreateRequest
from kievideo.api.veo import (
    FIRST_AND_LAST_FRAMES_2_VIDEO,
    REFERENCE_2_VIDEO,
    TEXT_2_VIDEO,
    VeoExtendRequest,
    VeoGenerateRequest,
)
from kievideo.sim import PRICES, SimServer
from kievideo.sim.tasks import (
    MSG_CONTENT_POLICY,
    MSG_ENGLISH_ONLY,
    MSG_IMAGE_FETCH,
    MSG_RUNWAY_FAILED,
    MSG_RUNWAY_MODERATION,
    MSG_UNIFIED_IMAGE,
    MSG_UNIFIED_UNSAFE,
    MSG_VEO_GEN_FAILED,
)

pytestmark = pytest.mark.sim(speed=0, credits=10_000)

WRONG_KEY = "kie-WRONG-key-5f3a9c1e7b2d4680"


def write_pngs(tmp_path: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        p = tmp_path / f"frame{i}.png"
        p.write_bytes(png_bytes(64, 36, shade=i * 20))
        paths.append(p)
    return paths


# -- Veo generate: every mode, run to success, result bytes ---------------------------------------


def test_veo_text_to_video_runs_to_success_and_the_mp4_is_byte_identical(
    sim: SimServer, sleeps: SleepLog
) -> None:
    async def main() -> tuple[Any, ...]:
        async with account(sim, sleeps) as acct:
            before = await acct.common.credits()
            tid = await acct.veo.generate(
                VeoGenerateRequest("A dog playing in a park", generation_type=TEXT_2_VIDEO, seeds=12345)
            )
            after = await acct.common.credits()
            running = await acct.veo.record_info(tid)
            finish(sim, tid)
            done = await acct.veo.record_info(tid)
            data = await fetch(done.video_urls[0])
            return tid, before, after, running, done, data

    tid, before, after, running, done, data = run(main())
    assert isinstance(tid, str) and len(tid) == 32  # 32-char hex, like real Veo ids
    assert before == 10_000 and after == 10_000 - PRICES["veo3_fast"]
    assert running.state is TaskState.RUNNING and running.provider_status == "successFlag=0"
    assert running.task_id == tid and running.provider is ProviderKind.VEO and not running.video_urls
    assert done.state is TaskState.SUCCEEDED and done.provider_status == "successFlag=1"
    assert done.resolution == "720p" and done.completed_at is not None and done.created_at is not None
    (url,) = done.video_urls
    assert url.startswith(sim.files_url + "/")
    assert data == sim.file_bytes(url) and data[4:8] == b"ftyp"
    (create,) = route_entries(sim, "veo.generate")
    assert create.body["generationType"] == TEXT_2_VIDEO and create.body["seeds"] == 12345
    assert create.body["aspect_ratio"] == create.body["aspectRatio"] == "16:9"
    assert create.create and create.charged == PRICES["veo3_fast"] and create.task_id == tid
    assert sleeps.calls == []


@pytest.mark.parametrize(
    ("generation_type", "n_images", "model"),
    [
        (None, 1, "veo3_fast"),  # image to video: the server picks the mode from imageUrls
        (FIRST_AND_LAST_FRAMES_2_VIDEO, 1, "veo3_lite"),
        (FIRST_AND_LAST_FRAMES_2_VIDEO, 2, "veo3"),
        (REFERENCE_2_VIDEO, 1, "veo3_fast"),
        (REFERENCE_2_VIDEO, 2, "veo3_fast"),
        (REFERENCE_2_VIDEO, 3, "veo3_fast"),
    ],
    ids=["image", "frames-1", "frames-2", "reference-1", "reference-2", "reference-3"],
)
def test_veo_image_modes_with_uploaded_pngs_run_to_success(
    sim: SimServer,
    sleeps: SleepLog,
    tmp_path: Path,
    generation_type: str | None,
    n_images: int,
    model: str,
) -> None:
    paths = write_pngs(tmp_path, n_images)

    async def main() -> tuple[list[str], str, TaskView, TaskView, bytes]:
        async with account(sim, sleeps) as acct:
            uploaded = [await acct.files.upload_stream(p, upload_path="kievideo/frames") for p in paths]
            urls = [u.download_url for u in uploaded]
            tid = await acct.veo.generate(
                VeoGenerateRequest(
                    "The scene comes alive",
                    model=model,
                    image_urls=tuple(urls),
                    generation_type=generation_type,
                )
            )
            running = await acct.veo.record_info(tid)
            finish(sim, tid)
            done = await acct.veo.record_info(tid)
            return urls, tid, running, done, await fetch(done.video_urls[0])

    urls, tid, running, done, data = run(main())
    # The images live on the simulator's own file origin, so the "provider" could fetch them.
    assert all(u.startswith(sim.files_url + "/u/kievideo/frames/") for u in urls)
    assert [sim.file_bytes(u) for u in urls] == [p.read_bytes() for p in paths]
    assert running.state is TaskState.RUNNING
    assert done.state is TaskState.SUCCEEDED, done
    assert data == sim.file_bytes(done.video_urls[0])
    assert sim.task(tid)["failure"] is None
    (create,) = route_entries(sim, "veo.generate")
    assert create.body["imageUrls"] == urls and create.body["model"] == model
    assert create.body.get("generationType") == generation_type
    assert create.charged == PRICES[model]
    assert sim.credits == 10_000 - PRICES[model]


def test_veo_reject_prompt_fails_with_400_and_the_content_policy_text(
    sim: SimServer, sleeps: SleepLog
) -> None:
    async def main() -> tuple[TaskView, TaskView]:
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("A REJECT scene"))
            running = await acct.veo.record_info(tid)
            finish(sim, tid)
            return running, await acct.veo.record_info(tid)

    running, failed = run(main())
    assert running.state is TaskState.RUNNING
    assert failed.state is TaskState.FAILED
    assert failed.provider_status in ("successFlag=2", "successFlag=3")
    assert failed.error_code == 400
    assert failed.error_message == MSG_CONTENT_POLICY and "content policies" in failed.error_message
    assert failed.video_urls == () and failed.completed_at is not None


def test_veo_failgen_prompt_fails_with_501(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> TaskView:
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("A FAILGEN scene"))
            finish(sim, tid)
            return await acct.veo.record_info(tid)

    failed = run(main())
    assert failed.state is TaskState.FAILED and failed.provider_status == "successFlag=3"
    assert failed.error_code == 501 and failed.error_message == MSG_VEO_GEN_FAILED


@pytest.mark.parametrize("where", ["elsewhere", "missing-on-sim"])
def test_veo_image_not_on_the_sim_fails_with_the_image_fetch_text(
    sim: SimServer, sleeps: SleepLog, where: str
) -> None:
    image = "https://images.example.com/cat.png" if where == "elsewhere" else sim.files_url + "/u/nope.png"

    async def main() -> TaskView:
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("A cat", image_urls=(image,)))
            finish(sim, tid)
            return await acct.veo.record_info(tid)

    failed = run(main())
    assert failed.state is TaskState.FAILED and failed.provider_status == "successFlag=2"
    assert failed.error_code == 400
    assert failed.error_message == MSG_IMAGE_FETCH and "Failed to fetch the image" in failed.error_message


def test_veo_non_english_prompt_without_translation_fails_english_only(
    sim: SimServer, sleeps: SleepLog
) -> None:
    async def main() -> TaskView:
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("Собака в парке", enable_translation=False))
            finish(sim, tid)
            return await acct.veo.record_info(tid)

    failed = run(main())
    assert failed.state is TaskState.FAILED and failed.error_code == 400
    assert failed.error_message == MSG_ENGLISH_ONLY
    (create,) = route_entries(sim, "veo.generate")
    assert create.body["enableTranslation"] is False


# -- Veo 1080p, 4K, extend, retention ---------------------------------------------------------------


def test_veo_get_1080p_before_success_processing_then_ready(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("A harbour at dawn"))
            out["tid"] = tid
            out["early"] = await acct.veo.get_1080p(tid)
            finish(sim, tid)
            base = await acct.veo.record_info(tid)
            out["base_url"] = base.video_urls[0]
            c0 = await acct.common.credits()
            out["processing"] = await acct.veo.get_1080p(tid)
            out["processing_again"] = await acct.veo.get_1080p(tid)
            out["charged"] = c0 - await acct.common.credits()
            advance_to(sim, sim.task(tid)["hd"]["0"]["ready"])
            ready = await acct.veo.get_1080p(tid)
            out["ready"] = ready
            out["hd_bytes"] = await fetch(ready.video_urls[0])
            out["base_bytes"] = await fetch(base.video_urls[0])
        return out

    out = run(main())
    early, processing, again, ready = out["early"], out["processing"], out["processing_again"], out["ready"]
    assert not early.ready and early.base_not_ready and "not success" in early.message
    assert not processing.ready and not processing.base_not_ready
    assert "1080P is processing" in processing.message
    assert not again.ready and not again.base_not_ready
    assert out["charged"] == PRICES["veo_1080p"]  # only the first call after success pays
    assert ready.ready and len(ready.video_urls) == 1
    hd_url = ready.video_urls[0]
    assert hd_url != out["base_url"] and hd_url.startswith(sim.files_url)
    assert out["hd_bytes"] == sim.file_bytes(hd_url) and out["hd_bytes"] != out["base_bytes"]
    codes = [e.code for e in route_entries(sim, "veo.get_1080p")]
    assert codes == [422, 400, 400, 200]
    assert sleeps.calls == []  # not-ready answers are answers, not retried errors


def test_veo_request_4k_first_call_processing_then_done(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("A glacier"))
            out["tid"] = tid
            finish(sim, tid)
            c0 = await acct.common.credits()
            first = await acct.veo.request_4k(tid)
            out["first"] = first
            out["charged"] = c0 - await acct.common.credits()
            out["processing"] = await acct.veo.request_4k(tid)
            assert first.task_id is not None
            finish(sim, first.task_id)
            done = await acct.veo.request_4k(tid)
            out["done"] = done
            out["charged_total"] = c0 - await acct.common.credits()
            out["record"] = await acct.veo.record_info(first.task_id)
            out["bytes"] = await fetch(done.video_urls[0])
        return out

    out = run(main())
    first, processing, done, record = out["first"], out["processing"], out["done"], out["record"]
    assert not first.ready and first.video_urls == ()
    k4_id = first.task_id
    assert k4_id and k4_id != out["tid"]  # the 4K upgrade is its own task
    assert not processing.ready and "4k is processing" in processing.message
    assert processing.task_id == k4_id
    assert done.ready and "generated successfully" in done.message
    assert len(done.video_urls) == 1 and len(done.image_urls) == 1
    assert out["charged"] == out["charged_total"] == PRICES["veo_4k"]  # repeats are free
    assert out["bytes"] == sim.file_bytes(done.video_urls[0])
    assert record.state is TaskState.SUCCEEDED and record.resolution == "4k"
    assert record.video_urls == done.video_urls
    entries = route_entries(sim, "veo.get_4k")
    assert [e.code for e in entries] == [200, 422, 422]
    assert [e.create for e in entries] == [True, False, False]


def test_veo_extend_makes_a_new_task_with_the_full_longer_clip(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("A dog runs"))
            finish(sim, tid)
            base = await acct.veo.record_info(tid)
            c0 = await acct.common.credits()
            ext = await acct.veo.extend(VeoExtendRequest(tid, "The dog keeps running", seeds=23456))
            out["charged"] = c0 - await acct.common.credits()
            out["tid"], out["ext"] = tid, ext
            out["running"] = await acct.veo.record_info(ext, is_extend=True)
            finish(sim, ext)
            view = await acct.veo.record_info(ext, is_extend=True)
            out["view"] = view
            out["base_bytes"] = await fetch(base.video_urls[0])
            out["ext_bytes"] = await fetch(view.video_urls[0])
        return out

    out = run(main())
    view = out["view"]
    assert out["ext"] != out["tid"]
    assert out["running"].state is TaskState.RUNNING
    assert view.state is TaskState.SUCCEEDED
    response = view.raw["response"]
    assert list(view.video_urls) == response["fullResultUrls"]
    assert response["fullResultUrls"] != response["resultUrls"]
    assert out["ext_bytes"] == sim.file_bytes(view.video_urls[0])
    assert mp4_seconds(out["ext_bytes"]) > mp4_seconds(out["base_bytes"])
    assert out["charged"] == PRICES["veo3_fast"]  # extend "fast" costs a fast generation
    (entry,) = route_entries(sim, "veo.extend")
    assert entry.body == {
        "taskId": out["tid"],
        "prompt": "The dog keeps running",
        "model": "fast",
        "seeds": 23456,
    }
    assert sim.task(out["ext"])["parent_id"] == out["tid"]


def test_veo_record_older_than_retention_is_record_expired(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> tuple[errors.RecordExpiredError, errors.RecordExpiredError, int]:
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("An old memory"))
            finish(sim, tid)
            url = (await acct.veo.record_info(tid)).video_urls[0]
            sim.advance(15 * DAY)
            with pytest.raises(errors.RecordExpiredError) as info:
                await acct.veo.record_info(tid)
            with pytest.raises(errors.RecordExpiredError) as info_hd:
                await acct.veo.get_1080p(tid)
            async with open_file_client() as files:
                status = (await files.get(url)).status_code
            return info.value, info_hd.value, status

    err, err_hd, file_status = run(main())
    for e in (err, err_hd):
        assert e.code == 422 and e.kind is errors.ValidationKind.RECORD_EXPIRED
        assert "14 days" in str(e)
    assert file_status == 404  # the result file is gone too
    assert sleeps.calls == []  # a definite answer: not retried
    assert [e.code for e in route_entries(sim, "veo.record_info")] == [200, 422]


def test_veo_resolution_1080p_is_priced_and_cannot_be_extended(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> tuple[TaskView, errors.ValidationError]:
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("A bay", resolution="1080p"))
            finish(sim, tid)
            view = await acct.veo.record_info(tid)
            with pytest.raises(errors.ValidationError) as info:
                await acct.veo.extend(VeoExtendRequest(tid, "More"))
            return view, info.value

    view, err = run(main())
    assert view.state is TaskState.SUCCEEDED and view.resolution == "1080p"
    assert err.code == 422 and "cannot be extended" in (err.provider_message or "")
    assert not isinstance(err, errors.AmbiguousSubmitError)  # definite: not billed, not resent
    assert len(route_entries(sim, "veo.extend")) == 1 and len(sim.creates()) == 1
    assert sim.credits == 10_000 - PRICES["veo3_fast"] - PRICES["veo_resolution_1080p"]
    assert sleeps.calls == []


def test_unknown_task_ids_are_definite_errors(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> list[errors.ApiError]:
        out: list[errors.ApiError] = []
        async with account(sim, sleeps) as acct:
            for call, expected in (
                (acct.veo.record_info("f" * 32), errors.ValidationError),
                (acct.veo.get_1080p("f" * 32), errors.ValidationError),
                (acct.veo.extend(VeoExtendRequest("f" * 32, "More")), errors.NotFoundError),
                (acct.runway.record_detail("00000000-0000-4000-8000-000000000000"), errors.NotFoundError),
            ):
                with pytest.raises(expected) as info:
                    await call
                out.append(info.value)
        return out

    record, hd, extend, runway = run(main())
    assert record.kind is errors.ValidationKind.RECORD_NULL  # type: ignore[attr-defined]
    assert hd.kind is errors.ValidationKind.RECORD_NULL  # type: ignore[attr-defined]
    assert extend.code == 404 and runway.code == 404
    assert sim.creates() == [] and sim.credits == 10_000
    assert sleeps.calls == []  # none of them is retried


# -- Runway and Aleph ----------------------------------------------------------------------------------

RUNWAY_STATE = {
    "wait": TaskState.QUEUED,
    "queueing": TaskState.QUEUED,
    "generating": TaskState.RUNNING,
    "success": TaskState.SUCCEEDED,
    "fail": TaskState.FAILED,
}


@pytest.mark.parametrize(
    ("prompt", "outcome", "message"),
    [
        ("A red fox in snow", "success", None),
        ("A REJECT fox", "fail", MSG_RUNWAY_MODERATION),
        ("A FAILGEN fox", "fail", MSG_RUNWAY_FAILED),
    ],
    ids=["success", "moderation", "generation-failed"],
)
def test_runway_text_generate_walks_every_state(
    sim: SimServer, sleeps: SleepLog, prompt: str, outcome: str, message: str | None
) -> None:
    async def main() -> tuple[str, list[tuple[str, TaskView]], bytes | None]:
        seen: list[tuple[str, TaskView]] = []
        async with account(sim, sleeps) as acct:
            tid = await acct.runway.generate(RunwayGenerateRequest(prompt, aspect_ratio="9:16"))
            for name, at in sim.task(tid)["stages"]:
                advance_to(sim, at)
                seen.append((name, await acct.runway.record_detail(tid)))
            last = seen[-1][1]
            data = await fetch(last.video_urls[0]) if outcome == "success" else None
            return tid, seen, data

    tid, seen, data = run(main())
    assert [name for name, _ in seen] == ["wait", "queueing", "generating", outcome]
    for name, view in seen:
        assert view.provider_status == name and view.state is RUNWAY_STATE[name], (name, view)
        assert view.provider is ProviderKind.RUNWAY and view.task_id == tid
        assert view.parent_task_id is None
    last = seen[-1][1]
    if outcome == "success":
        assert len(last.video_urls) == 1 and len(last.image_urls) == 1
        assert data == sim.file_bytes(last.video_urls[0])
    else:
        assert last.error_code == 400 and last.error_message == message
        assert last.video_urls == ()
    (create,) = route_entries(sim, "runway.generate")
    assert create.body == {
        "prompt": prompt,
        "duration": 5,
        "quality": "720p",
        "waterMark": "",
        "aspectRatio": "9:16",
    }
    assert create.charged == PRICES["runway_720p_5"]


def test_runway_image_generate_with_an_uploaded_png(sim: SimServer, sleeps: SleepLog, tmp_path: Path) -> None:
    (path,) = write_pngs(tmp_path, 1)

    async def main() -> tuple[str, TaskView]:
        async with account(sim, sleeps) as acct:
            up = await acct.files.upload_stream(path)
            tid = await acct.runway.generate(
                RunwayGenerateRequest("The frame comes alive", duration=10, image_url=up.download_url)
            )
            finish(sim, tid)
            return up.download_url, await acct.runway.record_detail(tid)

    image_url, view = run(main())
    assert view.state is TaskState.SUCCEEDED
    assert view.raw["generateParam"]["imageUrl"] == image_url
    (create,) = route_entries(sim, "runway.generate")
    assert create.body["imageUrl"] == image_url and "aspectRatio" not in create.body
    assert create.body["duration"] == 10 and create.charged == PRICES["runway_720p_10"]


def test_runway_and_aleph_image_not_on_the_sim_is_a_451_at_create(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> list[errors.ApiError]:
        out: list[errors.ApiError] = []
        async with account(sim, sleeps) as acct:
            with pytest.raises(errors.ImageFetchError) as a:
                await acct.runway.generate(
                    RunwayGenerateRequest("x", image_url="https://cdn.example.com/a.png")
                )
            out.append(a.value)
            with pytest.raises(errors.ImageFetchError) as b:
                await acct.aleph.generate(
                    AlephGenerateRequest("x", video_url="https://cdn.example.com/v.mp4")
                )
            out.append(b.value)
        return out

    for err in run(main()):
        assert err.code == 451 and "Failed to fetch the image" in (err.provider_message or "")
    assert sim.creates() == [] and sim.tasks() == [] and sim.credits == 10_000
    assert sleeps.calls == []


def test_runway_expire_flag_after_retention_is_expired(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> tuple[TaskView, TaskView, TaskView]:
        async with account(sim, sleeps) as acct:
            ok = await acct.runway.generate(RunwayGenerateRequest("A fox", aspect_ratio="16:9"))
            bad = await acct.runway.generate(RunwayGenerateRequest("A REJECT fox", aspect_ratio="16:9"))
            finish(sim, ok)
            finish(sim, bad)
            fresh = await acct.runway.record_detail(ok)
            sim.advance(15 * DAY)
            return fresh, await acct.runway.record_detail(ok), await acct.runway.record_detail(bad)

    fresh, expired, failed = run(main())
    assert fresh.state is TaskState.SUCCEEDED and fresh.raw["expireFlag"] == 0
    assert expired.state is TaskState.EXPIRED and expired.raw["expireFlag"] == 1
    assert expired.provider_status == "success, expired"
    # A failure stays a failure when expired, so its reason is kept.
    assert failed.state is TaskState.FAILED and failed.error_message == MSG_RUNWAY_MODERATION


def test_runway_extend_has_the_parent_task_id(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> tuple[str, str, TaskView, TaskView]:
        async with account(sim, sleeps) as acct:
            tid = await acct.runway.generate(RunwayGenerateRequest("A fox", aspect_ratio="4:3"))
            finish(sim, tid)
            ext = await acct.runway.extend(RunwayExtendRequest(tid, "The fox jumps", quality="1080p"))
            running = await acct.runway.record_detail(ext)
            finish(sim, ext)
            return tid, ext, running, await acct.runway.record_detail(ext)

    tid, ext, running, done = run(main())
    assert ext != tid
    assert running.state is TaskState.QUEUED and running.parent_task_id == tid
    assert done.state is TaskState.SUCCEEDED and done.parent_task_id == tid
    (entry,) = route_entries(sim, "runway.extend")
    assert entry.body == {"taskId": tid, "prompt": "The fox jumps", "quality": "1080p", "waterMark": ""}
    assert entry.charged == PRICES["runway_1080p_5"]


def test_runway_10s_1080p_is_refused_before_anything_is_sent(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> None:
        async with account(sim, sleeps) as acct:
            await acct.runway.generate(
                RunwayGenerateRequest("A fox", duration=10, quality="1080p", aspect_ratio="16:9")
            )

    with pytest.raises(errors.InvalidRequestError) as info:
        run(main())
    assert info.value.field == "quality" and isinstance(info.value, ValueError)
    assert sim.journal == []  # NOTHING reached any origin
    assert sim.credits == 10_000


def test_aleph_generate_and_record_info(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with account(sim, sleeps) as acct:
            src = await acct.runway.generate(RunwayGenerateRequest("A street", aspect_ratio="16:9"))
            finish(sim, src)
            video = (await acct.runway.record_detail(src)).video_urls[0]
            out["video"] = video
            tid = await acct.aleph.generate(
                AlephGenerateRequest("Make it snow", video_url=video, aspect_ratio="21:9", seed=7)
            )
            out["running"] = await acct.aleph.record_info(tid)
            finish(sim, tid)
            done = await acct.aleph.record_info(tid)
            out["done"] = done
            out["bytes"] = await fetch(done.video_urls[0])
            bad = await acct.aleph.generate(AlephGenerateRequest("A REJECT edit", video_url=video))
            finish(sim, bad)
            out["failed"] = await acct.aleph.record_info(bad)
        return out

    out = run(main())
    running, done, failed = out["running"], out["done"], out["failed"]
    assert running.state is TaskState.RUNNING and running.provider is ProviderKind.ALEPH
    assert done.state is TaskState.SUCCEEDED and done.provider_status == "successFlag=1"
    assert len(done.image_urls) == 1 and out["bytes"] == sim.file_bytes(done.video_urls[0])
    assert done.completed_at is not None  # ISO "...Z" times parsed
    assert failed.state is TaskState.FAILED and failed.error_code == 400
    assert failed.error_message == MSG_RUNWAY_MODERATION
    first = route_entries(sim, "aleph.generate")[0]
    assert first.body == {
        "prompt": "Make it snow",
        "videoUrl": out["video"],
        "waterMark": "",
        "aspectRatio": "21:9",
        "seed": 7,
    }
    assert first.charged == PRICES["aleph"]


# -- uploads -------------------------------------------------------------------------------------------


def test_upload_stream_base64_and_url(sim: SimServer, sleeps: SleepLog, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    payload = bytes(range(256)) * 2700 + b"tail"  # ~690 KB: three 256 KiB chunks
    big.write_bytes(payload)
    png = png_bytes(48, 48)
    progress: list[tuple[int, int]] = []

    async def main() -> tuple[UploadedFile, UploadedFile, UploadedFile]:
        async with account(sim, sleeps) as acct:
            stream = await acct.files.upload_stream(
                big, upload_path="/kievideo/bin/", progress=lambda s, t: progress.append((s, t))
            )
            b64 = await acct.files.upload_base64(png, "image/png", file_name="pixel.png")
            copy = await acct.files.upload_url(stream.download_url, file_name="copy.bin")
            return stream, b64, copy

    stream, b64, copy = run(main())
    size = len(payload)
    assert progress[0] == (0, size) and progress[-1] == (size, size)
    assert [s for s, _ in progress] == sorted(s for s, _ in progress) and len(progress) >= 4
    assert stream.file_size == size and stream.file_path == "kievideo/bin/big.bin"
    assert b64.mime_type == "image/png" and b64.file_name == "pixel.png"
    for up, content in ((stream, payload), (b64, png), (copy, payload)):
        assert up.download_url.startswith(sim.files_url + "/u/")
        assert sim.file_bytes(up.download_url) == content
        assert run(fetch(up.download_url)) == content
    assert copy.download_url != stream.download_url
    (entry,) = route_entries(sim, "upload.stream")
    assert entry.body["fields"] == {"uploadPath": "kievideo/bin", "fileName": "big.bin"}
    assert entry.body["file"]["size"] == size
    assert sleeps.calls == []


def test_upload_url_of_a_file_the_sim_cannot_reach_is_a_bad_request(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> None:
        async with account(sim, sleeps) as acct:
            await acct.files.upload_url("https://example.com/a.png")

    with pytest.raises(errors.BadRequestError) as info:
        run(main())
    assert info.value.code == 400 and "download failed" in (info.value.provider_message or "")
    assert sleeps.calls == []


# -- credits, download links, auth, rate limit ------------------------------------------------------


@pytest.mark.sim(speed=0, credits=500)
def test_credits_drop_by_the_price_and_402_is_not_charged_or_queued(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> tuple[int, int, int, errors.ApiError]:
        async with account(sim, sleeps) as acct:
            start = await acct.common.credits()
            await acct.veo.generate(VeoGenerateRequest("A cat", model="veo3"))
            after = await acct.common.credits()
            sim.credits = PRICES["veo3_fast"] - 1
            with pytest.raises(errors.InsufficientCreditsError) as info:
                await acct.veo.generate(VeoGenerateRequest("A cat"))
            return start, after, await acct.common.credits(), info.value

    start, after, left, err = run(main())
    assert start == 500 and after == 500 - PRICES["veo3"]
    assert left == PRICES["veo3_fast"] - 1  # nothing taken for the refused create
    assert err.code == 402 and not isinstance(err, errors.AmbiguousSubmitError)
    creates = route_entries(sim, "veo.generate")
    assert [(e.code, e.create, e.charged) for e in creates] == [(200, True, PRICES["veo3"]), (402, False, 0)]
    assert len(sim.creates()) == 1 and len(sim.tasks()) == 1  # not queued
    assert sleeps.calls == []  # a definite answer: never sent again


def test_download_url_for_a_result_and_422_for_an_upload(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> tuple[str, str, bytes, errors.ValidationError]:
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("A lighthouse"))
            finish(sim, tid)
            result = (await acct.veo.record_info(tid)).video_urls[0]
            link = await acct.common.download_url(result)
            data = await fetch(link)
            up = await acct.files.upload_base64(png_bytes(), "image/png")
            with pytest.raises(errors.ValidationError) as info:
                await acct.common.download_url(up.download_url)
            return result, link, data, info.value

    result, link, data, err = run(main())
    assert link.startswith(sim.files_url + "/d/") and link != result
    assert data == sim.file_bytes(result)
    assert err.kind is errors.ValidationKind.EXTERNAL_URL and err.code == 422
    sim.advance(21 * 60)  # the link lives 20 (simulated) minutes; the result itself stays

    async def after() -> tuple[int, int]:
        async with open_file_client() as client:
            return (await client.get(link)).status_code, (await client.get(result)).status_code

    assert run(after()) == (403, 200)


def test_wrong_key_is_auth_error_everywhere_and_never_shows_the_key(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> list[errors.ApiError]:
        out: list[errors.ApiError] = []
        async with account(sim, sleeps, key=WRONG_KEY) as acct:
            for call in (
                acct.common.credits(),
                acct.veo.record_info("0" * 32),
                acct.veo.generate(VeoGenerateRequest("A cat")),
                acct.runway.generate(RunwayGenerateRequest("A cat", aspect_ratio="1:1")),
                acct.files.upload_base64(png_bytes(), "image/png"),
            ):
                with pytest.raises(errors.AuthError) as info:
                    await call
                out.append(info.value)
        async with unified_transport(sim, sleeps, key=WRONG_KEY) as t:
            with pytest.raises(errors.AuthError) as info:
                await UnifiedClient(t).create(UnifiedCreateRequest("veo3.1-fast", "A cat"))
            out.append(info.value)
        return out

    errs = run(main())
    assert len(errs) == 6 and all(e.code == 401 for e in errs)
    for e in errs:
        shown = " ".join(
            [str(e), repr(e), e.user_message, e.provider_message or "", e.url or "", *map(str, e.args)]
        )
        assert WRONG_KEY not in shown and sim.key not in shown
    assert len(sim.journal) == 6
    assert all(e.auth_present and not e.auth_valid for e in sim.journal)
    assert sim.creates() == [] and sim.credits == 10_000
    assert sleeps.calls == []  # 401 is definite: not retried


def test_more_than_20_creates_in_10s_is_a_429_from_the_server(sim: SimServer, sleeps: SleepLog) -> None:
    # The client-side limiter lets everything through, so the SERVER's 20-per-10-s limit trips.
    def pass_the_window(_: float) -> None:
        sim.advance(10.001)

    async def main() -> tuple[list[str], errors.ApiError, str]:
        async with account(sim, sleeps, max_create_rate_limit_retries=2) as acct:
            ids = [
                await acct.runway.generate(RunwayGenerateRequest(f"fox {i}", aspect_ratio="16:9"))
                for i in range(20)
            ]
            with pytest.raises(errors.RateLimitError) as info:
                await acct.veo.generate(VeoGenerateRequest("one too many"))
            # Once the simulated window has passed, the 429 answer's resend goes through.
            sleeps.hook = pass_the_window
            late = await acct.veo.generate(VeoGenerateRequest("after the window"))
            return ids, info.value, late

    ids, err, late = run(main())
    assert len(set(ids)) == 20 and late not in ids
    assert err.http_status == 429 and err.code == 429 and err.retryable
    limited = [e for e in sim.journal if e.status == 429]
    assert len(limited) == 3 + 1  # 1 + 2 resends of the refused create, then the late one's first try
    assert all(not e.create and e.charged == 0 for e in limited)
    assert len(sim.creates()) == 21
    assert sim.credits == 10_000 - 20 * PRICES["runway_720p_5"] - PRICES["veo3_fast"]
    # No Retry-After from the server's own limiter: plain backoff, 0.25 then 0.5 s, then the late retry.
    assert sleeps.calls == [FIRST_BACKOFF, 2 * FIRST_BACKOFF, FIRST_BACKOFF]


def test_a_limiter_shaped_like_the_server_limit_never_collects_a_429(sim: SimServer) -> None:
    # The default limiter (20 per 10 s) on the simulated clock: 45 creates, zero 429 answers.
    waits: list[float] = []

    async def sim_sleep(seconds: float) -> None:
        waits.append(seconds)
        sim.advance(seconds + 0.001)

    limiter = CreateLimiter(max_calls=20, period=10.0, clock=sim.now, sleep=sim_sleep)

    async def main() -> list[str]:
        async with KieAccount(sim.api_url, sim.upload_url, sim.key, limiter=limiter, sleep=sim_sleep) as acct:
            return [
                await acct.runway.generate(RunwayGenerateRequest(f"fox {i}", aspect_ratio="16:9"))
                for i in range(45)
            ]

    assert len(set(run(main()))) == 45
    assert [e.status for e in sim.journal] == [200] * 45
    assert len(waits) == 2  # held back twice, at creates 21 and 41


# -- unified video API ------------------------------------------------------------------------------

UNIFIED_STATE = {
    "pending": TaskState.QUEUED,
    "image_downloading": TaskState.RUNNING,
    "video_generating": TaskState.RUNNING,
    "video_upsampling": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}


def test_unified_create_query_pending_to_completed_with_the_upsample_url(
    sim: SimServer, sleeps: SleepLog
) -> None:
    wire = RecordingTransport()

    async def main() -> tuple[str, list[tuple[str, TaskView]], bytes]:
        seen: list[tuple[str, TaskView]] = []
        async with unified_transport(sim, sleeps, transport=wire) as t:
            client = UnifiedClient(t)
            tid = await client.create(
                UnifiedCreateRequest(
                    "veo3.1-fast", "A cat surfing", enable_upsample=True, aspect_ratio="9:16"
                )
            )
            seen.append(("created", await client.query(tid)))
            for name, at in sim.task(tid)["stages"][1:]:
                advance_to(sim, at)
                seen.append((name, await client.query(tid)))
            last = seen[-1][1]
            return tid, seen, await fetch(last.video_urls[0])

    tid, seen, data = run(main())
    assert tid.startswith("veo3.1-fast:") and ":" in tid
    first = seen[0][1]
    assert first.state is TaskState.QUEUED and first.provider_status == "pending"
    assert [n for n, _ in seen] == ["created", "video_generating", "video_upsampling", "completed"]
    for name, view in seen[1:]:
        assert view.state is UNIFIED_STATE[name] and view.provider_status == name, (name, view)
    done = seen[-1][1]
    detail = done.raw["detail"]
    assert done.video_urls == (detail["upsample_video_url"],)
    assert detail["upsample_video_url"] != detail["video_url"]
    assert done.video_urls[0].endswith("video-upsampled.mp4")
    assert data == sim.file_bytes(done.video_urls[0])
    # On the wire the colon is %3A-encoded; the journal (which decodes) got the id back intact.
    queries = [q for q in wire.targets if q.startswith(b"/v1/video/query")]
    assert queries and all(q == b"/v1/video/query?id=" + quote(tid, safe="").encode() for q in queries)
    assert b"%3A" in queries[0]
    assert all(e.query == {"id": tid} for e in route_entries(sim, "unified.query"))
    (create,) = route_entries(sim, "unified.create")
    assert create.body["enable_upsample"] is True and create.body["aspect_ratio"] == "9:16"


def test_unified_stale_error_completed_task_is_succeeded(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> tuple[str, TaskView]:
        async with unified_transport(sim, sleeps) as t:
            client = UnifiedClient(t)
            for i in range(3):  # every third task by seed carries stale error text
                tid = await client.create(UnifiedCreateRequest("veo3.1", f"A river {i}"))
                if sim.task(tid)["stale_error"]:
                    break
            else:
                raise AssertionError("no stale-error task in three creates")
            finish(sim, tid)
            return tid, await client.query(tid)

    _, view = run(main())
    detail = view.raw["detail"]
    assert detail["error_message"] and detail["video_generation_error"]  # stale text is there ...
    assert view.state is TaskState.SUCCEEDED and view.error_message is None
    assert view.video_urls == (detail["video_url"],)


@pytest.mark.parametrize(
    ("prompt", "images", "message"),
    [
        ("A REJECT cat", (), MSG_UNIFIED_UNSAFE),
        ("A cat", ("https://cdn.example.com/cat.png",), MSG_UNIFIED_IMAGE),
    ],
    ids=["reject", "image-unreachable"],
)
def test_unified_failures_are_failed(
    sim: SimServer, sleeps: SleepLog, prompt: str, images: tuple[str, ...], message: str
) -> None:
    async def main() -> TaskView:
        async with unified_transport(sim, sleeps) as t:
            client = UnifiedClient(t)
            tid = await client.create(UnifiedCreateRequest("veo3.1-fast", prompt, images=images))
            finish(sim, tid)
            return await client.query(tid)

    view = run(main())
    assert view.state is TaskState.FAILED and view.provider_status == "failed"
    assert view.error_message == message and view.video_urls == ()


def test_unified_query_of_an_unknown_id_is_not_found(sim: SimServer, sleeps: SleepLog) -> None:
    async def main() -> None:
        async with unified_transport(sim, sleeps) as t:
            await UnifiedClient(t).query("veo3.1-fast:1700000000-NoSuchTask")

    with pytest.raises(errors.NotFoundError):
        run(main())
    assert sleeps.calls == []


def test_task_times_match_the_simulator_for_every_family(sim: SimServer, sleeps: SleepLog) -> None:
    # Veo/Runway send naive "YYYY-MM-DD HH:MM:SS" (UTC), Aleph ISO "...Z", unified milliseconds.
    async def main() -> dict[str, tuple[str, TaskView]]:
        async with account(sim, sleeps) as acct, unified_transport(sim, sleeps) as ut:
            uni = UnifiedClient(ut)
            veo = await acct.veo.generate(VeoGenerateRequest("A cat"))
            runway = await acct.runway.generate(RunwayGenerateRequest("A cat", aspect_ratio="16:9"))
            unified = await uni.create(UnifiedCreateRequest("veo3.1-fast", "A cat"))
            finish(sim, runway)
            video = (await acct.runway.record_detail(runway)).video_urls[0]
            aleph = await acct.aleph.generate(AlephGenerateRequest("Snow", video_url=video))
            for tid in (veo, unified, aleph):
                finish(sim, tid)
            return {
                "veo": (veo, await acct.veo.record_info(veo)),
                "runway": (runway, await acct.runway.record_detail(runway)),
                "aleph": (aleph, await acct.aleph.record_info(aleph)),
                "unified": (unified, await uni.query(unified)),
            }

    for family, (tid, view) in run(main()).items():
        task = sim.task(tid)
        assert view.state is TaskState.SUCCEEDED, family
        assert view.created_at is not None and view.created_at.tzinfo is not None, family
        assert abs(view.created_at.timestamp() - task["created"]) < 1.0, family
        if family != "runway":  # Runway's record has no completion time
            assert view.completed_at is not None, family
            assert abs(view.completed_at.timestamp() - task["done_at"]) < 1.0, family


# -- credentials across the three origins ----------------------------------------------------------


def test_authorization_reaches_api_and_upload_origins_but_never_the_file_origin(
    sim: SimServer, sleeps: SleepLog
) -> None:
    async def main() -> None:
        async with account(sim, sleeps) as acct:
            up = await acct.files.upload_base64(png_bytes(), "image/png")
            tid = await acct.veo.generate(VeoGenerateRequest("A cat", image_urls=(up.download_url,)))
            finish(sim, tid)
            url = (await acct.veo.record_info(tid)).video_urls[0]
            link = await acct.common.download_url(url)
            for target in (up.download_url, url, link):
                await fetch(target)

    run(main())
    by_origin = {o: [e for e in sim.journal if e.origin == o] for o in ("api", "upload", "files")}
    assert len(by_origin["files"]) == 3 and len(by_origin["upload"]) == 1 and len(by_origin["api"]) == 3
    assert all(not e.auth_present for e in by_origin["files"])
    assert all(e.auth_present and e.auth_valid for e in by_origin["api"] + by_origin["upload"])


def test_a_burst_of_requests_shares_a_bounded_pool_of_connections(sim: SimServer, sleeps: SleepLog) -> None:
    """60 status-sized requests at once (a restart resuming many jobs) all succeed over at most
    API_LIMITS' connections: httpcore walks every pooled connection for each request, so an
    unbounded burst made each request cost the GUI thread ~2 ms (bench.responsiveness)."""
    from kievideo.api.http import API_LIMITS

    most: list[int] = []

    async def main() -> list[int]:
        async with account(sim, sleeps) as acct:
            pool = acct.transport._client._transport._pool  # httpx's default transport -> httpcore

            async def one() -> int:
                value = await acct.common.credits()
                most.append(len(pool.connections))
                return value

            return await asyncio.gather(*(one() for _ in range(60)))

    values = run(main())
    assert values == [10_000] * 60
    assert API_LIMITS.max_connections == 16
    assert max(most) <= 16 and max(most) > 1  # several at once, never more than the limit
