"""End to end against moto (server mode): real SQS queues, configs from the fixture directory or S3.

One event for a client with 2 targets -> exactly 2 envelopes that the delivery engine decodes; the worker in
burst mode drains an inbound queue; the Lambda handler reports partial batch failures; the CLI runs.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from delivery.config.store import CachedConfigs, LocalDirStore, S3ConfigStore
from delivery.envelope import decode_envelope
from delivery.observe import output
from delivery.queue.sqs import SqsQueue
from delivery.router import lambda_handler
from delivery.router.plan import Fate
from delivery.router.queues import SqsQueueLocator
from delivery.router.routing import RouterDeps, route_events
from delivery.router.worker import RouterWorker

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "fixtures" / "clients"
EVENTS = ROOT / "fixtures" / "events"


def fixture_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    event["id"] = str(uuid.uuid4())
    return event


class Stack:
    """Per-test queues under a unique prefix: inbound + DLQ + delivery queues of the fixture clients."""

    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs
        self.prefix = f"rt-{uuid.uuid4().hex[:10]}"
        self.inbound = self.create(f"{self.prefix}-inbound-event-queue")
        self.dlq = self.create(f"{self.prefix}-inbound-event-dlq-queue")
        clients = ("mock-client-plain", "mock-client-fanout")
        self.delivery = {cid: self.create(f"{self.prefix}-{cid}-delivery-queue") for cid in clients}

    def create(self, name: str) -> str:
        return str(self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"])

    def drain(self, url: str) -> list[dict[str, Any]]:
        """Every message on the queue (received with attributes, then deleted)."""
        out: list[dict[str, Any]] = []
        while True:
            reply = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            messages = reply.get("Messages", [])
            if not messages:
                return out
            out += messages
            for m in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def deps(self, configs: Any) -> RouterDeps:
        return RouterDeps.with_sqs(
            configs,
            queue_prefix=self.prefix,
            dlq_url=self.dlq,
            message_root_uri="https://api.example.org/v1/message-batches",
            sqs_client=self.sqs,
        )


@pytest.fixture
def stack(aws_env: dict[str, str]) -> Iterator[Stack]:
    client = boto3.client("sqs")
    try:
        yield Stack(client)
    finally:
        client.close()


def local_configs() -> CachedConfigs:
    return CachedConfigs(LocalDirStore(CLIENTS), ttl_s=60)


async def test_one_event_two_targets_gives_exactly_two_identical_envelopes(stack: Stack) -> None:
    event = fixture_event("message-status-delivered-fanout.json")
    report = await route_events([json.dumps(event)], stack.deps(local_configs()))
    assert (report.records[0].fate, report.envelopes_sent) == (Fate.ROUTED, 2)
    messages = stack.drain(stack.delivery["mock-client-fanout"])
    envelopes = [decode_envelope(m["Body"]) for m in messages]  # the delivery engine accepts them
    assert sorted(e.target_id for e in envelopes) == ["mock-fanout-target-a", "mock-fanout-target-b"]
    assert {e.subscription_id for e in envelopes} == {"mock-client-fanout-message-status"}
    assert envelopes[0].payload_bytes == envelopes[1].payload_bytes
    (item,) = envelopes[0].payload["data"]
    assert item["links"]["message"] == "https://api.example.org/v1/message-batches/messages/msg-fixture-0002"
    assert envelopes[0].correlation_id == "msg-fixture-0002"
    assert stack.drain(stack.delivery["mock-client-plain"]) == []


async def test_worker_burst_drains_the_inbound_queue(stack: Stack) -> None:
    bodies = [
        json.dumps(fixture_event("message-status-delivered.json")),
        json.dumps(fixture_event("channel-status-delivered.json")),
        json.dumps(fixture_event("message-status-delivered-fanout.json")),
        (EVENTS / "invalid-channel-without-type.json").read_text(),
        json.dumps(fixture_event("message-status-delivered.json") | {"type": "uk.nhs.notify.other.v1"}),
    ]
    for body in bodies:
        stack.sqs.send_message(QueueUrl=stack.inbound, MessageBody=body)
    inbound = SqsQueue(stack.inbound, client=stack.sqs)
    worker = RouterWorker(inbound, stack.deps(local_configs()), wait_s=1, max_messages=2, concurrency=2)
    stats = await worker.run(burst=True)
    assert stats.received == 5
    assert (stats.fates["routed"], stats.fates["dead_lettered"], stats.envelopes_sent) == (3, 2, 4)
    assert await inbound.depth() == (0, 0)
    plain = [decode_envelope(m["Body"]) for m in stack.drain(stack.delivery["mock-client-plain"])]
    assert sorted(e.payload["data"][0]["type"] for e in plain) == ["ChannelStatus", "MessageStatus"]
    assert len(stack.drain(stack.delivery["mock-client-fanout"])) == 2
    dead = stack.drain(stack.dlq)
    by_code = {m["MessageAttributes"]["ERROR_CODE"]["StringValue"]: m for m in dead}
    assert sorted(by_code) == ["INVALID_EVENT", "UNSUPPORTED_TYPE"]
    invalid = by_code["INVALID_EVENT"]
    assert invalid["Body"] == bodies[3]  # verbatim
    assert (
        invalid["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"] == "data.channels[0].type: is required"
    )


async def test_configs_from_s3_and_an_unreadable_store(stack: Stack) -> None:
    s3 = boto3.client("s3")
    bucket = f"rt-configs-{uuid.uuid4().hex[:10]}"
    try:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        s3.put_object(Bucket=bucket, Key="env/client_subscriptions/mock-client-plain.json",
                      Body=(CLIENTS / "mock-client-plain.json").read_bytes())  # fmt: skip
        event = json.dumps(fixture_event("message-status-delivered.json"))
        good = CachedConfigs(S3ConfigStore(bucket, "env/client_subscriptions/", client=s3))
        report = await route_events([event], stack.deps(good))
        assert (report.records[0].fate, report.envelopes_sent) == (Fate.ROUTED, 1)
        missing_bucket = CachedConfigs(S3ConfigStore(f"{bucket}-absent", client=s3))
        report = await route_events([event], stack.deps(missing_bucket))
        assert (report.records[0].fate, report.records[0].reason) == (Fate.RETRY, "config_unavailable")
    finally:
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)
        s3.close()


def lambda_record(body: str) -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "receiptHandle": "rh", "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1770000000000"},
            "messageAttributes": {}, "eventSource": "aws:sqs"}  # fmt: skip


def test_lambda_handler_returns_partial_batch_failures(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(CLIENTS / "mock-client-plain.json", tmp_path)
    lonely = json.loads((CLIENTS / "mock-client-plain.json").read_text()) | {
        "clientId": "client-without-queue"
    }
    (tmp_path / "client-without-queue.json").write_text(json.dumps(lonely))
    env = {"CLIENT_SUBSCRIPTION_CONFIG_DIR": str(tmp_path), "INBOUND_DLQ_URL": stack.dlq,
           "DELIVERY_QUEUE_PREFIX": stack.prefix, "METRICS_NAMESPACE": "router-test",
           "ENVIRONMENT": "test"}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    routed = lambda_record(json.dumps(fixture_event("message-status-delivered.json")))
    no_queue = lambda_record(json.dumps(fixture_event("message-status-delivered.json")
                                        | {"data": fixture_event("message-status-delivered.json")["data"]
                                           | {"clientId": "client-without-queue"}}))  # fmt: skip
    invalid = lambda_record("{broken")
    lambda_handler.reset()
    try:
        reply = lambda_handler.handler({"Records": [routed, no_queue, invalid]}, None)
        empty = lambda_handler.handler({"Records": []}, None)
    finally:
        lambda_handler.reset()
    assert reply == {"batchItemFailures": [{"itemIdentifier": no_queue["messageId"]}]}
    assert empty == {"batchItemFailures": []}
    assert len(stack.drain(stack.delivery["mock-client-plain"])) == 1
    (dead,) = stack.drain(stack.dlq)
    assert (dead["Body"], dead["MessageAttributes"]["ERROR_CODE"]["StringValue"]) == (
        "{broken",
        "INVALID_EVENT",
    )


def test_cli_burst_mode(stack: Stack, aws_env: dict[str, str]) -> None:
    stack.sqs.send_message(
        QueueUrl=stack.inbound, MessageBody=json.dumps(fixture_event("message-status-delivered.json"))
    )
    argv = [sys.executable, "-m", "delivery.cli.main", "router", "--inbound-queue-url", stack.inbound,
            "--dlq-url", stack.dlq, "--queue-prefix", stack.prefix, "--config-dir", str(CLIENTS),
            "--burst"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["received"], summary["routed"], summary["envelopesSent"]) == (1, 1, 1)
    assert len(stack.drain(stack.delivery["mock-client-plain"])) == 1


def test_cli_reports_bad_settings(aws_env: dict[str, str]) -> None:
    argv = [sys.executable, "-m", "delivery.cli.main", "router", "--inbound-queue-url", "http://x/q",
            "--dlq-url", "http://x/dlq", "--config-dir", str(CLIENTS),
            "--message-root-uri", "relative"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert done.returncode == 2
    assert "MESSAGE_ROOT_URI must be an absolute" in done.stderr


async def test_retry_records_stay_hidden_on_the_inbound_queue(stack: Stack, tmp_path: Path) -> None:
    lonely = json.loads((CLIENTS / "mock-client-plain.json").read_text()) | {
        "clientId": "client-without-queue"
    }
    (tmp_path / "client-without-queue.json").write_text(json.dumps(lonely))
    event = fixture_event("message-status-delivered.json")
    event["data"]["clientId"] = "client-without-queue"
    stack.sqs.send_message(QueueUrl=stack.inbound, MessageBody=json.dumps(event))
    inbound = SqsQueue(stack.inbound, client=stack.sqs)
    deps = stack.deps(CachedConfigs(LocalDirStore(tmp_path)))
    stats = await RouterWorker(inbound, deps, wait_s=1).run(burst=True)
    assert (stats.received, stats.fates["retry"]) == (1, 1)
    assert await inbound.depth() == (0, 1)  # not deleted: hidden for retry_delay_s(1) = 10 s
    assert stack.drain(stack.dlq) == []


async def test_explicit_queue_mapping_wins_over_the_name(stack: Stack) -> None:
    custom = stack.create(f"{stack.prefix}-custom-plain")
    deps = stack.deps(local_configs())
    deps.queues = SqsQueueLocator("unused-prefix", {"mock-client-plain": custom}, client=stack.sqs)
    report = await route_events([fixture_event("message-status-delivered.json")], deps)
    assert report.envelopes_sent == 1
    assert len(stack.drain(custom)) == 1
    assert stack.drain(stack.delivery["mock-client-plain"]) == []


class ObservedQueue(SqsQueue):
    """The real adapter, announcing when a receive (long poll) has started."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.polling = asyncio.Event()

    async def receive(
        self, max_messages: int = 10, wait_s: int = 20, visibility_timeout_s: int | None = None
    ) -> Any:
        self.polling.set()
        return await super().receive(max_messages, wait_s, visibility_timeout_s)


