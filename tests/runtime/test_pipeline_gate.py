"""The gate in the pipeline (real Redis): denial requeues without loss, the breaker opens, blocks, probes and
closes, and a Redis outage requeues instead of delivering or dead-lettering."""

from __future__ import annotations

import os
import signal

from delivery.gate.scripts import Gate, GateSettings
from delivery.models import Disposition
from delivery.runtime.redis_conn import connect
from delivery.runtime.settings import RedisSettings
from delivery.runtime.settle import settle
from harness.processes import free_port
from harness.redis_server import RedisServer
from tests.runtime.conftest import Stack, envelope, wait_until
from tests.runtime.receiver import Reply


async def _settled(stack: Stack) -> bool:
    return await stack.depth() == (0, 0)


async def test_gate_denial_requeues_and_nothing_is_lost(stack: Stack) -> None:
    target = stack.add_target(rate=2, rateLimit={"burst": 1})
    ids = [f"m-rate-{i}" for i in range(4)]
    await stack.send(*(envelope(target, i) for i in ids))
    async with stack.running(stack.resources()):
        await stack.receiver.wait_for(4, f"/{target}", timeout_s=20)
        await wait_until(lambda: _settled(stack))
    assert sorted(s.message_id or "" for s in stack.receiver.requests()) == ids
    assert await stack.dlq_count() == 0
    assert stack.sink.total("DeliveryRateLimited") >= 1
    assert stack.sink.total("DeliveryAttempt") == 4  # denials never used an attempt


async def test_breaker_opens_blocks_then_probes_and_closes(stack: Stack, redis_url: str) -> None:
    cb = {
        "enabled": True,
        "failureThreshold": 0.3,
        "minAttempts": 2,
        "cooldownSeconds": 4,
        "samplePeriodSeconds": 60,
        "recoverySeconds": 1,
    }
    target = stack.add_target(rate=50, circuitBreaker=cb)
    stack.receiver.script(f"/{target}", *[Reply(500)] * 3)
    ids = [f"m-cb-{i}" for i in range(3)]
    await stack.send(*(envelope(target, i) for i in ids))

    async def opened() -> bool:
        return stack.sink.total("CircuitBreakerOpen") == 1

    async with stack.running(stack.resources(CB_PROBE_RATE_LIMIT="1")):
        await wait_until(opened)
        await stack.send(envelope(target, "m-cb-while-open"))  # arrives during the cooldown: blocked
        await stack.receiver.wait_for(7, f"/{target}", timeout_s=30)
        await wait_until(lambda: _settled(stack))
    seen = stack.receiver.requests(f"/{target}")
    assert [s.status for s in seen[:3]] == [500, 500, 500]
    assert sorted(s.message_id or "" for s in seen if s.status == 200) == sorted([*ids, "m-cb-while-open"])
    assert seen[3].at_s - seen[2].at_s >= 3.8  # blocked for the cooldown, then one probe
    assert stack.sink.total("CircuitBreakerOpen") == 1
    assert stack.sink.total("CircuitBreakerClosed") >= 1
    assert stack.sink.total("DeliveryCircuitBlocked") >= 1
    redis = connect(RedisSettings(url=redis_url))
    try:
        state = await Gate(redis, GateSettings()).state(target)
    finally:
        await redis.aclose()
    assert state["is_open"] == "0"
    assert await stack.dlq_count() == 0


async def test_redis_down_requeues_then_delivers_when_it_is_back(stack: Stack) -> None:
    target = stack.add_target()
    await stack.send(envelope(target, "m-redis"))
    down = stack.resources(REDIS_URL=f"redis://127.0.0.1:{free_port()}")
    pipeline = down.pipeline_for(stack.client_id)
    try:
        batch = await stack.queue.receive(10, wait_s=1)
        [decided] = await pipeline.process(batch)
        report = await settle([decided], stack.queue, stack.dlq)
    finally:
        await down.close()
    assert decided.outcome.disposition is Disposition.RETRY
    assert decided.outcome.reason == "GATE_UNAVAILABLE"
    assert decided.outcome.delay_s == 1
    assert report.errors == ()
    assert stack.receiver.requests() == []
    assert await stack.depth() == (0, 1)  # still on the queue, hidden for the backoff
    assert await stack.dlq_count() == 0
    assert stack.sink.total("DeliveryInfrastructureError") == 1
    async with stack.running(stack.resources()):
        await stack.receiver.wait_for(1, f"/{target}")
        await wait_until(lambda: _settled(stack))
    assert await stack.dlq_count() == 0


async def test_a_hung_redis_requeues_promptly(stack: Stack) -> None:
    """A Redis that accepts connections but never answers (SIGSTOPped): the worker still settles the batch
    (requeue, GATE_UNAVAILABLE) within the usual wait, and delivers once Redis is back."""
    target = stack.add_target()
    await stack.send(envelope(target, "m-hung"))
    with RedisServer() as hung:
        process = hung.process
        assert process is not None
        os.kill(process.pid, signal.SIGSTOP)
        try:
            async with stack.running(stack.resources(REDIS_URL=hung.url)):
                await wait_until(lambda: _requeued(stack))
        finally:
            os.kill(process.pid, signal.SIGCONT)
    assert stack.receiver.requests() == []
    assert await stack.dlq_count() == 0
    async with stack.running(stack.resources()):
        await stack.receiver.wait_for(1, f"/{target}")
        await wait_until(lambda: _settled(stack))


async def _requeued(stack: Stack) -> bool:
    return stack.sink.total("DeliveryInfrastructureError") >= 1 and await stack.depth() == (0, 1)


async def test_missing_config_and_app_map_requeue_instead_of_dead_lettering(stack: Stack) -> None:
    target = stack.add_target()
    await stack.send(envelope(target, "m-cfg"))
    (stack.root / "app-map.json").write_text("{}")
    resources = stack.resources()
    try:
        batch = await stack.queue.receive(10, wait_s=1)
        [decided] = await resources.pipeline_for(stack.client_id).process(batch)
        [other] = await resources.pipeline_for("client-without-config").process(batch)
    finally:
        await resources.close()
    assert (decided.outcome.disposition, decided.outcome.reason) == (
        Disposition.RETRY,
        "APPLICATION_MAP_UNAVAILABLE",
    )
    assert (other.outcome.disposition, other.outcome.reason) == (Disposition.RETRY, "CONFIG_UNAVAILABLE")
    assert stack.receiver.requests() == []


async def test_tls_material_error_requeues_instead_of_dead_lettering(stack: Stack) -> None:
    target = stack.add_target(mtls={"enabled": True})
    await stack.send(envelope(target, "m-tls"))
    broken = stack.resources(
        MTLS_CERT_FILE=str(stack.root / "missing.pem"), MTLS_KEY_FILE=str(stack.root / "x")
    )
    try:
        batch = await stack.queue.receive(10, wait_s=1)
        [decided] = await broken.pipeline_for(stack.client_id).process(batch)
        await settle([decided], stack.queue, stack.dlq)
    finally:
        await broken.close()
    assert (decided.outcome.disposition, decided.outcome.reason) == (Disposition.RETRY, "TLS_MATERIAL_ERROR")
    assert "missing.pem" in (decided.outcome.error_message or "")
    assert stack.receiver.requests() == []
    assert await stack.depth() == (0, 1)
    assert await stack.dlq_count() == 0
