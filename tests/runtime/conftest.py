"""Fixtures for runtime tests: an HTTPS receiver, one client's queues on moto, config/app-map files, Redis.

``stack`` gives a fresh client (unique ids, so tests never share queues or gate keys) whose targets point at
the receiver; ``stack.resources()`` builds the real runtime (HttpsTransport with trustme material, a real
Redis gate, config caches over local files) and ``stack.running(resources)`` runs a worker until the test's
condition holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import trustme

from delivery.models import ReceivedMessage
from delivery.queue.memory import InMemoryQueue
from delivery.queue.seam import OutgoingMessage
from delivery.queue.sqs import SqsQueue
from delivery.runtime.resources import Resources, open_resources
from delivery.runtime.settings import Settings
from delivery.runtime.worker import Worker, WorkerStats
from tests.runtime.receiver import Receiver

API_KEY = "runtime-secret-api-key-0123"
APPLICATION_ID = "app-runtime-77"


@dataclass
class ListSink:
    """Captures EMF emits (the ``MetricsSink`` seam)."""

    lines: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, metrics: Mapping[str, Any], *, dimensions: Any = None, properties: Any = None) -> None:
        self.lines.append(
            {
                "metrics": dict(metrics),
                "dimensions": dict(dimensions or {}),
                "properties": dict(properties or {}),
            }
        )

    def total(self, name: str) -> float:
        return sum(
            (len(v) if isinstance(v, list) else v)
            for line in self.lines
            for n, v in line["metrics"].items()
            if n == name
        )


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout_s: float = 15.0) -> None:
    """Poll an async condition until it holds (fails the test on timeout)."""
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def envelope(target_id: str, message_id: str | None = None, **extra: Any) -> str:
    message_id = message_id or f"msg-{uuid.uuid4().hex[:8]}"
    item = {
        "type": "MessageStatus",
        "attributes": {"messageId": message_id, "messageStatus": "delivered", "note": "héllo/ü"},
        "links": {"message": f"/v1/message-batches/messages/{message_id}"},
        "meta": {"idempotencyKey": f"idem-{message_id}"},
    }
    return json.dumps(
        {"payload": {"data": [item]}, "subscriptionId": "sub-1", "targetId": target_id, **extra}
    )


@dataclass
class Stack:
    client_id: str
    root: Path
    receiver: Receiver
    sqs: Any
    queue: SqsQueue
    dlq: SqsQueue
    env: dict[str, str]
    targets: list[dict[str, Any]] = field(default_factory=list)
    sink: ListSink = field(default_factory=ListSink)

    def add_target(self, *, rate: float = 100, **delivery: Any) -> str:
        target_id = f"t-{uuid.uuid4().hex[:10]}"
        target = {
            "targetId": target_id,
            "type": "API",
            "invocationEndpoint": f"{self.receiver.url}/{target_id}",
            "invocationMethod": "POST",
            "invocationRateLimit": rate,
            "apiKey": {"headerName": "x-api-key", "headerValue": API_KEY},
            "delivery": delivery,
        }
        self.targets.append(target)
        self._write()
        return target_id

    def _write(self) -> None:
        subscription = {
            "subscriptionId": "sub-1",
            "subscriptionType": "MessageStatus",
            "messageStatuses": ["DELIVERED"],
            "targetIds": [t["targetId"] for t in self.targets],
        }
        subs = [subscription] if self.targets else []
        config = {"clientId": self.client_id, "subscriptions": subs, "targets": self.targets}
        (self.root / "configs" / f"{self.client_id}.json").write_text(json.dumps(config))

    async def send(self, *bodies: str) -> None:
        assert await self.queue.send([OutgoingMessage(b) for b in bodies]) == []

    def resources(self, **env: str) -> Resources:
        environ = {**self.env, **env}
        resources = open_resources(Settings.from_env(environ), environ, metrics_sink=self.sink)
        resources.rand = lambda: 0.0  # shortest jitter: keeps tests fast (jitter itself is unit-tested)
        return resources

    @asynccontextmanager
    async def running(self, resources: Resources, **worker_kw: Any) -> AsyncIterator[Worker]:
        consumer = resources.consumer_for(self.client_id, self.queue, self.dlq)
        async with self.running_worker(Worker([consumer], wait_s=1, **worker_kw), resources) as worker:
            yield worker

    @asynccontextmanager
    async def running_worker(self, worker: Worker, resources: Resources) -> AsyncIterator[Worker]:
        """Run ``worker`` until the block ends; then stop it, wait for it and close ``resources``."""
        task: asyncio.Task[WorkerStats] = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.stop()
            await task
            await resources.close()

    async def depth(self) -> tuple[int, int]:
        return await self.queue.depth()

    async def dead_letters(self) -> list[ReceivedMessage]:
        """Every DLQ message (received and left hidden: end-of-test assertions)."""
        out: list[ReceivedMessage] = []
        while batch := await self.dlq.receive(10, wait_s=0):
            out += batch
        return out

    async def dlq_count(self) -> int:
        visible, hidden = await self.dlq.depth()
        return visible + hidden


@pytest.fixture
async def receiver(tls_ca: trustme.CA, tls_server_cert: trustme.LeafCert) -> AsyncIterator[Receiver]:
    server = await Receiver(tls_ca, tls_server_cert).start()
    yield server
    await server.stop()


@pytest.fixture
def sqs_client(aws_env: dict[str, str]) -> Iterator[Any]:
    client = boto3.client("sqs")
    yield client
    client.close()


@pytest.fixture
def stack(
    tmp_path: Path,
    aws_env: dict[str, str],
    redis_url: str,
    receiver: Receiver,
    sqs_client: Any,
    tls_ca: trustme.CA,
    tls_client_cert: trustme.LeafCert,
) -> Stack:
    client_id = f"rt-{uuid.uuid4().hex[:10]}"
    (tmp_path / "configs").mkdir()
    (tmp_path / "app-map.json").write_text(json.dumps({client_id: APPLICATION_ID}))
    tls_ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    tls_client_cert.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    tls_client_cert.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    queue_url = sqs_client.create_queue(QueueName=f"callbacks-test-{client_id}-delivery-queue")["QueueUrl"]
    dlq_url = sqs_client.create_queue(QueueName=f"callbacks-test-{client_id}-delivery-dlq-queue")["QueueUrl"]
    env = {
        **aws_env,
        "CLIENT_ID": client_id,
        "QUEUE_URL": queue_url,
        "DLQ_URL": dlq_url,
        "CLIENT_SUBSCRIPTION_CONFIG_DIR": str(tmp_path / "configs"),
        "APPLICATIONS_MAP_FILE": str(tmp_path / "app-map.json"),
        "REDIS_URL": redis_url,
        "MTLS_CA_FILE": str(tmp_path / "ca.pem"),
        "MTLS_CERT_FILE": str(tmp_path / "client.pem"),
        "MTLS_KEY_FILE": str(tmp_path / "client.key"),
        "ENVIRONMENT": "test",
        "METRICS_NAMESPACE": "callbacks-test",
        "ALLOWED_EGRESS_CIDRS": "127.0.0.0/8",  # the receiver listens on 127.0.0.1
    }
    stack = Stack(
        client_id,
        tmp_path,
        receiver,
        sqs_client,
        SqsQueue(queue_url, sqs_client),
        SqsQueue(dlq_url, sqs_client),
        env,
    )
    stack._write()
    return stack


@pytest.fixture
def memory_queues() -> tuple[InMemoryQueue, InMemoryQueue]:
    return InMemoryQueue("queue", visibility_timeout_s=30), InMemoryQueue("dlq")


async def worker_stopped_mid_delivery(stack: Stack, log_level: str) -> tuple[int, str, str]:
    """``callbacks worker`` as a process on ``stack``'s client, sent SIGTERM once a delivery has started:
    its exit status, stdout and stderr (killed if it does not drain within 20 s)."""
    argv = [sys.executable, "-m", "delivery.cli.main", "worker", "--client", stack.client_id,
            "--queue-prefix", "callbacks-test", "--wait-s", "1"]  # fmt: skip
    env = {**os.environ, **stack.env, "LOG_LEVEL": log_level}
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        await stack.receiver.wait_started(1, timeout_s=20)
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
