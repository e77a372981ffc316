"""FakeClock and SystemClock: sleeping is driven by advance(), never by real time."""

from __future__ import annotations

import asyncio
import threading

import pytest

from kievideo.core.clock import Clock, FakeClock, SystemClock


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FakeClock(), Clock)


def test_system_clock_moves_and_sleeps() -> None:
    c = SystemClock()
    t0, m0 = c.time(), c.monotonic()
    asyncio.run(c.sleep(0))
    assert c.time() >= t0 and c.monotonic() >= m0


def test_fake_clock_starts_at_given_values_and_advances_both() -> None:
    c = FakeClock(time=1000.0, monotonic=5.0)
    assert (c.time(), c.monotonic()) == (1000.0, 5.0)
    c.advance(2.5)
    assert (c.time(), c.monotonic()) == (1002.5, 7.5)
    with pytest.raises(ValueError):
        c.advance(-1)


def test_sleepers_wake_in_deadline_order_only_when_advanced() -> None:
    async def main() -> list[str]:
        c = FakeClock()
        woke: list[str] = []

        async def sleeper(name: str, s: float) -> None:
            await c.sleep(s)
            woke.append(name)

        tasks = [asyncio.ensure_future(sleeper(n, s)) for n, s in (("b", 20), ("a", 10), ("c", 30))]
        await c.wait_for_sleepers(3)
        assert c.next_deadline == 10
        await c.advance_async(9.999)
        assert woke == []
        await c.advance_async(0.001)
        assert woke == ["a"]
        await c.advance_async(100)
        assert woke == ["a", "b", "c"]
        await asyncio.gather(*tasks)
        assert c.sleepers == 0
        return woke

    assert asyncio.run(main()) == ["a", "b", "c"]


def test_sleep_zero_does_not_block_and_cancel_forgets_sleeper() -> None:
    async def main() -> None:
        c = FakeClock()
        await c.sleep(0)
        t = asyncio.ensure_future(c.sleep(5))
        await c.wait_for_sleepers(1)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert c.sleepers == 0 and c.next_deadline is None

    asyncio.run(main())


def test_advance_from_another_thread_wakes_the_loop() -> None:
    async def main() -> None:
        c = FakeClock()
        t = asyncio.ensure_future(c.sleep(60))
        await c.wait_for_sleepers(1)
        th = threading.Thread(target=c.advance, args=(60,))
        th.start()
        th.join()
        await asyncio.wait_for(t, timeout=5)  # woken via call_soon_threadsafe

    asyncio.run(main())


def test_wait_for_sleepers_fails_instead_of_hanging() -> None:
    async def main() -> None:
        with pytest.raises(AssertionError):
            await FakeClock().wait_for_sleepers(1, max_rounds=10)

    asyncio.run(main())


def test_set_time_moves_wall_only() -> None:
    c = FakeClock(time=100.0, monotonic=1.0)
    c.set_time(50.0)
    assert c.time() == 50.0 and c.monotonic() == 1.0
