"""kievideo-cli: the headless twin of the kievideo studio.

The CLI runs on the same core as the GUI (:class:`kievideo.core.service.TaskService`, the same
SQLite task store and the same library folder), so a task started in one shows up in the other.
It adds what scripts need: machine-readable output (``--json``: one JSON object per task on
stdout), meaningful exit codes, resumable batches and live progress on stderr.

Money rules (the same as the GUI's):

* a paid request is journalled in the store before it goes out and is never sent twice: a batch
  run again skips every line whose job key is already in the store;
* Ctrl+C stops *watching*, never a task: the process first lets a create that is already on the
  wire come back with its task id, then exits 130 and prints how to resume;
* the API key comes from ``$KIEVIDEO_API_KEY`` (never stored) or the OS keyring; never from argv.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import dataclasses
import enum
import getpass
import hashlib
import io
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from kievideo.api import errors as api_errors
from kievideo.api.models import ProviderKind
from kievideo.core import rules
from kievideo.core.jobs import Job, JobKind, JobSpec, JobState, Mode
from kievideo.core.paths import AppPaths

if TYPE_CHECKING:  # imported lazily at run time: `--help`, `list` and `status` stay quick
    from kievideo.core.providers import ProviderRegistry
    from kievideo.core.secrets import KeyStore
    from kievideo.core.service import TaskService
    from kievideo.core.store import TaskStore
    from kievideo.sim import SimServer

__all__ = [
    "KEY_ENV",
    "BatchItem",
    "CliError",
    "ExitCode",
    "build_parser",
    "exit_code_for_job",
    "job_key_for",
    "job_to_json",
    "main",
    "parse_batch",
]

T = TypeVar("T")

PROG = "kievideo-cli"
#: the environment variable that carries the API key for scripts and CI (never stored)
KEY_ENV = "KIEVIDEO_API_KEY"
#: the embedded simulator's clock speed under --demo (a 3-minute Veo task takes 3 s)
DEMO_SPEED = 60.0
#: how long an interrupted process waits for creates already on the wire to be answered
SUBMIT_GRACE_S = 30.0
#: plain (non-terminal) progress: repeat a running job's line this often
HEARTBEAT_S = 30.0


class ExitCode(enum.IntEnum):
    """Process exit codes (documented in ``--help``)."""

    OK = 0
    FAILED = 1  # a task failed (or another non-input error)
    USAGE = 2  # bad input; argparse uses 2 as well. Nothing was sent.
    AUTH = 3  # no API key, or the key was refused
    NETWORK = 4  # the provider could not be reached / kept failing
    UNCERTAIN = 5  # a paid create may have been billed without an answer
    INTERRUPTED = 130  # Ctrl+C


class CliError(Exception):
    """An error that ends the command with one line on stderr and ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        #: further lines (e.g. every bad line of a batch file), printed before the error line
        self.details = list(details)


class Interrupted(Exception):
    """Ctrl+C (SIGINT) or SIGTERM arrived while watching."""


# =============================================================================================
# Help text
# =============================================================================================

EPILOG = f"""\
exit codes:
  0    everything asked for is done
  1    a task failed (content rejected, generation failed, expired, no credits, ...)
  2    bad input (unknown option, model or mode, missing or unreadable image, bad batch
       line, unknown task id); nothing was sent
  3    authentication: no API key, or the provider refused the key
  4    network: the provider could not be reached or kept failing (5xx, maintenance)
  5    uncertain: a paid request may have reached the provider without an answer; it is
       never resent automatically; check the provider's task log before trying again
  130  interrupted (Ctrl+C): every task stays in the store; resume with
       `{PROG} wait ID` (or run the same batch again)

API key:
  ${KEY_ENV} if set (for scripts and CI; never stored), else the OS keyring entry saved
  with `{PROG} key set --provider kie` (or the app's Settings). Never on the command line.

data:
  --data-dir DIR keeps tasks.sqlite3 and library/ under DIR (default: the platform data
  folder and Videos/kievideo, shared with the GUI: a task started in one shows up in the
  other; the library folder and the unified-API profiles chosen in the app's Settings
  apply here too). --demo runs an embedded simulator with a demo key (no network, no
  cost); its tasks live in a separate store under DATA_DIR/demo/ so they never mix with
  real ones, and since the simulator lives only as long as the command, demo commands
  always wait for their video.

progress:
  --wait (and wait, batch) show live progress on stderr: one redrawn line with a bar on a
  terminal, plain lines otherwise ("veo3_fast 3f2a9c… running 1:12"). stdout carries only
  results (with --json: one JSON object per task with task_id, job_id, job_key,
  provider, model, state, files, error {{code, message, kind}} or null, ...; kind is
  "network" when the provider could not be reached: nothing was sent).

TASK_ID:
  the provider's task id, the local job id, or a unique prefix of the local job id
  (as shown by `{PROG} list`).

batch files:
  JSONL (one object per line) or CSV (a header row with the same names):
    provider, model, prompt, mode, images, video, aspect, duration, quality, seed,
    watermark, translate, upsample, profile, key
  "images" is a JSON list, or in CSV one cell with paths/URLs separated by "|" or ";".
  Relative image paths are relative to the batch file. Blank lines and lines starting
  with # are skipped.
  Job key (what makes a batch resumable): the line's "key" field if given, else
  "sha256:" + the SHA-256 of the job's normalized fields (with absolute image paths),
  plus "#2", "#3", ... for repeats of an identical job in the same file. Running a
  batch again skips every line whose key is already in the store: done jobs are
  reported, jobs still in flight are watched to the end, failed and uncertain jobs are
  reported and never resubmitted (give the line a new "key" to pay for a new try).
  The key does not depend on the line number, so a file can be edited and re-run.

examples:
  {PROG} generate --provider veo --model veo3_fast --prompt "a red fox in snow" --wait
  {PROG} --json generate --provider runway --model runway --image fox.png \\
      --prompt "the fox turns its head" --wait --out clips/
  {PROG} batch jobs.jsonl --concurrency 4 --out clips/
  {PROG} --demo generate --provider veo --model veo3_fast --prompt "a demo" --wait
"""


