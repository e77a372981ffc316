"""The API origin (api.kie.ai + the aggregator's unified ``/v1/video/*``) and ``/_sim/*`` control.

kie endpoints answer with the documented envelope ``{"code", "msg", "data"}`` and HTTP 200 (the
body code is the real status), except rate limiting (HTTP 429); ``SimConfig.http_status_mirrors_code``
makes the HTTP status follow the body code instead. Unified endpoints answer plain JSON objects and
real HTTP statuses; their errors are OpenAI-style ``{"error": {"message", "type"}}`` bodies (the
shape one-api/new-api gateways use; the unified docs do not document errors).

Validation choices (not all documented) are listed in ``kievideo/sim/__init__.py``.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .clock import fmt_iso, fmt_space, ms
from .config import EXTEND_MODEL_PRICE_KEY, PRICES, parse_faults
from .journal import JournalEntry
from .media import ClipKey
from .middleware import kie_http_status
from .runtime import Runtime
from .state import ResultFile
from .tasks import (
    ALEPH_DURATION,
    EXTEND_DURATION,
    FOURK_DURATION,
    HD_DURATION,
    MSG_CONTENT_POLICY,
    MSG_ENGLISH_ONLY,
    MSG_IMAGE_FETCH,
    MSG_RUNWAY_FAILED,
    MSG_RUNWAY_MODERATION,
    MSG_UNIFIED_GEN_FAILED,
    MSG_UNIFIED_IMAGE,
    MSG_UNIFIED_STALE,
    MSG_UNIFIED_UNSAFE,
    MSG_VEO_GEN_FAILED,
    NO_DURATION,
    RUNWAY_DURATIONS,
    RUNWAY_EXTEND_DURATION,
    VEO_DURATIONS,
    Failure,
    Task,
    draw_duration,
    hex_id,
    runway_stages,
    task_rng,
    unified_id,
    unified_stages,
    uuid_id,
    veo_stages,
)

ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/veo/generate"): "veo.generate",
    ("GET", "/api/v1/veo/record-info"): "veo.record_info",
    ("GET", "/api/v1/veo/get-1080p-video"): "veo.get_1080p",
    ("POST", "/api/v1/veo/get-4k-video"): "veo.get_4k",
    ("POST", "/api/v1/veo/extend"): "veo.extend",
    ("POST", "/api/v1/runway/generate"): "runway.generate",
    ("GET", "/api/v1/runway/record-detail"): "runway.record_detail",
    ("POST", "/api/v1/runway/extend"): "runway.extend",
    ("POST", "/api/v1/aleph/generate"): "aleph.generate",
    ("GET", "/api/v1/aleph/record-info"): "aleph.record_info",
    ("GET", "/api/v1/chat/credit"): "common.credit",
    ("POST", "/api/v1/common/download-url"): "common.download_url",
    ("POST", "/v1/video/create"): "unified.create",
    ("GET", "/v1/video/query"): "unified.query",
}
#: Routes that may create a paid task (the journal's ``creates()`` and the rate limit count them).
CREATE_ROUTES = frozenset(
    {
        "veo.generate",
        "veo.extend",
        "veo.get_4k",
        "veo.get_1080p",
        "runway.generate",
        "runway.extend",
        "aleph.generate",
        "unified.create",
    }
)
_PATH_NAMES = {path: name for (_m, path), name in ROUTES.items()}


def route_for(method: str, path: str) -> str | None:
    # Name the route by path alone: a wrong method is still "that endpoint" for the journal.
    return _PATH_NAMES.get(path)


RUNWAY_BAD_PARAMS = "The request parameters are incorrect, please check the parameters."
MSG_1080P_PROCESSING = "1080P is processing. It should be ready in 1-2 minutes. Please check back shortly."
MSG_4K_PROCESSING = "4k is processing. It should be ready in 5-10 minutes. Please check back shortly."
MSG_4K_DONE = "The video has been generated successfully"
MSG_RETENTION = "Temporarily supports records within 14 days."
MSG_NOT_SUCCESS = "record status is not success."
MSG_RECORD_NULL = "record is null."
MSG_NO_CREDITS = "Insufficient Credits"

VEO_GEN_TYPES = ("TEXT_2_VIDEO", "FIRST_AND_LAST_FRAMES_2_VIDEO", "REFERENCE_2_VIDEO")
RUNWAY_RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16")
ALEPH_RATIOS = ("16:9", "9:16", "4:3", "3:4", "1:1", "21:9")
PORTRAIT_RATIOS = ("9:16", "3:4")
UNIFIED_MODELS = (
    "veo2",
    "veo2-fast",
    "veo2-fast-frames",
    "veo2-fast-components",
    "veo2-pro",
    "veo2-pro-components",
    "veo3",
    "veo3-fast",
    "veo3-fast-frames",
    "veo3-frames",
    "veo3-pro",
    "veo3-pro-frames",
    "veo3.1",
    "veo3.1-fast",
    "veo3.1-pro",
    "veo3.1-4k",
    "veo3.1-pro-4k",
    "veo3.1-components",
)


def _runway_duration(raw: Any) -> int | None:
    """5 or 10, given as a number (schema) or a string (the doc example sends "5")."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float) and raw in (5, 10):
        return int(raw)
    if isinstance(raw, str) and raw.strip() in ("5", "10"):
        return int(raw.strip())
    return None


