"""The Lua gate against a real Redis/Valkey server with a fixed, injected clock (SPEC C + P8, Appendix 2)."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot

from delivery.gate.scripts import ADMIT_SCRIPT, RECORD_SCRIPT, Gate, GateSettings, TargetGateParams
from delivery.models import AdmitDecision, BreakerState, RecordResult

T0 = 1_767_225_600_000  # fixed epoch ms
PROBE = 1 / 60
COOLDOWN = 120_000
RECOVERY = 600_000


def params(
    rate: float = 2.0, *, cb: bool = True, capacity: float | None = None, **overrides: float
) -> TargetGateParams:
    values = {
        "rate": rate,
        "capacity": capacity if capacity is not None else max(1.0, min(rate * 5, 2250)),
        "cb_enabled": cb,
        "probe_rate": PROBE,
        "failure_threshold": 0.3,
        "min_attempts": 5,
        "sample_period_ms": 300_000,
        "cooldown_ms": COOLDOWN,
        "recovery_ms": RECOVERY,
    }
    values.update(overrides)
    return TargetGateParams(**values)  # type: ignore[arg-type]


@pytest.fixture
def gate(redis_client: redis.asyncio.Redis) -> Gate:
    return Gate(redis_client, GateSettings())


async def test_new_target_starts_closed_with_a_full_bucket(gate: Gate, target_id: str) -> None:
    for cb in (False, True):
        tid = f"{target_id}-{cb}"
        decision = await gate.admit(tid, params(2.0, cb=cb), 10, now_ms=T0)
        assert decision == AdmitDecision(
            consumed=10, reason="some_allowed", retry_after_ms=0, effective_rate=2.0
        )
        state = await gate.state(tid)
        assert state == {"bucket_tokens": "0", "bucket_refilled_at": str(T0)}


async def test_appendix2_rate_limited_batches_accrue_at_the_rate(gate: Gate, target_id: str) -> None:
    p = params(2.0)  # capacity 10
    first = await gate.admit(target_id, p, 15, now_ms=T0)
    assert (first.consumed, first.reason) == (10, "some_allowed")
    assert first.retry_after_ms == 2500  # 5 more tokens at 2/s
    second = await gate.admit(target_id, p, 5, now_ms=T0 + 1000)
    assert (second.consumed, second.retry_after_ms) == (2, 1500)
    third = await gate.admit(target_id, p, 3, now_ms=T0 + 1250)  # half a token: refill time not leaked
    assert third == AdmitDecision(0, "rate_limited", 1250, 2.0)
    fourth = await gate.admit(target_id, p, 3, now_ms=T0 + 1250 + third.retry_after_ms)
    assert (fourth.consumed, fourth.reason, fourth.retry_after_ms) == (3, "some_allowed", 0)


async def test_retry_after_comes_from_the_refill_rate_not_a_fixed_second(gate: Gate, target_id: str) -> None:
    p = params(0.1)  # capacity max(1, 0.5) = 1
    assert (await gate.admit(target_id, p, 1, now_ms=T0)).consumed == 1
    denied = await gate.admit(target_id, p, 1, now_ms=T0 + 2000)
    assert denied == AdmitDecision(0, "rate_limited", 8000, 0.1)


async def test_fractional_rates_and_tokens_survive_the_reply(gate: Gate, target_id: str) -> None:
    p = params(PROBE, cb=False)
    first = await gate.admit(target_id, p, 1, now_ms=T0)
    assert first.consumed == 1
    assert math.isclose(first.effective_rate, 1 / 60, rel_tol=1e-12)
    denied = await gate.admit(target_id, p, 1, now_ms=T0 + 30_000)
    assert (denied.reason, denied.retry_after_ms) == ("rate_limited", 30_000)
    assert (await gate.admit(target_id, p, 1, now_ms=T0 + 60_000)).consumed == 1
    half = params(0.5, cb=False)  # capacity 2.5: two whole tokens out, half a token kept
    tid = f"{target_id}-half"
    assert (await gate.admit(tid, half, 5, now_ms=T0)).consumed == 2
    assert (await gate.state(tid))["bucket_tokens"] == "0.5"
    assert (await gate.admit(tid, half, 5, now_ms=T0 + 1000)).consumed == 1  # 0.5 + 0.5


async def test_burst_cap_bounds_idle_accumulation(gate: Gate, target_id: str) -> None:
    p = params(10.0, capacity=3)
    assert (await gate.admit(target_id, p, 100, now_ms=T0)).consumed == 3
    later = await gate.admit(target_id, p, 100, now_ms=T0 + 3_600_000)
    assert later.consumed == 3
    assert later.retry_after_ms == 300  # 3 tokens at 10/s


async def test_concurrent_admits_never_over_admit(gate: Gate, target_id: str) -> None:
    p = params(2.0)
    decisions = await asyncio.gather(*(gate.admit(target_id, p, 1, now_ms=T0) for _ in range(25)))
    assert sum(d.consumed for d in decisions) == 10


async def _open(gate: Gate, target_id: str, p: TargetGateParams, now_ms: int) -> RecordResult:
    assert (await gate.admit(target_id, p, 5, now_ms=now_ms)).consumed == 5
    return await gate.record(target_id, p, 5, 2, now_ms=now_ms)


async def test_full_breaker_cycle(gate: Gate, target_id: str) -> None:
    p = params(10.0)
    assert await _open(gate, target_id, p, T0) == RecordResult(BreakerState.OPEN, changed=True)
    blocked = await gate.admit(target_id, p, 10, now_ms=T0 + 30_000)
    assert blocked == AdmitDecision(0, "circuit_open", COOLDOWN - 30_000, 0)
    at_edge = await gate.admit(target_id, p, 10, now_ms=T0 + COOLDOWN)  # cooldown end is still open
    assert at_edge.reason == "circuit_open"
    probe = await gate.admit(target_id, p, 10, now_ms=T0 + COOLDOWN + 1)
    assert (probe.consumed, probe.reason) == (1, "some_allowed")
    assert math.isclose(probe.effective_rate, PROBE)
    assert probe.retry_after_ms == 60_000  # the next probe token
    assert (await gate.admit(target_id, p, 10, now_ms=T0 + COOLDOWN + 2)).reason == "rate_limited"
    closed_at = T0 + COOLDOWN + 500
    closed = await gate.record(target_id, p, 1, 0, now_ms=closed_at)
    assert closed == RecordResult(BreakerState.CLOSED_RECOVERY, changed=True)
    ramp = await gate.admit(target_id, p, 1, now_ms=closed_at + 60_000)  # Appendix 2: 10 % into the ramp
    assert math.isclose(ramp.effective_rate, PROBE + 0.1 * (10.0 - PROBE))
    done = await gate.record(target_id, p, 1, 0, now_ms=closed_at + RECOVERY)
    assert done == RecordResult(BreakerState.CLOSED, changed=False)
    full = await gate.admit(target_id, p, 1, now_ms=closed_at + RECOVERY)
    assert full.effective_rate == 10.0


async def test_failed_probe_reopens_with_a_fresh_cooldown(gate: Gate, target_id: str) -> None:
    p = params(10.0)
    await _open(gate, target_id, p, T0)
    probe_at = T0 + COOLDOWN + 1
    assert (await gate.admit(target_id, p, 10, now_ms=probe_at)).consumed == 1
    assert await gate.record(target_id, p, 1, 1, now_ms=probe_at) == RecordResult(
        BreakerState.OPEN, changed=True
    )
    blocked = await gate.admit(target_id, p, 10, now_ms=probe_at + 1000)
    assert blocked == AdmitDecision(0, "circuit_open", COOLDOWN - 1000, 0)
    # exactly one probe again once the new cooldown has passed, however long it was idle
    late = await gate.admit(target_id, p, 10, now_ms=probe_at + 10 * COOLDOWN)
    assert late.consumed == 1


async def test_half_open_record_without_attempts_changes_nothing(gate: Gate, target_id: str) -> None:
    p = params(10.0)
    await _open(gate, target_id, p, T0)
    result = await gate.record(target_id, p, 0, 0, now_ms=T0 + COOLDOWN + 1)
    assert result == RecordResult(BreakerState.HALF_OPEN, changed=False)


@pytest.mark.parametrize(
    ("consumed", "failures", "state"),
    [(5, 2, BreakerState.OPEN), (5, 1, BreakerState.CLOSED), (4, 4, BreakerState.CLOSED)],
)
async def test_appendix2_opening_arithmetic(
    gate: Gate, target_id: str, consumed: int, failures: int, state: BreakerState
) -> None:
    p = params(10.0)
    await gate.admit(target_id, p, consumed, now_ms=T0)
    result = await gate.record(target_id, p, consumed, failures, now_ms=T0)
    assert result == RecordResult(state, changed=state is BreakerState.OPEN)


@pytest.mark.parametrize(("current_failures", "state"), [(1, BreakerState.OPEN), (0, BreakerState.CLOSED)])
async def test_appendix2_window_interpolation(
    gate: Gate, target_id: str, current_failures: int, state: BreakerState
) -> None:
    lenient = params(10.0, failure_threshold=1.0)
    assert (await gate.record(target_id, lenient, 10, 4, now_ms=T0)).state is BreakerState.CLOSED
    # window ends at T0+300 s; at T0+450 s it was promoted and ends at T0+600 s: weight 0.5 -> prev 5 / 2
    result = await gate.record(target_id, params(10.0), 2, current_failures, now_ms=T0 + 450_000)
    assert result.state is state  # (2 + 1) / 7 = 0.43 > 0.3 opens; 2 / 7 = 0.29 does not
    if state is BreakerState.CLOSED:
        fields = await gate.state(target_id)
        assert (fields["prev_attempts"], fields["cur_attempts"]) == ("10", "2")
        assert fields["sample_till"] == str(T0 + 600_000)


async def test_window_older_than_a_period_is_reset_not_promoted(gate: Gate, target_id: str) -> None:
    lenient = params(10.0, failure_threshold=1.0)
    await gate.record(target_id, lenient, 10, 9, now_ms=T0)
    result = await gate.record(target_id, params(10.0), 1, 1, now_ms=T0 + 700_000)
    assert result.state is BreakerState.CLOSED  # old failures forgotten; 1 attempt < 5
    fields = await gate.state(target_id)
    assert (fields["prev_attempts"], fields["prev_failures"], fields["sample_till"]) == (
        "0",
        "0",
        str(T0 + 1_000_000),
    )


async def test_fully_open_breaker_does_not_count_attempts(gate: Gate, target_id: str) -> None:
    p = params(10.0)
    await _open(gate, target_id, p, T0)
    assert await gate.record(target_id, p, 3, 3, now_ms=T0 + 1000) == RecordResult(BreakerState.OPEN, False)
    assert (await gate.state(target_id))["cur_attempts"] == "0"


async def test_breaker_ignored_when_disabled(gate: Gate, target_id: str) -> None:
    enabled, disabled = params(10.0), params(10.0, cb=False)
    await _open(gate, target_id, enabled, T0)
    decision = await gate.admit(target_id, disabled, 3, now_ms=T0 + 1000)
    assert (decision.consumed, decision.reason) == (3, "some_allowed")
    assert await gate.record(target_id, disabled, 3, 3, now_ms=T0 + 1000) == RecordResult(
        BreakerState.CLOSED, False
    )


async def test_per_target_breaker_overrides_drive_the_scripts(gate: Gate, target_id: str) -> None:
    p = params(10.0, cooldown_ms=2000, recovery_ms=2000, min_attempts=2, failure_threshold=0.5)
    await gate.admit(target_id, p, 2, now_ms=T0)
    assert (await gate.record(target_id, p, 2, 2, now_ms=T0)).state is BreakerState.OPEN
    assert (await gate.admit(target_id, p, 1, now_ms=T0 + 1999)).retry_after_ms == 1
    assert (await gate.admit(target_id, p, 1, now_ms=T0 + 2001)).consumed == 1
    closed = await gate.record(target_id, p, 1, 0, now_ms=T0 + 2001)
    assert closed.state is BreakerState.CLOSED_RECOVERY
    assert (await gate.record(target_id, p, 1, 0, now_ms=T0 + 4001)).state is BreakerState.CLOSED


async def test_keys_are_hash_tagged_and_expire_after_inactivity(
    redis_client: redis.asyncio.Redis, target_id: str
) -> None:
    gate = Gate(redis_client, GateSettings(key_ttl_ms=60_000))
    key = f"ep:{{{target_id}}}"
    assert key_slot(key.encode()) == key_slot(target_id.encode())
    await gate.admit(target_id, params(), 1, now_ms=T0)
    assert 0 < await redis_client.pttl(key) <= 60_000
    await redis_client.pexpire(key, 5)  # simulate the end of the inactivity period
    await gate.record(target_id, params(), 1, 0, now_ms=T0)  # every write refreshes the TTL
    assert 5 < await redis_client.pttl(key) <= 60_000


async def test_expired_key_comes_back_as_a_new_target(
    redis_client: redis.asyncio.Redis, target_id: str
) -> None:
    gate = Gate(redis_client, GateSettings(key_ttl_ms=30))
    p = params(2.0)
    assert (await gate.admit(target_id, p, 10, now_ms=T0)).consumed == 10
    for _ in range(500):  # wait (bounded) for the server to expire the key
        if not await redis_client.exists(f"ep:{{{target_id}}}"):
            break
        await asyncio.sleep(0.01)
    assert not await redis_client.exists(f"ep:{{{target_id}}}")
    assert (await gate.admit(target_id, p, 10, now_ms=T0)).consumed == 10  # full bucket again


async def test_server_clock_is_used_without_now(gate: Gate, target_id: str) -> None:
    before_ms = time.time() * 1000
    await gate.admit(target_id, params(), 1)
    stored = float((await gate.state(target_id))["bucket_refilled_at"])
    assert before_ms - 5000 < stored < time.time() * 1000 + 5000
    assert (await gate.record(target_id, params(), 1, 0)).state is BreakerState.CLOSED


async def test_noscript_fallback_after_script_flush(
    gate: Gate, redis_client: redis.asyncio.Redis, target_id: str
) -> None:
    await gate.admit(target_id, params(), 1, now_ms=T0)
    await redis_client.script_flush()
    assert (await gate.admit(target_id, params(), 1, now_ms=T0)).consumed == 1


async def test_script_error_is_gate_unavailable_without_source(
    gate: Gate, redis_client: redis.asyncio.Redis, target_id: str
) -> None:
    from delivery.errors import GateUnavailable

    await redis_client.set(f"ep:{{{target_id}}}", "not a hash")
    with pytest.raises(GateUnavailable) as info:
        await gate.admit(target_id, params(), 1, now_ms=T0)
    assert "WRONGTYPE" in str(info.value)
    assert "HMGET" not in str(info.value)
    assert ADMIT_SCRIPT[:40] not in str(info.value)


async def test_redis_down_is_gate_unavailable_without_source(target_id: str) -> None:
    from delivery.errors import GateUnavailable
    from harness.processes import free_port

    no_retry = Retry(NoBackoff(), 0)  # redis-py retries with backoff by default; fail at once here
    client = redis.asyncio.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=no_retry)
    try:
        gate = Gate(client)
        for call in (
            gate.admit(target_id, params(), 1),
            gate.record(target_id, params(), 1, 0),
            gate.state(target_id),
        ):
            with pytest.raises(GateUnavailable) as info:
                await call
            message = str(info.value)
            assert target_id in message
            assert "redis.call" not in message
            assert RECORD_SCRIPT[:40] not in message
    finally:
        await client.aclose()
