"""One kie.ai account: a single transport (API + upload origins, one create limiter) and its clients."""

from __future__ import annotations

from typing import Any

from kievideo.api.common import CommonClient
from kievideo.api.http import ApiTransport, CreateLimiter, Secret
from kievideo.api.runway import AlephClient, RunwayClient
from kievideo.api.uploads import FileUploadClient
from kievideo.api.veo import VeoClient

DEFAULT_API_BASE = "https://api.kie.ai"
DEFAULT_UPLOAD_BASE = "https://kieai.redpandaai.co"


class KieAccount:
    """Veo, Runway, Aleph, file upload and common calls over one ``ApiTransport``.

    kie.ai's limit of 20 new generation requests per 10 s is per account, so every paid create
    of every client here shares one :class:`CreateLimiter` (pass ``limiter=`` to share it wider).
    ``transport_kw`` go to :class:`ApiTransport` (``config``, ``transport``, ``sleep``, ...).
    """

    def __init__(self, api_base: str, upload_base: str, key: str | Secret, **transport_kw: Any) -> None:
        if "limiter" not in transport_kw:
            # The limiter waits with the same (possibly injected) sleep as the retry loop.
            sleep = transport_kw.get("sleep")
            transport_kw["limiter"] = CreateLimiter(sleep=sleep) if sleep is not None else CreateLimiter()
        self.transport = ApiTransport(api_base, upload_base, key, **transport_kw)
        self.veo = VeoClient(self.transport)
        self.runway = RunwayClient(self.transport)
        self.aleph = AlephClient(self.transport)
        self.files = FileUploadClient(self.transport)
        self.common = CommonClient(self.transport)

    def __repr__(self) -> str:
        return f"KieAccount({self.transport!r})"

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> KieAccount:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
