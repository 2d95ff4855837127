"""The delivery engine end to end vs a bare keep-alive loop and vs a connection-per-delivery engine.

Every delivery goes through the whole pipeline: decode, config lookup, the Redis gate (admit + breaker
record, real Valkey), reference HMAC signing, HTTPS with mTLS + SPKI pinning to the transport engineer's
child-process bench peer, classification, settle (batched deletes) and EMF metrics. Measured in one run:

1. engine + in-memory queue (a fixed backlog drained by a burst worker);
2. bare aiohttp keep-alive POST loop to the same peer (``tests.bench.transport_baseline``);
3. the same engine whose transport opens a new TCP+TLS connection (and SSL context) per delivery, as the
   reference did (N16);
4. engine + moto SQS (shallow queue; moto itself tops out at a few hundred messages/s).

Targets: (1) >= 50 % of (2); (1) >= 10x (3). Bounded: about 15 s in all.
Run: ``.venv/bin/pytest tests/bench/test_pipeline_bench.py -m bench -p no:xdist -s``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvloop

from delivery.emf import EmfEmitter
from delivery.memory_queue import InMemoryQueue
from delivery.models import HttpResult, OutgoingRequest, TransportFailure
from delivery.queue import OutgoingMessage, Queue
from delivery.runtime import default_transport, open_resources
from delivery.settings import Settings
from delivery.sqs import SqsQueue
from delivery.worker import Worker
from harness.moto_server import MotoServer
from harness.redis_server import RedisServer
from tests.bench.transport_baseline import API_KEY, APPLICATION_ID, BenchPeer, bare_keepalive_rps, bench_peer

CLIENT_ID = "bench-client"
CONCURRENCY = 32
BATCHES_IN_FLIGHT = 6
MAX_BATCH = 30
ROUNDS = 4
ROUND_S = 1.0
MEMORY_BACKLOG = 2000
PER_CONNECTION_BACKLOG = 200
MOTO_BACKLOG = 300
LIMIT_S = 6.0


def _envelope(target_id: str, i: int) -> str:
    item = {
        "type": "MessageStatus",
        "attributes": {"messageId": f"bench-{i}", "messageStatus": "delivered"},
        "meta": {"idempotencyKey": f"idem-{i}"},
    }
    return json.dumps({"payload": {"data": [item]}, "subscriptionId": "sub", "targetId": target_id})


def _write_config(root: Path, peer: BenchPeer) -> str:
    target_id = f"bench-{uuid.uuid4().hex[:8]}"
    target = {
        "targetId": target_id,
        "type": "API",
        "invocationMethod": "POST",
        "invocationRateLimit": 1_000_000,
        "invocationEndpoint": peer.url.rsplit("/", 1)[0] + f"/{target_id}",
        "apiKey": {"headerName": "x-api-key", "headerValue": API_KEY},
        "delivery": {
            "circuitBreaker": {"enabled": True},
            "mtls": {"enabled": True, "certPinning": {"enabled": True, "spkiHash": peer.server_pin}},
        },
    }
    (root / "configs").mkdir(exist_ok=True)
    config = {"clientId": CLIENT_ID, "subscriptions": [], "targets": [target]}
    (root / "configs" / f"{CLIENT_ID}.json").write_text(json.dumps(config))
    (root / "app-map.json").write_text(json.dumps({CLIENT_ID: APPLICATION_ID}))
    return target_id


class PerDeliveryTransport:
    """The reference design: a new transport (SSL context, TCP + TLS handshake) for every delivery."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    async def send(self, request: OutgoingRequest) -> HttpResult | TransportFailure:
        transport: Any = default_transport(self.environ)
        try:
            return await transport.send(request)  # type: ignore[no-any-return]
        finally:
            await transport.close()


