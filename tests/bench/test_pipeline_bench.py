"""The delivery engine end to end vs a bare keep-alive loop and vs a connection-per-delivery engine.

Every delivery goes through the whole pipeline: decode, config lookup, the Redis gate (admit + breaker
record, real Valkey), reference HMAC signing, HTTPS with mTLS + SPKI pinning to the transport engineer's
child-process bench peer, classification, settle (batched deletes) and EMF metrics. Measured in one run:

1. engine + in-memory queue (a fixed backlog drained by a burst worker);
2. bare aiohttp keep-alive POST loop to the same peer (``tests.bench.transport_baseline``);
3. the same engine whose transport opens a new TCP + TLS (mTLS) connection per delivery, as the reference
   did (N16; the SSL context is reused, so this variant is kinder than the reference);
4. engine + moto SQS (``harness.moto_sqs_patch``), over ``AsyncSqsClient`` (what the worker uses) and over
   boto3 in threads: the worker's CPU per delivery through SQS against (1) (issue 18: within 2x of the
   in-memory figure plus the client's floor; moto closes every connection, so each SQS call here also
   pays a TCP connect that a keep-alive endpoint such as real SQS does not);
5. engine + fauxqs SQS (the local stack's emulator, keep-alive like real SQS) over ``AsyncSqsClient``, and
   that client's own floor (receive + delete of the same backlog, no delivery).

Targets: (1) >= 75 % of (2) (issue 18); (1) >= 10x (3). Bounded: about 20 s in all.
Run: ``.venv/bin/pytest tests/bench/test_pipeline_bench.py -m bench -p no:xdist -s``.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import boto3
import pytest
import uvloop
from botocore.credentials import Credentials

from delivery.attempt import Transport
from delivery.models import HttpResult, OutgoingRequest, TransportFailure
from delivery.observe.emf import EmfEmitter
from delivery.queue.memory import InMemoryQueue
from delivery.queue.seam import OutgoingMessage, Queue
from delivery.queue.sqs import SqsQueue
from delivery.queue.sqs_wire import AsyncSqsClient
from delivery.runtime.resources import Resources, open_resources
from delivery.runtime.settings import Settings
from delivery.runtime.worker import Worker, freeze_startup_objects
from harness.fauxqs_server import FauxqsServer
from harness.moto_server import MotoServer
from harness.redis_server import RedisServer
from tests.bench.transport_baseline import API_KEY, APPLICATION_ID, BenchPeer, bare_keepalive_rps, bench_peer

CLIENT_ID = "bench-client"
CONCURRENCY = 32
BATCHES_IN_FLIGHT = 4
MAX_BATCH = 50
ROUNDS = 4
ROUND_S = 1.0
MEMORY_BACKLOG = 2000
PER_CONNECTION_BACKLOG = 600
MOTO_BACKLOG = 600
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


class NewConnectionTransport:
    """Connection per delivery (the reference's keepAlive: false, N16): a new TCP + TLS (mTLS) handshake for
    every delivery. The SSL context is shared, which makes this variant cheaper than the reference (which
    also built a new secure context per record), so the ratio against it is conservative."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None

    async def send(self, request: OutgoingRequest) -> HttpResult | TransportFailure:
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._ssl_context, force_close=True, limit=CONCURRENCY)
            self._session = aiohttp.ClientSession(connector=connector)
        started = time.perf_counter()
        try:
            async with self._session.post(
                request.url, data=request.body, headers=list(request.headers), allow_redirects=False
            ) as response:
                await response.read()
                return HttpResult(response.status, elapsed_ms=(time.perf_counter() - started) * 1000)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return TransportFailure("ECONNRESET", str(exc), permanent=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


@dataclass(frozen=True)
class Measured:
    rps: float
    cpu_us: float  # CPU time of this process per delivery (less sensitive to other load on the machine)


def engine_environ(root: Path, peer: BenchPeer, redis_url: str) -> dict[str, str]:
    """The worker's settings for the bench client (config written by ``_write_config`` under ``root``)."""
    return {
        "CLIENT_ID": CLIENT_ID,
        "REDIS_URL": redis_url,
        "CONCURRENCY_LIMIT": str(CONCURRENCY),
        "CLIENT_SUBSCRIPTION_CONFIG_DIR": str(root / "configs"),
        "APPLICATIONS_MAP_FILE": str(root / "app-map.json"),
        "MTLS_CERT_FILE": str(peer.client_cert_file),
        "MTLS_KEY_FILE": str(peer.client_key_file),
        "MTLS_CA_FILE": str(peer.ca_file),
        "ALLOWED_EGRESS_CIDRS": "127.0.0.0/8",  # the receiver listens on 127.0.0.1
    }


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def _resources(environ: Mapping[str, str], transport: Transport | None = None) -> Resources:
    sink = EmfEmitter("bench", {"Environment": "bench"}, write=lambda _l: None)
    return open_resources(Settings.from_env(environ), environ, transport=transport, metrics_sink=sink)


async def _drain(resources: Resources, queue: Queue, dlq: Queue) -> Measured:
    """Deliveries/s of a burst worker draining ``queue`` (bounded by LIMIT_S). ``resources`` (connection
    pools, TLS material, caches) live across runs, as in a long-running worker."""
    consumer = resources.consumer_for(CLIENT_ID, queue, dlq)
    worker = Worker(
        [consumer], wait_s=0, burst=True, max_batches_in_flight=BATCHES_IN_FLIGHT, max_batch=MAX_BATCH
    )
    cpu_started, started = _cpu_s(), time.perf_counter()
    run = asyncio.ensure_future(worker.run())
    done, _ = await asyncio.wait({run}, timeout=LIMIT_S)
    if not done:
        worker.stop()
        await run
    elapsed, cpu_s = time.perf_counter() - started, _cpu_s() - cpu_started
    acked = worker.stats.outcomes.get("ack", 0)
    assert worker.stats.received == acked, worker.stats.outcomes  # every delivery succeeded
    return Measured(acked / elapsed, cpu_s * 1e6 / max(acked, 1))


async def _bare(peer: BenchPeer) -> Measured:
    cpu_started = _cpu_s()
    rps = await bare_keepalive_rps(
        peer.url, peer.client_ssl_context(), duration_s=ROUND_S, concurrency=CONCURRENCY
    )
    return Measured(rps, (_cpu_s() - cpu_started) * 1e6 / max(rps * ROUND_S, 1))


def _mean(runs: list[Measured]) -> Measured:
    return Measured(sum(r.rps for r in runs) / len(runs), sum(r.cpu_us for r in runs) / len(runs))


async def _memory_queue(target_id: str, count: int) -> InMemoryQueue:
    queue = InMemoryQueue(visibility_timeout_s=60)
    await queue.send([OutgoingMessage(_envelope(target_id, i)) for i in range(count)])
    return queue


async def _client_floor(queue: SqsQueue, loops: int = BATCHES_IN_FLIGHT) -> Measured:
    """The SQS client's own floor: the same backlog received (10 at a time) and deleted in batches by
    ``loops`` concurrent loops, no delivery — what any worker pays per message to this endpoint."""
    done = 0

    async def loop() -> None:
        nonlocal done
        while batch := await queue.receive(10, wait_s=0):
            await queue.delete(batch)
            done += len(batch)

    cpu_started, started = _cpu_s(), time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(loop() for _ in range(loops))), LIMIT_S)
    elapsed, cpu_s = time.perf_counter() - started, _cpu_s() - cpu_started
    return Measured(done / elapsed, cpu_s * 1e6 / max(done, 1))


