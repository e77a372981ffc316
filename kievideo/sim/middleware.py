"""The ASGI layer shared by the three origins: journaling, auth, fault injection, raw drops.

``SimMiddleware`` wraps each origin's Starlette app. Per request it (1) opens a journal entry,
(2) asks the fault injector whether to spoil the answer, (3) checks the Bearer key in the style of
the origin, and (4) runs the handler, recording the status it sends.

Dropping a connection without any response is not expressible in ASGI (uvicorn answers 500 when an
app raises before responding), so :func:`protocol_class` subclasses uvicorn's HTTP protocol to
hand the transport to the app in ``scope["extensions"]["kievideo.transport"]``; ``abort()`` on it
makes the client see a genuine connection error (httpx ``RemoteProtocolError``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import FaultSpec
from .faults import POST_PROCESS_KINDS
from .journal import JournalEntry, mask_secrets
from .media import sha256_hex
from .runtime import Runtime

RouteFor = Callable[[str, str], "str | None"]

KIE_401 = {"code": 401, "msg": "You do not have access permissions"}
UPLOAD_401 = {"success": False, "code": 401, "msg": "Authentication failed: Invalid API Key"}
#: The aggregator 401. These gateways are one-api/new-api deployments, which answer auth
#: failures with an HTTP 401 and an OpenAI-style error object (not a kie-style envelope).
UNIFIED_401 = {
    "error": {
        "message": "Invalid token",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}

HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

_TRANSPORT_KEY = "kievideo.transport"


class _Cut(Exception):
    """Raised inside the send wrapper once a truncated body has been cut off."""


def auth_style(origin: str, route: str | None) -> str | None:
    if route is None or origin == "files":
        return None
    if origin == "upload":
        return "upload"
    return "unified" if route.startswith("unified.") else "kie"


def kie_http_status(rt: Runtime, code: int) -> int:
    """HTTP status for a kie body code: 200 as documented, except 429 (and mirroring if configured)."""
    if code == 429:
        return 429
    if rt.config.http_status_mirrors_code and code != 200 and 100 <= code <= 599:
        return code
    return 200


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def drop_connection(scope: Scope, receive: Receive) -> None:
    """Close the TCP connection with no (further) response bytes."""
    transport = scope.get("extensions", {}).get(_TRANSPORT_KEY)
    if transport is None:  # not running under our protocol subclass: best effort
        raise ConnectionAbortedError("kievideo.sim: connection reset requested")
    transport.abort()
    # Wait until uvicorn has seen the disconnect, so it does not try to answer 500 itself.
    with contextlib.suppress(Exception):
        async with asyncio.timeout(2.0):
            while (await receive())["type"] != "http.disconnect":
                pass


def _retry_after(spec: FaultSpec, default: float) -> list[tuple[bytes, bytes]]:
    secs = spec.retry_after if spec.retry_after is not None else spec.seconds
    secs = default if secs is None else secs
    return [(b"retry-after", str(max(0, round(secs))).encode())]


class SimMiddleware:
    """See module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        origin: str,
        rt: Runtime,
        route_for: RouteFor,
        no_preread: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.origin = origin
        self.rt = rt
        self.route_for = route_for
        self.no_preread = no_preread

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            # Control endpoints: no auth, no journal, no faults, never billed.
            await self.app(scope, receive, send)
            return
        rt = self.rt
        path: str = scope["path"]
        method: str = scope["method"]
        route = self.route_for(method, path)
        auth = None
        for k, v in scope.get("headers", []):
            if k == b"authorization":
                auth = v.decode("latin-1")
                break
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        entry = JournalEntry(
            seq=-1,  # assigned by Journal.append
            wall_time=time.time(),
            sim_time=rt.clock.now(),
            origin=self.origin,
            method=method,
            path=path,
            query=mask_secrets(query, rt.keys),
            route=route,
            auth_present=auth is not None,
            auth_valid=rt.key_valid(auth),
        )
        rt.journal.append(entry)
        scope["kievideo.entry"] = entry

        if method in ("POST", "PUT", "PATCH") and route not in self.no_preread:
            # Read JSON bodies up front: the journal needs them, and a "slow" fault must not lose
            # the body if the client gives up meanwhile (the server still processes it).
            body = await _read_body(receive)
            entry.body = _journal_body(body, rt.keys)
            receive = _replay(body, receive)

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            await send(message)

        fault = rt.faults.pick(self.origin, route, path)
        style = auth_style(self.origin, route)
        if fault is not None:
            entry.fault = fault.kind
            if fault.kind not in POST_PROCESS_KINDS:
                await self._pre_fault(fault, style, scope, receive, recording_send, entry)
                return
            if fault.kind == "slow":
                await rt.sleep(fault.seconds if fault.seconds is not None else 2.0)

        if style is not None and not entry.auth_valid:
            if style == "kie":
                entry.code = 401
                await send_bytes(recording_send, kie_http_status(rt, 401), json_bytes(KIE_401))
            elif style == "upload":
                entry.code = 401
                await send_bytes(recording_send, kie_http_status(rt, 401), json_bytes(UPLOAD_401))
            else:
                await send_bytes(recording_send, 401, json_bytes(UNIFIED_401))
            return

        if fault is not None and fault.kind in ("accept_then_500", "accept_then_reset"):

            async def swallow(message: Message) -> None:  # the handler's answer never leaves
                return None

            await self.app(scope, receive, swallow)
            if fault.kind == "accept_then_500":
                await self._error(500, style, recording_send, entry)
            else:
                entry.status = None
                entry.dropped = True
                await drop_connection(scope, receive)
            return

        if fault is not None and fault.kind == "truncate":
            await self._truncated(fault, scope, receive, recording_send, entry)
            return

        await self.app(scope, receive, recording_send)

    async def _truncated(
        self, fault: FaultSpec, scope: Scope, receive: Receive, send: Send, entry: JournalEntry
    ) -> None:
        state = {"total": -1, "sent": 0, "cut": False}

        async def cutting_send(message: Message) -> None:
            if state["cut"]:
                raise _Cut()
            if message["type"] == "http.response.start":
                for k, v in message.get("headers", []):
                    if k.lower() == b"content-length":
                        state["total"] = int(v)
                await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunk: bytes = message.get("body", b"")
            # Cut at `fraction` of the declared length (half the first chunk if none declared).
            limit = int(state["total"] * fault.fraction) if state["total"] >= 0 else len(chunk) // 2
            if state["sent"] + len(chunk) < limit:
                state["sent"] += len(chunk)
                await send(message)
                return
            part = chunk[: max(0, limit - state["sent"])]
            if part:
                await send({"type": "http.response.body", "body": part, "more_body": True})
            state["sent"] += len(part)
            state["cut"] = True
            entry.dropped = True
            raise _Cut()

        with contextlib.suppress(_Cut):
            await self.app(scope, receive, cutting_send)
        if state["cut"]:
            await drop_connection(scope, receive)

    async def _error(self, status: int, style: str | None, send: Send, entry: JournalEntry) -> None:
        if style in ("kie", None) and self.origin == "api":
            entry.code = 500
            body = json_bytes({"code": 500, "msg": "Internal Error, Please try again later.", "data": None})
        elif style == "upload":
            entry.code = 500
            body = json_bytes({"success": False, "code": 500, "msg": "Internal server error"})
        elif style == "unified":
            body = json_bytes({"error": {"message": "Internal Server Error", "type": "server_error"}})
        else:
            await send_bytes(send, status, b"Internal Server Error", "text/plain; charset=utf-8")
            return
        await send_bytes(send, status, body)

    async def _pre_fault(
        self,
        fault: FaultSpec,
        style: str | None,
        scope: Scope,
        receive: Receive,
        send: Send,
        entry: JournalEntry,
    ) -> None:
        """Faults decided before the handler runs: the request is NOT processed."""
        rt = self.rt
        kind = fault.kind
        if kind == "http500":
            await self._error(500, style, send, entry)
        elif kind == "http502":
            await send_bytes(send, 502, b"502 Bad Gateway", "text/plain; charset=utf-8")
        elif kind == "http503":
            await send_bytes(
                send,
                503,
                b"503 Service Temporarily Unavailable",
                "text/plain; charset=utf-8",
                _retry_after(fault, 5),
            )
        elif kind == "html_error":
            await send_bytes(send, 502, HTML_502, "text/html")
        elif kind in ("code500", "code455"):
            code = 500 if kind == "code500" else 455
            msg = (
                "Internal Error, Please try again later."
                if code == 500
                else ("Service Unavailable - the system is under maintenance.")
            )
            if style == "unified":
                err = {
                    "error": {
                        "message": msg,
                        "type": "server_error" if code == 500 else "service_unavailable",
                    }
                }
                await send_bytes(send, 500 if code == 500 else 503, json_bytes(err))
            elif style == "upload":
                entry.code = code
                await send_bytes(
                    send, kie_http_status(rt, code), json_bytes({"success": False, "code": code, "msg": msg})
                )
            elif self.origin == "files":
                await send_bytes(send, 500 if code == 500 else 503, msg.encode(), "text/plain; charset=utf-8")
            else:
                entry.code = code
                await send_bytes(
                    send, kie_http_status(rt, code), json_bytes({"code": code, "msg": msg, "data": None})
                )
        elif kind == "rate429":
            headers = _retry_after(fault, 5)
            if style == "unified":
                body = json_bytes({"error": {"message": "Rate limit exceeded", "type": "rate_limit_error"}})
            elif style == "upload":
                entry.code = 429
                body = json_bytes({"success": False, "code": 429, "msg": "Rate limit exceeded"})
            else:
                entry.code = 429
                body = json_bytes({"code": 429, "msg": "Rate limit exceeded"})
            await send_bytes(send, 429, body, "application/json", headers)
        elif kind == "malformed_json":
            await send_bytes(send, 200, b'{"code":200,"msg":"success","data":{"taskId":"')
        elif kind == "empty_body":
            await send_bytes(send, 200, b"")
        elif kind == "reset":
            entry.dropped = True
            await drop_connection(scope, receive)
        elif kind == "stall":
            entry.dropped = True
            await rt.sleep(fault.seconds if fault.seconds is not None else 30.0)
            await drop_connection(scope, receive)
        else:  # pragma: no cover - FaultSpec validates kinds
            raise AssertionError(kind)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _journal_body(body: bytes, keys: frozenset[str]) -> Any:
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {"size": len(body), "sha256": sha256_hex(body)}
    if isinstance(parsed, dict) and isinstance(parsed.get("base64Data"), str):
        raw = parsed["base64Data"].encode()
        # Uploaded payloads are journaled by size and digest only.
        parsed["base64Data"] = {"chars": len(raw), "sha256": sha256_hex(raw)}
    return mask_secrets(parsed, keys)


def protocol_class(http: str) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, subclassed to expose the transport to the app (see docstring)."""
    base: type[Any]
    if http in ("auto", "httptools"):
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

            base = HttpToolsProtocol
        except ImportError:
            if http == "httptools":
                raise
            from uvicorn.protocols.http.h11_impl import H11Protocol

            base = H11Protocol
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol

    class TransportExposingProtocol(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            inner: ASGIApp = getattr(self, "app")  # noqa: B009 - set by uvicorn's __init__, untyped for mypy

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                scope.setdefault("extensions", {})[_TRANSPORT_KEY] = self.transport
                await inner(scope, receive, send)

            self.app = app

    TransportExposingProtocol.__name__ = f"Sim{base.__name__}"
    return TransportExposingProtocol
