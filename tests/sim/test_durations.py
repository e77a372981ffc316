"""The simulator's task durations: triangular over (shortest, typical, longest), one table shared
in meaning with the poll scheduler's priors (kievideo.core.scheduler.DURATIONS)."""

from __future__ import annotations

import random
import statistics

import pytest

from kievideo.core.scheduler import DURATIONS
from kievideo.sim import tasks
from kievideo.sim.tasks import draw_duration


def test_simulator_figures_match_the_scheduler_table() -> None:
    pairs = {
        "veo3_fast": tasks.VEO_DURATIONS["veo3_fast"],
        "veo3": tasks.VEO_DURATIONS["veo3"],
        "veo3_lite": tasks.VEO_DURATIONS["veo3_lite"],
        "runway:5": tasks.RUNWAY_DURATIONS[5],
        "runway:10": tasks.RUNWAY_DURATIONS[10],
        "runway:extend": tasks.RUNWAY_EXTEND_DURATION,
        "aleph": tasks.ALEPH_DURATION,
        "1080p": tasks.HD_DURATION,
        "4k": tasks.FOURK_DURATION,
        "extend": tasks.EXTEND_DURATION,
    }
    assert set(pairs) == set(DURATIONS)
    for key, figures in pairs.items():
        assert figures == DURATIONS[key], key


@pytest.mark.parametrize("figures", [(90.0, 150.0, 240.0), (60.0, 90.0, 120.0), (300.0, 450.0, 600.0)])
def test_draws_stay_in_range_and_cluster_around_the_typical_time(figures: tuple[float, float, float]) -> None:
    lo, typ, hi = figures
    rng = random.Random(3)
    draws = [draw_duration(rng, figures) for _ in range(4000)]
    assert lo <= min(draws) and max(draws) <= hi
    # Triangular: the mean is (lo + typ + hi) / 3 and the middle half is narrower than a flat
    # draw's (which would span half of the range).
    assert statistics.fmean(draws) == pytest.approx((lo + typ + hi) / 3, rel=0.02)
    q1, _q2, q3 = statistics.quantiles(draws, n=4)
    assert q3 - q1 < 0.4 * (hi - lo)


def test_a_zero_width_draw_still_advances_the_stream() -> None:
    """Every task's draws come from one seeded stream; a 720p Veo task draws a zero upscale time
    and must consume as much of the stream as a 1080p one, so later draws do not shift."""
    a, b = random.Random(9), random.Random(9)
    assert draw_duration(a, tasks.NO_DURATION) == 0.0
    draw_duration(b, tasks.HD_DURATION)
    assert a.random() == b.random()
