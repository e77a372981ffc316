"""Every simulator fault kind against the API layer's retry rules, judged by the journal.

The rules (kievideo/api/http.py): reads are retried on 429, 5xx, 455, timeouts, connection
errors and unreadable answers, honouring ``Retry-After``; a paid create is never sent again once
its bytes may have reached the server (``AmbiguousSubmitError``); only a connection that never
opened, or a 429 ("rejected, not queued"), is retried for a create. The journal of the simulator
shows what really arrived, so "not sent twice" is checked on the server side, not on the client.

All backoff goes through the injected sleep (``sleeps.calls`` are the delays asked for); the
jitter is pinned, so the first backoff is exactly ``FIRST_BACKOFF`` seconds. Only ``stall`` and
``slow`` take real time: a fraction of a second against a short client timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from simapi_helpers import (
    FIRST_BACKOFF,
    SleepLog,
    account,
    closed_port,
    fetch,
    finish,
    png_bytes,
    route_entries,
    run,
    unified_transport,
    wait_until,
)

from kievideo.api import errors
from kievideo.api.http import HttpConfig, open_file_client
from kievideo.api.kie import KieAccount
from kievideo.api.models import TaskState
from kievideo.api.runway import AlephGenerateRequest, RunwayExtendRequest, RunwayGenerateRequest
from kievideo.api.unified import UnifiedClient, UnifiedCreateRequest
from kievideo.api.veo import VeoExtendRequest, VeoGenerateRequest
from kievideo.sim import PRICES, FaultSpec, SimServer
from kievideo.sim.config import FAULT_KINDS

pytestmark = pytest.mark.sim(speed=0, credits=10_000)

SHORT = 0.5  # client timeout (s) for stall/slow cases; the fault outlasts it


@dataclass(frozen=True)
class Case:
    """One fault on one request: the FaultSpec extras, the client config, what must happen."""

    kind: str
    spec: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    #: what the injected sleep must have been asked for (Retry-After or the pinned backoff)
    sleeps: tuple[float, ...] = (FIRST_BACKOFF,)

    @property
    def attempts(self) -> int:
        return len(self.sleeps) + 1

    @property
    def id(self) -> str:
        return self.kind + ("-past-timeout" if self.config else "")


# -- reads: one fault, then the retry succeeds -------------------------------------------------------

READ_CASES = [
    Case("http500"),
    Case("http502"),
    Case("http503", {"retry_after": 3}, sleeps=(3.0,)),  # Retry-After honoured
    Case("code500"),
    Case("code455"),
    Case("rate429", {"retry_after": 7}, sleeps=(7.0,)),  # Retry-After honoured
    Case("reset"),
    Case("stall", {"seconds": 3}, {"timeout": SHORT}),
    Case("slow", {"seconds": 0.05}, sleeps=()),  # late but inside the timeout: an answer, no retry
    Case("slow", {"seconds": 2}, {"timeout": SHORT}),  # the client gave up: retried
    Case("malformed_json"),
    Case("html_error"),
    Case("empty_body"),
    Case("truncate"),  # on the API origin: the JSON is cut off mid-body
    Case("accept_then_500"),
    Case("accept_then_reset"),
]


def test_every_fault_kind_is_covered() -> None:
    assert {c.kind for c in READ_CASES} == FAULT_KINDS
    assert {c.kind for c, _ in CREATE_AMBIGUOUS} | {"rate429", "code455"} == FAULT_KINDS


async def _prepare_read(acct: KieAccount, endpoint: str) -> Callable[[], Awaitable[Any]]:
    if endpoint == "common.credit":
        return acct.common.credits
    tid = await acct.veo.generate(VeoGenerateRequest("A cat"))
    return lambda: acct.veo.record_info(tid)


@pytest.mark.parametrize("endpoint", ["common.credit", "veo.record_info"])
@pytest.mark.parametrize("case", READ_CASES, ids=[c.id for c in READ_CASES])
def test_read_is_retried_through_one_fault(
    sim: SimServer, sleeps: SleepLog, endpoint: str, case: Case
) -> None:
    async def main() -> Any:
        async with account(sim, sleeps, **case.config) as acct:
            read = await _prepare_read(acct, endpoint)
            sim.set_faults([FaultSpec(endpoint, case.kind, count=1, **case.spec)])
            return await read()

    result = run(main())
    if endpoint == "common.credit":
        assert result == sim.credits
    else:
        assert result.state is TaskState.RUNNING
    entries = route_entries(sim, endpoint)
    assert len(entries) == case.attempts, [(e.fault, e.status) for e in entries]
    assert entries[0].fault == case.kind
    assert [e.fault for e in entries[1:]] == [None] * (case.attempts - 1)
    assert entries[-1].status == 200 and not entries[-1].dropped
    assert sleeps.calls == list(case.sleeps)
    assert len(sim.creates()) == (0 if endpoint == "common.credit" else 1)  # a read creates nothing


EXHAUST: list[tuple[Case, type[errors.ApiError]]] = [
    (Case("http500"), errors.ServerError),
    (Case("http502"), errors.ServerError),
    (Case("http503", {"retry_after": 2}), errors.ServerError),
    (Case("code500"), errors.ServerError),
    (Case("code455"), errors.MaintenanceError),
    (Case("rate429", {"retry_after": 4}), errors.RateLimitError),
    (Case("reset"), errors.TransportError),
    (Case("stall", {"seconds": 3}, {"timeout": 0.15}), errors.TransportError),
    (Case("slow", {"seconds": 2}, {"timeout": 0.15}), errors.TransportError),
    (Case("malformed_json"), errors.MalformedResponseError),
    (Case("html_error"), errors.ServerError),
    (Case("empty_body"), errors.MalformedResponseError),
    (Case("truncate"), errors.TransportError),
    (Case("accept_then_500"), errors.ServerError),
    (Case("accept_then_reset"), errors.TransportError),
]


@pytest.mark.parametrize(("case", "error"), EXHAUST, ids=[c.id for c, _ in EXHAUST])
def test_read_under_a_lasting_fault_gives_up_after_max_retries(
    sim: SimServer, sleeps: SleepLog, case: Case, error: type[errors.ApiError]
) -> None:
    sim.set_faults([FaultSpec("common.credit", case.kind, **case.spec)])

    async def main() -> None:
        async with account(sim, sleeps, max_retries=2, **case.config) as acct:
            await acct.common.credits()

    with pytest.raises(error) as info:
        run(main())
    assert type(info.value) is error  # not a subclass standing in for it
    assert len(route_entries(sim, "common.credit")) == 3  # 1 + max_retries, exactly
    retry_after = case.spec.get("retry_after")
    expected = [float(retry_after)] * 2 if retry_after else [FIRST_BACKOFF, 2 * FIRST_BACKOFF]
    assert sleeps.calls == expected
    if isinstance(info.value, errors.TransportError):
        assert info.value.may_have_reached_server is True
    if case.kind == "html_error":
        assert "HTML page" in (info.value.provider_message or "")
        assert "502 Bad Gateway" in (info.value.provider_message or "")
    assert sim.key not in str(info.value) and sim.key not in repr(info.value)


def test_retry_after_is_capped(sim: SimServer, sleeps: SleepLog) -> None:
    sim.set_faults([FaultSpec("common.credit", "rate429", count=1, retry_after=100_000)])

    async def main() -> int:
        async with account(sim, sleeps) as acct:
            return await acct.common.credits()

    assert run(main()) == 10_000
    assert sleeps.calls == [HttpConfig().retry_after_cap]


def test_first_1080p_call_answered_500_after_it_started_the_upscale_is_retried_and_charged_once(
    sim: SimServer, sleeps: SleepLog
) -> None:
    # get-1080p-video is a GET the client retries; the first call starts (and pays for) the
    # upscale. A retry after accept_then_500 must not pay again: the server already has it.
    async def main() -> bool:
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("A cat"))
            finish(sim, tid)
            sim.set_faults([FaultSpec("veo.get_1080p", "accept_then_500", count=1)])
            return (await acct.veo.get_1080p(tid)).ready

    assert run(main()) is False
    entries = route_entries(sim, "veo.get_1080p")
    assert [(e.fault, e.charged) for e in entries] == [("accept_then_500", PRICES["veo_1080p"]), (None, 0)]
    assert sim.credits == 10_000 - PRICES["veo3_fast"] - PRICES["veo_1080p"]


def test_stream_upload_is_retried_after_a_reset_and_progress_starts_again(
    sim: SimServer, sleeps: SleepLog, tmp_path: Path
) -> None:
    path = tmp_path / "clip.bin"
    payload = bytes(range(251)) * 3000
    path.write_bytes(payload)
    progress: list[tuple[int, int]] = []
    sim.set_faults([FaultSpec("upload.stream", "accept_then_reset", count=1)])

    async def main() -> str:
        async with account(sim, sleeps) as acct:
            up = await acct.files.upload_stream(path, progress=lambda s, t: progress.append((s, t)))
            return up.download_url

    url = run(main())
    assert sim.file_bytes(url) == payload
    assert len(route_entries(sim, "upload.stream")) == 2  # uploads are free: retried
    assert [p for p in progress if p[0] == 0] == [(0, len(payload))] * 2  # restarted from 0
    assert progress[-1] == (len(payload), len(payload))
    assert sleeps.calls == [FIRST_BACKOFF]


def test_truncated_result_file_raises_and_a_second_get_is_complete(sim: SimServer, sleeps: SleepLog) -> None:
    # Result files are fetched with the credential-free client; it does not retry (resuming is
    # the downloader's job), so the cut shows as a protocol error and the next GET is whole.
    async def main() -> tuple[str, bytes]:
        async with account(sim, sleeps) as acct:
            tid = await acct.veo.generate(VeoGenerateRequest("A cat"))
            finish(sim, tid)
            url = (await acct.veo.record_info(tid)).video_urls[0]
        sim.set_faults([FaultSpec("files.result", "truncate", count=1, fraction=0.4, origin="files")])
        async with open_file_client() as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(url)
        return url, await fetch(url)

    url, data = run(main())
    assert data == sim.file_bytes(url)
    files = [e for e in sim.journal if e.origin == "files"]
    assert [(e.fault, e.dropped) for e in files] == [("truncate", True), (None, False)]
    assert not any(e.auth_present for e in files)


# -- paid creates: never sent twice -------------------------------------------------------------------

#: (case, processed): processed = the server created (and billed) the task before the answer broke
CREATE_AMBIGUOUS: list[tuple[Case, bool]] = [
    (Case("accept_then_500", sleeps=()), True),
    (Case("accept_then_reset", sleeps=()), True),
    (Case("truncate", sleeps=()), True),
    (Case("slow", {"seconds": 1.0}, {"timeout": SHORT}, sleeps=()), True),  # runs after the client gave up
    (Case("reset", sleeps=()), False),
    (Case("stall", {"seconds": 3}, {"timeout": SHORT}, sleeps=()), False),
    (Case("malformed_json", sleeps=()), False),
    (Case("html_error", sleeps=()), False),
    (Case("empty_body", sleeps=()), False),
    (Case("http500", sleeps=()), False),
    (Case("http502", sleeps=()), False),
    (Case("http503", sleeps=()), False),
    (Case("code500", sleeps=()), False),
]


@pytest.mark.parametrize(("case", "processed"), CREATE_AMBIGUOUS, ids=[c.id for c, _ in CREATE_AMBIGUOUS])
def test_create_without_a_usable_answer_is_ambiguous_and_sent_once(
    sim: SimServer, sleeps: SleepLog, case: Case, processed: bool
) -> None:
    # count=1: if the client sent the create again, the resend would go through and show up.
    sim.set_faults([FaultSpec("veo.generate", case.kind, count=1, **case.spec)])

    async def main() -> None:
        async with account(sim, sleeps, **case.config) as acct:
            await acct.veo.generate(VeoGenerateRequest("A paid cat"))

    with pytest.raises(errors.AmbiguousSubmitError) as info:
        run(main())
    if case.kind == "slow":  # the server finishes the create after the client timed out
        wait_until(lambda: len(sim.creates()) == 1)
    (entry,) = route_entries(sim, "veo.generate")  # exactly one request reached the server
    assert entry.fault == case.kind
    assert len(sim.creates()) == (1 if processed else 0)
    assert sim.credits == 10_000 - (PRICES["veo3_fast"] if processed else 0)
    assert sleeps.calls == []
    assert "check your provider's task logs" in str(info.value)
    assert sim.key not in str(info.value) and sim.key not in repr(info.value)


CREATE_ROUTES = [
    "veo.generate",
    "veo.extend",
    "veo.get_4k",
    "runway.generate",
    "runway.extend",
    "aleph.generate",
    "unified.create",
]


async def _prepare_create(
    sim: SimServer, acct: KieAccount, uni: UnifiedClient, route: str
) -> Callable[[], Awaitable[Any]]:
    """The paid call for ``route``, with whatever finished task it needs made beforehand."""
    if route in ("veo.extend", "veo.get_4k"):
        base = await acct.veo.generate(VeoGenerateRequest("A base"))
        finish(sim, base)
        if route == "veo.extend":
            return lambda: acct.veo.extend(VeoExtendRequest(base, "More"))
        return lambda: acct.veo.request_4k(base)
    if route in ("runway.extend", "aleph.generate"):
        base = await acct.runway.generate(RunwayGenerateRequest("A base", aspect_ratio="16:9"))
        finish(sim, base)
        if route == "runway.extend":
            return lambda: acct.runway.extend(RunwayExtendRequest(base, "More"))
        video = (await acct.runway.record_detail(base)).video_urls[0]
        return lambda: acct.aleph.generate(AlephGenerateRequest("Restyle", video_url=video))
    if route == "runway.generate":
        return lambda: acct.runway.generate(RunwayGenerateRequest("A fox", aspect_ratio="1:1"))
    if route == "unified.create":
        return lambda: uni.create(UnifiedCreateRequest("veo3.1-fast", "A fox"))
    return lambda: acct.veo.generate(VeoGenerateRequest("A fox"))


@pytest.mark.parametrize("kind", ["accept_then_500", "accept_then_reset"])
@pytest.mark.parametrize("route", CREATE_ROUTES)
def test_accepted_create_that_loses_its_answer_is_never_sent_twice(
    sim: SimServer, sleeps: SleepLog, route: str, kind: str
) -> None:
    async def main() -> int:
        async with account(sim, sleeps) as acct, unified_transport(sim, sleeps) as ut:
            call = await _prepare_create(sim, acct, UnifiedClient(ut), route)
            before = len(sim.journal)
            sim.set_faults([FaultSpec(route, kind, count=1)])
            with pytest.raises(errors.AmbiguousSubmitError):
                await call()
            return before

    before = run(main())
    after = sim.journal[before:]
    assert [(e.route, e.fault) for e in after] == [(route, kind)]  # one request, no resend
    assert after[0].create and after[0].task_id is not None  # ... and it did create the task
    assert [e.task_id for e in sim.creates() if e.route == route][-1] == after[0].task_id
    assert sleeps.calls == []


def test_create_answered_429_is_sent_again_after_retry_after_and_accepted_once(
    sim: SimServer, sleeps: SleepLog
) -> None:
    sim.set_faults([FaultSpec("veo.generate", "rate429", count=1, retry_after=4)])

    async def main() -> str:
        async with account(sim, sleeps) as acct:
            return await acct.veo.generate(VeoGenerateRequest("A patient cat"))

    tid = run(main())
    entries = route_entries(sim, "veo.generate")
    assert [(e.status, e.code, e.create) for e in entries] == [(429, 429, False), (200, 200, True)]
    assert [e.task_id for e in sim.creates()] == [tid]
    assert sleeps.calls == [4.0]
    assert sim.credits == 10_000 - PRICES["veo3_fast"]


def test_create_under_lasting_429_gives_up_with_rate_limit_error(sim: SimServer, sleeps: SleepLog) -> None:
    sim.set_faults([FaultSpec("veo.generate", "rate429", retry_after=2)])

    async def main() -> None:
        async with account(sim, sleeps) as acct:
            await acct.veo.generate(VeoGenerateRequest("A cat"))

    with pytest.raises(errors.RateLimitError) as info:
        run(main())
    resends = HttpConfig().max_create_rate_limit_retries
    assert info.value.retry_after == 2.0
    assert len(route_entries(sim, "veo.generate")) == 1 + resends
    assert sleeps.calls == [2.0] * resends
    assert sim.creates() == [] and sim.credits == 10_000


def test_create_answered_455_is_maintenance_and_not_sent_again(sim: SimServer, sleeps: SleepLog) -> None:
    sim.set_faults([FaultSpec("veo.generate", "code455", count=1)])

    async def main() -> None:
        async with account(sim, sleeps) as acct:
            await acct.veo.generate(VeoGenerateRequest("A cat"))

    with pytest.raises(errors.MaintenanceError) as info:
        run(main())
    assert info.value.code == 455 and not isinstance(info.value, errors.AmbiguousSubmitError)
    assert len(route_entries(sim, "veo.generate")) == 1
    assert sim.creates() == [] and sleeps.calls == []


def test_slow_create_inside_the_timeout_is_simply_accepted(sim: SimServer, sleeps: SleepLog) -> None:
    sim.set_faults([FaultSpec("veo.generate", "slow", count=1, seconds=0.05)])

    async def main() -> str:
        async with account(sim, sleeps) as acct:
            return await acct.veo.generate(VeoGenerateRequest("A cat"))

    tid = run(main())
    (entry,) = route_entries(sim, "veo.generate")
    assert entry.fault == "slow" and entry.task_id == tid and sleeps.calls == []


# -- a refused connection: never sent, so retried, and nothing reached the server ----------------


@pytest.mark.parametrize("what", ["veo.generate", "common.credit", "unified.create"])
def test_refused_connection_is_retried_then_transport_error_and_nothing_arrives(
    sim: SimServer, sleeps: SleepLog, what: str
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"

    async def main() -> None:
        if what == "unified.create":
            async with unified_transport(sim, sleeps, api_url=dead) as t:
                await UnifiedClient(t).create(UnifiedCreateRequest("veo3.1-fast", "A cat"))
            return
        async with account(sim, sleeps, api_url=dead) as acct:
            if what == "veo.generate":
                await acct.veo.generate(VeoGenerateRequest("A cat"))
            else:
                await acct.common.credits()

    with pytest.raises(errors.TransportError) as info:
        run(main())
    err = info.value
    assert type(err) is errors.TransportError  # not AmbiguousSubmitError: it provably never left
    assert err.may_have_reached_server is False
    assert "ConnectError" in (err.provider_message or "")
    max_retries = HttpConfig().max_retries
    assert sleeps.calls == [FIRST_BACKOFF * 2**i for i in range(max_retries)]
    assert sim.journal == [] and sim.creates() == []


# -- credentials, over a run with faults --------------------------------------------------------------


def test_faulty_run_never_sends_the_key_to_the_file_origin(sim: SimServer, sleeps: SleepLog) -> None:
    # Faults on every origin at once; retries included, the key goes to api/upload only.
    sim.set_faults(
        [
            FaultSpec("*", "reset", count=2, origin="api", after=1),
            FaultSpec("*", "http502", count=1, origin="upload"),
            FaultSpec("*", "truncate", count=1, origin="files"),
        ]
    )

    async def main() -> None:
        async with account(sim, sleeps) as acct:
            up = await acct.files.upload_base64(png_bytes(), "image/png")
            tid = await acct.veo.generate(VeoGenerateRequest("A cat", image_urls=(up.download_url,)))
            finish(sim, tid)
            view = await acct.veo.record_info(tid)
            link = await acct.common.download_url(view.video_urls[0])
            async with open_file_client() as client:
                with pytest.raises(httpx.RemoteProtocolError):
                    await client.get(link)
            assert await fetch(link) == sim.file_bytes(view.video_urls[0])

    run(main())
    origins = {e.origin for e in sim.journal}
    assert origins == {"api", "upload", "files"}
    assert [e.fault for e in sim.journal if e.fault] == ["http502", "reset", "reset", "truncate"]
    assert all(not e.auth_present for e in sim.journal if e.origin == "files")
    assert all(e.auth_present and e.auth_valid for e in sim.journal if e.origin != "files")
