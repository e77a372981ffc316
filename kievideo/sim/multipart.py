"""A small streaming ``multipart/form-data`` parser that spools file parts straight to disk.

Why not ``request.form()``: Starlette needs the optional ``python-multipart`` package for it, and
the simulator must accept uploads of any size without holding them in memory. This parser keeps
at most one network chunk plus a boundary's worth of bytes in memory, hashes file parts as they
stream, and keeps the first 64 KiB (to sniff image sizes).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

MAX_FIELD_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
HEAD_BYTES = 64 * 1024

_PARAM_RE = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


class MultipartError(ValueError):
    """The body is not valid multipart/form-data."""


@dataclass
class SpooledPart:
    """A file part written to ``path``."""

    name: str
    filename: str
    content_type: str
    path: Path
    size: int = 0
    sha256: str = ""
    head: bytes = b""


@dataclass
class MultipartResult:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, SpooledPart] = field(default_factory=dict)

    def cleanup(self) -> None:
        for part in self.files.values():
            part.path.unlink(missing_ok=True)


def boundary_of(content_type: str) -> bytes:
    ctype, _, rest = content_type.partition(";")
    if ctype.strip().lower() != "multipart/form-data":
        raise MultipartError("Content-Type must be multipart/form-data")
    params = _params(";" + rest)
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise MultipartError("missing multipart boundary")
    return boundary.encode("latin-1")


def _params(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, raw in _PARAM_RE.findall(text):
        val = raw.strip()
        if val.startswith('"') and val.endswith('"') and len(val) >= 2:
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        out[key.lower()] = val
    return out


async def parse_multipart(stream: AsyncIterator[bytes], boundary: bytes, spool_dir: Path) -> MultipartResult:
    """Parse the body; file parts go to temp files under ``spool_dir`` (caller moves/cleans them)."""
    result = MultipartResult()
    first = b"--" + boundary
    delim = b"\r\n--" + boundary
    buf = bytearray()
    state = "preamble"
    headers: dict[str, str] = {}
    sink: IO[bytes] | None = None
    hasher = hashlib.sha256()
    part: SpooledPart | None = None
    field_buf = bytearray()

    def finish_part() -> None:
        nonlocal sink, part
        if part is not None and sink is not None:
            sink.close()
            part.sha256 = hasher.hexdigest()
            result.files.setdefault(part.name, part)
        else:
            disp = _params(";" + headers.get("content-disposition", "").partition(";")[2])
            name = disp.get("name", "")
            result.fields.setdefault(name, field_buf.decode("utf-8", errors="replace"))
        sink, part = None, None

    def write(data: bytes | bytearray) -> None:
        if not data:
            return
        if part is not None and sink is not None:
            sink.write(data)
            hasher.update(data)
            if len(part.head) < HEAD_BYTES:
                part.head += bytes(data[: HEAD_BYTES - len(part.head)])
            part.size += len(data)
        else:
            field_buf.extend(data)
            if len(field_buf) > MAX_FIELD_BYTES:
                raise MultipartError("form field too large")

    try:
        async for chunk in stream:
            buf += chunk
            while True:
                if state == "preamble":
                    i = buf.find(first)
                    if i < 0:
                        del buf[: max(0, len(buf) - len(first))]
                        break
                    del buf[: i + len(first)]
                    state = "after_delim"
                if state == "after_delim":
                    if len(buf) < 2:
                        break
                    if buf[:2] == b"--":
                        state = "done"
                        break
                    if buf[:2] != b"\r\n":
                        # Transport padding (spaces/tabs) is allowed before the CRLF.
                        j = buf.find(b"\r\n")
                        if j < 0 or buf[:j].strip(b" \t"):
                            raise MultipartError("malformed multipart delimiter")
                        del buf[:j]
                    del buf[:2]
                    state = "headers"
                if state == "headers":
                    i = buf.find(b"\r\n\r\n")
                    if i < 0:
                        if len(buf) > MAX_HEADER_BYTES:
                            raise MultipartError("multipart part headers too large")
                        break
                    headers = {}
                    for line in bytes(buf[:i]).decode("utf-8", errors="replace").split("\r\n"):
                        k, sep, v = line.partition(":")
                        if sep:
                            headers[k.strip().lower()] = v.strip()
                    del buf[: i + 4]
                    disp = _params(";" + headers.get("content-disposition", "").partition(";")[2])
                    field_buf.clear()
                    if "filename" in disp or "filename*" in disp:
                        fd = tempfile.NamedTemporaryFile(dir=spool_dir, prefix="part-", delete=False)  # noqa: SIM115
                        sink = fd
                        hasher = hashlib.sha256()
                        part = SpooledPart(
                            name=disp.get("name", ""),
                            filename=disp.get("filename", ""),
                            content_type=headers.get("content-type", "application/octet-stream"),
                            path=Path(fd.name),
                        )
                    state = "body"
                if state == "body":
                    i = buf.find(delim)
                    if i < 0:
                        keep = len(delim) - 1
                        if len(buf) > keep:
                            write(buf[:-keep])
                            del buf[:-keep]
                        break
                    write(buf[:i])
                    del buf[: i + len(delim)]
                    finish_part()
                    state = "after_delim"
                if state == "done":
                    buf.clear()  # epilogue: drain and ignore (keeps the connection reusable)
                    break
        if state != "done":
            raise MultipartError("multipart body ended early")
    except BaseException:
        if sink is not None:
            sink.close()
        if part is not None:
            part.path.unlink(missing_ok=True)
        result.cleanup()
        raise
    return result
