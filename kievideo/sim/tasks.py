"""Simulated tasks and their timelines.

A task's whole life is decided at creation from ``random.Random(f"{seed}:{counter}")``: a list
of stages with start offsets (simulated seconds) and a terminal outcome. The current state is
then a pure function of the simulated clock, so polling costs a dict lookup and a bisect, and
advancing the clock needs no background work.

Durations follow the documented minutes (simulated seconds; the clock's speed factor divides
the real wall time):

==========================  ===============================
Veo ``veo3_fast``            90-240 s (1.5-4 min)
Veo ``veo3`` (quality)       180-480 s (3-8 min)
Veo ``veo3_lite``            60-180 s (1-3 min)
Veo ``resolution`` 1080p/4k  + 60-180 s / + 300-600 s
Veo extend                   180-600 s ("several minutes")
Veo 1080p upgrade            60-180 s after the first request
Veo 4K upgrade               300-600 s (5-10 min)
Runway 5 s / 10 s            60-120 s / 120-240 s in total
Runway extend                90-200 s
Aleph                        90-240 s
Unified                      pending 3-15 s, images 3-10 s, generating as Veo fast/quality,
                             upsampling 60-180 s
==========================  ===============================
"""

from __future__ import annotations

import bisect
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .media import ClipKey

# Failure texts, verbatim from the docs.
MSG_CONTENT_POLICY = "Your prompt was flagged by Website as violating content policies."
MSG_IMAGE_FETCH = (
    "Failed to fetch the image. Kindly verify any access limits set by you or your service provider."
)
MSG_ENGLISH_ONLY = "Only English prompts are supported at this time."
MSG_VEO_GEN_FAILED = "Video generation task failed."
MSG_RUNWAY_MODERATION = "Your prompt was caught by our AI moderator."
MSG_RUNWAY_FAILED = "Generation failed, please try again later"
MSG_UNIFIED_UNSAFE = (
    "your request contains unsafe prompt or images, such as porn, violence, minors etc., has been "
    "rejected by google, please change your prompt or images and try again"
)
MSG_UNIFIED_GEN_FAILED = "video generation failed: MEDIA_GENERATION_STATUS_FAILED"
MSG_UNIFIED_IMAGE = "image download failed: the image URL could not be fetched"
#: The stale error text some completed unified tasks carry (from the documented example).
MSG_UNIFIED_STALE = (
    "[403] Request failed with status code 403 | Message: reCAPTCHA evaluation failed | Code: 403 | "
    "Status: PERMISSION_DENIED | Reason: PUBLIC_ERROR_SOMETHING_WENT_WRONG | "
    "Type: type.googleapis.com/google.rpc.ErrorInfo | URL: /v1/video:batchAsyncGenerateVideoStartImage"
)

#: How long generation takes (simulated seconds): (shortest, typical, longest). Drawn by
#: :func:`draw_duration`: a triangular distribution over the three documented-style figures, the
#: standard three-point estimate. Generation time is concentrated around a typical value with a
#: longer tail of slow tasks (busy GPUs, queues); a uniform draw over min..max (what this
#: simulator did before) would say a 90 s and a 240 s Veo fast task are equally common, which no
#: provider's "usually about 2 minutes" describes. Keep the typical values equal to
#: ``kievideo.core.scheduler.DURATIONS`` (tests/sim checks it).
Durations = tuple[float, float, float]
VEO_DURATIONS: dict[str, Durations] = {
    "veo3_fast": (90.0, 150.0, 240.0),
    "veo3": (180.0, 300.0, 480.0),
    "veo3_lite": (60.0, 120.0, 180.0),
}
EXTEND_DURATION: Durations = (180.0, 300.0, 600.0)
HD_DURATION: Durations = (60.0, 120.0, 180.0)
FOURK_DURATION: Durations = (300.0, 450.0, 600.0)
RUNWAY_DURATIONS: dict[int, Durations] = {5: (60.0, 90.0, 120.0), 10: (120.0, 180.0, 240.0)}
RUNWAY_EXTEND_DURATION: Durations = (90.0, 150.0, 200.0)
ALEPH_DURATION: Durations = (90.0, 180.0, 240.0)
NO_DURATION: Durations = (0.0, 0.0, 0.0)


@dataclass
class Failure:
    """How a task ends when it does not succeed (family-specific fields are filled as needed)."""

    reason: str  # content_policy | generation_failed | image_fetch | english_only
    message: str
    code: int  # Veo errorCode / Runway failCode / Aleph errorCode
    success_flag: int = 2  # Veo only: 2 (failed before completion) or 3 (generation failed)


