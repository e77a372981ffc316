"""Library file names: informative, deterministic, and safe whatever the server sends."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import Job, JobKind, JobSpec
from kievideo.core.naming import (
    guess_extension,
    is_reserved_windows_name,
    job_filename,
    library_filename,
    part_path,
    safe_token,
    sanitize_filename,
    slugify,
    unique_path,
)

NOON = time.mktime((2026, 11, 21, 12, 0, 0, 0, 0, -1))  # local noon: the date is stable in any zone


def test_slugify() -> None:
    assert slugify("A cat surfing a wave!") == "a-cat-surfing-a-wave"
    assert slugify("Un chat qui surfe, à l'aube — ﬁn") == "un-chat-qui-surfe-a-l-aube-fin"
    assert slugify("Кот на доске") == "video"  # nothing ASCII left
    assert slugify("") == "video" and slugify("!!!") == "video"
    long = slugify("word " * 30)
    assert len(long) <= 40 and not long.endswith("-") and long.endswith("word")
    assert len(slugify("x" * 100)) == 40
    assert set(slugify("../../etc/passwd\x00 C:\\Windows")) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


def test_safe_token() -> None:
    assert safe_token("veo3-fast:1234-abc") == "veo3-fast-1234-abc"
    assert safe_token("../../x") == "x"
    assert safe_token("") == "x" and safe_token(None) == "x"
    assert len(safe_token("a" * 500)) == 64


def test_library_filename_shape() -> None:
    name = library_filename(
        created_at=NOON, model="veo3_fast", prompt="A cat surfing a wave", task_id="veo3-fast:1234/../abc"
    )
    assert name == "2026-11-21_veo3_fast_a-cat-surfing-a-wave_veo3-fast-1234-abc.mp4"
    for kind, suffix in (
        (JobKind.UPGRADE_1080P, "_1080p"),
        (JobKind.UPGRADE_4K, "_4k"),
        (JobKind.EXTEND, "_ext"),
    ):
        n = library_filename(created_at=NOON, model="veo3", prompt="p", task_id="t", kind=kind)
        assert n == f"2026-11-21_veo3_p_t{suffix}.mp4"
    assert (
        library_filename(created_at=NOON, model="veo3.1-fast", prompt="", task_id=None, index=1, ext=".EXE")
        == "2026-11-21_veo3-1-fast_video_v2.mp4"
    )
    job = Job(
        id="j",
        spec=JobSpec(provider=ProviderKind.VEO, model="veo3", prompt="Hi"),
        created_at=NOON,
        task_id="abc",
    )
    assert job_filename(job, ext=".webm") == "2026-11-21_veo3_hi_abc.webm"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..", "file"),
        ("...", "file"),
        ("C:\\Users\\me\\evil.mp4", "evil.mp4"),
        ("con.mp4", "_con.mp4"),
        ("LPT1", "_LPT1"),
        ('a<b>c:d"e|f?g*h.mp4', "a_b_c_d_e_f_g_h.mp4"),
        ("name. . ", "name"),
        (".hidden", "hidden"),
        ("ok\x00\x1fname.mp4", "ok_name.mp4"),
    ],
)
def test_sanitize_filename(raw: str, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_sanitize_filename_bounds_length_and_keeps_extension() -> None:
    out = sanitize_filename("é" * 300 + ".mp4")
    assert out.endswith(".mp4") and len(out.encode()) <= 200


def test_reserved_names() -> None:
    assert is_reserved_windows_name("NUL.txt") and is_reserved_windows_name("com1")
    assert not is_reserved_windows_name("console.mp4") and not is_reserved_windows_name("2026-11-21_con")


def test_guess_extension() -> None:
    assert guess_extension("https://x/y/video.MOV?sig=1") == ".mov"
    assert guess_extension("https://x/y/a.jpeg") == ".jpg"
    assert guess_extension("https://x/y/a.exe") == ".mp4"
    assert guess_extension("https://x/y/a", "video/webm; charset=x") == ".webm"
    assert guess_extension(None, "application/octet-stream") == ".mp4"


def test_unique_path_never_reuses_files_or_parts(tmp_path: Path) -> None:
    first = unique_path(tmp_path, "v.mp4")
    assert first == tmp_path / "v.mp4"
    first.write_bytes(b"x")
    second = unique_path(tmp_path, "v.mp4")
    assert second == tmp_path / "v-2.mp4"
    part_path(second).write_bytes(b"partial of another job")
    assert unique_path(tmp_path, "v.mp4") == tmp_path / "v-3.mp4"
    assert unique_path(tmp_path, "../../v.mp4").parent == tmp_path


def test_unique_path_reserve_claims_the_name(tmp_path: Path) -> None:
    a = unique_path(tmp_path, "v.mp4", reserve=True)
    b = unique_path(tmp_path, "v.mp4", reserve=True)
    assert a != b
    assert part_path(a).exists() and part_path(a).stat().st_size == 0
    assert not a.exists()
