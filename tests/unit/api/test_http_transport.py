"""Unit tests of kievideo.api.http: Retry-After, backoff, the create limiter, secrets, the
envelope/error mapping and the retry rules for reads versus paid creates."""

from __future__ import annotations

import asyncio
import logging
import pickle
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from kievideo.api import errors
from kievideo.api.http import (
    CreateLimiter,
    HttpConfig,
    Origin,
    RetryPolicy,
    Secret,
    open_file_client,
    parse_retry_after,
    redact_url,
)
from kievideo.api.parsing import task_id_from_create

# -- Retry-After -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-3", None),
        ("nan", None),
        ("inf", None),
        ("Mon, 99 Foo 2025 xx", None),
    ],
)
def test_retry_after_seconds_and_garbage(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_retry_after_http_date_is_relative_to_now() -> None:
    now = datetime(2025, 6, 6, 10, 30, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=42), usegmt=True)
    assert header.endswith("GMT")
    assert parse_retry_after(header, now=now.timestamp) == pytest.approx(42.0)


def test_retry_after_date_in_the_past_is_zero() -> None:
    now = datetime(2025, 6, 6, 10, 30, 0, tzinfo=UTC)
    header = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp) == 0.0


def test_retry_after_is_capped() -> None:
    assert parse_retry_after("86400", cap=120.0) == 120.0
    now = datetime(2025, 6, 6, tzinfo=UTC)
    far = format_datetime(now + timedelta(days=2), usegmt=True)
    assert parse_retry_after(far, cap=60.0, now=now.timestamp) == 60.0


# -- backoff ---------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(0, 12))
def test_backoff_full_jitter_bounds(attempt: int) -> None:
    ceiling = min(30.0, 0.5 * 2**attempt)
    low = RetryPolicy(base=0.5, cap=30.0, rng=lambda: 0.0)
    high = RetryPolicy(base=0.5, cap=30.0, rng=lambda: 0.999999)
    assert low.backoff(attempt) == 0.0
    assert high.backoff(attempt) == pytest.approx(ceiling, rel=1e-5)
    assert high.backoff(attempt) <= 30.0


def test_backoff_huge_attempt_does_not_overflow() -> None:
    assert RetryPolicy(cap=30.0, rng=lambda: 1.0).backoff(10_000) == 30.0


def test_retry_after_beats_jitter_and_is_capped() -> None:
    policy = RetryPolicy(retry_after_cap=120.0, rng=lambda: 0.5)
    assert policy.delay(0, 3.0) == 3.0
    assert policy.delay(5, 999.0) == 120.0
    assert policy.delay(2, None) == pytest.approx(0.5 * 0.5 * 4)


def test_policy_from_config() -> None:
    cfg = HttpConfig(max_retries=2, backoff_base=1.0, backoff_cap=4.0, retry_after_cap=9.0)
    p = RetryPolicy.from_config(cfg, rng=lambda: 1.0)
    assert (p.max_retries, p.backoff(10), p.delay(0, 100)) == (2, 4.0, 9.0)


# -- create limiter on a fake clock ------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_limiter_allows_20_per_10_s_then_waits_for_the_window() -> None:
    clock = FakeClock()
    limiter = CreateLimiter(20, 10.0, clock=clock, sleep=clock.sleep)

    async def main() -> list[float]:
        times = []
        for i in range(45):
            if i == 5:
                clock.now += 3.0  # spread a little: the window must slide, not reset
            await limiter.acquire()
            times.append(clock.now)
        return times

    times = asyncio.run(main())
    # never more than 20 grants in any half-open 10 s window
    for i, t in enumerate(times):
        assert sum(1 for u in times[: i + 1] if u > t - 10.0) <= 20
    assert times[19] == 1003.0  # the first 20 go out without waiting
    assert times[20] == 1010.0  # the 21st waits until the first grant is 10 s old
    assert times[25] == 1013.0  # grants 5.. were at 1003, so the 26th waits until 1013
    assert clock.sleeps and all(s > 0 for s in clock.sleeps)


