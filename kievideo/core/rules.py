"""Pure validation of a :class:`~kievideo.core.jobs.JobSpec`, shared by the GUI and the CLI.

Nothing here does network or Qt work; the only I/O is reading the first bytes and the size of
local image files. Every message a person can see lives in :data:`MESSAGES` (plain English,
``str.format`` placeholders) so the UI can wrap them for translation in one place.

Where a number is not documented by the provider, the constant says where it comes from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import JobKind, JobSpec, Mode

# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

#: Model ids per provider family. kie.ai ids use underscores (``veo3_fast``); the aggregators'
#: unified API uses dashes and dots (``veo3.1-fast``) - an id like ``veo3`` means different things
#: on each API, so the map is per provider (api-reference §9.11). Runway and Aleph have no model
#: field on the wire; ``"runway"``/``"aleph"`` are friendly ids for the UI and the store.
MODELS: dict[ProviderKind, tuple[str, ...]] = {
    ProviderKind.VEO: ("veo3_fast", "veo3", "veo3_lite"),
    ProviderKind.RUNWAY: ("runway",),
    ProviderKind.ALEPH: ("aleph",),
    ProviderKind.UNIFIED: (
        "veo3.1-fast",
        "veo3.1",
        "veo3.1-pro",
        "veo3.1-components",
        "veo3.1-4k",
        "veo3.1-pro-4k",
        "veo3-fast",
        "veo3",
        "veo3-pro",
        "veo3-fast-frames",
        "veo3-frames",
        "veo3-pro-frames",
    ),
}

#: Human labels for model ids (UI combo boxes, CLI listings).
MODEL_LABELS: dict[str, str] = {
    "veo3_fast": "Veo 3.1 Fast",
    "veo3": "Veo 3.1 Quality",
    "veo3_lite": "Veo 3.1 Lite",
    "runway": "Runway",
    "aleph": "Runway Aleph (video to video)",
}

PROVIDER_LABELS: dict[ProviderKind, str] = {
    ProviderKind.VEO: "Veo 3.1",
    ProviderKind.RUNWAY: "Runway",
    ProviderKind.ALEPH: "Runway Aleph",
    ProviderKind.UNIFIED: "Unified video API",
}

_ALL_IMAGE_MODES = (Mode.TEXT, Mode.IMAGE, Mode.FRAMES)

#: Unified API modes per model (api-reference §8.2): the plain veo3.1 ids adapt to text / first
#: frame / first+last frames by image count; ``-frames`` ids take 1-2 images (``veo3-pro-frames``
#: only a first frame); ``-components`` take 1-3 reference images; plain veo3 ids are text only.
_UNIFIED_MODES: dict[str, tuple[Mode, ...]] = {
    "veo3.1-fast": _ALL_IMAGE_MODES,
    "veo3.1": _ALL_IMAGE_MODES,
    "veo3.1-pro": _ALL_IMAGE_MODES,
    "veo3.1-4k": _ALL_IMAGE_MODES,
    "veo3.1-pro-4k": _ALL_IMAGE_MODES,
    "veo3.1-components": (Mode.REFERENCE,),
    "veo3-fast": (Mode.TEXT,),
    "veo3": (Mode.TEXT,),
    "veo3-pro": (Mode.TEXT,),
    "veo3-fast-frames": (Mode.IMAGE, Mode.FRAMES),
    "veo3-frames": (Mode.IMAGE, Mode.FRAMES),
    "veo3-pro-frames": (Mode.IMAGE,),
}

#: Aspect ratios per provider (§2.1, §3.1, §3.4, §8.2). ``None`` (not chosen) is always allowed
#: except for Runway text mode, which requires one.
ASPECT_RATIOS: dict[ProviderKind, tuple[str, ...]] = {
    ProviderKind.VEO: ("16:9", "9:16", "Auto"),
    ProviderKind.RUNWAY: ("16:9", "4:3", "1:1", "3:4", "9:16"),
    ProviderKind.ALEPH: ("16:9", "9:16", "4:3", "3:4", "1:1", "21:9"),
    ProviderKind.UNIFIED: ("16:9", "9:16"),
}

#: Runway clip lengths (§3.1). Other providers have no duration field (§10: Veo duration unverified).
RUNWAY_DURATIONS: tuple[int, ...] = (5, 10)
RUNWAY_QUALITIES: tuple[str, ...] = ("720p", "1080p")
#: Veo V-D ``resolution`` (§2.1).
VEO_QUALITIES: tuple[str, ...] = ("720p", "1080p", "4k")
#: Defaults the adapters send when the spec leaves a field empty.
RUNWAY_DEFAULT_DURATION = 5
RUNWAY_DEFAULT_QUALITY = "720p"

#: Runway: 1800 characters, documented (§1.8, §3.1). Aleph is a Runway model whose page gives no
#: cap, so the Runway figure applies. Veo: kie.ai documents no maximum (§2.1, §10); 2000 is the
#: figure one aggregator family documents for the same upstream model, and it stays under the
#: 2048-character upstream cap quoted in a Runway failure text, so an over-long prompt is stopped
#: here instead of becoming a paid failure. Unified: 2000 for the same reason (§10).
PROMPT_LIMITS: dict[ProviderKind, int] = {
    ProviderKind.VEO: 2000,
    ProviderKind.RUNWAY: 1800,
    ProviderKind.ALEPH: 1800,
    ProviderKind.UNIFIED: 2000,
}

#: Veo ``seeds`` range (§2.1, §2.5).
VEO_SEED_MIN = 10000
VEO_SEED_MAX = 99999

#: Largest local image accepted. The File Upload API says base64 upload is meant for small files
#: such as images and that files over 10 MB should be streamed (§5): 10 MB is the provider's own
#: line between "an image" and "a large file". kievideo streams anyway, but an input image never
#: needs more (the output is at most 4K), and a bigger file only slows the upload and the
#: provider's fetch of it (a slow fetch fails the paid task with 451).
MAX_IMAGE_BYTES = 10 * 1024 * 1024

IMAGE_TYPES: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")

#: Credits per paid request; the same table as the simulator (``kievideo/sim/config.py`` PRICES).
PRICES: dict[str, int] = {
    "veo3_fast": 60,
    "veo3": 250,
    "veo3_lite": 30,
    "veo_1080p": 5,
    "veo_4k": 120,
    "runway_720p_5": 12,
    "runway_720p_10": 30,
    "runway_1080p_5": 30,
    "aleph": 110,
}

#: Veo extend ``model`` values (§2.5) per generation model.
VEO_EXTEND_MODEL: dict[str, str] = {"veo3_fast": "fast", "veo3": "quality", "veo3_lite": "lite"}

# --------------------------------------------------------------------------------------------
# Messages (the one place; plain English; str.format placeholders)
# --------------------------------------------------------------------------------------------

MESSAGES: Mapping[str, str] = {
    "prompt_empty": "Write a prompt: describe the video you want.",
    "prompt_too_long": (
        "The prompt is {length:,} characters long; {provider} accepts at most {limit:,}. "
        "Shorten it by {excess:,} characters."
    ),
    "unknown_model": "{provider} has no model called '{model}'. Choose one of: {choices}.",
    "mode_unsupported": "{model_label} cannot make {mode_label} videos. Choose one of: {choices}.",
    "reference_only_fast": (
        "Reference images work only with Veo 3.1 Fast (veo3_fast). Switch the model to veo3_fast "
        "or choose another mode."
    ),
    "text_no_images": "Text-to-video takes no images: remove the {count} image(s) or choose an image mode.",
    "image_needs_one": "Image-to-video needs exactly 1 image; you gave {count}.",
    "frames_needs_two": (
        "First-and-last-frame mode needs exactly 2 images (first frame, then last frame); you gave {count}."
    ),
    "reference_count": "Reference mode needs 1 to 3 reference images; you gave {count}.",
    "video_image_count": "Video-to-video takes at most 1 reference image; you gave {count}.",
    "video_needs_url": ("Runway Aleph transforms an existing video: enter the video's public http(s) link."),
    "video_url_bad": "The video link must start with http:// or https:// ('{url}').",
    "video_url_unused": "Only video-to-video mode (Runway Aleph) takes a video link; clear it.",
    "aspect_required": ("Runway text-to-video needs an aspect ratio: choose one of {choices}."),
    "aspect_unsupported": "{provider} does not offer the aspect ratio {value}. Choose one of: {choices}.",
    "aspect_image_decides": "With an image, Runway takes the aspect ratio from the image.",
    "duration_unsupported": "{provider} offers {choices} second clips, not {value} seconds.",
    "duration_not_offered": "{provider} does not let you choose the video length.",
    "quality_unsupported": "{provider} offers {choices}, not '{value}'.",
    "quality_not_offered": "{provider} does not let you choose the quality.",
    "runway_10s_1080p": "Runway cannot make 10-second videos in 1080p: choose 5 s or 720p.",
    "seed_range": "The seed must be a whole number from 10000 to 99999 (you gave {value}).",
    "seed_negative": "The seed must be a whole number of 0 or more (you gave {value}).",
    "seed_not_offered": "{provider} does not take a seed; clear the seed field.",
    "upsample_not_offered": "Upscaling (enable_upsample) is only offered by unified video APIs.",
    "image_bad_url": ("Image {index}: '{value}' is neither a local file nor an http(s) link."),
    "image_missing": "Image {index}: the file {path} does not exist (was it moved or renamed?).",
    "image_not_file": "Image {index}: {path} is a folder, not an image file.",
    "image_unreadable": "Image {index}: {path} cannot be read ({reason}). Check its permissions.",
    "image_empty": "Image {index}: {path} is empty (0 bytes).",
    "image_wrong_type": (
        "Image {index}: {path} is not a JPEG, PNG or WebP image (checked by its content, not its "
        "name). Export it as JPEG or PNG and try again."
    ),
    "image_too_big": (
        "Image {index}: {path} is {size_mb:.1f} MB; the limit is {limit_mb:.0f} MB. Save it smaller "
        "(for example as JPEG, or at most 4K wide): a bigger file only slows the upload and the "
        "provider's download of it."
    ),
    "mode_no_choice": "{provider} has no '{value}' mode.",
    "model_mode_mismatch": "{model_label} cannot make {mode_label} videos.",
    "translate_not_offered": "{provider} does not translate prompts.",
}

MODE_LABELS: dict[Mode, str] = {
    Mode.TEXT: "text-to-video",
    Mode.IMAGE: "image-to-video",
    Mode.FRAMES: "first-and-last-frame",
    Mode.REFERENCE: "reference-image",
    Mode.VIDEO: "video-to-video",
}


def message(key: str, **kw: object) -> str:
    """The message ``key`` with its placeholders filled in."""
    return MESSAGES[key].format(**kw)


# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a spec: which field, and what to do about it.

    ``key`` names the entry of :data:`MESSAGES` the text came from (for translation/tests).
    """

    field: str
    message: str
    key: str = ""

    def __str__(self) -> str:
        return self.message


