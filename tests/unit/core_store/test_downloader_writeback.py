"""The part writer asks the kernel to start writing back every 16 MiB, so the final fsync has
little left to do; the ranges it hands over are contiguous and cover what was written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from kievideo.core import downloads
from kievideo.core.downloads import _HashCarry, _PartWriter


def test_writeback_is_started_in_contiguous_ranges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int, int]] = []

    def record(fd: int, offset: int, length: int, advice: int) -> None:
        assert os.fstat(fd).st_size >= offset + length  # flushed before the advice
        calls.append((offset, length, advice))

    monkeypatch.setattr(downloads, "_FADVISE", record)
    part = tmp_path / "v.mp4.part"
    carry = _HashCarry()
    writer = _PartWriter.open(part, 0, carry)
    block = os.urandom(1024 * 1024)
    for _ in range(40):  # 40 MiB in 1 MiB batches
        writer.write([block])
    writer.sync()
    writer.close()
    mib = 1024 * 1024
    assert [(o, n) for o, n, _ in calls] == [(0, 16 * mib), (16 * mib, 16 * mib)]
    assert all(a == os.POSIX_FADV_DONTNEED for _, _, a in calls)
    assert part.stat().st_size == 40 * mib
    assert carry.hasher.hexdigest() == hashlib.sha256(block * 40).hexdigest()


def test_no_fadvise_no_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and Windows have no posix_fadvise: the writer just writes."""
    monkeypatch.setattr(downloads, "_FADVISE", None)
    part = tmp_path / "v.mp4.part"
    writer = _PartWriter.open(part, 0, _HashCarry())
    writer.write([b"x" * (20 * 1024 * 1024)])
    writer.sync()
    writer.close()
    assert part.stat().st_size == 20 * 1024 * 1024
