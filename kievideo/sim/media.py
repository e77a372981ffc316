"""Real media for the file origin: tiny H.264/AAC MP4 clips, PNG thumbnails and synthetic blobs.

Clips are made with PyAV on first use and cached on disk (keyed by ``MEDIA_VERSION``), so the
simulator starts instantly and a clip costs ~0.1-0.3 s once per machine. Pixel sizes are small on
purpose: the "1080p" and "4k" variants only need to decode to a *different* size than the base.

Every result URL gets unique bytes without a new encode: the served file is the cached clip plus
a trailing top-level MP4 ``free`` box naming the task. Players skip ``free`` boxes, so the file
stays playable while its sha256 differs per task (downloaders can detect a mix-up).
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import struct
import tempfile
import threading
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

MEDIA_VERSION = "v1"
FPS = 24
SHORT_SECONDS = 2
LONG_SECONDS = 4  # extend results and 10 s Runway clips: longer than the base clip

#: Stand-in pixel sizes (landscape); portrait swaps them.
TIER_SIZES: dict[str, tuple[int, int]] = {"720p": (320, 180), "1080p": (384, 216), "4k": (448, 252)}
#: One colour scheme per tier so a wrong variant is also visibly wrong.
_TIER_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "720p": ((20, 60, 140), (250, 200, 40)),
    "1080p": ((20, 120, 60), (240, 240, 240)),
    "4k": ((120, 20, 100), (40, 230, 230)),
}


@dataclass(frozen=True)
class ClipKey:
    """Which cached clip a result maps to."""

    portrait: bool = False
    tier: str = "720p"
    long: bool = False

    @property
    def size(self) -> tuple[int, int]:
        w, h = TIER_SIZES[self.tier]
        return (h, w) if self.portrait else (w, h)

    @property
    def seconds(self) -> int:
        return LONG_SECONDS if self.long else SHORT_SECONDS

    @property
    def stem(self) -> str:
        return f"{'9x16' if self.portrait else '16x9'}-{self.tier}-{'long' if self.long else 'short'}"


def default_cache_dir() -> Path:
    try:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("kievideo"))
    except Exception:  # platformdirs is a dependency, but never let the cache path break the sim
        base = Path(tempfile.gettempdir()) / "kievideo-cache"
    return base / f"sim-media-{MEDIA_VERSION}"


class MediaCache:
    """Makes clips/thumbnails on demand (thread-safe, one encode per key per machine)."""

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._locks: dict[str, threading.Lock] = {}
        self._meta_lock = threading.Lock()
        self._bytes: dict[str, bytes] = {}  # clips are < 100 KB: keep them in memory once read

    def _lock_for(self, name: str) -> threading.Lock:
        with self._meta_lock:
            return self._locks.setdefault(name, threading.Lock())

    def clip(self, key: ClipKey) -> bytes:
        return self._get(f"{key.stem}.mp4", lambda: encode_clip(key))

    def thumbnail(self, key: ClipKey) -> bytes:
        return self._get(f"{key.stem}.png", lambda: make_png(*key.size, *_TIER_COLOURS[key.tier]))

    def _get(self, name: str, make: Callable[[], bytes]) -> bytes:
        cached = self._bytes.get(name)
        if cached is not None:
            return cached
        with self._lock_for(name):
            cached = self._bytes.get(name)
            if cached is not None:
                return cached
            path = self.dir / name
            try:
                data = path.read_bytes()
            except OSError:
                data = make()
                self.dir.mkdir(parents=True, exist_ok=True)
                # Write-then-rename: another process (parallel test run) never reads half a file.
                fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-", suffix=name)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            self._bytes[name] = data
            return data


def encode_clip(key: ClipKey) -> bytes:
    """Encode a playable H.264 (yuv420p, baseline) + AAC mono MP4 with faststart."""
    width, height = key.size
    n_frames = FPS * key.seconds
    # faststart (moov before mdat, so players can start from a partial download) needs a real,
    # re-openable file: the muxer rewrites it at the end.
    fd, tmp_name = tempfile.mkstemp(prefix="kievideo-clip-", suffix=".mp4")
    os.close(fd)
    try:
        _encode_to(tmp_name, key, width, height, n_frames)
        return Path(tmp_name).read_bytes()
    finally:
        os.unlink(tmp_name)


def _encode_to(path: str, key: ClipKey, width: int, height: int, n_frames: int) -> None:
    import av  # local import: PyAV is heavy and only needed the first time a clip is made

    bg, bar = _TIER_COLOURS[key.tier]
    with av.open(path, mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width = width
        vs.height = height
        vs.pix_fmt = "yuv420p"
        vs.options = {"profile": "baseline", "preset": "ultrafast", "crf": "32"}
        a_rate = 48000
        aus = out.add_stream("aac", rate=a_rate)
        aus.layout = "mono"
        bar_w = max(8, width // 10)
        bg_px = bytes(bg)
        bar_px = bytes(bar)
        for i in range(n_frames):
            x0 = (i * (width - bar_w)) // max(1, n_frames - 1)
            row = bg_px * x0 + bar_px * bar_w + bg_px * (width - x0 - bar_w)
            frame = av.VideoFrame(width, height, "rgb24")
            frame.planes[0].update(_pad_rows(row, height, frame.planes[0].line_size))
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for packet in vs.encode(frame.reformat(format="yuv420p")):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        # A 440 Hz tone (660 Hz for portrait) in 1024-sample AAC frames.
        freq = 660.0 if key.portrait else 440.0
        total = a_rate * key.seconds
        pts = 0
        while pts < total:
            n = min(1024, total - pts)
            samples = array("f", (0.2 * math.sin(2 * math.pi * freq * (pts + j) / a_rate) for j in range(n)))
            af = av.AudioFrame(format="fltp", layout="mono", samples=n)
            af.planes[0].update(samples.tobytes() + b"\x00" * (af.planes[0].buffer_size - n * 4))
            af.sample_rate = a_rate
            af.pts = pts
            af.time_base = Fraction(1, a_rate)
            for packet in aus.encode(af):
                out.mux(packet)
            pts += n
        for packet in aus.encode():
            out.mux(packet)


def _pad_rows(row: bytes, height: int, line_size: int) -> bytes:
    pad = line_size - len(row)
    return (row + b"\x00" * pad) * height if pad > 0 else row * height


def make_png(width: int, height: int, bg: tuple[int, int, int], fg: tuple[int, int, int]) -> bytes:
    """A small RGB PNG (a band across the middle), written by hand: no imaging library needed."""
    rows = []
    band = range(height // 3, 2 * height // 3)
    for y in range(height):
        px = bytes(fg) if y in band else bytes(bg)
        rows.append(b"\x00" + px * width)
    raw = b"".join(rows)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def free_box(label: str) -> bytes:
    """A top-level MP4 ``free`` box carrying ``label`` (ignored by demuxers)."""
    payload = f"kievideo-sim {label}".encode()
    return struct.pack(">I", 8 + len(payload)) + b"free" + payload


def sha256_hex(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Synthetic blobs for download benchmarks


_BLOB_PERIOD = (1 << 20) + 7  # odd period: chunk boundaries never line up with the pattern
_blob_patterns: dict[int, bytes] = {}
_blob_lock = threading.Lock()


def blob_pattern(seed: int) -> bytes:
    """1 MiB (+7) of seeded random bytes; blob byte k is ``pattern[k % period]``."""
    with _blob_lock:
        pat = _blob_patterns.get(seed)
        if pat is None:
            if len(_blob_patterns) > 16:  # a tiny LRU-ish bound: benchmarks use a few seeds
                _blob_patterns.clear()
            pat = random.Random(f"blob:{seed}").randbytes(_BLOB_PERIOD)
            _blob_patterns[seed] = pat
        return pat


def blob_slice(seed: int, start: int, length: int) -> bytes:
    """Bytes ``[start, start+length)`` of the blob (length should be modest, e.g. 64 KiB)."""
    pat = blob_pattern(seed)
    out = bytearray()
    pos = start % _BLOB_PERIOD
    while length > 0:
        take = min(length, _BLOB_PERIOD - pos)
        out += pat[pos : pos + take]
        length -= take
        pos = 0
    return bytes(out)
