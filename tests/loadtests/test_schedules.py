"""Load shapes as pure functions of time (what each profile's ``tick()`` returns)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtests.profiles import PROFILES, schedule_of
from loadtests.schedules import (
    Schedule,
    ScheduleKind,
    Tick,
    rate_at,
    task_rate_per_user,
    tick_for,
    users_for_rate,
)


def test_steady_holds_the_rate_then_stops() -> None:
    schedule = Schedule(ScheduleKind.STEADY, duration_s=30, rate_msgs_s=50)
    assert [rate_at(schedule, t) for t in (0, 15, 29.9)] == [50, 50, 50]
    assert rate_at(schedule, 30) is None
    assert tick_for(schedule, 10, user_rate_msgs_s=10) == Tick(users=5, spawn_rate=5.0)
    assert tick_for(schedule, 30, user_rate_msgs_s=10) is None


def test_step_climbs_in_equal_steps() -> None:
    schedule = Schedule(ScheduleKind.STEP, duration_s=40, rate_msgs_s=100, steps=4)
    assert [rate_at(schedule, t) for t in (0, 9.9, 10, 20, 30, 39.9)] == [25, 25, 50, 75, 100, 100]


def test_spike_is_full_rate_only_in_its_window() -> None:
    schedule = Schedule(ScheduleKind.SPIKE, duration_s=100, rate_msgs_s=200)
    assert [rate_at(schedule, t) for t in (0, 39.9, 40, 59.9, 60, 99)] == [40, 40, 200, 200, 40, 40]


@pytest.mark.parametrize(
    ("rate", "per_user", "users"), [(50, 10, 5), (51, 10, 6), (0.5, 10, 1), (0, 10, 0), (30, 10, 3)]
)
def test_users_cover_the_rate(rate: float, per_user: float, users: int) -> None:
    assert users_for_rate(rate, per_user) == users


@given(rate=st.floats(0.01, 10_000), per_user=st.floats(0.1, 100))
def test_users_never_undershoot_by_more_than_rounding(rate: float, per_user: float) -> None:
    users = users_for_rate(rate, per_user)
    assert users * per_user >= rate * (1 - 1e-6)
    assert (users - 1) * per_user < rate


def test_task_rate_turns_messages_into_tasks() -> None:
    assert task_rate_per_user(10, mean_msgs_per_task=5.5) == pytest.approx(10 / 5.5)
    with pytest.raises(ValueError, match="mean_msgs_per_task"):
        task_rate_per_user(10, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration_s": 0, "rate_msgs_s": 1}, "duration_s must be > 0"),
        ({"duration_s": 1, "rate_msgs_s": -1}, "rate_msgs_s must be > 0"),
        ({"duration_s": 1, "rate_msgs_s": 1, "steps": 0}, "steps must be >= 1"),
        ({"duration_s": 1, "rate_msgs_s": 1, "spike_start_ratio": 0.7}, "spike window"),
    ],
)
def test_bad_schedules_are_rejected(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule(ScheduleKind.STEADY, **kwargs)  # type: ignore[arg-type]


def test_run_time_and_rate_override_the_profile_defaults() -> None:
    profile = PROFILES["spike"]
    assert schedule_of(profile, None, None) == Schedule(
        ScheduleKind.SPIKE, profile.default_duration_s, profile.default_rate_msgs_s
    )
    assert schedule_of(profile, 30, 400) == Schedule(ScheduleKind.SPIKE, 30.0, 400.0)
