"""API keys in the OS keyring, one entry per provider profile.

Service ``"kievideo"``, user name = the profile name (``"kie"``, or a unified-API profile).
Keys are never written anywhere else: not the settings, not the database, not logs, not
exception texts, not reprs.

Where no keyring exists (a bare Linux box without a Secret Service, a locked or broken
backend) a key the user enters is kept in memory for this session only, and :meth:`status`
says ``"session"`` so the UI can tell the user it will not be remembered.

For the CLI, ``use_env=True`` lets ``KIEVIDEO_API_KEY_<PROFILE>`` or ``KIEVIDEO_API_KEY``
override reads (never stored). Keyring calls can block on D-Bus (a prompt, a slow daemon): the
``a*`` methods run them in an executor so the event loop (and the GUI) keeps going.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Mapping
from typing import Any, Literal

import keyring
import keyring.errors
from keyring.backends import chainer, fail, null

from kievideo.logs import register_secret

__all__ = [
    "ENV_VAR",
    "SERVICE",
    "KeySource",
    "KeyStatus",
    "KeyStore",
    "backend_available",
    "mask",
]

log = logging.getLogger(__name__)

SERVICE = "kievideo"
ENV_VAR = "KIEVIDEO_API_KEY"

KeyStatus = Literal["stored", "missing", "no-backend", "session"]
KeySource = Literal["env", "keyring", "session"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def mask(key: str | None, show_last: int = 0) -> str:
    """A key as it may be shown: ``"••••••••"``, or with the last ``show_last`` characters
    (only for keys long enough that the tail gives nothing away)."""
    if not key:
        return ""
    if show_last > 0 and len(key) >= 16:
        return "••••" + key[-min(show_last, 4) :]
    return "••••••••"


def _usable(backend: Any) -> bool:
    """False for the backends that cannot keep a secret: fail (no backend at all), null
    (silently drops writes) and an empty chainer."""
    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(_usable(b) for b in backend.backends)
    return backend is not None


def backend_available() -> bool:
    """Whether the process-wide keyring (``keyring.get_keyring()``) can store secrets."""
    try:
        return _usable(keyring.get_keyring())
    except Exception:  # keyring's backend discovery itself can fail on broken setups
        return False


class KeyStore:
    """Per-profile API keys over ``keyring``, with a session-only fallback.

    ``backend``: a specific keyring backend (tests, or the real Secret Service test); by
    default whatever ``keyring.get_keyring()`` returns at call time.
    """

    def __init__(
        self,
        service: str = SERVICE,
        *,
        use_env: bool = False,
        env: Mapping[str, str] | None = None,
        backend: Any | None = None,
    ) -> None:
        self._service = service
        self._use_env = use_env
        self._env = env
        self._explicit_backend = backend
        self._session: dict[str, str] = {}
        self._lock = threading.Lock()

    # ---- backend ---------------------------------------------------------------------------

    def _backend(self) -> Any:
        return self._explicit_backend if self._explicit_backend is not None else keyring.get_keyring()

    def backend_available(self) -> bool:
        try:
            return _usable(self._backend())
        except Exception:
            return False

    def backend_name(self) -> str:
        """For the settings dialog and bug reports, e.g. "SecretService Keyring"."""
        try:
            backend = self._backend()
        except Exception:
            return "none"
        return str(getattr(backend, "name", type(backend).__name__))

    # ---- sync API --------------------------------------------------------------------------

    def get(self, profile: str) -> str | None:
        """The key for ``profile``, or None. Order: environment (if ``use_env``), the session
        fallback, the keyring. Backend errors give None (logged without the key)."""
        if self._use_env:
            from_env = self._env_key(profile)
            if from_env:
                register_secret(from_env)
                return from_env
        with self._lock:
            if profile in self._session:
                return self._session[profile]
        if not self.backend_available():
            return None
        try:
            value = self._backend().get_password(self._service, profile)
        except Exception as e:  # KeyringError, locked collection, D-Bus failure...
            log.warning("keyring read failed for profile %r: %s", profile, type(e).__name__)
            return None
        register_secret(value)  # from now on the log redacts it wherever it might appear
        return value or None

    def set(self, profile: str, key: str) -> KeyStatus:
        """Store a key: in the keyring when possible ("stored"), else for this session only
        ("session"). Surrounding whitespace (a pasted newline) is removed."""
        clean = _clean(key)
        register_secret(clean)
        if self.backend_available():
            try:
                self._backend().set_password(self._service, profile, clean)
            except Exception as e:
                log.warning(
                    "keyring write failed for profile %r (%s); keeping the key for this session only",
                    profile,
                    type(e).__name__,
                )
            else:
                with self._lock:
                    self._session.pop(profile, None)
                return "stored"
        with self._lock:
            self._session[profile] = clean
        return "session"

    def delete(self, profile: str) -> None:
        """Forget the key everywhere we keep it. Deleting a missing key is fine."""
        with self._lock:
            self._session.pop(profile, None)
        if not self.backend_available():
            return
        try:
            self._backend().delete_password(self._service, profile)
        except keyring.errors.PasswordDeleteError:
            pass  # there was none
        except Exception as e:
            log.warning("keyring delete failed for profile %r: %s", profile, type(e).__name__)

    def status(self, profile: str) -> KeyStatus:
        """Where the key of ``profile`` is kept.

        ``"stored"`` (in the keyring), ``"session"`` (in memory only), ``"missing"`` (a keyring
        works but holds no key), ``"no-backend"`` (no keyring and no session key). The
        environment is not considered: see :meth:`source`.
        """
        with self._lock:
            if profile in self._session:
                return "session"
        if not self.backend_available():
            return "no-backend"
        try:
            value = self._backend().get_password(self._service, profile)
        except Exception as e:
            log.warning("keyring read failed for profile %r: %s", profile, type(e).__name__)
            return "no-backend"
        return "stored" if value else "missing"

    def source(self, profile: str) -> KeySource | None:
        """Where :meth:`get` would take the key from (for ``kievideo-cli key status``)."""
        if self._use_env and self._env_key(profile):
            return "env"
        status = self.status(profile)
        if status == "stored":
            return "keyring"
        return "session" if status == "session" else None

    # ---- async API (keyring may block on D-Bus) --------------------------------------------

    async def aget(self, profile: str) -> str | None:
        return await asyncio.get_running_loop().run_in_executor(None, self.get, profile)

    async def aset(self, profile: str, key: str) -> KeyStatus:
        return await asyncio.get_running_loop().run_in_executor(None, self.set, profile, key)

    async def adelete(self, profile: str) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.delete, profile)

    async def astatus(self, profile: str) -> KeyStatus:
        return await asyncio.get_running_loop().run_in_executor(None, self.status, profile)

    # ---- helpers ---------------------------------------------------------------------------

    def _env_key(self, profile: str) -> str | None:
        env = os.environ if self._env is None else self._env
        specific = ENV_VAR + "_" + re.sub(r"[^A-Z0-9]", "_", profile.upper())
        value = (env.get(specific) or env.get(ENV_VAR) or "").strip()
        return value or None

    def __repr__(self) -> str:
        # Profile names only: never a key, not even masked.
        with self._lock:
            session = sorted(self._session)
        return f"KeyStore(service={self._service!r}, use_env={self._use_env}, session_profiles={session})"

    def __getstate__(self) -> None:
        # Pickling would copy session keys into wherever the pickle goes: refuse.
        raise TypeError("KeyStore cannot be pickled")


def _clean(key: str) -> str:
    if not isinstance(key, str):
        raise TypeError("an API key is a string")
    clean = key.strip()
    if not clean:
        raise ValueError("the API key is empty")
    if _CONTROL.search(clean) or " " in clean:
        raise ValueError("the API key contains spaces or control characters; paste it again")
    return clean
