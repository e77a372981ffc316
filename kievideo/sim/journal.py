"""The request journal: one entry per request that reached any of the three origins.

Tests use it to assert what the client really sent (and how often a paid create reached the
server). It never stores a key: Authorization is reduced to two booleans, any configured key
found in a query or body is replaced by ``***``, fields with secret-looking names are masked, and
uploaded payloads are reduced to their size and sha256.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

MASK = "***"
_SECRET_NAMES = ("key", "token", "secret", "password", "authorization", "signature", "sig")


@dataclass
class JournalEntry:
    """One request as seen by the simulator (mutable only while the request is in flight)."""

    seq: int
    wall_time: float
    sim_time: float
    origin: str  # "api" | "upload" | "files"
    method: str
    path: str
    query: dict[str, str]
    route: str | None = None  # route name, e.g. "veo.generate"; None for unknown paths
    body: Any = None  # parsed JSON (masked), a dict of form fields, or {"size":..,"sha256":..}
    status: int | None = None  # HTTP status sent; None when the connection was dropped
    code: int | None = None  # body code of kie envelopes, when there is one
    auth_present: bool = False
    auth_valid: bool = False
    create: bool = False  # a create-type request that created a task (paid or free)
    charged: int = 0  # credits taken by this request
    task_id: str | None = None
    fault: str | None = None  # the injected fault kind, if any
    dropped: bool = False  # the connection was closed without a complete response

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Journal:
    """Append-only, lock-guarded list of :class:`JournalEntry`.

    ``limit`` bounds memory for long demo sessions: the oldest entries are dropped, while ``seq``
    keeps counting, so readers can page with ``since``.
    """

    limit: int | None = 100_000
    _entries: collections.deque[JournalEntry] = field(default_factory=collections.deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0

    def append(self, entry: JournalEntry) -> None:
        """Assign ``entry.seq`` and store it."""
        with self._lock:
            entry.seq = self._next
            self._next += 1
            self._entries.append(entry)
            if self.limit is not None:
                while len(self._entries) > self.limit:
                    self._entries.popleft()

    def since(self, seq: int) -> list[JournalEntry]:
        with self._lock:
            return [e for e in self._entries if e.seq >= seq]

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def mask_secrets(value: Any, keys: Iterable[str]) -> Any:
    """Return a deep copy of ``value`` with secrets masked (see module docstring)."""
    key_list = [k for k in keys if k]
    return _mask(value, key_list, parent_secret=False)


def _mask(value: Any, keys: list[str], parent_secret: bool) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            secret = any(s in str(k).lower() for s in _SECRET_NAMES)
            out[str(k)] = MASK if secret and isinstance(v, str | int | float) else _mask(v, keys, secret)
        return out
    if isinstance(value, list):
        return [_mask(v, keys, parent_secret) for v in value]
    if isinstance(value, str):
        for k in keys:
            if k in value:
                value = value.replace(k, MASK)
        return value
    return value