def test_limiter_serves_concurrent_waiters_without_exceeding() -> None:
    clock = FakeClock()
    limiter = CreateLimiter(3, 10.0, clock=clock, sleep=clock.sleep)
    granted: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        granted.append(clock.now)

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(7)))

    asyncio.run(main())
    assert granted == [1000.0] * 3 + [1010.0] * 3 + [1020.0]


def test_limiter_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        CreateLimiter(0, 10.0)
    with pytest.raises(ValueError):
        CreateLimiter(1, 0)


# -- secrets and origins ---------------------------------------------------------------------


def test_secret_is_masked_everywhere(scripted: Any) -> None:
    s = Secret(scripted.KEY)
    for text in (repr(s), str(s), f"{s}", f"{s!r}", f"{s:>40}", format(s), repr([s]), repr({"k": s})):
        assert scripted.KEY not in text
        assert "***" in text
    assert s.reveal() == scripted.KEY
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_transport_repr_shows_origins_not_key(scripted: Any) -> None:
    t = scripted.transport()
    text = repr(t) + str(t) + repr(vars(t))
    assert scripted.KEY not in text
    assert "api.kie.example" in repr(t)
    asyncio.run(t.aclose())


def test_origin_compares_scheme_host_port_exactly() -> None:
    base = Origin.of("https://api.kie.ai")
    assert base == Origin.of("https://API.kie.ai:443/api/v1/x?y=1")
    assert base != Origin.of("http://api.kie.ai")
    assert base != Origin.of("https://api.kie.ai:8443")
    assert base != Origin.of("https://api.kie.ai.evil.com")
    assert base != Origin.of("https://evil.com/api.kie.ai")
    assert str(base) == "https://api.kie.ai:443"
    with pytest.raises(ValueError):
        Origin.of("ftp://api.kie.ai")


def test_redact_url_strips_credentials() -> None:
    out = redact_url("https://user:pw@api.kie.ai/x?taskId=1&api_key=SECRET")
    assert "pw" not in out and "SECRET" not in out and "user" not in out
    assert "taskId=1" in out


def test_base_url_with_credentials_is_refused(scripted: Any) -> None:
    from kievideo.api.http import ApiTransport

    with pytest.raises(ValueError):
        ApiTransport("https://me:pw@api.kie.ai", None, scripted.KEY)


def test_open_file_client_has_no_auth_and_verifies_tls() -> None:
    async def main() -> None:
        async with open_file_client() as client:
            assert "authorization" not in {k.lower() for k in client.headers}
            assert client.auth is None
            assert client.follow_redirects is True
            pool = client._transport._pool  # type: ignore[attr-defined]
            assert pool._ssl_context.verify_mode.name == "CERT_REQUIRED"

    asyncio.run(main())


def test_authorization_only_for_configured_origins(scripted: Any) -> None:
    t = scripted.transport()
    for url, expected in [
        ("https://api.kie.example/api/v1/x", True),
        ("https://upload.kie.example/api/file-stream-upload", True),
        ("http://api.kie.example/api/v1/x", False),  # scheme differs
        ("https://api.kie.example:444/x", False),  # port differs
        ("https://tempfile.aiquickdraw.com/v/a.mp4", False),
        ("https://api.kie.example.evil.com/x", False),
    ]:
        req = httpx.Request("GET", url)
        t._authorize(req)
        assert ("Authorization" in req.headers) is expected, url
        if expected:
            assert req.headers["Authorization"] == f"Bearer {scripted.KEY}"
    asyncio.run(t.aclose())


# -- envelope and error mapping --------------------------------------------------------------