class SpecError(ValueError):
    """Raised by ``TaskService.submit`` for an invalid spec; nothing was written or sent."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems) or "invalid job")


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


def model_label(model: str) -> str:
    return MODEL_LABELS.get(model, model)


def provider_label(provider: ProviderKind) -> str:
    return PROVIDER_LABELS.get(provider, str(provider))


def modes_for(provider: ProviderKind, model: str) -> tuple[Mode, ...]:
    """The modes ``model`` offers (empty for an unknown model)."""
    if model not in MODELS.get(provider, ()):
        return ()
    if provider is ProviderKind.VEO:
        if model == "veo3_fast":
            return (Mode.TEXT, Mode.IMAGE, Mode.FRAMES, Mode.REFERENCE)
        return _ALL_IMAGE_MODES
    if provider is ProviderKind.RUNWAY:
        return (Mode.TEXT, Mode.IMAGE)
    if provider is ProviderKind.ALEPH:
        return (Mode.VIDEO,)
    return _UNIFIED_MODES.get(model, ())


def aspect_ratios_for(provider: ProviderKind) -> tuple[str, ...]:
    return ASPECT_RATIOS.get(provider, ())


def durations_for(provider: ProviderKind, model: str | None = None) -> tuple[int, ...]:
    """Selectable clip lengths in seconds (empty: the provider decides)."""
    return RUNWAY_DURATIONS if provider is ProviderKind.RUNWAY else ()


def qualities_for(provider: ProviderKind, model: str | None = None) -> tuple[str, ...]:
    """Selectable qualities/resolutions (empty: not offered)."""
    if provider is ProviderKind.RUNWAY:
        return RUNWAY_QUALITIES
    if provider is ProviderKind.VEO:
        return VEO_QUALITIES
    return ()


def prompt_limit(provider: ProviderKind, model: str | None = None) -> int | None:
    """Maximum prompt length in characters (see :data:`PROMPT_LIMITS` for the sources)."""
    return PROMPT_LIMITS.get(provider)


def image_range(mode: Mode) -> tuple[int, int]:
    """(min, max) number of images a mode takes."""
    return {
        Mode.TEXT: (0, 0),
        Mode.IMAGE: (1, 1),
        Mode.FRAMES: (2, 2),
        Mode.REFERENCE: (1, 3),
        Mode.VIDEO: (0, 1),
    }[mode]


def takes_seed(provider: ProviderKind) -> bool:
    return provider in (ProviderKind.VEO, ProviderKind.ALEPH)


def is_url(value: str) -> bool:
    low = value.strip().lower()
    return low.startswith("http://") or low.startswith("https://")


def sniff_image(path: str | os.PathLike[str]) -> str | None:
    """The image type of a file by its first bytes (JPEG, PNG or WebP), else None.

    The extension is never consulted: a text file renamed ``.png`` is not an image.
    Raises OSError when the file cannot be opened.
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\x89PNG"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def local_image_problem(index: int, value: str) -> Problem | None:
    """Check one entry of ``JobSpec.images``; URLs are the provider's business."""
    field = f"images[{index}]"
    n = index + 1
    if is_url(value):
        return None
    if "://" in value:
        return Problem(field, message("image_bad_url", index=n, value=value), "image_bad_url")
    path = Path(value).expanduser()
    try:
        st = path.stat()
    except FileNotFoundError:
        return Problem(field, message("image_missing", index=n, path=path), "image_missing")
    except OSError as exc:
        return Problem(
            field,
            message("image_unreadable", index=n, path=path, reason=exc.strerror or exc),
            "image_unreadable",
        )
    if path.is_dir():
        return Problem(field, message("image_not_file", index=n, path=path), "image_not_file")
    if st.st_size == 0:
        return Problem(field, message("image_empty", index=n, path=path), "image_empty")
    try:
        kind = sniff_image(path)
    except OSError as exc:
        return Problem(
            field,
            message("image_unreadable", index=n, path=path, reason=exc.strerror or exc),
            "image_unreadable",
        )
    if kind is None:
        return Problem(field, message("image_wrong_type", index=n, path=path), "image_wrong_type")
    if st.st_size > MAX_IMAGE_BYTES:
        return Problem(
            field,
            message(
                "image_too_big",
                index=n,
                path=path,
                size_mb=st.st_size / (1024 * 1024),
                limit_mb=MAX_IMAGE_BYTES / (1024 * 1024),
            ),
            "image_too_big",
        )
    return None


