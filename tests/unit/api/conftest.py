"""Fixtures for the API unit tests: seed JSON loading and a scripted ``httpx.MockTransport``.

Unit tests drive the clients through ``httpx.MockTransport`` (precise edge cases, no sockets);
the socket-level behaviour is covered in tests/integration/api. Sleeping is always injected.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kievideo.api.http import ApiTransport, HttpConfig

ROOT = Path(__file__).resolve().parents[3]
SEEDS = ROOT / "tests" / "fixtures" / "seeds"
KEY = "sk-test-SECRET-1234567890abcdef"
API = "https://api.kie.example"
UPLOAD = "https://upload.kie.example"

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class Scripted:
    """A MockTransport that answers from a script and records every request and every sleep."""

    KEY = KEY
    API = API
    UPLOAD = UPLOAD

    replies: list[Reply] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if callable(reply) and not isinstance(reply, httpx.Response):
            return reply(request)
        return reply

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def transport(self, *, upload: bool = True, config: HttpConfig | None = None, **kw: Any) -> ApiTransport:
        return ApiTransport(
            API,
            UPLOAD if upload else None,
            KEY,
            config=config or HttpConfig(),
            transport=httpx.MockTransport(self.handler),
            sleep=self.sleep,
            **kw,
        )

    @staticmethod
    def json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
        return json_reply(body, status, headers)

    def add(self, *replies: Reply) -> Scripted:
        self.replies.extend(replies)
        return self

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    yield Scripted()


@pytest.fixture
def seed() -> Callable[[str], Any]:
    def load(name: str) -> Any:
        return json.loads((SEEDS / name).read_text(encoding="utf-8"))

    return load
