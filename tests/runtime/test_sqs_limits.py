"""The runtime at SQS's limits, for real (moto, HTTPS receiver, Redis gate): large poison records never
block their batch and reach the DLQ with their attributes; redrive reports a bad entry and goes on, and
paces a backlog so it lands inside the target's retry window."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path

import boto3
import pytest

from delivery.cli.main import main
from delivery.dead_letter import dead_letter_attributes
from delivery.models import Disposition, Outcome, ReceivedMessage
from delivery.queue.seam import OutgoingMessage
from delivery.queue.sqs_limits import MAX_MESSAGE_BYTES, message_bytes
from delivery.runtime.offload import S3BodyStore
from delivery.runtime.settle import settle
from delivery.stages import Decided
from tests.runtime.conftest import Stack, envelope, wait_until

POISON_BYTES = 250_000


def poison(i: int, size: int = POISON_BYTES) -> str:
    return f'{{"poison": {i}, "pad": "' + "p" * size  # never valid JSON: INVALID_MESSAGE


async def test_large_poison_records_reach_the_dlq_with_attributes_and_never_block_the_batch(
    stack: Stack,
) -> None:
    target = stack.add_target()
    good = [envelope(target, f"m-good-{i}") for i in range(5)]
    bodies = [b for i in range(5) for b in (poison(i), good[i])]
    near_limit = poison(99, MAX_MESSAGE_BYTES - 100)  # fits the queue, not the DLQ with its attributes
    assert message_bytes(near_limit) <= MAX_MESSAGE_BYTES
    await stack.send(*bodies, near_limit)
    async with stack.running(stack.resources()):
        await stack.receiver.wait_for(5, f"/{target}")
        await wait_until(lambda: _settled(stack, 6))
    assert Counter(s.message_id for s in stack.receiver.requests(f"/{target}")) == {
        f"m-good-{i}": 1 for i in range(5)
    }
    dead = await stack.dead_letters()
    assert len(dead) == 6
    by_body = {d.body[:16]: d for d in dead}
    assert len(by_body) == 6
    for i in range(5):
        letter = by_body[poison(i)[:16]]
        attrs = dict(letter.attributes)
        assert letter.body == poison(i)  # whole, verbatim
        assert attrs["ERROR_CODE"] == "INVALID_MESSAGE"
        assert attrs["CLIENT_ID"] == stack.client_id
        assert attrs["RETRY_ATTEMPTS"] == "1"  # dead-lettered on its first receive: one visibility timeout
        assert {"ERROR_MESSAGE", "TARGET_ID", "FIRST_RECEIVED_AT"} <= attrs.keys()
    [pointer] = [d for d in dead if d.body.startswith('{"payloadTooLarge"')]
    attrs = dict(pointer.attributes)
    assert (attrs["ERROR_CODE"], attrs["ORIGINAL_ERROR_CODE"]) == ("PAYLOAD_TOO_LARGE", "INVALID_MESSAGE")
    assert attrs["BODY_BYTES"] == str(len(near_limit))
    assert json.loads(pointer.body)["payloadTooLarge"]["location"] == attrs["BODY_LOCATION"]
    stored = await asyncio.to_thread(Path(attrs["BODY_LOCATION"]).read_text)
    assert stored == near_limit  # kept whole beside the client configs
    assert Path(attrs["BODY_LOCATION"]).is_relative_to(stack.env["CLIENT_SUBSCRIPTION_CONFIG_DIR"])


async def _settled(stack: Stack, dead: int) -> bool:
    return await stack.depth() == (0, 0) and await stack.dlq_count() == dead


async def test_redrive_reports_a_bad_entry_moves_the_rest_and_exits_1(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    target = stack.add_target()
    attrs = {"ERROR_CODE": "HTTP_CLIENT_ERROR", "TARGET_ID": target}
    assert await stack.dlq.send([OutgoingMessage(envelope(target, f"m-{i}"), attrs) for i in range(3)]) == []
    too_large = envelope(target, "m-huge", pad="z" * 300_000)  # moto takes it; our limit does not
    stack.sqs.send_message(QueueUrl=stack.dlq.queue_url, MessageBody=too_large)
    pointer = {"BODY_LOCATION": "s3://cfg/dead-letter-bodies/c/m-big", "ERROR_CODE": "PAYLOAD_TOO_LARGE"}
    assert await stack.dlq.send([OutgoingMessage('{"payloadTooLarge": {}}', pointer)]) == []
    args = ["redrive", "--client", stack.client_id, "--queue-prefix", "callbacks-test", "--rate", "100/s"]
    assert await asyncio.to_thread(main, args) == 1
    out = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("moved ") for line in out) == 3
    failed = sorted(line.split(": ", 1)[1] for line in out if line.startswith("failed "))
    assert failed == [
        "MessageTooLong: 300318 bytes with attributes, limit 262144",
        "its body is stored at s3://cfg/dead-letter-bodies/c/m-big (too large for SQS); redrive it by hand",
    ]
    assert out[-1] == "scanned 5, matched 5, moved 3, failed 2, skipped 0"
    assert await stack.dlq_count() == 2  # the bad ones stay in the DLQ
    assert sum(await stack.depth()) == 3


REDRIVEN, RATE, WINDOW_S = 60, 10, 4  # 200 / 10 req/s / 10 s in the issue, scaled to run in seconds


async def _redrive_into_a_rate_limited_target(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, *flags: str
) -> Counter[str]:
    """Fill the DLQ, redrive it while a worker runs; returns the final fates (delivered / DLQ error codes)."""
    # the bucket holds one second of tokens (default: five), so a burst above RATE * WINDOW_S cannot fit
    target = stack.add_target(rate=RATE, maxRetryDurationSeconds=WINDOW_S, rateLimit={"burst": RATE})
    attrs = {"ERROR_CODE": "RETRY_WINDOW_EXHAUSTED", "TARGET_ID": target}
    letters = [OutgoingMessage(envelope(target, f"r-{i}"), attrs) for i in range(REDRIVEN)]
    assert await stack.dlq.send(letters) == []
    monkeypatch.setenv("CLIENT_SUBSCRIPTION_CONFIG_DIR", stack.env["CLIENT_SUBSCRIPTION_CONFIG_DIR"])
    args = ["redrive", "--client", stack.client_id, "--queue-prefix", "callbacks-test", *flags]
    async with stack.running(stack.resources()):
        assert await asyncio.to_thread(main, args) == 0
        await wait_until(lambda: _all_settled(stack, target), timeout_s=60)
    fates = Counter(dict(d.attributes)["ERROR_CODE"] for d in await stack.dead_letters())
    delivered = Counter(s.message_id for s in stack.receiver.requests(f"/{target}") if s.status == 200)
    assert all(count == 1 for count in delivered.values())
    fates["delivered"] = len(delivered)
    return fates


async def _all_settled(stack: Stack, target: str) -> bool:
    delivered = len({s.message_id for s in stack.receiver.requests(f"/{target}")})
    return await stack.depth() == (0, 0) and delivered + await stack.dlq_count() >= REDRIVEN


async def test_a_paced_redrive_lands_inside_the_targets_window(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await _redrive_into_a_rate_limited_target(stack, monkeypatch) == {"delivered": REDRIVEN}


async def test_an_unpaced_redrive_would_exhaust_the_window(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    fates = await _redrive_into_a_rate_limited_target(stack, monkeypatch, "--rate", "10000/s")
    assert fates["RETRY_WINDOW_EXHAUSTED"] > 0  # the property the paced run keeps
    assert fates["delivered"] + fates["RETRY_WINDOW_EXHAUSTED"] == REDRIVEN


async def test_a_body_too_large_for_the_dlq_is_stored_in_the_config_bucket(stack: Stack) -> None:
    s3 = boto3.client("s3")
    bucket = f"cfg-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    body = poison(7, MAX_MESSAGE_BYTES - 100)
    message = ReceivedMessage("m-big", "rh", body, 1, 1_700_000_000_000, 1_700_000_000_000)
    outcome = Outcome(Disposition.DEAD_LETTER, "INVALID_MESSAGE", error_code="INVALID_MESSAGE")
    attrs = dead_letter_attributes(outcome, message, client_id=stack.client_id, target_id=None)
    decided = Decided(message, Outcome(Disposition.DEAD_LETTER, "INVALID_MESSAGE", dlq_attributes=attrs))
    report = await settle(
        [decided], stack.queue, stack.dlq, delete_settled=False, bodies=S3BodyStore(bucket, client=s3)
    )
    assert report.dead_lettered == 1
    [letter] = await stack.dead_letters()
    location = dict(letter.attributes)["BODY_LOCATION"]
    assert location == f"s3://{bucket}/dead-letter-bodies/{stack.client_id}/m-big"
    stored = s3.get_object(Bucket=bucket, Key=location.split("/", 3)[3])["Body"].read().decode()
    assert stored == body
    assert dict(letter.attributes)["CLIENT_ID"] == stack.client_id
    s3.close()
