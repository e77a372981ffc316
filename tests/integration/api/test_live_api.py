"""The API layer over real sockets on 127.0.0.1: retries and Retry-After, paid creates that must
not be sent twice, credentials only where they belong, error mapping, streaming upload."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from kievideo.api import errors
from kievideo.api.common import CommonClient
from kievideo.api.http import ApiTransport, CreateLimiter, HttpConfig, open_file_client
from kievideo.api.kie import KieAccount
from kievideo.api.models import TaskState
from kievideo.api.unified import UnifiedClient, UnifiedCreateRequest
from kievideo.api.uploads import CHUNK_SIZE, FileUploadClient
from kievideo.api.veo import VeoClient, VeoGenerateRequest

KEY = "kie-live-KEY-0123456789abcdef"
BEARER = f"Bearer {KEY}"


def ok(data: Any) -> dict[str, Any]:
    return {"code": 200, "msg": "success", "data": data}


def transport(api: Any, sleeps: Any, *, upload: Any = None, **cfg: Any) -> ApiTransport:
    config = HttpConfig(**{"timeout": 5.0, "connect_timeout": 2.0, **cfg})
    return ApiTransport(api.url, upload.url if upload else None, KEY, config=config, sleep=sleeps)


# -- retries and Retry-After -------------------------------------------------------------------


def test_retry_after_is_honoured_on_reads(servers: Callable[..., Any], sleeps: Any, reply_cls: Any) -> None:
    api = servers()
    api.replies = [
        reply_cls.json({"code": 429, "msg": "Rate limit exceeded"}, status=429, headers={"Retry-After": "1"}),
        reply_cls.json({"code": 455, "msg": "maintenance"}, headers={"Retry-After": "4"}),
        reply_cls.json(ok(321)),
    ]

    async def main() -> int:
        async with transport(api, sleeps) as t:
            return await CommonClient(t).credits()

    assert asyncio.run(main()) == 321
    assert sleeps.calls == [1.0, 4.0]
    assert len(api.requests) == 3


def test_retry_after_real_wait_is_at_least_the_header(servers: Callable[..., Any], reply_cls: Any) -> None:
    # One test with the real asyncio.sleep, to show the default really waits (1 s header).
    api = servers()
    api.replies = [
        reply_cls.json({"code": 429, "msg": "slow"}, status=429, headers={"Retry-After": "1"}),
        reply_cls.json(ok(5)),
    ]

    async def main() -> int:
        async with ApiTransport(api.url, None, KEY) as t:
            return await CommonClient(t).credits()

    started = time.monotonic()
    assert asyncio.run(main()) == 5
    assert time.monotonic() - started >= 1.0


def test_read_retries_on_dropped_connection_and_html_5xx(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any
) -> None:
    api = servers()
    api.replies = [
        reply_cls(action="drop"),
        reply_cls(
            502,
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            {"Content-Type": "text/html"},
        ),
        reply_cls.json(ok({"taskId": "t", "successFlag": 0})),
    ]

    async def main() -> Any:
        async with transport(api, sleeps) as t:
            return await VeoClient(t).record_info("t")

    assert asyncio.run(main()).state is TaskState.RUNNING
    assert len(api.requests) == 3 and len(sleeps.calls) == 2


def test_read_timeout_is_retried_for_reads(servers: Callable[..., Any], sleeps: Any, reply_cls: Any) -> None:
    api = servers()
    api.replies = [reply_cls(action="hang"), reply_cls.json(ok(7))]

    async def main() -> int:
        async with transport(api, sleeps, timeout=0.5) as t:
            return await CommonClient(t).credits()

    assert asyncio.run(main()) == 7
    assert len(api.requests) == 2


# -- paid creates ------------------------------------------------------------------------------


def test_create_that_times_out_after_sending_is_not_sent_again(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any
) -> None:
    api = servers()
    api.responder = lambda rec: reply_cls(action="hang")  # the server got it and never answers

    async def main() -> None:
        async with transport(api, sleeps, timeout=0.5) as t:
            await VeoClient(t).generate(VeoGenerateRequest("a cat"))

    with pytest.raises(errors.AmbiguousSubmitError) as info:
        asyncio.run(main())
    assert len(api.requests) == 1
    assert api.requests[0].path == "/api/v1/veo/generate"
    assert sleeps.calls == []
    assert "ReadTimeout" in (info.value.provider_message or "")
    assert "check your provider's task logs" in str(info.value)


def test_create_on_a_reused_keepalive_connection_that_drops_is_ambiguous(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any
) -> None:
    # A request on a pooled connection that the server closes may have been processed: the
    # create must not be repeated even though httpx saw no answer at all.
    api = servers()
    api.replies = [reply_cls.json(ok(10)), reply_cls(action="drop"), reply_cls.json(ok({"taskId": "dup"}))]

    async def main() -> None:
        async with transport(api, sleeps) as t:
            assert await CommonClient(t).credits() == 10
            await VeoClient(t).generate(VeoGenerateRequest("a cat"))

    with pytest.raises(errors.AmbiguousSubmitError):
        asyncio.run(main())
    assert [r.path for r in api.requests] == ["/api/v1/chat/credit", "/api/v1/veo/generate"]
    assert api.connections == 1  # the create really went over the reused connection


def test_create_on_refused_connection_is_retried(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any, port_factory: Callable[[], int]
) -> None:
    port = port_factory()
    started: list[Any] = []

    def start_server_during_backoff(_: float) -> None:
        # The first attempt was refused (nothing listened); now the server comes up.
        if not started:
            srv = servers(port)
            srv.responder = lambda rec: reply_cls.json(ok({"taskId": "veo_task_1"}))
            started.append(srv)

    sleeps.hook = start_server_during_backoff
    api = type("Base", (), {"url": f"http://127.0.0.1:{port}"})()

    async def main() -> str:
        async with transport(api, sleeps) as t:
            return await VeoClient(t).generate(VeoGenerateRequest("a cat"))

    assert asyncio.run(main()) == "veo_task_1"
    assert len(sleeps.calls) == 1
    assert len(started[0].requests) == 1  # sent exactly once, after the refused connect


def test_create_answered_429_is_sent_again_after_retry_after(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any
) -> None:
    api = servers()
    api.replies = [
        reply_cls.json({"code": 429, "msg": "Rate limited"}, status=429, headers={"Retry-After": "2"}),
        reply_cls.json(ok({"taskId": "veo_task_2"})),
    ]

    async def main() -> str:
        async with transport(api, sleeps) as t:
            return await VeoClient(t).generate(VeoGenerateRequest("a cat"))

    assert asyncio.run(main()) == "veo_task_2"
    assert sleeps.calls == [2.0] and len(api.requests) == 2


def test_create_answered_by_html_500_is_ambiguous(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any
) -> None:
    api = servers()
    api.responder = lambda rec: reply_cls(
        500, b"<html><title>Internal Server Error</title></html>", {"Content-Type": "text/html"}
    )

    async def main() -> None:
        async with transport(api, sleeps) as t:
            await UnifiedClient(t).create(UnifiedCreateRequest("veo3.1-fast", "a cat"))

    with pytest.raises(errors.AmbiguousSubmitError) as info:
        asyncio.run(main())
    assert info.value.http_status == 500 and len(api.requests) == 1


def test_limiter_paces_creates_over_sockets(servers: Callable[..., Any], reply_cls: Any) -> None:
    api = servers()
    api.responder = lambda rec: reply_cls.json(ok({"taskId": f"t{len(api.requests)}"}))
    now = [0.0]
    waits: list[float] = []

    async def fake_sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    limiter = CreateLimiter(2, 10.0, clock=lambda: now[0], sleep=fake_sleep)

    async def main() -> list[str]:
        async with ApiTransport(api.url, None, KEY, limiter=limiter) as t:
            veo = VeoClient(t)
            return [await veo.generate(VeoGenerateRequest(f"p{i}")) for i in range(5)]

    assert asyncio.run(main()) == ["t1", "t2", "t3", "t4", "t5"]
    assert waits == [10.0, 10.0]


# -- credentials ---------------------------------------------------------------------------------


def test_authorization_on_api_and_upload_origins(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any, tmp_path: Path
) -> None:
    api, upload = servers(), servers()
    api.responder = lambda rec: reply_cls.json(ok(1))
    upload.responder = lambda rec: reply_cls.json(
        {
            "success": True,
            "code": 200,
            "msg": "ok",
            "data": {
                "fileName": "a.png",
                "filePath": "kievideo/images/a.png",
                "downloadUrl": f"{upload.url}/f/a.png",
                "fileSize": 3,
                "mimeType": "image/png",
                "uploadedAt": "2025-01-01T12:00:00.000Z",
            },
        }
    )
    img = tmp_path / "a.png"
    img.write_bytes(b"png")

    async def main() -> None:
        async with KieAccount(api.url, upload.url, KEY, sleep=sleeps) as acct:
            await acct.common.credits()
            await acct.files.upload_stream(img)
            await acct.files.upload_url("https://example.com/b.png")

    asyncio.run(main())
    assert [r.header("Authorization") for r in api.requests] == [BEARER]
    assert [r.header("Authorization") for r in upload.requests] == [BEARER, BEARER]
    assert [r.path for r in upload.requests] == ["/api/file-stream-upload", "/api/file-url-upload"]


def test_file_host_gets_no_authorization(servers: Callable[..., Any], reply_cls: Any) -> None:
    files = servers()
    files.responder = lambda rec: reply_cls(200, b"MP4DATA", {"Content-Type": "video/mp4"})

    async def main() -> bytes:
        async with open_file_client() as client:
            return (await client.get(f"{files.url}/v/video.mp4")).content

    assert asyncio.run(main()) == b"MP4DATA"
    assert files.requests[0].header("Authorization") is None


def test_redirect_to_another_origin_drops_authorization(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any
) -> None:
    api, other = servers(), servers()  # same host, another port: another origin
    api.replies = [
        reply_cls(302, b"", {"Location": f"{api.url}/api/v1/chat/credit-moved"}),  # same origin: keeps it
        reply_cls(307, b"", {"Location": f"{other.url}/elsewhere"}),
    ]
    other.responder = lambda rec: reply_cls.json(ok(99))

    async def main() -> int:
        async with transport(api, sleeps) as t:
            return await CommonClient(t).credits()

    assert asyncio.run(main()) == 99
    assert [r.header("Authorization") for r in api.requests] == [BEARER, BEARER]
    assert other.requests[0].header("Authorization") is None
    assert other.requests[0].path == "/elsewhere"


def test_file_client_redirect_never_carries_credentials(servers: Callable[..., Any], reply_cls: Any) -> None:
    cdn, store = servers(), servers()
    cdn.responder = lambda rec: reply_cls(302, b"", {"Location": f"{store.url}/blob"})
    store.responder = lambda rec: reply_cls(200, b"blob")

    async def main() -> bytes:
        async with open_file_client() as client:
            return (await client.get(f"{cdn.url}/v/a.mp4")).content

    assert asyncio.run(main()) == b"blob"
    assert (
        cdn.requests[0].header("Authorization") is None and store.requests[0].header("Authorization") is None
    )


# -- error mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (401, errors.AuthError),
        (402, errors.InsufficientCreditsError),
        (429, errors.RateLimitError),
        (455, errors.MaintenanceError),
        (500, errors.ServerError),
    ],
)
@pytest.mark.parametrize("where", ["body", "http"])
def test_error_codes_map(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any, code: int, cls: type, where: str
) -> None:
    api = servers()
    msg = f"provider text {code}"
    if where == "body":  # kie.ai's norm: HTTP 200, the code in the body
        api.responder = lambda rec: reply_cls.json({"code": code, "msg": msg, "data": None})
    else:  # a gateway/proxy answering with the HTTP status and an OpenAI-style body
        api.responder = lambda rec: reply_cls.json({"error": {"message": msg}}, status=code)

    async def main() -> None:
        async with transport(api, sleeps, max_retries=2) as t:
            await CommonClient(t).credits()

    with pytest.raises(cls) as info:
        asyncio.run(main())
    err = info.value
    assert err.code == code and err.provider_message == msg
    assert err.http_status == (200 if where == "body" else code)
    assert err.method == "GET" and err.url == f"{api.url}/api/v1/chat/credit"
    assert KEY not in str(err) and KEY not in repr(err)
    expected_attempts = 3 if err.retryable else 1
    assert len(api.requests) == expected_attempts


# -- streaming upload ----------------------------------------------------------------------------


def test_stream_upload_20mb_exact_bytes_progress_and_bounded_memory(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any, tmp_path: Path
) -> None:
    size = 20 * 1024 * 1024 + 12345
    path = tmp_path / "clip.mp4"
    block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB of varied bytes
    with path.open("wb") as fh:
        written = 0
        while written < size:
            piece = block[: size - written]
            fh.write(piece)
            written += len(piece)
    upload = servers()
    upload.responder = lambda rec: reply_cls.json(
        {
            "success": True,
            "code": 200,
            "msg": "File uploaded successfully",
            "data": {
                "fileName": "clip.mp4",
                "filePath": "videos/clip.mp4",
                "downloadUrl": "https://t/videos/clip.mp4",
                "fileSize": size,
                "mimeType": "video/mp4",
                "uploadedAt": "2025-01-01T12:00:00.000Z",
            },
        }
    )
    api = servers()
    progress: list[tuple[int, int]] = []

    async def main() -> Any:
        async with ApiTransport(api.url, upload.url, KEY, sleep=sleeps) as t:
            return await FileUploadClient(t).upload_stream(
                path, "videos", progress=lambda sent, total: progress.append((sent, total))
            )

    tracemalloc.start()
    try:
        result = asyncio.run(main())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.download_url == "https://t/videos/clip.mp4"
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes: the file was buffered"

    (rec,) = upload.requests
    ctype = rec.header("Content-Type") or ""
    assert ctype.startswith("multipart/form-data; boundary=")
    boundary = ctype.split("boundary=", 1)[1]
    assert rec.header("Transfer-Encoding") is None
    assert int(rec.header("Content-Length") or -1) == rec.length
    preamble = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="uploadPath"\r\n\r\nvideos\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="fileName"\r\n\r\nclip.mp4\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        f"Content-Type: video/mp4\r\n\r\n"
    ).encode()
    epilogue = f"\r\n--{boundary}--\r\n".encode()
    expected = hashlib.sha256(preamble)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            expected.update(chunk)
    expected.update(epilogue)
    assert rec.length == len(preamble) + size + len(epilogue)
    assert rec.sha256 == expected.hexdigest()
    assert rec.head.startswith(preamble) and rec.tail.endswith(epilogue)
    assert progress[0] == (0, size) and progress[-1] == (size, size)
    assert len(progress) == 1 + -(-size // CHUNK_SIZE)
    assert all(b[0] - a[0] <= CHUNK_SIZE for a, b in itertools.pairwise(progress))


# -- unified id on the wire ---------------------------------------------------------------------


def test_unified_id_colon_is_percent_encoded_on_the_wire(
    servers: Callable[..., Any], sleeps: Any, reply_cls: Any
) -> None:
    gw = servers()
    gw.replies = [
        reply_cls.json(
            {
                "id": "veo3.1-fast:1770350082-trii1OXZc3",
                "status": "pending",
                "status_update_time": 1770350082000,
            }
        ),
        reply_cls.json(
            {
                "id": "veo3.1-fast:1770350082-trii1OXZc3",
                "status": "video_generating",
                "video_url": None,
                "status_update_time": 1770350090,
            }
        ),
    ]

    async def main() -> Any:
        async with ApiTransport(gw.url, None, KEY, sleep=sleeps) as t:
            client = UnifiedClient(t)
            task_id = await client.create(UnifiedCreateRequest("veo3.1-fast", "make animate"))
            return await client.query(task_id)

    view = asyncio.run(main())
    assert view.state is TaskState.RUNNING
    create, query = gw.requests
    assert create.method == "POST" and create.path == "/v1/video/create"
    assert create.header("Authorization") == BEARER
    assert query.raw_path == "/v1/video/query?id=veo3.1-fast%3A1770350082-trii1OXZc3"


# -- a whole Veo flow over sockets ---------------------------------------------------------------


def test_veo_flow_generate_poll_1080p_4k(servers: Callable[..., Any], sleeps: Any, reply_cls: Any) -> None:
    api = servers()
    processing = "1080P is processing. It should be ready in 1-2 minutes. Please check back shortly."
    api.replies = [
        reply_cls.json(ok({"taskId": "abc"})),
        reply_cls.json(ok({"taskId": "abc", "successFlag": 0, "response": None})),
        reply_cls.json(
            ok({"taskId": "abc", "successFlag": 1, "response": {"resultUrls": ["https://f/a.mp4"]}})
        ),
        reply_cls.json({"code": 400, "msg": processing, "data": None}),
        reply_cls.json(ok({"resultUrl": "https://f/a1080.mp4"})),
        reply_cls.json(ok({"taskId": "abc", "resultUrls": None, "imageUrls": None})),
        reply_cls.json(
            {
                "code": 422,
                "msg": "4k is processing. It should be ready in 5-10 minutes.",
                "data": {"taskId": "abc", "resultUrls": None, "imageUrls": None},
            }
        ),
        reply_cls.json(
            {
                "code": 422,
                "msg": "The video has been generated successfully",
                "data": {
                    "taskId": "abc",
                    "resultUrls": ["https://f/a4k.mp4"],
                    "imageUrls": ["https://f/a.jpg"],
                },
            }
        ),
    ]

    async def main() -> list[Any]:
        async with transport(api, sleeps) as t:
            veo = VeoClient(t)
            out: list[Any] = [await veo.generate(VeoGenerateRequest("a cat"))]
            out += [await veo.record_info("abc"), await veo.record_info("abc")]
            out += [await veo.get_1080p("abc"), await veo.get_1080p("abc")]
            out += [await veo.request_4k("abc"), await veo.request_4k("abc"), await veo.request_4k("abc")]
            return out

    task, running, done, p1, p2, k1, k2, k3 = asyncio.run(main())
    assert task == "abc" and running.state is TaskState.RUNNING and done.state is TaskState.SUCCEEDED
    assert (p1.ready, p2.ready, p2.video_urls) == (False, True, ("https://f/a1080.mp4",))
    assert (k1.ready, k2.ready, k3.ready, k3.video_urls) == (False, False, True, ("https://f/a4k.mp4",))
    assert api.requests[3].raw_path == "/api/v1/veo/get-1080p-video?taskId=abc&index=0"
    assert [r.method for r in api.requests[5:]] == ["POST"] * 3
    assert sleeps.calls == []


def test_tls_verification_is_on_for_both_clients() -> None:
    async def main() -> None:
        t = ApiTransport("https://api.kie.ai", "https://kieai.redpandaai.co", KEY)
        try:
            pool = t._client._transport._pool  # type: ignore[attr-defined]
            assert pool._ssl_context.verify_mode.name == "CERT_REQUIRED"
            assert pool._ssl_context.check_hostname is True
        finally:
            await t.aclose()
        async with open_file_client() as c:
            assert c._transport._pool._ssl_context.check_hostname is True  # type: ignore[attr-defined]

    asyncio.run(main())


def test_connection_refused_read_exhausts_into_transport_error(
    sleeps: Any, port_factory: Callable[[], int]
) -> None:
    port = port_factory()

    async def main() -> None:
        async with ApiTransport(
            f"http://127.0.0.1:{port}",
            None,
            KEY,
            sleep=sleeps,
            config=HttpConfig(max_retries=2, connect_timeout=1.0),
        ) as t:
            await CommonClient(t).credits()

    with pytest.raises(errors.TransportError) as info:
        asyncio.run(main())
    assert info.value.may_have_reached_server is False
    assert len(sleeps.calls) == 2
    assert KEY not in str(info.value)
    assert isinstance(httpx.ConnectError("x"), httpx.TransportError)
