"""Logs carry the reference messages and never a secret; metrics are one EMF context per target."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import trustme

from delivery.transport.spki import spki_pin_of_pem
from tests.log_capture import json_lines_to
from tests.runtime.conftest import API_KEY, APPLICATION_ID, Stack, envelope, wait_until
from tests.runtime.receiver import Reply

WHSEC = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    with json_lines_to(stream, handler=logging.StreamHandler):
        yield stream


async def test_no_secret_reaches_a_log_line(
    stack: Stack, log_lines: io.StringIO, tls_server_cert: trustme.LeafCert, tls_client_cert: trustme.LeafCert
) -> None:
    pin = spki_pin_of_pem(tls_server_cert.cert_chain_pems[0].bytes().decode())
    signing = {"scheme": "standard-webhooks", "secrets": [WHSEC], "includeReferenceHeader": True}
    mtls = {"enabled": True, "certPinning": {"enabled": True, "spkiHash": pin}}
    ok = stack.add_target(signing=signing, mtls=mtls)
    flaky = stack.add_target(signing=signing)
    bad = stack.add_target()
    stack.receiver.script(f"/{flaky}", Reply(500, body=json.dumps({"message": "try later"})))
    stack.receiver.script(f"/{bad}", Reply(403, body=json.dumps({"message": "forbidden"})))
    await stack.send(envelope(ok, "m-a"), envelope(flaky, "m-b"), envelope(bad, "m-c"), "[]")
    async with stack.running(stack.resources(LOG_LEVEL="INFO")):
        await stack.receiver.wait_for(4)
        await wait_until(lambda: _dlq_two(stack))
    text = log_lines.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    messages = {line["msg"] for line in lines}
    for expected in (
        "Batch received",
        "Processing delivery record",
        "Attempting delivery",
        "Delivery succeeded",
        "Batch complete",
        "Transient delivery failure — requeuing",
        "Permanent delivery failure — sending to DLQ",
    ):
        assert expected in messages
    processing = [line for line in lines if line["msg"] == "Processing delivery record"]
    # SPEC I.2: correlationId = payload.data[0].attributes.messageId; the unreadable body ("[]") has none
    assert {line.get("correlationId") for line in processing} == {"m-a", "m-b", "m-c", None}
    assert all(line["sqsMessageId"] and line["receiveCount"] >= 1 for line in processing)
    key_body = tls_client_cert.private_key_pem.bytes().decode().splitlines()[1]
    for secret in (API_KEY, WHSEC, WHSEC.removeprefix("whsec_"), f"{APPLICATION_ID}.{API_KEY}", key_body):
        assert secret not in text
    seen = stack.receiver.requests(f"/{ok}")[0]
    assert seen.client_cert
    assert seen.headers["webhook-id"] == "idem-m-a"  # stable across retries (P2)
    assert seen.headers["webhook-signature"].startswith("v1,")


async def _dlq_two(stack: Stack) -> bool:
    return await stack.dlq_count() == 2


async def test_one_metric_context_per_target(stack: Stack) -> None:
    first, second = stack.add_target(), stack.add_target()
    await stack.send(envelope(first), envelope(second), envelope(second))
    async with stack.running(stack.resources(METRICS_TARGET_DIMENSION="true")):
        await stack.receiver.wait_for(3)
        await wait_until(lambda: _empty(stack))
    lines = [line for line in stack.sink.lines if "DeliverySuccess" in line["metrics"]]
    by_target = {line["properties"]["targetId"]: line for line in lines}
    assert set(by_target) == {first, second}
    assert (
        sum(line["metrics"]["DeliverySuccess"] for line in lines if line["properties"]["targetId"] == second)
        == 2
    )
    for target, line in by_target.items():
        assert line["dimensions"] == {"ClientId": stack.client_id, "TargetId": target}
        assert all(ms >= 0 for ms in line["metrics"]["DeliveryDurationMs"])


async def _empty(stack: Stack) -> bool:
    return await stack.depth() == (0, 0)
