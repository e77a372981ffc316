"""kie.ai File Upload API (its own origin, ``https://kieai.redpandaai.co``): stream, base64, URL.

Uploading is free, so these calls may be retried; each attempt builds its body afresh. The
stream upload never holds the file in memory: the multipart body is an async generator that
yields the part headers, the file in 256 KiB chunks (reporting progress as each chunk goes out),
and the closing boundary, under an exact ``Content-Length`` computed up front.
"""

from __future__ import annotations

import asyncio
import base64
import mimetypes
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from kievideo.api.errors import InvalidRequestError
from kievideo.api.http import ApiTransport, Envelope
from kievideo.api.models import UploadedFile
from kievideo.api.parsing import as_int, first_str, parse_time, require_dict, require_str

STREAM_PATH = "/api/file-stream-upload"
BASE64_PATH = "/api/file-base64-upload"
URL_PATH = "/api/file-url-upload"
DEFAULT_UPLOAD_PATH = "kievideo/images"
CHUNK_SIZE = 256 * 1024

ProgressCallback = Callable[[int, int], None]  # (bytes_sent, total), file bytes only


class UploadSourceChangedError(OSError):
    """The file changed size while it was being sent (the Content-Length would be a lie)."""


def _clean_upload_path(upload_path: str) -> str:
    # The docs: "no leading or trailing slash".
    cleaned = upload_path.strip().strip("/")
    if not cleaned:
        raise InvalidRequestError("The upload folder (uploadPath) must not be empty.", field="upload_path")
    return cleaned


def _quote_header_value(value: str) -> str:
    """A safe quoted-string for Content-Disposition: no quotes, backslashes or line breaks."""
    return "".join("_" if ch in '"\\\r\n' else ch for ch in value)


class MultipartFileBody:
    """A ``multipart/form-data`` body for one file plus text fields, streamed from disk."""

    def __init__(
        self,
        path: Path,
        fields: Mapping[str, str],
        *,
        file_field: str = "file",
        file_name: str | None = None,
        content_type: str | None = None,
        progress: ProgressCallback | None = None,
        chunk_size: int = CHUNK_SIZE,
        boundary: str | None = None,
    ) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.boundary = boundary or f"kievideo-{secrets.token_hex(16)}"
        self.chunk_size = chunk_size
        self.progress = progress
        name = _quote_header_value(file_name or path.name)
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        parts: list[bytes] = []
        for key, value in fields.items():
            parts.append(
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
                + value.encode("utf-8")
                + b"\r\n"
            )
        parts.append(
            (
                f"--{self.boundary}\r\n"
                f'Content-Disposition: form-data; name="{file_field}"; filename="{name}"\r\n'
                f"Content-Type: {ctype}\r\n\r\n"
            ).encode()
        )
        self.preamble = b"".join(parts)
        self.epilogue = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_length(self) -> int:
        return len(self.preamble) + self.size + len(self.epilogue)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(self.content_length),
        }

    async def stream(self) -> AsyncIterator[bytes]:
        """Yield the body; ``progress`` is called after each file chunk has been taken for sending."""
        yield self.preamble
        sent = 0
        if self.progress is not None:
            self.progress(0, self.size)
        # Blocking reads go to a thread so a slow disk does not stall the event loop.
        # Unbuffered: each read is one syscall of at most chunk_size, no read-ahead copy.
        handle = await asyncio.to_thread(open, self.path, "rb", buffering=0)
        try:
            while sent < self.size:
                chunk = await asyncio.to_thread(handle.read, min(self.chunk_size, self.size - sent))
                if not chunk:
                    raise UploadSourceChangedError(f"{self.path.name} got shorter while uploading")
                sent += len(chunk)
                yield chunk
                if self.progress is not None:
                    self.progress(sent, self.size)
            if await asyncio.to_thread(handle.read, 1):
                raise UploadSourceChangedError(f"{self.path.name} got longer while uploading")
        finally:
            await asyncio.to_thread(handle.close)
        yield self.epilogue


def parse_uploaded(envelope: Envelope) -> UploadedFile:
    """``data`` of an upload answer. ``downloadUrl`` is required; the rest is read leniently
    (a CN doc variant names them ``fileUrl``, ``originalName``, ``uploadPath``)."""
    data = require_dict(envelope.data, "upload data")
    url = require_str(data, "downloadUrl", "fileUrl", what="downloadUrl")
    return UploadedFile(
        file_name=first_str(data, "fileName", "originalName") or url.rsplit("/", 1)[-1],
        file_path=first_str(data, "filePath", "uploadPath") or "",
        download_url=url,
        file_size=as_int(data.get("fileSize")) or 0,
        mime_type=first_str(data, "mimeType") or "application/octet-stream",
        uploaded_at=parse_time(data.get("uploadedAt")),
    )


class FileUploadClient:
    """Upload local files or remote URLs; ``UploadedFile.download_url`` goes into image/video fields."""

    def __init__(self, transport: ApiTransport) -> None:
        self._t = transport

    async def upload_stream(
        self,
        path: Path,
        upload_path: str = DEFAULT_UPLOAD_PATH,
        file_name: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> UploadedFile:
        """Stream ``path`` as multipart/form-data (``file``, ``uploadPath``, ``fileName``).

        Never reads the whole file; on a retry the progress starts again from 0.
        """
        path = Path(path)
        if not path.is_file():
            raise InvalidRequestError(f"Not a file: {path.name}", field="path")
        fields = {"uploadPath": _clean_upload_path(upload_path), "fileName": file_name or path.name}
        body = MultipartFileBody(path, fields, file_name=file_name or path.name, progress=progress)
        return await self._t.call(
            "POST",
            STREAM_PATH,
            content=body.stream,
            headers=body.headers,
            origin="upload",
            parse=parse_uploaded,
        )

    async def upload_base64(
        self,
        data: bytes,
        mime: str,
        upload_path: str = DEFAULT_UPLOAD_PATH,
        file_name: str | None = None,
    ) -> UploadedFile:
        """Upload small files (images) as a base64 data URL; use upload_stream above ~10 MB."""
        payload: dict[str, Any] = {
            "base64Data": f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}",
            "uploadPath": _clean_upload_path(upload_path),
        }
        if file_name:
            payload["fileName"] = file_name
        return await self._t.call(
            "POST", BASE64_PATH, json_body=payload, origin="upload", parse=parse_uploaded
        )

    async def upload_url(
        self, url: str, upload_path: str = DEFAULT_UPLOAD_PATH, file_name: str | None = None
    ) -> UploadedFile:
        """Have the upload host fetch a public URL (30 s timeout on its side, ~100 MB max)."""
        if not url.lower().startswith(("http://", "https://")):
            raise InvalidRequestError("The file URL must start with http:// or https://.", field="url")
        payload: dict[str, Any] = {"fileUrl": url, "uploadPath": _clean_upload_path(upload_path)}
        if file_name:
            payload["fileName"] = file_name
        return await self._t.call("POST", URL_PATH, json_body=payload, origin="upload", parse=parse_uploaded)
