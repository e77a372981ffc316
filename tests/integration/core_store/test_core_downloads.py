"""Downloader over real sockets: resume by Range, restarts, expiry, integrity, flat memory."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from kievideo.core.downloads import (
    Downloader,
    DownloadError,
    DownloadInProgressError,
    DownloadIntegrityError,
    DownloadResult,
    UrlExpiredError,
    sidecar_path,
)
from kievideo.core.naming import part_path, unique_path

if TYPE_CHECKING:  # the fixture's type only; conftest modules are not importable by name
    from conftest import FileServer

CHUNK = 256 * 1024
# Building an SSL context costs ~0.2 s here; share one (the server is plain http anyway).
_SSL = ssl.create_default_context()


class Abort(Exception):
    """Raised from a progress callback to stop a download the way a kill would."""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Sleeps:
    """A back-off sleep that never waits, records delays, and can run a hook on the first one."""

    def __init__(self, hook: Callable[[], None] | None = None) -> None:
        self.delays: list[float] = []
        self.hook = hook

    async def __call__(self, s: float) -> None:
        self.delays.append(s)
        if self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        await asyncio.sleep(0)


def run_download(
    url: str,
    dest: Path,
    *,
    sleep: Sleeps | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    **kw: Any,
) -> DownloadResult:
    async def main() -> DownloadResult:
        async with httpx.AsyncClient(timeout=10, verify=_SSL) as client:
            d = Downloader(
                client, chunk_size=CHUNK, sleep=sleep or Sleeps(), max_retries=kw.pop("max_retries", 5)
            )
            return await d.download(url, dest, progress=progress, **kw)

    return asyncio.run(main())


def assert_clean_finish(dest: Path, data: bytes, result: DownloadResult) -> None:
    assert dest.read_bytes() == data
    assert result.path == dest and result.size == len(data) and result.sha256 == sha(data)
    assert not part_path(dest).exists() and not sidecar_path(dest).exists()


def test_full_download_is_identical_and_never_visible_early(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    url = file_server.add("/v.mp4", payload)
    dest = tmp_path / "lib" / "v.mp4"
    calls: list[tuple[int, int | None]] = []

    def progress(done: int, total: int | None) -> None:
        assert not dest.exists()  # nothing complete-looking before the final rename
        calls.append((done, total))

    result = run_download(url, dest, progress=progress)
    assert_clean_finish(dest, payload, result)
    assert result.resumed is False and result.etag == file_server.resources["/v.mp4"].etag
    reqs = file_server.requests("/v.mp4")
    assert len(reqs) == 1 and reqs[0].range is None and reqs[0].status == 200
    assert calls[0] == (0, len(payload)) and calls[-1] == (len(payload), len(payload))
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))
    assert len(calls) <= len(payload) // CHUNK + 2  # at most once per chunk (+ the start)


def test_cut_connection_resumes_with_range_and_if_range(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    url = file_server.add("/v.mp4", payload)
    file_server.cut_after["/v.mp4"] = [1_000_000, 2_000_000]  # two cuts in a row
    dest = tmp_path / "v.mp4"
    sleeps = Sleeps()
    result = run_download(url, dest, sleep=sleeps)
    assert_clean_finish(dest, payload, result)
    assert result.resumed is True
    reqs = file_server.requests("/v.mp4")
    assert [r.status for r in reqs] == [200, 206, 206]
    etag = file_server.resources["/v.mp4"].etag
    # Bytes still buffered in the chunker when the link dropped are simply fetched again.
    first_resume = int(reqs[1].range.removeprefix("bytes=").rstrip("-"))  # type: ignore[union-attr]
    assert 0 < first_resume <= 1_000_000 and reqs[1].if_range == etag
    second_resume = int(reqs[2].range.removeprefix("bytes=").rstrip("-"))  # type: ignore[union-attr]
    assert second_resume > first_resume and reqs[2].if_range == etag
    assert len(sleeps.delays) == 2


def test_resume_in_a_new_downloader_from_part_and_sidecar(file_server: FileServer, tmp_path: Path) -> None:
    # 12 MiB, stopped after 8: enough write batches that the oldest are surely on disk.
    payload = os.urandom(12 * 1024 * 1024 + 777)
    url = file_server.add("/v.mp4", payload)
    dest = tmp_path / "v.mp4"
    reported: list[int] = []

    def stop_after_8mb(done: int, total: int | None) -> None:
        reported.append(done)
        if done >= 8 * 1024 * 1024:
            raise Abort

    with pytest.raises(Abort):
        run_download(url, dest, progress=stop_after_8mb)
    assert not dest.exists()
    kept = part_path(dest).stat().st_size
    # Progress is reported once at the start, then after each write batch is queued for the
    # writer thread. At most 4 batches wait in that queue, and those still waiting when the
    # download is abandoned are dropped: every batch up to the fifth-last report is on disk,
    # whatever the threads' timing (a busy machine once left less than a fixed bound here).
    batches = reported[1:]
    assert len(batches) >= 5
    assert 0 < batches[-5] <= kept <= batches[-1] < len(payload)
    side = json.loads(sidecar_path(dest).read_text())
    assert side["total"] == len(payload) and side["etag"] == file_server.resources["/v.mp4"].etag

    result = run_download(url, dest)  # a new client and Downloader: only the files carry state
    assert_clean_finish(dest, payload, result)
    assert result.resumed is True
    last = file_server.requests("/v.mp4")[-1]
    assert last.status == 206 and last.range == f"bytes={kept}-"


_KILL_CHILD = """
import asyncio, sys
import httpx
from pathlib import Path
from kievideo.core.downloads import Downloader

