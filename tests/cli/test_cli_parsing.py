"""Unit tests of the CLI's pure parts: argument surface, batch files, job keys, output, exit codes.

These run in-process (no simulator); the end-to-end behaviour is tested through the installed
console script in the other test modules.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kievideo import cli
from kievideo.api.models import ProviderKind
from kievideo.core.jobs import Job, JobKind, JobSpec, JobState, Mode

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def png(tmp_path: Path) -> Path:
    p = tmp_path / "in.png"
    p.write_bytes(PNG)
    return p


# ---- argument surface ---------------------------------------------------------------------


def test_help_documents_exit_codes_key_rule_and_demo_store(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "130"):
        assert f"\n  {code}" in text
    assert "KIEVIDEO_API_KEY" in text
    assert "DATA_DIR/demo/" in text
    assert "sha256:" in text and '"key"' in text


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--provider", "veo", "--model", "veo3_fast", "--prompt", "x"],
        [
            "--json",
            "--debug",
            "generate",
            "--provider",
            "runway",
            "--model",
            "runway",
            "--prompt",
            "x",
            "--image",
            "a.png",
            "--duration",
            "10",
            "--quality",
            "720p",
            "--aspect",
            "16:9",
            "--wait",
            "--out",
            "o",
        ],
        ["status", "abc"],
        ["wait", "abc", "--out", "d"],
        ["list", "--state", "done", "--state", "failed"],
        ["download", "abc"],
        ["upgrade", "abc", "--to", "4k"],
        ["extend", "abc", "--prompt", "more"],
        ["credits"],
        ["batch", "f.jsonl", "--concurrency", "3", "--out", "d"],
        ["key", "set", "--provider", "kie"],
        ["--demo", "--data-dir", "x", "--api-base", "http://a", "--upload-base", "http://b", "credits"],
    ],
)
def test_surface_parses(argv: list[str]) -> None:
    args = cli.build_parser().parse_args(argv)
    assert args.command in cli.COMMANDS


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--provider", "nope", "--model", "m", "--prompt", "x"],
        ["generate", "--provider", "runway", "--model", "runway", "--prompt", "x", "--duration", "7"],
        ["upgrade", "abc", "--to", "8k"],
        ["batch", "f", "--concurrency", "0"],
        ["key", "set"],  # --provider is required
        ["key", "set", "--provider", "kie", "--key", "secret"],  # the key is never an argument
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(argv)
    assert exc.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("kievideo-cli") and ": error: " in last


def test_image_option_takes_several_forms(tmp_path: Path) -> None:
    args = cli.build_parser().parse_args(
        [
            "generate",
            "--provider",
            "veo",
            "--model",
            "veo3_fast",
            "--prompt",
            "x",
            "--image",
            "a.png",
            "b.png",
            "--image",
            "https://h/c.jpg",
        ]
    )
    spec = cli.spec_from_args(args)
    assert spec.mode is Mode.REFERENCE
    assert spec.images[0] == str(Path.cwd() / "a.png")
    assert spec.images[2] == "https://h/c.jpg"


@pytest.mark.parametrize(
    ("provider", "model", "n", "video", "mode"),
    [
        (ProviderKind.VEO, "veo3_fast", 0, None, Mode.TEXT),
        (ProviderKind.VEO, "veo3_fast", 1, None, Mode.IMAGE),
        (ProviderKind.VEO, "veo3_fast", 2, None, Mode.FRAMES),
        (ProviderKind.VEO, "veo3_fast", 3, None, Mode.REFERENCE),
        (ProviderKind.VEO, "veo3", 3, None, Mode.REFERENCE),  # not offered: rules will say so
        (ProviderKind.UNIFIED, "veo3.1-components", 1, None, Mode.REFERENCE),
        (ProviderKind.ALEPH, "aleph", 0, "https://v/x.mp4", Mode.VIDEO),
        (ProviderKind.RUNWAY, "runway", 1, None, Mode.IMAGE),
    ],
)
def test_infer_mode(provider: ProviderKind, model: str, n: int, video: str | None, mode: Mode) -> None:
    assert cli.infer_mode(provider, model, n, video) is mode


# ---- batch files ----------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_jsonl_batch(tmp_path: Path, png: Path) -> None:
    f = _write(
        tmp_path,
        "jobs.jsonl",
        "# a comment\n"
        '{"provider":"veo","model":"veo3_fast","prompt":"a fox"}\n'
        "\n"
        '{"provider":"runway","model":"runway","prompt":"it moves","images":["in.png"],"duration":5}\n'
        '{"provider":"veo","model":"veo3_fast","prompt":"a fox"}\n'
        '{"provider":"veo","model":"veo3_fast","prompt":"mine","key":"my-key","aspect":"9:16","seed":12345}\n',
    )
    items = cli.parse_batch(f)
    assert [i.line for i in items] == [2, 4, 5, 6]
    assert items[1].spec.images == (str(png),)  # relative to the batch file
    assert items[1].spec.mode is Mode.IMAGE
    assert items[0].key.startswith("sha256:") and "#" not in items[0].key
    assert items[2].key == items[0].key + "#2"  # an identical job is a second job
    assert items[3].key == "my-key" and items[3].explicit_key
    assert items[3].spec.aspect_ratio == "9:16" and items[3].spec.seed == 12345


def test_csv_batch_same_names_and_image_separators(tmp_path: Path, png: Path) -> None:
    (tmp_path / "b.png").write_bytes(PNG)
    f = _write(
        tmp_path,
        "jobs.csv",
        "provider,model,prompt,images,aspect,translate,key\n"
        'veo,veo3_fast,"a fox, running",in.png|b.png,16:9,false,\n'
        "veo,veo3_fast,refs,in.png;b.png;https://x/y.jpg,,,k2\n"
        "runway,runway,plain,,16:9,,\n",
    )
    items = cli.parse_batch(f)
    assert len(items) == 3
    assert items[0].spec.prompt == "a fox, running"
    assert items[0].spec.mode is Mode.FRAMES and not items[0].spec.translate
    assert items[1].spec.mode is Mode.REFERENCE and items[1].key == "k2"
    assert items[1].spec.images[2] == "https://x/y.jpg"
    assert items[2].spec.images == ()


def test_job_key_is_stable_and_ignores_line_numbers(tmp_path: Path) -> None:
    a = _write(
        tmp_path,
        "a.jsonl",
        '{"provider":"veo","model":"veo3_fast","prompt":"p1"}\n'
        '{"provider":"veo","model":"veo3_fast","prompt":"p2"}\n',
    )
    b = _write(
        tmp_path,
        "b.jsonl",
        '\n\n{"prompt":"p2","model":"veo3_fast","provider":"veo"}\n'
        '{"provider":"veo","model":"veo3_fast","prompt":"p1","mode":"text"}\n',
    )
    ka = {i.spec.prompt: i.key for i in cli.parse_batch(a)}
    kb = {i.spec.prompt: i.key for i in cli.parse_batch(b)}
    assert ka == kb
    assert ka["p1"] != ka["p2"]
    spec = JobSpec(ProviderKind.VEO, "veo3_fast", "p1")
    assert ka["p1"] == cli.job_key_for(spec, None) == "sha256:" + cli.spec_digest(spec)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"provider":"veo","model":"veo3_fast"', "not valid JSON"),
        ('["provider"]', "JSON object"),
        ('{"provider":"sora","model":"x","prompt":"p"}', "unknown provider"),
        ('{"provider":"veo","prompt":"p"}', "model is missing"),
        ('{"provider":"veo","model":"veo9","prompt":"p"}', "no model called 'veo9'"),
        ('{"provider":"veo","model":"veo3_fast","prompt":"p","colour":"red"}', "unknown field 'colour'"),
        ('{"provider":"veo","model":"veo3_fast","prompt":"p","images":["missing.png"]}', "does not exist"),
        (
            '{"provider":"veo","model":"veo3_fast","prompt":"p","mode":"frames","images":["x.png"]}',
            "exactly 2",
        ),
        ('{"provider":"veo","model":"veo3_fast","prompt":"p","seed":"abc"}', "whole number"),
        (
            '{"provider":"veo","model":"veo3_fast","prompt":"p","key":"k"}\n'
            '{"provider":"veo","model":"veo3_fast","prompt":"q","key":"k"}',
            "line 3: key 'k' is also used on line 2",
        ),
    ],
)
def test_bad_batch_lines_refuse_the_whole_file(tmp_path: Path, text: str, needle: str) -> None:
    (tmp_path / "x.png").write_bytes(PNG)
    f = _write(tmp_path, "bad.jsonl", '{"provider":"veo","model":"veo3_fast","prompt":"ok"}\n' + text + "\n")
    with pytest.raises(cli.CliError) as exc:
        cli.parse_batch(f)
    assert exc.value.code is cli.ExitCode.USAGE
    assert "line 2" in exc.value.message
    assert needle in exc.value.message
    assert "\n" not in exc.value.message


def test_batch_file_errors(tmp_path: Path) -> None:
    with pytest.raises(cli.CliError, match="cannot read"):
        cli.parse_batch(tmp_path / "nope.jsonl")
    with pytest.raises(cli.CliError, match="no jobs"):
        cli.parse_batch(_write(tmp_path, "empty.jsonl", "# nothing\n\n"))
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"provider,model,prompt\nveo,veo3_fast,caf\xe9\n")
    with pytest.raises(cli.CliError, match="not UTF-8"):
        cli.parse_batch(bad)


def test_csv_too_many_cells(tmp_path: Path) -> None:
    f = _write(tmp_path, "j.csv", "provider,model,prompt\nveo,veo3_fast,a,b\n")
    with pytest.raises(cli.CliError, match="line 2: 4 cells"):
        cli.parse_batch(f)


# ---- output and exit codes ----------------------------------------------------------------


def _job(state: JobState, **kw: object) -> Job:
    job = Job(id="3f2a9c" + "0" * 26, spec=JobSpec(ProviderKind.VEO, "veo3_fast", "a fox"), state=state)
    for k, v in kw.items():
        setattr(job, k, v)
    return job


def test_job_json_fields() -> None:
    job = _job(JobState.DONE, task_id="t1", job_key="k", file_path="/lib/a.mp4", created_at=1.0)
    obj = cli.job_to_json(job, [Path("/out/a.mp4")])
    for k in ("task_id", "provider", "model", "state", "files", "error", "job_id", "job_key"):
        assert k in obj
    assert obj["files"] == ["/lib/a.mp4", "/out/a.mp4"]
    assert obj["error"] is None
    failed = cli.job_to_json(_job(JobState.FAILED, error_code=400, error_message="rejected"))
    assert failed["error"]["code"] == 400 and failed["error"]["message"] == "rejected"
    json.dumps(obj)


@pytest.mark.parametrize(
    ("job", "code"),
    [
        (_job(JobState.DONE), cli.ExitCode.OK),
        (_job(JobState.FAILED, error_code=400), cli.ExitCode.FAILED),
        (_job(JobState.FAILED, error_code=401), cli.ExitCode.AUTH),
        (_job(JobState.UNCERTAIN), cli.ExitCode.UNCERTAIN),
        (
            _job(
                JobState.FAILED,
                error_message="Could not connect to the provider. Check your network connection. "
                "Nothing was sent, so nothing was billed.",
            ),
            cli.ExitCode.NETWORK,
        ),
        (_job(JobState.EXPIRED), cli.ExitCode.FAILED),
        (_job(JobState.RUNNING), cli.ExitCode.INTERRUPTED),
    ],
)
def test_exit_code_for_job(job: Job, code: cli.ExitCode) -> None:
    assert cli.exit_code_for_job(job) is code


def test_exit_code_network_comes_from_error_kind_not_the_text() -> None:
    from kievideo.core.service import ERROR_KIND_NETWORK

    assert cli.ERROR_KIND_NETWORK == ERROR_KIND_NETWORK
    job = _job(JobState.FAILED, error_message="Le fournisseur est injoignable.")  # any wording
    job.extra["error_kind"] = ERROR_KIND_NETWORK
    assert cli.exit_code_for_job(job) is cli.ExitCode.NETWORK
    assert cli.job_to_json(job)["error"]["kind"] == "network"
    other = _job(JobState.FAILED, error_message="The video is not a video.")
    other.extra["error_kind"] = "not_video"
    assert cli.exit_code_for_job(other) is cli.ExitCode.FAILED


@pytest.mark.parametrize(
    "url",
    [
        "notaurl",
        "api.kie.ai",
        "ftp://api.kie.ai",
        "http://",
        "https:///path-only",
        "https://user:secret@api.kie.ai",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:port",
    ],
)
@pytest.mark.parametrize("option", ["--api-base", "--upload-base"])
def test_bad_base_url_is_a_usage_error(option: str, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args([option, url, "list"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("kievideo-cli") and f"argument {option}" in err[-1]
    assert "secret" not in err[-1]  # a password in the URL is never echoed


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "https://api.kie.ai", "https://gw.example/openai/", " HTTPS://Gw.Example "],
)
def test_good_base_urls_parse(url: str) -> None:
    args = cli.build_parser().parse_args(["--api-base", url, "--upload-base", url, "list"])
    assert args.api_base == url.strip() and args.upload_base == url.strip()


def test_worst_exit_code() -> None:
    E = cli.ExitCode
    assert cli._worst([]) is E.OK
    assert cli._worst([E.OK, E.FAILED]) is E.FAILED
    assert cli._worst([E.FAILED, E.UNCERTAIN, E.NETWORK]) is E.UNCERTAIN


def test_output_redacts_secrets_and_routes_streams() -> None:
    out_s, err_s = io.StringIO(), io.StringIO()
    out = cli.Output(json_mode=False, stdout=out_s, stderr=err_s)
    out.secrets.append("sk-very-secret")
    out.error("the key sk-very-secret was refused")
    out.result("done")
    out.data({"x": 1})  # not in JSON mode: nothing
    assert "sk-very-secret" not in err_s.getvalue()
    assert err_s.getvalue() == "kievideo-cli: error: the key *** was refused\n"
    assert out_s.getvalue() == "done\n"


def test_plain_progress_lines() -> None:
    err = io.StringIO()
    out = cli.Output(json_mode=True, stdout=io.StringIO(), stderr=err)
    progress = cli.Progress(out, tty=False)
    job = _job(JobState.QUEUED, created_at=1.0, submitted_at=1.0)
    progress.watch(job)
    progress.update(job)  # unchanged: no second line
    job2 = _job(JobState.RUNNING, created_at=1.0, submitted_at=1.0, started_at=2.0, task_id="t")
    progress.update(job2)
    lines = err.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("veo3_fast 3f2a9c… queued ")
    assert lines[1].startswith("veo3_fast 3f2a9c… running ")
    assert "\r" not in err.getvalue()


def test_tty_progress_redraws_one_line() -> None:
    err = io.StringIO()
    out = cli.Output(json_mode=False, stdout=io.StringIO(), stderr=err)
    progress = cli.Progress(out, tty=True)
    progress.watch(_job(JobState.DOWNLOADING, created_at=1.0, download_progress=0.5))
    assert "\r" in err.getvalue() and "[##########----------]  50%" in err.getvalue()
    out.result("a result line")  # the status line is lifted for it, then redrawn
    progress.update(_job(JobState.DONE, created_at=1.0, finished_at=2.0, file_path="/x.mp4"))
    progress.close()
    text = err.getvalue()
    assert text.endswith("\r\x1b[2K")  # the line is gone at the end
    assert "\n" not in text  # stderr holds only the redrawn line; results went to stdout


def test_fmt_duration() -> None:
    assert cli.fmt_duration(72) == "1:12"
    assert cli.fmt_duration(3725) == "1:02:05"
    assert cli.fmt_duration(None) == "-"


def test_upgrade_kinds_exist() -> None:
    assert JobKind("1080p") is JobKind.UPGRADE_1080P and JobKind("4k") is JobKind.UPGRADE_4K