def build_parser() -> argparse.ArgumentParser:
    """The whole argparse surface (also used by the tests and for ``--help``)."""
    p = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Generate AI videos (kie.ai Veo 3.1, Runway, Runway Aleph, unified video APIs) from the "
            "command line, on the same task store and library as the kievideo app."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="use an embedded simulator with a demo key (no network, no cost); "
        "tasks go to a separate store under DATA_DIR/demo/",
    )
    p.add_argument(
        "--api-base",
        metavar="URL",
        type=_base_url,
        help="kie.ai (or unified) API base URL (default: production)",
    )
    p.add_argument(
        "--upload-base",
        metavar="URL",
        type=_base_url,
        help="kie.ai file upload base URL (default: production)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep the task store and the library under DIR (default: $KIEVIDEO_DATA_DIR or the "
        "platform folders shared with the GUI)",
    )
    p.add_argument(
        "--sim-speed",
        type=float,
        metavar="F",
        help="the API server is a kievideo-sim running F times faster than real time: plan polls "
        f"on its clock (--demo implies {DEMO_SPEED:g})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per task on stdout")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def out_arg(sp: argparse.ArgumentParser, what: str = "the video") -> None:
        sp.add_argument(
            "--out", metavar="DIR", type=Path, help=f"save {what} in DIR (default: the library folder)"
        )

    g = sub.add_parser(
        "generate",
        help="start one generation",
        description="Start one paid generation. Without --wait, returns once the provider has "
        "accepted it and printed its task id; follow it later with `wait`.",
    )
    g.add_argument("--provider", required=True, choices=[k.value for k in ProviderKind])
    g.add_argument("--model", required=True, metavar="M", help=_models_help())
    g.add_argument("--prompt", required=True, metavar="TEXT")
    g.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        help="default: from the inputs (no image: text, 1: image, 2: frames, 3: reference, --video: video)",
    )
    g.add_argument(
        "--image",
        dest="images",
        action="extend",
        nargs="+",
        default=[],
        metavar="PATH_OR_URL",
        help="input image(s) in order (first frame first); local files are uploaded",
    )
    g.add_argument("--video", metavar="URL", help="source video link (Runway Aleph video-to-video)")
    g.add_argument("--aspect", metavar="RATIO", help="aspect ratio, e.g. 16:9, 9:16")
    g.add_argument("--duration", type=int, choices=[5, 10], help="Runway clip length in seconds")
    g.add_argument("--quality", choices=["720p", "1080p", "4k"], help="Runway quality / Veo resolution")
    g.add_argument("--seed", type=int, metavar="N")
    g.add_argument("--watermark", metavar="TEXT", default="")
    g.add_argument("--no-translate", action="store_true", help="send the prompt as is (Veo / unified)")
    g.add_argument("--upsample", action="store_true", help="unified APIs: ask for an upscaled video")
    g.add_argument("--profile", metavar="NAME", help="provider profile (default: kie, or unified)")
    g.add_argument(
        "--wait", action="store_true", help="watch until done (progress on stderr) and download the video"
    )
    out_arg(g)

    s = sub.add_parser("status", help="show one task", description="Show one task, as the store knows it.")
    s.add_argument("task_id", metavar="TASK_ID")

    w = sub.add_parser(
        "wait",
        help="watch a task until it is done, then download it",
        description="Watch a task (started here, in the app or in an interrupted run) until it is "
        "final, and make sure its video is on disk.",
    )
    w.add_argument("task_id", metavar="TASK_ID")
    out_arg(w)

    ls = sub.add_parser("list", help="list tasks, newest first")
    ls.add_argument("--state", action="append", choices=[s.value for s in JobState], help="repeatable")
    ls.add_argument("--provider", choices=[k.value for k in ProviderKind])
    ls.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows (0: all; default 50)")

    d = sub.add_parser("download", help="download a finished task's video")
    d.add_argument("task_id", metavar="TASK_ID")
    out_arg(d)

    u = sub.add_parser("upgrade", help="ask for a 1080p or 4K version of a finished Veo video (paid)")
    u.add_argument("task_id", metavar="TASK_ID")
    u.add_argument("--to", required=True, choices=["1080p", "4k"])
    u.add_argument("--wait", action="store_true", help="watch until done and download the video")
    out_arg(u)

    e = sub.add_parser("extend", help="extend a finished video (paid)")
    e.add_argument("task_id", metavar="TASK_ID")
    e.add_argument("--prompt", required=True, metavar="TEXT")
    e.add_argument("--wait", action="store_true", help="watch until done and download the video")
    out_arg(e)

    c = sub.add_parser("credits", help="show the kie.ai credit balance")
    c.add_argument("--profile", metavar="NAME", default="kie")

    b = sub.add_parser(
        "batch",
        help="run a JSONL/CSV file of jobs (resumable)",
        description="Run every job of a JSONL or CSV file, N at a time, and download the videos. "
        "Resumable: running it again skips jobs already done or in flight (see 'batch files' "
        f"in `{PROG} --help`).",
    )
    b.add_argument("file", metavar="FILE", type=Path)
    b.add_argument(
        "--concurrency", type=_positive_int, default=4, metavar="N", help="jobs in flight (default 4)"
    )
    out_arg(b, "the videos")

    k = sub.add_parser(
        "key",
        help="manage the API key in the OS keyring",
        description="Store, check or delete the API key in the OS keyring. `set` reads the key "
        "from stdin when it is not a terminal, else asks for it without echo. The key is never "
        f"printed. `status` exits 0 when a key is available (keyring or ${KEY_ENV}), else 3.",
    )
    k.add_argument("action", choices=["set", "delete", "status"])
    k.add_argument("--provider", required=True, metavar="P", help="profile name: kie, or a unified profile")
    return p


def _models_help() -> str:
    parts = [f"{kind.value}: {', '.join(models)}" for kind, models in rules.MODELS.items()]
    return "model id; " + "; ".join(parts)


def _base_url(text: str) -> str:
    """An http(s) base URL with a host (argparse ``type=``: a bad one is a usage error, exit 2)."""
    from urllib.parse import urlsplit

    value = text.strip()
    try:
        parts = urlsplit(value)
        _ = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a valid URL: {text!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"not an http(s) URL with a host: {text!r} (for example https://api.kie.ai)"
        )
    if parts.username is not None or parts.password is not None:
        raise argparse.ArgumentTypeError(
            "a base URL must not carry a user name or password; the API key goes in the keyring "
            "or $" + KEY_ENV
        )
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


# =============================================================================================
# Specs: from arguments and from batch lines
# =============================================================================================


def is_url(value: str) -> bool:
    return rules.is_url(value)


def absolute_image(value: str, base: Path | None = None) -> str:
    """A local image path made absolute (relative to ``base`` if given); URLs unchanged.

    Absolute because the job outlives this process: the GUI may retry it from another folder.
    """
    if is_url(value) or "://" in value:
        return value
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return str(Path(os.path.normpath(path)))


def infer_mode(provider: ProviderKind, model: str, n_images: int, video_url: str | None) -> Mode:
    """The mode the inputs imply when none is given: the first mode of the model that takes
    this many images (by count: 0 text, 1 image, 2 frames, 3 reference; a video link: video)."""
    if video_url or provider is ProviderKind.ALEPH:
        return Mode.VIDEO
    for mode in rules.modes_for(provider, model):
        lo, hi = rules.image_range(mode)
        if mode is not Mode.VIDEO and lo <= n_images <= hi:
            return mode
    if n_images == 0:
        return Mode.TEXT
    return {1: Mode.IMAGE, 2: Mode.FRAMES}.get(n_images, Mode.REFERENCE)


def default_profile(provider: ProviderKind) -> str:
    return "unified" if provider is ProviderKind.UNIFIED else "kie"


def spec_from_args(args: argparse.Namespace) -> JobSpec:
    provider = ProviderKind(args.provider)
    images = tuple(absolute_image(i) for i in args.images)
    mode = Mode(args.mode) if args.mode else infer_mode(provider, args.model, len(images), args.video)
    return JobSpec(
        provider=provider,
        model=args.model,
        prompt=args.prompt,
        mode=mode,
        profile=args.profile or default_profile(provider),
        images=images,
        video_url=args.video,
        aspect_ratio=args.aspect,
        duration=args.duration,
        quality=args.quality,
        seed=args.seed,
        watermark=args.watermark or "",
        translate=not args.no_translate,
        upsample=bool(args.upsample),
    )