def _p(field: str, key: str, **kw: object) -> Problem:
    return Problem(field, message(key, **kw), key)


def _choices(values: tuple[object, ...]) -> str:
    return ", ".join(str(v) for v in values)


def problems(spec: JobSpec, *, check_files: bool = True) -> list[Problem]:
    """Everything wrong with ``spec``; an empty list means it may be submitted.

    ``check_files=False`` skips reading local images (for live UI checks on every keystroke).
    """
    out: list[Problem] = []
    prov = spec.provider
    plabel = provider_label(prov)
    models = MODELS.get(prov, ())

    # prompt
    text = spec.prompt or ""
    if not text.strip():
        out.append(_p("prompt", "prompt_empty"))
    else:
        limit = prompt_limit(prov, spec.model)
        if limit is not None and len(text) > limit:
            out.append(
                _p(
                    "prompt",
                    "prompt_too_long",
                    length=len(text),
                    provider=plabel,
                    limit=limit,
                    excess=len(text) - limit,
                )
            )

    # model and mode
    if spec.model not in models:
        out.append(_p("model", "unknown_model", provider=plabel, model=spec.model, choices=_choices(models)))
        modes: tuple[Mode, ...] = ()
    else:
        modes = modes_for(prov, spec.model)
        if spec.mode not in modes:
            if prov is ProviderKind.VEO and spec.mode is Mode.REFERENCE:
                out.append(_p("mode", "reference_only_fast"))
            else:
                out.append(
                    _p(
                        "mode",
                        "mode_unsupported",
                        model_label=model_label(spec.model),
                        mode_label=MODE_LABELS[spec.mode],
                        choices=", ".join(MODE_LABELS[m] for m in modes),
                    )
                )

    # images: count for the mode, then each local file
    count = len(spec.images)
    if spec.mode is Mode.TEXT and count:
        out.append(_p("images", "text_no_images", count=count))
    elif spec.mode is Mode.IMAGE and count != 1:
        out.append(_p("images", "image_needs_one", count=count))
    elif spec.mode is Mode.FRAMES and count != 2:
        out.append(_p("images", "frames_needs_two", count=count))
    elif spec.mode is Mode.REFERENCE and not 1 <= count <= 3:
        out.append(_p("images", "reference_count", count=count))
    elif spec.mode is Mode.VIDEO and count > 1:
        out.append(_p("images", "video_image_count", count=count))
    if check_files:
        for i, img in enumerate(spec.images):
            pr = local_image_problem(i, img)
            if pr is not None:
                out.append(pr)
    else:
        for i, img in enumerate(spec.images):
            if "://" in img and not is_url(img):
                out.append(_p(f"images[{i}]", "image_bad_url", index=i + 1, value=img))

    # video link (Aleph)
    if spec.mode is Mode.VIDEO or prov is ProviderKind.ALEPH:
        if not (spec.video_url or "").strip():
            out.append(_p("video_url", "video_needs_url"))
        elif not is_url(spec.video_url or ""):
            out.append(_p("video_url", "video_url_bad", url=spec.video_url))
    elif spec.video_url:
        out.append(_p("video_url", "video_url_unused"))

    # aspect ratio
    ratios = aspect_ratios_for(prov)
    if spec.aspect_ratio is not None and spec.aspect_ratio not in ratios:
        out.append(
            _p(
                "aspect_ratio",
                "aspect_unsupported",
                provider=plabel,
                value=spec.aspect_ratio,
                choices=_choices(ratios),
            )
        )
    if prov is ProviderKind.RUNWAY and spec.mode is Mode.TEXT and spec.aspect_ratio is None:
        out.append(_p("aspect_ratio", "aspect_required", choices=_choices(ratios)))

    # duration / quality
    durs = durations_for(prov, spec.model)
    if spec.duration is not None:
        if not durs:
            out.append(_p("duration", "duration_not_offered", provider=plabel))
        elif spec.duration not in durs:
            out.append(
                _p(
                    "duration",
                    "duration_unsupported",
                    provider=plabel,
                    value=spec.duration,
                    choices=_choices(durs),
                )
            )
    quals = qualities_for(prov, spec.model)
    if spec.quality is not None:
        if not quals:
            out.append(_p("quality", "quality_not_offered", provider=plabel))
        elif spec.quality not in quals:
            out.append(
                _p(
                    "quality",
                    "quality_unsupported",
                    provider=plabel,
                    value=spec.quality,
                    choices=_choices(quals),
                )
            )
    if prov is ProviderKind.RUNWAY and spec.duration == 10 and spec.quality == "1080p":
        out.append(_p("quality", "runway_10s_1080p"))

    # seed
    if spec.seed is not None:
        if not takes_seed(prov):
            out.append(_p("seed", "seed_not_offered", provider=plabel))
        elif prov is ProviderKind.VEO and not VEO_SEED_MIN <= spec.seed <= VEO_SEED_MAX:
            out.append(_p("seed", "seed_range", value=spec.seed))
        elif spec.seed < 0:
            out.append(_p("seed", "seed_negative", value=spec.seed))

    if spec.upsample and prov is not ProviderKind.UNIFIED:
        out.append(_p("upsample", "upsample_not_offered"))
    return out


