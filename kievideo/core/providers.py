"""Provider profiles and the adapters that turn a Job into API calls.

A *profile* is one account at one provider: the built-in ``"kie"`` profile (kie.ai: Veo, Runway,
Aleph, uploads, credits) and any number of user-defined *unified* profiles (an aggregator's
``/v1/video/create`` API at its own base URL). The caller persists user profiles
(``to_dict``/``from_dict``); the keys live in the keyring and reach this module only through the
key source callable.

A :class:`ProviderAdapter` maps a :class:`~kievideo.core.jobs.Job` onto the api layer:
``create`` (paid, sent once), ``poll`` (a :class:`~kievideo.api.models.TaskView` whatever the
provider), the 1080p/4K upgrades, ``extend``, ``credits`` and ``refresh_urls``.

Upgrades (decision, documented here once):

* 1080p: ``GET get-1080p-video`` both starts the upscale (the first call is what the provider
  bills, 5 credits in the simulator) and reports on it; repeats for the same task/index do not
  start another one. The child job's first call happens in the scheduler's first poll.
* 4K: ``POST get-4k-video`` is paid on its first call; repeats for the same task/index answer 422
  "4k is processing" / "generated successfully" and are documented as free. The service persists
  a marker (``extra["first_call_at"]``) on the child job *before* the first call and never makes
  the first call a second time for the same user action: after a crash or an ambiguous answer
  the child polls, and any poll can only be a documented free repeat for that same task/index.
  When the first answer carries a separate 4K task id, polls use ``record-info`` for it (a free
  GET); otherwise (or if the provider does not know that id) they repeat ``get-4k-video``.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from kievideo.api.errors import AuthError, InvalidRequestError, NotFoundError, ValidationError, ValidationKind
from kievideo.api.http import ApiTransport, CreateLimiter, CreateSlot, HttpConfig
from kievideo.api.kie import DEFAULT_API_BASE, DEFAULT_UPLOAD_BASE, KieAccount
from kievideo.api.models import ProviderKind, TaskState, TaskView, UpgradeResult, UploadedFile
from kievideo.api.runway import AlephGenerateRequest, RunwayExtendRequest, RunwayGenerateRequest
from kievideo.api.unified import CREATE_PATH, QUERY_PATH, UnifiedClient, UnifiedCreateRequest
from kievideo.api.uploads import FileUploadClient
from kievideo.api.veo import (
    FIRST_AND_LAST_FRAMES_2_VIDEO,
    REFERENCE_2_VIDEO,
    TEXT_2_VIDEO,
    VeoExtendRequest,
    VeoGenerateRequest,
)
from kievideo.core import rules
from kievideo.core.jobs import Job, JobKind, Mode

__all__ = [
    "KIE_PROFILE",
    "KeySource",
    "MissingKeyError",
    "ProviderAdapter",
    "ProviderProfile",
    "ProviderRegistry",
    "UploadProgress",
]

log = logging.getLogger(__name__)

KeySource = Callable[[str], str | None]
UploadProgress = Callable[[int, int], None]
ProfileKind = Literal["kie", "unified"]


class MissingKeyError(AuthError):
    """No API key is stored for the profile: nothing was sent."""

    default_message = "No API key is set for this provider. Open Settings and enter your key."


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """One account at one provider. ``kind`` "kie" serves Veo/Runway/Aleph; "unified" one gateway."""

    name: str
    kind: ProfileKind
    label: str
    api_base: str
    upload_base: str | None = None
    create_path: str = CREATE_PATH  # unified only: some gateways differ
    query_path: str = QUERY_PATH
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a provider profile needs a name")
        if self.kind not in ("kie", "unified"):
            raise ValueError(f"unknown provider profile kind {self.kind!r}")
        if not self.api_base.lower().startswith(("http://", "https://")):
            raise ValueError("the API base URL must start with https:// (or http:// for a local simulator)")

    @property
    def providers(self) -> tuple[ProviderKind, ...]:
        if self.kind == "kie":
            return (ProviderKind.VEO, ProviderKind.RUNWAY, ProviderKind.ALEPH)
        return (ProviderKind.UNIFIED,)

    def serves(self, provider: ProviderKind) -> bool:
        return provider in self.providers

    @property
    def can_upload(self) -> bool:
        return self.upload_base is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "label": self.label,
            "api_base": self.api_base,
            "upload_base": self.upload_base,
            "create_path": self.create_path,
            "query_path": self.query_path,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProviderProfile:
        kind = str(d.get("kind", "unified"))
        if kind not in ("kie", "unified"):
            raise ValueError(f"unknown provider profile kind {kind!r}")
        return cls(
            name=str(d["name"]),
            kind="kie" if kind == "kie" else "unified",
            label=str(d.get("label") or d["name"]),
            api_base=str(d["api_base"]),
            upload_base=None if d.get("upload_base") in (None, "") else str(d["upload_base"]),
            create_path=str(d.get("create_path") or CREATE_PATH),
            query_path=str(d.get("query_path") or QUERY_PATH),
            extra=dict(d.get("extra") or {}),
        )


KIE_PROFILE = ProviderProfile("kie", "kie", "kie.ai", DEFAULT_API_BASE, DEFAULT_UPLOAD_BASE)


def _generation_type(mode: Mode) -> str | None:
    return {
        Mode.TEXT: TEXT_2_VIDEO,
        Mode.IMAGE: None,  # one image: the server picks image-to-video from imageUrls (§2.1)
        Mode.FRAMES: FIRST_AND_LAST_FRAMES_2_VIDEO,
        Mode.REFERENCE: REFERENCE_2_VIDEO,
    }.get(mode)


def upgrade_view(job: Job, result: UpgradeResult, provider_status: str) -> TaskView:
    """An UpgradeResult as the TaskView every poller understands."""
    return TaskView(
        provider=job.spec.provider,
        task_id=result.task_id or job.task_id or "",
        state=TaskState.SUCCEEDED if result.ready and result.video_urls else TaskState.RUNNING,
        provider_status=provider_status,
        video_urls=result.video_urls,
        image_urls=result.image_urls,
        resolution="1080p" if job.kind is JobKind.UPGRADE_1080P else "4k",
    )


class ProviderAdapter:
    """The api layer for one profile. Created by :class:`ProviderRegistry`; holds one transport."""

    def __init__(
        self,
        profile: ProviderProfile,
        key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_config: HttpConfig | None = None,
    ) -> None:
        self.profile = profile
        kw: dict[str, Any] = {}
        if transport is not None:
            kw["transport"] = transport
        if http_config is not None:
            kw["config"] = http_config
        self._kie: KieAccount | None = None
        self._unified: UnifiedClient | None = None
        self._files: FileUploadClient | None = None
        self._transport: ApiTransport
        if profile.kind == "kie":
            self._kie = KieAccount(profile.api_base, profile.upload_base or DEFAULT_UPLOAD_BASE, key, **kw)
            self._transport = self._kie.transport
            self._files = self._kie.files
        else:
            self._transport = ApiTransport(
                profile.api_base, profile.upload_base, key, limiter=CreateLimiter(), **kw
            )
            self._unified = UnifiedClient(
                self._transport, create_path=profile.create_path, query_path=profile.query_path
            )
            if profile.upload_base is not None:
                self._files = FileUploadClient(self._transport)

    def __repr__(self) -> str:
        return f"ProviderAdapter({self.profile.name!r}, {self._transport!r})"

    @property
    def kie(self) -> KieAccount:
        if self._kie is None:
            raise InvalidRequestError(f"{self.profile.label} is not a kie.ai profile.")
        return self._kie

    @property
    def unified(self) -> UnifiedClient:
        if self._unified is None:
            raise InvalidRequestError(f"{self.profile.label} is not a unified video API profile.")
        return self._unified

    async def aclose(self) -> None:
        await self._transport.aclose()

    # ---- uploads ------------------------------------------------------------------------------

    async def upload(self, path: Path, progress: UploadProgress | None = None) -> UploadedFile:
        """Stream a local file to the profile's upload host (free; retried by the api layer)."""
        if self._files is None:
            raise InvalidRequestError(
                f"{self.profile.label} has no file upload service: "
                "use http(s) image links instead of local files."
            )
        mime = rules.sniff_image(path)
        ext = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}.get(mime or "", "")
        # A random neutral name: the user's file name may say more than they want to publish, and
        # reusing a name would overwrite an earlier upload that a running task may still fetch.
        name = uuid.uuid4().hex + (ext or path.suffix.lower())
        return await self._files.upload_stream(path, file_name=name, progress=progress)

    # ---- create (paid: sent once) -------------------------------------------------------------

    def _images(self, job: Job) -> tuple[str, ...]:
        """The images as the provider sees them: uploaded URLs in the user's order."""
        if job.uploaded_urls:
            return job.uploaded_urls
        return tuple(i for i in job.spec.images if rules.is_url(i))

    def build_request(
        self, job: Job
    ) -> VeoGenerateRequest | RunwayGenerateRequest | AlephGenerateRequest | UnifiedCreateRequest:
        """The create request for a GENERATE job (validated before anything is sent)."""
        spec = job.spec
        images = self._images(job)
        if len(images) != len(spec.images):
            raise InvalidRequestError("Not every image has been uploaded yet; nothing was sent.")
        if spec.provider is ProviderKind.VEO:
            return VeoGenerateRequest(
                prompt=spec.prompt,
                model=spec.model,
                image_urls=images,
                generation_type=_generation_type(spec.mode),
                aspect_ratio=spec.aspect_ratio or "16:9",
                seeds=spec.seed,
                watermark=spec.watermark or None,
                enable_translation=spec.translate,
                resolution=spec.quality if spec.quality in ("1080p", "4k") else None,
            )
        if spec.provider is ProviderKind.RUNWAY:
            return RunwayGenerateRequest(
                prompt=spec.prompt,
                duration=spec.duration or rules.RUNWAY_DEFAULT_DURATION,
                quality=spec.quality or rules.RUNWAY_DEFAULT_QUALITY,
                image_url=images[0] if images else None,
                aspect_ratio=spec.aspect_ratio,
                watermark=spec.watermark,
            )
        if spec.provider is ProviderKind.ALEPH:
            return AlephGenerateRequest(
                prompt=spec.prompt,
                video_url=spec.video_url or "",
                aspect_ratio=spec.aspect_ratio,
                seed=spec.seed,
                reference_image=images[0] if images else None,
                watermark=spec.watermark,
            )
        return UnifiedCreateRequest(
            model=spec.model,
            prompt=spec.prompt,
            images=images,
            enhance_prompt=spec.translate,
            enable_upsample=spec.upsample,
            aspect_ratio=spec.aspect_ratio,
        )

    async def acquire_create_slot(self) -> CreateSlot:
        """Wait for a place in this account's create window (kie.ai: 20 creates per 10 s).

        The service takes it BEFORE it writes its "create sent" marker, then passes it to
        :meth:`create`/:meth:`extend`, which then go out without waiting again: a create that
        is still waiting here has provably not been sent. An unused slot still counts.
        """
        return await self._transport.acquire_create_slot()

    async def create(self, job: Job, *, slot: CreateSlot | None = None) -> str:
        """Send the paid create of a GENERATE job once; the provider's task id.

        ``slot``: taken with :meth:`acquire_create_slot`; without it the create waits for its
        place in the limiter itself."""
        self._check_serves(job)
        req = self.build_request(job)
        with self._transport.prepaid_create(slot):
            if isinstance(req, VeoGenerateRequest):
                return await self.kie.veo.generate(req)
            if isinstance(req, RunwayGenerateRequest):
                return await self.kie.runway.generate(req)
            if isinstance(req, AlephGenerateRequest):
                return await self.kie.aleph.generate(req)
            return await self.unified.create(req)

    async def extend(self, job: Job, parent: Job, *, slot: CreateSlot | None = None) -> str:
        """Send the paid extend of ``parent`` once (``job.spec.prompt`` says what happens next).
        ``slot`` as for :meth:`create`."""
        with self._transport.prepaid_create(slot):
            return await self._extend(job, parent)

    async def _extend(self, job: Job, parent: Job) -> str:
        if not parent.task_id:
            raise InvalidRequestError("The original video has no task id; it cannot be extended.")
        spec = job.spec
        if spec.provider is ProviderKind.VEO:
            return await self.kie.veo.extend(
                VeoExtendRequest(
                    task_id=parent.task_id,
                    prompt=spec.prompt,
                    model=rules.VEO_EXTEND_MODEL.get(parent.spec.model, "fast"),
                    seeds=spec.seed,
                    watermark=spec.watermark or None,
                )
            )
        if spec.provider is ProviderKind.RUNWAY:
            quality = parent.spec.quality or rules.RUNWAY_DEFAULT_QUALITY
            return await self.kie.runway.extend(
                RunwayExtendRequest(
                    task_id=parent.task_id, prompt=spec.prompt, quality=quality, watermark=spec.watermark
                )
            )
        raise InvalidRequestError(f"{rules.provider_label(spec.provider)} videos cannot be extended.")

    async def get_1080p(self, parent_task_id: str, index: int = 0) -> UpgradeResult:
        """Start (first call) or check the 1080p upscale; repeats are free."""
        return await self.kie.veo.get_1080p(parent_task_id, index)

    async def request_4k(self, parent_task_id: str, index: int = 0) -> UpgradeResult:
        """The 4K call: paid the first time for a task/index, a free repeat afterwards."""
        return await self.kie.veo.request_4k(parent_task_id, index)

    # ---- status -------------------------------------------------------------------------------

    async def poll(self, job: Job) -> TaskView:
        """One status request for ``job`` (any kind), normalized."""
        spec = job.spec
        if job.kind is JobKind.UPGRADE_1080P:
            parent_tid = str(job.extra.get("parent_task_id") or job.task_id or "")
            res = await self.get_1080p(parent_tid, int(job.extra.get("index", 0)))
            return upgrade_view(job, res, res.message or ("ready" if res.ready else "processing"))
        if job.kind is JobKind.UPGRADE_4K:
            return await self._poll_4k(job)
        if not job.task_id:
            raise InvalidRequestError("This job has no provider task id to check.")
        if spec.provider is ProviderKind.VEO:
            return await self.kie.veo.record_info(job.task_id, is_extend=job.kind is JobKind.EXTEND)
        if spec.provider is ProviderKind.RUNWAY:
            return await self.kie.runway.record_detail(job.task_id)
        if spec.provider is ProviderKind.ALEPH:
            return await self.kie.aleph.record_info(job.task_id)
        return await self.unified.query(job.task_id)

    async def _poll_4k(self, job: Job) -> TaskView:
        parent_tid = str(job.extra.get("parent_task_id") or "")
        fourk_tid = job.extra.get("fourk_task_id")
        index = int(job.extra.get("index", 0))
        if (
            isinstance(fourk_tid, str)
            and fourk_tid
            and fourk_tid != parent_tid
            and not job.extra.get("4k_repeat")
        ):
            try:
                view = await self.kie.veo.record_info(fourk_tid)
            except (NotFoundError, ValidationError) as exc:
                kind = getattr(exc, "kind", None)
                if isinstance(exc, NotFoundError) or kind is ValidationKind.RECORD_NULL:
                    job.extra["4k_repeat"] = True  # this provider does not list 4K ids: use repeats
                else:
                    raise
            else:
                return view
        res = await self.request_4k(parent_tid, index)
        return upgrade_view(job, res, res.message or ("ready" if res.ready else "processing"))

    async def refresh_urls(self, job: Job) -> tuple[str, ...]:
        """Fresh result URLs for an expired link: ask the provider again, and for kie.ai files a
        temporary download link (valid 20 min) when the record still names the same URL."""
        urls: tuple[str, ...] = ()
        try:
            view = await self.poll(job)
            if view.state is TaskState.SUCCEEDED:
                urls = view.video_urls
        except (NotFoundError, ValidationError):
            urls = ()
        if self.profile.kind == "kie":
            base = urls or job.result_urls
            if base and (not urls or urls == job.result_urls):
                fresh: list[str] = []
                for u in base:
                    try:
                        fresh.append(await self.kie.common.download_url(u))
                    except ValidationError:
                        fresh.append(u)
                return tuple(fresh)
        return urls or job.result_urls

    async def credits(self) -> int:
        if self.profile.kind != "kie":
            raise InvalidRequestError(f"{self.profile.label} does not report a credit balance.")
        return await self.kie.common.credits()

    def _check_serves(self, job: Job) -> None:
        if not self.profile.serves(job.spec.provider):
            raise InvalidRequestError(
                f"The profile {self.profile.label} does not serve {rules.provider_label(job.spec.provider)}."
            )


