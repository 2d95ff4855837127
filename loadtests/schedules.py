"""Load shapes as pure functions of elapsed time: message rate -> user count (what ``tick()`` returns).

A profile's shape class only reads the clock and the options and calls ``tick_for``; everything here is
plain arithmetic, tested without Locust.

``rate_msgs_s`` is the target publish rate in messages per second. Every publishing user sends a fixed
``user_rate_msgs_s``, so the user count is ``ceil(rate / user_rate)`` (the rate is met or slightly passed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class ScheduleKind(StrEnum):
    STEADY = "steady"  # the rate for the whole run
    STEP = "step"  # ``steps`` equal steps up to the rate
    SPIKE = "spike"  # a baseline, the full rate in the middle fifth, the baseline again


@dataclass(frozen=True, slots=True)
class Schedule:
    kind: ScheduleKind
    duration_s: float
    rate_msgs_s: float
    steps: int = 4
    spike_baseline_ratio: float = 0.2  # baseline rate / spike rate
    spike_start_ratio: float = 0.4  # spike window as fractions of the run
    spike_end_ratio: float = 0.6

    def __post_init__(self) -> None:
        problems = []
        if self.duration_s <= 0:
            problems.append(f"duration_s must be > 0, got {self.duration_s}")
        if self.rate_msgs_s <= 0:
            problems.append(f"rate_msgs_s must be > 0, got {self.rate_msgs_s}")
        if self.steps < 1:
            problems.append(f"steps must be >= 1, got {self.steps}")
        if not 0 <= self.spike_start_ratio < self.spike_end_ratio <= 1:
            problems.append("spike window must satisfy 0 <= start < end <= 1")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True, slots=True)
class Tick:
    users: int
    spawn_rate: float  # users started (or stopped) per second


def rate_at(schedule: Schedule, elapsed_s: float) -> float | None:
    """Target message rate at ``elapsed_s``; None once the run is over."""
    if elapsed_s >= schedule.duration_s or elapsed_s < 0:
        return None
    if schedule.kind is ScheduleKind.STEP:
        step = min(schedule.steps - 1, int(elapsed_s * schedule.steps / schedule.duration_s))
        return schedule.rate_msgs_s * (step + 1) / schedule.steps
    if schedule.kind is ScheduleKind.SPIKE:
        fraction = elapsed_s / schedule.duration_s
        in_spike = schedule.spike_start_ratio <= fraction < schedule.spike_end_ratio
        return schedule.rate_msgs_s * (1.0 if in_spike else schedule.spike_baseline_ratio)
    return schedule.rate_msgs_s


def users_for_rate(rate_msgs_s: float, user_rate_msgs_s: float) -> int:
    if user_rate_msgs_s <= 0:
        raise ValueError(f"user_rate_msgs_s must be > 0, got {user_rate_msgs_s}")
    return 0 if rate_msgs_s <= 0 else max(1, math.ceil(rate_msgs_s / user_rate_msgs_s - 1e-9))


def tick_for(schedule: Schedule, elapsed_s: float, user_rate_msgs_s: float) -> Tick | None:
    """The shape's answer at ``elapsed_s``: users and spawn rate, or None to stop the run.

    Users start within about a second (a spike must be a spike), so the spawn rate is the user count.
    """
    rate = rate_at(schedule, elapsed_s)
    if rate is None:
        return None
    users = users_for_rate(rate, user_rate_msgs_s)
    return Tick(users=users, spawn_rate=float(max(users, 1)))


def task_rate_per_user(user_rate_msgs_s: float, mean_msgs_per_task: float) -> float:
    """Tasks per second one user runs so that it publishes ``user_rate_msgs_s`` messages per second."""
    if mean_msgs_per_task <= 0:
        raise ValueError(f"mean_msgs_per_task must be > 0, got {mean_msgs_per_task}")
    return user_rate_msgs_s / mean_msgs_per_task
