"""The Lambda handler: same pipeline, partial batch response, visibility changed before reporting."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from delivery import lambda_handler
from delivery.runtime.settings import SettingsError
from tests.runtime.conftest import Stack, envelope, wait_until
from tests.runtime.receiver import Reply


def _lambda_event(sqs: Any, queue_url: str, count: int) -> dict[str, Any]:
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(records) < count and time.monotonic() < deadline:
        reply = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        )
        records += [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for m in reply.get("Messages", [])
        ]
    return {"Records": records}


@pytest.fixture
def lambda_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    return stack


async def test_partial_batch_response(lambda_env: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    stack = lambda_env
    ok, bad, flaky = stack.add_target(), stack.add_target(), stack.add_target()
    stack.receiver.script(f"/{bad}", Reply(404))
    stack.receiver.script(f"/{flaky}", Reply(503))
    await stack.send(envelope(ok, "m-ok"), envelope(bad, "m-bad"), envelope(flaky, "m-flaky"))
    event = await asyncio.to_thread(_lambda_event, stack.sqs, stack.env["QUEUE_URL"], 3)
    ids = {json.loads(r["body"])["targetId"]: r["messageId"] for r in event["Records"]}
    try:
        result = await asyncio.to_thread(lambda_handler.handler, event, None)
        handled_at = time.monotonic()
        assert result == {"batchItemFailures": [{"itemIdentifier": ids[flaky]}]}
        assert {s.message_id for s in stack.receiver.requests()} == {"m-ok", "m-bad", "m-flaky"}
        [dead] = await stack.dead_letters()
        assert dict(dead.attributes)["ERROR_CODE"] == "HTTP_CLIENT_ERROR"
        assert dict(dead.attributes)["TARGET_ID"] == bad
        # the flaky record's visibility was changed to its backoff (1 s) before it was reported:
        # it comes back long before the queue's 30 s default; the others stay hidden for Lambda to delete
        again = await stack.queue.receive(10, wait_s=5)
        assert [m.message_id for m in again] == [ids[flaky]]
        assert time.monotonic() - handled_at >= 0.5
        # a warm second invocation reuses the resources and delivers it
        result = await asyncio.to_thread(lambda_handler.handler, _event_of(again), None)
        assert result == {"batchItemFailures": []}
        await stack.receiver.wait_for(2, f"/{flaky}")
    finally:
        await asyncio.to_thread(lambda_handler.reset)
    out = capsys.readouterr().out
    emf = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    assert any("DeliverySuccess" in doc for doc in emf)
    assert all(doc["ClientId"] == stack.client_id and doc["Environment"] == "test" for doc in emf)


def _event_of(messages: Any) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": str(m.receive_count),
                    "SentTimestamp": str(m.sent_ms),
                    "ApproximateFirstReceiveTimestamp": str(m.first_receive_ms),
                },
            }
            for m in messages
        ]
    }


async def test_missing_client_id_dead_letters_everything_with_attributes(
    lambda_env: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = lambda_env
    monkeypatch.delenv("CLIENT_ID")
    target = stack.add_target()
    await stack.send(envelope(target, "m-orphan"))
    event = await asyncio.to_thread(_lambda_event, stack.sqs, stack.env["QUEUE_URL"], 1)
    try:
        result = await asyncio.to_thread(lambda_handler.handler, event, None)
    finally:
        await asyncio.to_thread(lambda_handler.reset)
    assert result == {"batchItemFailures": []}
    await wait_until(lambda: _dlq_has_one(stack))
    [dead] = await stack.dead_letters()
    assert dict(dead.attributes)["ERROR_CODE"] == "CLIENT_ID_MISSING"
    assert stack.receiver.requests() == []


async def _dlq_has_one(stack: Stack) -> bool:
    return await stack.dlq_count() == 1


@pytest.mark.parametrize("unset", ["METRICS_NAMESPACE", "ENVIRONMENT"])
def test_missing_metrics_setting_is_a_startup_error(unset: str) -> None:
    """SPEC I.1 / Appendix 1: the reference's metrics logger throws without them; no silent defaults."""
    env = {
        "CLIENT_ID": "c1",
        "QUEUE_URL": "https://sqs.eu-west-2.amazonaws.com/1/q",
        "DLQ_URL": "https://sqs.eu-west-2.amazonaws.com/1/dlq",
        "CLIENT_SUBSCRIPTION_CONFIG_DIR": ".",
        "APPLICATIONS_MAP_FILE": "app-map.json",
        "REDIS_URL": "redis://127.0.0.1:1",
        "METRICS_NAMESPACE": "nhs-notify-client-callbacks",
        "ENVIRONMENT": "dev",
    }
    del env[unset]
    with pytest.raises(SettingsError) as caught:
        lambda_handler.build_state(env)
    assert caught.value.problems == (f"{unset} environment variable is not set",)


async def test_handler_refuses_to_start_without_metrics_namespace(
    lambda_env: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METRICS_NAMESPACE")
    await asyncio.to_thread(lambda_handler.reset)
    with pytest.raises(SettingsError, match="METRICS_NAMESPACE environment variable is not set"):
        await asyncio.to_thread(lambda_handler.handler, {"Records": []}, None)
