"""SQS's size limits end to end: a batch mixing 250 KB poison bodies and small good messages ends with every
good message delivered once and every poison one in the DLQ with its attributes, inside one visibility
timeout (each poison record is dead-lettered on its first receive; five of them exceed a 1 MiB batch)."""

from __future__ import annotations

import json
import time

import pytest

from harness import events

pytestmark = [pytest.mark.integration, pytest.mark.requires("dlq")]

POISON_BYTES = 250_000
PAIRS = 5


def test_large_poison_bodies_never_block_their_batch_and_keep_their_attributes(scenario, role_client) -> None:
    client = role_client("plain")
    queues = scenario.env.client(client)
    target = scenario.targets(client)[0]
    tokens = [scenario.new_id("poison") for _ in range(PAIRS)]
    good_ids = [scenario.new_id("good") for _ in range(PAIRS)]
    poison = [f"not json {token} " + "p" * POISON_BYTES for token in tokens]
    good = [json.dumps(events.envelope(mid, target)) for mid in good_ids]
    visibility_s = int(
        scenario.queues.sqs.get_queue_attributes(
            QueueUrl=queues.delivery_queue_url, AttributeNames=["VisibilityTimeout"]
        )["Attributes"]["VisibilityTimeout"]
    )
    started = time.monotonic()
    sqs_ids = scenario.queues.send(
        queues.delivery_queue_url, [b for pair in zip(poison, good, strict=True) for b in pair]
    )  # one call of 10 entries would be ~1.25 MB: the batcher cuts it by bytes
    published = [
        events.Published(mid, sid, queues.delivery_queue_url, target, client)
        for mid, sid in zip(good_ids, sqs_ids[1::2], strict=True)
    ]
    dead = scenario.queues.wait_for_match(
        queues.dlq_url, lambda m: any(t in m.body[:200] for t in tokens), PAIRS, timeout_s=visibility_s
    )
    delivered = scenario.wait_all_delivered(
        published, timeout_s=max(1, visibility_s - (time.monotonic() - started))
    )
    assert time.monotonic() - started < visibility_s, "everything settled inside one visibility timeout"
    assert sorted(r["messageId"] for r in delivered) == sorted(good_ids)  # each delivered once, with 200
    assert all(len(scenario.callbacks(mid)) == 1 for mid in good_ids)
    assert sorted(m.body for m in dead) == sorted(poison)  # whole, verbatim
    for message in dead:
        assert message.attribute("ERROR_CODE") == "INVALID_MESSAGE"
        assert message.attribute("CLIENT_ID") == client
        assert message.attribute("RETRY_ATTEMPTS") == "1"  # dead-lettered on its first receive
        assert message.attribute("ERROR_MESSAGE")
        assert message.attribute("FIRST_RECEIVED_AT")
    scenario.wait_queue_drained(queues.delivery_queue_url, timeout_s=20)
