"""kievideo.app end to end in a subprocess: the packaging smoke test, the first-paint hook the
start-up benchmarks use (with a history in the store), and the smoke test's fast failure when Qt
has no multimedia backend."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtMultimedia import QMediaPlayer

from kievideo import app as kv_app
from kievideo.api.models import ProviderKind
from kievideo.core.jobs import Job, JobSpec, JobState
from kievideo.core.paths import AppPaths
from kievideo.core.store import TaskStore
from kievideo.ui import i18n


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.pop("KIEVIDEO_QUIT_AFTER_PAINT", None)
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kievideo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_smoke_test_plays_the_clip_and_exits_0(tmp_path: Path) -> None:
    proc = _run(["--smoke-test", "--data-dir", str(tmp_path / "data")], _env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kievideo smoke test: ok" in proc.stdout


def test_multimedia_chatter_is_quiet_unless_debugging(tmp_path: Path) -> None:
    """A normal start from a terminal does not print Qt Multimedia's notes about optional GPU
    libraries, the FFmpeg version or each video's streams; --debug shows them again. (The test
    suite's own QT_LOGGING_RULES is taken out so that the app's default is what runs.)"""
    env = _env()
    env.pop("QT_LOGGING_RULES", None)
    quiet = _run(["--smoke-test", "--data-dir", str(tmp_path / "a")], env)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    chatter = ("Using Qt multimedia with FFmpeg", "multimedia.symbolsresolver", "Input #0", "No HW decoder")
    assert [line for line in chatter if line in quiet.stderr] == []
    loud = _run(["--smoke-test", "--debug", "--data-dir", str(tmp_path / "b")], env)
    assert loud.returncode == 0, loud.stderr[-3000:]
    assert "Using Qt multimedia with FFmpeg" in loud.stderr  # the same run, the notes on


def test_quit_after_first_paint_with_a_history(tmp_path: Path) -> None:
    """KIEVIDEO_QUIT_AFTER_PAINT=1: the time of the first paint on stdout (perf_counter) and
    stderr (wall clock), then a normal start-up and shutdown, exit 0; the history is intact."""
    data = tmp_path / "data"
    paths = AppPaths.under(data).ensure()
    now = time.time()
    spec = JobSpec(provider=ProviderKind.VEO, model="veo3_fast", prompt="an old video")
    with TaskStore(paths.db_path) as store:
        for i in range(450):  # more than one page of the task list
            store.insert(Job(id=f"job{i:04d}", spec=spec, state=JobState.FAILED, created_at=now - 1000 + i))
    env = _env()
    env["KIEVIDEO_QUIT_AFTER_PAINT"] = "1"
    start = time.perf_counter()
    proc = _run(["--data-dir", str(data), "--lang", "zh_CN"], env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = [line for line in proc.stdout.splitlines() if line.startswith("KIEVIDEO_FIRST_PAINT ")]
    err = [line for line in proc.stderr.splitlines() if line.startswith("KIEVIDEO_FIRST_PAINT ")]
    assert len(out) == 1 and len(err) == 1  # once each, not twice
    painted = float(out[0].split()[1])
    assert start < painted < time.perf_counter()  # the same monotonic clock as this process
    assert abs(float(err[0].split()[1]) - time.time()) < 120
    log = (paths.log_dir / "kievideo.log").read_text(encoding="utf-8")
    assert "kievideo failed" not in log and "Traceback" not in log
    with TaskStore(paths.db_path) as store:
        assert store.count() == 450


def test_smoke_test_fails_fast_without_a_multimedia_backend(monkeypatch, qtbot, qloop, arun, capsys) -> None:
    monkeypatch.setattr(QMediaPlayer, "isAvailable", lambda self: False)
    window = SimpleNamespace()  # must not be touched: the check comes first
    t0 = time.perf_counter()
    rc = arun(kv_app.smoke(window, SimpleNamespace(cache_dir=Path("/nonexistent"))), timeout=5000)
    assert rc != 0 and time.perf_counter() - t0 < 5
    err = capsys.readouterr().err
    assert "smoke test: FAILED" in err and "no multimedia backend" in err


@pytest.mark.parametrize("lang", ["zh_CN", "zh-CN"])
def test_lang_option(lang: str) -> None:
    args = kv_app.build_parser().parse_args(["--lang", lang, "--dark"])
    assert args.lang == lang and args.dark
    assert i18n.locale_for(args.lang).name() == "zh_CN"


def test_nothing_slow_is_imported_before_the_first_paint() -> None:
    """What the first paint waits for: Qt's widget modules and kievideo's frame, nothing slow."""
    code = (
        "import sys, kievideo.app, kievideo.ui.mainwindow, kievideo.ui.i18n, kievideo.core.paths;"
        "bad = [m for m in ('asyncio', 'qasync', 'httpx', 'keyring', 'kievideo.sim', 'kievideo.core.service',"
        " 'kievideo.ui.promptpanel', 'PySide6.QtMultimedia', 'sqlite3') if m in sys.modules];"
        "print(bad)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "[]", proc.stdout


def test_settle_heap_freezes_the_startup_objects():
    """The end of start-up moves what it allocated out of the collector's view (full collections
    otherwise walk it: a 20-40 ms GUI pause)."""
    import gc

    from kievideo.app import settle_heap

    try:
        settle_heap()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_gui_thread_pool_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app turns Qt's parallel fills off (see tune_qt_environment), leaves a user's own
    QT_NO_GUI_THREADPOOL alone, and keeps the pool when KIEVIDEO_GUI_THREADPOOL=1."""
    monkeypatch.delenv("QT_NO_GUI_THREADPOOL", raising=False)
    monkeypatch.delenv(kv_app.GUI_THREADPOOL_ENV, raising=False)
    kv_app.tune_qt_environment()
    assert os.environ.get("QT_NO_GUI_THREADPOOL") == "1"

    monkeypatch.delenv("QT_NO_GUI_THREADPOOL")
    monkeypatch.setenv(kv_app.GUI_THREADPOOL_ENV, "1")
    kv_app.tune_qt_environment()
    assert "QT_NO_GUI_THREADPOOL" not in os.environ


def test_with_the_app_setting_qt_paints_without_pool_threads(tmp_path: Path) -> None:
    """With the environment tune_qt_environment sets (main() calls it before the QApplication
    exists), a large fill makes no Qt pool thread; without it, the same fill does. Linux only
    (thread names from /proc)."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("thread names are read from /proc")
    code = (
        "import os, sys\n"
        "import kievideo.app\n"
        "kievideo.app.tune_qt_environment()  # as main() does first\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from PySide6.QtGui import QImage, QPainter, QColor\n"
        "app = QApplication(sys.argv[:1])\n"
        "img = QImage(1200, 1200, QImage.Format.Format_RGB32)\n"
        "p = QPainter(img); p.fillRect(0, 0, 1200, 1200, QColor(10, 20, 30, 128)); p.end()\n"
        "tasks = os.listdir('/proc/self/task')\n"
        "print(sorted(open(f'/proc/self/task/{t}/comm').read().strip() for t in tasks))\n"
    )
    env = _env()
    env.pop("QT_NO_GUI_THREADPOOL", None)
    env.pop(kv_app.GUI_THREADPOOL_ENV, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "Thread (pooled)" not in out.stdout, out.stdout
    if (os.cpu_count() or 1) < 2:
        return  # Qt makes no pool threads on one core: nothing to compare with
    env[kv_app.GUI_THREADPOOL_ENV] = "1"  # the same fill with the pool on does use it
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "Thread (pooled)" in out.stdout, out.stdout
