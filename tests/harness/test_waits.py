"""eventually(): polls a condition with a growing interval and reports what it waited for."""

from __future__ import annotations

import pytest

from harness.waits import WaitTimeout, eventually


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_returns_the_first_truthy_value() -> None:
    clock = FakeClock()
    values = iter([None, [], ["x"]])
    assert eventually(lambda: next(values), 5, clock=clock.time, sleep=clock.sleep) == ["x"]
    assert clock.sleeps == [0.01, 0.02]


def test_times_out_with_the_last_value() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeout, match=r"the answer.*last value: 0"):
        eventually(lambda: 0, 1.0, what="the answer", clock=clock.time, sleep=clock.sleep)
    assert clock.now == pytest.approx(1.0)
    assert max(clock.sleeps) <= 0.25
