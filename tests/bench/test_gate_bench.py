"""Benchmark: the gate's admit + record round trip vs a trivial EVALSHA (``return 1``) on the same server.

Both go through redis-py's ``register_script`` (EVALSHA) on one asyncio connection, sequentially, so the
ratio is the gate scripts' own cost over the bare round trip. Target: gate <= 2x the trivial calls.
Run: ``.venv/bin/pytest tests/bench/test_gate_bench.py -m bench -p no:xdist -s``
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio

from delivery.gate.scripts import Gate, GateSettings, TargetGateParams
from harness.redis_server import RedisServer

ROUNDS = 5
CALLS_PER_ROUND = 2000  # admit+record pairs (or pairs of trivial calls) per round
ROUND_LIMIT_S = 1.5
TARGETS = [f"bench-{uuid.uuid4()}" for _ in range(64)]
PARAMS = TargetGateParams(
    rate=1_000_000, capacity=2250, cb_enabled=True, probe_rate=1 / 60, failure_threshold=0.3, min_attempts=5,
    sample_period_ms=300_000, cooldown_ms=120_000, recovery_ms=600_000,
)  # fmt: skip


async def _timed(step: Callable[[int], Awaitable[object]]) -> float:
    """Seconds per iteration over one bounded round."""
    started = time.perf_counter()
    done = 0
    while done < CALLS_PER_ROUND and time.perf_counter() - started < ROUND_LIMIT_S:
        await step(done)
        done += 1
    return (time.perf_counter() - started) / done


@pytest.mark.bench
async def test_gate_cost_vs_trivial_evalsha() -> None:
    with RedisServer() as server:
        client = redis.asyncio.Redis.from_url(server.url)
        try:
            gate = Gate(client, GateSettings())
            trivial = client.register_script("return 1")

            async def gate_pair(i: int) -> None:
                target = TARGETS[i % len(TARGETS)]
                decision = await gate.admit(target, PARAMS, 1)
                await gate.record(target, PARAMS, decision.consumed, 0)

            async def trivial_pair(i: int) -> None:
                await trivial(keys=[TARGETS[i % len(TARGETS)]], args=[])
                await trivial(keys=[TARGETS[i % len(TARGETS)]], args=[])

            for warm in (gate_pair, trivial_pair):
                for i in range(200):
                    await warm(i)
            gate_s, trivial_s = [], []
            for _ in range(ROUNDS):  # alternate to share any machine noise
                gate_s.append(await _timed(gate_pair))
                trivial_s.append(await _timed(trivial_pair))
        finally:
            await client.aclose()
    best_gate, best_trivial = min(gate_s), min(trivial_s)
    ratio = best_gate / best_trivial
    print(f"\ngate admit+record: {1 / best_gate:,.0f} pairs/s ({best_gate * 1e6:.0f} us per pair)")
    print(f"trivial EVALSHA x2: {1 / best_trivial:,.0f} pairs/s ({best_trivial * 1e6:.0f} us per pair)")
    print(f"ratio gate/trivial: {ratio:.2f} (target <= 2.00)")
    assert ratio <= 2.0
