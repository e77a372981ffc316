"""The upload origin: stream, base64 and URL uploads, and the streaming multipart parser."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from kievideo.sim import SimServer
from kievideo.sim.media import make_png
from kievideo.sim.multipart import MultipartError, parse_multipart

from .conftest import finish, upload_png, veo_create, veo_info

pytestmark = pytest.mark.sim(speed=0)


def test_stream_upload_envelope_and_download(sim: SimServer, up: httpx.Client) -> None:
    data = upload_png(up, name="cat.png")
    assert set(data) == {"fileName", "filePath", "downloadUrl", "fileSize", "mimeType", "uploadedAt"}
    assert data["fileName"] == "cat.png" and data["filePath"] == "images/test/cat.png"
    assert data["mimeType"] == "image/png" and data["uploadedAt"].endswith("Z")
    assert data["downloadUrl"].startswith(sim.files_url + "/")
    png = httpx.get(data["downloadUrl"])
    assert png.status_code == 200 and len(png.content) == data["fileSize"]
    assert png.headers["content-type"] == "image/png"


def test_large_stream_upload_round_trips(sim: SimServer, up: httpx.Client) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    r = up.post(
        "/api/file-stream-upload",
        files={"file": ("clip.mp4", payload, "video/mp4")},
        data={"uploadPath": "/videos/in/", "fileName": "clip.mp4"},
    )
    body = r.json()
    assert body["success"] is True and body["code"] == 200, body
    assert body["data"]["filePath"] == "videos/in/clip.mp4" and body["data"]["fileSize"] == len(payload)
    got = httpx.get(body["data"]["downloadUrl"]).content
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()
    entry = next(e for e in sim.journal if e.route == "upload.stream")
    assert entry.body["file"] == {
        "filename": "clip.mp4",
        "content_type": "video/mp4",
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    assert payload[:64].hex() not in repr(sim.journal)  # never the content itself


def test_chunked_streamed_upload(sim: SimServer, up: httpx.Client) -> None:
    """A client streaming from disk sends chunked multipart; 8 MiB in 64 KiB pieces."""
    block = os.urandom(64 * 1024)

    def body() -> Iterator[bytes]:
        yield b'--BOUND\r\nContent-Disposition: form-data; name="uploadPath"\r\n\r\nbig\r\n'
        yield b'--BOUND\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
        for _ in range(128):
            yield block
        yield b"\r\n--BOUND--\r\n"

    r = up.post(
        "/api/file-stream-upload",
        content=body(),
        headers={"Content-Type": "multipart/form-data; boundary=BOUND"},
    ).json()
    assert r["success"] and r["data"]["fileSize"] == 128 * len(block)
    assert r["data"]["mimeType"] == "application/octet-stream"
    got = httpx.get(r["data"]["downloadUrl"]).content
    assert got == block * 128


def test_random_name_when_file_name_left_out(up: httpx.Client) -> None:
    r = up.post(
        "/api/file-stream-upload",
        files={"file": ("x.png", b"\x89PNG\r\n\x1a\nabc", "image/png")},
        data={"uploadPath": "a"},
    ).json()
    assert r["success"] and r["data"]["fileName"].endswith(".png") and r["data"]["fileName"] != "x.png"


def test_stream_upload_errors(up: httpx.Client) -> None:
    r = up.post("/api/file-stream-upload", files={"file": ("a.png", b"abc", "image/png")})
    assert r.json() == {"success": False, "code": 400, "msg": "Missing required parameter: uploadPath"}
    r = up.post("/api/file-stream-upload", data={"uploadPath": "a"}, files={"other": ("a", b"x")})
    assert r.json()["code"] == 400 and "file" in r.json()["msg"]
    r = up.post("/api/file-stream-upload", json={"uploadPath": "a"})
    assert r.json()["success"] is False and r.json()["code"] == 400
    r = up.post("/api/file-stream-upload", files={"file": ("a.png", b"abc")}, data={"uploadPath": "../etc"})
    assert r.json()["code"] == 400
    r = up.get("/api/file-stream-upload")
    assert r.status_code == 405 and r.json()["code"] == 405


def test_base64_upload_plain_and_data_url(sim: SimServer, up: httpx.Client) -> None:
    png = make_png(8, 8, (1, 2, 3), (4, 5, 6))
    plain = up.post(
        "/api/file-base64-upload",
        json={"base64Data": base64.b64encode(png).decode(), "uploadPath": "b64", "fileName": "p.png"},
    ).json()
    assert (
        plain["success"]
        and plain["data"]["mimeType"] == "image/png"
        and plain["data"]["fileSize"] == len(png)
    )
    durl = "data:image/png;base64," + base64.b64encode(png).decode()
    r = up.post("/api/file-base64-upload", json={"base64Data": durl, "uploadPath": "b64"}).json()
    assert r["success"] and r["data"]["fileName"].endswith(".png")
    assert httpx.get(r["data"]["downloadUrl"]).content == png
    bad = up.post("/api/file-base64-upload", json={"base64Data": "not base64!!", "uploadPath": "b64"}).json()
    assert bad == {"success": False, "code": 400, "msg": "Base64 decoding failed: Invalid Base64 format"}
    assert up.post("/api/file-base64-upload", json={"base64Data": "aGk="}).json()["code"] == 400
    recorded = next(e.body for e in sim.journal if e.route == "upload.base64")
    assert recorded["base64Data"] == {"size": len(png), "sha256": hashlib.sha256(png).hexdigest()}


def test_url_upload_only_copies_sim_files_and_never_goes_out(
    sim: SimServer, api: httpx.Client, up: httpx.Client
) -> None:
    tid = veo_create(api)
    finish(sim, tid)
    video = veo_info(api, tid)["data"]["response"]["resultUrls"][0]
    r = up.post("/api/file-url-upload", json={"fileUrl": video, "uploadPath": "copies"}).json()
    assert r["success"] and r["data"]["fileName"] == "video.mp4" and r["data"]["mimeType"] == "video/mp4"
    assert httpx.get(r["data"]["downloadUrl"]).content == sim.file_bytes(video)

    # A listener the simulator could reach if it ever made outbound requests: it must stay silent.
    with socket.socket() as trap:
        trap.bind(("127.0.0.1", 0))
        trap.listen(1)
        trap.settimeout(0.2)
        port = trap.getsockname()[1]
        r = up.post(
            "/api/file-url-upload", json={"fileUrl": f"http://127.0.0.1:{port}/a.png", "uploadPath": "x"}
        ).json()
        assert r["success"] is False and r["code"] == 400
        with pytest.raises(TimeoutError):
            trap.accept()
    r = up.post("/api/file-url-upload", json={"fileUrl": "ftp://example.com/a", "uploadPath": "x"}).json()
    assert r["code"] == 400


def test_uploads_expire_after_three_simulated_days(sim: SimServer, up: httpx.Client) -> None:
    url = upload_png(up)["downloadUrl"]
    sim.advance(3 * 86400 - 60)
    assert httpx.get(url).status_code == 200
    sim.advance(120)
    assert httpx.get(url).status_code == 404


def test_same_name_overwrites(up: httpx.Client) -> None:
    a = up.post(
        "/api/file-base64-upload",
        json={"base64Data": base64.b64encode(b"one").decode(), "uploadPath": "o", "fileName": "f.txt"},
    ).json()["data"]
    b = up.post(
        "/api/file-base64-upload",
        json={"base64Data": base64.b64encode(b"two!").decode(), "uploadPath": "o", "fileName": "f.txt"},
    ).json()["data"]
    assert a["downloadUrl"] == b["downloadUrl"]
    assert httpx.get(b["downloadUrl"]).content == b"two!"


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 100_000])
def test_multipart_parser_handles_any_chunking(tmp_path: Path, chunk: int) -> None:
    boundary = b"xYzZY"
    content = b"\r\n--xYzZ not the boundary\r\n" + bytes(range(256)) * 3
    body = (
        b"preamble\r\n--xYzZY\r\n"
        b'Content-Disposition: form-data; name="uploadPath"\r\n\r\nimages/a\r\n'
        b"--xYzZY\r\n"
        b'Content-Disposition: form-data; name="file"; filename="we\\"ird.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--xYzZY--\r\nepilogue"
    )
    result = asyncio.run(parse_multipart(_chunks(body, chunk), boundary, tmp_path))
    assert result.fields == {"uploadPath": "images/a"}
    part = result.files["file"]
    assert part.filename == 'we"ird.bin' and part.size == len(content)
    assert part.path.read_bytes() == content and part.sha256 == hashlib.sha256(content).hexdigest()


def test_multipart_parser_rejects_truncated_bodies(tmp_path: Path) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc'
    with pytest.raises(MultipartError):
        asyncio.run(parse_multipart(_chunks(body, 4), b"b", tmp_path))
    assert list(tmp_path.iterdir()) == []  # the partial spool file is removed
