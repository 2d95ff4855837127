"""One bad record never fails its batch: poison bodies and unknown targets are dead-lettered alone."""

from __future__ import annotations

import json
import time

import pytest

from harness import events
from tests.integration.conftest import assert_dead_letter

pytestmark = [pytest.mark.integration, pytest.mark.requires("dlq")]


def test_poison_message_is_isolated_from_its_batch(scenario, role_client) -> None:
    client = role_client("plain")
    queue = scenario.env.client(client).delivery_queue_url
    target = scenario.targets(client)[0]
    poison_token, good_id, lost_id = (
        scenario.new_id("poison"),
        scenario.new_id("good"),
        scenario.new_id("lost"),
    )
    unknown = events.envelope(lost_id, "no-such-target")
    bodies = [f"not json {poison_token}", json.dumps(events.envelope(good_id, target)), json.dumps(unknown)]
    published_ms = time.time() * 1000
    scenario.queues.send(queue, bodies)  # one SQS batch
    [good] = scenario.wait_callbacks(1, message_id=good_id, timeout_s=20)
    attempted_ms = float(good["receivedAtMs"])  # the batch was received before its good record's request
    dlq = scenario.env.client(client).dlq_url
    [poison] = scenario.queues.wait_for_match(dlq, lambda m: poison_token in m.body, 1, timeout_s=20)
    assert_dead_letter(
        poison, client=client, target="unknown", code="INVALID_MESSAGE", attempts=1,
        error_message="body is not valid JSON: Expecting value at line 1 column 1",
        received_between_ms=(published_ms, attempted_ms),
    )  # fmt: skip
    assert poison.body == f"not json {poison_token}", "the DLQ keeps the original body verbatim"
    [lost] = scenario.dlq_wait(client, [lost_id], timeout_s=20)
    assert_dead_letter(
        lost, client=client, target="no-such-target", code="TARGET_NOT_FOUND", attempts=1,
        error_message=f"Target 'no-such-target' not found in config for client '{client}'",
        received_between_ms=(published_ms, attempted_ms),
    )  # fmt: skip
    assert scenario.callbacks(lost_id) == []
