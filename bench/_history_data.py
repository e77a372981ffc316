"""A realistic task history for the ``history`` and ``startup`` benchmarks.

``generate(data_dir, n)`` writes ``n`` jobs through :class:`kievideo.core.store.TaskStore` into
``AppPaths.under(data_dir)`` (the layout ``kievideo --data-dir`` uses): two years of history,
newest first, mixed providers/models, varied prompts (10-600 characters, some non-ASCII), every
final state, 1080p/4K/extend children under about 6 % of the generations. All jobs are final, so
opening the store starts no network work. DONE jobs still within the provider's retention get a
(tiny) library file, so the service does not try to re-download them, and a poster-frame PNG
(one real 224x126 PNG, copied), as a recent history has.

    python -m bench._history_data DIR [N]
"""

from __future__ import annotations

import random
import shutil
import struct
import sys
import time
import uuid
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import Job, JobKind, JobSpec, JobState, Mode
from kievideo.core.paths import AppPaths
from kievideo.core.store import TaskStore

DAY = 86400.0
RETENTION_S = 14 * DAY

_WORDS = [
    "a",
    "cat",
    "surfing",
    "a",
    "wave",
    "at",
    "sunset,",
    "cinematic",
    "drone",
    "shot",
    "over",
    "misty",
    "mountains,",
    "neon",
    "city",
    "rain",
    "reflections,",
    "slow",
    "motion,",
    "close-up",
    "portrait",
    "of",
    "an",
    "old",
    "fisherman,",
    "golden",
    "hour,",
    "35mm",
    "film",
    "grain,",
    "a",
    "red",
    "fox",
    "running",
    "through",
    "snow,",
    "timelapse",
    "of",
    "clouds,",
    "underwater",
    "coral",
    "reef,",
    "studio",
    "lighting,",
    "handheld",
    "camera,",
    "dolly",
    "zoom,",
    "astronaut",
    "walking",
    "on",
    "mars,",
    "paper",
    "boat",
    "in",
    "a",
    "puddle,",
    "steam",
    "train",
    "crossing",
    "a",
    "bridge,",
    "hummingbird,",
    "bokeh,",
    "wide",
    "angle,",
    "macro,",
    "aerial",
    "view,",
    "night",
    "market,",
    "lanterns,",
    "café",
    "au",
    "lait,",
    "übermäßig,",
    "東京の夜景,",
    "пейзаж,",
    "festival",
    "fireworks",
    "over",
    "a",
    "lake,",
    "vintage",
    "VHS",
    "look",
]

_KINDS: tuple[tuple[float, ProviderKind, str, dict[str, object]], ...] = (
    (0.34, ProviderKind.VEO, "veo3_fast", {}),
    (0.12, ProviderKind.VEO, "veo3", {}),
    (0.10, ProviderKind.VEO, "veo3_lite", {}),
    (0.12, ProviderKind.RUNWAY, "runway", {"duration": 5, "quality": "720p", "aspect_ratio": "16:9"}),
    (0.05, ProviderKind.RUNWAY, "runway", {"duration": 10, "quality": "720p", "aspect_ratio": "9:16"}),
    (0.07, ProviderKind.ALEPH, "aleph", {"video_url": "https://tempfile.example/in.mp4"}),
    (0.14, ProviderKind.UNIFIED, "veo3-fast", {"profile": "unified"}),
    (0.06, ProviderKind.UNIFIED, "veo3.1", {"profile": "unified"}),
)
_STATES = (
    (0.80, JobState.DONE),
    (0.09, JobState.FAILED),
    (0.06, JobState.EXPIRED),
    (0.04, JobState.STOPPED),
    (0.01, JobState.UNCERTAIN),
)


