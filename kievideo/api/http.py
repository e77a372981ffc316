"""The HTTP layer shared by every provider client: transport, retries, create limiter, secrets.

Everything money- or secret-sensitive lives here, once:

* ``ApiTransport`` holds the API key in a :class:`Secret` and attaches ``Authorization`` per
  request, only when the request's origin (scheme, host, port, compared exactly) is the
  configured API or upload origin. It never follows a redirect with the header to another origin.
* Idempotent calls are retried on 429, 5xx, 455, timeouts, connection errors and malformed
  answers, with exponential backoff and full jitter, honouring ``Retry-After``.
* Paid creates (``idempotent=False``) are never repeated once their bytes may have reached the
  server. Only a connection that never opened is retried, and a 429 (kie.ai documents it as
  "rejected, not queued"). Anything else without a usable answer is an
  :class:`~kievideo.api.errors.AmbiguousSubmitError`.
* A caller that must record "about to send" durably (the service's sent-marker) takes the
  :class:`CreateLimiter` slot FIRST with :meth:`ApiTransport.acquire_create_slot` and sends the
  create inside :meth:`ApiTransport.prepaid_create`; the create then does not wait again.
* Every answer is streamed and read at most :attr:`HttpConfig.max_response_bytes` deep (a
  larger ``Content-Length`` is refused before reading): a hostile or broken server cannot make
  the app read (or parse) an endless body.
* Result files are fetched with :func:`open_file_client`, which carries no credentials at all.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import email.utils
import functools
import importlib
import importlib.util
import json
import logging
import random
import re
import ssl
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal, TypeVar

import httpx

from kievideo.api.errors import (
    AmbiguousSubmitError,
    ApiError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
    TransportError,
    error_for_code,
)

log = logging.getLogger("kievideo.api")


def _remember_missing_sniffio() -> None:
    """Make httpcore's per-call ``import sniffio`` fail fast when sniffio is not installed.

    httpcore 1.0.9's ``current_async_library()`` runs ``import sniffio`` on every lock, event and
    semaphore setup, i.e. several times per request, and falls back to asyncio on ImportError.
    Since anyio 4.11 nothing installs sniffio, and Python does not cache a failed import: each call
    searched all of ``sys.path`` again (~0.3 ms, 4,000 times in 20 s of bench.responsiveness's
    load phase, on the GUI thread; encode/httpcore#1103). ``sys.modules[name] = None`` is Python's
    documented way to say "this module does not exist": the import then raises at once, so
    httpcore takes the same asyncio branch as before, without the search.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_remember_missing_sniffio()

T = TypeVar("T")
OriginName = Literal["api", "upload"]
Sleep = Callable[[float], Awaitable[None]]
#: builds a fresh request body for each attempt (a streamed body cannot be replayed)
ContentFactory = Callable[[], AsyncIterator[bytes]]

USER_AGENT = "kievideo/1 (+httpx)"
_MAX_REDIRECTS = 5

# Connection failures that prove no request byte left this machine: the TCP/TLS connection never
# opened, or no pooled connection was ever handed out. Everything else (ReadTimeout, WriteError,
# RemoteProtocolError, ReadError, ...) may have happened after the server got the request,
# including a failure on a reused keep-alive connection.
_NEVER_SENT: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context (system/certifi roots, hostname checks) shared by every client.

    Building a context loads the CA bundle (~0.1 s); sharing it keeps client creation cheap.
    Verification is never turned off anywhere in kievideo.
    """
    ctx = httpx.create_ssl_context(verify=True)
    if ctx.verify_mode is not ssl.CERT_REQUIRED or not ctx.check_hostname:  # never run unverified
        raise RuntimeError("TLS verification is not enabled")
    return ctx


class Secret:
    """A string that never shows itself in ``repr``/``str``/format; ``reveal()`` gets it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling would write the key to wherever the pickle goes (a cache, a crash dump).
        raise TypeError("Secret cannot be pickled")


@dataclass(frozen=True, slots=True)
class Origin:
    """``scheme://host:port`` of a URL, with default ports filled in; compared exactly."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str | httpx.URL) -> Origin:
        u = httpx.URL(url) if isinstance(url, str) else url
        scheme = u.scheme.lower()
        if scheme not in ("http", "https") or not u.host:
            raise ValueError(f"not an http(s) URL with a host: {redact_url(u)!r}")
        port = u.port if u.port is not None else (443 if scheme == "https" else 80)
        return cls(scheme, u.host.lower(), port)

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


_SECRET_QUERY_KEYS = frozenset({"key", "api_key", "apikey", "token", "access_token", "signature", "sig"})


def redact_url(url: str | httpx.URL) -> str:
    """The URL without user info and with credential-looking query values masked (for logs/errors)."""
    u = httpx.URL(url) if isinstance(url, str) else url
    if u.userinfo:
        u = u.copy_with(username=None, password=None)
    if u.params:
        params = [(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in u.params.multi_items()]
        u = u.copy_with(params=params)
    return str(u)


@dataclass(frozen=True)
class HttpConfig:
    """Timeouts and retry settings of one transport."""

    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_after_cap: float = 120.0
    #: how often a paid create answered 429 ("rejected, not queued") is sent again
    max_create_rate_limit_retries: int = 3
    #: the most bytes of one answer that are read (a kie.ai answer is a few KB); a larger
    #: answer is refused as a MalformedResponseError ("too large")
    max_response_bytes: int = 4 * 1024 * 1024


def parse_retry_after(
    value: str | None, *, cap: float | None = None, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date; ``None`` if unusable.

    A date in the past gives 0. The result is capped so a hostile or buggy header cannot park the
    client for hours.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    seconds: float | None
    try:
        seconds = float(text)
        if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
            return None
        if seconds < 0:
            return None
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=UTC)
        seconds = max(0.0, when.timestamp() - now())
    if cap is not None:
        seconds = min(seconds, cap)
    return seconds


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a ``Retry-After`` from the server wins (capped)."""

    max_retries: int = 4
    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = 120.0
    rng: Callable[[], float] = random.random

    @classmethod
    def from_config(cls, config: HttpConfig, rng: Callable[[], float] = random.random) -> RetryPolicy:
        return cls(config.max_retries, config.backoff_base, config.backoff_cap, config.retry_after_cap, rng)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)] (attempt counts from 0)."""
        ceiling = min(self.cap, self.base * (2.0 ** min(attempt, 62)))
        return self.rng() * ceiling

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(0.0, retry_after), self.retry_after_cap)
        return self.backoff(attempt)


class CreateLimiter:
    """Client-side sliding window: at most ``max_calls`` creates per ``period`` seconds.

    kie.ai allows 20 new generation requests per 10 s per account and rejects the excess with 429,
    so we pace ourselves instead of collecting 429s. ``clock`` and ``sleep`` are injectable so
    tests run on a fake clock without real waiting.
    """

    def __init__(
        self,
        max_calls: int = 20,
        period: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_calls < 1 or period <= 0:
            raise ValueError("max_calls must be >= 1 and period > 0")
        self.max_calls = max_calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._stamps: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()  # waiters queue in order; no one jumps ahead

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._stamps and self._stamps[0] <= now - self.period:
                    self._stamps.popleft()
                if len(self._stamps) < self.max_calls:
                    self._stamps.append(now)
                    return
                wait = self._stamps[0] + self.period - now
                log.debug("create limiter: waiting %.2f s", wait)
                await self._sleep(wait)


class CreateSlot:
    """One place in a :class:`CreateLimiter` window, taken before a paid create is sent.

    The place counts from the moment it was taken, whether or not the create is then sent
    (conservative: the window never lets more than ``max_calls`` through). It covers exactly
    one create: the first attempt of the first paid call made inside
    :meth:`ApiTransport.prepaid_create`. A second create, or a resend after a 429, takes a new
    place as usual.
    """

    __slots__ = ("_limiter", "_used")

    def __init__(self, limiter: CreateLimiter | None) -> None:
        self._limiter = limiter
        self._used = False

    @property
    def used(self) -> bool:
        return self._used

    def take(self, limiter: CreateLimiter | None) -> bool:
        """Use this slot for a create through ``limiter``: True once, for the same limiter."""
        if self._used or limiter is None or limiter is not self._limiter:
            return False
        self._used = True
        return True

    def __repr__(self) -> str:
        return f"CreateSlot(used={self._used})"


#: the slot a caller took for the next paid create in this task (see ApiTransport.prepaid_create)
_PREPAID_SLOT: contextvars.ContextVar[CreateSlot | None] = contextvars.ContextVar(
    "kievideo_prepaid_create_slot", default=None
)


class ResponseTooLargeError(MalformedResponseError):
    """The answer was larger than :attr:`HttpConfig.max_response_bytes` (refused unread).

    For a paid create it becomes an AmbiguousSubmitError like any unreadable answer (the request
    did leave). It is not repeated at once by the transport: a server that sends a huge answer
    sends it again a few milliseconds later, and each try costs up to the cap in bandwidth. The
    caller's own schedule (the poller's next poll) is the retry.
    """

    default_message = "The provider's answer was too large to be a real answer, so kievideo did not read it."

    @property
    def retryable(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Envelope:
    """One parsed answer: body ``code``/``msg``/``data`` (kie.ai style) plus the whole JSON.

    For APIs without an envelope (the unified video API), ``code`` is the HTTP status,
    ``data`` is the whole body and ``msg`` is empty.
    """

    code: int
    msg: str
    data: Any
    raw: Any
    http_status: int
    success: bool | None = None  # the File Upload API's extra flag

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


def _coerce_code(value: object) -> int | None:
    """The body ``code`` as an int, or None when absent or not a status-like number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        code = value
    elif isinstance(value, str) and value.strip().isdigit():
        code = int(value.strip())
    else:
        return None
    # Some gateways use 0 for "ok"; only HTTP-like codes carry kie.ai's meaning.
    return code if 100 <= code <= 999 else None


