"""Bad input, one table: what a person (or a broken server) can throw at kievideo, and what the
person reads back.

(i)   the GUI's validators: ``core.rules.problems`` / ``disabled_reason`` and, where cheap, the
      real Qt prompt panel (offscreen);
(ii)  the CLI as a subprocess: bad options, files, batch lines and keys -> exactly one
      ``kievideo-cli: error:`` line, the documented exit code, and nothing paid or uploaded
      according to the simulator's journal;
(iii) broken server answers through the api layer and TaskService (httpx.MockTransport gives
      exact shapes; the simulator where its faults fit): a clear message, no traceback, no key,
      no crash, and nothing lost (a polled job stays in the store with its task id).

Every message is checked for what happened (the ``said`` substrings) and, where the table says
so, for what to do (the ``todo`` substrings). Messages that say what happened but not what to do
are listed in docs/RELIABILITY.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import (pytest-qt's qapp)
os.environ.setdefault("QT_API", "pyside6")

import httpx
import pytest
from relsupport import (
    clean_env,
    person_text_ok,
    png,
    run_child,
    service_for,
    sha256,
    sha256_file,
    venv_script,
)

from kievideo.api.http import HttpConfig
from kievideo.api.models import ProviderKind as P
from kievideo.core import rules
from kievideo.core.jobs import Job, JobSpec, JobState, Mode
from kievideo.sim import FaultSpec, SimConfig, SimServer

pytestmark = pytest.mark.reliability

KEY = "sk-badinput-0123456789abcdef"  # what the fake server expects; must never be shown
FAST = HttpConfig(backoff_base=0.005, backoff_cap=0.02, retry_after_cap=0.02, max_retries=2)
SPEED = 600.0


def assert_readable(text: str | None, said: tuple[str, ...], todo: tuple[str, ...] = ()) -> None:
    problems = person_text_ok(text, secrets=(KEY,))
    assert not problems, f"{problems}: {text!r}"
    low = (text or "").lower()
    for s in said + todo:
        assert s.lower() in low, f"{s!r} not in {text!r}"


# =============================================================================================
# (i) validators
# =============================================================================================


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("inputs")
    (d / "ok.png").write_bytes(png())
    (d / "text.png").write_text("this is not an image", "utf-8")
    (d / "empty.png").write_bytes(b"")
    (d / "folder.png").mkdir()
    big = d / "big.png"
    with open(big, "wb") as fh:  # sparse: 11 MB on paper, nothing on disk
        fh.write(png())
        fh.truncate(rules.MAX_IMAGE_BYTES + 1024 * 1024)
    locked = d / "locked.png"
    locked.write_bytes(png())
    locked.chmod(0)
    return {p.name: str(p) for p in d.iterdir()} | {"missing.png": str(d / "missing.png")}


def veo(**kw: Any) -> JobSpec:
    return JobSpec(P.VEO, kw.pop("model", "veo3_fast"), kw.pop("prompt", "a fox"), **kw)


def runway(**kw: Any) -> JobSpec:
    kw.setdefault("aspect_ratio", "16:9")
    return JobSpec(P.RUNWAY, "runway", kw.pop("prompt", "a fox"), **kw)


@dataclass
class RuleCase:
    id: str
    spec: Callable[[dict[str, str]], JobSpec]
    field: str
    said: tuple[str, ...]
    todo: tuple[str, ...] = ()


RULE_CASES = [
    RuleCase("empty prompt", lambda f: veo(prompt=""), "prompt", ("prompt",), ("write a prompt",)),
    RuleCase("blank prompt", lambda f: veo(prompt=" \n\t "), "prompt", ("prompt",), ("write a prompt",)),
    RuleCase(
        "prompt over Veo limit",
        lambda f: veo(prompt="x" * 2001),
        "prompt",
        ("2,001", "2,000"),
        ("shorten it by 1",),
    ),
    RuleCase(
        "prompt over Runway limit", lambda f: runway(prompt="y" * 1900), "prompt", ("1,800",), ("shorten",)
    ),
    RuleCase("unknown model", lambda f: veo(model="veo9"), "model", ("veo9",), ("choose one of",)),
    RuleCase(
        "reference with veo3",
        lambda f: veo(model="veo3", mode=Mode.REFERENCE, images=(f["ok.png"],)),
        "mode",
        ("reference",),
        ("switch the model",),
    ),
    RuleCase(
        "text mode with an image",
        lambda f: veo(images=(f["ok.png"],)),
        "images",
        ("takes no images",),
        ("remove",),
    ),
    RuleCase("image mode without image", lambda f: veo(mode=Mode.IMAGE), "images", ("exactly 1 image",)),
    RuleCase(
        "frames with one image",
        lambda f: veo(mode=Mode.FRAMES, images=(f["ok.png"],)),
        "images",
        ("exactly 2 images", "you gave 1"),
    ),
    RuleCase(
        "four reference images",
        lambda f: veo(mode=Mode.REFERENCE, images=(f["ok.png"],) * 4),
        "images",
        ("1 to 3", "you gave 4"),
    ),
    RuleCase(
        "aleph without video",
        lambda f: JobSpec(P.ALEPH, "aleph", "p", mode=Mode.VIDEO),
        "video_url",
        ("existing video",),
        ("enter the video",),
    ),
    RuleCase(
        "aleph with ftp link",
        lambda f: JobSpec(P.ALEPH, "aleph", "p", mode=Mode.VIDEO, video_url="ftp://x/y.mp4"),
        "video_url",
        ("ftp://x/y.mp4",),
        ("must start with http",),
    ),
    RuleCase(
        "runway text without aspect",
        lambda f: runway(aspect_ratio=None),
        "aspect_ratio",
        ("aspect ratio",),
        ("choose one of",),
    ),
    RuleCase(
        "veo aspect 4:3", lambda f: veo(aspect_ratio="4:3"), "aspect_ratio", ("4:3",), ("choose one of",)
    ),
    RuleCase("runway 7 seconds", lambda f: runway(duration=7), "duration", ("not 7 seconds",), ("5, 10",)),
    RuleCase(
        "runway 10 s in 1080p",
        lambda f: runway(duration=10, quality="1080p"),
        "quality",
        ("10-second", "1080p"),
        ("choose 5 s or 720p",),
    ),
    RuleCase("veo seed 5", lambda f: veo(seed=5), "seed", ("you gave 5",), ("10000 to 99999",)),
    RuleCase(
        "seed on runway", lambda f: runway(seed=12345), "seed", ("does not take a seed",), ("clear the seed",)
    ),
    RuleCase(
        "image is a text file",
        lambda f: veo(mode=Mode.IMAGE, images=(f["text.png"],)),
        "images[0]",
        ("not a jpeg, png or webp", "by its content"),
        ("export it",),
    ),
    RuleCase(
        "image missing",
        lambda f: veo(mode=Mode.IMAGE, images=(f["missing.png"],)),
        "images[0]",
        ("does not exist",),
        ("moved or renamed",),
    ),
    RuleCase(
        "image empty",
        lambda f: veo(mode=Mode.IMAGE, images=(f["empty.png"],)),
        "images[0]",
        ("is empty (0 bytes)",),
    ),
    RuleCase(
        "image is a folder",
        lambda f: veo(mode=Mode.IMAGE, images=(f["folder.png"],)),
        "images[0]",
        ("is a folder",),
    ),
    RuleCase(
        "image over 10 MB",
        lambda f: veo(mode=Mode.IMAGE, images=(f["big.png"],)),
        "images[0]",
        ("11.0 mb", "limit is 10 mb"),
        ("save it smaller",),
    ),
    RuleCase(
        "image link with ftp",
        lambda f: veo(mode=Mode.IMAGE, images=("ftp://host/a.png",)),
        "images[0]",
        ("neither a local file nor an http(s) link",),
    ),
]
if os.geteuid() != 0:  # root reads every file: the permission case only means something for users
    RULE_CASES.append(
        RuleCase(
            "image unreadable",
            lambda f: veo(mode=Mode.IMAGE, images=(f["locked.png"],)),
            "images[0]",
            ("cannot be read",),
            ("check its permissions",),
        )
    )


@pytest.mark.parametrize("case", RULE_CASES, ids=lambda c: c.id)
def test_rules_problems(case: RuleCase, files: dict[str, str]) -> None:
    found = rules.problems(case.spec(files))
    mine = [p for p in found if p.field == case.field]
    assert mine, f"no problem on {case.field}: {found}"
    assert_readable(mine[0].message, case.said, case.todo)
    with pytest.raises(rules.SpecError):
        rules.check(case.spec(files))


DISABLED_CASES = [
    (
        "veo3 offers no reference mode",
        veo(model="veo3"),
        "mode",
        "reference",
        ("veo 3.1 fast",),
        ("switch the model",),
    ),
    ("runway offers no frames mode", runway(), "mode", "frames", ("cannot make",), ("choose one of",)),
    (
        "1080p greyed for a 10 s runway",
        runway(duration=10),
        "quality",
        "1080p",
        ("10-second",),
        ("choose 5 s or 720p",),
    ),
    ("seed greyed for runway", runway(), "seed", None, ("does not take a seed",), ("clear the seed",)),
    ("translation greyed for runway", runway(), "translate", True, ("does not translate",), ()),
    (
        "aspect decided by the image",
        runway(mode=Mode.IMAGE),
        "aspect_ratio",
        "16:9",
        ("takes the aspect ratio from the image",),
        (),
    ),
    ("upsample greyed for veo", veo(), "upsample", True, ("only offered by unified",), ()),
]


@pytest.mark.parametrize("case", DISABLED_CASES, ids=lambda c: c[0])
def test_rules_disabled_reason(case: tuple[Any, ...]) -> None:
    _id, spec, fld, value, said, todo = case
    assert_readable(rules.disabled_reason(spec, fld, value), said, todo)


# ---- the real Qt prompt panel (offscreen) ----------------------------------------------------

QT_HARMLESS = (r"propagateSizeHints", r"raise\(\)", r"QFont::setPointSize")


@pytest.fixture
def panel(qtbot: Any) -> Any:
    from kievideo.ui.promptpanel import PromptPanel

    p = PromptPanel()
    qtbot.addWidget(p)
    return p


@pytest.mark.qt_log_ignore(*QT_HARMLESS)
def test_qt_runway_10s_greys_out_1080p(panel: Any) -> None:
    assert panel.select_provider(P.RUNWAY)
    panel.duration.select(10)
    panel._refresh()
    reason = panel.quality.reason("1080p")
    assert_readable(reason, ("10-second",), ("choose 5 s or 720p",))
    assert panel.spec().quality != "1080p"  # the refused value cannot be chosen
    assert "1080p" in panel.hint.text()  # and the hint line says so without hovering


@pytest.mark.qt_log_ignore(*QT_HARMLESS)
def test_qt_reference_mode_needs_veo_fast(panel: Any) -> None:
    assert panel.select_provider(P.VEO)
    panel.model_combo.select("veo3")
    panel._on_model()
    assert not panel.set_mode(Mode.REFERENCE)
    assert_readable(panel.mode.reason("reference"), ("veo 3.1 fast",), ("switch the model",))


@pytest.mark.qt_log_ignore(*QT_HARMLESS)
def test_qt_seed_disabled_for_runway(panel: Any) -> None:
    assert panel.select_provider(P.RUNWAY)
    assert not panel.seed.isEnabled()
    assert_readable(panel.seed.toolTip(), ("does not take a seed",), ("clear the seed",))


@pytest.mark.qt_log_ignore(*QT_HARMLESS)
def test_qt_prompt_over_limit_turns_counter_red(panel: Any) -> None:
    assert panel.select_provider(P.RUNWAY)
    panel.prompt.setPlainText("z" * 1801)
    assert panel.is_over_limit()
    assert "1,801 / 1,800" in panel.counter.text()
    found = [p for p in rules.problems(panel.spec()) if p.field == "prompt"]
    assert found  # the window shows rules.problems on Generate; the message is in the table above


@pytest.mark.qt_log_ignore(*QT_HARMLESS)
def test_qt_runway_image_takes_its_aspect_ratio(panel: Any) -> None:
    assert panel.select_provider(P.RUNWAY)
    assert panel.set_mode(Mode.IMAGE)
    panel._refresh()
    assert not panel.aspect.isEnabled()
    assert_readable(panel.aspect.toolTip(), ("aspect ratio from the image",))


# =============================================================================================
# (ii) the CLI
# =============================================================================================


@pytest.fixture(scope="module")
def cli_sim() -> Iterator[SimServer]:
    with SimServer(SimConfig(speed=SPEED, seed=3, credits=10_000)) as sim:
        yield sim


@dataclass
class CliCase:
    id: str
    args: list[str]
    code: int
    said: tuple[str, ...]
    todo: tuple[str, ...] = ()
    env: dict[str, str | None] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # name -> content, written to the work dir
    global_opts: bool = True


GEN = ["generate", "--provider", "veo", "--model", "veo3_fast", "--prompt", "a fox"]
CLI_CASES = [
    CliCase(
        "unknown provider",
        ["generate", "--provider", "sora", "--model", "x", "--prompt", "p"],
        2,
        ("invalid choice: 'sora'",),
        ("choose from",),
    ),
    CliCase(
        "duration not a number",
        ["generate", "--provider", "runway", "--model", "runway", "--prompt", "p", "--duration", "ten"],
        2,
        ("invalid int value: 'ten'",),
    ),
    CliCase(
        "unknown model",
        ["generate", "--provider", "veo", "--model", "veo9", "--prompt", "p"],
        2,
        ("veo9",),
        ("choose one of",),
    ),
    CliCase(
        "blank prompt",
        ["generate", "--provider", "veo", "--model", "veo3_fast", "--prompt", "  "],
        2,
        ("prompt",),
        ("write a prompt",),
    ),
    CliCase(
        "prompt too long",
        ["generate", "--provider", "runway", "--model", "runway", "--aspect", "16:9", "--prompt", "x" * 1801],
        2,
        ("1,801",),
        ("shorten it by 1",),
    ),
    CliCase("missing image", [*GEN, "--image", "{work}/nope.png"], 2, ("does not exist",)),
    CliCase(
        "image is text",
        [*GEN, "--image", "{work}/notes.png"],
        2,
        ("not a jpeg, png or webp",),
        ("export it",),
        files={"notes.png": "hello"},
    ),
    CliCase(
        "empty image", [*GEN, "--image", "{work}/empty.png"], 2, ("empty (0 bytes)",), files={"empty.png": ""}
    ),
    CliCase(
        "runway 10 s 1080p",
        [
            "generate",
            "--provider",
            "runway",
            "--model",
            "runway",
            "--prompt",
            "p",
            "--aspect",
            "16:9",
            "--duration",
            "10",
            "--quality",
            "1080p",
        ],
        2,
        ("10-second",),
        ("choose 5 s or 720p",),
    ),
    CliCase("veo seed out of range", [*GEN, "--seed", "5"], 2, ("you gave 5",), ("10000 to 99999",)),
    CliCase(
        "aleph without video",
        ["generate", "--provider", "aleph", "--model", "aleph", "--prompt", "p"],
        2,
        ("existing video",),
        ("enter the video",),
    ),
    CliCase("batch file missing", ["batch", "{work}/missing.jsonl"], 2, ("cannot read the batch file",)),
    CliCase(
        "batch line not JSON",
        ["batch", "{work}/bad.jsonl"],
        2,
        ("line 2", "not valid json"),
        files={
            "bad.jsonl": '{"provider":"veo","model":"veo3_fast","prompt":"x"}\n{"provider": "veo", oops\n'
        },
    ),
    CliCase(
        "batch field of wrong type",
        ["batch", "{work}/type.jsonl"],
        2,
        ("line 1", "whole number", "'abc'"),
        files={"type.jsonl": '{"provider":"runway","model":"runway","prompt":"x","duration":"abc"}\n'},
    ),
    CliCase(
        "batch unknown field",
        ["batch", "{work}/field.jsonl"],
        2,
        ("unknown field 'colour'",),
        ("known:",),
        files={"field.jsonl": '{"provider":"veo","model":"veo3_fast","prompt":"x","colour":1}\n'},
    ),
    CliCase(
        "batch with one bad line of two",
        ["batch", "{work}/mixed.jsonl"],
        2,
        ("line 2", "veo9"),
        files={
            "mixed.jsonl": '{"provider":"veo","model":"veo3_fast","prompt":"ok"}\n'
            '{"provider":"veo","model":"veo9","prompt":"x"}\n'
        },
    ),
    CliCase("unknown task id", ["wait", "nosuchtask"], 2, ("no task 'nosuchtask'",), ("kievideo-cli list",)),
    CliCase(
        "no API key", GEN, 3, ("no api key",), ("kievideo_api_key", "key set"), env={"KIEVIDEO_API_KEY": None}
    ),
    CliCase(
        "wrong API key",
        GEN,
        3,
        ("not accepted",),
        ("key set",),
        env={"KIEVIDEO_API_KEY": "sk-wrong-key-987654321"},
    ),
    CliCase(
        "unreachable API",
        ["--api-base", "http://127.0.0.1:9", "--data-dir", "{work}/d", *GEN],
        4,
        ("could not connect",),
        ("check your network",),
        global_opts=False,
    ),
]


def _cli_argv(sim: SimServer, work: Path, case: CliCase) -> list[str]:
    args = [a.replace("{work}", str(work)) for a in case.args]
    base = [venv_script("kievideo-cli")]
    if case.global_opts:
        base += [
            "--api-base",
            sim.api_url,
            "--upload-base",
            sim.upload_url,
            "--data-dir",
            str(work / "data"),
            "--sim-speed",
            str(SPEED),
        ]
    return base + args


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.id)
def test_cli_bad_input(case: CliCase, cli_sim: SimServer, tmp_path: Path) -> None:
    for name, content in case.files.items():
        (tmp_path / name).write_text(content, "utf-8")
    overrides: dict[str, str | None] = {
        "KIEVIDEO_API_KEY": cli_sim.key,
        "COLUMNS": "120",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    overrides.update(case.env)
    env = clean_env(**overrides)
    mark = len(cli_sim.journal)
    run = run_child(_cli_argv(cli_sim, tmp_path, case), env, logdir=tmp_path / "logs", timeout=60)
    assert run.code == case.code, f"exit {run.code}, expected {case.code}\n{run.stderr}"
    errors = [ln for ln in run.stderr.splitlines() if "error:" in ln]
    assert len(errors) == 1, run.stderr
    assert "Traceback" not in run.stderr and KEY not in run.stderr and cli_sim.key not in run.stderr
    assert_readable(errors[0].split("error:", 1)[1], case.said, case.todo)
    sent = [e for e in cli_sim.journal[mark:] if e.route not in (None, "common.credit")]
    assert not sent, f"sent despite bad input: {[(e.route, e.status) for e in sent]}"


def test_cli_malformed_api_base_is_a_usage_error(cli_sim: SimServer, tmp_path: Path) -> None:
    env = clean_env(KIEVIDEO_API_KEY=cli_sim.key, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    argv = [venv_script("kievideo-cli"), "--api-base", "notaurl", "--data-dir", str(tmp_path / "d"), *GEN]
    run = run_child(argv, env, logdir=tmp_path / "logs", timeout=60)
    errors = [ln for ln in run.stderr.splitlines() if "error:" in ln]
    assert len(errors) == 1, run.stderr
    assert "internal error" not in errors[0] and "ValueError" not in errors[0], errors[0]
    assert run.code == 2, (run.code, run.stderr)


# =============================================================================================
# (iii) broken server answers
# =============================================================================================


def kie(data: Any = None, code: Any = 200, msg: str = "success") -> bytes:
    return json.dumps({"code": code, "msg": msg, "data": data}).encode()


HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


@dataclass
class Answer:
    status: int
    body: bytes
    ctype: str = "application/json"

    def response(self) -> httpx.Response:
        return httpx.Response(self.status, content=self.body, headers={"content-type": self.ctype})


class FakeKie:
    """A kie.ai API that answers the create and the status requests as told (MockTransport)."""

    def __init__(self, create: Answer, poll: Answer | None = None) -> None:
        self.create = create
        self.poll = poll or Answer(200, kie({"taskId": "task-1", "successFlag": 0}))
        self.creates = 0
        self.polls = 0
        self.auth: set[str] = set()

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.auth.add(request.headers.get("authorization", ""))
        path = request.url.path
        if path in ("/api/v1/veo/generate", "/v1/video/create"):
            self.creates += 1
            return self.create.response()
        if path in ("/api/v1/veo/record-info", "/v1/video/query"):
            self.polls += 1
            return self.poll.response()
        return httpx.Response(404, json={"code": 404, "msg": "no such endpoint"})


@dataclass
class ServerCase:
    id: str
    answer: Answer
    state: str  # what the job must end in (create cases) / stay in (poll cases)
    said: tuple[str, ...]
    todo: tuple[str, ...] = ()
    provider: str = "veo"


OK_CREATE = Answer(200, kie({"taskId": "task-1"}))

CREATE_CASES = [
    ServerCase(
        "create: cut-off JSON",
        Answer(200, b'{"code":200,"msg":"success","data":{"taskId":"'),
        "uncertain",
        ("may have been submitted",),
        ("check your provider's logs",),
    ),
    ServerCase(
        "create: no data",
        Answer(200, b'{"code":200,"msg":"success"}'),
        "uncertain",
        ("may have been submitted",),
        ("check your provider's logs",),
    ),
    ServerCase(
        "create: data null",
        Answer(200, kie(None)),
        "uncertain",
        ("may have been submitted",),
        ("check your provider's logs",),
    ),
    ServerCase(
        "create: taskId of wrong type",
        Answer(200, kie({"taskId": ["a", "b"]})),
        "uncertain",
        ("may have been submitted",),
        ("before trying again",),
    ),
    ServerCase(
        "create: HTML error page",
        Answer(502, HTML_502, "text/html"),
        "uncertain",
        ("may have been submitted",),
        ("check your provider's logs",),
    ),
    ServerCase("create: empty body", Answer(200, b""), "uncertain", ("may have been submitted",)),
    ServerCase("create: JSON null", Answer(200, b"null"), "uncertain", ("may have been submitted",)),
    ServerCase("create: JSON list", Answer(200, b"[]"), "uncertain", ("may have been submitted",)),
    ServerCase("create: code as string", Answer(200, kie({"taskId": "task-1"}, code="200")), "queued", ()),
    ServerCase(
        "create: JSON sent as text/plain", Answer(200, kie({"taskId": "task-1"}), "text/plain"), "queued", ()
    ),
    ServerCase(
        "create: credits code as string",
        Answer(200, kie(None, code="402", msg="Insufficient Credits")),
        "failed",
        ("not enough credits",),
        ("top up",),
    ),
    ServerCase(
        "create: server echoes the key",
        Answer(200, kie(None, code=500, msg=f"bad token {KEY}")),
        "uncertain",
        ("may have been submitted",),
    ),
    ServerCase(
        "create: unified 500 with OpenAI error",
        Answer(500, json.dumps({"error": {"message": "upstream exploded", "type": "server_error"}}).encode()),
        "uncertain",
        ("may have been submitted",),
        provider="unified",
    ),
]

POLL_CASES = [
    ServerCase(
        "poll: cut-off JSON",
        Answer(200, b'{"code":200,"msg":"success","data":{"successFl'),
        "queued",
        ("instead of json",),
    ),
    ServerCase("poll: data null", Answer(200, kie(None)), "queued", ("no record data", "null")),
    ServerCase("poll: data is a string", Answer(200, kie("oops")), "queued", ("no record data", "str")),
    ServerCase(
        "poll: successFlag missing", Answer(200, kie({"taskId": "task-1"})), "queued", ("successflag",)
    ),
    ServerCase(
        "poll: successFlag not a number",
        Answer(200, kie({"taskId": "task-1", "successFlag": "yes"})),
        "queued",
        ("successflag", "'yes'"),
    ),
    ServerCase(
        "poll: unknown successFlag",
        Answer(200, kie({"taskId": "task-1", "successFlag": 7})),
        "queued",
        ("successflag=7",),
    ),
    ServerCase(
        "poll: success without a video",
        Answer(200, kie({"taskId": "task-1", "successFlag": 1})),
        "queued",
        ("finished", "no video url"),
    ),
    ServerCase(
        "poll: resultUrls of wrong type",
        Answer(200, kie({"taskId": "task-1", "successFlag": 1, "response": {"resultUrls": 5}})),
        "queued",
        ("no video url",),
    ),
    ServerCase(
        "poll: HTML error page",
        Answer(502, HTML_502, "text/html"),
        "queued",
        ("http 502", "html page", "502 bad gateway"),
    ),
    ServerCase("poll: empty body", Answer(200, b""), "queued", ("empty body",)),
    ServerCase("poll: JSON list", Answer(200, b"[1,2]"), "queued", ("json list",)),
    ServerCase(
        "poll: code as string",
        Answer(200, kie({"taskId": "task-1", "successFlag": 0}, code="200")),
        "running",
        ("successflag=0",),
    ),
    ServerCase(
        "poll: server echoes the key",
        Answer(200, kie(None, code=500, msg=f"key {KEY} broke")),
        "queued",
        ("internal error",),
    ),
    ServerCase(
        "poll: unified unknown status",
        Answer(200, json.dumps({"id": "veo3.1-fast:task-1", "status": "teleporting"}).encode()),
        "queued",
        ("teleporting",),
        provider="unified",
    ),
]


def spec_for(provider: str) -> JobSpec:
    if provider == "unified":
        return JobSpec(P.UNIFIED, "veo3.1-fast", "a lamp", profile="agg")
    return JobSpec(P.VEO, "veo3_fast", "a lamp")


def ui_note(job: Job) -> str:
    """What the task row says about a job that is still being watched (ui/taskdelegate.py):
    the last polling error + "Still trying.", else the provider's own status word."""
    err = job.extra.get("last_error") or job.error_message
    if err and not job.is_final:
        return f"{err} Still trying."
    return job.provider_status