def _get(scripted: Any, *replies: Any, **kw: Any) -> Any:
    scripted.add(*replies)

    async def main() -> Any:
        async with scripted.transport(**kw) as t:
            return await t.get_json("/api/v1/chat/credit")

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthError),
        (402, errors.InsufficientCreditsError),
        (404, errors.NotFoundError),
        (422, errors.ValidationError),
        (451, errors.ImageFetchError),
        (501, errors.GenerationFailedError),
        (505, errors.FeatureDisabledError),
    ],
)
def test_body_code_in_http_200_maps_to_error(scripted: Any, code: int, cls: type) -> None:
    with pytest.raises(cls) as info:
        _get(scripted, scripted.json({"code": code, "msg": f"text {code}", "data": None}))
    err = info.value
    assert (err.code, err.http_status, err.provider_message) == (code, 200, f"text {code}")
    assert err.method == "GET" and err.url == "https://api.kie.example/api/v1/chat/credit"
    assert len(scripted.requests) == 1  # not retried: a definite answer


@pytest.mark.parametrize(
    ("code", "cls"),
    [(429, errors.RateLimitError), (455, errors.MaintenanceError), (500, errors.ServerError)],
)
def test_transient_body_codes_are_retried_then_raised(scripted: Any, code: int, cls: type) -> None:
    replies = [scripted.json({"code": code, "msg": "busy"}) for _ in range(3)]
    with pytest.raises(cls):
        _get(scripted, *replies, config=HttpConfig(max_retries=2))
    assert len(scripted.requests) == 3
    assert len(scripted.sleeps) == 2


def test_read_recovers_after_transient_errors(scripted: Any) -> None:
    env = _get(
        scripted,
        scripted.json({"code": 455, "msg": "maintenance"}),
        httpx.ReadTimeout("slow"),
        httpx.Response(502, text="<html><title>Bad Gateway</title></html>"),
        httpx.Response(200, text="not json"),
        scripted.json({"code": 200, "msg": "success", "data": 100}),
    )
    assert env.data == 100 and env.ok
    assert len(scripted.requests) == 5


def test_http_status_used_when_body_has_no_code(scripted: Any) -> None:
    with pytest.raises(errors.AuthError) as info:
        _get(scripted, scripted.json({"error": {"message": "Invalid token", "type": "auth"}}, status=401))
    assert info.value.provider_message == "Invalid token" and info.value.http_status == 401


def test_html_4xx_page_maps_by_status(scripted: Any) -> None:
    with pytest.raises(errors.InsufficientCreditsError) as info:
        _get(scripted, httpx.Response(402, html="<html><head><title>Payment Required</title></head></html>"))
    assert "HTML page" in (info.value.provider_message or "")
    assert "Payment Required" in (info.value.provider_message or "")


def test_html_200_is_malformed_with_clear_message(scripted: Any) -> None:
    page = httpx.Response(200, html="<html><title>Login</title></html>")
    with pytest.raises(errors.MalformedResponseError) as info:
        _get(scripted, page, page, config=HttpConfig(max_retries=1))
    assert "HTML page" in str(info.value) and "instead of JSON" in str(info.value)
    assert info.value.retryable


def test_html_5xx_is_server_error(scripted: Any) -> None:
    page = httpx.Response(503, html="<html><title>Service Unavailable</title></html>")
    with pytest.raises(errors.ServerError) as info:
        _get(scripted, page, config=HttpConfig(max_retries=0))
    assert info.value.http_status == 503 and "HTML" in str(info.value)


@pytest.mark.parametrize("body", [b"", b"   ", b"{not json", b"null", b"[1,2]", b"\xff\xfe"])
def test_unusable_bodies_are_malformed(scripted: Any, body: bytes) -> None:
    with pytest.raises(errors.MalformedResponseError):
        _get(scripted, httpx.Response(200, content=body), config=HttpConfig(max_retries=0))


def test_error_status_wins_over_body_claiming_success(scripted: Any) -> None:
    with pytest.raises(errors.ServerError):
        _get(
            scripted, scripted.json({"code": 200, "msg": "ok"}, status=500), config=HttpConfig(max_retries=0)
        )


def test_upload_success_false_is_not_success(scripted: Any) -> None:
    with pytest.raises(errors.MalformedResponseError):
        _get(
            scripted,
            scripted.json({"success": False, "code": 200, "msg": "?"}),
            config=HttpConfig(max_retries=0),
        )


def test_msg_or_message(scripted: Any) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        _get(scripted, scripted.json({"code": 404, "message": "Task not found"}))
    assert info.value.provider_message == "Task not found"


