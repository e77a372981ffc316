"""Secret scan: a whole demo-like session with a KNOWN fake key, then a search for that key
everywhere it must not be.

The key (a fresh random string) lives only in a real keyring backend: the file backend of
tests/cli/filekeyring.py (its JSON file is outside every scanned folder), or with KIEVIDEO_REAL_KEYRING=1 the
real Secret Service (CI runs the suite in a D-Bus session with an unlocked gnome-keyring). It is
stored with ``kievideo-cli key set`` (stdin) and never passed on a command line or in an
environment variable. Then:

* the CLI generates, uploads, polls and downloads; fails a REJECT prompt; meets a 401 (another
  simulator that does not know the key), a create whose connection is reset (UNCERTAIN) and
  status/file faults, with ``--debug`` (debug logs, tracebacks on stderr);
* the GUI (``python -m kievideo --data-dir D``, offscreen) reads the key from the keyring,
  adopts a unified job the CLI left behind, polls it and downloads it;
* every file under the data, config, cache, log, HOME, XDG and TMPDIR folders of the children is
  searched byte-wise for the key (UTF-8, UTF-16, base64) - including SQLite's -wal/-shm files,
  scanned while the GUI holds the database open - and so is every child's stdout/stderr,
  ``/proc/<pid>/cmdline`` and ``/proc/<pid>/environ`` of every child and its descendants, and the
  simulators' journals;
* ``Authorization`` reached only the API and upload origins (journal ``auth_present`` per origin).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from relsupport import HERE, clean_env, grep_tree, png, venv_script

from kievideo.core.jobs import JobState
from kievideo.core.store import TaskStore
from kievideo.sim import FaultSpec, SimConfig, SimServer

pytestmark = pytest.mark.reliability

REAL_KEYRING = os.environ.get("KIEVIDEO_REAL_KEYRING") == "1"
SPEED = 600.0


@dataclass
class Child:
    argv: list[str]
    code: int | None
    stdout: bytes
    stderr: bytes
    procs: dict[int, dict[str, Any]] = field(default_factory=dict)  # pid -> cmdline/environ seen


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{t}/children").read_text().split()
            except OSError:
                continue
            for k in kids:
                out.append(int(k))
                todo.append(int(k))
    return out


def _sample(pid: int, into: dict[int, dict[str, Any]]) -> None:
    for p in [pid, *_descendants(pid)]:
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
            env = Path(f"/proc/{p}/environ").read_bytes()
        except OSError:
            continue
        rec = into.setdefault(p, {"cmdline": cmd, "environ": env, "samples": 0})
        rec["samples"] += 1
        rec["cmdline"] = max(rec["cmdline"], cmd, key=len)
        rec["environ"] = max(rec["environ"], env, key=len)


class Session:
    """Children of one scan session: a known environment, a private HOME/XDG/TMPDIR tree."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.home = root / "home"
        self.tmpdir = root / "tmp"
        self.keyring_file = root / "keyring-storage" / "keyring.json"
        for d in (self.home, self.tmpdir, self.keyring_file.parent):
            d.mkdir(parents=True, exist_ok=True)
        env = clean_env(
            # relsupport for the children, and the CLI tests' file keyring backend (one copy)
            PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent / "cli")]),
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            XDG_DATA_HOME=str(self.home / ".local/share"),
            XDG_STATE_HOME=str(self.home / ".local/state"),
            TMPDIR=str(self.tmpdir),
            QT_QPA_PLATFORM="offscreen",
            QT_API="pyside6",
            COLUMNS="160",
        )
        if REAL_KEYRING:  # the real Secret Service over the inherited D-Bus session
            env.pop("PYTHON_KEYRING_BACKEND", None)
        else:
            env["PYTHON_KEYRING_BACKEND"] = "filekeyring.FileKeyring"
            env["KIEVIDEO_TEST_KEYRING"] = str(self.keyring_file)
        self.env = env
        self.children: list[Child] = []

    def scan_roots(self) -> list[Path]:
        return [self.data, self.home, self.tmpdir]

    def run(
        self,
        argv: list[str],
        *,
        stdin: bytes = b"",
        timeout: float = 60,
        until: Callable[[], bool] | None = None,
        during: Callable[[], None] | None = None,
    ) -> Child:
        """Run a child to its end (or, with ``until``, until that holds; then SIGTERM), sampling
        /proc of it and its descendants every 20 ms; ``during`` runs once ``until`` holds."""
        out_p = self.root / f"child{len(self.children)}.out"
        err_p = self.root / f"child{len(self.children)}.err"
        procs: dict[int, dict[str, Any]] = {}
        with open(out_p, "wb") as out, open(err_p, "wb") as err:
            proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.PIPE, stdout=out, stderr=err)
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
            t0 = time.monotonic()
            try:
                while proc.poll() is None:
                    _sample(proc.pid, procs)
                    if until is not None and until():
                        if during is not None:
                            during()
                        _sample(proc.pid, procs)
                        proc.send_signal(signal.SIGTERM)
                        try:
                            proc.wait(10)
                        except subprocess.TimeoutExpired:
                            proc.kill()
                            proc.wait(10)
                        break
                    if time.monotonic() - t0 > timeout:
                        pytest.fail(
                            f"{argv[:4]} did not finish in {timeout} s: "
                            + err_p.read_text("utf-8", "replace")[-2000:]
                        )
                    time.sleep(0.02)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
        child = Child(argv, proc.returncode, out_p.read_bytes(), err_p.read_bytes(), procs)
        self.children.append(child)
        return child


