"""Task store timings on a 10,000-job file. Not a test (pytest does not collect it); prints JSON.

    .venv/bin/python tests/integration/core_store/bench_store.py [N_JOBS]

Measures: filling N jobs through TaskStore.insert (one commit each, as the app does), then,
with a fresh TaskStore each round: open (connect + pragmas + schema check), list(limit=50),
count(), count(states=active), text searches, active(), update(), changed_since() after one
change, and list() of everything (decoding every row). Medians of 15 rounds.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import Job, JobSpec, JobState
from kievideo.core.store import TaskStore

WORDS = [
    "cat",
    "dog",
    "wave",
    "surf",
    "neon",
    "city",
    "rain",
    "forest",
    "robot",
    "dragon",
    "ocean",
    "sunset",
    "night",
    "car",
    "cafe",
]


def fill(path: Path, n: int) -> float:
    rng = random.Random(1)
    t = time.perf_counter()
    with TaskStore(path) as store:
        for i in range(n):
            prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))
            spec = JobSpec(provider=rng.choice(list(ProviderKind)), model="veo3_fast", prompt=prompt)
            state = rng.choice(list(JobState)) if i > n - 50 else JobState.DONE
            store.insert(
                Job(
                    id=uuid.uuid4().hex,
                    spec=spec,
                    state=state,
                    task_id=uuid.uuid4().hex,
                    created_at=1.7e9 + i,
                    result_urls=(f"https://tempfile.example/{uuid.uuid4().hex}.mp4",),
                    extra={"n": i},
                )
            )
    return time.perf_counter() - t


def _round(store: TaskStore, timed) -> None:  # type: ignore[no-untyped-def]
    rows = timed("list50_ms", lambda: store.list(limit=50))
    assert len(rows) == 50
    timed("count_ms", store.count)
    timed("count_active_ms", lambda: store.count(states=[s for s in JobState if not s.is_final]))
    timed("search_list50_ms", lambda: store.list(text="dragon", limit=50))
    timed("search_count_ms", lambda: store.count(text="dragon"))
    timed("search_unicode_count_ms", lambda: store.count(text="дракон"))
    timed("active_ms", store.active)
    mark = store.last_change()
    job = rows[0]
    job.poll_count += 1
    timed("update_ms", lambda: store.update(job))
    changed = timed("changed_since_1_row_ms", lambda: store.changed_since(mark))
    assert [j.id for j in changed] == [job.id]
    timed("list_all_ms", store.list)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tasks.sqlite3"
        fill_s = fill(path, n)
        timings: dict[str, list[float]] = {}

        def timed(name: str, fn):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            result = fn()
            timings.setdefault(name, []).append((time.perf_counter() - t) * 1000)
            return result

        for _ in range(15):
            store = timed("open_ms", lambda: TaskStore(path))
            _round(store, timed)
            timings.setdefault("open_plus_list50_ms", []).append(
                timings["list50_ms"][-1] + timings["open_ms"][-1]
            )
            store.close()
        out = {
            "jobs": n,
            "file_mb": round(path.stat().st_size / 1e6, 2),
            "fill_s": round(fill_s, 2),
            "fill_per_insert_ms": round(fill_s / n * 1000, 3),
            **{k: round(statistics.median(v), 2) for k, v in timings.items()},
        }
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