def check(spec: JobSpec) -> None:
    """Raise :class:`SpecError` when ``spec`` has problems."""
    found = problems(spec)
    if found:
        raise SpecError(found)


def disabled_reason(spec: JobSpec, field: str, value: object) -> str | None:
    """Why the UI should grey out ``value`` for ``field`` given the rest of ``spec`` (None: allowed).

    Fields: ``model``, ``mode``, ``aspect_ratio``, ``duration``, ``quality``, ``seed``,
    ``upsample``, ``translate``. Only combination rules live here; content problems (an empty
    prompt, a missing file) are for :func:`problems`.
    """
    prov = spec.provider
    plabel = provider_label(prov)
    if field == "model":
        models = MODELS.get(prov, ())
        if value not in models:
            return message("unknown_model", provider=plabel, model=value, choices=_choices(models))
        modes = modes_for(prov, str(value))
        if spec.mode not in modes:
            if prov is ProviderKind.VEO and spec.mode is Mode.REFERENCE:
                return message("reference_only_fast")
            return message(
                "model_mode_mismatch", model_label=model_label(str(value)), mode_label=MODE_LABELS[spec.mode]
            )
        return None
    if field == "mode":
        try:
            mode = Mode(str(value))
        except ValueError:
            return message("mode_no_choice", provider=plabel, value=value)
        modes = modes_for(prov, spec.model)
        if mode in modes:
            return None
        if prov is ProviderKind.VEO and mode is Mode.REFERENCE:
            return message("reference_only_fast")
        return message(
            "mode_unsupported",
            model_label=model_label(spec.model),
            mode_label=MODE_LABELS[mode],
            choices=", ".join(MODE_LABELS[m] for m in modes) or "none",
        )
    if field == "aspect_ratio":
        ratios = aspect_ratios_for(prov)
        if value is not None and value not in ratios:
            return message("aspect_unsupported", provider=plabel, value=value, choices=_choices(ratios))
        if prov is ProviderKind.RUNWAY and spec.mode is Mode.IMAGE:
            return message("aspect_image_decides")
        return None
    if field == "duration":
        durs = durations_for(prov, spec.model)
        if value is None:
            return None
        if not durs:
            return message("duration_not_offered", provider=plabel)
        if value not in durs:
            return message("duration_unsupported", provider=plabel, value=value, choices=_choices(durs))
        if prov is ProviderKind.RUNWAY and value == 10 and spec.quality == "1080p":
            return message("runway_10s_1080p")
        return None
    if field == "quality":
        quals = qualities_for(prov, spec.model)
        if value is None:
            return None
        if not quals:
            return message("quality_not_offered", provider=plabel)
        if value not in quals:
            return message("quality_unsupported", provider=plabel, value=value, choices=_choices(quals))
        if prov is ProviderKind.RUNWAY and value == "1080p" and spec.duration == 10:
            return message("runway_10s_1080p")
        return None
    if field == "seed":
        return None if takes_seed(prov) else message("seed_not_offered", provider=plabel)
    if field == "upsample":
        return None if prov is ProviderKind.UNIFIED or not value else message("upsample_not_offered")
    if field == "translate":
        if prov in (ProviderKind.VEO, ProviderKind.UNIFIED):
            return None
        return message("translate_not_offered", provider=plabel)
    return None


