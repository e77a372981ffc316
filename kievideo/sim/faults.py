"""Deterministic fault injection.

Each :class:`~kievideo.sim.config.FaultSpec` gets its own ``random.Random`` seeded from the
simulator seed and the rule's position, so the same request sequence against the same rules
fires the same faults. Rules are evaluated in order; the first one that fires wins.

How each kind looks on the wire ("style" = kie envelope, upload envelope, unified OpenAI error,
or plain text on the file origin). Unless noted, the request is NOT processed (no task, no charge):

=================  ==========================================================================
http500            HTTP 500; kie ``{"code":500,"msg":"Internal Error, Please try again later.",
                   "data":null}`` / upload ``{"success":false,"code":500,...}`` / unified
                   ``{"error":{...}}`` / files ``Internal Server Error``
http502            HTTP 502, ``text/plain`` "502 Bad Gateway"
http503            HTTP 503, ``text/plain``, ``Retry-After`` (retry_after/seconds, default 5)
code500, code455   kie/upload: HTTP 200 (or mirrored) with body code 500 / 455 (maintenance);
                   unified: HTTP 500 / 503 with an error object; files: HTTP 500 / 503
rate429            HTTP 429 + ``Retry-After``; body code 429 "Rate limit exceeded" (kie/upload)
                   or ``{"error":{"type":"rate_limit_error"}}`` (unified)
reset              the TCP connection is aborted before any byte of response (httpx:
                   ``RemoteProtocolError: Server disconnected without sending a response``)
stall              nothing is sent for ``seconds`` (default 30), then the connection is aborted;
                   ends early when the simulator stops
slow               waits ``seconds`` (default 2), then PROCESSES and answers normally (the body
                   was read first, so a client that gave up still gets its create executed)
malformed_json     HTTP 200 ``application/json`` with a cut-off JSON text
html_error         HTTP 502 ``text/html`` nginx error page
empty_body         HTTP 200 ``application/json`` with ``Content-Length: 0``
truncate           PROCESSED; headers with the full ``Content-Length``, then ``fraction`` of the
                   body, then the connection is aborted (httpx ``RemoteProtocolError``)
accept_then_500    PROCESSED (task created, credits charged, journal ``create=True``), then the
                   handler's answer is replaced by the http500 answer
accept_then_reset  PROCESSED as above, then the connection is aborted with no response
=================  ==========================================================================
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from .config import FaultSpec, parse_faults

#: Kinds that let the handler run first (the request is processed, then the answer is spoiled).
POST_PROCESS_KINDS = frozenset({"accept_then_500", "accept_then_reset", "truncate", "slow"})


@dataclass
class _Rule:
    spec: FaultSpec
    rng: random.Random
    seen: int = 0
    fired: int = 0


class FaultInjector:
    """Holds the active rules; ``pick`` is called once per request (thread-safe)."""

    def __init__(self, seed: int, specs: Sequence[FaultSpec] = ()) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._generation = 0
        self._rules: list[_Rule] = []
        self.set(specs)

    def set(self, specs: Sequence[FaultSpec] | Sequence[dict[str, object]]) -> None:
        parsed = parse_faults(list(specs))
        with self._lock:
            # A new generation reseeds the rules, so set_faults() twice with the same list
            # replays the same decisions.
            self._generation += 1
            self._rules = [
                _Rule(spec, random.Random(f"{self._seed}:fault:{i}:{spec.endpoint}:{spec.kind}"))
                for i, spec in enumerate(parsed)
            ]

    def clear(self) -> None:
        self.set([])

    def specs(self) -> list[FaultSpec]:
        with self._lock:
            return [r.spec for r in self._rules]

    def stats(self) -> list[dict[str, object]]:
        with self._lock:
            return [{**r.spec.to_dict(), "seen": r.seen, "fired": r.fired} for r in self._rules]

    def pick(self, origin: str, route: str | None, path: str) -> FaultSpec | None:
        with self._lock:
            chosen: FaultSpec | None = None
            for rule in self._rules:
                if not _matches(rule.spec, origin, route, path):
                    continue
                rule.seen += 1
                if rule.seen <= rule.spec.after:
                    continue
                if rule.spec.count is not None and rule.fired >= rule.spec.count:
                    continue
                # Always draw, so that the sequence of decisions does not depend on earlier rules.
                hit = rule.rng.random() < rule.spec.rate
                if hit and chosen is None:
                    rule.fired += 1
                    chosen = rule.spec
            return chosen


def _matches(spec: FaultSpec, origin: str, route: str | None, path: str) -> bool:
    if spec.origin is not None and spec.origin != origin:
        return False
    pattern = spec.endpoint
    if pattern in ("*", ""):
        return True
    if route is not None and (pattern == route or fnmatch.fnmatchcase(route, pattern)):
        return True
    return pattern.startswith("/") and fnmatch.fnmatchcase(path, pattern)