def _message_of(body: Mapping[str, Any]) -> str:
    for key in ("msg", "message"):
        val = body.get(key)
        if isinstance(val, str) and val:
            return val
    err = body.get("error")
    if isinstance(err, Mapping):
        val = err.get("message")
        if isinstance(val, str):
            return val
    if isinstance(err, str):
        return err
    return ""


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _describe_non_json(response: httpx.Response, body: bytes) -> str:
    ctype = response.headers.get("content-type", "no content type").split(";")[0]
    if not body.strip():
        return f"an empty body (HTTP {response.status_code})"
    title = _TITLE.search(body[:4096])
    what = "an HTML page" if b"<html" in body[:1024].lower() or title else f"non-JSON {ctype} content"
    desc = f"{what} (HTTP {response.status_code}, {len(body)} bytes)"
    if title:
        desc += f" titled {title.group(1).decode('utf-8', 'replace').strip()[:120]!r}"
    return desc


class ApiTransport:
    """One ``httpx.AsyncClient`` for the API (and optional upload) origin of one account.

    The key is held in a :class:`Secret`. ``repr()`` shows only the origins.
    """

    def __init__(
        self,
        api_base: str,
        upload_base: str | None,
        key: str | Secret,
        *,
        config: HttpConfig | None = None,
        limiter: CreateLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._key = key if isinstance(key, Secret) else Secret(key)
        self.config = config or HttpConfig()
        self.limiter = limiter
        self._sleep = sleep
        self.policy = RetryPolicy.from_config(self.config, rng)
        self._bases: dict[str, httpx.URL] = {"api": self._base_url(api_base)}
        if upload_base is not None:
            self._bases["upload"] = self._base_url(upload_base)
        self._auth_origins = frozenset(Origin.of(u) for u in self._bases.values())
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout),
            follow_redirects=False,  # redirects are followed by hand, see _send
            verify=tls_context(),
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            limits=API_LIMITS,
        )
        from kievideo.api.pooling import quick_readable_checks  # httpcore: imported by now

        quick_readable_checks(self._client)

    @staticmethod
    def _base_url(base: str) -> httpx.URL:
        url = httpx.URL(base)
        if url.userinfo:
            raise ValueError("a base URL must not carry credentials; the key goes in the keyring")
        Origin.of(url)  # validates scheme and host
        return url

    def __repr__(self) -> str:
        origins = ", ".join(f"{k}={Origin.of(v)}" for k, v in self._bases.items())
        return f"ApiTransport({origins})"

    @property
    def api_origin(self) -> Origin:
        return Origin.of(self._bases["api"])

    @property
    def upload_origin(self) -> Origin | None:
        up = self._bases.get("upload")
        return Origin.of(up) if up is not None else None

    def has_origin(self, origin: OriginName) -> bool:
        return origin in self._bases

    def url_for(self, path: str, origin: OriginName = "api") -> httpx.URL:
        try:
            base = self._bases[origin]
        except KeyError:
            raise ValueError(f"this transport has no {origin} origin configured") from None
        prefix = base.path.rstrip("/")  # keep a gateway's path prefix such as /openai
        return base.join(prefix + "/" + path.lstrip("/") if prefix else path)

    def scrub(self, text: str) -> str:
        """``text`` with the key masked, in case a server echoes it back in a message."""
        key = self._key.reveal()
        return text.replace(key, "***") if key and key in text else text

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- create pacing ------------------------------------------------------------------------

    async def acquire_create_slot(self) -> CreateSlot:
        """Wait for a place in this account's create window (at once when there is no limiter).

        Take it BEFORE writing anything that says "the create is going out", then send the
        create inside :meth:`prepaid_create` so it does not wait a second time. A slot that is
        never used still counts in the window.
        """
        if self.limiter is not None:
            await self.limiter.acquire()
        return CreateSlot(self.limiter)

    @contextlib.contextmanager
    def prepaid_create(self, slot: CreateSlot | None) -> Iterator[None]:
        """Inside this block, the first attempt of the first paid create uses ``slot`` instead of
        waiting in the limiter (``None``: the create waits as usual). Context-local: other tasks
        are not affected."""
        token = _PREPAID_SLOT.set(slot)
        try:
            yield
        finally:
            _PREPAID_SLOT.reset(token)

    async def __aenter__(self) -> ApiTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- public calls -----------------------------------------------------------------------

    async def get_json(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        origin: OriginName = "api",
        accept_codes: frozenset[int] = frozenset(),
    ) -> Envelope:
        """GET, retried (reads are idempotent)."""
        return await self.call(
            "GET", path, params=params, origin=origin, accept_codes=accept_codes, parse=_as_envelope
        )

    async def post_json(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        idempotent: bool,
        origin: OriginName = "api",
        accept_codes: frozenset[int] = frozenset(),
    ) -> Envelope:
        """POST JSON. Paid creates must pass ``idempotent=False``: never repeated once sent."""
        return await self.call(
            "POST",
            path,
            json_body=body,
            idempotent=idempotent,
            origin=origin,
            accept_codes=accept_codes,
            parse=_as_envelope,
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Mapping[str, Any] | None = None,
        content: ContentFactory | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        origin: OriginName = "api",
        accept_codes: frozenset[int] = frozenset(),
        parse: Callable[[Envelope], T],
    ) -> T:
        """Send one logical request with the retry rules of the module docstring.

        ``accept_codes``: non-success codes returned as an :class:`Envelope` for the caller to
        read instead of raised (e.g. Veo 1080p's 400 "processing"). ``parse`` turns the envelope
        into the result inside the retry loop, so a malformed payload is retried for reads and
        becomes an :class:`AmbiguousSubmitError` for creates.
        """
        url = self.url_for(path, origin)
        safe_url = redact_url(url)
        attempt = 0  # retries used for idempotent calls and connection failures
        rate_limited = 0  # 429 answers to a create
        prepaid = _PREPAID_SLOT.get() if not idempotent else None
        while True:
            if not idempotent and self.limiter is not None:
                # The caller's slot covers the first attempt only; a resend takes a new place.
                if prepaid is None or not prepaid.take(self.limiter):
                    await self.limiter.acquire()
                prepaid = None
            started = time.monotonic()
            retry_after: float | None = None
            error: ApiError
            try:
                response, body = await self._send(
                    method, url, params=params, json_body=json_body, content=content, headers=headers
                )
                log.debug(
                    "%s %s -> HTTP %d in %.2f s (attempt %d)",
                    method,
                    safe_url,
                    response.status_code,
                    time.monotonic() - started,
                    attempt + 1,
                )
                retry_after = parse_retry_after(
                    response.headers.get("retry-after"), cap=self.config.retry_after_cap
                )
                envelope = self._interpret(response, body, method, safe_url, accept_codes, retry_after)
                return parse(envelope)
            except httpx.DecodingError as exc:
                # The body arrived but could not be decoded (bad gzip, ...): an unreadable answer.
                detail = f"DecodingError: {self.scrub(str(exc))}"
                # ``from None`` here and below: the httpx exception holds the request (and its
                # headers); our error carries a scrubbed description instead.
                if not idempotent:
                    raise AmbiguousSubmitError(provider_message=detail, method=method, url=safe_url) from None
                error = MalformedResponseError(provider_message=detail, method=method, url=safe_url)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, _NEVER_SENT)
                detail = f"{type(exc).__name__}: {self.scrub(str(exc)) or 'no detail'}"
                log.warning("%s %s failed: %s (attempt %d)", method, safe_url, detail, attempt + 1)
                if not idempotent and not never_sent:
                    raise AmbiguousSubmitError(provider_message=detail, method=method, url=safe_url) from None
                error = TransportError(
                    _transport_message(exc),
                    may_have_reached_server=not never_sent,
                    provider_message=detail,
                    method=method,
                    url=safe_url,
                )
            except RateLimitError as exc:
                # 429 means "rejected, not queued" even for a create, so sending it again is safe.
                if not idempotent:
                    if rate_limited >= self.config.max_create_rate_limit_retries:
                        raise
                    delay = self.policy.delay(rate_limited, exc.retry_after)
                    rate_limited += 1
                    log.warning("%s %s rate limited; create sent again in %.2f s", method, safe_url, delay)
                    await self._sleep(delay)
                    continue
                error = exc
            except ApiError as exc:
                if exc.url is None:  # raised by ``parse``: say which request it was about
                    exc.method, exc.url = method, safe_url
                if exc.provider_message:
                    exc.provider_message = self.scrub(exc.provider_message)
                if not idempotent and _no_usable_answer(exc):
                    raise AmbiguousSubmitError(
                        provider_message=exc.provider_message or exc.user_message,
                        code=exc.code,
                        http_status=exc.http_status,
                        method=method,
                        url=safe_url,
                    ) from exc
                if not idempotent:
                    raise  # a definite answer to a create: never sent again
                error = exc
            if not error.retryable or attempt >= self.policy.max_retries:
                raise error from None
            delay = self.policy.delay(attempt, retry_after)
            log.warning(
                "%s %s: %s; retry %d/%d in %.2f s",
                method,
                safe_url,
                type(error).__name__,
                attempt + 1,
                self.policy.max_retries,
                delay,
            )
            attempt += 1
            await self._sleep(delay)

    # -- internals --------------------------------------------------------------------------

    def _authorize(self, request: httpx.Request) -> None:
        if Origin.of(request.url) in self._auth_origins:
            request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        else:
            request.headers.pop("Authorization", None)

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: Mapping[str, str | int] | None,
        json_body: Mapping[str, Any] | None,
        content: ContentFactory | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[httpx.Response, bytes]:
        """Send, follow a GET's redirects, and read the answer (capped). The response returned
        is closed; its body is the bytes returned with it."""
        request = self._client.build_request(
            method,
            url,
            params=dict(params) if params is not None else None,
            json=json_body,
            content=content() if content is not None else None,
            headers=dict(headers) if headers else None,
        )
        self._authorize(request)
        response = await self._client.send(request, stream=True)
        try:
            # Only reads follow redirects: a POST is never replayed to somewhere else. Each hop
            # gets the key only if its origin is one of ours (scheme, host and port exactly).
            hops = 0
            while method == "GET" and response.is_redirect and hops < _MAX_REDIRECTS:
                location = response.headers.get("location", "")
                await response.aclose()
                next_url = response.url.join(location)
                hops += 1
                log.debug("redirect %d to %s", hops, redact_url(next_url))
                request = self._client.build_request("GET", next_url)
                self._authorize(request)
                response = await self._client.send(request, stream=True)
            body = await self._read_capped(response, method, redact_url(response.url))
        finally:
            await response.aclose()
        return response, body

    async def _read_capped(self, response: httpx.Response, method: str, safe_url: str) -> bytes:
        """The (decoded) body, at most ``config.max_response_bytes``; ResponseTooLargeError past
        that, or at once when ``Content-Length`` already says so."""
        cap = self.config.max_response_bytes
        declared = response.headers.get("content-length")
        status = response.status_code
        if declared is not None and declared.strip().isdigit() and int(declared) > cap:
            raise _too_large(status, cap, f"Content-Length: {int(declared)}", method, safe_url)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise _too_large(status, cap, f"more than {cap} bytes", method, safe_url)
            chunks.append(chunk)
        return b"".join(chunks)

    def _interpret(
        self,
        response: httpx.Response,
        content: bytes,
        method: str,
        safe_url: str,
        accept_codes: frozenset[int],
        retry_after: float | None,
    ) -> Envelope:
        status = response.status_code
        where: dict[str, Any] = {"method": method, "url": safe_url}
        if response.is_redirect:
            # A definite answer (nothing was processed), but not one we follow for a POST: a
            # body is never replayed to another URL.
            target = response.headers.get("location", "")
            raise ApiError(
                f"The provider redirected the request (HTTP {status}) instead of answering it.",
                code=status,
                http_status=status,
                provider_message=f"redirect to {redact_url(response.url.join(target))}",
                **where,
            )
        body: Any = None
        is_json = False
        if content.strip():
            try:
                body = json.loads(content)
                is_json = True
            except ValueError:  # includes UnicodeDecodeError
                pass
        if not is_json:
            desc = self.scrub(_describe_non_json(response, content))
            if status >= 500:
                raise ServerError(
                    f"The provider failed with HTTP {status} and sent {desc} instead of JSON.",
                    code=status,
                    http_status=status,
                    provider_message=desc,
                    **where,
                )
            if status >= 400:
                raise error_for_code(status, desc, http_status=status, retry_after=retry_after, **where)
            raise MalformedResponseError(
                f"The provider sent {desc} instead of JSON.",
                http_status=status,
                provider_message=desc,
                **where,
            )
        if not isinstance(body, dict):
            if status >= 500:
                raise ServerError(code=status, http_status=status, **where)
            if status >= 400:
                raise error_for_code(status, None, http_status=status, retry_after=retry_after, **where)
            kind = "null" if body is None else type(body).__name__
            raise MalformedResponseError(
                f"The provider sent a JSON {kind} where an object was expected.", http_status=status, **where
            )
        body_code = _coerce_code(body.get("code"))
        msg = self.scrub(_message_of(body))
        has_envelope = body_code is not None
        code = body_code if body_code is not None else status
        if status >= 400 and 200 <= code < 300:
            code = status  # an error status wins over a body that claims success
        success = body.get("success") if isinstance(body.get("success"), bool) else None
        data = body.get("data") if has_envelope else body
        envelope = Envelope(code=code, msg=msg, data=data, raw=body, http_status=status, success=success)
        if 200 <= code < 300 and status < 300:
            if success is False:
                raise MalformedResponseError(
                    "The provider reported failure without an error code.",
                    http_status=status,
                    provider_message=msg,
                    **where,
                )
            return envelope
        if code in accept_codes:
            return envelope
        if code == 408:
            # kie.ai: "Upstream ... no result for over 10 minutes"; a proxy: request timeout.
            # Either way a transient server-side fault, not a bad request.
            raise ServerError(code=code, http_status=status, provider_message=msg or None, **where)
        raise error_for_code(code, msg or None, http_status=status, retry_after=retry_after, **where)


