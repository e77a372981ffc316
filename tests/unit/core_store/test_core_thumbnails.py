"""Poster frames from a real H.264 MP4 made with PyAV, cached by (path, mtime, size)."""

from __future__ import annotations

import os
from pathlib import Path

import av
import pytest

from kievideo.core import thumbnails
from kievideo.core.thumbnails import ThumbnailError, poster_frame, sniff_image_type, thumb_cache_path

W, H, FPS = 320, 180, 24


def make_mp4(path: Path, seconds: int = 2, w: int = W, h: int = H) -> Path:
    """Frames change colour over time: red first, blue from 25 % on (so 10 % is still red)."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        n = seconds * FPS
        for i in range(n):
            colour = (230, 20, 20) if i < n // 4 else (20, 20, 230)
            f = av.VideoFrame(w, h, "rgb24")
            f.planes[0].update(bytes(colour) * (w * h))
            f.pts = i
            out.mux(vs.encode(f))
        out.mux(vs.encode())
    return path


@pytest.fixture(scope="module")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mp4(tmp_path_factory.mktemp("media") / "sample.mp4")


def _decode(jpeg: Path) -> av.VideoFrame:
    with av.open(str(jpeg)) as c:
        return next(c.decode(video=0))


def test_poster_is_a_scaled_jpeg_of_the_frame_at_ten_percent(tmp_path: Path, sample_mp4: Path) -> None:
    out = poster_frame(sample_mp4, tmp_path / "p.jpg", width=160)
    data = out.read_bytes()
    assert sniff_image_type(data[:16]) == "image/jpeg"
    frame = _decode(out)
    assert (frame.width, frame.height) == (160, 90)
    rgb = frame.reformat(format="rgb24").planes[0]
    buf, stride = bytes(rgb), rgb.line_size
    r, _g, b = buf[45 * stride + 80 * 3 : 45 * stride + 80 * 3 + 3]
    assert r > 150 and b < 100  # the red part (10 % in), not the blue later frames


def test_never_upscales_and_keeps_even_sizes(tmp_path: Path) -> None:
    small = make_mp4(tmp_path / "small.mp4", seconds=1, w=96, h=64)
    f = _decode(poster_frame(small, tmp_path / "s.jpg", width=320))
    assert (f.width, f.height) == (96, 64)


def test_cache_hit_skips_decoding_and_change_rebuilds(
    tmp_path: Path, sample_mp4: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(sample_mp4.read_bytes())
    out = thumb_cache_path(tmp_path / "thumbs", video)
    assert out == thumb_cache_path(tmp_path / "thumbs", video) and out.suffix == ".jpg"
    poster_frame(video, out)
    first = out.read_bytes()

    calls = 0
    real_grab = thumbnails._grab

    def counting_grab(v: Path, at: float) -> tuple[av.VideoFrame, float]:
        nonlocal calls
        calls += 1
        return real_grab(v, at)

    monkeypatch.setattr(thumbnails, "_grab", counting_grab)
    poster_frame(video, out)
    assert calls == 0 and out.read_bytes() == first  # cached: nothing decoded
    poster_frame(video, out, width=160)
    assert calls == 1  # another width is another poster
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    poster_frame(video, out, width=160)
    assert calls == 2  # the video changed


def test_errors_are_thumbnail_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 50)
    with pytest.raises(ThumbnailError):
        poster_frame(junk, tmp_path / "j.jpg")
    with pytest.raises(ThumbnailError):
        poster_frame(tmp_path / "missing.mp4", tmp_path / "m.jpg")
    assert not (tmp_path / "j.jpg").exists()


def test_sniff_image_type() -> None:
    assert sniff_image_type(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image_type(b"<html>") is None