@dataclass
class Task:
    """One simulated task (generation, extension, 4K upgrade, unified job...)."""

    id: str
    family: str  # "veo" | "runway" | "aleph" | "unified"
    kind: str  # "generate" | "extend" | "4k"
    counter: int
    created: float  # simulated epoch seconds
    stages: list[tuple[str, float]]  # (name, offset from created); the last one is terminal
    params: dict[str, Any]  # request as sent (used for paramJson / generateParam / req)
    model: str
    clip: ClipKey
    slug: str  # URL-safe id used in result paths
    price: int
    failure: Failure | None = None
    parent_id: str | None = None
    index_1080p: dict[int, tuple[float, float]] = field(default_factory=dict)  # index -> (asked, ready)
    fourk_task: dict[int, str] = field(default_factory=dict)  # index -> 4K task id
    stale_error: bool = False  # unified: completed but still carrying an old error text
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def done_at(self) -> float:
        return self.created + self.stages[-1][1]

    @property
    def terminal(self) -> str:
        return self.stages[-1][0]

    def stage(self, now: float) -> tuple[str, float]:
        """The stage at ``now`` and the simulated time it began."""
        offsets = [off for _, off in self.stages]
        i = bisect.bisect_right(offsets, now - self.created) - 1
        i = max(i, 0)
        name, off = self.stages[i]
        return name, self.created + off

    def finished(self, now: float) -> bool:
        return now >= self.done_at

    def succeeded(self, now: float) -> bool:
        return self.failure is None and self.finished(now)


def task_rng(seed: int, counter: int) -> random.Random:
    # String seeds hash deterministically (sha512), independent of PYTHONHASHSEED.
    return random.Random(f"{seed}:{counter}")


def hex_id(rng: random.Random) -> str:
    """A 32-char hex id, like real Veo task ids."""
    return f"{rng.getrandbits(128):032x}"


def uuid_id(rng: random.Random) -> str:
    """A UUID4-shaped id, like Runway/Aleph task ids."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def unified_id(rng: random.Random, model: str, now: float) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return f"{model}:{int(now)}-{''.join(rng.choice(alphabet) for _ in range(10))}"


def uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    return round(rng.uniform(*bounds), 3)


def draw_duration(rng: random.Random, figures: Durations) -> float:
    """A generation time from (shortest, typical, longest): triangular, one draw from ``rng``."""
    lo, typical, hi = figures
    if hi <= lo:
        rng.random()  # keep the stream's length independent of the figures
        return round(lo, 3)
    return round(rng.triangular(lo, hi, min(max(typical, lo), hi)), 3)


def veo_stages(rng: random.Random, total: float, failure: Failure | None) -> list[tuple[str, float]]:
    """Veo shows successFlag 0 from creation to the end; a short queue precedes generation."""
    queue = uniform(rng, (2.0, 10.0))
    if failure is None:
        return [("queued", 0.0), ("generating", queue), ("success", queue + total)]
    if failure.reason == "generation_failed":
        at = queue + total  # upstream ran the whole generation, then failed
    elif failure.reason in ("image_fetch", "english_only"):
        return [("queued", 0.0), ("fail", queue + uniform(rng, (3.0, 15.0)))]
    else:  # content policy: moderation answers early
        at = queue + uniform(rng, (10.0, 40.0))
    return [("queued", 0.0), ("generating", queue), ("fail", at)]


def runway_stages(rng: random.Random, total: float, failure: Failure | None) -> list[tuple[str, float]]:
    wait = uniform(rng, (2.0, 8.0))
    queueing = wait + uniform(rng, (5.0, 25.0))
    stages = [("wait", 0.0), ("queueing", wait), ("generating", queueing)]
    if failure is None:
        stages.append(("success", max(total, queueing + 20.0)))
    elif failure.reason == "generation_failed":
        stages.append(("fail", max(total, queueing + 20.0)))
    else:
        stages.append(("fail", queueing + uniform(rng, (5.0, 20.0))))
    return stages


def unified_stages(
    rng: random.Random,
    gen: Durations,
    has_images: bool,
    upsample: bool,
    failure: Failure | None,
    *,
    draw: Callable[[random.Random, Durations], float] = draw_duration,
) -> list[tuple[str, float]]:
    """``draw`` picks the generation times (bench.polling swaps in a uniform draw to compare)."""
    t = uniform(rng, (3.0, 15.0))
    stages: list[tuple[str, float]] = [("pending", 0.0)]
    if has_images:
        stages.append(("image_downloading", t))
        t += uniform(rng, (3.0, 10.0))
        if failure is not None and failure.reason == "image_fetch":
            stages.append(("failed", t))
            return stages
    stages.append(("video_generating", t))
    if failure is not None:
        if failure.reason == "generation_failed":
            t += draw(rng, gen)
        else:
            t += uniform(rng, (10.0, 40.0))
        stages.append(("failed", t))
        return stages
    t += draw(rng, gen)
    if upsample:
        stages.append(("video_upsampling", t))
        t += draw(rng, HD_DURATION)
    stages.append(("completed", t))
    return stages
