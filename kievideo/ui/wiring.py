"""Building the core stack for the GUI: TaskStore + ProviderRegistry + TaskService.

app.py, the GUI tests and the screenshot scripts share it. Two GUI-specific choices live here:

* Keys are read through :class:`KeyCache`: the registry asks for a key on EVERY request (so a
  changed key takes effect at once), and a keyring read can block on D-Bus. The cache is filled
  off the GUI thread at start and refreshed when the Settings dialog stores or removes a key.
* :func:`make_service` only reads the store and builds objects (no Qt, no event loop): the app
  runs it in an executor, after the window is on screen.
* :class:`ScaledClock` runs the service's clock N times faster than the wall clock, matching a
  simulator running at speed N, so tests see the real poll plan in a fraction of the time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kievideo.api.models import ProviderKind
from kievideo.core.providers import ProviderProfile, ProviderRegistry
from kievideo.core.service import TaskService
from kievideo.core.settings import ServiceSettings
from kievideo.core.store import TaskStore
from kievideo.ui.appsettings import AppSettings, UnifiedProfile

if TYPE_CHECKING:
    from kievideo.ui.promptpanel import ProviderChoice

DEMO_UNIFIED = "unified"  # the demo's unified profile: the simulator's /v1/video/* on its API origin


class ScaledClock:
    """Wall and monotonic time running ``speed`` times faster; sleeps are ``speed`` times shorter."""

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self._m0 = time.monotonic()
        self._w0 = time.time()

    def time(self) -> float:
        return self._w0 + (time.monotonic() - self._m0) * self.speed

    def monotonic(self) -> float:
        return self._m0 + (time.monotonic() - self._m0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def __repr__(self) -> str:
        return f"ScaledClock(speed={self.speed:g})"


class KeyCache:
    """A synchronous key source for the registry that never blocks (see the module docstring)."""

    def __init__(self, keys: Any = None, *, fixed: str | None = None) -> None:
        self._keys = keys  # core.secrets.KeyStore
        self._fixed = fixed  # demo mode: the simulator's key for every profile
        self._cache: dict[str, str | None] = {}

    def __call__(self, profile: str) -> str | None:
        if self._fixed is not None:
            return self._fixed
        return self._cache.get(profile)

    async def load(self, profiles: Iterable[str]) -> None:
        if self._fixed is not None or self._keys is None:
            return
        for name in profiles:
            self._cache[name] = await self._keys.aget(name)

    def load_sync(self, profiles: Iterable[str]) -> None:
        """Startup before the window exists (and tests): read every profile's key once."""
        if self._fixed is not None or self._keys is None:
            return
        for name in profiles:
            self._cache[name] = self._keys.get(name)

    def forget(self, profile: str) -> None:
        self._cache.pop(profile, None)

    def set_keys(self, keys: Any) -> None:
        """The KeyStore, when it is opened after the service (the app opens the keyring off the
        GUI thread, after the window is on screen); :meth:`load` reads from it."""
        self._keys = keys


def polling_settings(mode: str, base: ServiceSettings | None = None) -> ServiceSettings:
    """'frugal' polls less often (fewer requests, results arrive a little later)."""
    base = base or ServiceSettings()
    if mode != "frugal":
        return base
    return replace(
        base,
        poll_rate=1.0,
        poll_burst=3,
        dense_interval_s=max(base.dense_interval_s, 10.0),
        max_interval_s=max(base.max_interval_s, 60.0),
        slow_poll_s=max(base.slow_poll_s, 120.0),
    )


def unified_profile(p: UnifiedProfile) -> ProviderProfile:
    return ProviderProfile(p.name, "unified", p.name, p.base_url.rstrip("/"))


def make_registry(settings: AppSettings, key_source: Any, sim: Any = None, **kw: Any) -> ProviderRegistry:
    profiles = [unified_profile(p) for p in settings.unified_profiles]
    if sim is not None:
        profiles.append(ProviderProfile(DEMO_UNIFIED, "unified", "Demo unified API", sim.api_url))
        kw.setdefault("kie_api_base", sim.api_url)
        kw.setdefault("kie_upload_base", sim.upload_url)
    return ProviderRegistry(key_source, profiles, **kw)


def make_service(
    paths: Any,
    settings: AppSettings,
    keys: Any,
    sim: Any = None,
    *,
    clock: Any = None,
    service_settings: ServiceSettings | None = None,
    **registry_kw: Any,
) -> tuple[TaskStore, TaskService]:
    """The store and service for the real providers, or for the simulator ``sim`` (demo/tests)."""
    key_source = KeyCache(keys, fixed=sim.key if sim is not None else None)
    registry = make_registry(settings, key_source, sim, **registry_kw)
    store = TaskStore(paths.db_path)
    service = TaskService(
        store,
        registry,
        library_dir=settings.library_dir or paths.library_dir,
        clock=clock,
        settings=polling_settings(settings.polling, service_settings),
        thumbs_dir=paths.thumbs_dir,
    )
    service.key_cache = key_source  # type: ignore[attr-defined]  # the Settings dialog refreshes it
    return store, service


async def apply_settings(stack: Any, settings: AppSettings, *, demo: bool = False) -> None:
    """Unified profiles changed in Settings: update the registry live (polling applies on restart)."""
    service = stack.service
    registry: ProviderRegistry = service.registry
    wanted = {p.name: unified_profile(p) for p in settings.unified_profiles}
    for name, prof in list(registry.profiles.items()):
        if prof.kind == "unified" and name not in wanted and not (demo and name == DEMO_UNIFIED):
            registry.remove(name)
    for prof in wanted.values():
        if registry.profiles.get(prof.name) != prof:
            registry.add(prof)
    cache = getattr(service, "key_cache", None)
    if isinstance(cache, KeyCache):
        await cache.load(registry.profiles)


def provider_choices(settings: AppSettings, *, demo: bool = False) -> list[ProviderChoice]:
    from kievideo.ui.promptpanel import default_choices

    names = [p.name for p in settings.unified_profiles]
    if demo and DEMO_UNIFIED not in names:
        names.insert(0, DEMO_UNIFIED)
    return default_choices(names)


__all__ = [
    "DEMO_UNIFIED",
    "KeyCache",
    "ProviderKind",
    "ScaledClock",
    "apply_settings",
    "make_registry",
    "make_service",
    "polling_settings",
    "provider_choices",
]