class ProviderRegistry:
    """The profiles the app knows, their keys (through ``keys``) and one adapter per profile.

    ``transport``: an httpx transport override used by every adapter (tests); ``http_config``
    likewise. ``kie_api_base``/``kie_upload_base`` move the built-in profile (demo mode points it
    at the simulator).
    """

    def __init__(
        self,
        keys: KeySource,
        profiles: Iterable[ProviderProfile] = (),
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_config: HttpConfig | None = None,
        kie_api_base: str | None = None,
        kie_upload_base: str | None = None,
    ) -> None:
        self._keys = keys
        self._transport = transport
        self._http_config = http_config
        kie = KIE_PROFILE
        if kie_api_base or kie_upload_base:
            kie = ProviderProfile(
                "kie",
                "kie",
                KIE_PROFILE.label,
                kie_api_base or DEFAULT_API_BASE,
                kie_upload_base or DEFAULT_UPLOAD_BASE,
            )
        self._profiles: dict[str, ProviderProfile] = {"kie": kie}
        self._adapters: dict[str, tuple[str, ProviderAdapter]] = {}
        self._retired: list[ProviderAdapter] = []
        for p in profiles:
            self.add(p)

    @property
    def profiles(self) -> dict[str, ProviderProfile]:
        return dict(self._profiles)

    def get(self, name: str) -> ProviderProfile:
        try:
            return self._profiles[name]
        except KeyError:
            raise InvalidRequestError(
                f"There is no provider profile called {name!r}. Add it in Settings or pick another."
            ) from None

    def add(self, profile: ProviderProfile) -> None:
        """Add or replace a profile (its adapter is rebuilt on next use)."""
        if profile.name == "kie" and profile.kind != "kie":
            raise ValueError("the profile name 'kie' is reserved for kie.ai")
        self._profiles[profile.name] = profile
        if profile.name in self._adapters:
            self._retire(profile.name)

    def remove(self, name: str) -> None:
        if name == "kie":
            raise ValueError("the built-in kie.ai profile cannot be removed")
        self._profiles.pop(name, None)
        self._retire(name)

    def user_profiles(self) -> list[dict[str, Any]]:
        """The user-defined profiles, for the caller to persist."""
        return [p.to_dict() for n, p in self._profiles.items() if n != "kie"]

    def load_user_profiles(self, items: Iterable[Mapping[str, Any]]) -> None:
        for d in items:
            try:
                self.add(ProviderProfile.from_dict(d))
            except (KeyError, ValueError) as exc:
                log.warning("ignoring a bad provider profile: %s", exc)

    def profile_for(self, provider: ProviderKind, name: str | None = None) -> ProviderProfile:
        if name is not None:
            return self.get(name)
        for p in self._profiles.values():
            if p.serves(provider):
                return p
        raise InvalidRequestError(f"No provider profile serves {rules.provider_label(provider)}.")

    def has_key(self, name: str) -> bool:
        return bool(self._key(name))

    def _key(self, name: str) -> str | None:
        try:
            key = self._keys(name)
        except Exception as exc:  # a broken keyring must read as "no key", never crash a submit
            log.warning("reading the API key for %s failed: %s", name, type(exc).__name__)
            return None
        return key.strip() if key and key.strip() else None

    def adapter(self, name: str) -> ProviderAdapter:
        """The adapter for profile ``name``. Raises MissingKeyError (nothing sent) without a key.

        The key is read on every call; when it changed, a new adapter replaces the old one (whose
        client is closed by :meth:`aclose` or the next retirement).
        """
        profile = self.get(name)
        key = self._key(name)
        if key is None:
            raise MissingKeyError(
                f"No API key is set for {profile.label}. Open Settings and enter your key; nothing was sent."
            )
        held = self._adapters.get(name)
        fingerprint = _fingerprint(key)
        if held is not None and held[0] == fingerprint and held[1].profile == profile:
            return held[1]
        if held is not None:
            self._retire(name)
        adapter = ProviderAdapter(profile, key, transport=self._transport, http_config=self._http_config)
        self._adapters[name] = (fingerprint, adapter)
        return adapter

    account = adapter  # the name used in ARCHITECTURE.md

    def _retire(self, name: str) -> None:
        held = self._adapters.pop(name, None)
        if held is not None:
            self._retired.append(held[1])

    async def aclose(self) -> None:
        adapters = [a for _, a in self._adapters.values()] + self._retired
        self._adapters.clear()
        self._retired.clear()
        for a in adapters:
            try:
                await a.aclose()
            except Exception:  # closing must go on for the others
                log.exception("closing %r failed", a)


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
