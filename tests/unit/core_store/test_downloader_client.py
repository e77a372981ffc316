"""The Downloader's own file client: made on first use (not at construction, which sits on the
app's start-up path), or ahead of time by ``prepare()``; closed by ``aclose()``; a client the
caller passed in is never replaced or closed."""

from __future__ import annotations

import asyncio
import asyncio.selector_events

import httpx
import pytest

from kievideo.core.downloads import Downloader


def test_own_client_is_made_lazily_and_closed() -> None:
    async def main() -> None:
        d = Downloader()
        assert d._own_client is None  # construction builds nothing
        await d.prepare()
        client = d._own_client
        assert client is not None and not client.is_closed
        await d.prepare()
        assert d._own_client is client  # prepared once
        assert d._client is client
        await d.aclose()
        assert client.is_closed and d._own_client is None

    asyncio.run(main())


def test_a_given_client_is_used_and_left_open() -> None:
    async def main() -> None:
        async with httpx.AsyncClient() as given:
            d = Downloader(given)
            await d.prepare()
            assert d._own_client is None and d._client is given
            await d.aclose()
            assert not given.is_closed

    asyncio.run(main())


def test_prepare_widens_socket_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    from httpcore._async import http11

    from kievideo.core import downloads

    # As in a fresh process: httpcore's default, not yet widened (an earlier test may have).
    transport = asyncio.selector_events._SelectorSocketTransport
    monkeypatch.setattr(http11.AsyncHTTP11Connection, "READ_NUM_BYTES", 64 * 1024)
    monkeypatch.setattr(transport, "max_size", 256 * 1024)
    monkeypatch.setattr(downloads, "_widened", False)
    d0 = Downloader()
    assert http11.AsyncHTTP11Connection.READ_NUM_BYTES == 64 * 1024  # not at construction
    assert transport.max_size == 256 * 1024
    del d0

    async def main() -> None:
        d = Downloader()
        await d.prepare()
        assert http11.AsyncHTTP11Connection.READ_NUM_BYTES == downloads._SOCKET_READ_BYTES
        assert transport.max_size == downloads._SOCKET_READ_BYTES  # asyncio's recv() size too
        await d.aclose()

    asyncio.run(main())