def tiny_png(width: int = 224, height: int = 126) -> bytes:
    """A real, decodable RGB PNG (a gradient), made without any imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += bytes((x * 255 // width, y * 255 // height, 128))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + chunk(b"IEND", b"")
    )


def _prompt(rng: random.Random) -> str:
    n = int(rng.lognormvariate(3.0, 0.7))  # median ~20 words, a long tail
    words = [rng.choice(_WORDS) for _ in range(max(2, min(n, 100)))]
    text = " ".join(words)
    if rng.random() < 0.02:
        text = "REJECT " + text
    return text[:600]


def _pick(rng: random.Random, table: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    """A row of ``table`` drawn with the weight in its first column."""
    r = rng.random() * sum(row[0] for row in table)
    for row in table:
        r -= row[0]
        if r <= 0:
            return row
    return table[-1]


def generate(data_dir: Path, n: int = 10_000, *, seed: int = 1, now: float | None = None) -> AppPaths:
    """Write ``n`` jobs (see the module docstring) and return the paths. ``data_dir`` must be new."""
    rng = random.Random(seed)
    paths = AppPaths.under(data_dir).ensure()
    now = time.time() if now is None else now
    paths.thumbs_dir.mkdir(parents=True, exist_ok=True)
    png = tiny_png()
    span = 2 * 365 * DAY
    # Creation times: denser recently (people use the app more over time), newest first.
    times = sorted((now - span * rng.random() ** 1.6 for _ in range(n)), reverse=True)
    parents: list[Job] = []
    with TaskStore(paths.db_path) as store:
        for i, created in enumerate(times):
            child_of = parents[-rng.randrange(1, min(len(parents), 30) + 1)] if parents else None
            if child_of is not None and rng.random() < 0.06 and child_of.state is JobState.DONE:
                job = _child(rng, child_of, created)
            else:
                job = _generation(rng, created)
            _finish(rng, job, created, now, paths, png, i)
            store.insert(job)
            if job.parent_id is None and job.state is JobState.DONE:
                parents.append(job)
    return paths


def _generation(rng: random.Random, created: float) -> Job:
    _w, provider, model, extra = _pick(rng, _KINDS)
    images: tuple[str, ...] = ()
    mode = Mode.TEXT
    if provider is ProviderKind.ALEPH:
        mode = Mode.VIDEO
    elif rng.random() < 0.3:
        mode = Mode.IMAGE
        images = (f"https://tempfile.example/u/{uuid.UUID(int=rng.getrandbits(128)).hex}.png",)
    spec = JobSpec(provider=provider, model=model, prompt=_prompt(rng), mode=mode, images=images, **extra)
    return Job(id=uuid.UUID(int=rng.getrandbits(128)).hex, spec=spec, created_at=created)


def _child(rng: random.Random, parent: Job, created: float) -> Job:
    kind = rng.choice((JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K, JobKind.EXTEND))
    spec = parent.spec if kind is not JobKind.EXTEND else parent.spec.with_(prompt=_prompt(rng))
    return Job(
        id=uuid.UUID(int=rng.getrandbits(128)).hex,
        spec=spec,
        kind=kind,
        parent_id=parent.id,
        created_at=max(created, parent.created_at + 60.0),
    )


def _finish(
    rng: random.Random, job: Job, created: float, now: float, paths: AppPaths, png: bytes, i: int
) -> None:
    state = _pick(rng, _STATES)[1]
    job.state = state
    job.task_id = uuid.UUID(int=rng.getrandbits(128)).hex
    job.submitted_at = created + rng.uniform(0.3, 3.0)
    job.started_at = job.submitted_at + rng.uniform(2.0, 30.0)
    job.finished_at = job.started_at + rng.uniform(60.0, 400.0)
    job.poll_count = rng.randint(3, 25)
    job.extra = {"owner": {"pid": 1, "token": "bench-history"}, "active_s": job.finished_at - created}
    slug = job.task_id
    if state in (JobState.DONE, JobState.EXPIRED):
        job.provider_status = "success"
        job.result_urls = (f"https://tempfile.example/r/{slug}/video.mp4",)
        job.image_urls = (f"https://tempfile.example/r/{slug}/thumb.png",)
        job.resolution = {JobKind.UPGRADE_1080P: "1080p", JobKind.UPGRADE_4K: "4k"}.get(job.kind, "720p")
        job.expires_at = job.finished_at + RETENTION_S
    if state is JobState.DONE:
        name = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(created))}-{slug[:8]}.mp4"
        job.file_path = str(paths.library_dir / name)
        thumb = paths.thumbs_dir / f"{slug}.png"
        job.thumb_path = str(thumb)
        if job.expires_at is not None and job.expires_at > now:
            Path(job.file_path).write_bytes(b"\x00\x00\x00\x18ftypmp42")  # present: no re-download
        if i < 400:
            thumb.write_bytes(png)
    elif state is JobState.FAILED:
        job.provider_status = "fail"
        job.error_code = rng.choice((400, 500, 501))
        job.error_message = "The provider's content filter rejected this prompt or image."
        job.provider_message = "Your prompt was flagged by Website as violating content policies."
    elif state is JobState.UNCERTAIN:
        job.task_id = None
        job.error_message = "This request may have been submitted (and billed), but no answer came back."
    elif state is JobState.STOPPED:
        job.provider_status = "generating"


def main(argv: list[str] | None = None) -> int:
    """``DIR [N]``: generate a history into DIR (which must not exist yet)."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m bench._history_data DIR [N]", file=sys.stderr)
        return 2
    target = Path(args[0])
    if target.exists() and any(target.iterdir()):
        print(f"{target} is not empty", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    generate(target, int(args[1]) if len(args) > 1 else 10_000)
    print(f"generated in {time.perf_counter() - t0:.1f} s: {target}", file=sys.stderr)
    return 0


def copy_history(src: Path, dst: Path) -> None:
    """A fresh copy of a generated data dir (a benchmark run must not reuse WAL/SHM state)."""
    shutil.copytree(src, dst)


if __name__ == "__main__":
    sys.exit(main())