async def _sqs(
    environ: dict[str, str],
    resources: Resources,
    target_id: str,
    *,
    wire: bool,
    endpoint: str | None = None,
    floor: bool = False,
) -> Measured:
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint or environ["AWS_ENDPOINT_URL"],
        region_name=environ["AWS_DEFAULT_REGION"],
        aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
    )
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    credentials = Credentials(environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"])
    client = AsyncSqsClient(sqs.meta.endpoint_url, sqs.meta.region_name, credentials, session)
    try:
        run = uuid.uuid4().hex[:8]
        urls = [sqs.create_queue(QueueName=f"bench-{run}{suffix}")["QueueUrl"] for suffix in ("", "-dlq")]
        queue, dlq = (SqsQueue(url, client if wire else sqs) for url in urls)
        await queue.send([OutgoingMessage(_envelope(target_id, i)) for i in range(MOTO_BACKLOG)])
        return await (_client_floor(queue) if floor else _drain(resources, queue, dlq))
    finally:
        await session.close()
        sqs.close()


async def _bench(redis_url: str, moto_env: dict[str, str], fauxqs_url: str) -> dict[str, Measured]:
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        root = Path(tmp)
        async with bench_peer() as peer:
            target_id = _write_config(root, peer)
            environ = {**moto_env, **engine_environ(root, peer, redis_url)}
            pooled = _resources(environ)
            per_conn = _resources(environ, NewConnectionTransport(peer.client_ssl_context()))
            try:
                await _drain(pooled, await _memory_queue(target_id, 200), InMemoryQueue())  # warm-up
                freeze_startup_objects()  # as `callbacks worker` does once it is up
                bare, engine = [], []
                for _round in range(ROUNDS):  # interleaved, so other load on the machine hits both alike
                    bare.append(await _bare(peer))
                    memory = await _memory_queue(target_id, MEMORY_BACKLOG)
                    engine.append(await _drain(pooled, memory, InMemoryQueue()))
                fresh = await _memory_queue(target_id, PER_CONNECTION_BACKLOG)
                return {
                    "bare keep-alive": _mean(bare),
                    "engine + memory queue": _mean(engine),
                    "engine, new connection each": await _drain(per_conn, fresh, InMemoryQueue()),
                    "engine + moto SQS": await _sqs(environ, pooled, target_id, wire=True),
                    "engine + moto SQS, boto3": await _sqs(environ, pooled, target_id, wire=False),
                    "engine + fauxqs SQS": await _sqs(
                        environ, pooled, target_id, wire=True, endpoint=fauxqs_url
                    ),
                    "SQS client floor (fauxqs)": await _sqs(
                        environ, pooled, target_id, wire=True, endpoint=fauxqs_url, floor=True
                    ),
                }
            finally:
                await pooled.close()
                await per_conn.close()


@pytest.mark.bench
def test_pipeline_throughput() -> None:
    with RedisServer() as redis, MotoServer() as moto, FauxqsServer() as fauxqs:
        results = uvloop.run(_bench(redis.url, moto.env(), fauxqs.url))
    setup = f"uvloop; mTLS + SPKI pin + HMAC + gate admit/record; concurrency {CONCURRENCY}"
    print(f"\npipeline benchmark ({setup}; batches of up to {MAX_BATCH}, {BATCHES_IN_FLIGHT} in flight)")
    for name, m in results.items():
        print(f"  {name:28s} {m.rps:8.0f} deliveries/s  {m.cpu_us:6.0f} us CPU/delivery")
    engine, bare = results["engine + memory queue"], results["bare keep-alive"]
    per_conn = results["engine, new connection each"]
    print(f"  engine / bare keep-alive     = {engine.rps / bare.rps:.2f}  (target >= 0.75)")
    print(f"  engine / new connection each = {engine.rps / per_conn.rps:.1f}x (target >= 10x)")
    print(f"  engine CPU / bare CPU        = {engine.cpu_us / bare.cpu_us:.2f}  (the cost of the pipeline)")
    for name in ("engine + moto SQS", "engine + moto SQS, boto3", "engine + fauxqs SQS"):
        print(f"  {name + ' CPU / memory CPU':40s} = {results[name].cpu_us / engine.cpu_us:.2f}")
    assert engine.rps >= 0.75 * bare.rps
    assert engine.rps >= 10 * per_conn.rps
    # issue 18: worker CPU per message through SQS within 2x the in-memory figure plus the client's floor
    through_sqs, floor = results["engine + fauxqs SQS"], results["SQS client floor (fauxqs)"]
    ratio = (through_sqs.cpu_us - floor.cpu_us) / engine.cpu_us
    print(f"  (worker CPU through SQS (fauxqs) - SQS client floor) / in memory = {ratio:.2f} (target <= 2)")
    assert ratio <= 2