def test_retry_after_header_honoured_for_reads(scripted: Any) -> None:
    env = _get(
        scripted,
        scripted.json({"code": 429, "msg": "Rate limit exceeded"}, status=429, headers={"Retry-After": "7"}),
        scripted.json({"code": 200, "msg": "success", "data": 5}),
    )
    assert env.data == 5
    assert scripted.sleeps == [7.0]


def test_retry_after_header_capped(scripted: Any) -> None:
    _get(
        scripted,
        scripted.json({"code": 455, "msg": "maint"}, headers={"Retry-After": "100000"}),
        scripted.json({"code": 200, "msg": "success", "data": 5}),
        config=HttpConfig(retry_after_cap=45.0),
    )
    assert scripted.sleeps == [45.0]


def test_no_retry_after_uses_bounded_jitter(scripted: Any) -> None:
    replies = [scripted.json({"code": 500, "msg": "x"}) for _ in range(5)]
    with pytest.raises(errors.ServerError):
        _get(scripted, *replies, config=HttpConfig(max_retries=4, backoff_base=1.0, backoff_cap=3.0))
    assert len(scripted.sleeps) == 4
    for attempt, slept in enumerate(scripted.sleeps):
        assert 0.0 <= slept <= min(3.0, 1.0 * 2**attempt)


# -- paid creates ---------------------------------------------------------------------------


def _create(scripted: Any, *replies: Any, **kw: Any) -> Any:
    scripted.add(*replies)

    async def main() -> Any:
        async with scripted.transport(**kw) as t:
            return await t.call(
                "POST",
                "/api/v1/veo/generate",
                json_body={"prompt": "x"},
                idempotent=False,
                parse=task_id_from_create,
            )

    return asyncio.run(main())


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.WriteTimeout("write timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        httpx.WriteError("broken pipe"),
        httpx.Response(500, html="<html>oops</html>"),
        httpx.Response(502, json={"error": {"message": "bad gateway"}}),
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, content=b""),
        httpx.Response(200, json={"code": 500, "msg": "Internal Error, Please try again later."}),
        httpx.Response(200, json={"code": 200, "msg": "success", "data": None}),
        httpx.Response(200, json={"code": 200, "msg": "success", "data": {"taskId": ""}}),
    ],
    ids=lambda f: type(f).__name__ if isinstance(f, Exception) else f"http{f.status_code}-{f.content[:12]!r}",
)
def test_create_without_usable_answer_is_ambiguous_and_not_resent(scripted: Any, failure: Any) -> None:
    with pytest.raises(errors.AmbiguousSubmitError) as info:
        _create(scripted, failure, scripted.json({"code": 200, "msg": "success", "data": {"taskId": "t2"}}))
    assert len(scripted.requests) == 1
    assert scripted.sleeps == []
    assert info.value.method == "POST" and info.value.url and "generate" in info.value.url
    assert not info.value.retryable


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("connect timed out"), httpx.PoolTimeout("pool")],
)
def test_create_retried_when_connection_never_opened(scripted: Any, failure: Exception) -> None:
    env = _create(scripted, failure, scripted.json({"code": 200, "msg": "success", "data": {"taskId": "t1"}}))
    assert env == "t1"
    assert len(scripted.requests) == 2 and len(scripted.sleeps) == 1


def test_create_connect_failures_exhaust_into_transport_error(scripted: Any) -> None:
    with pytest.raises(errors.TransportError) as info:
        _create(scripted, *[httpx.ConnectError("refused")] * 3, config=HttpConfig(max_retries=2))
    assert info.value.may_have_reached_server is False
    assert len(scripted.requests) == 3


def test_create_429_retried_with_retry_after_then_succeeds(scripted: Any) -> None:
    env = _create(
        scripted,
        scripted.json({"code": 429, "msg": "Rate limited"}, headers={"Retry-After": "3"}),
        scripted.json({"code": 429, "msg": "Rate limited"}, status=429, headers={"Retry-After": "2"}),
        scripted.json({"code": 200, "msg": "success", "data": {"taskId": "t9"}}),
    )
    assert env == "t9"
    assert scripted.sleeps == [3.0, 2.0]


