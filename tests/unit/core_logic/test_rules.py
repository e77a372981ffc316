"""core.rules: the validation table shared by the GUI and the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kievideo.api.models import ProviderKind
from kievideo.core import rules
from kievideo.core.jobs import JobKind, JobSpec, Mode
from kievideo.core.rules import (
    MAX_IMAGE_BYTES,
    MESSAGES,
    MODELS,
    Problem,
    SpecError,
    aspect_ratios_for,
    disabled_reason,
    estimate_cost,
    modes_for,
    problems,
    prompt_limit,
    sniff_image,
)

VEO, RUNWAY, ALEPH, UNIFIED = ProviderKind.VEO, ProviderKind.RUNWAY, ProviderKind.ALEPH, ProviderKind.UNIFIED

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 64


@pytest.fixture
def images(tmp_path: Path) -> dict[str, str]:
    out = {}
    for name, data in {
        "a.jpg": JPEG,
        "b.png": PNG,
        "c.webp": WEBP,
        "d.png": PNG,
        "fake.png": b"hello, I am text pretending to be a picture\n",
        "png-named.jpg": PNG,
        "empty.png": b"",
    }.items():
        p = tmp_path / name
        p.write_bytes(data)
        out[name] = str(p)
    big = tmp_path / "big.jpg"
    with open(big, "wb") as fh:
        fh.write(JPEG)
        fh.truncate(MAX_IMAGE_BYTES + 1)
    out["big.jpg"] = str(big)
    (tmp_path / "folder.png").mkdir()
    out["folder.png"] = str(tmp_path / "folder.png")
    out["missing.png"] = str(tmp_path / "missing.png")
    return out


def keys(found: list[Problem]) -> list[str]:
    return [p.key for p in found]


def veo(**kw: object) -> JobSpec:
    base: dict[str, object] = {"provider": VEO, "model": "veo3_fast", "prompt": "a fox in the snow"}
    base.update(kw)
    return JobSpec(**base)  # type: ignore[arg-type]


def runway(**kw: object) -> JobSpec:
    base: dict[str, object] = {
        "provider": RUNWAY,
        "model": "runway",
        "prompt": "a boat",
        "aspect_ratio": "16:9",
    }
    base.update(kw)
    return JobSpec(**base)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------


def test_sniff_by_content_not_extension(images: dict[str, str]) -> None:
    assert sniff_image(images["a.jpg"]) == "image/jpeg"
    assert sniff_image(images["b.png"]) == "image/png"
    assert sniff_image(images["c.webp"]) == "image/webp"
    assert sniff_image(images["png-named.jpg"]) == "image/png"
    assert sniff_image(images["fake.png"]) is None
    assert sniff_image(images["empty.png"]) is None


def test_tables_are_consistent() -> None:
    assert MODELS[VEO] == ("veo3_fast", "veo3", "veo3_lite")
    assert modes_for(VEO, "veo3_fast") == (Mode.TEXT, Mode.IMAGE, Mode.FRAMES, Mode.REFERENCE)
    assert Mode.REFERENCE not in modes_for(VEO, "veo3")
    assert modes_for(RUNWAY, "runway") == (Mode.TEXT, Mode.IMAGE)
    assert modes_for(ALEPH, "aleph") == (Mode.VIDEO,)
    assert modes_for(UNIFIED, "veo3.1-components") == (Mode.REFERENCE,)
    assert modes_for(UNIFIED, "veo3-pro-frames") == (Mode.IMAGE,)
    assert modes_for(VEO, "nope") == ()
    assert aspect_ratios_for(VEO) == ("16:9", "9:16", "Auto")
    assert "21:9" in aspect_ratios_for(ALEPH) and "21:9" not in aspect_ratios_for(RUNWAY)
    assert aspect_ratios_for(UNIFIED) == ("16:9", "9:16")
    assert prompt_limit(RUNWAY) == 1800 and prompt_limit(VEO) == 2000 and prompt_limit(UNIFIED) == 2000
    for provider, models in MODELS.items():
        for model in models:
            assert modes_for(provider, model), (provider, model)
    # every message template formats with the placeholders the code passes (smoke: no stray braces)
    for text in MESSAGES.values():
        assert text.count("{") == text.count("}")


CASES: list[tuple[str, JobSpec, list[str]]] = [
    ("ok text", veo(), []),
    ("empty prompt", veo(prompt="   "), ["prompt_empty"]),
    ("prompt too long veo", veo(prompt="x" * 2001), ["prompt_too_long"]),
    ("prompt at the veo limit", veo(prompt="x" * 2000), []),
    ("prompt too long runway", runway(prompt="y" * 1801), ["prompt_too_long"]),
    ("unknown model", veo(model="veo9"), ["unknown_model"]),
    ("runway model under veo", veo(model="runway"), ["unknown_model"]),
    (
        "reference on veo3",
        veo(model="veo3", mode=Mode.REFERENCE, images=("https://x/a.png",)),
        ["reference_only_fast"],
    ),
    ("reference 0 images", veo(mode=Mode.REFERENCE), ["reference_count"]),
    (
        "reference 4 images",
        veo(mode=Mode.REFERENCE, images=tuple(f"https://x/{i}.png" for i in range(4))),
        ["reference_count"],
    ),
    ("reference 3 urls", veo(mode=Mode.REFERENCE, images=tuple(f"https://x/{i}.png" for i in range(3))), []),
    ("frames 1 image", veo(mode=Mode.FRAMES, images=("https://x/a.png",)), ["frames_needs_two"]),
    (
        "frames 4 images",
        veo(mode=Mode.FRAMES, images=tuple(f"https://x/{i}.png" for i in range(4))),
        ["frames_needs_two"],
    ),
    (
        "image 2 images",
        veo(mode=Mode.IMAGE, images=("https://x/a.png", "https://x/b.png")),
        ["image_needs_one"],
    ),
    ("image none", veo(mode=Mode.IMAGE), ["image_needs_one"]),
    ("text with image", veo(images=("https://x/a.png",)), ["text_no_images"]),
    ("veo seed low", veo(seed=9999), ["seed_range"]),
    ("veo seed high", veo(seed=100000), ["seed_range"]),
    ("veo seed ok", veo(seed=12345), []),
    ("veo aspect bad", veo(aspect_ratio="4:3"), ["aspect_unsupported"]),
    ("veo 4k", veo(quality="4k"), []),
    ("veo duration", veo(duration=5), ["duration_not_offered"]),
    ("runway 10s 1080p", runway(duration=10, quality="1080p"), ["runway_10s_1080p"]),
    ("runway 10s 720p", runway(duration=10, quality="720p"), []),
    ("runway 7s", runway(duration=7), ["duration_unsupported"]),
    ("runway 4k", runway(quality="4k"), ["quality_unsupported"]),
    ("runway text needs aspect", runway(aspect_ratio=None), ["aspect_required"]),
    (
        "runway image without aspect",
        runway(aspect_ratio=None, mode=Mode.IMAGE, images=("https://x/a.png",)),
        [],
    ),
    ("runway frames", runway(mode=Mode.FRAMES, images=("https://x/a", "https://x/b")), ["mode_unsupported"]),
    ("runway seed", runway(seed=12345), ["seed_not_offered"]),
    ("aleph no video", JobSpec(ALEPH, "aleph", "snow", mode=Mode.VIDEO), ["video_needs_url"]),
    (
        "aleph bad video url",
        JobSpec(ALEPH, "aleph", "snow", mode=Mode.VIDEO, video_url="file:///x.mp4"),
        ["video_url_bad"],
    ),
    (
        "aleph ok",
        JobSpec(ALEPH, "aleph", "snow", mode=Mode.VIDEO, video_url="https://x/v.mp4", aspect_ratio="21:9"),
        [],
    ),
    (
        "aleph 2 refs",
        JobSpec(
            ALEPH, "aleph", "s", mode=Mode.VIDEO, video_url="https://x/v", images=("https://a", "https://b")
        ),
        ["video_image_count"],
    ),
    ("video url on veo", veo(video_url="https://x/v.mp4"), ["video_url_unused"]),
    ("unified ok", JobSpec(UNIFIED, "veo3.1-fast", "p", aspect_ratio="9:16", upsample=True), []),
    ("unified 4:3", JobSpec(UNIFIED, "veo3.1-fast", "p", aspect_ratio="4:3"), ["aspect_unsupported"]),
    (
        "unified text-only model with image",
        JobSpec(UNIFIED, "veo3-fast", "p", mode=Mode.IMAGE, images=("https://a",)),
        ["mode_unsupported"],
    ),
    ("upsample on veo", veo(upsample=True), ["upsample_not_offered"]),
    ("bad scheme image", veo(mode=Mode.IMAGE, images=("ftp://host/a.png",)), ["image_bad_url"]),
]


@pytest.mark.parametrize(("name", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_problem_table(name: str, spec: JobSpec, expected: list[str]) -> None:
    assert keys(problems(spec)) == expected


def test_messages_are_actionable() -> None:
    [p] = problems(runway(duration=10, quality="1080p"))
    assert p.message == "Runway cannot make 10-second videos in 1080p: choose 5 s or 720p."
    [p] = problems(veo(prompt="z" * 2345))
    assert "2,345" in p.message and "2,000" in p.message and "345" in p.message
    [p] = problems(veo(model="veo3", mode=Mode.REFERENCE, images=("https://x/a",)))
    assert "veo3_fast" in p.message


def test_local_files_checked_by_content_and_size(images: dict[str, str]) -> None:
    def one(path: str, mode: Mode = Mode.IMAGE) -> list[str]:
        return keys(problems(veo(mode=mode, images=(path,))))

    assert one(images["a.jpg"]) == []
    assert one(images["c.webp"]) == []
    assert one(images["png-named.jpg"]) == []  # a PNG named .jpg is fine: content decides
    assert one(images["fake.png"]) == ["image_wrong_type"]  # a text file renamed .png
    assert one(images["big.jpg"]) == ["image_too_big"]
    assert one(images["missing.png"]) == ["image_missing"]
    assert one(images["folder.png"]) == ["image_not_file"]
    assert one(images["empty.png"]) == ["image_empty"]
    found = problems(veo(mode=Mode.IMAGE, images=(images["big.jpg"],)))
    assert "10 MB" in found[0].message and found[0].field == "images[0]"
    # frames with 4 local images: the count problem plus nothing else (all files are fine)
    four = tuple(images[n] for n in ("a.jpg", "b.png", "c.webp", "d.png"))
    assert keys(problems(veo(mode=Mode.FRAMES, images=four))) == ["frames_needs_two"]
    # check_files=False skips the disk
    assert keys(problems(veo(mode=Mode.IMAGE, images=(images["fake.png"],)), check_files=False)) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unreadable_file(images: dict[str, str]) -> None:
    os.chmod(images["a.jpg"], 0)
    try:
        assert keys(problems(veo(mode=Mode.IMAGE, images=(images["a.jpg"],)))) == ["image_unreadable"]
    finally:
        os.chmod(images["a.jpg"], 0o644)


def test_disabled_reason() -> None:
    r10 = runway(duration=10)
    assert disabled_reason(r10, "quality", "1080p") == MESSAGES["runway_10s_1080p"]
    assert disabled_reason(r10, "quality", "720p") is None
    assert disabled_reason(runway(quality="1080p"), "duration", 10) == MESSAGES["runway_10s_1080p"]
    assert disabled_reason(runway(quality="1080p"), "duration", 5) is None
    assert disabled_reason(veo(model="veo3"), "mode", "reference") == MESSAGES["reference_only_fast"]
    assert disabled_reason(veo(), "mode", "reference") is None
    assert disabled_reason(veo(mode=Mode.REFERENCE), "model", "veo3_lite") == MESSAGES["reference_only_fast"]
    assert disabled_reason(veo(), "aspect_ratio", "21:9") is not None
    assert disabled_reason(runway(mode=Mode.IMAGE), "aspect_ratio", "1:1") == MESSAGES["aspect_image_decides"]
    assert disabled_reason(veo(), "seed", 12345) is None
    assert disabled_reason(runway(), "seed", 12345) is not None
    assert disabled_reason(veo(), "upsample", True) is not None
    assert disabled_reason(JobSpec(UNIFIED, "veo3.1", "p"), "upsample", True) is None
    assert disabled_reason(veo(), "duration", 5) is not None
    assert disabled_reason(runway(), "translate", True) is not None


def test_estimate_cost() -> None:
    assert estimate_cost(veo()) == 60
    assert estimate_cost(veo(model="veo3")) == 250
    assert estimate_cost(veo(model="veo3_lite")) == 30
    assert estimate_cost(veo(quality="1080p")) == 65
    assert estimate_cost(veo(quality="4k")) == 180
    assert estimate_cost(veo(), JobKind.UPGRADE_1080P) == 5
    assert estimate_cost(veo(), JobKind.UPGRADE_4K) == 120
    assert estimate_cost(veo(model="veo3"), JobKind.EXTEND) == 250
    assert estimate_cost(runway()) == 12
    assert estimate_cost(runway(duration=10)) == 30
    assert estimate_cost(runway(quality="1080p")) == 30
    assert estimate_cost(runway(duration=10, quality="1080p")) is None
    assert estimate_cost(runway(quality="1080p"), JobKind.EXTEND) == 30
    assert estimate_cost(JobSpec(ALEPH, "aleph", "p", mode=Mode.VIDEO, video_url="https://v")) == 110
    assert estimate_cost(JobSpec(UNIFIED, "veo3.1", "p")) is None


def test_prices_match_the_simulator() -> None:
    from kievideo.sim.config import PRICES as SIM

    for key in ("veo3_fast", "veo3", "veo3_lite", "veo_1080p", "veo_4k", "aleph"):
        assert rules.PRICES[key] == SIM[key]
    for key in ("runway_720p_5", "runway_720p_10", "runway_1080p_5"):
        assert rules.PRICES[key] == SIM[key]


def test_spec_error_carries_problems() -> None:
    found = problems(veo(prompt=""))
    err = SpecError(found)
    assert isinstance(err, ValueError)
    assert err.problems == found
    assert "prompt" in str(err).lower()
    with pytest.raises(SpecError):
        rules.check(veo(prompt=""))