async def main():
    async with httpx.AsyncClient(timeout=30) as c:
        await Downloader(c, chunk_size=int(sys.argv[3])).download(sys.argv[1], Path(sys.argv[2]))

asyncio.run(main())
"""


def test_resume_after_sigkill_of_the_downloading_process(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("needs SIGKILL")
    url = file_server.add("/v.mp4", payload)
    release = threading.Event()
    stall_at = 4 * CHUNK
    file_server.stall_after["/v.mp4"] = (stall_at, release)
    dest = tmp_path / "v.mp4"
    child = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, url, str(dest), str(CHUNK)])
    try:
        # Wait for a condition (the child has bytes on disk and the server holds the rest), bounded.
        deadline = time.monotonic() + 20
        while not (part_path(dest).exists() and part_path(dest).stat().st_size >= CHUNK):
            assert child.poll() is None, "the child died early"
            assert time.monotonic() < deadline, "the child never wrote the first bytes"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
            child.wait()
    assert not dest.exists() and sidecar_path(dest).exists()
    kept = part_path(dest).stat().st_size  # whatever reached the disk before the kill
    assert CHUNK <= kept <= stall_at
    result = run_download(url, dest)
    assert_clean_finish(dest, payload, result)
    assert result.resumed is True
    assert file_server.requests("/v.mp4")[-1].range == f"bytes={kept}-"


def test_changed_etag_restarts_from_zero(file_server: FileServer, payload: bytes, tmp_path: Path) -> None:
    file_server.add("/v.mp4", payload)
    file_server.cut_after["/v.mp4"] = [1_500_000]
    new = os.urandom(2 * 1024 * 1024 + 7)
    old_etag = file_server.resources["/v.mp4"].etag
    sleeps = Sleeps(hook=lambda: file_server.add("/v.mp4", new))  # content changes during back-off
    dest = tmp_path / "v.mp4"
    result = run_download(file_server.url("/v.mp4"), dest, sleep=sleeps)
    assert_clean_finish(dest, new, result)
    assert result.resumed is False and result.etag != old_etag
    reqs = file_server.requests("/v.mp4")
    assert reqs[1].range is not None and reqs[1].if_range == old_etag and reqs[1].status == 200


def test_server_without_range_support_restarts(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    url = file_server.add("/v.mp4", payload)
    file_server.no_range.add("/v.mp4")
    file_server.cut_after["/v.mp4"] = [1_000_000]
    dest = tmp_path / "v.mp4"
    result = run_download(url, dest)
    assert_clean_finish(dest, payload, result)
    assert [r.status for r in file_server.requests("/v.mp4")] == [200, 200]
    assert result.resumed is False


def test_last_modified_is_the_validator_without_etag(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    file_server.with_etag = False
    url = file_server.add("/v.mp4", payload)
    file_server.cut_after["/v.mp4"] = [1_000_000]
    dest = tmp_path / "v.mp4"
    result = run_download(url, dest)
    assert_clean_finish(dest, payload, result)
    assert result.etag is None and result.resumed is True
    assert file_server.requests("/v.mp4")[1].if_range == file_server.resources["/v.mp4"].last_modified


def test_expired_url_keeps_the_part_and_a_fresh_url_resumes(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    url = file_server.add("/old.mp4", payload)
    file_server.cut_after["/old.mp4"] = [1_200_000]
    file_server.status_once["/old.mp4"] = []
    dest = tmp_path / "v.mp4"

    def expire() -> None:  # after the cut, the old signed URL stops working
        file_server.status_once["/old.mp4"] = [403]

    with pytest.raises(UrlExpiredError) as info:
        run_download(url, dest, sleep=Sleeps(hook=expire))
    assert info.value.status == 403 and "127.0.0.1" in str(info.value)
    kept = part_path(dest).stat().st_size
    assert kept > 0 and not dest.exists()

    fresh = file_server.alias("/fresh.mp4", "/old.mp4") + "?sig=new"  # same bytes, same ETag
    result = run_download(fresh, dest)
    assert_clean_finish(dest, payload, result)
    assert result.resumed is True
    assert file_server.requests("/fresh.mp4")[0].range == f"bytes={kept}-"


@pytest.mark.parametrize("status", [404, 410])
def test_missing_file_raises_url_expired(file_server: FileServer, tmp_path: Path, status: int) -> None:
    file_server.add("/v.mp4", b"x" * 10)
    file_server.status_once["/v.mp4"] = [status]
    with pytest.raises(UrlExpiredError):
        run_download(file_server.url("/v.mp4"), tmp_path / "v.mp4")
    assert not (tmp_path / "v.mp4").exists()


def test_server_errors_are_retried_then_give_up(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    url = file_server.add("/v.mp4", payload)
    file_server.status_once["/v.mp4"] = [503, 500]
    sleeps = Sleeps()
    result = run_download(url, tmp_path / "a.mp4", sleep=sleeps)
    assert_clean_finish(tmp_path / "a.mp4", payload, result)
    assert len(sleeps.delays) == 2

    file_server.status_once["/v.mp4"] = [503] * 10
    with pytest.raises(DownloadError, match="after 3 attempts"):
        run_download(url, tmp_path / "b.mp4", max_retries=2)
    assert not (tmp_path / "b.mp4").exists()


def test_complete_part_with_416_is_finished(file_server: FileServer, payload: bytes, tmp_path: Path) -> None:
    url = file_server.add("/v.mp4", payload)
    dest = tmp_path / "v.mp4"
    part_path(dest).write_bytes(payload)  # killed after the last byte, before the rename
    meta = {
        "v": 1,
        "etag": file_server.resources["/v.mp4"].etag,
        "last_modified": None,
        "total": len(payload),
    }
    sidecar_path(dest).write_text(json.dumps(meta))
    result = run_download(url, dest)
    assert_clean_finish(dest, payload, result)
    assert result.resumed is True
    assert [r.status for r in file_server.requests("/v.mp4")] == [416]


def test_part_without_sidecar_is_not_trusted(file_server: FileServer, payload: bytes, tmp_path: Path) -> None:
    url = file_server.add("/v.mp4", payload)
    dest = tmp_path / "v.mp4"
    part_path(dest).write_bytes(b"garbage from who knows where")
    result = run_download(url, dest)
    assert_clean_finish(dest, payload, result)
    assert file_server.requests("/v.mp4")[0].range is None


def test_reserved_name_downloads_normally(file_server: FileServer, payload: bytes, tmp_path: Path) -> None:
    url = file_server.add("/v.mp4", payload)
    dest = unique_path(tmp_path, "clip.mp4", reserve=True)
    result = run_download(url, dest)
    assert_clean_finish(dest, payload, result)


def test_integrity_mismatch_discards_the_part(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    url = file_server.add("/v.mp4", payload)
    dest = tmp_path / "v.mp4"
    with pytest.raises(DownloadIntegrityError):
        run_download(url, dest, expected_sha256="0" * 64)
    assert not dest.exists() and not part_path(dest).exists() and not sidecar_path(dest).exists()
    with pytest.raises(DownloadIntegrityError):
        run_download(url, dest, expected_size=len(payload) + 1)
    result = run_download(url, dest, expected_sha256=sha(payload).upper(), expected_size=len(payload))
    assert_clean_finish(dest, payload, result)


def test_never_overwrites_an_existing_file(file_server: FileServer, payload: bytes, tmp_path: Path) -> None:
    url = file_server.add("/v.mp4", payload)
    dest = tmp_path / "v.mp4"
    dest.write_bytes(b"the user's own file")
    with pytest.raises(FileExistsError):
        run_download(url, dest)
    assert dest.read_bytes() == b"the user's own file"
    assert file_server.requests() == []


def test_crash_between_link_and_unlink_is_recovered(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "v.mp4"
    part_path(dest).write_bytes(payload)
    sidecar_path(dest).write_text(json.dumps({"v": 1, "etag": '"e"', "total": len(payload)}))
    os.link(part_path(dest), dest)
    result = run_download(file_server.url("/unused"), dest)
    assert_clean_finish(dest, payload, result)
    assert result.etag == '"e"' and file_server.requests() == []


def test_memory_stays_flat_for_a_large_file(file_server: FileServer, tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    big = tmp_path / "big.bin"
    h = hashlib.sha256()
    with open(big, "wb") as f:
        for _ in range(size // (1024 * 1024)):
            block = os.urandom(1024 * 1024)
            h.update(block)
            f.write(block)
    url = file_server.add("/big.mp4", file=big)
    dest = tmp_path / "big.mp4"

    async def main() -> tuple[DownloadResult, int]:
        async with httpx.AsyncClient(timeout=30, verify=_SSL) as client:
            d = Downloader(client)  # default chunk size
            tracemalloc.start()
            try:
                result = await d.download(url, dest)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            return result, peak

    result, peak = asyncio.run(main())
    assert result.size == size and result.sha256 == h.hexdigest()
    assert peak < 20 * 1024 * 1024, f"peak traced memory {peak / 1e6:.1f} MB"


def test_second_download_of_the_same_file_is_refused_while_the_first_runs(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    url = file_server.add("/v.mp4", payload)
    release = threading.Event()
    file_server.stall_after["/v.mp4"] = (2 * CHUNK, release)
    dest = tmp_path / "v.mp4"

    async def main() -> DownloadResult:
        async with httpx.AsyncClient(timeout=10, verify=_SSL) as client:
            started = asyncio.Event()

            def on_progress(done: int, total: int | None) -> None:
                if done > 0:
                    started.set()

            d = Downloader(client, chunk_size=CHUNK, sleep=Sleeps())
            first = asyncio.ensure_future(d.download(url, dest, progress=on_progress))
            await asyncio.wait_for(started.wait(), 10)
            with pytest.raises(DownloadInProgressError):
                await Downloader(client, chunk_size=CHUNK).download(url, dest)
            assert Downloader.discard_partial(dest) is False  # the running one keeps its file
            release.set()  # the server drops the stalled connection; the first one resumes
            return await first

    result = asyncio.run(main())
    assert_clean_finish(dest, payload, result)


def test_cancelled_download_keeps_its_part_and_resumes(
    file_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    url = file_server.add("/v.mp4", payload)
    dest = tmp_path / "v.mp4"

    async def main() -> None:
        async with httpx.AsyncClient(timeout=10, verify=_SSL) as client:
            halfway = asyncio.Event()

            def on_progress(done: int, total: int | None) -> None:
                if done >= len(payload) // 2:
                    halfway.set()

            task = asyncio.ensure_future(
                Downloader(client, chunk_size=CHUNK).download(url, dest, progress=on_progress)
            )
            await asyncio.wait_for(halfway.wait(), 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert not dest.exists() and part_path(dest).stat().st_size > 0
    result = run_download(url, dest)
    assert_clean_finish(dest, payload, result)
    assert result.resumed is True


def test_discard_partial(file_server: FileServer, payload: bytes, tmp_path: Path) -> None:
    url = file_server.add("/v.mp4", payload)
    file_server.cut_after["/v.mp4"] = [1_000_000]
    dest = tmp_path / "v.mp4"

    def expire() -> None:
        file_server.status_once["/v.mp4"] = [410]

    with pytest.raises(UrlExpiredError):
        run_download(url, dest, sleep=Sleeps(hook=expire))
    assert part_path(dest).stat().st_size > 0 and sidecar_path(dest).exists()
    assert Downloader.discard_partial(dest) is True  # the job is given up: clean the library
    assert not part_path(dest).exists() and not sidecar_path(dest).exists()
    assert Downloader.discard_partial(dest) is True  # nothing there: fine