def estimate_cost(spec: JobSpec, kind: JobKind = JobKind.GENERATE) -> int | None:
    """Credits the request is expected to cost, or None when unknown.

    The table is the simulator's (kie.ai publishes no complete price list; 1080p 5 and 4K 120
    come from its examples). Unified APIs bill their own accounts: None.
    For ``kind`` UPGRADE_1080P/UPGRADE_4K/EXTEND, ``spec`` is the parent's spec.
    """
    prov = spec.provider
    if prov is ProviderKind.VEO:
        if kind is JobKind.UPGRADE_1080P:
            return PRICES["veo_1080p"]
        if kind is JobKind.UPGRADE_4K:
            return PRICES["veo_4k"]
        base = PRICES.get(spec.model)
        if base is None:
            return None
        if kind is JobKind.EXTEND:
            return base
        extra = {"1080p": PRICES["veo_1080p"], "4k": PRICES["veo_4k"]}.get(spec.quality or "720p", 0)
        return base + extra
    if prov is ProviderKind.RUNWAY:
        if kind in (JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K):
            return None
        quality = spec.quality or RUNWAY_DEFAULT_QUALITY
        duration = spec.duration or RUNWAY_DEFAULT_DURATION
        if kind is JobKind.EXTEND:
            duration = RUNWAY_DEFAULT_DURATION
        return PRICES.get(f"runway_{quality}_{duration}")
    if prov is ProviderKind.ALEPH:
        return PRICES["aleph"] if kind is JobKind.GENERATE else None
    return None


def child_kinds(spec: JobSpec) -> tuple[JobKind, ...]:
    """Follow-up requests a finished job of this spec can make (UI context menu)."""
    if spec.provider is ProviderKind.VEO:
        return (JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K, JobKind.EXTEND)
    if spec.provider is ProviderKind.RUNWAY:
        return (JobKind.EXTEND,)
    return ()
