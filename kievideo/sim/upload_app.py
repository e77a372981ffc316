"""The upload origin (the File Upload API host): stream, base64 and URL uploads.

Envelope: ``{"success", "code", "msg", "data": {fileName, filePath, downloadUrl, fileSize, mimeType,
uploadedAt}}``. Files are stored under the simulator's data dir (never at a user-chosen disk path)
and served by the file origin at ``/u/<filePath>`` for ``upload_retention_days`` simulated days.

``file-url-upload`` only "downloads" URLs of the simulator's own file origin, by copying locally:
the simulator never makes an outbound network request. Any other URL fails with code 400
``"File download failed: ..."`` (the docs do not give this text; documented choice).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import mimetypes
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .clock import fmt_iso_ms
from .journal import JournalEntry
from .media import sha256_hex
from .middleware import kie_http_status
from .multipart import MultipartError, boundary_of, parse_multipart
from .runtime import Runtime
from .state import DAY, ResultFile, SimState, UploadedFile, sniff_image_size

ROUTES: dict[str, str] = {
    "/api/file-stream-upload": "upload.stream",
    "/api/file-base64-upload": "upload.base64",
    "/api/file-url-upload": "upload.url",
}
NO_PREREAD = frozenset({"upload.stream"})  # streamed to disk by the handler itself


def route_for(method: str, path: str) -> str | None:
    return ROUTES.get(path)


_SEGMENT_RE = re.compile(r"^[^/\\\x00]+$")
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
)


class _Bad(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def sniff_mime(head: bytes, name: str) -> str:
    guessed, _ = mimetypes.guess_type(name)
    if guessed:
        return guessed
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if head[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"


def clean_upload_path(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _Bad(400, "Missing required parameter: uploadPath")
    segments = [s for s in raw.strip().strip("/").split("/") if s]
    if not segments or any(s in (".", "..") or not _SEGMENT_RE.match(s) for s in segments):
        raise _Bad(400, "Invalid parameter: uploadPath")
    return "/".join(segments)


def clean_file_name(raw: Any, fallback_ext: str) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        # Left out: the server generates a random name (documented).
        return f"{uuid.uuid4().hex}{fallback_ext}"
    if not isinstance(raw, str):
        raise _Bad(400, "Invalid parameter: fileName")
    name = raw.strip().replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", "..") or "\x00" in name:
        raise _Bad(400, "Invalid parameter: fileName")
    return name


def _copy_local(
    state: SimState, src: UploadedFile | ResultFile, spool_dir: Path
) -> tuple[Path, int, str, bytes, str]:
    """Copy one of the simulator's own files into the spool dir (what a URL upload "downloads")."""
    fd, name = tempfile.mkstemp(dir=spool_dir, prefix="url-")
    os.close(fd)
    tmp = Path(name)
    if isinstance(src, UploadedFile):
        shutil.copyfile(src.disk_path, tmp)
        with src.disk_path.open("rb") as fh:
            head = fh.read(65536)
        return tmp, src.size, src.sha256, head, src.mime
    size, _etag = state.file_size_and_etag(src)
    data = state.read_range(src, 0, size)
    tmp.write_bytes(data)
    return tmp, size, sha256_hex(data), data[:65536], src.content_type


