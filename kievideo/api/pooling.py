"""A cheaper "is this idle connection still usable?" check for httpx's connection pools.

httpcore (1.0) walks every pooled connection each time a request is queued or a response is
closed, and asks each idle one whether its socket has become readable (the server closed it).
With anyio's streams that question costs ~24 us: anyio builds its whole table of socket
attributes for it, a dict of lambdas plus a ``getpeername()`` system call, only to hand back
the raw socket. With 8 idle API connections and ~20 idle file-host connections, a status poll
paid it 5-20 times over: in bench.responsiveness's load phase (300 tasks, 50 polls a second)
the checks were the largest single cost of a poll, on the GUI thread.

:func:`quick_readable_checks` wraps the network backend of a client's pools so that every
stream keeps its socket and answers ``is_readable`` with one ``poll()`` (~3 us). Everything
else goes to the stream httpcore made, unchanged. Reaching the backend takes two private
attributes (httpx's ``_pool``, httpcore's ``_network_backend``); if a release moves them, the
client is left as it is, slower only (tests/unit/api/test_pooling.py then says so).

httpcore is imported here, and this module is imported only where a client is built: httpx
itself imports httpcore on first use, off the window's first-paint path.
"""

# The timeout parameters are httpcore's interface (AsyncNetworkStream, AsyncNetworkBackend).
# ruff: noqa: ASYNC109

from __future__ import annotations

import select
import ssl
import sys
import typing
from collections.abc import Iterable

import httpcore
import httpx

__all__ = ["quick_readable_checks"]


def _readable(sock: typing.Any) -> bool:
    """httpcore's own test (``httpcore._utils.is_socket_readable``), on a socket we keep: a closed
    socket counts as readable (the connection is dropped either way)."""
    if sock is None or sock.fileno() < 0:
        return True
    if sys.platform == "win32" or not hasattr(select, "poll"):
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready)
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's stream, with the raw socket looked up once."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._sock = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable" and self._sock is not None:
            return _readable(self._sock)
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """The pool's own backend, its streams wrapped in :class:`_Stream`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self.inner.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self.inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def quick_readable_checks(client: httpx.AsyncClient) -> int:
    """Wrap the network backend of ``client``'s pools (its transport and any proxy mounts) that
    are httpx's own; a transport given by the caller (a test's MockTransport) is left alone.
    Call it before the first request. Returns how many pools were wrapped."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    wrapped = 0
    for transport in transports:
        if not isinstance(transport, httpx.AsyncHTTPTransport):
            continue
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.AsyncNetworkBackend) and not isinstance(backend, _Backend):
            setattr(pool, "_network_backend", _Backend(backend))  # noqa: B010 - a private attribute
            wrapped += 1
    return wrapped