def _too_large(status: int, cap: int, detail: str, method: str, safe_url: str) -> ResponseTooLargeError:
    mib = cap / (1024 * 1024)
    return ResponseTooLargeError(
        f"The provider's answer was too large (over {mib:g} MB), so kievideo did not read it.",
        http_status=status,
        provider_message=f"answer too large: {detail} (HTTP {status})",
        method=method,
        url=safe_url,
    )


def _as_envelope(envelope: Envelope) -> Envelope:
    return envelope


def _no_usable_answer(err: ApiError) -> bool:
    """For a create: did the answer leave open whether the task was made (and billed)?

    A server fault (HTTP or body 5xx other than the definite 501/505, 408) or an answer we could
    not read may come after the task was created. A definite kie.ai code (400, 401, 402, 422,
    455, ...) says it was not.
    """
    return isinstance(err, MalformedResponseError | ServerError)


def _transport_message(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "The provider did not answer in time. Check your network connection and try again."
    if isinstance(exc, httpx.ConnectError):
        return "Could not connect to the provider. Check your network connection."
    return "The connection to the provider failed. Check your network connection."


def preload_transport() -> None:
    """Import what httpx/httpcore import lazily on the first request (anyio's asyncio backend,
    ~40 ms). Call it on a worker thread at start-up: otherwise the first poll or create pays it
    on the event loop - in the app, that is the GUI thread."""
    importlib.import_module("anyio._backends._asyncio")


#: Connections to one provider's API. Status polls are short; at the poll budget (4 a second)
#: about two are in flight at a time, and a burst (a restart resuming hundreds of jobs) queues
#: for a connection instead of opening up to httpx's default of 100: httpcore walks every
#: connection of the pool for each request, which with ~100 open cost ~2 ms of the GUI thread
#: per request (bench.responsiveness, load phase: 4.8 s of 22 s).
API_LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=8, keepalive_expiry=30.0)


def open_file_client(*, timeout: float = 60.0, connect_timeout: float = 15.0) -> httpx.AsyncClient:
    """A client for result files and other public URLs: no credentials, TLS verified, redirects followed.

    Result hosts (``tempfile.aiquickdraw.com``, CDNs) are not the API origin, so the key must
    never go there; this client has no way to send it.
    """
    from kievideo.api.pooling import quick_readable_checks  # httpcore: imported by the client

    client = httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        follow_redirects=True,
        verify=tls_context(),
        headers={"User-Agent": USER_AGENT},
    )
    quick_readable_checks(client)
    return client
