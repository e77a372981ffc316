"""Upload cache: same content + profile uploads once while the URL is alive."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from kievideo.core.clock import FakeClock
from kievideo.core.store import TaskStore
from kievideo.core.uploads import SAFETY_MARGIN, UPLOAD_TTL, UploadCache, ensure_uploaded, sha256_file


@dataclass
class Uploaded:
    download_url: str


class FakeUploader:
    """Stands in for FileUploadClient.upload_stream: counts calls, reports progress."""

    def __init__(self) -> None:
        self.calls: list[Path] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, path: Path, progress: object) -> Uploaded:
        self.calls.append(path)
        if self.gate is not None:
            await self.gate.wait()
        size = len(path.read_bytes())  # noqa: ASYNC240 - tiny test file
        if callable(progress):
            progress(size, size)
        return Uploaded(f"https://files.example/{len(self.calls)}/{path.name}")


@pytest.fixture
def store(tmp_path: Path) -> TaskStore:
    s = TaskStore(tmp_path / "t.sqlite3")
    yield s  # type: ignore[misc]
    s.close()


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000
    p = tmp_path / "img.png"
    p.write_bytes(data)
    assert sha256_file(p, chunk_size=4096) == hashlib.sha256(data).hexdigest()


def test_reuses_url_until_expiry_then_uploads_again(tmp_path: Path, store: TaskStore) -> None:
    img = tmp_path / "a.png"
    img.write_bytes(b"\x89PNG same bytes")
    copy = tmp_path / "copy.png"
    copy.write_bytes(img.read_bytes())
    up = FakeUploader()
    now = 1_800_000_000.0

    async def main() -> None:
        url1 = await ensure_uploaded(img, "kie", up, store=store, now=now)
        seen: list[tuple[int, int]] = []
        url2 = await ensure_uploaded(
            copy, "kie", up, lambda a, b: seen.append((a, b)), store=store, now=now + 60
        )
        assert url2 == url1 and len(up.calls) == 1
        assert seen == [(15, 15)]  # the UI still sees the step complete
        # another profile is another account: upload there too
        url3 = await ensure_uploaded(img, "aggregator", up, store=store, now=now)
        assert url3 != url1 and len(up.calls) == 2
        # past 24 h minus the margin: upload again
        late = now + UPLOAD_TTL - SAFETY_MARGIN
        url4 = await ensure_uploaded(img, "kie", up, store=store, now=late)
        assert url4 != url1 and len(up.calls) == 3

    asyncio.run(main())


def test_dead_url_is_dropped_and_check_errors_mean_dead(tmp_path: Path, store: TaskStore) -> None:
    img = tmp_path / "a.png"
    img.write_bytes(b"bytes")
    up = FakeUploader()

    async def dead(url: str) -> bool:
        return False

    async def broken(url: str) -> bool:
        raise OSError("network")

    async def alive(url: str) -> bool:
        return True

    async def main() -> None:
        u1 = await ensure_uploaded(img, "kie", up, store=store, now=0.0)
        assert await ensure_uploaded(img, "kie", up, store=store, now=1.0, is_alive=alive) == u1
        u2 = await ensure_uploaded(img, "kie", up, store=store, now=1.0, is_alive=dead)
        assert u2 != u1
        u3 = await ensure_uploaded(img, "kie", up, store=store, now=2.0, is_alive=broken)
        assert u3 != u2 and len(up.calls) == 3

    asyncio.run(main())


def test_upload_cache_merges_concurrent_uploads_of_same_content(tmp_path: Path, store: TaskStore) -> None:
    a = tmp_path / "a.png"
    b = tmp_path / "b.png"
    a.write_bytes(b"same")
    b.write_bytes(b"same")
    up = FakeUploader()
    cache = UploadCache(store, clock=FakeClock())

    async def main() -> None:
        up.gate = asyncio.Event()
        t1 = asyncio.ensure_future(cache.ensure_uploaded(a, "kie", up))
        t2 = asyncio.ensure_future(cache.ensure_uploaded(b, "kie", up))
        for _ in range(200):  # until the first upload is in flight and the second waits on it
            await asyncio.sleep(0)
            if up.calls:
                break
        up.gate.set()
        r1, r2 = await asyncio.gather(t1, t2)
        assert r1 == r2 and len(up.calls) == 1

    asyncio.run(main())


def test_upload_cache_failure_propagates_and_is_not_cached(tmp_path: Path, store: TaskStore) -> None:
    img = tmp_path / "a.png"
    img.write_bytes(b"x")
    cache = UploadCache(store)
    calls = 0

    async def failing(path: Path, progress: object) -> Uploaded:
        nonlocal calls
        calls += 1
        raise ConnectionError("upload host down")

    async def main() -> None:
        with pytest.raises(ConnectionError):
            await cache.ensure_uploaded(img, "kie", failing)
        with pytest.raises(ConnectionError):
            await cache.ensure_uploaded(img, "kie", failing)

    asyncio.run(main())
    assert calls == 2
    assert store.upload_cache_get(sha256_file(img), "kie") is None
