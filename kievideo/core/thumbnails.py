"""Poster frames for the task list: grabbed from the local video with PyAV, or fetched from
the provider's poster URL.

A poster is a small JPEG encoded by PyAV's own ``mjpeg`` encoder. We chose that over adding
Pillow: PyAV is already a dependency (the simulator and this module decode with it), its
encoder turns one frame into a standard baseline JPEG in a few lines, and JPEG posters are
about five times smaller than PNG ones, which matters with hundreds of rows.

Posters are cached on disk: the JPEG carries a comment segment with a digest of (video path,
mtime, size, width), so a poster is rebuilt exactly when its video changed, with no side
files. Decoding blocks for tens of milliseconds: callers run :func:`poster_frame` in an
executor.
"""

from __future__ import annotations

import fractions
import hashlib
import os
import struct
import tempfile
from pathlib import Path

import av
import httpx

__all__ = [
    "MAX_POSTER_BYTES",
    "ThumbnailError",
    "fetch_poster",
    "poster_frame",
    "sniff_image_type",
    "thumb_cache_path",
]

MAX_POSTER_BYTES = 10 * 1024 * 1024
_MARK = b"kievideo-thumb:1:"
_JPEG_Q = 3  # mjpeg qscale (2 best .. 31 worst): visually clean at thumbnail size
_MAX_DECODE_AFTER_SEEK = 600  # frames; bounds the work on files with sparse keyframes


class ThumbnailError(Exception):
    """No poster could be made or fetched (not a video, no video stream, not an image...)."""


def _cache_key(video: Path, width: int) -> bytes:
    st = video.stat()
    raw = f"{video.resolve()}\0{st.st_mtime_ns}\0{st.st_size}\0{width}".encode()
    return _MARK + hashlib.sha256(raw).hexdigest()[:32].encode("ascii")


def thumb_cache_path(cache_dir: Path, video: Path, *, width: int = 320) -> Path:
    """A stable poster file name for ``video`` inside ``cache_dir`` (one per video path and
    width; the embedded key takes care of the video changing)."""
    digest = hashlib.sha256(f"{Path(video).resolve()}\0{width}".encode()).hexdigest()[:24]
    return Path(cache_dir) / f"{digest}.jpg"


def _read_key(out: Path) -> bytes | None:
    """Our key from the JPEG's comment segments, if the file is one of our posters."""
    try:
        with open(out, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    if not head.startswith(b"\xff\xd8"):
        return None
    pos = 2
    while pos + 4 <= len(head) and head[pos] == 0xFF:
        marker = head[pos + 1]
        (length,) = struct.unpack(">H", head[pos + 2 : pos + 4])
        if marker == 0xFE:
            body = head[pos + 4 : pos + 2 + length]
            if body.startswith(_MARK):
                return body
        if marker == 0xDA:  # start of scan: no more headers
            break
        pos += 2 + length
    return None


def _with_comment(jpeg: bytes, comment: bytes) -> bytes:
    """Insert a COM segment right after SOI (any JPEG reader ignores it)."""
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


def poster_frame(video: Path, out: Path, *, width: int = 320, at: float = 0.1) -> Path:
    """Write a JPEG poster of ``video`` to ``out`` and return ``out``.

    The frame is taken about ``at`` (10 %) into the video, where the first, often black or
    blank, frames are past; if seeking fails, the first frame. The poster is ``width`` wide
    (never upscaled), aspect kept. If ``out`` is already the poster of this very file
    (same path, mtime, size, width), nothing is decoded.
    """
    video, out = Path(video), Path(out)
    if width < 16:
        raise ValueError("width must be at least 16")
    try:
        key = _cache_key(video, width)
    except OSError as e:
        raise ThumbnailError(f"cannot read {video.name}: {e.strerror or e}") from e
    if _read_key(out) == key:
        return out
    frame, sar = _grab(video, at)
    src_w, src_h = frame.width, frame.height
    display_w = src_w * sar
    tw = max(16, min(width, int(display_w)) // 2 * 2)  # yuv420 needs even sizes
    th = max(16, round(tw * src_h / display_w / 2) * 2)
    small = frame.reformat(width=tw, height=th, format="yuvj420p")
    cc = av.CodecContext.create("mjpeg", "w")
    cc.width, cc.height, cc.pix_fmt = tw, th, "yuvj420p"
    cc.time_base = fractions.Fraction(1, 25)
    cc.qmin = cc.qmax = _JPEG_Q
    jpeg = b"".join(bytes(p) for p in [*cc.encode(small), *cc.encode(None)])
    if not jpeg.startswith(b"\xff\xd8"):
        raise ThumbnailError("the JPEG encoder produced no image")
    _atomic_write(out, _with_comment(jpeg, key))
    return out


def _grab(video: Path, at: float) -> tuple[av.VideoFrame, float]:
    """(a decoded frame about ``at`` into the video, its sample aspect ratio)."""
    try:
        container = av.open(str(video))
    except (av.error.FFmpegError, OSError) as e:
        raise ThumbnailError(f"{video.name} is not a readable video: {e}") from e
    with container:
        if not container.streams.video:
            raise ThumbnailError(f"{video.name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        sar_value = stream.sample_aspect_ratio
        sar = float(sar_value) if sar_value else 1.0
        sar = sar if 0.1 < sar < 10 else 1.0
        frame = None
        try:
            if container.duration and container.duration > 0 and stream.time_base and at > 0:
                target_s = container.duration / av.time_base * at
                target = int(target_s / stream.time_base) + (stream.start_time or 0)
                container.seek(target, stream=stream, backward=True, any_frame=False)
                for n, candidate in enumerate(container.decode(stream)):
                    frame = candidate
                    if (candidate.pts is not None and candidate.pts >= target) or n >= _MAX_DECODE_AFTER_SEEK:
                        break
        except av.error.FFmpegError:
            frame = None  # an unseekable or damaged file: fall back to the first frame
        if frame is None:
            try:
                container.seek(0)
                frame = next(iter(container.decode(stream)), None)
            except av.error.FFmpegError as e:
                raise ThumbnailError(f"cannot decode {video.name}: {e}") from e
        if frame is None:
            raise ThumbnailError(f"{video.name} has no decodable frame")
        return frame, sar


def sniff_image_type(head: bytes) -> str | None:
    """ "image/jpeg", "image/png" or "image/webp" by content, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


async def fetch_poster(
    url: str, client: httpx.AsyncClient, out: Path, *, max_bytes: int = MAX_POSTER_BYTES
) -> Path:
    """Download the provider's poster image to ``out`` (replacing an older poster there).

    ``client`` must be a credential-free file client. The body is checked to really be a
    JPEG/PNG/WebP (whatever the Content-Type says) and capped at ``max_bytes``; nothing is
    written unless the whole image arrived.
    """
    out = Path(out)
    try:
        async with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise ThumbnailError(f"the poster URL answered HTTP {resp.status_code}")
            declared = resp.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise ThumbnailError("the poster image is too large")
            buf = bytearray()
            async for chunk in resp.aiter_bytes():
                buf += chunk
                if len(buf) > max_bytes:
                    raise ThumbnailError("the poster image is too large")
    except httpx.HTTPError as e:
        raise ThumbnailError(f"could not fetch the poster: {type(e).__name__}") from e
    if sniff_image_type(bytes(buf[:16])) is None:
        raise ThumbnailError("the poster URL did not return a JPEG, PNG or WebP image")
    _atomic_write(out, bytes(buf))
    return out


def _atomic_write(out: Path, data: bytes) -> None:
    """Readers (the task list) never see a half-written poster."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
