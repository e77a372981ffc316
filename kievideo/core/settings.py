"""Settings of the core service (no UI toggles here: notifications etc. belong to the UI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Knobs of :class:`~kievideo.core.service.TaskService` and its poll scheduler.

    Status-request budget: one token bucket shared by every job. kie.ai documents no query rate
    limit (secondary sources claim 10/s per key or 3/s per task, §1.5/§10); 4/s with a burst of
    8 stays well under both, and a hundred running tasks still get polled on time because the
    adaptive scheduler sends few requests per task.
    """

    #: status requests per second, shared by all jobs (token bucket refill rate)
    poll_rate: float = 4.0
    #: token bucket size
    poll_burst: int = 8
    #: active time (queued/running while kievideo polls) after which a job is marked slow
    deadline_s: float = 15 * 60.0
    #: the same for 4K upgrades and extensions, documented as "5-10 min" / "over ten minutes"
    deadline_long_s: float = 30 * 60.0
    #: poll interval once a job is past its deadline (it is never abandoned)
    slow_poll_s: float = 60.0
    #: the early status check after the create: image, language and most content rejections
    #: come back within 20 s (the next check is near the typical duration)
    early_check_s: float = 20.0
    #: poll interval while completion is most likely (the learned duration window)
    dense_interval_s: float = 2.5
    #: longest interval between polls before the deadline
    max_interval_s: float = 30.0
    #: error backoff: first delay and cap (seconds)
    error_backoff_s: float = 5.0
    error_backoff_cap_s: float = 120.0
    #: 1080p upgrade: the docs advise retrying every 20-30 s; 4K every 30 s or more (§1.5)
    upgrade_1080p_interval_s: float = 20.0
    upgrade_4k_interval_s: float = 30.0
    #: parallel downloads
    download_concurrency: int = 3
    #: parallel uploads
    upload_concurrency: int = 3
    #: where finished videos go (None: the platform library folder chosen by the caller)
    library_dir: Path | None = None
    #: how long the provider keeps results: kie.ai 14 days (§1.6); Market/unified plan for 24 h
    retention_kie_s: float = 14 * DAY
    retention_unified_s: float = 1 * DAY
    #: how long an uploaded image is reused (kie.ai keeps uploads 3 days, newest docs say 24 h;
    #: plan for 24 h and keep a safety margin)
    upload_reuse_s: float = 20 * 3600.0
    #: automatic download retries after transient errors (expired links are refreshed first)
    download_retries: int = 5
