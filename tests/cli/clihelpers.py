"""Helpers for the CLI tests (imported by conftest.py and the test modules).

Run the *installed* ``kievideo-cli`` console script as a subprocess against a simulator started
in the test process, with a throwaway data dir and keyring.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
#: Images for the tests: tiny but real PNG and JPEG headers (the sim sniffs content, not names).
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00" + b"\x00" * 64
)


def cli_path() -> str:
    """The console script installed next to this interpreter (``pip install -e .``)."""
    found = shutil.which("kievideo-cli", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("kievideo-cli is not installed in this venv: run `pip install -e .`")
    return found


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    argv: list[str]

    def objects(self) -> list[dict[str, Any]]:
        """stdout as JSON lines (every non-empty line must be one JSON object)."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def one(self) -> dict[str, Any]:
        objs = self.objects()
        assert len(objs) == 1, self
        return objs[0]

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith("kievideo-cli: error:")]

    def __str__(self) -> str:
        return f"exit {self.code} for {self.argv}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


class Cli:
    """Runs ``kievideo-cli`` with the global options pointing at ``sim`` and ``data_dir``."""

    def __init__(self, data_dir: Path, sim: Any | None, tmp_path: Path, pycache: Path | None = None) -> None:
        self.data_dir = data_dir
        self.sim = sim
        self.exe = cli_path()
        self.keyring_file = tmp_path / "keyring.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIEVIDEO_")}
        env.update(
            PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            PYTHON_KEYRING_BACKEND="filekeyring.FileKeyring",
            KIEVIDEO_TEST_KEYRING=str(self.keyring_file),
            PYTHONUNBUFFERED="1",
            COLUMNS="200",
        )
        if pycache is not None:
            # Each CLI run is a fresh interpreter: cache kievideo's bytecode for the session,
            # outside the repository (this sandbox sets PYTHONDONTWRITEBYTECODE).
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(pycache)
        if sim is not None:
            env["KIEVIDEO_API_KEY"] = sim.key
        self.env = env

    def argv(self, *args: str, global_opts: bool = True) -> list[str]:
        base = [self.exe]
        if global_opts:
            base += ["--data-dir", str(self.data_dir)]
            if self.sim is not None:
                base += ["--api-base", self.sim.api_url, "--upload-base", self.sim.upload_url]
                base += ["--sim-speed", str(self.sim.config.speed)]
        return base + list(args)

    def env_with(self, extra_env: dict[str, str | None] | None) -> dict[str, str]:
        env = dict(self.env)
        for k, v in (extra_env or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str | None] | None = None,
        timeout: float = 60,
        global_opts: bool = True,
    ) -> Result:
        argv = self.argv(*args, global_opts=global_opts)
        proc = subprocess.run(
            argv,
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=self.env_with(env),
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr, argv)

    def popen(self, *args: str, env: dict[str, str | None] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env_with(env),
        )


def wait_until(pred: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    """Poll ``pred`` (a cheap in-process check) until true; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def interrupt(proc: subprocess.Popen[str], timeout: float = 40) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err