@contextlib_asynccontextmanager := __import__("contextlib").asynccontextmanager
async def fake_service(fake: FakeKie, tmp: Path) -> AsyncIterator[Any]:
    async with service_for(
        None, tmp, speed=SPEED, key=KEY, http_config=FAST, transport=httpx.MockTransport(fake.handler)
    ) as svc:
        yield svc


@pytest.mark.parametrize("case", CREATE_CASES, ids=lambda c: c.id)
def test_broken_create_answer(case: ServerCase, tmp_path: Path) -> None:
    fake = FakeKie(case.answer)

    async def main() -> tuple[Job, Job | None]:
        async with fake_service(fake, tmp_path) as svc:
            job = svc.submit(spec_for(case.provider))
            deadline = asyncio.get_running_loop().time() + 20
            while True:
                cur = svc.get(job.id)
                assert cur is not None
                if cur.is_final or cur.task_id:
                    break
                assert asyncio.get_running_loop().time() < deadline, cur
                await asyncio.sleep(0.01)
            return cur, svc.store.get(job.id)

    job, stored = asyncio.run(main())
    assert fake.creates == 1, "a create with a broken answer was sent again"
    assert stored is not None
    if case.state == "queued":  # accepted: the task id is stored (the first poll may already say running)
        assert job.state in (JobState.QUEUED, JobState.RUNNING), (job.state, job.error_message)
        assert job.task_id and stored.task_id == job.task_id
        return
    assert job.state.value == case.state, (job.state, job.error_message)
    assert_readable(job.error_message, case.said, case.todo)
    assert KEY not in json.dumps([job.provider_message, job.error_message, job.extra], default=str)
    assert stored.state is job.state


