"""``kievideo-sim`` / ``python -m kievideo.sim``: the JSON line, serving, options, clean exit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest


def start(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kievideo.sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    try:
        urls = json.loads(line)
    except ValueError:
        proc.kill()
        raise AssertionError(f"no JSON line: {line!r} {proc.stderr.read() if proc.stderr else ''}") from None
    return proc, urls


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_urls_serves_and_exits_cleanly(sig: signal.Signals) -> None:
    proc, urls = start("--speed", "60", "--seed", "3")
    try:
        assert set(urls) == {"api", "upload", "files"}
        assert all(u.startswith("http://127.0.0.1:") for u in urls.values())
        headers = {"Authorization": "Bearer kievideo-demo-key"}
        r = httpx.post(urls["api"] + "/api/v1/veo/generate", headers=headers, json={"prompt": "a cat"})
        tid = r.json()["data"]["taskId"]
        r = httpx.get(urls["api"] + "/api/v1/veo/record-info", headers=headers, params={"taskId": tid})
        assert r.json()["data"]["successFlag"] == 0
        httpx.post(urls["api"] + "/_sim/advance", json={"seconds": 900})
        d = httpx.get(urls["api"] + "/api/v1/veo/record-info", headers=headers, params={"taskId": tid}).json()
        video = d["data"]["response"]["resultUrls"][0]
        assert video.startswith(urls["files"])
        part = httpx.get(video, headers={"Range": "bytes=0-1023"})
        assert part.status_code == 206 and len(part.content) == 1024 and part.content[4:8] == b"ftyp"
    finally:
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0


def test_cli_options(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(
        json.dumps([{"endpoint": "veo.record_info", "kind": "http503", "count": 1, "retry_after": 2}])
    )
    proc, urls = start(
        "--speed",
        "0",
        "--key",
        "k1",
        "--key",
        "k2",
        "--credits",
        "70",
        "--faults",
        str(faults),
        "--fail-words",
        "BOOM,FAILGEN",
        "--api-port",
        "0",
    )
    try:
        h = {"Authorization": "Bearer k2"}
        assert httpx.get(urls["api"] + "/api/v1/chat/credit", headers=h).json()["data"] == 70
        assert (
            httpx.get(
                urls["api"] + "/api/v1/chat/credit", headers={"Authorization": "Bearer kievideo-demo-key"}
            ).json()["code"]
            == 401
        )
        tid = httpx.post(urls["api"] + "/api/v1/veo/generate", headers=h, json={"prompt": "BOOM"}).json()[
            "data"
        ]["taskId"]
        r = httpx.get(urls["api"] + "/api/v1/veo/record-info", headers=h, params={"taskId": tid})
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        httpx.post(urls["api"] + "/_sim/advance", json={"seconds": 3600})
        d = httpx.get(urls["api"] + "/api/v1/veo/record-info", headers=h, params={"taskId": tid}).json()[
            "data"
        ]
        assert d["errorCode"] == 400 and d["successFlag"] in (2, 3)
        assert (
            httpx.post(urls["api"] + "/api/v1/veo/generate", headers=h, json={"prompt": "x"}).json()["code"]
            == 402
        )
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_cli_bad_faults_file_fails_fast(tmp_path: Path) -> None:
    bad = tmp_path / "f.json"
    bad.write_text('[{"endpoint": "x", "kind": "nope"}]')
    r = subprocess.run(
        [sys.executable, "-m", "kievideo.sim", "--faults", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2 and "unknown fault kind" in r.stderr and r.stdout == ""


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "kievideo-sim"
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "--fail-words" in r.stdout