class _Reject(Exception):
    """A validation failure; the handler turns it into the family's error answer."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def build_api_app(rt: Runtime) -> Starlette:
    """The API-origin Starlette app (wrap it with SimMiddleware before serving)."""
    state = rt.state
    clock = rt.clock
    cfg = rt.config

    # ------------------------------------------------------------------ helpers

    def entry_of(request: Request) -> JournalEntry | None:
        return request.scope.get("kievideo.entry")

    def kie(request: Request, code: int, msg: str, data: Any = None, include_data: bool = True) -> Response:
        entry = entry_of(request)
        if entry is not None:
            entry.code = code
        body: dict[str, Any] = {"code": code, "msg": msg}
        if include_data:
            body["data"] = data
        return JSONResponse(body, status_code=kie_http_status(rt, code))

    def unified_error(status: int, msg: str, typ: str = "invalid_request_error") -> Response:
        return JSONResponse({"error": {"message": msg, "type": typ}}, status_code=status)

    async def json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Reject(422, "Request body must be valid JSON.") from exc
        if not isinstance(data, dict):
            raise _Reject(422, "Request body must be a JSON object.")
        return data

    def mark_create(request: Request, task: Task, charged: int) -> None:
        entry = entry_of(request)
        if entry is not None:
            entry.create = True
            entry.charged = charged
            entry.task_id = task.id

    def fail_word(prompt: str) -> str | None:
        for word, kind in cfg.fail_words.items():
            if word and word in prompt:
                return kind
        return None

    def rate_limited(request: Request, family: str = "kie") -> Response | None:
        if state.rate_limited(family, clock.now()):
            if family == "unified":
                return unified_error(429, "Rate limit exceeded", "rate_limit_error")
            return kie(request, 429, "Rate limit exceeded", include_data=False)
        return None

    def opt_str(body: dict[str, Any], key: str, code: int, msg: str | None = None) -> str | None:
        val = body.get(key)
        if val is None:
            return None
        if not isinstance(val, str):
            raise _Reject(code, msg or f"{key} must be a string")
        return val

    def check_seed(val: Any, code: int, name: str) -> int | None:
        if val is None:
            return None
        if isinstance(val, bool) or not isinstance(val, int) or not 10000 <= val <= 99999:
            raise _Reject(code, f"{name} must be an integer between 10000 and 99999")
        return int(val)

    def portrait_of_images(urls: list[str], now: float) -> bool:
        for u in urls:
            size = state.image_size_of(u, now)
            if size is not None:
                return size[1] > size[0]
        return False

    def new_task(
        *,
        family: str,
        kind: str,
        model: str,
        params: dict[str, Any],
        clip: ClipKey,
        price: int,
        build: Callable[[random.Random], tuple[str, str, list[tuple[str, float]], Failure | None]],
        parent_id: str | None = None,
    ) -> Task:
        """Create and register a task; ``build(rng)`` returns (id, slug, stages, failure)."""
        now = clock.now()
        counter = state.next_counter()
        rng = task_rng(cfg.seed, counter)
        tid, slug, stages, failure = build(rng)
        task = Task(
            id=tid,
            family=family,
            kind=kind,
            counter=counter,
            created=now,
            stages=stages,
            params=params,
            model=model,
            clip=clip,
            slug=slug,
            price=price,
            failure=failure,
            parent_id=parent_id,
        )
        task.extra["rng_tail"] = rng.getrandbits(64)  # ids for videoId/mediaIds, drawn after the timeline
        state.add_task(task)
        state.note_create("unified" if family == "unified" else "kie", now)
        return task

    def veo_failure(rng: random.Random, prompt: str, images_ok: bool, translate: bool) -> Failure | None:
        if not images_ok:
            return Failure("image_fetch", MSG_IMAGE_FETCH, 400, 2)
        if not translate and any(ord(ch) > 127 for ch in prompt):
            return Failure("english_only", MSG_ENGLISH_ONLY, 400, 2)
        kind = fail_word(prompt)
        if kind == "content_policy":
            # successFlag 2 or 3 by seed: both occur for moderation failures upstream.
            return Failure("content_policy", MSG_CONTENT_POLICY, 400, rng.choice((2, 3)))
        if kind == "generation_failed":
            return Failure("generation_failed", MSG_VEO_GEN_FAILED, 501, 3)
        return None

    def add_veo_files(task: Task) -> None:
        if task.failure is not None:
            return
        state.add_result(task, "video.mp4", task.clip)
        state.add_result(task, "thumb.png", task.clip, thumbnail=True)
        if task.clip.portrait:
            state.add_result(task, "origin.mp4", ClipKey(False, task.clip.tier, task.clip.long))
        if task.kind == "extend":
            state.add_result(task, "full.mp4", ClipKey(task.clip.portrait, task.clip.tier, True))

    def url(task: Task, name: str) -> str:
        return f"{state.files_base}/r/{task.slug}/{name}"

    # ------------------------------------------------------------------ Veo

    async def veo_generate(request: Request) -> Response:
        limited = rate_limited(request)
        if limited is not None:
            return limited
        try:
            body = await json_body(request)
            prompt = body.get("prompt")
            if not isinstance(prompt, str) or not prompt.strip():
                raise _Reject(422, "prompt is required")
            model = body.get("model") or "veo3_fast"
            if model not in VEO_DURATIONS:
                raise _Reject(422, "model must be one of veo3, veo3_fast, veo3_lite")
            images = body.get("imageUrls") or []
            if not isinstance(images, list) or not all(isinstance(u, str) for u in images):
                raise _Reject(422, "imageUrls must be an array of URLs")
            gen_type = body.get("generationType")
            if gen_type is None:
                if len(images) > 2:
                    raise _Reject(422, "imageUrls supports at most 2 images (3 with REFERENCE_2_VIDEO)")
                gen_type = "FIRST_AND_LAST_FRAMES_2_VIDEO" if images else "TEXT_2_VIDEO"
            if gen_type not in VEO_GEN_TYPES:
                raise _Reject(422, f"generationType must be one of {', '.join(VEO_GEN_TYPES)}")
            if gen_type == "TEXT_2_VIDEO":
                images = []  # the mode ignores images
            elif gen_type == "FIRST_AND_LAST_FRAMES_2_VIDEO" and not 1 <= len(images) <= 2:
                raise _Reject(422, "FIRST_AND_LAST_FRAMES_2_VIDEO requires 1 or 2 imageUrls")
            elif gen_type == "REFERENCE_2_VIDEO":
                if model != "veo3_fast":
                    raise _Reject(422, "REFERENCE_2_VIDEO only supports the veo3_fast model")
                if not 1 <= len(images) <= 3:
                    raise _Reject(422, "REFERENCE_2_VIDEO requires 1 to 3 imageUrls")
            # Both spellings are accepted (doc versions disagree); the newer snake_case wins.
            aspect = body.get("aspect_ratio", body.get("aspectRatio")) or "16:9"
            if aspect not in ("16:9", "9:16", "Auto"):
                raise _Reject(422, "aspect_ratio must be 16:9, 9:16 or Auto")
            check_seed(body.get("seeds"), 422, "seeds")
            opt_str(body, "watermark", 422)
            opt_str(body, "callBackUrl", 422)
            translate = body.get("enableTranslation", True)
            if not isinstance(translate, bool):
                raise _Reject(422, "enableTranslation must be a boolean")
            resolution = str(body.get("resolution") or "720p").lower()
            if resolution not in ("720p", "1080p", "4k"):
                raise _Reject(422, "resolution must be 720p, 1080p or 4k")
        except _Reject as rej:
            return kie(request, rej.code, rej.msg)

        price = (
            PRICES[model]
            + {"720p": 0, "1080p": PRICES["veo_resolution_1080p"], "4k": PRICES["veo_resolution_4k"]}[
                resolution
            ]
        )
        if not state.try_charge(price):
            return kie(request, 402, MSG_NO_CREDITS)
        now = clock.now()
        portrait = aspect == "9:16" or (aspect == "Auto" and portrait_of_images(images, now))
        images_ok = all(state.fetchable(u, now) for u in images)
        extra_time = {"720p": NO_DURATION, "1080p": HD_DURATION, "4k": FOURK_DURATION}[resolution]

        def build(rng: random.Random) -> tuple[str, str, list[tuple[str, float]], Failure | None]:
            tid = hex_id(rng)
            total = draw_duration(rng, VEO_DURATIONS[model]) + draw_duration(rng, extra_time)
            failure = veo_failure(rng, prompt, images_ok, translate)
            return tid, tid, veo_stages(rng, total, failure), failure

        task = new_task(
            family="veo",
            kind="generate",
            model=model,
            params=body,
            price=price,
            build=build,
            clip=ClipKey(portrait, resolution, False),
        )
        task.extra.update(resolution=resolution, generation_type=gen_type)
        add_veo_files(task)
        mark_create(request, task, price)
        return kie(request, 200, "success", {"taskId": task.id})

    def veo_base(tid: str | None, now: float) -> Task:
        """The succeeded Veo generate/extend task behind 1080p/4K/extend, or a documented 422."""
        task = state.get_task(tid) if tid else None
        if task is None or task.family != "veo" or task.kind == "4k":
            raise _Reject(422, MSG_RECORD_NULL)
        if state.expired(task, now):
            raise _Reject(422, MSG_RETENTION)
        if not task.succeeded(now):
            raise _Reject(422, MSG_NOT_SUCCESS)
        return task

    def veo_record(task: Task, now: float) -> dict[str, Any]:
        stage, _since = task.stage(now)
        response: dict[str, Any] | None = None
        flag, err_code, err_msg, complete = 0, None, None, None
        if stage == "success":
            flag, err_msg, complete = 1, "", fmt_space(task.done_at)
            if task.kind == "4k":
                response = {
                    "taskId": task.id,
                    "resultUrls": [url(task, "video-4k.mp4")],
                    "imageUrls": [url(task, "thumb-4k.png")],
                    "mediaIds": [f"CAUa{task.extra['rng_tail']:016x}"],
                    "originUrls": None,
                    "fullResultUrls": None,
                    "resolution": "4k",
                }
            else:
                response = {
                    "taskId": task.id,
                    "resultUrls": [url(task, "video.mp4")],
                    "originUrls": [url(task, "origin.mp4")] if task.clip.portrait else None,
                    "fullResultUrls": [url(task, "full.mp4")] if task.kind == "extend" else None,
                    "resolution": task.clip.tier,
                }
        elif stage == "fail" and task.failure is not None:
            flag, err_code, err_msg = task.failure.success_flag, task.failure.code, task.failure.message
            complete = fmt_space(task.done_at)
        data: dict[str, Any] = {
            "taskId": task.id,
            "paramJson": json.dumps(task.params, ensure_ascii=False, separators=(",", ":")),
            "completeTime": complete,
            "response": response,
            "successFlag": flag,
            "errorCode": err_code,
            "errorMessage": err_msg,
            "createTime": fmt_space(task.created),
        }
        if task.kind != "4k":
            data["fallbackFlag"] = False  # deprecated, absent on 4K tasks (documented)
        return data

    async def veo_record_info(request: Request) -> Response:
        tid = request.query_params.get("taskId")
        if not tid:
            return kie(request, 422, "taskId is required")
        task = state.get_task(tid)
        now = clock.now()
        if task is None or task.family != "veo":
            return kie(request, 422, MSG_RECORD_NULL)
        if state.expired(task, now):
            return kie(request, 422, MSG_RETENTION)
        return kie(request, 200, "success", veo_record(task, now))

    async def veo_1080p(request: Request) -> Response:
        now = clock.now()
        try:
            raw_index = request.query_params.get("index", "0") or "0"
            try:
                index = int(raw_index)
            except ValueError as exc:
                raise _Reject(422, "index must be an integer") from exc
            task = veo_base(request.query_params.get("taskId"), now)
            if index != 0:
                raise _Reject(422, "record result data not exist.")
        except _Reject as rej:
            return kie(request, rej.code, rej.msg)
        hd = task.index_1080p.get(index)
        if hd is None:
            # The first request starts (and pays for) the upscale; the answer is "processing".
            price = PRICES["veo_1080p"]
            if not state.try_charge(price):
                return kie(request, 402, MSG_NO_CREDITS)
            rng = random.Random(f"{cfg.seed}:{task.counter}:1080p:{index}")
            hd = (now, now + draw_duration(rng, HD_DURATION))
            with state.lock:  # the test thread may be describing this task right now
                task.index_1080p[index] = hd
            state.add_result(
                task,
                "video-1080p.mp4",
                ClipKey(task.clip.portrait, "1080p", task.clip.long),
                available_from=hd[1],
            )
            mark_create(request, task, price)
        if now < hd[1]:
            return kie(request, 400, MSG_1080P_PROCESSING)
        return kie(request, 200, "success", {"resultUrl": url(task, "video-1080p.mp4")})

    async def veo_4k(request: Request) -> Response:
        now = clock.now()
        try:
            body = await json_body(request)
            index = body.get("index", 0)
            if isinstance(index, bool) or not isinstance(index, int):
                raise _Reject(422, "index must be an integer")
            base = veo_base(body.get("taskId") if isinstance(body.get("taskId"), str) else None, now)
            if index != 0:
                raise _Reject(422, "record result data not exist.")
        except _Reject as rej:
            return kie(request, rej.code, rej.msg)
        existing = base.fourk_task.get(index)
        if existing is None:
            limited = rate_limited(request)
            if limited is not None:
                return limited
            price = PRICES["veo_4k"]
            if not state.try_charge(price):
                return kie(request, 402, MSG_NO_CREDITS)

            def build(rng: random.Random) -> tuple[str, str, list[tuple[str, float]], Failure | None]:
                tid = hex_id(rng)
                return tid, tid, [("generating", 0.0), ("success", draw_duration(rng, FOURK_DURATION))], None

            k4 = new_task(
                family="veo",
                kind="4k",
                model=base.model,
                params={"taskId": base.id, "index": index},
                price=price,
                build=build,
                clip=ClipKey(base.clip.portrait, "4k", base.clip.long),
                parent_id=base.id,
            )
            with state.lock:
                base.fourk_task[index] = k4.id
            state.add_result(k4, "video-4k.mp4", k4.clip)
            state.add_result(k4, "thumb-4k.png", k4.clip, thumbnail=True)
            mark_create(request, k4, price)
            return kie(request, 200, "success", {"taskId": k4.id, "resultUrls": None, "imageUrls": None})
        k4_task = state.get_task(existing)
        assert k4_task is not None
        if not k4_task.finished(now):
            return kie(
                request, 422, MSG_4K_PROCESSING, {"taskId": k4_task.id, "resultUrls": None, "imageUrls": None}
            )
        return kie(
            request,
            422,
            MSG_4K_DONE,
            {
                "taskId": k4_task.id,
                "resultUrls": [url(k4_task, "video-4k.mp4")],
                "imageUrls": [url(k4_task, "thumb-4k.png")],
            },
        )

    async def veo_extend(request: Request) -> Response:
        limited = rate_limited(request)
        if limited is not None:
            return limited
        now = clock.now()
        try:
            body = await json_body(request)
            tid = body.get("taskId")
            prompt = body.get("prompt")
            if not isinstance(tid, str) or not tid:
                raise _Reject(422, "taskId is required")
            if not isinstance(prompt, str) or not prompt.strip():
                raise _Reject(422, "prompt is required")
            model = body.get("model") or "fast"
            if model not in EXTEND_MODEL_PRICE_KEY:
                raise _Reject(422, "model must be one of fast, quality, lite")
            check_seed(body.get("seeds"), 422, "seeds")
            opt_str(body, "watermark", 422)
            found = state.get_task(tid)
            if found is None or found.family != "veo" or found.kind == "4k":
                raise _Reject(404, "The original task does not exist.")
            base = veo_base(tid, now)
            if base.extra.get("resolution") in ("1080p", "4k"):
                raise _Reject(422, "Videos generated after 1080P generation cannot be extended.")
        except _Reject as rej:
            return kie(request, rej.code, rej.msg)
        price_key = EXTEND_MODEL_PRICE_KEY[model]
        price = PRICES[price_key]
        if not state.try_charge(price):
            return kie(request, 402, MSG_NO_CREDITS)

        def build(rng: random.Random) -> tuple[str, str, list[tuple[str, float]], Failure | None]:
            new_id = hex_id(rng)
            total = draw_duration(rng, EXTEND_DURATION)
            failure = veo_failure(rng, prompt, True, True)
            if failure is not None and failure.reason == "generation_failed":
                failure.message = "Extension failed"  # extend's documented 501 text
            return new_id, new_id, veo_stages(rng, total, failure), failure

        task = new_task(
            family="veo",
            kind="extend",
            model=price_key,
            params=body,
            price=price,
            build=build,
            clip=ClipKey(base.clip.portrait, "720p", False),
            parent_id=base.id,
        )
        task.extra["resolution"] = "720p"
        add_veo_files(task)
        mark_create(request, task, price)
        return kie(request, 200, "success", {"taskId": task.id})

    # ------------------------------------------------------------------ Runway

    def runway_failure(prompt: str) -> Failure | None:
        kind = fail_word(prompt)
        if kind == "content_policy":
            return Failure("content_policy", MSG_RUNWAY_MODERATION, 400)
        if kind == "generation_failed":
            return Failure("generation_failed", MSG_RUNWAY_FAILED, 400)
        return None

    def add_runway_files(task: Task) -> None:
        if task.failure is None:
            state.add_result(task, "video.mp4", task.clip)
            state.add_result(task, "thumb.png", task.clip, thumbnail=True)

    async def runway_generate(request: Request) -> Response:
        limited = rate_limited(request)
        if limited is not None:
            return limited
        now = clock.now()
        try:
            body = await json_body(request)
            prompt = body.get("prompt")
            if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > 1800:
                raise _Reject(422, RUNWAY_BAD_PARAMS)
            duration_raw = body.get("duration")
            # The schema says number, the example sends "5": accept both spellings.
            duration = _runway_duration(duration_raw)
            quality = body.get("quality")
            if (
                duration is None
                or quality not in ("720p", "1080p")
                or (duration == 10 and quality == "1080p")
            ):
                raise _Reject(422, RUNWAY_BAD_PARAMS)
            image = body.get("imageUrl") or None
            if image is not None and not isinstance(image, str):
                raise _Reject(422, RUNWAY_BAD_PARAMS)
            aspect = body.get("aspectRatio")
            if image is None and aspect not in RUNWAY_RATIOS:
                raise _Reject(422, RUNWAY_BAD_PARAMS)  # required for text-only requests
            opt_str(body, "waterMark", 422, RUNWAY_BAD_PARAMS)
            if image is not None and not state.fetchable(image, now):
                raise _Reject(451, MSG_IMAGE_FETCH)
        except _Reject as rej:
            return kie(request, rej.code, rej.msg)
        price = PRICES[f"runway_{quality}_{duration}"]
        if not state.try_charge(price):
            return kie(request, 402, MSG_NO_CREDITS)
        portrait = portrait_of_images([image], now) if image else aspect in PORTRAIT_RATIOS

        def build(rng: random.Random) -> tuple[str, str, list[tuple[str, float]], Failure | None]:
            tid = uuid_id(rng)
            failure = runway_failure(prompt)
            stages = runway_stages(rng, draw_duration(rng, RUNWAY_DURATIONS[duration]), failure)
            return tid, tid, stages, failure

        task = new_task(
            family="runway",
            kind="generate",
            model=f"runway-duration-{duration}-generate",
            params=body,
            price=price,
            build=build,
            clip=ClipKey(portrait, quality, duration == 10),
        )
        add_runway_files(task)
        mark_create(request, task, price)
        return kie(request, 200, "success", {"taskId": task.id})

    async def runway_extend(request: Request) -> Response:
        limited = rate_limited(request)
        if limited is not None:
            return limited
        now = clock.now()
        try:
            body = await json_body(request)
            tid = body.get("taskId")
            prompt = body.get("prompt")
            quality = body.get("quality")
            if (
                not isinstance(tid, str)
                or not isinstance(prompt, str)
                or not prompt.strip()
                or len(prompt) > 1800
            ):
                raise _Reject(422, RUNWAY_BAD_PARAMS)
            if quality not in ("720p", "1080p"):
                raise _Reject(422, RUNWAY_BAD_PARAMS)
            opt_str(body, "waterMark", 422, RUNWAY_BAD_PARAMS)
            base = state.get_task(tid)
            if base is None or base.family != "runway":
                raise _Reject(404, "Task not found")
            if state.expired(base, now) or not base.succeeded(now):
                raise _Reject(422, RUNWAY_BAD_PARAMS)
        except _Reject as rej:
            return kie(request, rej.code, rej.msg)
        price = PRICES[f"runway_{quality}_5"]
        if not state.try_charge(price):
            return kie(request, 402, MSG_NO_CREDITS)

        def build(rng: random.Random) -> tuple[str, str, list[tuple[str, float]], Failure | None]:
            new_id = uuid_id(rng)
            failure = runway_failure(prompt)
            stages = runway_stages(rng, draw_duration(rng, RUNWAY_EXTEND_DURATION), failure)
            return new_id, new_id, stages, failure

        task = new_task(
            family="runway",
            kind="extend",
            model="runway-extend",
            params=body,
            price=price,
            build=build,
            clip=ClipKey(base.clip.portrait, quality, True),
            parent_id=base.id,  # keeps the aspect ratio
        )
        add_runway_files(task)
        mark_create(request, task, price)
        return kie(request, 200, "success", {"taskId": task.id})

    async def runway_record_detail(request: Request) -> Response:
        tid = request.query_params.get("taskId")
        task = state.get_task(tid) if tid else None
        if task is None or task.family != "runway":
            return kie(request, 404, "Task not found")
        now = clock.now()
        stage, _ = task.stage(now)
        video_info = None
        if stage == "success":
            tail = task.extra["rng_tail"]
            video_info = {
                "videoId": str(uuid.UUID(int=tail << 64 | tail, version=4)),
                "taskId": task.id,
                "videoUrl": url(task, "video.mp4"),
                "imageUrl": url(task, "thumb.png"),
            }
        params = task.params
        data = {
            "taskId": task.id,
            "parentTaskId": task.parent_id or "",
            "generateParam": {
                "prompt": params.get("prompt", ""),
                "imageUrl": params.get("imageUrl", "") or "",
                "expandPrompt": bool(params.get("expandPrompt", False)),
            },
            "state": stage,
            "generateTime": fmt_space(task.created),
            "videoInfo": video_info,
            "failCode": task.failure.code if stage == "fail" and task.failure else None,
            "failMsg": task.failure.message if stage == "fail" and task.failure else "",
            "expireFlag": 1 if state.expired(task, now) else 0,
        }
        return kie(request, 200, "success", data)

    # ------------------------------------------------------------------ Aleph

    async def aleph_generate(request: Request) -> Response:
        limited = rate_limited(request)
        if limited is not None:
            return limited
        now = clock.now()
        try:
            body = await json_body(request)
            prompt = body.get("prompt")
            video = body.get("videoUrl")
            if not isinstance(prompt, str) or not prompt.strip() or not isinstance(video, str) or not video:
                raise _Reject(422, RUNWAY_BAD_PARAMS)
            aspect = body.get("aspectRatio")
            if aspect is not None and aspect not in ALEPH_RATIOS:
                raise _Reject(422, RUNWAY_BAD_PARAMS)
            seed = body.get("seed")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                raise _Reject(422, RUNWAY_BAD_PARAMS)
            ref = opt_str(body, "referenceImage", 422, RUNWAY_BAD_PARAMS)
            opt_str(body, "waterMark", 422, RUNWAY_BAD_PARAMS)
            if not state.fetchable(video, now) or (ref and not state.fetchable(ref, now)):
                raise _Reject(451, MSG_IMAGE_FETCH)
        except _Reject as rej:
            return kie(request, rej.code, rej.msg)
        price = PRICES["aleph"]
        if not state.try_charge(price):
            return kie(request, 402, MSG_NO_CREDITS)
        if aspect is not None:
            portrait = aspect in PORTRAIT_RATIOS
        else:  # follow the source video when it is one of ours
            path = state.local_path(video)
            src = state.lookup(path, now) if path else None
            portrait = bool(getattr(getattr(src, "clip", None), "portrait", False))

        def build(rng: random.Random) -> tuple[str, str, list[tuple[str, float]], Failure | None]:
            tid = uuid_id(rng)
            failure = runway_failure(prompt)
            return tid, tid, veo_stages(rng, draw_duration(rng, ALEPH_DURATION), failure), failure

        task = new_task(
            family="aleph",
            kind="generate",
            model="runway-aleph",
            params=body,
            price=price,
            build=build,
            clip=ClipKey(portrait, "720p", False),
        )
        add_runway_files(task)
        mark_create(request, task, price)
        return kie(request, 200, "success", {"taskId": task.id})

    async def aleph_record_info(request: Request) -> Response:
        tid = request.query_params.get("taskId")
        task = state.get_task(tid) if tid else None
        if task is None or task.family != "aleph":
            return kie(request, 422, MSG_RECORD_NULL)
        now = clock.now()
        stage, _ = task.stage(now)
        done = stage in ("success", "fail")
        failed = stage == "fail" and task.failure is not None
        data = {
            "taskId": task.id,
            "paramJson": json.dumps(task.params, ensure_ascii=False, separators=(",", ":")),
            "response": {
                "taskId": task.id,
                "resultVideoUrl": url(task, "video.mp4"),
                "resultImageUrl": url(task, "thumb.png"),
            }
            if stage == "success"
            else None,
            "completeTime": fmt_iso(task.done_at) if done else None,
            "createTime": fmt_iso(task.created),
            # Documented: 1 = success; 0 = "failed or in progress" -> look at errorCode/errorMessage.
            "successFlag": 1 if stage == "success" else 0,
            "errorCode": task.failure.code if failed and task.failure else 0,
            "errorMessage": task.failure.message if failed and task.failure else "",
        }
        return kie(request, 200, "success", data)

    # ------------------------------------------------------------------ Common

    async def credit(request: Request) -> Response:
        with state.lock:
            balance = state.credits
        return kie(request, 200, "success", balance)

    async def download_url(request: Request) -> Response:
        try:
            body = await json_body(request)
            target = body.get("url")
            if not isinstance(target, str) or not target:
                raise _Reject(422, "url is required")
        except _Reject as rej:
            return kie(request, rej.code, rej.msg)
        now = clock.now()
        path = state.local_path(target)
        found = state.lookup(path, now) if path else None
        # Only generated results qualify ("must be a kie.ai-generated file"); uploads and
        # external URLs are 422.
        if path is None or not isinstance(found, ResultFile):
            return kie(request, 422, "Only kie.ai generated file URLs are supported.")
        return kie(request, 200, "success", state.make_link(found.path, now))

    # ------------------------------------------------------------------ Unified

    async def unified_create(request: Request) -> Response:
        limited = rate_limited(request, "unified")
        if limited is not None:
            return limited
        now = clock.now()
        try:
            body = await json_body(request)
        except _Reject as rej:
            return unified_error(400, rej.msg)
        model = body.get("model")
        prompt = body.get("prompt")
        if not isinstance(model, str) or model not in UNIFIED_MODELS:
            return unified_error(400, f"model {model!r} is not supported")
        if not isinstance(prompt, str) or not prompt.strip():
            return unified_error(400, "prompt is required")
        images = body.get("images") or []
        if not isinstance(images, list) or not all(isinstance(u, str) for u in images):
            return unified_error(400, "images must be an array of URLs")
        max_images = 1 if model == "veo3-pro-frames" else 3 if model.endswith("-components") else 2
        if len(images) > max_images:
            return unified_error(400, f"model {model} accepts at most {max_images} images")
        aspect = body.get("aspect_ratio") or "16:9"
        if not model.startswith("veo2") and aspect not in ("16:9", "9:16"):
            return unified_error(400, "aspect_ratio must be 16:9 or 9:16")
        upsample = body.get("enable_upsample", False) in (True, "true", "True", 1)
        enhance = body.get("enhance_prompt", False) in (True, "true", "True", 1)
        if not state.try_charge(PRICES["unified"]):
            return unified_error(402, "Insufficient quota", "insufficient_quota")
        images_ok = all(state.fetchable(u, now) for u in images)
        kind = fail_word(prompt)
        gen = VEO_DURATIONS["veo3_fast"] if "fast" in model else VEO_DURATIONS["veo3"]

        def build(rng: random.Random) -> tuple[str, str, list[tuple[str, float]], Failure | None]:
            tid = unified_id(rng, model, now)
            failure: Failure | None = None
            if not images_ok:
                failure = Failure("image_fetch", MSG_UNIFIED_IMAGE, 400)
            elif kind == "content_policy":
                failure = Failure("content_policy", MSG_UNIFIED_UNSAFE, 400)
            elif kind == "generation_failed":
                failure = Failure("generation_failed", MSG_UNIFIED_GEN_FAILED, 500)
            stages = unified_stages(rng, gen, bool(images), upsample, failure)
            return tid, tid.replace(":", "-"), stages, failure

        task = new_task(
            family="unified",
            kind="generate",
            model=model,
            params=body,
            price=PRICES["unified"],
            build=build,
            clip=ClipKey(aspect == "9:16", "4k" if "4k" in model else "720p", False),
        )
        # "Every 3rd by seed": (counter + seed) % 3 == 0 completed tasks keep a stale error text.
        task.stale_error = task.failure is None and (task.counter + cfg.seed) % 3 == 0
        task.extra.update(upsample=upsample, enhance=enhance)
        if task.failure is None:
            gen_end = next(
                (task.created + off for n, off in task.stages if n == "video_upsampling"), task.done_at
            )
            state.add_result(task, "video.mp4", task.clip, available_from=gen_end)
            if upsample:
                state.add_result(task, "video-upsampled.mp4", ClipKey(task.clip.portrait, "1080p", False))
        mark_create(request, task, PRICES["unified"])
        return JSONResponse(
            {"id": task.id, "status": "pending", "status_update_time": ms(now), "enhanced_prompt": ""}
        )

    async def unified_query(request: Request) -> Response:
        tid = request.query_params.get("id")
        if not tid:
            return unified_error(400, "id is required")
        task = state.get_task(tid)
        if task is None or task.family != "unified":
            return unified_error(404, "task not found")
        now = clock.now()
        stage, since = task.stage(now)
        params = task.params
        upsample = bool(task.extra.get("upsample"))
        enhanced = ""
        if task.extra.get("enhance") and stage not in ("pending", "image_downloading"):
            enhanced = f"Cinematic, detailed: {params.get('prompt', '')}"
        tail = task.extra["rng_tail"]
        video_url = None
        upsample_url = None
        gen_status = "MEDIA_GENERATION_STATUS_PENDING"
        if stage in ("video_generating",):
            gen_status = "MEDIA_GENERATION_STATUS_ACTIVE"
        if stage in ("video_upsampling", "completed"):
            gen_status = "MEDIA_GENERATION_STATUS_SUCCESSFUL"
            video_url = url(task, "video.mp4")
        if stage == "completed" and upsample:
            upsample_url = url(task, "video-upsampled.mp4")
        error_message = ""
        gen_error = ""
        if stage == "failed" and task.failure is not None:
            gen_status = "MEDIA_GENERATION_STATUS_FAILED"
            error_message = gen_error = task.failure.message
        elif stage == "completed" and task.stale_error:
            error_message, gen_error = MSG_UNIFIED_STALE, MSG_UNIFIED_UNSAFE
        detail: dict[str, Any] = {
            "id": task.id,
            "req": {
                k: params.get(k)
                for k in ("model", "images", "prompt", "aspect_ratio", "enhance_prompt", "enable_upsample")
                if k in params
            },
            "images": [
                {
                    "url": u,
                    "status": "completed" if stage not in ("pending", "image_downloading") else "pending",
                    "mediaId": f"CAMa{tail:016x}{i}",
                }
                for i, u in enumerate(params.get("images") or [])
            ],
            "status": stage,
            "running": stage not in ("completed", "failed"),
            "video_url": video_url,
            "created_at": ms(task.created),
            "error_sleep": 5000,
            "max_retries": 3,
            "retry_count": 3 if task.stale_error and stage == "completed" else 0,
            "completed_at": ms(task.done_at) if stage in ("completed", "failed") else None,
            "error_message": error_message,
            "enhanced_prompt": enhanced,
            "status_update_time": ms(since),
            "video_generation_status": gen_status,
            "video_generation_error": gen_error,
            "video_generation_id": f"{tail:016x}{task.counter:016x}",
        }
        if upsample:
            detail["upsample_status"] = (
                "MEDIA_GENERATION_STATUS_SUCCESSFUL"
                if stage == "completed"
                else "MEDIA_GENERATION_STATUS_ACTIVE"
                if stage == "video_upsampling"
                else "MEDIA_GENERATION_STATUS_PENDING"
            )
            detail["upsample_video_url"] = upsample_url
        top_url = upsample_url or (video_url if stage == "completed" else None)
        return JSONResponse(
            {
                "id": task.id,
                "detail": detail,
                "status": stage,
                "video_url": top_url,
                "enhanced_prompt": enhanced,
                "status_update_time": ms(since),
            }
        )

    # ------------------------------------------------------------------ /_sim control

    async def sim_journal(request: Request) -> Response:
        since = int(request.query_params.get("since", "0") or 0)
        return JSONResponse([e.to_dict() for e in rt.journal.since(since)])

    async def sim_advance(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            seconds = float(body.get("seconds", 0))
            now = clock.advance(seconds)
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"now": now, "now_str": fmt_space(now)})

    async def sim_faults(request: Request) -> Response:
        if request.method == "DELETE":
            rt.faults.clear()
        elif request.method == "POST":
            try:
                rt.faults.set(list(parse_faults(json.loads(await request.body() or b"[]"))))
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"faults": rt.faults.stats()})

    async def sim_credits(request: Request) -> Response:
        if request.method == "POST":
            try:
                value = int(json.loads(await request.body() or b"{}")["credits"])
            except (ValueError, TypeError, KeyError) as exc:
                return JSONResponse({"error": f'expected {{"credits": N}}: {exc}'}, status_code=400)
            with state.lock:
                state.credits = value
        with state.lock:
            return JSONResponse({"credits": state.credits})

    async def sim_state(request: Request) -> Response:
        now = clock.now()
        with state.lock:
            tasks = list(state.tasks.values())
            credits_now = state.credits
        return JSONResponse(
            {
                "now": now,
                "now_str": fmt_space(now),
                "speed": clock.speed,
                "seed": cfg.seed,
                "credits": credits_now,
                "files_base": state.files_base,
                "journal_entries": len(rt.journal.entries()),
                "faults": rt.faults.stats(),
                "tasks": [
                    {
                        "id": t.id,
                        "family": t.family,
                        "kind": t.kind,
                        "stage": t.stage(now)[0],
                        "done_at": t.done_at,
                    }
                    for t in tasks
                ],
            }
        )

    async def sim_task(request: Request) -> Response:
        task = state.get_task(request.query_params.get("id", ""))
        if task is None:
            return JSONResponse({"error": "no such task"}, status_code=404)
        return JSONResponse(state.describe(task, clock.now()))

    routes = [
        Route("/api/v1/veo/generate", veo_generate, methods=["POST"]),
        Route("/api/v1/veo/record-info", veo_record_info, methods=["GET"]),
        Route("/api/v1/veo/get-1080p-video", veo_1080p, methods=["GET"]),
        Route("/api/v1/veo/get-4k-video", veo_4k, methods=["POST"]),
        Route("/api/v1/veo/extend", veo_extend, methods=["POST"]),
        Route("/api/v1/runway/generate", runway_generate, methods=["POST"]),
        Route("/api/v1/runway/record-detail", runway_record_detail, methods=["GET"]),
        Route("/api/v1/runway/extend", runway_extend, methods=["POST"]),
        Route("/api/v1/aleph/generate", aleph_generate, methods=["POST"]),
        Route("/api/v1/aleph/record-info", aleph_record_info, methods=["GET"]),
        Route("/api/v1/chat/credit", credit, methods=["GET"]),
        Route("/api/v1/common/download-url", download_url, methods=["POST"]),
        Route("/v1/video/create", unified_create, methods=["POST"]),
        Route("/v1/video/query", unified_query, methods=["GET"]),
        Route("/_sim/journal", sim_journal, methods=["GET"]),
        Route("/_sim/advance", sim_advance, methods=["POST"]),
        Route("/_sim/faults", sim_faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sim/credits", sim_credits, methods=["GET", "POST"]),
        Route("/_sim/state", sim_state, methods=["GET"]),
        Route("/_sim/task", sim_task, methods=["GET"]),
    ]
    return Starlette(routes=routes)
