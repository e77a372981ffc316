"""Unit tests of kievideo.api.http: the response size cap (streamed, always closed) and the
create slot a caller takes BEFORE it marks a paid create as sent."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kievideo.api import errors
from kievideo.api.http import CreateLimiter, CreateSlot, HttpConfig, ResponseTooLargeError
from kievideo.api.parsing import task_id_from_create

CAP = 64 * 1024
OK_CREATE = {"code": 200, "msg": "success", "data": {"taskId": "t1"}}


class Body(httpx.AsyncByteStream):
    """A streamed body of ``total`` bytes in ``chunk``-byte pieces that records what was read
    and whether it was closed."""

    def __init__(self, total: int, *, chunk: int = 16 * 1024, head: bytes = b'{"code":200,"data":"') -> None:
        self.total = total
        self.chunk = chunk
        self.head = head
        self.sent = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        self.sent += len(self.head)
        while self.sent < self.total:
            piece = b"x" * min(self.chunk, self.total - self.sent)
            self.sent += len(piece)
            yield piece

    async def aclose(self) -> None:
        self.closed = True


def streamed(body: Body, *, length: int | None = None, status: int = 200) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if length is not None:
        headers["content-length"] = str(length)
    return httpx.Response(status, headers=headers, stream=body)


def config(**kw: Any) -> HttpConfig:
    return HttpConfig(max_response_bytes=CAP, max_retries=2, **kw)


def _get(scripted: Any, *replies: Any, **kw: Any) -> Any:
    scripted.add(*replies)

    async def main() -> Any:
        async with scripted.transport(config=config(), **kw) as t:
            return await t.get_json("/api/v1/veo/record-info", {"taskId": "t1"})

    return asyncio.run(main())


def _create(scripted: Any, *replies: Any, **kw: Any) -> Any:
    scripted.add(*replies)

    async def main() -> Any:
        async with scripted.transport(config=config(), **kw) as t:
            return await t.call(
                "POST",
                "/api/v1/veo/generate",
                json_body={"prompt": "x"},
                idempotent=False,
                parse=task_id_from_create,
            )

    return asyncio.run(main())


# -- the response size cap ------------------------------------------------------------------


def test_default_cap_is_a_few_megabytes() -> None:
    assert 1 << 20 <= HttpConfig().max_response_bytes <= 16 << 20


def test_oversized_content_length_is_refused_before_reading(scripted: Any) -> None:
    body = Body(1 << 30)
    with pytest.raises(ResponseTooLargeError) as info:
        _get(scripted, streamed(body, length=1 << 30))
    assert body.sent == 0 and body.closed  # not one byte read, and the stream closed
    assert isinstance(info.value, errors.MalformedResponseError)
    assert "too large" in info.value.user_message
    assert len(scripted.requests) == 1 and scripted.sleeps == []  # the poller's next poll retries


def test_endless_body_without_length_is_read_at_most_the_cap(scripted: Any) -> None:
    body = Body(64 << 20)
    with pytest.raises(ResponseTooLargeError):
        _get(scripted, streamed(body))
    assert body.sent <= CAP + body.chunk + len(body.head)
    assert body.closed


def test_gzip_bomb_is_capped_on_the_decoded_bytes(scripted: Any) -> None:
    packed = gzip.compress(b'{"code":200,"data":"' + b"0" * (8 << 20) + b'"}')
    assert len(packed) < CAP  # small on the wire, huge once decoded
    reply = httpx.Response(
        200, content=packed, headers={"content-type": "application/json", "content-encoding": "gzip"}
    )
    with pytest.raises(ResponseTooLargeError):
        _get(scripted, reply)


def test_answer_within_the_cap_is_parsed_and_closed(scripted: Any) -> None:
    raw = json.dumps({"code": 200, "msg": "success", "data": {"pad": "y" * (CAP // 2)}}).encode()

    class Exact(Body):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for i in range(0, len(raw), 4096):
                self.sent += len(raw[i : i + 4096])
                yield raw[i : i + 4096]

    body = Exact(len(raw))
    env = _get(scripted, streamed(body, length=len(raw)))
    assert env.ok and len(env.data["pad"]) == CAP // 2
    assert body.closed


def test_error_answers_are_closed_too(scripted: Any) -> None:
    bodies = [Body(100, head=b"<html>bad gateway</html>") for _ in range(3)]
    with pytest.raises(errors.ServerError):
        _get(scripted, *(streamed(b, status=502) for b in bodies))
    assert all(b.closed for b in bodies)


def test_redirect_hops_are_closed(scripted: Any) -> None:
    hop = Body(10, head=b"moved")
    scripted.add(
        httpx.Response(302, headers={"location": "/api/v1/veo/record-info?taskId=t1&x=1"}, stream=hop),
        scripted.json({"code": 200, "msg": "success", "data": {}}),
    )

    async def main() -> Any:
        async with scripted.transport(config=config()) as t:
            return await t.get_json("/api/v1/veo/record-info", {"taskId": "t1"})

    assert asyncio.run(main()).ok
    assert hop.closed and len(scripted.requests) == 2


def test_too_large_create_answer_is_ambiguous_never_resent(scripted: Any) -> None:
    body = Body(1 << 30)
    with pytest.raises(errors.AmbiguousSubmitError) as info:
        _create(scripted, streamed(body, length=1 << 30), scripted.json(OK_CREATE))
    assert len(scripted.requests) == 1  # the bytes left: never sent again
    assert body.closed
    assert "too large" in (info.value.provider_message or "")


# -- create slots ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _limiter(n: int = 2) -> tuple[CreateLimiter, FakeClock]:
    clock = FakeClock()
    return CreateLimiter(n, 10.0, clock=clock, sleep=clock.sleep), clock


async def _send_create(t: Any) -> str:
    result: str = await t.call(
        "POST", "/api/v1/veo/generate", json_body={"prompt": "x"}, idempotent=False, parse=task_id_from_create
    )
    return result


def test_prepaid_slot_is_not_acquired_twice(scripted: Any) -> None:
    limiter, clock = _limiter(2)
    scripted.add(scripted.json(OK_CREATE), scripted.json(OK_CREATE))

    async def main() -> None:
        async with scripted.transport(limiter=limiter) as t:
            slot = await t.acquire_create_slot()
            assert isinstance(slot, CreateSlot) and not slot.used
            with t.prepaid_create(slot):
                assert await _send_create(t) == "t1"
            assert slot.used
            assert await _send_create(t) == "t1"  # the 2nd place of the window: no wait

    asyncio.run(main())
    assert clock.sleeps == [] and len(scripted.requests) == 2


def test_window_still_holds_with_prepaid_slots(scripted: Any) -> None:
    """20/10 s stays true: a slot counts from when it was taken, used or not."""
    limiter, clock = _limiter(2)
    scripted.add(scripted.json(OK_CREATE), scripted.json(OK_CREATE))

    async def main() -> list[float]:
        sent: list[float] = []
        async with scripted.transport(limiter=limiter) as t:
            await t.acquire_create_slot()  # taken and never used: still counts
            slot = await t.acquire_create_slot()
            with t.prepaid_create(slot):
                await _send_create(t)
                sent.append(clock.now)
                await _send_create(t)  # a second create in the same block takes its own place
                sent.append(clock.now)
        return sent

    assert asyncio.run(main()) == [1000.0, 1010.0]
    assert clock.sleeps == [10.0]


def test_resend_after_429_takes_a_new_place(scripted: Any) -> None:
    calls: list[int] = []

    class CountingLimiter(CreateLimiter):
        async def acquire(self) -> None:
            calls.append(1)

    scripted.add(scripted.json({"code": 429, "msg": "Rate limited"}), scripted.json(OK_CREATE))

    async def main() -> None:
        async with scripted.transport(limiter=CountingLimiter()) as t:
            slot = await t.acquire_create_slot()
            assert len(calls) == 1
            with t.prepaid_create(slot):
                assert await _send_create(t) == "t1"

    asyncio.run(main())
    assert len(calls) == 2  # the slot covered the first attempt; the resend waited its turn


def test_slot_of_another_limiter_is_not_used(scripted: Any) -> None:
    mine, _ = _limiter(5)
    other, _ = _limiter(5)
    scripted.add(scripted.json(OK_CREATE))

    async def main() -> CreateSlot:
        async with scripted.transport(limiter=mine) as t:
            slot = CreateSlot(other)
            with t.prepaid_create(slot):
                await _send_create(t)
            return slot

    assert not asyncio.run(main()).used


def test_reads_never_use_the_slot(scripted: Any) -> None:
    limiter, _ = _limiter(2)
    scripted.add(scripted.json({"code": 200, "msg": "success", "data": {}}))

    async def main() -> CreateSlot:
        async with scripted.transport(limiter=limiter) as t:
            slot = await t.acquire_create_slot()
            with t.prepaid_create(slot):
                await t.get_json("/api/v1/chat/credit")
            return slot

    assert not asyncio.run(main()).used


def test_slot_covers_one_create_even_across_copied_contexts(scripted: Any) -> None:
    """A task started inside the block copies the context (and the slot): still one use."""
    calls: list[int] = []

    class CountingLimiter(CreateLimiter):
        async def acquire(self) -> None:
            calls.append(1)

    scripted.add(scripted.json(OK_CREATE), scripted.json(OK_CREATE))

    async def main() -> CreateSlot:
        async with scripted.transport(limiter=CountingLimiter()) as t:
            slot = await t.acquire_create_slot()
            with t.prepaid_create(slot):
                other = asyncio.ensure_future(_send_create(t))
                await _send_create(t)
            await other
            return slot

    assert asyncio.run(main()).used
    assert len(scripted.requests) == 2
    assert len(calls) == 2  # the slot, plus one place for the second create


def test_no_limiter_slot_is_free(scripted: Any) -> None:
    scripted.add(scripted.json(OK_CREATE))

    async def main() -> str:
        async with scripted.transport() as t:
            slot = await t.acquire_create_slot()
            with t.prepaid_create(slot):
                return await _send_create(t)

    assert asyncio.run(main()) == "t1"
