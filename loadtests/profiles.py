"""The load profiles as data (pure): schedule, targets, message mix and mock faults of each.

Each profile has its own locustfile (``steady.py``, ``spike.py``, ...) holding a ``LoadTestShape`` bound to
one of these values; everything a profile *means* is here, testable without Locust.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from loadtests.message_ids import LOAD_PREFIX, forced_prefix
from loadtests.schedules import Schedule, ScheduleKind
from loadtests.targets import LoadTarget, TargetSet, failing_candidates

FAILING_STATUS = 500


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str
    schedule: ScheduleKind = ScheduleKind.STEADY
    target_set: TargetSet = TargetSet.PLAIN
    default_rate_msgs_s: float = 50.0
    default_duration_s: float = 60.0
    failing_share: float = 0.0  # messages sent to the failing target with a force-500 prefix
    slow_delay_ms: float = 0.0  # the first target answers this late (fault script)
    rate_limit_ratio: float = 0.0  # mock rate limit per target, as a share of its publish rate
    fault_window: tuple[float, float] = (0.0, 1.0)  # when faults apply, as fractions of the run


STEADY = Profile("steady", "a constant publish rate to every plain target")
STEP = Profile("step-load", "the rate in equal steps up to --rate", schedule=ScheduleKind.STEP)
SPIKE = Profile(
    "spike", "a 20% baseline with the full --rate in the middle fifth of the run", schedule=ScheduleKind.SPIKE
)
SLOW_RECEIVER = Profile(
    "slow-receiver",
    "the first target answers 750 ms late; the others must not slow down",
    slow_delay_ms=750.0,
)
RATE_LIMIT_STORM = Profile(
    "rate-limit-storm",
    "the mock rate-limits every target to half its load (429 + Retry-After) in the middle third",
    rate_limit_ratio=0.5,
    fault_window=(1 / 3, 2 / 3),
)
FAILING_TARGET = Profile(
    "failing-target",
    "20% of messages go to a circuit-breaker target that always answers 500; the others keep flowing",
    failing_share=0.2,
)
MTLS_PINNING = Profile(
    "mtls-pinning",
    "mTLS and SPKI pinning on every target (the slowest configuration)",
    target_set=TargetSet.MTLS,
)

PROFILES: dict[str, Profile] = {
    p.name: p for p in (STEADY, STEP, SPIKE, SLOW_RECEIVER, RATE_LIMIT_STORM, FAILING_TARGET, MTLS_PINNING)
}


@dataclass(frozen=True, slots=True)
class Lane:
    """Where one task publishes: a target, the message-id prefix, whether delivery is expected, a weight."""

    target: LoadTarget
    prefix: str
    deliverable: bool
    weight: float


def lanes_for(
    profile: Profile, targets: Sequence[LoadTarget], all_targets: Sequence[LoadTarget]
) -> list[Lane]:
    """Healthy lanes share ``1 - failing_share`` equally; the failing lane (if any) gets the rest."""
    if not targets:
        raise ValueError("a load run needs at least one target")
    share = profile.failing_share
    lanes = [Lane(t, LOAD_PREFIX, True, (1.0 - share) / len(targets)) for t in targets]
    if share > 0:
        failing = failing_candidates(all_targets)
        if not failing:
            raise ValueError(
                f"profile {profile.name} needs a target with circuitBreaker.enabled (and no mTLS)"
            )
        lanes.append(Lane(failing[0], forced_prefix(FAILING_STATUS), False, share))
    return lanes


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """A fault script to install on one mock path from ``start_s`` until ``end_s`` (seconds into the run)."""

    path: str
    script: dict[str, object]
    start_s: float
    end_s: float


def faults_for(
    profile: Profile, targets: Sequence[LoadTarget], rate_msgs_s: float, duration_s: float
) -> list[FaultPlan]:
    start_s, end_s = (profile.fault_window[0] * duration_s, profile.fault_window[1] * duration_s)
    plans: list[FaultPlan] = []
    if profile.slow_delay_ms > 0 and targets:
        script: dict[str, object] = {"steps": [{"delayMs": profile.slow_delay_ms, "times": None}]}
        plans.append(FaultPlan(targets[0].path, script, start_s, end_s))
    if profile.rate_limit_ratio > 0:
        per_target_s = rate_msgs_s / max(1, len(targets))
        limit_s = max(1, math.floor(per_target_s * profile.rate_limit_ratio))
        limit: dict[str, object] = {"rateLimit": {"perSecond": limit_s, "burst": limit_s, "retryAfterS": 1}}
        plans.extend(FaultPlan(t.path, limit, start_s, end_s) for t in targets)
    return plans


def choose_profile(requested: str | None, available: Sequence[str]) -> str:
    """The profile to run: the requested one, else ``steady`` if loaded, else the only one loaded."""
    if requested:
        if requested not in available:
            loaded = ", ".join(sorted(available)) or "none"
            raise ValueError(
                f"profile {requested!r} is not loaded (loaded: {loaded}; known: {', '.join(PROFILES)})"
            )
        return requested
    if STEADY.name in available:
        return STEADY.name
    if len(available) == 1:
        return available[0]
    raise ValueError(
        f"several profiles are loaded ({', '.join(sorted(available))}); choose one with --load-profile"
    )


def schedule_of(profile: Profile, duration_s: float | None, rate_msgs_s: float | None) -> Schedule:
    """The run's schedule: ``-t``/``--run-time`` and ``--rate`` when given, else the profile's defaults."""
    return Schedule(
        profile.schedule,
        duration_s=float(duration_s or profile.default_duration_s),
        rate_msgs_s=float(rate_msgs_s or profile.default_rate_msgs_s),
    )
