"""KeyStore over real keyring backends: an in-memory one, the fail backend, and (opt-in) the
real Secret Service under dbus-run-session + gnome-keyring."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import uuid
from collections.abc import Iterator
from typing import Any

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail, null
from memkeyring import MemoryKeyring

from kievideo import logs
from kievideo.core.secrets import ENV_VAR, KeyStore, backend_available, mask

KEY = "kie-test-key-0123456789abcdef"


class LockedKeyring(MemoryKeyring):
    """A backend that exists but refuses (a locked collection, a dismissed prompt)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("locked")


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    yield
    logs.forget_secrets()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    old = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    try:
        yield kr
    finally:
        keyring.set_keyring(old)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    old = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(old)


def test_store_get_delete_with_a_working_backend(memory_keyring: MemoryKeyring) -> None:
    ks = KeyStore()
    assert backend_available() and ks.backend_available()
    assert ks.status("kie") == "missing" and ks.get("kie") is None
    assert ks.set("kie", f"  {KEY}\n") == "stored"  # a pasted newline is trimmed
    assert memory_keyring.data[("kievideo", "kie")] == KEY
    assert ks.get("kie") == KEY and ks.status("kie") == "stored" and ks.source("kie") == "keyring"
    assert KeyStore().get("kie") == KEY  # really in the backend, not in this object
    assert ks.get("aggregator") is None  # one entry per profile
    ks.delete("kie")
    ks.delete("kie")  # deleting a missing key is fine
    assert ks.status("kie") == "missing" and ks.source("kie") is None


def test_session_only_fallback_without_backend(no_keyring: None) -> None:
    ks = KeyStore()
    assert not backend_available() and not ks.backend_available()
    assert ks.status("kie") == "no-backend" and ks.get("kie") is None
    assert ks.set("kie", KEY) == "session"
    assert ks.get("kie") == KEY and ks.status("kie") == "session" and ks.source("kie") == "session"
    assert KeyStore().get("kie") is None  # nothing persisted anywhere
    ks.delete("kie")
    assert ks.status("kie") == "no-backend"


def test_null_backend_counts_as_none() -> None:
    ks = KeyStore(backend=null.Keyring())
    assert not ks.backend_available()
    assert ks.set("kie", KEY) == "session"  # null would silently drop it


def test_failing_backend_falls_back_to_session(caplog: pytest.LogCaptureFixture) -> None:
    ks = KeyStore(backend=LockedKeyring())
    caplog.set_level(logging.DEBUG)
    assert ks.set("kie", KEY) == "session"
    assert ks.get("kie") == KEY and ks.status("kie") == "session"
    other = KeyStore(backend=LockedKeyring())
    assert other.get("kie") is None and other.status("kie") == "no-backend"
    assert KEY not in caplog.text


def test_env_overrides_reads_only_when_enabled(memory_keyring: MemoryKeyring) -> None:
    env = {ENV_VAR: "env-key-aaaaaaaaaaaa", ENV_VAR + "_MY_AGG": "agg-key-bbbbbbbbbbbb"}
    KeyStore().set("kie", KEY)
    assert KeyStore(env=env).get("kie") == KEY  # use_env off (the GUI)
    cli = KeyStore(use_env=True, env=env)
    assert cli.get("kie") == "env-key-aaaaaaaaaaaa" and cli.source("kie") == "env"
    assert cli.get("my-agg") == "agg-key-bbbbbbbbbbbb"  # per-profile variable wins
    assert cli.status("kie") == "stored"  # status describes the keyring, not the environment
    assert memory_keyring.data[("kievideo", "kie")] == KEY  # the env value is never stored


def test_bad_keys_are_refused(memory_keyring: MemoryKeyring) -> None:
    ks = KeyStore()
    for bad in ("", "   ", "two words", "a\x00b"):
        with pytest.raises(ValueError):
            ks.set("kie", bad)
    assert memory_keyring.data == {}


def test_key_never_in_repr_logs_or_pickle(memory_keyring: MemoryKeyring, no_keyring: None) -> None:
    ks = KeyStore()
    ks.set("kie", KEY)  # no backend now (no_keyring set last): kept in session memory
    assert KEY not in repr(ks) and "kie" in repr(ks)
    with pytest.raises(TypeError):
        pickle.dumps(ks)
    assert mask(KEY) == "••••••••" and mask(KEY, show_last=4) == "••••cdef" and mask("short", 4) == "••••••••"
    assert logs.redact(f"oops {KEY}") == "oops ***"  # registered with the log redactor


def test_async_wrappers(memory_keyring: MemoryKeyring) -> None:
    async def main() -> None:
        ks = KeyStore()
        assert await ks.aset("kie", KEY) == "stored"
        assert await ks.aget("kie") == KEY
        assert await ks.astatus("kie") == "stored"
        await ks.adelete("kie")
        assert await ks.aget("kie") is None

    asyncio.run(main())


@pytest.mark.keyring_real
@pytest.mark.skipif(os.environ.get("KIEVIDEO_REAL_KEYRING") != "1", reason="needs KIEVIDEO_REAL_KEYRING=1")
def test_real_secret_service_round_trip() -> None:
    from keyring.backends import SecretService

    backend: Any = SecretService.Keyring()
    service = f"kievideo-test-{uuid.uuid4().hex[:8]}"  # never touch a real "kievideo" entry
    ks = KeyStore(service, backend=backend)
    assert ks.backend_available()
    assert ks.status("kie") == "missing"
    assert ks.set("kie", KEY) == "stored"
    assert KeyStore(service, backend=SecretService.Keyring()).get("kie") == KEY
    assert ks.status("kie") == "stored"
    ks.delete("kie")
    assert ks.get("kie") is None and ks.status("kie") == "missing"
