"""kie.ai Common API: the account's credit balance and short-lived download links.

``GET /api/v1/chat/credit`` answers ``data`` as a bare integer; ``POST
/api/v1/common/download-url`` answers ``data`` as a string URL valid for 20 minutes, and 422 for
a URL kie.ai did not generate. Both are reads: retried on transient failures.
"""

from __future__ import annotations

from kievideo.api.errors import MalformedResponseError, ValidationError, ValidationKind, error_for_code
from kievideo.api.http import ApiTransport, Envelope
from kievideo.api.parsing import as_int, as_str

CREDIT_PATH = "/api/v1/chat/credit"
DOWNLOAD_URL_PATH = "/api/v1/common/download-url"

#: how long a link from download_url() stays valid, in seconds
DOWNLOAD_URL_TTL = 20 * 60


def parse_credits(envelope: Envelope) -> int:
    credits = as_int(envelope.data)
    if credits is None:
        raise MalformedResponseError(
            "The provider's credit balance is not a number.", provider_message=f"data: {envelope.data!r}"
        )
    return credits


def parse_download_url(envelope: Envelope) -> str:
    if not envelope.ok:
        kind = ValidationKind.from_message(envelope.msg)
        if envelope.code == 422 and kind in (ValidationKind.OTHER, ValidationKind.EXTERNAL_URL):
            # The endpoint's only documented 422: a URL that kie.ai did not generate.
            err = ValidationError(
                "kie.ai can only make download links for files it generated; this URL is not one of them.",
                code=422,
                http_status=envelope.http_status,
                provider_message=envelope.msg or None,
            )
            err.kind = ValidationKind.EXTERNAL_URL
            raise err
        raise error_for_code(envelope.code, envelope.msg or None, http_status=envelope.http_status)
    url = as_str(envelope.data)
    if url is None or not url.lower().startswith(("http://", "https://")):
        raise MalformedResponseError(
            "The provider's download link is not a URL.", provider_message=f"data: {envelope.data!r}"
        )
    return url


class CommonClient:
    """Account-level calls on the API origin."""

    def __init__(self, transport: ApiTransport) -> None:
        self._t = transport

    async def credits(self) -> int:
        """Remaining credits (retried)."""
        return await self._t.call("GET", CREDIT_PATH, parse=parse_credits)

    async def download_url(self, url: str) -> str:
        """A temporary (20 min) download link for a kie.ai-generated file URL (retried).

        A URL kie.ai did not generate raises ValidationError with kind EXTERNAL_URL.
        """
        return await self._t.call(
            "POST",
            DOWNLOAD_URL_PATH,
            json_body={"url": url},
            idempotent=True,
            accept_codes=frozenset({422}),
            parse=parse_download_url,
        )