@pytest.mark.parametrize("case", POLL_CASES, ids=lambda c: c.id)
def test_broken_status_answer(case: ServerCase, tmp_path: Path) -> None:
    ok = (
        OK_CREATE
        if case.provider == "veo"
        else Answer(200, json.dumps({"id": "veo3.1-fast:task-1"}).encode())
    )
    fake = FakeKie(ok, case.answer)

    async def main() -> tuple[Job, Job | None]:
        async with fake_service(fake, tmp_path) as svc:
            job = svc.submit(spec_for(case.provider))
            deadline = asyncio.get_running_loop().time() + 20
            while True:
                cur = svc.get(job.id)
                assert cur is not None and not cur.is_final, (cur.state, cur.error_message)
                if fake.polls >= 3 and (cur.extra.get("last_error") or cur.provider_status):
                    break
                assert asyncio.get_running_loop().time() < deadline, (fake.polls, cur)
                await asyncio.sleep(0.01)
            return cur, svc.store.get(job.id)

    job, stored = asyncio.run(main())
    assert fake.creates == 1
    # nothing lost: still being watched, with its task id, in memory and in the store
    assert stored is not None and stored.task_id and stored.task_id == job.task_id
    assert job.state.value in (case.state, "queued", "running"), job.state
    assert stored.state in (JobState.QUEUED, JobState.RUNNING)
    note = ui_note(job)
    assert_readable(note, case.said)
    assert KEY not in json.dumps([job.provider_message, job.extra, job.provider_status], default=str)
    assert fake.auth == {f"Bearer {KEY}"}