def check_spec(spec: JobSpec, where: str = "") -> None:
    """Raise CliError(USAGE) with one line when ``spec`` cannot be submitted."""
    found = rules.problems(spec)
    if found:
        raise CliError(where + "; ".join(p.message for p in found), ExitCode.USAGE)


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One job of a batch file."""

    line: int  # 1-based line number in the file (CSV: the record's first line)
    spec: JobSpec
    key: str  # the job key (see EPILOG)
    explicit_key: bool = False


#: batch field name -> JobSpec field name (aliases included)
_FIELD_ALIASES: dict[str, str] = {
    "provider": "provider",
    "model": "model",
    "prompt": "prompt",
    "mode": "mode",
    "images": "images",
    "image": "images",
    "video": "video_url",
    "video_url": "video_url",
    "aspect": "aspect_ratio",
    "aspect_ratio": "aspect_ratio",
    "duration": "duration",
    "quality": "quality",
    "seed": "seed",
    "watermark": "watermark",
    "translate": "translate",
    "no_translate": "no_translate",
    "upsample": "upsample",
    "profile": "profile",
    "key": "key",
}

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off", ""}


class _LineError(ValueError):
    pass


def _as_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _LineError(f"{name} must be true or false, not {value!r}")


def _as_int(name: str, value: object) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise _LineError(f"{name} must be a whole number, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise _LineError(f"{name} must be a whole number, not {value!r}") from None


def _as_text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _LineError(f"{name} must be text, not {value!r}")
    text = str(value).strip()
    return text or None


def _as_images(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        parts = value.replace(";", "|").split("|")
        return [p.strip() for p in parts if p.strip()]
    if isinstance(value, list | tuple):
        out = []
        for v in value:
            if not isinstance(v, str) or not v.strip():
                raise _LineError(f"images must be a list of paths or links, not {value!r}")
            out.append(v.strip())
        return out
    raise _LineError(f"images must be a list of paths or links, not {value!r}")


def spec_from_record(record: Mapping[str, object], base_dir: Path) -> tuple[JobSpec, str | None]:
    """Build a spec (and the explicit key, if any) from one batch record.

    Raises ``_LineError`` with a one-line reason for a malformed record; content problems (an
    unknown model, a missing image) are left to :func:`rules.problems`.
    """
    norm: dict[str, object] = {}
    for raw_name, value in record.items():
        name = str(raw_name).strip().lower().replace("-", "_")
        if name in ("", "_") and (value is None or value == ""):
            continue
        target = _FIELD_ALIASES.get(name)
        if target is None:
            raise _LineError(f"unknown field {raw_name!r} (known: {', '.join(sorted(set(_FIELD_ALIASES)))})")
        if isinstance(value, str) and not value.strip():
            value = None
        if value is None:
            continue
        if target in norm:
            raise _LineError(f"field {target!r} given twice")
        norm[target] = value
    provider_text = _as_text("provider", norm.get("provider"))
    if provider_text is None:
        raise _LineError("provider is missing (veo, runway, aleph or unified)")
    try:
        provider = ProviderKind(provider_text.lower())
    except ValueError:
        raise _LineError(
            f"unknown provider {provider_text!r} (choose {', '.join(k.value for k in ProviderKind)})"
        ) from None
    model = _as_text("model", norm.get("model"))
    if model is None:
        raise _LineError(
            f"model is missing (for {provider.value}: {', '.join(rules.MODELS.get(provider, ()))})"
        )
    prompt = norm.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise _LineError("prompt must be text")
    images = tuple(absolute_image(i, base_dir) for i in _as_images(norm.get("images")))
    video_url = _as_text("video", norm.get("video_url"))
    mode_text = _as_text("mode", norm.get("mode"))
    if mode_text is None:
        mode = infer_mode(provider, model, len(images), video_url)
    else:
        try:
            mode = Mode(mode_text.lower())
        except ValueError:
            raise _LineError(
                f"unknown mode {mode_text!r} (choose {', '.join(m.value for m in Mode)})"
            ) from None
    translate = True
    if "translate" in norm:
        translate = _as_bool("translate", norm["translate"])
    if "no_translate" in norm:
        translate = not _as_bool("no_translate", norm["no_translate"])
    key = _as_text("key", norm.get("key"))
    spec = JobSpec(
        provider=provider,
        model=model,
        prompt=str(prompt or ""),
        mode=mode,
        profile=_as_text("profile", norm.get("profile")) or default_profile(provider),
        images=images,
        video_url=video_url,
        aspect_ratio=_as_text("aspect", norm.get("aspect_ratio")),
        duration=_as_int("duration", norm.get("duration")),
        quality=_as_text("quality", norm.get("quality")),
        seed=_as_int("seed", norm.get("seed")),
        watermark=_as_text("watermark", norm.get("watermark")) or "",
        translate=translate,
        upsample=_as_bool("upsample", norm["upsample"]) if "upsample" in norm else False,
    )
    return spec, key


def spec_digest(spec: JobSpec) -> str:
    """SHA-256 of the job's normalized fields (canonical JSON of ``JobSpec.to_dict``)."""
    canon = json.dumps(spec.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def job_key_for(spec: JobSpec, explicit: str | None, occurrence: int = 1) -> str:
    """The batch job key: the explicit key, else ``sha256:<digest>`` (``#n`` for the n-th repeat)."""
    if explicit:
        return explicit
    key = f"sha256:{spec_digest(spec)}"
    return key if occurrence <= 1 else f"{key}#{occurrence}"


def _detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return "jsonl" if stripped.startswith("{") else "csv"
    return "jsonl"


def _jsonl_records(text: str) -> Iterator[tuple[int, Mapping[str, object] | _LineError]]:
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("//"):
            continue
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            yield n, _LineError(f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield n, _LineError("each line must be a JSON object {...}")
            continue
        yield n, obj


def _csv_records(text: str) -> Iterator[tuple[int, Mapping[str, object] | _LineError]]:
    # Comment lines are blanked (not removed) so reader line numbers stay true.
    lines = ["" if ln.lstrip().startswith("#") else ln for ln in text.splitlines()]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            next((ln for ln in lines if ln), ""), ",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO("\n".join(lines)), dialect)
    header: list[str] | None = None
    start = 1
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, _LineError(f"bad CSV: {exc}")
            return
        if not row or all(not c.strip() for c in row):
            continue
        if header is None:
            header = [h.strip() for h in row]
            continue
        if len(row) > len(header):
            yield start, _LineError(f"{len(row)} cells but the header has {len(header)} names")
            continue
        yield start, dict(zip(header, row, strict=False))


def parse_batch(path: Path) -> list[BatchItem]:
    """Read and check a whole batch file; raise CliError(USAGE) listing every bad line.

    Nothing is sent for a file with any bad line: a paid batch should fail before it starts,
    not half way.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read the batch file {path}: {exc.strerror or exc}", ExitCode.USAGE) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CliError(f"the batch file {path} is not UTF-8 text", ExitCode.USAGE) from None
    fmt = _detect_format(path, text)
    base = path.expanduser().absolute().parent
    records = _jsonl_records(text) if fmt == "jsonl" else _csv_records(text)
    items: list[BatchItem] = []
    bad: list[str] = []
    seen: dict[str, int] = {}
    explicit_seen: dict[str, int] = {}
    for line, rec in records:
        if isinstance(rec, _LineError):
            bad.append(f"line {line}: {rec}")
            continue
        try:
            spec, explicit = spec_from_record(rec, base)
        except _LineError as exc:
            bad.append(f"line {line}: {exc}")
            continue
        found = rules.problems(spec)
        if found:
            bad.append(f"line {line}: " + "; ".join(p.message for p in found))
            continue
        if explicit:
            if explicit in explicit_seen:
                bad.append(f"line {line}: key {explicit!r} is also used on line {explicit_seen[explicit]}")
                continue
            explicit_seen[explicit] = line
            key = job_key_for(spec, explicit)
        else:
            digest = spec_digest(spec)
            seen[digest] = seen.get(digest, 0) + 1
            key = job_key_for(spec, None, seen[digest])
        items.append(BatchItem(line, spec, key, explicit_key=bool(explicit)))
    if bad:
        more = f" (and {len(bad) - 1} more bad line(s))" if len(bad) > 1 else ""
        raise CliError(f"{path}: {bad[0]}{more}", ExitCode.USAGE, details=bad)
    if not items:
        raise CliError(f"{path}: no jobs in the file", ExitCode.USAGE)
    return items


# =============================================================================================
# Output
# =============================================================================================


def short_id(job: Job) -> str:
    return job.id[:6] + "…"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def elapsed(job: Job, now: float | None = None) -> float | None:
    """Seconds the job has spent in its current phase (queued: since submit; running: since
    start), or its whole life once final."""
    now = _now() if now is None else now
    if job.is_final:
        end = job.finished_at or job.updated_at or now
        return end - (job.submitted_at or job.created_at or end)
    if job.state is JobState.RUNNING:
        return now - (job.started_at or job.submitted_at or job.created_at)
    if job.state is JobState.QUEUED:
        return now - (job.submitted_at or job.created_at)
    return now - job.created_at if job.created_at else None


def job_files(job: Job, extra: Iterable[Path] = ()) -> list[str]:
    files: list[str] = []
    if job.file_path:
        files.append(str(job.file_path))
    for p in extra:
        if str(p) not in files:
            files.append(str(p))
    return files


def job_error(job: Job) -> dict[str, Any] | None:
    if job.state is JobState.DONE:
        return None
    if job.error_message or job.error_code is not None or job.state in (JobState.FAILED, JobState.UNCERTAIN):
        return {
            "code": job.error_code,
            "message": job.error_message or _default_error(job),
            "provider_message": job.provider_message,
            "kind": job.extra.get("error_kind"),  # "network", "not_video" or null
        }
    if job.state in (JobState.EXPIRED, JobState.STOPPED):
        return {
            "code": None,
            "message": _default_error(job),
            "provider_message": job.provider_message,
            "kind": job.extra.get("error_kind"),
        }
    return None


def _default_error(job: Job) -> str:
    return {
        JobState.FAILED: "The task failed.",
        JobState.UNCERTAIN: api_errors.AmbiguousSubmitError.default_message,
        JobState.EXPIRED: "The provider no longer keeps this result.",
        JobState.STOPPED: "Watching was stopped; the task may still be running at the provider.",
    }.get(job.state, "")


def job_to_json(job: Job, extra_files: Iterable[Path] = ()) -> dict[str, Any]:
    """The ``--json`` object for one task."""
    return {
        "task_id": job.task_id,
        "job_id": job.id,
        "job_key": job.job_key,
        "provider": job.spec.provider.value,
        "model": job.spec.model,
        "profile": job.spec.profile,
        "kind": job.kind.value,
        "mode": job.spec.mode.value,
        "state": job.state.value,
        "provider_status": job.provider_status,
        "prompt": job.spec.prompt,
        "parent_id": job.parent_id,
        "files": job_files(job, extra_files),
        "result_urls": list(job.result_urls),
        "resolution": job.resolution,
        "error": job_error(job),
        "created_at": job.created_at or None,
        "submitted_at": job.submitted_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "slow": job.slow,
    }


def exit_code_for_job(job: Job) -> ExitCode:
    """The exit code a final (or abandoned) job stands for."""
    if job.state is JobState.DONE:
        return ExitCode.OK
    if job.state is JobState.UNCERTAIN:
        return ExitCode.UNCERTAIN
    code = job.error_code
    if code == 401:
        return ExitCode.AUTH
    if job.state is JobState.FAILED and job.extra.get("error_kind") == ERROR_KIND_NETWORK:
        return ExitCode.NETWORK  # the create never got through: nothing was sent or billed
    if job.state is JobState.FAILED and code is None and _NETWORK_HINT in (job.error_message or "").lower():
        return ExitCode.NETWORK  # jobs written before error_kind existed: the service's text
    if not job.is_final:
        return ExitCode.INTERRUPTED
    return ExitCode.FAILED


#: every transport failure text of the api layer ends "Check your network connection."
_NETWORK_HINT = "network connection"
#: ``Job.extra["error_kind"]`` of a create that never reached the provider (the same value as
#: kievideo.core.service.ERROR_KIND_NETWORK; not imported, so `list`/`status` stay light)
ERROR_KIND_NETWORK = "network"


def _worst(codes: Iterable[ExitCode]) -> ExitCode:
    """One exit code for many jobs: uncertain beats auth beats network beats failed."""
    order = [ExitCode.INTERRUPTED, ExitCode.UNCERTAIN, ExitCode.AUTH, ExitCode.NETWORK, ExitCode.FAILED]
    found = set(codes)
    for code in order:
        if code in found:
            return code
    return ExitCode.OK


class Output:
    """Where results, notes and errors go: results on stdout (JSON lines with --json), the
    rest on stderr. Every line passes :meth:`redact` so a key can never be printed."""

    def __init__(
        self, *, json_mode: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.json_mode = json_mode
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.secrets: list[str] = []
        self.status_line: StatusLine | None = None

    def redact(self, text: str) -> str:
        for s in self.secrets:
            if s and len(s) >= 4:
                text = text.replace(s, "***")
        return text

    def _write(self, stream: TextIO, text: str) -> None:
        # stdout and stderr usually share the terminal: lift the status line for any write
        if self.status_line is not None:
            self.status_line.clear()
        stream.write(self.redact(text) + "\n")
        stream.flush()
        if self.status_line is not None:
            self.status_line.redraw()

    def result(self, text: str) -> None:
        """A human result line (stdout, not in --json mode)."""
        if not self.json_mode:
            self._write(self.stdout, text)

    def data(self, obj: Mapping[str, Any]) -> None:
        """A JSON object (stdout, --json mode only)."""
        if self.json_mode:
            self._write(self.stdout, json.dumps(obj, ensure_ascii=False, sort_keys=False))

    def note(self, text: str) -> None:
        """Progress and hints (stderr)."""
        self._write(self.stderr, text)

    def error(self, text: str) -> None:
        self._write(self.stderr, f"{PROG}: error: {text}")

    def job(self, job: Job, extra_files: Iterable[Path] = ()) -> None:
        """One task's result: a JSON object, or a human summary."""
        files = list(extra_files)
        if self.json_mode:
            self.data(job_to_json(job, files))
        else:
            self.result(describe_job_line(job, files))


def describe_job_line(job: Job, extra_files: Iterable[Path] = ()) -> str:
    """One line per task, for humans: ``veo3_fast 3f2a9c… done 1:35 /path/file.mp4``."""
    head = f"{job.spec.model} {short_id(job)} {job.state.value}"
    if job.kind is not JobKind.GENERATE:
        head = f"{job.spec.model} {job.kind.value} {short_id(job)} {job.state.value}"
    tail = ""
    files = job_files(job, extra_files)
    if job.state is JobState.DONE:
        tail = " " + (files[-1] if files else "(not downloaded)")
    elif (err := job_error(job)) is not None:
        tail = ": " + str(err["message"])
    elif job.task_id:
        tail = f" (task {job.task_id})"
    return f"{head} {fmt_duration(elapsed(job))}{tail}"


def describe_job(job: Job) -> list[str]:
    """A multi-line description (``status``)."""
    rows: list[tuple[str, str]] = [
        ("job", job.id),
        ("task", job.task_id or "-"),
        ("provider", f"{job.spec.provider.value} / {job.spec.model} ({job.spec.profile})"),
        ("kind", job.kind.value + (f" of {job.parent_id}" if job.parent_id else "")),
        ("state", job.state.value + (f" ({job.provider_status})" if job.provider_status else "")),
        ("time", fmt_duration(elapsed(job))),
        ("prompt", job.spec.prompt),
        ("mode", job.spec.mode.value),
    ]
    if job.spec.images:
        rows.append(("images", " ".join(job.spec.images)))
    if job.spec.video_url:
        rows.append(("video", job.spec.video_url))
    if job.job_key:
        rows.append(("key", job.job_key))
    if job.file_path:
        rows.append(("file", job.file_path))
    elif job.result_urls:
        rows.append(("result", " ".join(job.result_urls)))
    err = job_error(job)
    if err is not None:
        rows.append(("error", str(err["message"])))
        if err.get("provider_message"):
            rows.append(("provider", str(err["provider_message"])))
    if job.slow and not job.is_final:
        rows.append(("note", "taking unusually long; it is still being watched"))
    width = max(len(k) for k, _ in rows)
    return [f"{k.ljust(width)}  {v}" for k, v in rows]


def list_line(job: Job) -> str:
    prompt = " ".join(job.spec.prompt.split())
    if len(prompt) > 48:
        prompt = prompt[:47] + "…"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created_at)) if job.created_at else "-"
    model = job.spec.model if job.kind is JobKind.GENERATE else f"{job.spec.model}+{job.kind.value}"
    return f"{job.id[:8]}  {job.state.value:<11} {model:<18} {when}  {(job.task_id or '-'):<24} {prompt}"