async def test_stop_during_a_long_poll_releases_what_it_returns(stack: Stack) -> None:
    inbound = ObservedQueue(stack.inbound, client=stack.sqs)
    worker = RouterWorker(inbound, stack.deps(local_configs()), wait_s=10)
    running = asyncio.ensure_future(worker.run())
    await asyncio.wait_for(inbound.polling.wait(), timeout=10)
    worker.stop()
    body = json.dumps(fixture_event("message-status-delivered.json"))
    await asyncio.to_thread(stack.sqs.send_message, QueueUrl=stack.inbound, MessageBody=body)
    stats = await asyncio.wait_for(running, timeout=20)
    assert stats.received == 0  # received by the pending poll, but not routed ...
    assert await inbound.depth() == (1, 0)  # ... and visible again at once
    assert stack.drain(stack.delivery["mock-client-plain"]) == []


def test_cli_worker_stops_on_sigterm(stack: Stack) -> None:
    argv = [sys.executable, "-m", "delivery.cli.main", "router", "--inbound-queue-url", stack.inbound,
            "--dlq-url", stack.dlq, "--queue-prefix", stack.prefix, "--config-dir", str(CLIENTS),
            "--wait-seconds", "1"]  # fmt: skip
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        body = json.dumps(fixture_event("message-status-delivered.json"))
        stack.sqs.send_message(QueueUrl=stack.inbound, MessageBody=body)
        reply = stack.sqs.receive_message(QueueUrl=stack.delivery["mock-client-plain"], WaitTimeSeconds=20)
        assert len(reply.get("Messages", [])) == 1  # the worker is consuming
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


def test_lambda_handler_writes_its_held_metric_lines_before_it_returns(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invocation's EMF lines are batched (``output.buffered``) and all out when the handler returns."""
    shutil.copy(CLIENTS / "mock-client-plain.json", tmp_path)
    env = {"CLIENT_SUBSCRIPTION_CONFIG_DIR": str(tmp_path), "INBOUND_DLQ_URL": stack.dlq,
           "DELIVERY_QUEUE_PREFIX": stack.prefix, "METRICS_NAMESPACE": "router-test",
           "ENVIRONMENT": "test"}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lambda_handler.reset()
    try:
        capsys.readouterr()
        reply = lambda_handler.handler({"Records": [lambda_record("{broken")]}, None)
    finally:
        lambda_handler.reset()
    assert reply == {"batchItemFailures": []}
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(doc.get("RouterEventsReceived") for doc in emf)
    assert output.STDOUT.held() == 0