async def _drain(
    environ: Mapping[str, str], queue: Queue, dlq: Queue, *, per_delivery: bool = False
) -> float:
    """Deliveries/s of a burst worker draining ``queue`` (bounded by LIMIT_S)."""
    settings = Settings.from_env(environ)
    transport = PerDeliveryTransport(environ) if per_delivery else None
    resources = open_resources(
        settings,
        environ,
        transport=transport,
        metrics_sink=EmfEmitter("bench", {"Environment": "bench"}, write=lambda _l: None),
    )
    worker = Worker(
        [resources.consumer_for(CLIENT_ID, queue, dlq)],
        wait_s=0,
        burst=True,
        max_batches_in_flight=BATCHES_IN_FLIGHT,
        max_batch=MAX_BATCH,
    )
    started = time.perf_counter()
    try:
        run = asyncio.ensure_future(worker.run())
        done, _ = await asyncio.wait({run}, timeout=LIMIT_S)
        if not done:
            worker.stop()
            await run
    finally:
        await resources.close()
    elapsed = time.perf_counter() - started
    acked = worker.stats.outcomes.get("ack", 0)
    assert worker.stats.received == acked, worker.stats.outcomes  # every delivery succeeded
    return acked / elapsed


async def _memory_queue(target_id: str, count: int) -> InMemoryQueue:
    queue = InMemoryQueue(visibility_timeout_s=60)
    await queue.send([OutgoingMessage(_envelope(target_id, i)) for i in range(count)])
    return queue


async def _moto_rps(environ: dict[str, str], target_id: str) -> float:
    sqs = boto3.client(
        "sqs",
        endpoint_url=environ["AWS_ENDPOINT_URL"],
        region_name=environ["AWS_DEFAULT_REGION"],
        aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        run = uuid.uuid4().hex[:8]
        queue = SqsQueue(sqs.create_queue(QueueName=f"bench-{run}")["QueueUrl"], sqs)
        dlq = SqsQueue(sqs.create_queue(QueueName=f"bench-{run}-dlq")["QueueUrl"], sqs)
        await queue.send([OutgoingMessage(_envelope(target_id, i)) for i in range(MOTO_BACKLOG)])
        return await _drain(environ, queue, dlq)
    finally:
        sqs.close()


async def _bench(redis_url: str, moto_env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        root = Path(tmp)
        async with bench_peer() as peer:
            target_id = _write_config(root, peer)
            environ = {
                **moto_env,
                "CLIENT_ID": CLIENT_ID,
                "REDIS_URL": redis_url,
                "CONCURRENCY_LIMIT": str(CONCURRENCY),
                "CLIENT_SUBSCRIPTION_CONFIG_DIR": str(root / "configs"),
                "APPLICATIONS_MAP_FILE": str(root / "app-map.json"),
                "MTLS_CERT_FILE": str(peer.client_cert_file),
                "MTLS_KEY_FILE": str(peer.client_key_file),
                "MTLS_CA_FILE": str(peer.ca_file),
            }
            results: dict[str, float] = {}
            await _drain(environ, await _memory_queue(target_id, 200), InMemoryQueue())  # warm-up
            bare, engine = [], []
            for _round in range(ROUNDS):  # interleaved, so other load on the machine hits both alike
                bare.append(
                    await bare_keepalive_rps(
                        peer.url, peer.client_ssl_context(), duration_s=ROUND_S, concurrency=CONCURRENCY
                    )
                )
                memory = await _memory_queue(target_id, MEMORY_BACKLOG)
                engine.append(await _drain(environ, memory, InMemoryQueue()))
            results["bare keep-alive"] = sum(bare) / ROUNDS
            results["engine + memory queue"] = sum(engine) / ROUNDS
            per_conn = await _memory_queue(target_id, PER_CONNECTION_BACKLOG)
            results["engine, new connection each"] = await _drain(
                environ, per_conn, InMemoryQueue(), per_delivery=True
            )
            results["engine + moto SQS"] = await _moto_rps(environ, target_id)
    return results


@pytest.mark.bench
def test_pipeline_throughput() -> None:
    with RedisServer() as redis, MotoServer() as moto:
        results = uvloop.run(_bench(redis.url, moto.env()))
    setup = f"uvloop; mTLS + SPKI pin + HMAC + gate admit/record; concurrency {CONCURRENCY}"
    print(f"\npipeline benchmark ({setup})")
    for name, rps in results.items():
        print(f"  {name:28s} {rps:8.0f} deliveries/s")
    engine, bare = results["engine + memory queue"], results["bare keep-alive"]
    per_conn = results["engine, new connection each"]
    print(f"  engine / bare keep-alive     = {engine / bare:.2f}  (target >= 0.50)")
    print(f"  engine / new connection each = {engine / per_conn:.1f}x (target >= 10x)")
    assert engine >= 0.5 * bare
    assert engine >= 10 * per_conn
