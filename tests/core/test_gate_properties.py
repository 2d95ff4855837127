"""Property tests of the gate against the real server: never over-admits, and retry-after is truthful."""

from __future__ import annotations

import uuid

import redis.asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery.gate.scripts import Gate, GateSettings, TargetGateParams

T0 = 1_767_225_600_000
STEPS = st.lists(st.tuples(st.integers(0, 5000), st.integers(1, 30)), min_size=1, max_size=12)
RATES = st.sampled_from([1 / 60, 0.5, 2.0, 7.5, 100.0])


def params(rate: float) -> TargetGateParams:
    return TargetGateParams(
        rate=rate, capacity=max(1.0, rate * 5), cb_enabled=False, probe_rate=1 / 60, failure_threshold=0.3,
        min_attempts=5, sample_period_ms=300_000, cooldown_ms=120_000, recovery_ms=600_000,
    )  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=RATES, steps=STEPS)
async def test_never_admits_more_than_capacity_plus_refill(
    redis_client: redis.asyncio.Redis, rate: float, steps: list[tuple[int, int]]
) -> None:
    gate, p, target = Gate(redis_client, GateSettings()), params(rate), f"prop-{uuid.uuid4()}"
    now, total = T0, 0
    for delta_ms, batch in steps:
        now += delta_ms
        decision = await gate.admit(target, p, batch, now_ms=now)
        assert 0 <= decision.consumed <= batch
        total += decision.consumed
        assert total <= p.capacity + (now - T0) * rate / 1000 + 1e-6
        if decision.consumed < batch:
            assert decision.retry_after_ms > 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=RATES, drain=st.integers(1, 40), batch=st.integers(1, 40))
async def test_waiting_retry_after_is_enough(
    redis_client: redis.asyncio.Redis, rate: float, drain: int, batch: int
) -> None:
    gate, p, target = Gate(redis_client, GateSettings()), params(rate), f"prop-{uuid.uuid4()}"
    await gate.admit(target, p, drain, now_ms=T0)
    denied = await gate.admit(target, p, batch, now_ms=T0)
    wanted = min(batch - denied.consumed, int(p.capacity))
    if wanted <= 0:
        return
    later = await gate.admit(target, p, wanted, now_ms=T0 + denied.retry_after_ms)
    assert later.consumed == wanted
