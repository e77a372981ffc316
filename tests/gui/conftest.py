"""GUI test setup: offscreen Qt, one session-wide qasync loop (platform-notes §4, pattern C),
the simulator fixtures, sample media, and the allow-list of harmless multimedia warnings.

``qt_log_level_fail = WARNING`` stays on (pyproject). Only messages that are known to be harmless
on headless machines are ignored, each with its reason below.
"""

from __future__ import annotations

import os

# Before any Qt import: no display in CI; pyside6 for qasync's binding probe.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
# Qt multimedia's FFmpeg backend probes optional libraries and prints its version: not problems.
os.environ.setdefault(
    "QT_LOGGING_RULES",
    "qt.multimedia.symbolsresolver=false;qt.multimedia.ffmpeg=false;qt.multimedia.ffmpeg.*=false;"
    "qt.multimedia.playbackengine.codec=false;qt.multimedia.ffmpeg.mediadataholder=false",
)
# Keyring: GUI tests never touch the process-wide backend (other suites, e.g. the real Secret
# Service test, rely on it); they pass KeyStore(backend=...) or use the simulator's fixed key.

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from kievideo.app import tune_qt_environment
from kievideo.sim.pytest_plugin import sim, sim_factory  # noqa: F401  (fixtures)
from kievideo.ui.eventloop import new_event_loop

# As the app does it before its QApplication exists (pytest-qt makes it later): Qt's parallel
# fills off.
tune_qt_environment()

#: Harmless Qt messages on a headless machine (regexes for pytest-qt's qt_log_ignore):
HARMLESS_QT_MESSAGES = (
    r"This plugin does not support propagateSizeHints",  # offscreen QPA: no window manager hints
    r"This plugin does not support raise\(\)",  # offscreen QPA has no window stacking
    r"This plugin does not support grabbing the keyboard",  # offscreen QPA: a popup menu asks
    r"PulseAudioService",  # no sound server in CI; playback continues without audio output
    r"No audio device detected",  # same cause
    r"pipewire",  # optional audio library not installed
    r"No HW decoder",  # software decoding is expected without a GPU
    r"RHI",  # no GPU: Qt converts video frames on the CPU
    r"Couldn't (load|resolve) va",  # VA-API (GPU video) libraries absent
    r"Using Qt multimedia with FFmpeg",  # an info line some builds print as a warning
    r"QFont::setPointSize",  # offscreen default font metrics, irrelevant to behaviour
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sim(**config): SimConfig overrides for the `sim` fixture")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore(*HARMLESS_QT_MESSAGES))


@pytest.fixture(scope="session", autouse=True)
def _pyside_fixes() -> None:
    """As the app does at start: PySide6 6.12 on CPython 3.11 drops a reference to None on
    every call of a void method (and to True on every emit); a GUI test session makes enough
    calls to drive None's count to zero. Every GUI test, not only those with a loop."""
    from kievideo.ui import pyside_fixes

    pyside_fixes.install()


@pytest.fixture(scope="session")
def _session_qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """One qasync loop for the whole session, flagged as running (Qt drives it via qtbot)."""
    loop = new_event_loop(qapp, already_running=True)
    yield loop
    # Never loop.stop()/close(): stop() calls QApplication.exit() outside exec(), after which
    # every qtbot wait returns at once (platform-notes §4). The loop's default executor is a
    # pool of QThreads: stop them, or Qt complains at exit.
    for name, value in list(vars(loop).items()):
        if name.endswith("__default_executor") and value is not None:
            value.shutdown(wait=True)


@pytest.fixture
def qloop(_session_qloop: asyncio.AbstractEventLoop) -> Iterator[asyncio.AbstractEventLoop]:
    """The session's qasync loop, current and "running" only while a GUI test runs.

    Outside GUI tests no loop may look running: other suites call asyncio.run(), which refuses
    to start inside a running loop.
    """
    loop = _session_qloop
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(loop)
    yield loop
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def arun(qloop: asyncio.AbstractEventLoop, qtbot):  # type: ignore[no-untyped-def]
    """arun(coro, timeout_ms): run a coroutine on the qasync loop while Qt spins."""

    def run(coro, timeout: int = 5000):  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(coro)
        qtbot.waitUntil(task.done, timeout=timeout)
        return task.result()

    yield run
    pending = [t for t in asyncio.all_tasks(qloop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        qtbot.waitUntil(lambda: all(t.done() for t in pending), timeout=3000)


@pytest.fixture(scope="session")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 2 s H.264 clip made by the simulator's encoder."""
    from kievideo.sim.media import ClipKey, encode_clip

    path = tmp_path_factory.mktemp("media") / "sample.mp4"
    path.write_bytes(encode_clip(ClipKey()))
    return path


@pytest.fixture(scope="session")
def png_bytes() -> bytes:
    from kievideo.sim.media import make_png

    return make_png(64, 36, (20, 60, 140), (250, 200, 40))


@pytest.fixture
def image_files(tmp_path: Path, png_bytes: bytes) -> list[Path]:
    """Two real PNG files (first and last frame)."""
    out = []
    for name in ("first.png", "last.png"):
        p = tmp_path / name
        p.write_bytes(png_bytes)
        out.append(p)
    return out