# ---- answers too big to read ----------------------------------------------------------------


class Endless(httpx.AsyncByteStream):
    """A body that says it is 1 GB and keeps coming (1 MiB per chunk), counting what is read."""

    def __init__(
        self, limit: int = 64 << 20, head: bytes = b'{"code":200,"msg":"success","data":{"pad":"'
    ) -> None:
        self.limit = limit
        self.head = head
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        self.sent += len(self.head)
        chunk = b"x" * (1 << 20)
        while self.sent < self.limit:
            self.sent += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        return None


CAP = 16 << 20  # anything reasonable: a kie.ai status answer is a few KB


def test_status_answer_with_1gb_content_length_is_not_read_without_bound(tmp_path: Path) -> None:
    bodies: list[Endless] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/veo/generate":
            return OK_CREATE.response()
        body = Endless()
        bodies.append(body)
        return httpx.Response(
            200, headers={"content-type": "application/json", "content-length": str(1 << 30)}, stream=body
        )

    async def main() -> Job:
        async with service_for(
            None, tmp_path, speed=SPEED, key=KEY, http_config=FAST, transport=httpx.MockTransport(handler)
        ) as svc:
            job = svc.submit(spec_for("veo"))
            for _ in range(2000):
                if (bodies and bodies[0].sent >= bodies[0].limit) or (svc.get(job.id) or job).extra.get(
                    "last_error"
                ):
                    break
                await asyncio.sleep(0.01)
            return svc.get(job.id) or job

    job = asyncio.run(main())
    assert bodies, "no status request was made"
    read = bodies[0].sent
    assert read <= CAP, f"{read >> 20} MiB of one status answer were read (cap {CAP >> 20} MiB)"
    assert_readable(job.extra.get("last_error"), ("too large",))


