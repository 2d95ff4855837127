"""Retry-after around the breaker's recovery: integrated over the ramp (SPEC C.4 / P7 / P8), real server.

Right after the breaker closes the instantaneous rate is still about the probe rate (1/60 per second), but
the closed_recovery ramp climbs to the full rate within the recovery period, so a denied record's
retry-after is the time until the ramp has *accumulated* the tokens it needs, never the probe-rate answer.
The expected values here come from a numeric integration of the ramp solved by bisection, independent of
the closed form in admit.lua.
"""

from __future__ import annotations

import math

import pytest
import redis.asyncio

from delivery.gate.scripts import Gate, GateSettings, TargetGateParams
from delivery.models import BreakerState, RecordResult

T0 = 1_767_225_600_000  # fixed epoch ms
PROBE = 1 / 60
COOLDOWN = 120_000
RECOVERY = 600_000


def params(
    rate: float, *, capacity: float, cooldown_ms: float = COOLDOWN, recovery_ms: float = RECOVERY
) -> TargetGateParams:
    return TargetGateParams(
        rate=rate, capacity=capacity, cb_enabled=True, probe_rate=PROBE, failure_threshold=0.3,
        min_attempts=5, sample_period_ms=300_000, cooldown_ms=cooldown_ms, recovery_ms=recovery_ms,
    )  # fmt: skip


@pytest.fixture
def gate(redis_client: redis.asyncio.Redis) -> Gate:
    return Gate(redis_client, GateSettings())


def _accrued(t_ms: float, rate: float, elapsed_ms: float, recovery_ms: float) -> float:
    """Tokens the ramp produces in the next ``t_ms`` (trapezoids on the ramp, then the full rate)."""
    slope = (rate - PROBE) / recovery_ms  # tokens/s per ms
    ramp_t = min(t_ms, max(0.0, recovery_ms - elapsed_ms))
    start = PROBE + slope * elapsed_ms
    on_ramp = (start + (start + slope * ramp_t)) / 2 * ramp_t / 1000
    return on_ramp + (t_ms - ramp_t) * rate / 1000


def _expected_wait_ms(need: float, rate: float, elapsed_ms: float, recovery_ms: float) -> float:
    low, high = 0.0, recovery_ms + need * 1000 / rate
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if _accrued(mid, rate, elapsed_ms, recovery_ms) < need else (low, mid)
    return high


async def _close(gate: Gate, target_id: str, p: TargetGateParams) -> float:
    """Open the breaker at T0, take the probe after the cooldown, close it; returns the close time."""
    assert (await gate.admit(target_id, p, 5, now_ms=T0)).consumed == 5
    assert (await gate.record(target_id, p, 5, 5, now_ms=T0)).state is BreakerState.OPEN
    closed_at = T0 + p.cooldown_ms + 1
    probe = await gate.admit(target_id, p, 1, now_ms=closed_at)
    assert (probe.consumed, probe.reason) == (1, "some_allowed")
    closed = await gate.record(target_id, p, 1, 0, now_ms=closed_at)
    assert closed == RecordResult(BreakerState.CLOSED_RECOVERY, changed=True)
    return closed_at


@pytest.mark.parametrize(
    ("recovery_ms", "batch", "after_close_ms"),
    [
        (RECOVERY, 5, 1000),  # the reference 10 min ramp: the tokens come well before it ends
        (2000, 50, 1),  # a short ramp (the harness fixture's): most tokens come at the full rate after it
        (RECOVERY, 3, 300_000),  # half way up the ramp
    ],
)
async def test_denied_after_close_waits_for_the_ramp_not_the_probe_rate(
    gate: Gate, target_id: str, recovery_ms: float, batch: int, after_close_ms: float
) -> None:
    p = params(10.0, capacity=50, recovery_ms=recovery_ms, cooldown_ms=2000)
    closed_at = await _close(gate, target_id, p)
    now = closed_at + after_close_ms
    await gate.admit(target_id, p, 1000, now_ms=now)  # drain whatever the ramp has refilled so far
    denied = await gate.admit(target_id, p, batch, now_ms=now)
    tokens = float((await gate.state(target_id))["bucket_tokens"])
    need = batch - denied.consumed - tokens
    assert need > 0
    full_rate_bound_ms = (recovery_ms - after_close_ms) + need * 1000 / p.rate
    assert denied.retry_after_ms <= math.ceil(full_rate_bound_ms), "waits longer than the full rate would"
    expected = _expected_wait_ms(need, p.rate, after_close_ms, recovery_ms)
    assert denied.retry_after_ms == pytest.approx(expected, abs=1.0)
    at_instant_rate_ms = need * 1000 / denied.effective_rate
    assert denied.retry_after_ms < at_instant_rate_ms  # what the old, probe-rate answer was
    later = await gate.admit(target_id, p, batch - denied.consumed, now_ms=now + denied.retry_after_ms)
    assert later.consumed == batch - denied.consumed, "retry-after was not enough"


async def test_ramp_retry_after_is_far_below_the_probe_rate_answer(gate: Gate, target_id: str) -> None:
    p = params(10.0, capacity=50, cooldown_ms=2000, recovery_ms=2000)  # the harness fixture's breaker
    closed_at = await _close(gate, target_id, p)
    denied = await gate.admit(target_id, p, 1, now_ms=closed_at + 1)
    assert denied.reason == "rate_limited"
    # one token: PROBE*t + (10 - PROBE) * t**2 / 2 / 2 s = 1 -> t ~ 0.63 s (the probe rate alone: ~60 s)
    assert 600 <= denied.retry_after_ms <= 700


async def test_half_open_retry_after_is_the_time_left_to_the_next_probe_token(
    gate: Gate, target_id: str
) -> None:
    p = params(10.0, capacity=50)
    assert (await gate.admit(target_id, p, 5, now_ms=T0)).consumed == 5
    await gate.record(target_id, p, 5, 5, now_ms=T0)
    probe_at = T0 + COOLDOWN + 1
    assert (await gate.admit(target_id, p, 10, now_ms=probe_at)).retry_after_ms == 60_000
    for waited_ms in (1, 20_000, 59_000):
        denied = await gate.admit(target_id, p, 10, now_ms=probe_at + waited_ms)
        assert denied.reason == "rate_limited"
        assert denied.retry_after_ms == pytest.approx(60_000 - waited_ms, abs=1.0)
    next_probe = await gate.admit(target_id, p, 10, now_ms=probe_at + 60_000)
    assert (next_probe.consumed, next_probe.retry_after_ms) == (1, 60_000)
