"""The clients' pools check idle connections with one poll() (kievideo.api.pooling), and still
notice a connection the server closed, over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio

import httpcore
import httpx

from kievideo.api.http import ApiTransport, open_file_client
from kievideo.api.pooling import _Backend, quick_readable_checks

KEY = "kie-pool-KEY-0123456789abcdef"


class KeepAliveServer:
    """Answers each request on a kept-alive connection; ``drop()`` closes the idle ones."""

    def __init__(self) -> None:
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    return
                body = b'{"code": 200, "msg": "success", "data": 1}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    async def drop(self) -> None:
        for writer in self.writers:
            writer.close()
        self.writers.clear()
        await asyncio.sleep(0.05)  # the FIN reaches the client's socket (loopback: at once)

    async def stop(self) -> None:
        await self.drop()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def _backend(client: httpx.AsyncClient) -> object:
    return client._transport._pool._network_backend  # type: ignore[attr-defined]


def test_the_api_and_file_clients_use_the_quick_check() -> None:
    async def main() -> None:
        api = ApiTransport("https://api.kie.example", "https://upload.kie.example", KEY)
        files = open_file_client()
        try:
            for client in (api._client, files):
                assert isinstance(_backend(client), _Backend)
                assert quick_readable_checks(client) == 0  # already wrapped: not twice
        finally:
            await api.aclose()
            await files.aclose()

    asyncio.run(main())


def test_the_quick_check_answers_as_httpcore_does() -> None:
    async def main() -> None:
        server = KeepAliveServer()
        base = await server.start()
        port = int(base.rsplit(":", 1)[1])
        plain = httpcore.AnyIOBackend()
        try:
            ours = await _Backend(plain).connect_tcp("127.0.0.1", port)
            theirs = await plain.connect_tcp("127.0.0.1", port)
            for _ in range(50):
                if server.connections == 2:
                    break
                await asyncio.sleep(0.01)
            # Open and quiet: not readable.
            assert ours.get_extra_info("is_readable") is False
            assert theirs.get_extra_info("is_readable") is False
            assert ours.get_extra_info("socket") is not None  # other questions go through
            await server.drop()
            # Closed by the server: readable (the EOF is waiting).
            assert ours.get_extra_info("is_readable") is True
            assert theirs.get_extra_info("is_readable") is True
            await ours.aclose()
            await theirs.aclose()
            assert ours.get_extra_info("is_readable") is True  # closed here: never reused
        finally:
            await server.stop()

    asyncio.run(main())


def test_a_connection_the_server_closed_is_not_reused() -> None:
    """An idle pooled connection whose server hung up must be dropped by the pool's check; if
    it were reused, the request would fail with "Server disconnected"."""

    async def main() -> None:
        server = KeepAliveServer()
        base = await server.start()
        client = open_file_client(timeout=5.0)
        try:
            assert (await client.get(f"{base}/one")).status_code == 200
            assert (await client.get(f"{base}/two")).status_code == 200
            assert server.connections == 1  # kept alive and reused
            await server.drop()
            assert (await client.get(f"{base}/three")).status_code == 200
            assert server.connections == 2  # a new connection, not the dead one
        finally:
            await client.aclose()
            await server.stop()

    asyncio.run(main())