def build_upload_app(rt: Runtime) -> Starlette:
    state = rt.state
    clock = rt.clock
    store_dir = state.data_dir / "uploads"
    spool_dir = state.data_dir / "spool"
    store_dir.mkdir(parents=True, exist_ok=True)
    spool_dir.mkdir(parents=True, exist_ok=True)

    def entry_of(request: Request) -> JournalEntry | None:
        return request.scope.get("kievideo.entry")

    def fail(request: Request, code: int, msg: str) -> Response:
        entry = entry_of(request)
        if entry is not None:
            entry.code = code
        status = 405 if code == 405 else kie_http_status(rt, code)
        return JSONResponse({"success": False, "code": code, "msg": msg}, status_code=status)

    def store(
        request: Request,
        spooled: Path,
        upload_path: str,
        file_name: str,
        size: int,
        sha: str,
        head: bytes,
        mime_hint: str | None,
    ) -> Response:
        """Move the spooled bytes into the store, register them and answer the envelope."""
        now = clock.now()
        file_path = f"{upload_path}/{file_name}"
        dest = store_dir / uuid.uuid4().hex
        os.replace(spooled, dest)
        mime = (
            mime_hint
            if mime_hint and mime_hint != "application/octet-stream"
            else sniff_mime(head, file_name)
        )
        state.add_upload(
            UploadedFile(
                path=f"/u/{file_path}",
                disk_path=dest,
                size=size,
                sha256=sha,
                mime=mime,
                uploaded_at=now,
                expires_at=now + rt.config.upload_retention_days * DAY,
                image_size=sniff_image_size(head),
            )
        )
        entry = entry_of(request)
        if entry is not None:
            entry.code = 200
        return JSONResponse(
            {
                "success": True,
                "code": 200,
                "msg": "File uploaded successfully",
                "data": {
                    "fileName": file_name,
                    "filePath": file_path,
                    "downloadUrl": f"{state.files_base}/u/{quote(file_path)}",
                    "fileSize": size,
                    "mimeType": mime,
                    "uploadedAt": fmt_iso_ms(now),
                },
            }
        )

    def spool_bytes(data: bytes) -> Path:
        fd, name = tempfile.mkstemp(dir=spool_dir, prefix="b64-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return Path(name)

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Bad(400, "Invalid JSON body") from exc
        if not isinstance(data, dict):
            raise _Bad(400, "Invalid JSON body")
        return data

    async def stream_upload(request: Request) -> Response:
        if request.method != "POST":
            return fail(request, 405, "Method Not Allowed")
        try:
            boundary = boundary_of(request.headers.get("content-type", ""))
        except MultipartError as exc:
            return fail(request, 400, str(exc))
        try:
            parsed = await parse_multipart(request.stream(), boundary, spool_dir)
        except MultipartError as exc:
            return fail(request, 400, f"Invalid multipart body: {exc}")
        try:
            part = parsed.files.get("file")
            entry = entry_of(request)
            if entry is not None:
                entry.body = {
                    "fields": dict(parsed.fields),
                    "file": None
                    if part is None
                    else {
                        "filename": part.filename,
                        "content_type": part.content_type,
                        "size": part.size,
                        "sha256": part.sha256,
                    },
                }
            if part is None:
                raise _Bad(400, "Missing required parameter: file")
            upload_path = clean_upload_path(parsed.fields.get("uploadPath"))
            ext = Path(part.filename).suffix if part.filename else ""
            name = clean_file_name(parsed.fields.get("fileName") or None, ext)
            parsed.files.pop("file")
            return store(
                request, part.path, upload_path, name, part.size, part.sha256, part.head, part.content_type
            )
        except _Bad as bad:
            return fail(request, bad.code, bad.msg)
        finally:
            parsed.cleanup()

    async def base64_upload(request: Request) -> Response:
        if request.method != "POST":
            return fail(request, 405, "Method Not Allowed")
        try:
            body = await json_body(request)
            raw = body.get("base64Data")
            if not isinstance(raw, str) or not raw.strip():
                raise _Bad(400, "Missing required parameter: base64Data")
            upload_path = clean_upload_path(body.get("uploadPath"))
            mime_hint = None
            text = raw.strip()
            m = re.match(r"^data:([^;,]+)?(?:;[^,]*)?;base64,", text)
            if m:
                mime_hint = m.group(1)
                text = text[m.end() :]
            try:
                data = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise _Bad(400, "Base64 decoding failed: Invalid Base64 format") from exc
            if not data:
                raise _Bad(400, "Base64 decoding failed: Invalid Base64 format")
            sha = sha256_hex(data)
            entry = entry_of(request)
            if entry is not None and isinstance(entry.body, dict):
                entry.body["base64Data"] = {"size": len(data), "sha256": sha}
            ext = mimetypes.guess_extension(mime_hint or sniff_mime(data[:64], "")) or ""
            name = clean_file_name(body.get("fileName"), ext)
            return store(
                request, spool_bytes(data), upload_path, name, len(data), sha, data[:65536], mime_hint
            )
        except _Bad as bad:
            return fail(request, bad.code, bad.msg)

    async def url_upload(request: Request) -> Response:
        if request.method != "POST":
            return fail(request, 405, "Method Not Allowed")
        try:
            body = await json_body(request)
            file_url = body.get("fileUrl")
            if not isinstance(file_url, str) or not file_url.strip():
                raise _Bad(400, "Missing required parameter: fileUrl")
            if urlsplit(file_url).scheme not in ("http", "https"):
                raise _Bad(400, "Invalid parameter: fileUrl must be an http or https URL")
            upload_path = clean_upload_path(body.get("uploadPath"))
            now = clock.now()
            path = state.local_path(file_url)
            src = state.lookup(path, now) if path else None
            if src is None:
                # Never fetched: the simulator makes no outbound requests (see module docstring).
                raise _Bad(400, "File download failed: unable to download the file from fileUrl")
            # Copying (and for clips, encoding on first use) is blocking work: off the loop.
            copy = functools.partial(_copy_local, state, src, spool_dir)
            tmp, size, sha, data_head, mime_hint = await asyncio.get_running_loop().run_in_executor(
                None, copy
            )
            default_name = Path(urlsplit(file_url).path).name or None
            name = clean_file_name(body.get("fileName") or default_name, "")
            return store(request, tmp, upload_path, name, size, sha, data_head, mime_hint)
        except _Bad as bad:
            return fail(request, bad.code, bad.msg)

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    return Starlette(
        routes=[
            Route("/api/file-stream-upload", stream_upload, methods=methods),
            Route("/api/file-base64-upload", base64_upload, methods=methods),
            Route("/api/file-url-upload", url_upload, methods=methods),
        ]
    )