# =============================================================================================
# Live progress (stderr)
# =============================================================================================


class StatusLine:
    """One redrawn line at the bottom of a terminal (``\\r`` + erase)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.text = ""
        self.shown = False

    def set(self, text: str) -> None:
        self.text = text
        self.redraw()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.shown = False

    def redraw(self) -> None:
        if not self.text:
            return
        width = max(20, _terminal_width() - 1)
        text = self.text if len(self.text) <= width else self.text[: width - 1] + "…"
        self.stream.write("\r\x1b[2K" + text)
        self.stream.flush()
        self.shown = True


def _terminal_width() -> int:
    try:
        cols = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        cols = 0
    if cols <= 0:  # a pty without a size, or not a terminal
        try:
            cols = int(os.environ.get("COLUMNS", ""))
        except ValueError:
            cols = 0
    return cols if cols > 0 else 100


def _bar(fraction: float, width: int = 20) -> str:
    fraction = min(1.0, max(0.0, fraction))
    full = int(fraction * width)
    return "[" + "#" * full + "-" * (width - full) + "]"


class Progress:
    """Live progress of the watched jobs on stderr.

    On a terminal: one redrawn status line (upload/download bar for one job, counts and a bar
    for many); results go to stdout. Otherwise: a plain line at each state change and every
    :data:`HEARTBEAT_S` seconds while running, e.g. ``veo3_fast 3f2a9c… running 1:12``.
    """

    def __init__(self, out: Output, *, tty: bool, total: int | None = None, enabled: bool = True) -> None:
        self.out = out
        self.tty = tty
        self.enabled = enabled
        self.total = total
        self.jobs: dict[str, Job] = {}
        self._last_state: dict[str, tuple[JobState, str | None]] = {}
        self._last_line: dict[str, float] = {}
        self.started = time.monotonic()
        if tty and enabled:
            self.line: StatusLine | None = StatusLine(out.stderr)
            out.status_line = self.line
        else:
            self.line = None

    def watch(self, job: Job) -> None:
        self.jobs[job.id] = job
        self.update(job)

    def update(self, job: Job) -> None:
        if job.id not in self.jobs:
            return
        self.jobs[job.id] = job
        if not self.enabled:
            return
        state = (job.state, job.task_id)
        changed = self._last_state.get(job.id) != state
        self._last_state[job.id] = state
        if self.tty:
            self.redraw()  # results go to stdout; the terminal shows one live line
        elif changed:
            self._plain(job)

    def tick(self) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.redraw()
            return
        now = time.monotonic()
        for job in self.jobs.values():
            if not job.is_final and now - self._last_line.get(job.id, 0.0) >= HEARTBEAT_S:
                self._plain(job)

    def _plain(self, job: Job) -> None:
        self._last_line[job.id] = time.monotonic()
        self.out.note(describe_job_line(job))

    def redraw(self) -> None:
        if self.line is None:
            return
        jobs = list(self.jobs.values())
        if len(jobs) == 1 and self.total in (None, 1):
            job = jobs[0]
            frac: float | None = None
            if job.state is JobState.UPLOADING and job.upload_progress is not None:
                frac = job.upload_progress
            elif job.state is JobState.DOWNLOADING and job.download_progress is not None:
                frac = job.download_progress
            bar = f" {_bar(frac)} {int(frac * 100):3d}%" if frac is not None else ""
            self.line.set(
                f"{job.spec.model} {short_id(job)} {job.state.value} {fmt_duration(elapsed(job))}{bar}"
            )
            return
        counts: dict[JobState, int] = {}
        for j in jobs:
            counts[j.state] = counts.get(j.state, 0) + 1
        total = self.total or len(jobs)
        done = counts.get(JobState.DONE, 0)
        finished = sum(1 for j in jobs if j.is_final)
        parts = [f"{done}/{total} done"]
        for st in (JobState.FAILED, JobState.UNCERTAIN, JobState.RUNNING, JobState.QUEUED):
            if counts.get(st):
                parts.append(f"{counts[st]} {st.value}")
        moving = counts.get(JobState.UPLOADING, 0) + counts.get(JobState.SUBMITTING, 0)
        if moving:
            parts.append(f"{moving} submitting")
        if counts.get(JobState.DOWNLOADING):
            parts.append(f"{counts[JobState.DOWNLOADING]} downloading")
        self.line.set(
            f"{_bar(finished / total if total else 1.0)} "
            + ", ".join(parts)
            + f"  {fmt_duration(time.monotonic() - self.started)}"
        )

    def close(self) -> None:
        if self.line is not None:
            self.line.clear()
            self.line.text = ""
            self.out.status_line = None


# =============================================================================================
# Keys
# =============================================================================================


def env_key() -> str | None:
    value = os.environ.get(KEY_ENV, "").strip()
    return value or None


def read_key_from_user(stdin: TextIO | None = None) -> str:
    """The key for ``key set``: stdin when it is not a terminal, else a hidden prompt."""
    stdin = stdin or sys.stdin
    value = getpass.getpass("API key (input hidden): ") if stdin.isatty() else stdin.readline()
    value = value.strip()
    if not value:
        raise CliError("no key given (pipe it on stdin or type it at the prompt)", ExitCode.USAGE)
    if any(c.isspace() for c in value):
        raise CliError("the key contains white space; paste only the key", ExitCode.USAGE)
    return value


# =============================================================================================
# Interrupt handling
# =============================================================================================


class InterruptWatch:
    """SIGINT/SIGTERM as an event: the first asks the command to wind down (no new creates,
    let in-flight creates get their task id), the second cancels at once."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.count = 0
        self._main: asyncio.Task[Any] | None = None
        self._installed: list[int] = []
        self._previous: dict[int, Any] = {}

    def install(self, main_task: asyncio.Task[Any]) -> None:
        self._main = main_task
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._fire)
                self._installed.append(sig)
            except NotImplementedError:  # Windows: a plain handler that wakes the loop
                with contextlib.suppress(ValueError, OSError):
                    self._previous[sig] = signal.signal(sig, lambda *_: loop.call_soon_threadsafe(self._fire))
            except (RuntimeError, ValueError):  # not the main thread (embedded use): leave it
                pass

    def uninstall(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        self._installed.clear()
        for sig, handler in self._previous.items():
            with contextlib.suppress(Exception):
                signal.signal(sig, handler)
        self._previous.clear()

    def _fire(self) -> None:
        self.count += 1
        self.event.set()
        if self.count >= 2 and self._main is not None:
            self._main.cancel()

    @property
    def fired(self) -> bool:
        return self.event.is_set()

    async def race(self, aw: Awaitable[T]) -> T:
        """Await ``aw`` unless an interrupt comes first (then raise :class:`Interrupted`)."""
        task = asyncio.ensure_future(aw)
        stopper = asyncio.ensure_future(self.event.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            stopper.cancel()
            raise
        if task.done():
            stopper.cancel()
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise Interrupted()


# =============================================================================================
# The core, opened for one command
# =============================================================================================


@dataclass
class Context:
    """Everything a command needs: arguments, output, paths and (lazily) the service."""

    args: argparse.Namespace
    out: Output
    interrupt: InterruptWatch
    paths: AppPaths | None = None
    library_dir: Path | None = None
    store: TaskStore | None = None
    service: TaskService | None = None
    sim: SimServer | None = None  # the embedded simulator under --demo
    #: the jobs this command watches, as last seen (for the resume hints after Ctrl+C)
    known: dict[str, Job] = field(default_factory=dict)
    #: the command that resumes this one (batch); else "wait <id>" per unfinished job
    resume_hint: str | None = None

    @property
    def json(self) -> bool:
        return bool(self.args.json)

    @property
    def svc(self) -> TaskService:
        if self.service is None:
            raise RuntimeError("the task service is not open")
        return self.service

    @property
    def db(self) -> TaskStore:
        if self.store is None:
            raise RuntimeError("the task store is not open")
        return self.store


def _resolve_paths(args: argparse.Namespace) -> AppPaths:
    paths = AppPaths.resolve(args.data_dir)
    if args.demo:
        paths = AppPaths.under(paths.data_dir / "demo")  # demo tasks never mix with real ones
    return paths.ensure()


# ---- the GUI's preferences (read only) ---------------------------------------------------------


@dataclass(frozen=True)
class GuiPrefs:
    """What the CLI takes from the GUI's settings file: its library folder and unified profiles."""

    library_dir: Path | None = None
    unified: tuple[tuple[str, str], ...] = ()  # (name, base_url)


def gui_settings_file(args: argparse.Namespace, paths: AppPaths) -> Path:
    """Where the GUI keeps its QSettings ini (see kievideo.ui.appsettings.open_settings)."""
    if args.data_dir or args.demo:
        return paths.config_dir / "kievideo.ini"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "kievideo" / "kievideo.ini"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kievideo" / "kievideo.ini"


def _qt_ini_string(raw: str) -> str:
    """Undo QSettings' ini quoting of a string value (best effort: quotes and backslashes)."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def read_gui_prefs(path: Path) -> GuiPrefs:
    """The GUI's library folder and unified-API profiles from its ini file; empty if unreadable."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except (OSError, configparser.Error, UnicodeDecodeError):
        return GuiPrefs()
    library: Path | None = None
    raw_dir = parser.get("library", "dir", fallback="")
    if raw_dir and _qt_ini_string(raw_dir):
        library = Path(_qt_ini_string(raw_dir)).expanduser()
    unified: list[tuple[str, str]] = []
    raw = parser.get("unified", "profiles", fallback="")
    if raw:
        try:
            items = json.loads(_qt_ini_string(raw))
        except ValueError:
            items = []
        for it in items if isinstance(items, list) else []:
            if isinstance(it, dict) and it.get("name") and it.get("base_url"):
                unified.append((str(it["name"]), str(it["base_url"]).rstrip("/")))
    return GuiPrefs(library, tuple(unified))


# ---- keys ----------------------------------------------------------------------------------


class KeySource:
    """The registry's key source: the demo key, else $KIEVIDEO_API_KEY[_<PROFILE>], else the
    keyring; read once per profile (a keyring read may block on D-Bus) and registered for
    redaction everywhere."""

    def __init__(self, out: Output, *, fixed: str | None = None) -> None:
        self.out = out
        self.fixed = fixed
        self._keys: KeyStore | None = None
        self._cache: dict[str, str | None] = {}

    def __call__(self, profile: str) -> str | None:
        if self.fixed is not None:
            return self.fixed
        if profile not in self._cache:
            if self._keys is None:
                from kievideo.core.secrets import KeyStore

                self._keys = KeyStore(use_env=True)
            value = self._keys.get(profile)
            self._cache[profile] = value
            if value:
                self.out.secrets.append(value)
                from kievideo import logs

                logs.register_secret(value)
        return self._cache[profile]


# ---- the service -----------------------------------------------------------------------------


class ScaledClock:
    """A :class:`kievideo.core.clock.Clock` running ``speed`` times faster than real time.

    For a simulator with a fast clock (``--demo``, ``--sim-speed``): the poll plan is made of
    provider seconds (a Veo task takes minutes), so planning on the simulator's time keeps the
    plan meaningful instead of waiting real minutes for a task that took seconds. (The same idea
    as the GUI's ``ui.wiring.ScaledClock``, which the CLI cannot import: it lives beside Qt.)
    """

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def time(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0) * self.speed

    def monotonic(self) -> float:
        return self._mono0 + (time.monotonic() - self._mono0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def __repr__(self) -> str:
        return f"ScaledClock(speed={self.speed:g})"


#: the clock job times are read with (the service's: scaled under --demo / --sim-speed)
_now: Callable[[], float] = time.time


async def _start_demo_sim(paths: AppPaths) -> SimServer:
    import random

    from kievideo.sim import DEMO_KEY, SimConfig, SimServer

    # A fresh seed per run: the simulator derives task ids from (seed, counter), and the demo
    # store outlives the embedded simulator, so a fixed seed would repeat ids across runs.
    cfg = SimConfig(
        speed=DEMO_SPEED,
        seed=random.SystemRandom().randrange(1, 2**31),
        credits=100_000,
        keys=(DEMO_KEY,),
        cache_dir=str(paths.cache_dir / "sim-media"),
    )
    server = SimServer(cfg)
    await asyncio.get_running_loop().run_in_executor(None, server.start)
    return server


def build_registry(ctx: Context, keys: KeySource, prefs: GuiPrefs) -> ProviderRegistry:
    """The provider profiles: kie.ai (moved by --api-base/--upload-base or --demo) and the
    unified-API profiles of the GUI; --api-base also points every unified profile at that
    server, and adds a profile called "unified" if there is none."""
    from kievideo.core.providers import ProviderProfile, ProviderRegistry

    args = ctx.args
    api_base = ctx.sim.api_url if ctx.sim is not None else args.api_base
    upload_base = ctx.sim.upload_url if ctx.sim is not None else args.upload_base
    profiles = []
    try:
        for name, base in prefs.unified:
            if name == "kie":
                continue
            with contextlib.suppress(ValueError):  # a broken GUI profile: skipped, as in the app
                profiles.append(ProviderProfile(name, "unified", name, api_base or base))
        if api_base and "unified" not in {p.name for p in profiles}:
            profiles.append(ProviderProfile("unified", "unified", "Unified video API", api_base))
        return ProviderRegistry(keys, profiles, kie_api_base=api_base, kie_upload_base=upload_base)
    except ValueError as exc:  # a malformed --api-base / --upload-base (argparse checks them too)
        raise CliError(f"argument --api-base/--upload-base: {exc}", ExitCode.USAGE) from None


def fix_profile(ctx: Context, spec: JobSpec) -> JobSpec:
    """A unified spec without an explicit profile takes "unified", or else the only/first unified
    profile the GUI knows."""
    profiles = ctx.svc.registry.profiles
    if spec.profile in profiles or spec.provider is not ProviderKind.UNIFIED or spec.profile != "unified":
        return spec
    unified = [name for name, p in profiles.items() if p.kind == "unified"]
    if not unified:
        raise CliError(
            "no unified video API is configured: add one in the app's Settings, or pass --api-base URL",
            ExitCode.USAGE,
        )
    return spec.with_(profile=unified[0])


@contextlib.asynccontextmanager
async def open_service(
    ctx: Context, *, resume: bool = False, out_dir: Path | None = None
) -> AsyncIterator[TaskService]:
    """Open the store, the provider registry and the TaskService for one command.

    ``resume``: call ``TaskService.start()``, which adopts jobs whose process is gone (so `wait`
    and a re-run batch can finish them). ``out_dir``: the service downloads straight there
    instead of the library (the store records the path, so the GUI finds the file too).
    """
    global _now
    from kievideo import logs
    from kievideo.core.clock import Clock, SystemClock
    from kievideo.core.service import TaskService
    from kievideo.core.store import TaskStore

    args = ctx.args
    paths = _resolve_paths(args)
    ctx.paths = paths
    logs.setup_logging(paths.log_dir, debug=args.debug, console=args.debug, file_name="kievideo-cli.log")
    prefs = read_gui_prefs(gui_settings_file(args, paths))
    ctx.library_dir = out_dir or prefs.library_dir or paths.library_dir
    speed = args.sim_speed or (DEMO_SPEED if args.demo else None)
    clock: Clock = ScaledClock(speed) if speed and speed != 1 else SystemClock()
    _now = clock.time
    if args.demo:
        ctx.sim = await _start_demo_sim(paths)
    keys = KeySource(ctx.out, fixed=ctx.sim.key if ctx.sim is not None else None)
    store = None
    service = None
    try:
        registry = build_registry(ctx, keys, prefs)
        store = TaskStore(paths.db_path)
        ctx.store = store
        service = TaskService(
            store, registry, library_dir=ctx.library_dir, clock=clock, thumbs_dir=paths.thumbs_dir
        )
        ctx.service = service
        if resume:
            await service.start()
        yield service
    finally:
        if service is not None:
            await service.aclose()
        if store is not None:
            store.close()
        if ctx.sim is not None:
            await asyncio.get_running_loop().run_in_executor(None, ctx.sim.stop)
            ctx.sim = None
        logs.teardown_logging()


@contextlib.asynccontextmanager
async def open_store(ctx: Context) -> AsyncIterator[TaskStore]:
    """Just the store (list/status): no network, no service."""
    from kievideo.core.store import TaskStore

    ctx.paths = _resolve_paths(ctx.args)
    store = TaskStore(ctx.paths.db_path)
    ctx.store = store
    try:
        yield store
    finally:
        store.close()


def require_key(ctx: Context, profile: str) -> None:
    """CliError(AUTH) when no key is known for ``profile`` (nothing is sent)."""
    registry = ctx.svc.registry
    try:
        prof = registry.get(profile)
    except api_errors.InvalidRequestError as exc:
        raise CliError(exc.user_message, ExitCode.USAGE) from None
    if not registry.has_key(profile):
        raise CliError(
            f"no API key for {prof.label}: set ${KEY_ENV} or run `{PROG} key set --provider {profile}`",
            ExitCode.AUTH,
        )


async def preflight(ctx: Context, specs: Iterable[JobSpec]) -> None:
    """Before anything paid: every profile has a key, and kie.ai accepts it (a free credits
    request), so a wrong key or a dead network fails the command before the first upload."""
    profiles = sorted({s.profile for s in specs})
    for profile in profiles:
        require_key(ctx, profile)
    for profile in profiles:
        if ctx.svc.registry.get(profile).kind == "kie":
            await ctx.interrupt.race(ctx.svc.credits(profile))


def resume_job(ctx: Context, job: Job) -> None:
    """Watch ``job`` again: a STOPPED job resumes; an active one was adopted by ``start()``
    (or is followed while the process that owns it, e.g. the GUI, works on it)."""
    if job.state is JobState.STOPPED:
        ctx.svc.resume_watching(job.id)


def resolve_job(store: TaskStore, ident: str) -> Job:
    """A job by local id, provider task id, or unique local-id prefix (CliError USAGE if none)."""
    ident = ident.strip()
    if not ident:
        raise CliError("empty task id", ExitCode.USAGE)
    job = store.get(ident) or store.by_task_id(ident)
    if job is not None:
        return job
    if len(ident) >= 4 and all(c in "0123456789abcdef" for c in ident.lower()):
        matches = [j for j in store.list(limit=None) if j.id.startswith(ident.lower())]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise CliError(f"{ident!r} matches {len(matches)} jobs; give more characters", ExitCode.USAGE)
    raise CliError(f"no task {ident!r} in {store.path} (see `{PROG} list`)", ExitCode.USAGE)


# =============================================================================================
# Entry point
# =============================================================================================


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script passes it to ``sys.exit``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(json_mode=bool(args.json))
    env = env_key()
    if env:
        out.secrets.append(env)
    try:
        return int(asyncio.run(_run(args, out)))
    except KeyboardInterrupt:
        out.note("interrupted")
        return ExitCode.INTERRUPTED
    except CliError as exc:
        if args.debug:
            out.note(traceback.format_exc().rstrip())
        out.error(exc.message)
        for line in exc.details[1:]:
            out.note(f"  {line}")
        return int(exc.code)
    except BrokenPipeError:
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return ExitCode.FAILED
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        code, message = classify_exception(exc)
        if args.debug:
            out.note(traceback.format_exc().rstrip())  # redacted like every other line
        out.error(
            message
            if code is not ExitCode.FAILED or isinstance(exc, api_errors.ApiError)
            else f"{message} (run with --debug for details)"
        )
        return int(code)


def classify_exception(exc: BaseException) -> tuple[ExitCode, str]:
    """Exit code and one-line message for an exception that ended a command."""
    if isinstance(exc, CliError):
        return exc.code, exc.message
    if isinstance(exc, rules.SpecError):
        return ExitCode.USAGE, "; ".join(p.message for p in exc.problems) or str(exc)
    if isinstance(exc, api_errors.InvalidRequestError):
        return ExitCode.USAGE, str(exc)
    if isinstance(exc, api_errors.AuthError):
        return ExitCode.AUTH, (
            f"the API key was not accepted by the provider; set a valid key with `{PROG} key set "
            f"--provider kie` or ${KEY_ENV}"
        )
    if isinstance(exc, api_errors.AmbiguousSubmitError):
        return ExitCode.UNCERTAIN, str(exc)
    if isinstance(exc, api_errors.TransportError | api_errors.ServerError | api_errors.MaintenanceError):
        return ExitCode.NETWORK, str(exc)
    if isinstance(exc, api_errors.RateLimitError | api_errors.MalformedResponseError):
        return ExitCode.NETWORK, str(exc)
    if isinstance(exc, api_errors.ApiError):
        return ExitCode.FAILED, str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return ExitCode.FAILED, f"{exc.strerror or exc}{where}"
    return ExitCode.FAILED, f"internal error: {type(exc).__name__}: {exc}"


async def _run(args: argparse.Namespace, out: Output) -> int:
    interrupt = InterruptWatch()
    me = asyncio.current_task()
    assert me is not None
    interrupt.install(me)
    ctx = Context(args=args, out=out, interrupt=interrupt)
    try:
        handler = COMMANDS[args.command]
        return int(await handler(ctx))
    except (asyncio.CancelledError, Interrupted):
        # Ctrl+C outside a watch (or a second one): stop now; every job is in the store
        _print_resume_hints(ctx)
        return ExitCode.INTERRUPTED
    finally:
        interrupt.uninstall()


def _print_resume_hints(ctx: Context) -> None:
    """After Ctrl+C: how to pick up what is still running (nothing is lost, nothing resent)."""
    if ctx.resume_hint is not None:
        ctx.out.note(f"resume with: {ctx.resume_hint}")
        return
    for job in ctx.known.values():
        if ctx.service is not None:
            job = ctx.service.get(job.id) or job  # the task id may have arrived since
        if not job.is_final:
            ctx.out.note(f"resume with: {PROG} wait {job.task_id or job.id}")


Handler = Callable[[Context], Awaitable[int]]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return deco


# =============================================================================================
# Commands
# =============================================================================================


def _abs_dir(path: Path | None) -> Path | None:
    return None if path is None else Path(os.path.normpath(path.expanduser().absolute()))


def _check_with_service(ctx: Context, spec: JobSpec) -> None:
    """The service's own checks (profile exists and serves the provider, uploads possible)."""
    found = ctx.svc.check(spec)
    if found:
        raise CliError("; ".join(p.message for p in found), ExitCode.USAGE)


def _progress(ctx: Context, total: int | None = None, *, enabled: bool = True) -> Progress:
    return Progress(ctx.out, tty=ctx.out.stderr.isatty(), total=total, enabled=enabled)


async def _ticker(progress: Progress) -> None:
    period = 0.5 if progress.tty else 1.0
    while True:
        await asyncio.sleep(period)
        progress.tick()


@contextlib.asynccontextmanager
async def watching(ctx: Context, progress: Progress) -> AsyncIterator[None]:
    """Feed service changes to ``progress`` (and ``ctx.known``) and redraw it periodically."""

    def on_change(job: Job) -> None:
        if job.id in ctx.known:
            ctx.known[job.id] = job
        progress.update(job)

    remove = ctx.svc.add_listener(on_change)
    ticker = asyncio.ensure_future(_ticker(progress))
    try:
        yield
    finally:
        ticker.cancel()
        with contextlib.suppress(BaseException):
            await ticker
        remove()
        progress.close()


async def until(ctx: Context, job_id: str, pred: Callable[[Job], bool]) -> Job:
    """The job as soon as ``pred`` holds for it (checked on every service change)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Job] = loop.create_future()

    def on_change(job: Job) -> None:
        if job.id == job_id and not fut.done() and pred(job):
            fut.set_result(job)

    remove = ctx.svc.add_listener(on_change)
    try:
        current = ctx.svc.get(job_id)
        if current is not None and pred(current):
            return current
        return await fut
    finally:
        remove()


def _submitted(job: Job) -> bool:
    """The create has an answer (or the job ended): safe to stop watching without losing it."""
    if job.task_id is not None or job.is_final:
        return True
    return job.state not in (JobState.UPLOADING, JobState.SUBMITTING)


async def settle_submissions(ctx: Context, job_ids: Iterable[str]) -> None:
    """After an interrupt: give creates already on the wire time to come back with a task id,
    so no paid task is left without one (it would become UNCERTAIN)."""
    pending = [j for j in job_ids if (job := ctx.svc.get(j)) is not None and not _submitted(job)]
    if not pending:
        return
    ctx.out.note(
        f"waiting for {len(pending)} request(s) already sent to be answered (Ctrl+C again: quit now)"
    )
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(until(ctx, j, _submitted) for j in pending)), SUBMIT_GRACE_S)


async def ensure_file(ctx: Context, job: Job, out_dir: Path | None) -> tuple[Job, list[Path]]:
    """Make sure a DONE job's video is on disk (and in ``out_dir`` if given)."""
    extra: list[Path] = []
    if job.state is not JobState.DONE:
        return job, extra
    present = bool(job.file_path) and await asyncio.to_thread(os.path.exists, str(job.file_path))
    if out_dir is not None:
        if present and Path(str(job.file_path)).parent == out_dir:
            return job, extra
        extra.append(Path(await ctx.svc.download(job.id, out_dir)))
    elif not present:
        path = Path(await ctx.svc.download(job.id, None))
        job = ctx.svc.get(job.id) or job
        if str(path) != job.file_path:
            extra.append(path)
    return job, extra


async def watch_one(ctx: Context, job: Job, *, wait: bool, out_dir: Path | None) -> int:
    """Shared tail of generate/upgrade/extend/wait: watch, download, report, exit code."""
    ctx.known[job.id] = job
    progress = _progress(ctx, enabled=wait or not _submitted(job))
    progress.watch(job)
    try:
        async with watching(ctx, progress):
            if wait:
                job = await ctx.interrupt.race(ctx.svc.wait(job.id))
            else:
                job = await ctx.interrupt.race(until(ctx, job.id, _submitted))
            extra: list[Path] = []
            if wait and job.state is JobState.DONE:
                job, extra = await ctx.interrupt.race(ensure_file(ctx, job, out_dir))
    except Interrupted:
        await settle_submissions(ctx, [job.id])
        job = ctx.svc.get(job.id) or job
        ctx.out.job(job)
        _print_resume_hints(ctx)
        return ExitCode.INTERRUPTED
    ctx.out.job(job, extra)
    code = exit_code_for_job(job)
    if not wait and not job.is_final:
        ident = job.task_id or job.id
        if not ctx.json:
            ctx.out.note(f"submitted; follow it with: {PROG} wait {ident}")
        return ExitCode.OK
    if code is not ExitCode.OK:
        err = job_error(job)
        ctx.out.error(f"{job.spec.model} {short_id(job)} {job.state.value}: {err['message'] if err else ''}")
    return code


@command("generate")
async def cmd_generate(ctx: Context) -> int:
    spec = spec_from_args(ctx.args)
    check_spec(spec)
    out_dir = _abs_dir(ctx.args.out)
    async with open_service(ctx, out_dir=out_dir):
        spec = fix_profile(ctx, spec)
        _check_with_service(ctx, spec)
        await preflight(ctx, [spec])
        if ctx.args.demo and not ctx.args.wait:
            ctx.out.note("demo tasks live only as long as this process: waiting for the video")
        elif out_dir is not None and not ctx.args.wait:
            ctx.out.note(f"note: --out applies with --wait; later, `{PROG} wait ID --out DIR` saves it there")
        job = ctx.svc.submit(spec)
        return await watch_one(ctx, job, wait=ctx.args.wait or ctx.args.demo, out_dir=out_dir)


@command("wait")
async def cmd_wait(ctx: Context) -> int:
    out_dir = _abs_dir(ctx.args.out)
    async with open_service(ctx, resume=True, out_dir=out_dir):
        job = resolve_job(ctx.db, ctx.args.task_id)
        resume_job(ctx, job)
        return await watch_one(ctx, ctx.svc.get(job.id) or job, wait=True, out_dir=out_dir)


@command("status")
async def cmd_status(ctx: Context) -> int:
    async with open_store(ctx) as store:
        job = resolve_job(store, ctx.args.task_id)
        if ctx.json:
            ctx.out.data(job_to_json(job))
        else:
            for line in describe_job(job):
                ctx.out.result(line)
            if not job.is_final:
                ctx.out.note(f"(as last seen; `{PROG} wait {job.task_id or job.id}` follows it live)")
    return ExitCode.OK


@command("list")
async def cmd_list(ctx: Context) -> int:
    async with open_store(ctx) as store:
        limit = None if ctx.args.limit <= 0 else ctx.args.limit
        jobs = store.list(states=ctx.args.state, provider=ctx.args.provider, limit=limit)
        for job in jobs:
            if ctx.json:
                ctx.out.data(job_to_json(job))
            else:
                ctx.out.result(list_line(job))
        if not jobs and not ctx.json:
            ctx.out.note("no tasks")
    return ExitCode.OK


@command("download")
async def cmd_download(ctx: Context) -> int:
    async with open_service(ctx):
        job = resolve_job(ctx.db, ctx.args.task_id)
        if job.state is not JobState.DONE and not job.result_urls:
            raise CliError(
                f"task {job.task_id or job.id} has no video yet (state: {job.state.value}); "
                f"`{PROG} wait {job.task_id or job.id}` waits for it",
                ExitCode.FAILED,
            )
        out_dir = _abs_dir(ctx.args.out)
        try:
            path = Path(await ctx.interrupt.race(ctx.svc.download(job.id, out_dir)))
        except ValueError as exc:
            raise CliError(str(exc), ExitCode.FAILED) from None
        job = ctx.svc.get(job.id) or job
        ctx.out.job(job, [path])
    return ExitCode.OK


@command("upgrade")
async def cmd_upgrade(ctx: Context) -> int:
    kind = JobKind.UPGRADE_1080P if ctx.args.to == "1080p" else JobKind.UPGRADE_4K
    out_dir = _abs_dir(ctx.args.out)
    async with open_service(ctx, out_dir=out_dir):
        parent = resolve_job(ctx.db, ctx.args.task_id)
        await preflight(ctx, [parent.spec])
        try:
            job = ctx.svc.upgrade(parent.id, kind)
        except ValueError as exc:
            raise CliError(str(exc), ExitCode.USAGE) from None
        return await watch_one(ctx, job, wait=ctx.args.wait, out_dir=out_dir)


@command("extend")
async def cmd_extend(ctx: Context) -> int:
    out_dir = _abs_dir(ctx.args.out)
    async with open_service(ctx, out_dir=out_dir):
        parent = resolve_job(ctx.db, ctx.args.task_id)
        if not ctx.args.prompt.strip():
            raise CliError(rules.message("prompt_empty"), ExitCode.USAGE)
        await preflight(ctx, [parent.spec])
        try:
            job = ctx.svc.extend(parent.id, ctx.args.prompt)
        except ValueError as exc:  # SpecError is a ValueError too
            raise CliError(str(exc), ExitCode.USAGE) from None
        return await watch_one(ctx, job, wait=ctx.args.wait, out_dir=out_dir)


@command("credits")
async def cmd_credits(ctx: Context) -> int:
    async with open_service(ctx):
        require_key(ctx, ctx.args.profile)
        credits = await ctx.interrupt.race(ctx.svc.credits(ctx.args.profile))
        if ctx.json:
            ctx.out.data({"profile": ctx.args.profile, "credits": credits})
        else:
            ctx.out.result(str(credits))
    return ExitCode.OK


@command("key")
async def cmd_key(ctx: Context) -> int:
    from kievideo.core.secrets import KeyStore

    profile = ctx.args.provider
    keys = KeyStore()
    action = ctx.args.action
    if action == "set":
        if not keys.backend_available():
            raise CliError(
                f"no usable OS keyring here ({keys.backend_name()}): the key would be forgotten when "
                f"this command ends; set ${KEY_ENV} instead",
                ExitCode.FAILED,
            )
        key = read_key_from_user()
        ctx.out.secrets.append(key)
        try:
            where = keys.set(profile, key)
        except ValueError as exc:
            raise CliError(str(exc), ExitCode.USAGE) from None
        if where != "stored":
            raise CliError(f"the keyring ({keys.backend_name()}) did not take the key", ExitCode.FAILED)
        ctx.out.note(f"key for {profile} saved in the keyring ({keys.backend_name()})")
        ctx.out.data({"provider": profile, "stored": True})
        return ExitCode.OK
    if action == "delete":
        existed = keys.status(profile) in ("stored", "session")
        keys.delete(profile)
        ctx.out.note(f"key for {profile} {'deleted' if existed else 'was not stored'}")
        ctx.out.data({"provider": profile, "stored": False, "deleted": existed})
        return ExitCode.OK
    status = keys.status(profile)
    stored = status == "stored"
    source = KeyStore(use_env=True).source(profile)
    env = source == "env"
    if ctx.json:
        ctx.out.data({"provider": profile, "stored": stored, "env": env, "source": source})
    else:
        text = {
            "stored": "a key is stored in the keyring",
            "missing": "no key stored",
            "no-backend": "no usable OS keyring on this system",
            "session": "a key is kept for this session only",
        }[status]
        ctx.out.result(f"{profile}: {text}" + (f"; ${KEY_ENV} is set and takes precedence" if env else ""))
    return ExitCode.OK if source is not None else ExitCode.AUTH


# ---- batch -----------------------------------------------------------------------------------


@dataclass
class BatchOutcome:
    item: BatchItem
    job: Job | None = None
    files: list[Path] = field(default_factory=list)
    skipped: str | None = None  # why the line was not run now ("done", "failed", ...)
    error: str | None = None  # the job is fine, but its video could not be put in place


@command("batch")
async def cmd_batch(ctx: Context) -> int:
    items = parse_batch(ctx.args.file)
    out_dir = _abs_dir(ctx.args.out)
    ctx.resume_hint = f"{PROG} batch {ctx.args.file}" + (f" --out {out_dir}" if out_dir else "")
    async with open_service(ctx, resume=True, out_dir=out_dir):
        bad: list[str] = []
        for i, item in enumerate(items):
            try:
                spec = fix_profile(ctx, item.spec)
                _check_with_service(ctx, spec)
            except CliError as exc:
                bad.append(f"line {item.line}: {exc.message}")
                continue
            items[i] = dataclasses.replace(item, spec=spec)
        if bad:
            more = f" (and {len(bad) - 1} more bad line(s))" if len(bad) > 1 else ""
            raise CliError(f"{ctx.args.file}: {bad[0]}{more}", ExitCode.USAGE, details=bad)
        outcomes = [BatchOutcome(item) for item in items]
        to_submit: list[BatchOutcome] = []
        to_watch: list[BatchOutcome] = []
        for oc in outcomes:
            existing = ctx.db.by_job_key(oc.item.key)
            if existing is None:
                to_submit.append(oc)
                continue
            oc.job = existing
            if existing.state is JobState.DONE:
                oc.skipped = "done"
                to_watch.append(oc)  # only to make sure the file is there
            elif existing.state in (JobState.FAILED, JobState.EXPIRED, JobState.UNCERTAIN):
                oc.skipped = existing.state.value
            else:
                to_watch.append(oc)
        if to_submit:
            await preflight(ctx, [oc.item.spec for oc in to_submit])
        already = len(outcomes) - len(to_submit)
        if already and not ctx.json:
            ctx.out.note(
                f"{already} of {len(outcomes)} job(s) already in the store (done, in flight or failed): "
                "not submitted again"
            )
        progress = _progress(ctx, total=len(outcomes))
        for oc in outcomes:
            if oc.job is not None and oc.skipped is not None and oc.skipped != "done":
                progress.watch(oc.job)
        interrupted = False
        sem = asyncio.Semaphore(ctx.args.concurrency)
        submitted_ids: list[str] = []
        stop_submitting = asyncio.Event()

        async def run(oc: BatchOutcome) -> None:
            async with sem:
                if oc.job is None:
                    if stop_submitting.is_set():
                        return
                    oc.job = submit_once(ctx, oc.item)
                    submitted_ids.append(oc.job.id)
                else:
                    resume_job(ctx, oc.job)
                ctx.known[oc.job.id] = oc.job
                progress.watch(oc.job)
                job = await ctx.svc.wait(oc.job.id)
                oc.job = job
                if job.state is JobState.DONE:
                    try:
                        oc.job, oc.files = await ensure_file(ctx, job, out_dir)
                    except (OSError, ValueError, api_errors.ApiError) as exc:
                        oc.error = f"the video is done but could not be saved: {exc}"
                ctx.out.job(oc.job, oc.files)

        async with watching(ctx, progress):
            workers = [asyncio.ensure_future(run(oc)) for oc in to_watch + to_submit]
            try:
                await ctx.interrupt.race(asyncio.gather(*workers))
            except Interrupted:
                interrupted = True
                stop_submitting.set()
                for w in workers:
                    w.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                await settle_submissions(ctx, submitted_ids)
            except BaseException:
                for w in workers:
                    w.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                raise
        for oc in outcomes:
            if oc.job is not None:
                oc.job = ctx.svc.get(oc.job.id) or oc.job
                if oc.skipped not in (None, "done"):  # failed/uncertain earlier: reported, not rerun
                    ctx.out.job(oc.job)
        return _batch_summary(ctx, outcomes, out_dir, interrupted)


def submit_once(ctx: Context, item: BatchItem) -> Job:
    """Submit a batch line under its job key; a key that another process took in the meantime
    gives that process's job (the store's unique index makes a second paid job impossible)."""
    from kievideo.core.store import DuplicateJobError

    try:
        return ctx.svc.submit(item.spec, job_key=item.key)
    except DuplicateJobError as exc:
        existing = ctx.db.by_job_key(item.key)
        if existing is None:
            raise CliError(f"line {item.line}: {exc}") from exc
        return existing


def _batch_summary(
    ctx: Context, outcomes: list[BatchOutcome], out_dir: Path | None, interrupted: bool
) -> int:
    done = [o for o in outcomes if o.job is not None and o.job.state is JobState.DONE and not o.error]
    failed = [o for o in outcomes if o.job is not None and o.job.state in (JobState.FAILED, JobState.EXPIRED)]
    uncertain = [o for o in outcomes if o.job is not None and o.job.state is JobState.UNCERTAIN]
    other = [o for o in outcomes if o not in done and o not in failed and o not in uncertain]
    where = str(out_dir or ctx.library_dir)
    for o in failed + uncertain:
        assert o.job is not None
        err = job_error(o.job)
        (ctx.out.note if ctx.json else ctx.out.result)(
            f"line {o.item.line}: {o.job.state.value}: {err['message'] if err else ''}"
        )
    for o in other:
        if o.error:
            ctx.out.error(f"line {o.item.line}: {o.error}")
    summary = f"{len(done)} done, {len(failed)} failed, {len(uncertain)} uncertain"
    if other:
        summary += f", {len(other)} not finished"
    summary += f"; files in {where}"
    (ctx.out.note if ctx.json else ctx.out.result)(summary)
    if interrupted:
        _print_resume_hints(ctx)
        return ExitCode.INTERRUPTED
    codes = [exit_code_for_job(o.job) for o in outcomes if o.job is not None]
    if other:
        codes.append(ExitCode.FAILED)
    return _worst(codes)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
