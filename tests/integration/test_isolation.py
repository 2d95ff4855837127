"""One bad record never fails its batch: poison bodies and unknown targets are dead-lettered alone."""

from __future__ import annotations

import json

import pytest

from harness import events

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
    scenario.queues.send(queue, bodies)  # one SQS batch
    scenario.wait_callbacks(1, message_id=good_id, timeout_s=20)
    dlq = scenario.env.client(client).dlq_url
    [poison] = scenario.queues.wait_for_match(dlq, lambda m: poison_token in m.body, 1, timeout_s=20)
    assert poison.attribute("ERROR_CODE") == "INVALID_MESSAGE"
    assert poison.body == f"not json {poison_token}", "the DLQ keeps the original body verbatim"
    [lost] = scenario.dlq_wait(client, [lost_id], timeout_s=20)
    assert lost.attribute("ERROR_CODE") == "TARGET_NOT_FOUND"
    assert scenario.callbacks(lost_id) == []
