"""File names for the library, built so that they sort by date, say what is inside, and can
never be turned into an attack by the server.

``2026-11-21_veo3_fast_a-cat-surfing-a-wave_3f2a9c.mp4``: date, model, prompt slug, the
provider's task id (so a file can always be traced back to its task), and a suffix for
upgrades (``_1080p``, ``_4k``, ``_ext``).

Nothing that comes from a server (task ids, file names, URL paths) is trusted: every piece is
reduced to a small safe alphabet, so no separator, no ``..``, no control character and no
reserved Windows device name (``CON``, ``NUL``, ``COM1`` ...) can reach the file system.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from kievideo.core.jobs import Job, JobKind

__all__ = [
    "KIND_SUFFIX",
    "MEDIA_EXTENSIONS",
    "guess_extension",
    "is_reserved_windows_name",
    "job_filename",
    "library_filename",
    "part_path",
    "safe_token",
    "sanitize_filename",
    "slugify",
    "unique_path",
]

KIND_SUFFIX: dict[JobKind, str] = {
    JobKind.GENERATE: "",
    JobKind.UPGRADE_1080P: "_1080p",
    JobKind.UPGRADE_4K: "_4k",
    JobKind.EXTEND: "_ext",
}

#: Extensions we are willing to write. Anything else from a server becomes the default.
MEDIA_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".webm", ".mkv", ".m4v", ".jpg", ".jpeg", ".png", ".webp", ".gif"}
)
_CONTENT_TYPES = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
}

_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in "123456789¹²³"}
    | {f"LPT{i}" for i in "123456789¹²³"}
)
_SLUG_DROP = re.compile(r"[^a-z0-9]+")
_TOKEN_DROP = re.compile(r"[^A-Za-z0-9_-]+")
# Characters Windows, macOS or Linux refuse or misread in a file name, plus controls.
_FILENAME_BAD = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
MAX_SLUG = 40
MAX_TOKEN = 64
# 255 bytes is the common per-name limit; stay well below to leave room for "-99.part.json".
MAX_NAME_BYTES = 200


def slugify(text: str, max_len: int = MAX_SLUG, default: str = "video") -> str:
    """``"Un chat qui surfe, à l'aube!"`` -> ``"un-chat-qui-surfe-a-l-aube"``.

    ASCII-folded (NFKD, accents dropped), lower case, ``[a-z0-9-]`` only, at most ``max_len``
    characters, cut at a word boundary when one is near; ``default`` when nothing is left
    (e.g. a prompt entirely in Chinese or Cyrillic).
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_DROP.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_len:
        cut = slug[:max_len]
        # Prefer ending on a whole word unless that throws away most of the slug.
        if slug[max_len] != "-" and "-" in cut and cut.rfind("-") >= max_len // 2:
            cut = cut[: cut.rfind("-")]
        slug = cut.strip("-")
    return slug or default


def safe_token(text: str | None, max_len: int = MAX_TOKEN, default: str = "x") -> str:
    """A server-given id made file-safe: ``[A-Za-z0-9_-]`` only (the unified API's id has a
    colon), runs of anything else become one ``-``, at most ``max_len`` characters."""
    token = _TOKEN_DROP.sub("-", text or "").strip("-_")[:max_len].strip("-_")
    return token or default


def is_reserved_windows_name(name: str) -> bool:
    """True for names Windows maps to devices (``nul.mp4`` too: the extension does not help)."""
    stem = name.split(".", 1)[0].rstrip(" ").upper()
    return stem in _RESERVED


def sanitize_filename(name: str, default: str = "file", max_bytes: int = MAX_NAME_BYTES) -> str:
    """Make an untrusted single file name safe: no directory part, no separators, no controls,
    no leading dots (hidden files, ``..``), no trailing dots or spaces (Windows strips them),
    no reserved device names, bounded length with the extension kept."""
    # Only the last path component counts, whatever separator the server used.
    name = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    name = _FILENAME_BAD.sub("_", name).strip().lstrip(".").rstrip(". ")
    if not name or set(name) <= {"_", "."}:
        name = default
    if is_reserved_windows_name(name):
        name = "_" + name
    stem, ext = os.path.splitext(name)
    if len(ext) > 16:  # not a real extension
        stem, ext = name, ""
    while len((stem + ext).encode("utf-8")) > max_bytes and stem:
        stem = stem[:-1]
    return (stem.rstrip(". ") or default) + ext