def test_secret_scan(tmp_path: Path, figures: dict[str, Any]) -> None:
    key = "kvk-" + secrets.token_urlsafe(24)
    needles = [
        key.encode(),
        key.encode("utf-16-le"),
        base64.b64encode(key.encode()),
        base64.b64encode(f"Bearer {key}".encode()),
    ]
    s = Session(tmp_path)
    cli = venv_script("kievideo-cli")
    sims: list[SimServer] = []
    try:
        sim = SimServer(SimConfig(speed=SPEED, seed=31, keys=(key,), credits=50_000)).start()
        sims.append(sim)
        other = SimServer(SimConfig(speed=SPEED, seed=32, keys=("someone-elses-key-000",))).start()
        sims.append(other)

        def argv(*args: str, to: SimServer = sim) -> list[str]:
            return [
                cli,
                "--api-base",
                to.api_url,
                "--upload-base",
                to.upload_url,
                "--data-dir",
                str(s.data),
                "--sim-speed",
                str(SPEED),
                *args,
            ]

        # The GUI's settings: one unified profile on the simulator (the ini lives in DATA/config).
        from PySide6.QtCore import QSettings

        (s.data / "config").mkdir(parents=True)
        qs = QSettings(str(s.data / "config" / "kievideo.ini"), QSettings.Format.IniFormat)
        qs.setValue("unified/profiles", json.dumps([{"name": "simgw", "base_url": sim.api_url}]))
        qs.sync()
        del qs

        # 1. the key goes into the keyring (stdin), for every profile used below
        for profile in ("kie", "unified", "simgw"):
            c = s.run(argv("key", "set", "--provider", profile), stdin=(key + "\n").encode())
            assert c.code == 0, c.stderr
        status = s.run(argv("--json", "key", "status", "--provider", "kie"))
        assert json.loads(status.stdout)["source"] == "keyring", status.stdout

        # 2. generate -> poll -> download
        c = s.run(
            argv(
                "--json",
                "generate",
                "--provider",
                "veo",
                "--model",
                "veo3_fast",
                "--prompt",
                "a lantern in fog",
                "--wait",
            )
        )
        assert c.code == 0, c.stderr

        # 3. a batch: an upload, a refused prompt (error path), a unified job
        img = tmp_path / "input.png"
        img.write_bytes(png(seed=3))
        batch = tmp_path / "batch.jsonl"
        batch.write_text(
            "\n".join(
                json.dumps(r)
                for r in [
                    {
                        "provider": "veo",
                        "model": "veo3_fast",
                        "prompt": "the photo breathes",
                        "images": [str(img)],
                    },
                    {"provider": "runway", "model": "runway", "prompt": "REJECT this one", "aspect": "16:9"},
                    {"provider": "unified", "model": "veo3.1-fast", "prompt": "a unified clip"},
                ]
            )
            + "\n"
        )
        c = s.run(argv("--json", "batch", str(batch)))
        assert c.code == 1, c.stderr  # one job failed (content filter), the others are done

        # 4. faults with --debug: 5xx and cut bodies while polling/downloading, then a create whose
        #    connection is reset (UNCERTAIN, exit 5) - exceptions and tracebacks go to the logs
        sim.set_faults(
            [
                FaultSpec("veo.record_info", "http500", count=2),
                FaultSpec("veo.record_info", "malformed_json", count=1),
                FaultSpec("files.result", "truncate", count=1),
            ]
        )
        c = s.run(
            argv(
                "--debug",
                "--json",
                "generate",
                "--provider",
                "veo",
                "--model",
                "veo3_fast",
                "--prompt",
                "faults on the way",
                "--wait",
            )
        )
        assert c.code == 0, c.stderr
        sim.set_faults([FaultSpec("veo.generate", "reset", count=1)])
        c = s.run(
            argv(
                "--debug",
                "--json",
                "generate",
                "--provider",
                "veo",
                "--model",
                "veo3_fast",
                "--prompt",
                "reset on create",
                "--wait",
            )
        )
        assert c.code == 5, c.stderr
        sim.clear_faults()
        c = s.run(argv("--debug", "wait", "no-such-task"))  # an error path with a traceback (--debug)
        assert c.code == 2

        # 5. a 401: a provider that does not know this key
        c = s.run(
            argv(
                "--debug", "generate", "--provider", "veo", "--model", "veo3_fast", "--prompt", "x", to=other
            )
        )
        assert c.code == 3, c.stderr

        # 6. the GUI: a unified job left QUEUED by the CLI is adopted, polled and downloaded by
        #    `python -m kievideo` with the key from the keyring. The kie.ai key is removed first:
        #    the GUI's kie.ai profile points at the real kie.ai, which must never see a test key.
        c = s.run(
            argv(
                "--json",
                "generate",
                "--provider",
                "unified",
                "--model",
                "veo3.1-fast",
                "--prompt",
                "the GUI finishes this",
                "--profile",
                "simgw",
            )
        )
        assert c.code == 0, c.stderr
        gui_job = json.loads(c.stdout)["job_id"]
        assert s.run(argv("key", "delete", "--provider", "kie")).code == 0
        sim.advance(3600)  # the task is finished when the GUI first asks

        def gui_done() -> bool:
            store = TaskStore(s.data / "tasks.sqlite3")
            try:
                job = store.get(gui_job)
            finally:
                store.close()
            return job is not None and job.state is JobState.DONE

        live_scan: dict[str, Any] = {}

        def scan_while_open() -> None:
            wal = sorted(p.name for p in s.data.glob("tasks.sqlite3-*"))
            live_scan["sqlite_side_files"] = wal
            live_scan["hits"] = grep_tree(s.data, needles)

        gui = s.run(
            [sys.executable, "-m", "kievideo", "--data-dir", str(s.data)],
            until=gui_done,
            during=scan_while_open,
            timeout=90,
        )
        assert gui_done(), gui.stderr[-3000:]
        assert {"tasks.sqlite3-wal", "tasks.sqlite3-shm"} <= set(live_scan["sqlite_side_files"]), live_scan
        assert not live_scan["hits"], live_scan["hits"]
        c = s.run(argv("--json", "list", "--limit", "0"))
        listed = [json.loads(line) for line in c.stdout.splitlines() if line.strip()]
        c = s.run(argv("status", gui_job))
        assert c.code == 0

        # ---- the search ------------------------------------------------------------------------
        file_hits: list[str] = []
        scanned_files = 0
        scanned_bytes = 0
        for root in s.scan_roots():
            file_hits += grep_tree(root, needles)
            for p in root.rglob("*"):
                if p.is_file():
                    scanned_files += 1
                    scanned_bytes += p.stat().st_size
        assert not file_hits, file_hits
        # the scanner itself works: a planted copy (UTF-16, in a binary file) is found
        canary = s.data / "cache" / "canary.bin"
        canary.write_bytes(b"\0\1" + key.encode("utf-16-le") + b"\xff")
        assert grep_tree(s.data, needles), "the scanner misses a planted key"
        canary.unlink()

        leaks: list[str] = []
        procs = 0
        programs: Counter[str] = Counter()
        for ch in s.children:
            for stream, data in (("stdout", ch.stdout), ("stderr", ch.stderr)):
                if any(n in data for n in needles):
                    leaks.append(f"{ch.argv[:4]} {stream}")
            assert ch.procs, f"no /proc sample of {ch.argv[:4]}"
            for pid, rec in ch.procs.items():
                procs += 1
                first = rec["cmdline"].split(b"\0")
                programs[" ".join(a.decode(errors="replace").rsplit("/", 1)[-1] for a in first[:3])] += 1
                for what in ("cmdline", "environ"):
                    if any(n in rec[what] for n in needles):
                        leaks.append(f"/proc/{pid}/{what} of {ch.argv[:4]}")
                env_names = {e.split(b"=", 1)[0] for e in rec["environ"].split(b"\0") if e}
                assert b"KIEVIDEO_API_KEY" not in env_names
        assert not leaks, leaks

        auth: dict[str, Counter[str]] = {}
        for srv, name in ((sim, "sim"), (other, "sim401")):
            dump = json.dumps([e.to_dict() for e in srv.journal], default=str).encode()
            assert not any(n in dump for n in needles), f"the {name} journal holds the key"
            for e in srv.journal:
                c2 = auth.setdefault(f"{name}:{e.origin}", Counter())
                c2["requests"] += 1
                c2["with_authorization"] += int(e.auth_present)
        for origin, counts in auth.items():
            if origin.endswith(":files"):
                assert counts["with_authorization"] == 0, (origin, counts)
            else:
                assert counts["with_authorization"] == counts["requests"], (origin, counts)
        assert auth["sim:files"]["requests"] >= 4 and auth["sim:upload"]["requests"] >= 1
        assert auth["sim401:api"]["requests"] >= 1

        # the key really was used: every API request of the main simulator carried a valid key
        assert all(e.auth_valid for e in sim.journal if e.origin != "files")
        # and the GUI's job was done by the GUI (the CLI that created it had exited)
        assert any(j["job_id"] == gui_job and j["state"] == "done" for j in listed)
    finally:
        for srv in sims:
            srv.stop()
        if REAL_KEYRING:  # leave the Secret Service as we found it
            for profile in ("kie", "unified", "simgw"):
                subprocess.run(
                    [cli, "--data-dir", str(s.data), "key", "delete", "--provider", profile],
                    env=s.env,
                    capture_output=True,
                    timeout=60,
                )

    figures.update(
        keyring="Secret Service (gnome-keyring)" if REAL_KEYRING else "filekeyring.FileKeyring",
        children=len(s.children),
        processes_sampled=procs,
        programs=dict(programs),
        files_scanned=scanned_files,
        bytes_scanned=scanned_bytes,
        sqlite_side_files_scanned_live=live_scan["sqlite_side_files"],
        authorization_by_origin={k: dict(v) for k, v in auth.items()},
        leaks=0,
    )