def test_50mb_json_status_answer_is_refused(tmp_path: Path) -> None:
    pad = "y" * (50 << 20)
    big = Answer(
        200,
        json.dumps(
            {"code": 200, "msg": "success", "data": {"taskId": "task-1", "successFlag": 0, "pad": pad}}
        ).encode(),
    )
    fake = FakeKie(OK_CREATE, big)

    async def main() -> Job:
        async with fake_service(fake, tmp_path) as svc:
            job = svc.submit(spec_for("veo"))
            for _ in range(3000):
                cur = svc.get(job.id) or job
                if fake.polls >= 1 and (cur.extra.get("last_error") or cur.provider_status):
                    return cur
                await asyncio.sleep(0.01)
            return svc.get(job.id) or job

    job = asyncio.run(main())
    assert job.task_id and not job.is_final
    assert_readable(job.extra.get("last_error"), ("too large",))


# ---- the file host answers 200 with something that is not the video ----------------------------


@pytest.mark.parametrize("kind", ["empty_body", "malformed_json"])
def test_file_host_200_that_is_not_the_video(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relsupport import scaled_create_limiter

    scaled_create_limiter(monkeypatch, SPEED)
    with SimServer(SimConfig(speed=SPEED, seed=5, faults=[FaultSpec("files.result", kind, count=1)])) as sim:

        async def main() -> Job:
            async with service_for(sim, tmp_path, speed=SPEED, http_config=FAST) as svc:
                job = svc.submit(JobSpec(P.VEO, "veo3_fast", "a quiet harbour"))
                return await asyncio.wait_for(svc.wait(job.id), 30)

        job = asyncio.run(main())
        assert job.state is JobState.DONE, job.error_message
        want = sim.file_bytes(job.result_urls[0])
        got = Path(job.file_path or "")
        assert got.stat().st_size == len(want), (
            f"the library file has {got.stat().st_size} bytes, the video {len(want)}"
        )
        assert sha256_file(got) == sha256(want)


def test_table_size() -> None:
    """The table has at least 40 cases (the brief's floor)."""
    n = (
        len(RULE_CASES)
        + len(DISABLED_CASES)
        + 5
        + len(CLI_CASES)
        + 1
        + len(CREATE_CASES)
        + len(POLL_CASES)
        + 4
    )
    assert n >= 40, n
    print(f"bad-input table: {n} cases", file=sys.stderr)