def guess_extension(url: str | None = None, content_type: str | None = None, default: str = ".mp4") -> str:
    """The file extension for a result: from the Content-Type, else the URL path, but only
    ever one of :data:`MEDIA_EXTENSIONS`; anything else gives ``default``."""
    if content_type:
        ext = _CONTENT_TYPES.get(content_type.split(";", 1)[0].strip().lower())
        if ext:
            return ext
    if url:
        path = unquote(urlsplit(url).path)
        ext = PurePosixPath(path).suffix.lower()
        if ext in MEDIA_EXTENSIONS:
            return ".jpg" if ext == ".jpeg" else ext
    return default


def library_filename(
    *,
    created_at: float,
    model: str,
    prompt: str,
    task_id: str | None,
    kind: JobKind = JobKind.GENERATE,
    ext: str = ".mp4",
    index: int = 0,
) -> str:
    """``YYYY-MM-DD_<model>_<prompt-slug>_<task-id><kind-suffix>[_vN].<ext>``.

    The date is the *local* date of ``created_at`` (what the user remembers). ``index`` > 0
    numbers the further videos of a task that returned several (``_v2`` ...).
    """
    date = time.strftime("%Y-%m-%d", time.localtime(created_at))
    model_part = safe_token(model.lower().replace(".", "-"), max_len=32, default="model")
    parts = [date, model_part, slugify(prompt)]
    if task_id:
        parts.append(safe_token(task_id))
    name = "_".join(parts) + KIND_SUFFIX.get(JobKind(kind), "")
    if index > 0:
        name += f"_v{index + 1}"
    ext = ext.lower() if ext.lower() in MEDIA_EXTENSIONS else ".mp4"
    return sanitize_filename(name + ext)


def job_filename(job: Job, *, ext: str = ".mp4", index: int = 0) -> str:
    """:func:`library_filename` for a job."""
    return library_filename(
        created_at=job.created_at or time.time(),
        model=job.spec.model,
        prompt=job.spec.prompt,
        task_id=job.task_id,
        kind=job.kind,
        ext=ext,
        index=index,
    )


def part_path(dest: Path) -> Path:
    """Where a download to ``dest`` is written until it is complete: ``NAME.part``."""
    return dest.with_name(dest.name + ".part")


def unique_path(directory: Path, name: str, *, reserve: bool = False) -> Path:
    """A path in ``directory`` for ``name`` that overwrites nothing.

    Neither ``NAME`` nor ``NAME.part`` (another job's download in progress) may exist; else
    ``stem-2.ext``, ``stem-3.ext`` ... ``name`` is sanitised first, so a server-given name is
    fine. With ``reserve=True`` the name is claimed atomically by creating an empty
    ``NAME.part`` (O_EXCL), so two processes can never pick the same name; the Downloader
    accepts an empty ``.part`` as a fresh start. Store the returned path on the job and reuse
    it when resuming: calling this again would give a *new* name and lose the partial file.
    """
    safe = sanitize_filename(name)
    stem, ext = os.path.splitext(safe)
    for n in range(1, 100_000):
        candidate = directory / (safe if n == 1 else f"{stem}-{n}{ext}")
        part = part_path(candidate)
        if candidate.exists() or part.exists():
            continue
        if not reserve:
            return candidate
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # lost a race with another process: try the next number
            continue
        os.close(fd)
        if candidate.exists():  # finished by someone between our two checks: give it back
            part.unlink(missing_ok=True)
            continue
        return candidate
    raise FileExistsError(f"no free file name for {safe!r} in {directory}")
