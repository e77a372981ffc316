"""Configuration of the simulator: SimConfig, FaultSpec, the demo key, prices and trigger words.

Everything a test or the command line can tune lives here, as plain frozen dataclasses, so that a
configuration can be hashed, printed and passed between threads without surprises.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

#: The key the simulator accepts when no other is configured (demo mode needs no real key).
DEMO_KEY = "kievideo-demo-key"

#: Default trigger words. A prompt containing the word (case-sensitive, as a whole substring) makes
#: the task end in the documented failure. Upper case so that ordinary prompts never hit them.
DEFAULT_FAIL_WORDS: Mapping[str, str] = {
    "REJECT": "content_policy",  # Veo successFlag 2/3 + errorCode 400; Runway fail; unified failed
    "FAILGEN": "generation_failed",  # Veo successFlag 3 + errorCode 501; Runway fail; unified failed
}

#: Credits charged per paid request. Figures follow the documented/secondary kie.ai price hints
#: (4K "about 2x a Fast generation", 1080p 5, 4K 120 in the 4K callback example); the rest are
#: plausible round numbers. Documented in the README of the package (``kievideo/sim/__init__.py``).
PRICES: Mapping[str, int] = {
    "veo3_fast": 60,
    "veo3": 250,
    "veo3_lite": 30,
    "veo_1080p": 5,  # first get-1080p-video call of a task starts (and pays for) the upscale
    "veo_4k": 120,  # first get-4k-video call of a task/index
    "veo_resolution_1080p": 5,  # generate with resolution=1080p: model price + this
    "veo_resolution_4k": 120,  # generate with resolution=4k: model price + this
    "runway_720p_5": 12,
    "runway_720p_10": 30,
    "runway_1080p_5": 30,
    "aleph": 110,
    "unified": 0,  # the aggregator bills its own account, not the kie.ai balance
}

#: Veo extend ``model`` values map onto the generate price of the matching model.
EXTEND_MODEL_PRICE_KEY: Mapping[str, str] = {"fast": "veo3_fast", "quality": "veo3", "lite": "veo3_lite"}

FAULT_KINDS: frozenset[str] = frozenset(
    {
        "http500",
        "http502",
        "http503",
        "code500",
        "code455",
        "rate429",
        "reset",
        "stall",
        "slow",
        "malformed_json",
        "html_error",
        "empty_body",
        "truncate",
        "accept_then_500",
        "accept_then_reset",
    }
)


@dataclass(frozen=True)
class FaultSpec:
    """One fault-injection rule.

    ``endpoint`` is a route name (``"veo.generate"``), a path glob (``"/api/v1/veo/*"``) or ``"*"``.
    ``rate`` is the probability of firing on a matching request, drawn from a per-rule
    ``random.Random`` seeded by the simulator seed, so a run is reproducible. ``after`` skips the
    first N matching requests, ``count`` caps how many times the rule fires. ``seconds`` is the
    delay of ``slow`` (default 2), the hang of ``stall`` (default 30) and the ``Retry-After`` of
    ``rate429``/``http503`` unless ``retry_after`` is given (default 5). ``fraction`` is the share
    of the body ``truncate`` sends.
    ``origin`` optionally restricts the rule to ``"api"``, ``"upload"`` or ``"files"``.
    """

    endpoint: str
    kind: str
    rate: float = 1.0
    count: int | None = None
    after: int = 0
    seconds: float | None = None
    fraction: float = 0.5
    origin: str | None = None
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("FaultSpec.rate must be within 0..1")
        if self.count is not None and self.count < 0:
            raise ValueError("FaultSpec.count must be >= 0")
        if self.after < 0:
            raise ValueError("FaultSpec.after must be >= 0")
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError("FaultSpec.fraction must be within 0..1")
        if self.origin is not None and self.origin not in ("api", "upload", "files"):
            raise ValueError("FaultSpec.origin must be api, upload or files")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FaultSpec:
        """Build from JSON (``--faults FILE``, ``POST /_sim/faults``)."""
        data = dict(raw)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown FaultSpec fields: {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def parse_faults(raw: Any) -> tuple[FaultSpec, ...]:
    """Accept a list of dicts/FaultSpecs or ``{"faults": [...]}`` and return FaultSpecs."""
    if isinstance(raw, Mapping) and "faults" in raw:
        raw = raw["faults"]
    if isinstance(raw, FaultSpec):
        return (raw,)
    if not isinstance(raw, Iterable) or isinstance(raw, str | bytes | Mapping):
        raise ValueError("faults must be a JSON list of objects")
    out: list[FaultSpec] = []
    for item in raw:
        if isinstance(item, FaultSpec):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(FaultSpec.from_dict(item))
        else:
            raise ValueError("each fault must be an object")
    return tuple(out)


def load_faults_file(path: str | Path) -> tuple[FaultSpec, ...]:
    return parse_faults(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass(frozen=True)
class SimConfig:
    """All knobs of one simulator instance.

    ``speed`` multiplies the simulated clock: durations are drawn in documented (simulated)
    minutes, so at ``speed=60`` a 3-minute Veo task takes 3 real seconds. ``speed=0`` freezes the
    clock so only :meth:`SimServer.advance` moves it (fully deterministic tests).
    ``start_time`` pins the simulated epoch (default: the wall clock at start).
    """

    speed: float = 60.0
    seed: int = 1
    keys: tuple[str, ...] = (DEMO_KEY,)
    credits: int = 500
    faults: tuple[FaultSpec, ...] = ()
    fail_words: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_FAIL_WORDS))
    retention_days: float = 14.0
    upload_retention_days: float = 3.0
    download_url_minutes: float = 20.0
    rate_limit: int = 20  # creates allowed ...
    rate_window_s: float = 10.0  # ... per this many SIMULATED seconds
    host: str = "127.0.0.1"
    api_port: int = 0
    upload_port: int = 0
    files_port: int = 0
    throttle_bps: int | None = None
    http_status_mirrors_code: bool = False
    start_time: float | None = None
    cache_dir: str | None = None  # where generated clips are cached; default: user cache dir
    data_dir: str | None = None  # where uploads are stored; default: a temp dir removed on stop
    journal_limit: int | None = 100_000  # oldest journal entries are dropped beyond this
    http: str = "auto"  # uvicorn HTTP implementation: "auto" (httptools if installed), "h11", "httptools"

    def __post_init__(self) -> None:
        if self.speed < 0:
            raise ValueError("speed must be >= 0")
        if isinstance(self.keys, str):  # a common slip: keys="abc"
            object.__setattr__(self, "keys", (self.keys,))
        object.__setattr__(self, "keys", tuple(self.keys))
        object.__setattr__(self, "faults", parse_faults(self.faults) if self.faults else ())
        if isinstance(self.fail_words, Sequence) and not isinstance(self.fail_words, str):
            # A plain list of words means "these words reject like REJECT".
            object.__setattr__(self, "fail_words", {w: "content_policy" for w in self.fail_words})
        for word, kind in self.fail_words.items():
            if kind not in ("content_policy", "generation_failed"):
                raise ValueError(f"fail word {word!r}: kind must be content_policy or generation_failed")
        if self.http not in ("auto", "h11", "httptools"):
            raise ValueError("http must be auto, h11 or httptools")
