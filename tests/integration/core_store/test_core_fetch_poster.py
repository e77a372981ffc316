"""fetch_poster over a real socket: only real images, bounded, written atomically."""

from __future__ import annotations

import asyncio
import fractions
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

import av
import httpx
import pytest

from kievideo.core.thumbnails import ThumbnailError, fetch_poster, sniff_image_type

if TYPE_CHECKING:
    from conftest import FileServer

_SSL = ssl.create_default_context()


def real_jpeg() -> bytes:
    frame = av.VideoFrame(64, 36, "rgb24")
    frame.planes[0].update(bytes((10, 200, 30)) * (64 * 36))
    cc = av.CodecContext.create("mjpeg", "w")
    cc.width, cc.height, cc.pix_fmt = 64, 36, "yuvj420p"
    cc.time_base = fractions.Fraction(1, 25)
    return b"".join(bytes(p) for p in [*cc.encode(frame.reformat(format="yuvj420p")), *cc.encode(None)])


def fetch(url: str, out: Path, **kw: int) -> Path:
    async def main() -> Path:
        async with httpx.AsyncClient(timeout=10, verify=_SSL) as client:
            return await fetch_poster(url, client, out, **kw)

    return asyncio.run(main())


def test_fetches_a_real_image(file_server: FileServer, tmp_path: Path) -> None:
    data = real_jpeg()
    url = file_server.add("/poster.jpg", data)
    out = fetch(url, tmp_path / "thumbs" / "p.jpg")
    assert out.read_bytes() == data and sniff_image_type(data) == "image/jpeg"


def test_refuses_non_images_errors_and_oversize(file_server: FileServer, tmp_path: Path) -> None:
    out = tmp_path / "p.jpg"
    html = file_server.add("/page", b"<html>login required</html>")
    with pytest.raises(ThumbnailError, match="JPEG, PNG or WebP"):
        fetch(html, out)
    with pytest.raises(ThumbnailError, match="404"):
        fetch(file_server.url("/missing.jpg"), out)
    big = file_server.add("/big.jpg", real_jpeg() + b"\0" * 5000)
    with pytest.raises(ThumbnailError, match="too large"):
        fetch(big, out, max_bytes=1000)
    assert not out.exists() and list(tmp_path.glob("*.tmp")) == []
