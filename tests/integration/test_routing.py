"""Status events through the router: fan-out, filtering, and invalid events dead-lettered with codes."""

from __future__ import annotations

import json

import pytest

from harness.configs import channel_subscription, subscribed_targets
from harness.events import channel_status_event, message_status_event
from harness.mock_admin import callback_path

pytestmark = [pytest.mark.integration, pytest.mark.requires("router")]


def test_fanout_client_gets_one_identical_callback_per_target(scenario, publish_event, role_client) -> None:
    client = role_client("fanout")
    targets = subscribed_targets(scenario.config(client), "DELIVERED")
    assert len(targets) >= 2, "the fanout fixture subscribes DELIVERED to several targets"
    [event] = publish_event(client, "DELIVERED")
    records = scenario.wait_callbacks(len(targets), message_id=event.message_id, timeout_s=20)
    assert sorted(r["path"] for r in records) == sorted(callback_path(t) for t in targets)
    bodies = {r["body"] for r in records}
    assert len(bodies) == 1, "every target receives the same payload bytes"
    item = json.loads(bodies.pop())["data"][0]
    assert item["attributes"]["messageStatus"] == "delivered"
    assert item["meta"]["idempotencyKey"]


def test_channel_status_event_is_delivered_lower_cased(scenario, callbacks_env) -> None:
    found = [(cid, channel_subscription(scenario.config(cid))) for cid in callbacks_env.client_ids]
    found = [(cid, sub) for cid, sub in found if sub is not None]
    if not found:
        pytest.skip("no fixture client subscribes to channel statuses")
    client, sub = found[0]
    supplier = (sub.get("supplierStatuses") or ["delivered"])[0]
    status = (sub.get("channelStatuses") or ["DELIVERED"])[0]
    event = channel_status_event(
        client,
        scenario.new_id("chan"),
        channel=sub["channelType"],
        channel_status=status,
        supplier_status=supplier,
    )
    [published] = scenario.publish_events([event])
    [record, *_] = scenario.wait_callbacks(1, message_id=published.message_id, timeout_s=20)
    attrs = json.loads(record["body"])["data"][0]["attributes"]
    assert record["callbackType"] == "ChannelStatus"
    assert attrs["channel"] == sub["channelType"].lower()
    assert attrs["supplierStatus"] == supplier


def test_unsubscribed_status_produces_no_callback(scenario, role_client) -> None:
    client = role_client("plain")
    config = scenario.config(client)
    unsubscribed = next(s for s in ("SENDING", "PENDING_ENRICHMENT", "ENRICHED", "FAILED")
                        if not subscribed_targets(config, s))  # fmt: skip
    quiet_id, sentinel_id = scenario.new_id("quiet"), scenario.new_id("sentinel")
    docs = [message_status_event(client, quiet_id, unsubscribed), message_status_event(client, sentinel_id)]
    scenario.publish_events(docs)  # one batch: the router sees both together
    scenario.wait_callbacks(1, message_id=sentinel_id, timeout_s=20)
    scenario.wait_queue_drained(scenario.env.inbound_queue_url, timeout_s=20)
    scenario.wait_queue_drained(scenario.env.client(client).delivery_queue_url, timeout_s=20)
    assert scenario.callbacks(quiet_id) == []
    assert scenario.queues.find(scenario.env.client(client).delivery_queue_url, [quiet_id]) == []


@pytest.mark.requires("dlq")
def test_invalid_event_lands_in_the_inbound_dlq_with_codes(scenario, publish_event, role_client) -> None:
    client = role_client("plain")
    [bad] = publish_event(client, kind="invalid", prefix="invalid")
    [message] = scenario.inbound_dlq_wait([bad.message_id], timeout_s=20)
    assert message.attribute("ERROR_CODE") == "INVALID_EVENT"
    assert "channels[0].type" in (message.attribute("ERROR_MESSAGE") or "")
    assert json.loads(message.body)["data"]["messageId"] == bad.message_id  # body unchanged
    assert scenario.callbacks(bad.message_id) == []


@pytest.mark.requires("dlq")
def test_rapid_events_give_exactly_one_callback_each(scenario, publish_event, role_client, dlq) -> None:
    client = role_client("plain")
    published = publish_event(client, "DELIVERED", count=10, prefix="rapid")
    scenario.wait_all_delivered(published, timeout_s=20)
    scenario.wait_queue_drained(scenario.env.client(client).delivery_queue_url, timeout_s=20)
    counts = {p.message_id: len(scenario.callbacks(p.message_id)) for p in published}
    assert set(counts.values()) == {1}, f"duplicates or misses: {counts}"
    ids = {p.message_id for p in published}
    assert not ids & {m.message_id for m in dlq.read(client)}
    assert not ids & {m.message_id for m in scenario.queues.peek(scenario.env.inbound_dlq_url)}


@pytest.mark.requires("dlq", "redrive")
def test_event_redriven_from_the_inbound_dlq_is_delivered(scenario, role_client) -> None:
    client = role_client("plain")
    event = message_status_event(client, scenario.new_id("inbound-redrive"))
    mid = event["data"]["messageId"]
    scenario.queues.send(scenario.env.inbound_dlq_url, [json.dumps(event)])  # as if it had failed before
    scenario.inbound_dlq_wait([mid], timeout_s=10)
    assert scenario.redrive_inbound([mid]) == 1
    [record] = scenario.wait_callbacks(1, message_id=mid, timeout_s=20)
    assert json.loads(record["body"])["data"][0]["attributes"]["messageStatus"] == "delivered"
    assert scenario.queues.find(scenario.env.inbound_dlq_url, [mid]) == []
