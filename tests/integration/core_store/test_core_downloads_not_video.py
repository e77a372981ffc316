"""Downloader: a 200/206 that is not the video (empty, a JSON or HTML page, other bytes) is
retried, never spliced onto a kept partial file, never moved to ``dest``; when the host keeps
sending it, NotAVideoError asks the caller for a fresh URL."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from kievideo.core.downloads import (
    Downloader,
    DownloadError,
    DownloadResult,
    NotAVideoError,
    looks_like_video,
    sidecar_path,
)
from kievideo.core.naming import part_path

if TYPE_CHECKING:
    from conftest import FileServer

CHUNK = 256 * 1024
_SSL = ssl.create_default_context()
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
JSON_ERROR = json.dumps({"code": 404, "msg": "file not found"}).encode()


class Sleeps:
    def __init__(self, hooks: list[Any] | None = None) -> None:
        self.delays: list[float] = []
        self.hooks = list(hooks or [])

    async def __call__(self, s: float) -> None:
        self.delays.append(s)
        if self.hooks:
            self.hooks.pop(0)()
        await asyncio.sleep(0)


def run(url: str, dest: Path, *, sleep: Sleeps | None = None, **kw: Any) -> DownloadResult:
    async def main() -> DownloadResult:
        async with httpx.AsyncClient(timeout=10, verify=_SSL) as client:
            d = Downloader(
                client, chunk_size=CHUNK, sleep=sleep or Sleeps(), max_retries=kw.pop("max_retries", 3)
            )
            return await d.download(url, dest, **kw)

    return asyncio.run(main())


@pytest.fixture
def video() -> bytes:
    return MP4_HEAD + os.urandom(2 * 1024 * 1024 + 321)


def serve(fs: FileServer, path: str, data: bytes, ctype: str) -> str:
    url = fs.add(path, data)
    fs.resources[path].content_type = ctype
    return url


@pytest.mark.parametrize(
    "head",
    [
        MP4_HEAD,
        b"\x00\x00\x00\x08free\x00\x00\x00\x10ftyp",
        b"\x00\x00\x10\x00moov",
        b"\x00\x00\x10\x00mdat",
        b"\x00\x00\x00\x08wide\x00\x00",
        b"\x00\x00\x00\x08skip",
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81",  # WebM / Matroska
    ],
)
def test_video_signatures(head: bytes) -> None:
    assert looks_like_video(head)


@pytest.mark.parametrize(
    "head", [b"", b"{}", JSON_ERROR, b"<html><body>502</body></html>", b"\x89PNG\r\n\x1a\n\x00\x00", b"ftyp"]
)
def test_not_video_signatures(head: bytes) -> None:
    assert not looks_like_video(head)


def test_a_real_video_downloads(file_server: FileServer, video: bytes, tmp_path: Path) -> None:
    url = serve(file_server, "/v.mp4", video, "video/mp4")
    result = run(url, tmp_path / "v.mp4", expect_video=True)
    assert (tmp_path / "v.mp4").read_bytes() == video and result.size == len(video)


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (JSON_ERROR, "application/json"),
        (b"<html>oops</html>", "text/html"),
        (b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>", "application/xml"),
    ],
)
def test_a_page_once_is_retried_then_the_video_arrives(
    file_server: FileServer, video: bytes, tmp_path: Path, body: bytes, ctype: str
) -> None:
    url = serve(file_server, "/v.mp4", body, ctype)
    sleeps = Sleeps(hooks=[lambda: serve(file_server, "/v.mp4", video, "video/mp4")])
    dest = tmp_path / "v.mp4"
    result = run(url, dest, sleep=sleeps, expect_video=True)
    assert dest.read_bytes() == video and result.size == len(video)
    assert len(sleeps.delays) == 1
    assert not part_path(dest).exists()


def test_an_empty_200_is_never_the_file_even_without_expect_video(
    file_server: FileServer, video: bytes, tmp_path: Path
) -> None:
    url = serve(file_server, "/v.mp4", video, "video/mp4")
    file_server.status_once["/v.mp4"] = [200]  # HTTP 200, Content-Length: 0
    dest = tmp_path / "v.mp4"
    result = run(url, dest)
    assert dest.read_bytes() == video and result.size == len(video)
    assert [r.status for r in file_server.requests("/v.mp4")] == [200, 200]


def test_a_host_that_keeps_sending_a_page_raises_not_a_video(file_server: FileServer, tmp_path: Path) -> None:
    url = serve(file_server, "/v.mp4", JSON_ERROR, "application/json")
    dest = tmp_path / "v.mp4"
    with pytest.raises(NotAVideoError) as info:
        run(url, dest, max_retries=2, expect_video=True)
    assert isinstance(info.value, DownloadError)
    assert "application/json" in info.value.what and "127.0.0.1" in str(info.value)
    assert "?" not in str(info.value)  # never the URL (signed URLs carry tokens)
    assert len(file_server.requests("/v.mp4")) == 3
    assert not dest.exists()
    # nothing that looks like a file was left behind either
    assert not part_path(dest).exists() or part_path(dest).stat().st_size == 0


def test_keeps_sending_empty_answers(file_server: FileServer, tmp_path: Path) -> None:
    url = serve(file_server, "/v.mp4", b"x", "video/mp4")
    file_server.status_once["/v.mp4"] = [200] * 5
    with pytest.raises(NotAVideoError) as info:
        run(url, tmp_path / "v.mp4", max_retries=2, expect_video=True)
    assert "empty" in info.value.what
    assert not (tmp_path / "v.mp4").exists()


def test_bytes_labelled_video_but_not_a_video_are_refused(file_server: FileServer, tmp_path: Path) -> None:
    url = serve(file_server, "/v.mp4", os.urandom(100_000), "video/mp4")
    dest = tmp_path / "v.mp4"
    with pytest.raises(NotAVideoError):
        run(url, dest, max_retries=1, expect_video=True)
    assert not dest.exists()
    # without expect_video the Downloader stays a generic file fetcher
    run(url, dest)
    assert dest.stat().st_size == 100_000


def test_a_video_labelled_text_plain_is_kept(file_server: FileServer, video: bytes, tmp_path: Path) -> None:
    """A misconfigured host (text/plain for .mp4) still delivers a real video: its bytes win."""
    url = serve(file_server, "/v.mp4", video, "text/plain")
    result = run(url, tmp_path / "v.mp4", expect_video=True)
    assert result.size == len(video)


def test_a_page_during_resume_does_not_destroy_the_partial_file(
    file_server: FileServer, video: bytes, tmp_path: Path
) -> None:
    url = serve(file_server, "/v.mp4", video, "video/mp4")
    file_server.cut_after["/v.mp4"] = [1_000_000]
    dest = tmp_path / "v.mp4"
    kept: list[int] = []

    def page_then_video() -> None:
        # After the cut: one 200 that is an error page (no Range honoured), then the video again.
        kept.append(part_path(dest).stat().st_size)
        res = file_server.resources["/v.mp4"]
        file_server.add("/page", JSON_ERROR)
        file_server.resources["/v.mp4"] = file_server.resources["/page"]
        file_server.resources["/v.mp4"].content_type = "application/json"

        def restore() -> None:
            assert part_path(dest).stat().st_size == kept[0]  # the page did not empty it
            file_server.resources["/v.mp4"] = res

        sleeps.hooks.append(restore)

    sleeps = Sleeps(hooks=[page_then_video])
    result = run(url, dest, sleep=sleeps, expect_video=True)
    assert dest.read_bytes() == video and result.resumed is True
    statuses = [r.status for r in file_server.requests("/v.mp4")]
    assert statuses == [200, 200, 206], statuses
    assert kept and kept[0] > 0


def test_a_complete_partial_file_that_is_no_video_is_started_over(
    file_server: FileServer, video: bytes, tmp_path: Path
) -> None:
    url = serve(file_server, "/v.mp4", video, "video/mp4")
    dest = tmp_path / "v.mp4"
    junk = os.urandom(len(video))
    part_path(dest).write_bytes(junk)  # left by some older version, "complete" by its sidecar
    sidecar_path(dest).write_text(
        json.dumps(
            {"v": 1, "etag": file_server.resources["/v.mp4"].etag, "last_modified": None, "total": len(video)}
        )
    )
    result = run(url, dest, expect_video=True)
    assert dest.read_bytes() == video and result.size == len(video)
    assert [r.status for r in file_server.requests("/v.mp4")] == [416, 200]
