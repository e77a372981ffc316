"""File Upload API (stream body layout, base64, URL, envelope) and the Common API (credits, download-url)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import pytest

from kievideo.api import errors
from kievideo.api.common import CommonClient
from kievideo.api.http import HttpConfig
from kievideo.api.kie import DEFAULT_API_BASE, DEFAULT_UPLOAD_BASE, KieAccount
from kievideo.api.uploads import FileUploadClient, MultipartFileBody, UploadSourceChangedError

UPLOAD_OK = json.loads("""{ "success": true, "code": 200, "msg": "File uploaded successfully",
  "data": { "fileName": "uploaded-image.png",
            "filePath": "images/user-uploads/uploaded-image.png",
            "downloadUrl": "https://tempfile.redpandaai.co/xxx/images/user-uploads/uploaded-image.png",
            "fileSize": 154832, "mimeType": "image/png",
            "uploadedAt": "2025-01-01T12:00:00.000Z" } }""")


def run(scripted: Any, cls: type, method: str, *args: Any, **kw: Any) -> Any:
    async def main() -> Any:
        async with scripted.transport(config=HttpConfig(max_retries=1)) as t:
            return await getattr(cls(t), method)(*args, **kw)

    return asyncio.run(main())


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    out: dict[str, tuple[str | None, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out[str(name)] = (part.get_filename(), part.get_payload(decode=True))
    return out


def test_stream_upload_multipart_fields_and_bytes(scripted: Any, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4000 + b"tail"  # > 1 MB, several chunks, not chunk-aligned
    path = tmp_path / "photo.png"
    path.write_bytes(data)
    scripted.add(scripted.json(UPLOAD_OK))
    progress: list[tuple[int, int]] = []
    up = run(
        scripted,
        FileUploadClient,
        "upload_stream",
        path,
        "/images/user-uploads/",
        None,
        lambda s, t: progress.append((s, t)),
    )
    req = scripted.requests[0]
    assert req.url.host == "upload.kie.example" and req.url.path == "/api/file-stream-upload"
    assert req.headers["Authorization"] == f"Bearer {scripted.KEY}"
    assert int(req.headers["Content-Length"]) == len(req.content)
    assert "transfer-encoding" not in req.headers
    assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = parse_multipart(req.headers["Content-Type"], req.content)
    assert parts["uploadPath"] == (None, b"images/user-uploads")  # slashes trimmed as documented
    assert parts["fileName"] == (None, b"photo.png")
    assert parts["file"] == ("photo.png", data)
    assert progress[0] == (0, len(data)) and progress[-1] == (len(data), len(data))
    assert all(b[0] >= a[0] for a, b in itertools.pairwise(progress))
    assert len(progress) >= 4
    assert up.download_url == "https://tempfile.redpandaai.co/xxx/images/user-uploads/uploaded-image.png"
    assert (up.file_name, up.file_path, up.file_size, up.mime_type) == (
        "uploaded-image.png",
        "images/user-uploads/uploaded-image.png",
        154832,
        "image/png",
    )
    assert up.uploaded_at == datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def test_stream_upload_custom_name_and_quotes(scripted: Any, tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(b"\xff\xd8jpeg")
    scripted.add(scripted.json(UPLOAD_OK))
    run(scripted, FileUploadClient, "upload_stream", path, file_name='we"ird.jpg')
    req = scripted.requests[0]
    parts = parse_multipart(req.headers["Content-Type"], req.content)
    assert parts["fileName"] == (None, b'we"ird.jpg')
    assert parts["file"] == ("we_ird.jpg", b"\xff\xd8jpeg")
    assert parts["uploadPath"] == (None, b"kievideo/images")
    assert b"Content-Type: image/jpeg" in req.content


def test_stream_upload_retried_with_fresh_body(scripted: Any, tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"x" * 1000)
    scripted.add(
        scripted.json({"success": False, "code": 500, "msg": "Internal server error"}),
        scripted.json(UPLOAD_OK),
    )
    run(scripted, FileUploadClient, "upload_stream", path)
    assert len(scripted.requests) == 2
    assert scripted.requests[0].content == scripted.requests[1].content
    assert len(scripted.requests[1].content) == int(scripted.requests[1].headers["Content-Length"])


def test_multipart_body_detects_file_change(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"x" * 100)
    body = MultipartFileBody(path, {"uploadPath": "p"}, chunk_size=10)

    async def drain() -> None:
        async for i, _ in _aenumerate(body.stream()):
            if i == 2:
                path.write_bytes(b"x" * 20)  # truncated mid-upload

    with pytest.raises(UploadSourceChangedError):
        asyncio.run(drain())


async def _aenumerate(it: Any) -> Any:
    i = 0
    async for item in it:
        yield i, item
        i += 1


def test_upload_missing_file_refused(scripted: Any, tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidRequestError):
        run(scripted, FileUploadClient, "upload_stream", tmp_path / "nope.png")
    with pytest.raises(errors.InvalidRequestError):
        run(scripted, FileUploadClient, "upload_stream", tmp_path, "x")
    assert scripted.requests == []


def test_base64_upload(scripted: Any) -> None:
    scripted.add(scripted.json(UPLOAD_OK))
    run(scripted, FileUploadClient, "upload_base64", b"\x89PNG", "image/png", "images/user-uploads", "x.png")
    req = scripted.requests[0]
    assert req.url.host == "upload.kie.example" and req.url.path == "/api/file-base64-upload"
    assert scripted.body() == {
        "base64Data": "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode(),
        "uploadPath": "images/user-uploads",
        "fileName": "x.png",
    }


def test_url_upload(scripted: Any) -> None:
    scripted.add(scripted.json(UPLOAD_OK))
    run(scripted, FileUploadClient, "upload_url", "https://example.com/a.png")
    assert scripted.requests[0].url.path == "/api/file-url-upload"
    assert scripted.body() == {"fileUrl": "https://example.com/a.png", "uploadPath": "kievideo/images"}
    with pytest.raises(errors.InvalidRequestError):
        run(scripted, FileUploadClient, "upload_url", "file:///etc/passwd")


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        (
            {"success": False, "code": 400, "msg": "Missing required parameter: uploadPath"},
            errors.BadRequestError,
        ),
        (
            {"success": False, "code": 400, "msg": "Base64 decoding failed: Invalid Base64 format"},
            errors.BadRequestError,
        ),
        ({"success": False, "code": 401, "msg": "Authentication failed: Invalid API Key"}, errors.AuthError),
        (
            {"success": True, "code": 200, "msg": "ok", "data": {"fileName": "x"}},
            errors.MalformedResponseError,
        ),
    ],
)
def test_upload_errors(scripted: Any, body: dict, cls: type) -> None:
    scripted.add(scripted.json(body), scripted.json(body))
    with pytest.raises(cls) as info:
        run(scripted, FileUploadClient, "upload_base64", b"x", "image/png")
    if "msg" in body and cls is not errors.MalformedResponseError:
        assert info.value.provider_message == body["msg"]


def test_upload_cn_variant_shape(scripted: Any) -> None:
    scripted.add(
        scripted.json(
            {
                "success": True,
                "code": 200,
                "msg": "ok",
                "data": {
                    "fileId": "f1",
                    "originalName": "cat.png",
                    "uploadPath": "images",
                    "fileUrl": "https://t/cat.png",
                    "downloadUrl": "https://t/dl/cat.png",
                    "fileSize": "12",
                    "mimeType": "image/png",
                },
            }
        )
    )
    up = run(scripted, FileUploadClient, "upload_url", "https://e/cat.png")
    assert (up.download_url, up.file_name, up.file_path, up.file_size) == (
        "https://t/dl/cat.png",
        "cat.png",
        "images",
        12,
    )


def test_upload_needs_upload_origin(scripted: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with scripted.transport(upload=False) as t:
            await FileUploadClient(t).upload_url("https://e/x.png")

    with pytest.raises(ValueError):
        asyncio.run(main())


# -- common ------------------------------------------------------------------------------------


def test_credits(scripted: Any) -> None:
    scripted.add(scripted.json({"code": 200, "msg": "success", "data": 100}))
    assert run(scripted, CommonClient, "credits") == 100
    req = scripted.requests[0]
    assert req.method == "GET" and req.url.path == "/api/v1/chat/credit"


@pytest.mark.parametrize("data", [None, "lots", True, {"credits": 5}])
def test_credits_malformed(scripted: Any, data: Any) -> None:
    scripted.add(*[scripted.json({"code": 200, "msg": "success", "data": data})] * 2)
    with pytest.raises(errors.MalformedResponseError):
        run(scripted, CommonClient, "credits")
    assert len(scripted.requests) == 2  # retried once (max_retries=1)


def test_credits_errors(scripted: Any) -> None:
    scripted.add(scripted.json({"code": 401, "msg": "You do not have access permissions"}))
    with pytest.raises(errors.AuthError):
        run(scripted, CommonClient, "credits")


def test_download_url(scripted: Any) -> None:
    link = "https://tempfile.1f6cxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxbd98"
    scripted.add(scripted.json({"code": 200, "msg": "success", "data": link}))
    assert run(scripted, CommonClient, "download_url", "https://tempfile.aiquickdraw.com/v/a.mp4") == link
    req = scripted.requests[0]
    assert req.method == "POST" and req.url.path == "/api/v1/common/download-url"
    assert scripted.body() == {"url": "https://tempfile.aiquickdraw.com/v/a.mp4"}


def test_download_url_is_retried(scripted: Any) -> None:
    scripted.add(
        scripted.json({"code": 500, "msg": "x"}),
        scripted.json({"code": 200, "msg": "ok", "data": "https://l"}),
    )
    assert run(scripted, CommonClient, "download_url", "https://f/a.mp4") == "https://l"


@pytest.mark.parametrize("msg", ["", "The url is an external url", "unsupported"])
def test_download_url_external_422(scripted: Any, msg: str) -> None:
    scripted.add(scripted.json({"code": 422, "msg": msg}))
    with pytest.raises(errors.ValidationError) as info:
        run(scripted, CommonClient, "download_url", "https://example.com/a.mp4")
    assert info.value.kind is errors.ValidationKind.EXTERNAL_URL
    assert "generated" in info.value.user_message


def test_download_url_other_422_keeps_its_kind(scripted: Any) -> None:
    scripted.add(scripted.json({"code": 422, "msg": "Temporarily supports records within 14 days."}))
    with pytest.raises(errors.RecordExpiredError):
        run(scripted, CommonClient, "download_url", "https://f/a.mp4")


@pytest.mark.parametrize("data", [None, 5, "not a url"])
def test_download_url_malformed(scripted: Any, data: Any) -> None:
    scripted.add(*[scripted.json({"code": 200, "msg": "ok", "data": data})] * 2)
    with pytest.raises(errors.MalformedResponseError):
        run(scripted, CommonClient, "download_url", "https://f/a.mp4")


# -- account bundle ----------------------------------------------------------------------------


def test_kie_account_bundle(scripted: Any) -> None:
    async def main() -> None:
        async with KieAccount(DEFAULT_API_BASE, DEFAULT_UPLOAD_BASE, scripted.KEY) as acct:
            assert acct.veo._t is acct.runway._t is acct.aleph._t is acct.files._t is acct.common._t
            assert acct.transport.limiter is not None
            assert str(acct.transport.api_origin) == "https://api.kie.ai:443"
            assert str(acct.transport.upload_origin) == "https://kieai.redpandaai.co:443"
            assert scripted.KEY not in repr(acct)

    asyncio.run(main())