def test_create_429_retries_are_bounded(scripted: Any) -> None:
    replies = [scripted.json({"code": 429, "msg": "Rate limited"}) for _ in range(3)]
    with pytest.raises(errors.RateLimitError):
        _create(scripted, *replies, config=HttpConfig(max_create_rate_limit_retries=2))
    assert len(scripted.requests) == 3


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthError),
        (402, errors.InsufficientCreditsError),
        (422, errors.ValidationError),
        (455, errors.MaintenanceError),
        (501, errors.GenerationFailedError),
    ],
)
def test_create_definite_rejections_raise_without_resend(scripted: Any, code: int, cls: type) -> None:
    with pytest.raises(cls):
        _create(scripted, scripted.json({"code": code, "msg": "no"}))
    assert len(scripted.requests) == 1 and scripted.sleeps == []


def test_create_goes_through_the_limiter(scripted: Any) -> None:
    calls: list[int] = []

    class CountingLimiter(CreateLimiter):
        async def acquire(self) -> None:
            calls.append(1)

    _create(
        scripted,
        httpx.ConnectError("refused"),
        scripted.json({"code": 200, "msg": "success", "data": {"taskId": "t"}}),
        limiter=CountingLimiter(),
    )
    assert len(calls) == 2  # each attempt counts against the account's window


def test_redirect_on_post_is_not_followed(scripted: Any) -> None:
    with pytest.raises(errors.ApiError) as info:
        _create(scripted, httpx.Response(307, headers={"Location": "https://elsewhere.example/x"}))
    assert not isinstance(info.value, errors.AmbiguousSubmitError)
    assert "redirect" in str(info.value)
    assert len(scripted.requests) == 1


# -- the key never leaks ---------------------------------------------------------------------


def test_key_never_in_errors_or_logs(scripted: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kievideo.api")
    echo = f"Invalid API key {scripted.KEY}"
    scripted.add(
        scripted.json({"code": 401, "msg": echo}),
    )
    collected: list[BaseException] = []

    async def main() -> None:
        async with scripted.transport(config=HttpConfig(max_retries=1)) as t:
            for call in (
                t.get_json("/api/v1/chat/credit"),
                t.post_json("/api/v1/veo/generate", {}, idempotent=False),
                t.get_json("/api/v1/chat/credit"),
            ):
                try:
                    await call
                except errors.ApiError as exc:
                    collected.append(exc)

    scripted.add(httpx.ReadTimeout(f"timeout {scripted.KEY}"))
    scripted.add(httpx.ConnectError("nope"), httpx.Response(500, text=f"<html>{scripted.KEY}</html>"))
    asyncio.run(main())
    assert len(collected) == 3
    for exc in collected:
        texts = [str(exc), repr(exc), exc.user_message, exc.provider_message or "", exc.url or ""]
        texts.append("".join(traceback.format_exception(exc)))
        texts.append(repr(vars(exc)))
        for text in texts:
            assert scripted.KEY not in text
    assert scripted.KEY not in caplog.text
    assert "Authorization" not in caplog.text
    # the requests did carry it, to the API origin
    assert all(r.headers["Authorization"] == f"Bearer {scripted.KEY}" for r in scripted.requests)


def test_base_path_prefix_is_kept(scripted: Any) -> None:
    from kievideo.api.http import ApiTransport

    t = ApiTransport("https://gw.example/openai/", None, scripted.KEY)
    assert str(t.url_for("/v1/video/create")) == "https://gw.example/openai/v1/video/create"
    t2 = ApiTransport("https://api.kie.ai", None, scripted.KEY)
    assert str(t2.url_for("/api/v1/veo/generate")) == "https://api.kie.ai/api/v1/veo/generate"
    with pytest.raises(ValueError):
        t2.url_for("/api/file-stream-upload", "upload")

    async def close() -> None:
        await t.aclose()
        await t2.aclose()

    asyncio.run(close())
