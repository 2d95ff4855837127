"""The pipeline end to end: moto SQS -> real Redis gate -> real HTTPS (trustme, mTLS, pinning) -> settle.

Every test asserts on what reached the receiver and on what is left in the queue and the DLQ.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import boto3
import trustme

from delivery.transport.spki import spki_pin_of_pem
from tests.runtime.conftest import API_KEY, APPLICATION_ID, Stack, envelope, wait_until
from tests.runtime.receiver import Reply


async def _settled(stack: Stack) -> bool:
    return await stack.depth() == (0, 0)


async def test_success_is_signed_delivered_and_deleted(stack: Stack) -> None:
    target = stack.add_target()
    body = envelope(target, "m-success")
    await stack.send(body)
    async with stack.running(stack.resources()):
        [seen] = await stack.receiver.wait_for(1, f"/{target}")
        await wait_until(lambda: _settled(stack))
    payload = json.loads(body)["payload"]
    assert json.loads(seen.body) == payload
    assert seen.headers["x-api-key"] == API_KEY
    expected = hmac.new(f"{APPLICATION_ID}.{API_KEY}".encode(), seen.body, hashlib.sha256).hexdigest()
    assert seen.headers["x-hmac-sha256-signature"] == expected
    assert "é".encode() in seen.body  # non-ASCII kept: the signed bytes are the sent bytes
    assert not seen.client_cert  # mtls off for this target
    assert await stack.dlq_count() == 0
    assert stack.sink.total("DeliverySuccess") == 1
    assert stack.sink.total("DeliveryAttempt") == 1
    assert stack.sink.total("DeliveryDurationMs") == 1


async def test_mtls_and_pinning_present_the_client_certificate(
    stack: Stack, tls_server_cert: trustme.LeafCert
) -> None:
    pin = spki_pin_of_pem(tls_server_cert.cert_chain_pems[0].bytes().decode())
    target = stack.add_target(mtls={"enabled": True, "certPinning": {"enabled": True, "spkiHash": pin}})
    await stack.send(envelope(target))
    async with stack.running(stack.resources()):
        [seen] = await stack.receiver.wait_for(1, f"/{target}")
        await wait_until(lambda: _settled(stack))
    assert seen.client_cert
    assert await stack.dlq_count() == 0


async def test_wrong_pin_dead_letters_with_the_reference_code(stack: Stack) -> None:
    wrong = "A" * 43 + "="
    target = stack.add_target(mtls={"enabled": False, "certPinning": {"enabled": True, "spkiHash": wrong}})
    await stack.send(envelope(target))
    async with stack.running(stack.resources()):
        await wait_until(lambda: _dlq_has(stack, 1))
    [dead] = await stack.dead_letters()
    attrs = dict(dead.attributes)
    assert attrs["ERROR_CODE"] == "ERR_CERT_PINNING_FAILED"
    assert "STATUS_CODE" not in attrs  # no HTTP response
    assert stack.receiver.requests() == []  # the pin check runs before any request byte
    assert await stack.depth() == (0, 0)


async def _dlq_has(stack: Stack, count: int) -> bool:
    return await stack.dlq_count() >= count


async def test_4xx_dead_letters_with_every_attribute(stack: Stack) -> None:
    target = stack.add_target()
    stack.receiver.script(f"/{target}", Reply(400, body=json.dumps({"message": "bad thing " + "x" * 2000})))
    body = envelope(target, "m-400")
    await stack.send(body)
    async with stack.running(stack.resources()):
        await wait_until(lambda: _dlq_has(stack, 1))
        await wait_until(lambda: _settled(stack))
    [dead] = await stack.dead_letters()
    attrs = dict(dead.attributes)
    assert dead.body == body  # verbatim
    assert attrs["ERROR_CODE"] == "HTTP_CLIENT_ERROR"
    assert attrs["ERROR_MESSAGE"].startswith("bad thing ")
    assert len(attrs["ERROR_MESSAGE"]) == 1024
    assert attrs["STATUS_CODE"] == "400"
    assert attrs["CLIENT_ID"] == stack.client_id
    assert attrs["TARGET_ID"] == target
    assert attrs["RETRY_ATTEMPTS"] == "1"
    assert attrs["FIRST_RECEIVED_AT"].endswith("Z")
    assert len(stack.receiver.requests(f"/{target}")) == 1
    assert stack.sink.total("DeliveryPermanentFailure") == 1


async def test_5xx_is_requeued_with_a_delay_then_delivered(stack: Stack) -> None:
    target = stack.add_target()
    stack.receiver.script(f"/{target}", Reply(503))
    await stack.send(envelope(target))
    async with stack.running(stack.resources()):
        first, second = await stack.receiver.wait_for(2, f"/{target}")
        await wait_until(lambda: _settled(stack))
    assert (first.status, second.status) == (503, 200)
    assert second.at_s - first.at_s >= 0.9  # jittered backoff >= 1 s (rand fixed at 0 here)
    assert await stack.dlq_count() == 0
    assert stack.sink.total("DeliveryFailure") == 1


async def test_429_retry_after_sets_the_visibility(stack: Stack) -> None:
    target = stack.add_target()
    stack.receiver.script(f"/{target}", Reply(429, headers=(("Retry-After", "2"),)))
    await stack.send(envelope(target))
    async with stack.running(stack.resources()):
        first, second = await stack.receiver.wait_for(2, f"/{target}", timeout_s=15)
        await wait_until(lambda: _settled(stack))
    # the transient backoff would be 1 s here (rand = 0): 2 s proves Retry-After won and was not overwritten
    assert second.at_s - first.at_s >= 1.9
    assert await stack.dlq_count() == 0
    assert stack.sink.total("DeliveryServerRateLimited") == 1


async def test_retry_after_beyond_the_window_dead_letters_at_once(stack: Stack) -> None:
    target = stack.add_target(maxRetryDurationSeconds=60)
    stack.receiver.script(f"/{target}", Reply(429, headers=(("Retry-After", "3600"),)))
    await stack.send(envelope(target))
    async with stack.running(stack.resources()):
        await wait_until(lambda: _dlq_has(stack, 1))
    [dead] = await stack.dead_letters()
    attrs = dict(dead.attributes)
    assert (attrs["ERROR_CODE"], attrs["STATUS_CODE"]) == ("RETRY_WINDOW_EXHAUSTED", "429")
    assert len(stack.receiver.requests(f"/{target}")) == 1
    assert await stack.depth() == (0, 0)


async def test_window_runs_out_under_persistent_5xx(stack: Stack) -> None:
    target = stack.add_target(maxRetryDurationSeconds=3)
    stack.receiver.script(f"/{target}", *[Reply(500)] * 20)
    await stack.send(envelope(target))
    async with stack.running(stack.resources()):
        await wait_until(lambda: _dlq_has(stack, 1), timeout_s=20)
    [dead] = await stack.dead_letters()
    attrs = dict(dead.attributes)
    assert attrs["ERROR_CODE"] == "RETRY_WINDOW_EXHAUSTED"
    assert attrs["STATUS_CODE"] == "500"
    assert "HTTP_SERVER_ERROR" in attrs["ERROR_MESSAGE"]
    assert int(attrs["RETRY_ATTEMPTS"]) >= 2
    assert len(stack.receiver.requests(f"/{target}")) >= 2
    assert await stack.depth() == (0, 0)
    assert stack.sink.total("DeliveryRetryWindowExhausted") == 1


async def test_poison_and_unknown_target_are_dead_lettered_and_the_rest_delivered(stack: Stack) -> None:
    target = stack.add_target()
    await stack.send("{not json", envelope("no-such-target", "m-lost"), envelope(target, "m-good"))
    async with stack.running(stack.resources()):
        await stack.receiver.wait_for(1, f"/{target}")
        await wait_until(lambda: _dlq_has(stack, 2))
        await wait_until(lambda: _settled(stack))
    by_code = {dict(m.attributes)["ERROR_CODE"]: m for m in await stack.dead_letters()}
    assert set(by_code) == {"INVALID_MESSAGE", "TARGET_NOT_FOUND"}
    assert by_code["INVALID_MESSAGE"].body == "{not json"
    assert dict(by_code["TARGET_NOT_FOUND"].attributes)["TARGET_ID"] == "no-such-target"
    assert [s.message_id for s in stack.receiver.requests()] == ["m-good"]


async def test_reference_sources_s3_config_and_ssm_applications_map(stack: Stack) -> None:
    target = stack.add_target()
    bucket, parameter = f"cfg-{stack.client_id}", f"/callbacks/{stack.client_id}/applications-map"
    s3, ssm = boto3.client("s3"), boto3.client("ssm")
    try:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        config = (stack.root / "configs" / f"{stack.client_id}.json").read_bytes()
        s3.put_object(Bucket=bucket, Key=f"client_subscriptions/{stack.client_id}.json", Body=config)
        mapping = json.dumps({stack.client_id: APPLICATION_ID})
        ssm.put_parameter(Name=parameter, Value=mapping, Type="SecureString")
    finally:
        s3.close()
        ssm.close()
    await stack.send(envelope(target, "m-s3"))
    env = {
        "CLIENT_SUBSCRIPTION_CONFIG_DIR": "",
        "APPLICATIONS_MAP_FILE": "",
        "CLIENT_SUBSCRIPTION_CONFIG_BUCKET": bucket,
        "APPLICATIONS_MAP_PARAMETER": parameter,
    }
    async with stack.running(stack.resources(**env)):
        [seen] = await stack.receiver.wait_for(1, f"/{target}")
        await wait_until(lambda: _settled(stack))
    expected = hmac.new(f"{APPLICATION_ID}.{API_KEY}".encode(), seen.body, hashlib.sha256).hexdigest()
    assert seen.headers["x-hmac-sha256-signature"] == expected
