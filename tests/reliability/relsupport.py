"""Shared helpers of the reliability suites (crash/restart, fault soak, bad input, secret scan).

Imported by the test modules of this folder (pytest puts the folder on ``sys.path``); the name is
unique across the test tree because the test folders are not packages.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kievideo.core.jobs import Job, JobState

HERE = Path(__file__).resolve().parent

#: Words a person must never see in an error text.
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "', "line ", "Error(", "object at 0x")


# ---------------------------------------------------------------------------------------------
# clocks and waiting
# ---------------------------------------------------------------------------------------------


class ScaledClock:
    """A core Clock running ``speed`` times faster than real time (like the simulator's)."""

    def __init__(self, speed: float) -> None:
        self.speed = float(speed)
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def time(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0) * self.speed

    def monotonic(self) -> float:
        return self._mono0 + (time.monotonic() - self._mono0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


# ---------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------


def venv_script(name: str) -> str:
    """A console script installed next to this interpreter (``pip install -e .``)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed in this venv: run `pip install -e .`")
    return found


def clean_env(**extra: str | None) -> dict[str, str]:
    """The test process's environment without any KIEVIDEO_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIEVIDEO_")}
    env.setdefault("PYTHONUNBUFFERED", "1")
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


@dataclass
class Run:
    """One child process run: how it ended."""

    argv: list[str]
    killed: bool
    code: int | None
    seconds: float
    stdout: str = ""
    stderr: str = ""


def run_child(
    argv: list[str],
    env: dict[str, str],
    *,
    logdir: Path,
    kill_after: float | None = None,
    kill_when: Callable[[subprocess.Popen[bytes]], bool] | None = None,
    timeout: float = 90.0,
    tag: str = "run",
) -> Run:
    """Run ``argv``; SIGKILL it after ``kill_after`` real seconds or as soon as ``kill_when``
    holds (checked every 10 ms), whichever comes first; otherwise let it exit (``timeout``).

    stdout/stderr go to files (a full pipe must never block the child)."""
    logdir.mkdir(parents=True, exist_ok=True)
    out_p, err_p = logdir / f"{tag}.out", logdir / f"{tag}.err"
    t0 = time.monotonic()
    with open(out_p, "wb") as out, open(err_p, "wb") as err:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        killed = False
        try:
            while proc.poll() is None:
                elapsed = time.monotonic() - t0
                if (kill_after is not None and elapsed >= kill_after) or (
                    kill_when is not None and kill_when(proc)
                ):
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(10)
                    killed = True
                    break
                if elapsed > timeout:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(10)
                    pytest.fail(
                        f"{argv[0]} did not finish in {timeout:g} s\n"
                        + err_p.read_text("utf-8", "replace")[-3000:]
                    )
                time.sleep(0.01)
        finally:
            if proc.poll() is None:  # the test failed in between: never leave it running
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
    return Run(
        argv,
        killed,
        None if killed else proc.returncode,
        time.monotonic() - t0,
        out_p.read_text("utf-8", "replace"),
        err_p.read_text("utf-8", "replace"),
    )


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def decode_fully(path: Path) -> int:
    """Decode every video frame with PyAV; the number of frames (raises on a broken file)."""
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def png(width: int = 64, height: int = 36, *, seed: int = 0, pad_to: int = 0) -> bytes:
    """A real PNG (distinct per ``seed``), optionally padded with random bytes after IEND to
    ``pad_to`` bytes: still sniffed as PNG with a valid IHDR, and as big as wanted."""
    from kievideo.sim.media import make_png

    data = make_png(width, height, (seed % 256, 40, 90), (250, (seed * 7) % 256, 40))
    if pad_to > len(data):
        data += os.urandom(pad_to - len(data))
    return data


@dataclass
class LibraryAudit:
    mp4_files: int = 0
    decoded: int = 0
    part_files: list[str] = field(default_factory=list)
    orphan_reservations: list[str] = field(default_factory=list)  # empty NAME.part of no job
    finalized_not_done: int = 0  # complete files whose job was killed before it wrote DONE
    problems: list[str] = field(default_factory=list)


def audit_library(library: Path, jobs: Iterable[Job], sim: Any, *, decode: bool | int = True) -> LibraryAudit:
    """Every video in ``library`` is complete: it is the file of a DONE job and byte-identical
    (sha256) to what the simulator serves for that job's result URL; ``decode`` (True, or the
    number of files to decode) also decodes them with PyAV. ``.part`` files may belong only to
    jobs that are not finished."""
    audit = LibraryAudit()
    jobs = list(jobs)
    by_file = {str(Path(j.file_path).resolve()): j for j in jobs if j.file_path}
    # An unfinished job owns its reserved name ("dest") and, after a kill between planning and
    # reserving, its planned one ("dest_planned"), which the restart adopts.
    active_dests = {
        str(Path(str(d)).resolve()): j
        for j in jobs
        if not j.is_final
        for d in (j.extra.get("dest"), j.extra.get("dest_planned"))
        if d
    }
    # A kill between "file moved into place" and "DONE written" leaves the complete file under
    # its reserved name while the job still says DOWNLOADING (the restart adopts it as is).
    for dest, j in active_dests.items():
        by_file.setdefault(dest, j)
    budget = decode if isinstance(decode, int) and not isinstance(decode, bool) else (10**9 if decode else 0)
    if not library.exists():
        return audit
    for path in sorted(library.iterdir()):
        if path.is_dir():
            continue
        name = path.name
        if name.endswith(".part") or name.endswith(".part.json"):
            audit.part_files.append(name)
            dest = str(path.resolve()).removesuffix(".json").removesuffix(".part")
            if dest not in active_dests:
                if name.endswith(".part") and path.stat().st_size == 0:
                    # an empty name reservation the job never learnt about: a leak the service
                    # must not leave (test_crash_after_name_reserved_leaves_no_stray_part)
                    audit.orphan_reservations.append(name)
                audit.problems.append(f"{name}: a partial file that belongs to no unfinished job")
            continue
        if not name.endswith(".mp4"):
            continue
        audit.mp4_files += 1
        job = by_file.get(str(path.resolve()))
        if job is None:
            audit.problems.append(f"{name}: a video that is no job's finished file")
            continue
        if job.state is not JobState.DONE and job.state is not JobState.DOWNLOADING:
            audit.problems.append(f"{name}: the file of a job in state {job.state.value}")
        if job.state is JobState.DOWNLOADING:
            audit.finalized_not_done += 1
        try:
            want = sim.file_bytes(job.result_urls[0])
        except (KeyError, IndexError) as exc:
            audit.problems.append(f"{name}: cannot compare with the simulator ({exc})")
            continue
        if sha256_file(path) != sha256(want):
            audit.problems.append(
                f"{name}: {path.stat().st_size} bytes, not byte-identical to the simulator's {len(want)}"
            )
            continue
        if audit.decoded < budget:
            try:
                frames = decode_fully(path)
            except Exception as exc:
                audit.problems.append(f"{name}: does not decode ({type(exc).__name__}: {exc})")
                continue
            if frames <= 0:
                audit.problems.append(f"{name}: decodes to no frames")
            audit.decoded += 1
    return audit


def grep_tree(
    root: Path, needles: Iterable[bytes], *, skip: Callable[[Path], bool] | None = None
) -> list[str]:
    """Every file under ``root`` (recursively, binary-safe) containing one of ``needles``."""
    hits: list[str] = []
    wanted = [n for n in needles if n]
    if not root.exists():
        return hits
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink() or (skip is not None and skip(path)):
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for n in wanted:
            if n in data:
                hits.append(f"{path} contains {n[:6]!r}...")
    return hits


def person_text_ok(text: str | None, secrets: Iterable[str] = ()) -> list[str]:
    """What is wrong with a message meant for a person (empty list: fine)."""
    bad: list[str] = []
    if not text or not text.strip():
        return ["no message at all"]
    for m in TRACEBACK_MARKERS[:2]:
        if m in text:
            bad.append(f"looks like a traceback ({m!r})")
    if "object at 0x" in text:
        bad.append("shows a Python repr")
    for s in secrets:
        if s and s in text:
            bad.append("contains the API key")
    if len(text) > 600:
        bad.append(f"{len(text)} characters long")
    return bad


# ---------------------------------------------------------------------------------------------
# an in-process TaskService against a simulator (the way the app builds it)
# ---------------------------------------------------------------------------------------------


#: base URLs when the server is an httpx.MockTransport (``sim=None``)
FAKE_API = "https://api.kie.test"
FAKE_UPLOAD = "https://upload.kie.test"


@contextlib.asynccontextmanager
async def service_for(
    sim: Any,
    workdir: Path,
    *,
    speed: float,
    key: str | None = None,
    http_config: Any = None,
    transport: Any = None,
    settings: Any = None,
    downloader: Any = None,
    unified_name: str = "agg",
) -> AsyncIterator[Any]:
    """TaskStore + ProviderRegistry (kie profile and one unified profile on ``sim``) + TaskService
    on a clock scaled like the simulator, started; closed at exit."""
    from kievideo.core.providers import ProviderProfile, ProviderRegistry
    from kievideo.core.service import TaskService
    from kievideo.core.store import TaskStore

    the_key = sim.key if key is None else key
    api = sim.api_url if sim is not None else FAKE_API
    upload = sim.upload_url if sim is not None else FAKE_UPLOAD
    registry = ProviderRegistry(
        lambda _name: the_key,
        [ProviderProfile(unified_name, "unified", "Test gateway", api)],
        kie_api_base=api,
        kie_upload_base=upload,
        http_config=http_config,
        transport=transport,
    )
    store = TaskStore(workdir / "tasks.sqlite3")
    svc = TaskService(
        store,
        registry,
        library_dir=workdir / "library",
        clock=ScaledClock(speed),
        settings=settings,
        thumbs_dir=workdir / "thumbs",
        downloader=downloader,
    )
    try:
        await svc.start()
        yield svc
    finally:
        await svc.aclose()
        store.close()


def scaled_create_limiter(monkeypatch: pytest.MonkeyPatch, speed: float) -> None:
    """kie.ai's client-side limit (20 creates / 10 s) on the simulated clock instead of real
    seconds: a 100-task soak at speed N then waits 10/N s per window, like the simulator's own
    limit, instead of 10 real seconds."""
    from kievideo.api import http as api_http
    from kievideo.api import kie as api_kie
    from kievideo.core import providers as core_providers

    clock = ScaledClock(speed)
    real = api_http.CreateLimiter

    def factory(*args: Any, **kw: Any) -> Any:
        kw["clock"] = clock.monotonic
        kw["sleep"] = clock.sleep
        return real(*args, **kw)

    monkeypatch.setattr(api_kie, "CreateLimiter", factory)
    monkeypatch.setattr(core_providers, "CreateLimiter", factory)


def journal_creates_by_prompt(sim: Any, routes: frozenset[str]) -> dict[str, list[Any]]:
    """Every request to a create route, grouped by the prompt it carried (prompts are unique per
    job in these suites), in arrival order."""
    out: dict[str, list[Any]] = {}
    for e in sim.journal:
        if e.route in routes and isinstance(e.body, dict):
            out.setdefault(str(e.body.get("prompt")), []).append(e)
    return out


CREATE_ROUTES = frozenset({"veo.generate", "runway.generate", "aleph.generate", "unified.create"})
