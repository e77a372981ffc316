"""End-to-end tests of ``kievideo-cli`` (the installed console script) against the simulator.

Every test runs the real executable in a subprocess, talking HTTP to a SimServer started in the
test process, with its own --data-dir. The simulator's journal is the witness of what was sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clihelpers import Cli, Result

pytestmark = pytest.mark.sim(speed=600.0, credits=100_000)


def _ok(res: Result) -> Result:
    assert res.code == 0, res
    return res


def _creates(sim: Any) -> list[Any]:
    return sim.creates()


def _uploads(sim: Any) -> list[Any]:
    return [e for e in sim.journal if e.origin == "upload"]


def _assert_done(obj: dict[str, Any], *, provider: str, model: str) -> Path:
    assert obj["state"] == "done", obj
    assert obj["provider"] == provider and obj["model"] == model
    assert obj["error"] is None
    assert obj["task_id"] and obj["job_id"]
    assert obj["files"], obj
    path = Path(obj["files"][-1])
    assert path.is_file() and path.stat().st_size > 1000
    return path


# ---- generate --wait --json ---------------------------------------------------------------------


def test_generate_veo_text_wait_json(cli: Cli, sim: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = _ok(
        cli(
            "--json",
            "generate",
            "--provider",
            "veo",
            "--model",
            "veo3_fast",
            "--prompt",
            "a red fox in the snow",
            "--aspect",
            "16:9",
            "--wait",
            "--out",
            str(out),
        )
    )
    obj = res.one()
    path = _assert_done(obj, provider="veo", model="veo3_fast")
    assert path.parent == out
    assert path.read_bytes()[4:8] == b"ftyp"  # a real MP4
    creates = _creates(sim)
    assert len(creates) == 1 and creates[0].route == "veo.generate"
    assert creates[0].task_id == obj["task_id"]
    # progress went to stderr as plain lines (not a terminal), never to stdout
    assert "veo3_fast " + obj["job_id"][:6] + "…" in res.stderr
    assert "\r" not in res.stderr


def test_generate_runway_image_uploads_local_file(cli: Cli, sim: Any, png: Path) -> None:
    res = _ok(
        cli(
            "--json",
            "generate",
            "--provider",
            "runway",
            "--model",
            "runway",
            "--prompt",
            "the picture comes alive",
            "--image",
            str(png),
            "--duration",
            "5",
            "--wait",
        )
    )
    obj = res.one()
    path = _assert_done(obj, provider="runway", model="runway")
    assert path.is_relative_to(cli.data_dir / "library")  # default: the library folder
    uploads = [e for e in _uploads(sim) if e.method == "POST"]
    assert len(uploads) == 1
    create = _creates(sim)[0]
    assert create.route == "runway.generate"
    assert str(create.body.get("imageUrl", "")).startswith(sim.files_url)


def test_generate_unified(cli: Cli, sim: Any) -> None:
    res = _ok(
        cli(
            "--json",
            "generate",
            "--provider",
            "unified",
            "--model",
            "veo3.1-fast",
            "--prompt",
            "a paper boat on a river",
            "--wait",
        )
    )
    obj = res.one()
    _assert_done(obj, provider="unified", model="veo3.1-fast")
    assert ":" in obj["task_id"] or obj["task_id"]
    assert [e.route for e in _creates(sim)] == ["unified.create"]


def test_generate_rejected_prompt_fails_clearly(cli: Cli, sim: Any) -> None:
    res = cli(
        "--json",
        "generate",
        "--provider",
        "veo",
        "--model",
        "veo3_fast",
        "--prompt",
        "REJECT this one",
        "--wait",
    )
    assert res.code == 1, res
    obj = res.one()
    assert obj["state"] == "failed" and obj["files"] == []
    assert obj["error"]["message"]
    assert len(res.error_lines) == 1
    assert "Traceback" not in res.stderr


# ---- the other commands --------------------------------------------------------------------------


def test_status_wait_list_download_upgrade_extend_credits(cli: Cli, sim: Any, tmp_path: Path) -> None:
    # generate without --wait: returns once the provider accepted it, with the task id
    sub = _ok(
        cli("--json", "generate", "--provider", "veo", "--model", "veo3_fast", "--prompt", "a lighthouse")
    )
    obj = sub.one()
    task_id, job_id = obj["task_id"], obj["job_id"]
    assert task_id and obj["state"] in ("queued", "running", "submitting")

    st = _ok(cli("--json", "status", task_id)).one()
    assert st["job_id"] == job_id and st["task_id"] == task_id
    human = _ok(cli("status", job_id[:8]))
    assert task_id in human.stdout

    # wait picks the job up from the store (by task id), downloads into the library
    done = _ok(cli("--json", "wait", task_id)).one()
    lib_file = _assert_done(done, provider="veo", model="veo3_fast")

    listed = _ok(cli("--json", "list")).objects()
    assert [o["job_id"] for o in listed] == [job_id]

    dl = _ok(cli("--json", "download", job_id, "--out", str(tmp_path / "copies"))).one()
    copy = Path(dl["files"][-1])
    assert copy.parent == tmp_path / "copies" and copy.read_bytes() == lib_file.read_bytes()

    up = _ok(cli("--json", "upgrade", task_id, "--to", "1080p", "--wait")).one()
    assert up["kind"] == "1080p" and up["state"] == "done" and up["files"]
    assert Path(up["files"][-1]).is_file()

    ext = _ok(cli("--json", "extend", job_id, "--prompt", "the light turns on", "--wait")).one()
    assert ext["kind"] == "extend" and ext["state"] == "done" and ext["files"]
    assert ext["task_id"] != task_id

    routes = sorted(e.route for e in _creates(sim))
    assert routes.count("veo.generate") == 1 and routes.count("veo.extend") == 1

    # 60 (veo3_fast) + 5 (1080p) + 60 (extend) out of the test's 100 000
    assert _ok(cli("credits")).stdout.strip() == str(sim.credits) == str(100_000 - 125)


def test_unknown_task_id_is_bad_input(cli: Cli, sim: Any) -> None:
    res = cli("status", "no-such-task")
    assert res.code == 2, res
    assert len(res.error_lines) == 1 and "no task" in res.error_lines[0]


# ---- store sharing with the GUI ------------------------------------------------------------------


def test_cli_and_gui_service_share_the_store(cli: Cli, sim: Any) -> None:
    """The GUI's TaskService (here: in the test process) and the CLI see each other's jobs."""
    import asyncio

    from kievideo.api.models import ProviderKind
    from kievideo.cli import ScaledClock
    from kievideo.core.jobs import JobSpec, JobState
    from kievideo.core.providers import ProviderRegistry
    from kievideo.core.service import TaskService
    from kievideo.core.store import TaskStore

    made = _ok(
        cli(
            "--json",
            "generate",
            "--provider",
            "veo",
            "--model",
            "veo3_fast",
            "--prompt",
            "made by the cli",
            "--wait",
        )
    ).one()

    async def gui_side() -> None:
        store = TaskStore(cli.data_dir / "tasks.sqlite3")
        registry = ProviderRegistry(
            lambda _p: sim.key, kie_api_base=sim.api_url, kie_upload_base=sim.upload_url
        )
        clock = ScaledClock(sim.config.speed)
        svc = TaskService(store, registry, library_dir=cli.data_dir / "library", clock=clock)
        try:
            await svc.start()
            # the CLI's job is in the GUI's list, finished, with its file
            mine = {j.id: j for j in svc.jobs()}
            assert mine[made["job_id"]].state is JobState.DONE
            assert mine[made["job_id"]].file_path == made["files"][0]
            # a job the GUI submits shows up in `kievideo-cli list`, and `wait` follows it while the
            # GUI (a live process) does the work
            accepted = asyncio.Event()
            svc.add_listener(
                lambda j: accepted.set() if j.task_id and j.spec.prompt == "made by the gui" else None
            )
            job = svc.submit(JobSpec(ProviderKind.VEO, "veo3_fast", "made by the gui"))
            await asyncio.wait_for(accepted.wait(), 30)
            task_id = (svc.get(job.id) or job).task_id
            listed = await _run_async(cli, "--json", "list")
            assert listed.code == 0, listed
            rows = {o["job_id"]: o for o in listed.objects()}
            assert rows[job.id]["task_id"] == task_id and rows[job.id]["prompt"] == "made by the gui"
            assert made["job_id"] in rows
            waited = await _run_async(cli, "--json", "wait", str(task_id))
            assert waited.code == 0, waited
            final = svc.get(job.id)
            assert final is not None and final.state is JobState.DONE
            assert waited.one()["files"] == [final.file_path]
        finally:
            await svc.aclose()
            store.close()

    asyncio.run(gui_side())
    assert len(_creates(sim)) == 2  # the CLI's and the GUI's; `wait` created nothing


async def _run_async(cli: Cli, *args: str) -> Result:
    import asyncio

    argv = cli.argv(*args)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=cli.env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return Result(proc.returncode or 0, out.decode(), err.decode(), argv)


# ---- bad input: one clear line, the right exit code, nothing sent -----------------------------


@pytest.fixture
def fake_png(tmp_path: Path) -> Path:
    p = tmp_path / "notes.png"
    p.write_text("these are notes, not an image\n")
    return p


@pytest.mark.parametrize(
    ("case", "code", "needle"),
    [
        ("missing_image", 2, "does not exist"),
        ("unreadable_image", 2, "not a JPEG, PNG or WebP"),
        ("mode_count", 2, "exactly 2 images"),
        ("unknown_model", 2, "no model called 'veo9'"),
        ("no_key", 3, "no API key"),
        ("wrong_key", 3, "not accepted"),
    ],
)
def test_bad_input(
    cli: Cli, sim: Any, tmp_path: Path, png: Path, fake_png: Path, case: str, code: int, needle: str
) -> None:
    base = ["generate", "--provider", "veo", "--model", "veo3_fast", "--prompt", "p", "--wait"]
    env: dict[str, str | None] = {}
    if case == "missing_image":
        args = [*base, "--image", str(tmp_path / "gone.png")]
    elif case == "unreadable_image":
        args = [*base, "--image", str(fake_png)]
    elif case == "mode_count":
        args = [*base, "--mode", "frames", "--image", str(png)]
    elif case == "unknown_model":
        args = ["generate", "--provider", "veo", "--model", "veo9", "--prompt", "p"]
    elif case == "no_key":
        args, env = [*base, "--image", str(png)], {"KIEVIDEO_API_KEY": None}
    else:
        args, env = [*base, "--image", str(png)], {"KIEVIDEO_API_KEY": "sk-wrong-key-123456"}
    res = cli(*args, env=env)
    assert res.code == code, res
    assert len(res.error_lines) == 1, res
    assert needle in res.error_lines[0], res
    assert "Traceback" not in res.stderr
    assert res.stdout == ""
    assert _creates(sim) == []
    assert _uploads(sim) == []  # not even the image went out
    assert "sk-wrong-key-123456" not in res.stderr
    paid = [e for e in sim.journal if e.route and e.route.endswith(("generate", "create", "extend"))]
    assert paid == []


def test_bad_batch_sends_nothing(cli: Cli, sim: Any, tmp_path: Path) -> None:
    f = tmp_path / "jobs.jsonl"
    f.write_text(
        '{"provider":"veo","model":"veo3_fast","prompt":"fine"}\n'
        '{"provider":"veo","model":"veo3_fast","prompt":"bad","images":["nope.png"]}\n'
    )
    res = cli("batch", str(f))
    assert res.code == 2, res
    assert len(res.error_lines) == 1 and "line 2" in res.error_lines[0]
    assert sim.journal == []


# ---- keys -----------------------------------------------------------------------------------------


def test_key_set_status_delete_never_prints_the_key(cli: Cli, sim: Any) -> None:
    secret = sim.key
    no_env: dict[str, str | None] = {"KIEVIDEO_API_KEY": None}
    st = cli("--json", "key", "status", "--provider", "kie", env=no_env)
    assert st.code == 3 and st.one()["stored"] is False

    res = _ok(cli("key", "set", "--provider", "kie", input=secret + "\n", env=no_env))
    assert secret not in res.stdout + res.stderr
    assert secret not in " ".join(res.argv)
    assert json.loads(cli.keyring_file.read_text())["kievideo"]["kie"] == secret

    st = _ok(cli("--json", "key", "status", "--provider", "kie", env=no_env)).one()
    assert st == {"provider": "kie", "stored": True, "env": False, "source": "keyring"}
    human = _ok(cli("key", "status", "--provider", "kie", env=no_env))
    assert "stored" in human.stdout and secret not in human.stdout

    # the stored key is used when the environment has none
    cr = _ok(cli("--json", "credits", env=no_env)).one()
    assert cr["credits"] == sim.credits
    auth = [e for e in sim.journal if e.route == "common.credit"]
    assert auth and all(e.auth_valid for e in auth)

    _ok(cli("key", "delete", "--provider", "kie", env=no_env))
    assert "kie" not in json.loads(cli.keyring_file.read_text()).get("kievideo", {})
    res = cli("credits", env=no_env)
    assert res.code == 3 and "no API key" in res.error_lines[0]


def test_key_set_empty_stdin_is_bad_input(cli: Cli, sim: Any) -> None:
    res = cli("key", "set", "--provider", "kie", input="\n")
    assert res.code == 2 and len(res.error_lines) == 1


# ---- exit codes for network, uncertain, --debug ---------------------------------------------------


def test_unreachable_provider_exits_4_and_sends_nothing(cli: Cli, sim: Any) -> None:
    res = cli(
        "--api-base",
        "http://127.0.0.1:9",
        "generate",
        "--provider",
        "veo",
        "--model",
        "veo3_fast",
        "--prompt",
        "p",
        "--wait",
    )
    assert res.code == 4, res
    assert len(res.error_lines) == 1 and "connect" in res.error_lines[0].lower()
    assert sim.journal == []


def test_ambiguous_create_exits_5_and_is_never_resent(cli: Cli, sim: Any) -> None:
    from kievideo.sim import FaultSpec

    sim.set_faults([FaultSpec("veo.generate", "accept_then_reset", count=1)])
    res = cli("--json", "generate", "--provider", "veo", "--model", "veo3_fast", "--prompt", "p", "--wait")
    assert res.code == 5, res
    obj = res.one()
    assert obj["state"] == "uncertain" and obj["task_id"] is None
    assert "may have been submitted" in obj["error"]["message"]
    assert len(res.error_lines) == 1
    assert len(_creates(sim)) == 1  # the provider did create it; kievideo did not send it again
    listed = _ok(cli("--json", "list", "--state", "uncertain")).objects()
    assert [o["job_id"] for o in listed] == [obj["job_id"]]


def test_traceback_only_with_debug(cli: Cli, sim: Any) -> None:
    plain = cli("status", "nope")
    assert plain.code == 2 and "Traceback" not in plain.stderr
    debug = cli("--debug", "status", "nope")
    assert debug.code == 2 and "Traceback" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1].startswith("kievideo-cli: error: no task 'nope'")


# ---- live progress on a terminal -----------------------------------------------------------------


def test_progress_bar_on_a_terminal(cli: Cli, sim: Any) -> None:
    import os
    import pty
    import subprocess
    import threading

    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def pump() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    proc = subprocess.run(
        cli.argv(
            "--json", "generate", "--provider", "veo", "--model", "veo3_fast", "--prompt", "tty", "--wait"
        ),
        env=cli.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        timeout=60,
    )
    os.close(slave)
    reader.join(5)
    os.close(master)
    err = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, err
    assert "\r\x1b[2K" in err  # one redrawn status line ...
    assert "veo3_fast " in err and ("running" in err or "queued" in err)
    assert json.loads(proc.stdout)["state"] == "done"  # ... while stdout carries only the result


# ---- demo mode -------------------------------------------------------------------------------------


def test_demo_uses_its_own_store(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    # no --wait: a demo task lives only as long as the process, so demo mode waits anyway
    res = cli(
        "--demo",
        "--data-dir",
        str(data),
        "--json",
        "generate",
        "--provider",
        "veo",
        "--model",
        "veo3_lite",
        "--prompt",
        "a demo",
        global_opts=False,
        env={"KIEVIDEO_API_KEY": None},
    )
    obj = res.one() if res.code == 0 else pytest.fail(str(res))
    path = _assert_done(obj, provider="veo", model="veo3_lite")
    assert path.is_relative_to(data / "demo" / "library")
    assert (data / "demo" / "tasks.sqlite3").is_file()
    real = _ok(cli("--json", "--data-dir", str(data), "list", global_opts=False))
    assert real.objects() == []
    demo = _ok(cli("--demo", "--data-dir", str(data), "--json", "list", global_opts=False))
    assert [o["job_id"] for o in demo.objects()] == [obj["job_id"]]
