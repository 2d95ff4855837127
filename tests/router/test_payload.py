"""Transformation to the client callback payload: allow-listed attributes, link, idempotency key, bytes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from delivery.router.events import Rejection
from delivery.router.payload import (
    build_callback,
    envelope_body,
    message_link,
    normalise_root_uri,
    payload_json,
)
from delivery.router.validation import validate_event
from tests.router.builders import DELETE, channel_event, message_event

ROOT = "/v1/message-batches"


def attributes(event: dict[str, Any]) -> dict[str, Any]:
    return dict(callback_for(event).payload["data"][0]["attributes"])


def callback_for(event: dict[str, Any], root: str = ROOT) -> Any:
    valid = validate_event(event)
    assert not isinstance(valid, Rejection), valid
    return build_callback(valid, root)


def test_message_status_payload_shape() -> None:
    callback = callback_for(message_event(channels=[
        {"type": "NHSAPP", "channelStatus": "DELIVERED"}, {"type": "sms", "channelStatus": "skipped"}
    ]))  # fmt: skip
    (item,) = callback.payload["data"]
    assert list(callback.payload) == ["data"]
    assert list(item) == ["type", "attributes", "links", "meta"]
    assert item["type"] == "MessageStatus"
    assert item["attributes"] == {
        "messageId": "msg-0001",
        "messageReference": "ref-0001",
        "messageStatus": "delivered",
        "channels": [
            {"type": "nhsapp", "channelStatus": "delivered"},
            {"type": "sms", "channelStatus": "skipped"},
        ],
        "timestamp": "2026-02-05T10:15:00.000Z",
        "routingPlan": {"id": "rp-1", "name": "Plan", "version": "v3", "createdDate": "2026-01-01T00:00:00Z"},
    }
    assert list(item["attributes"]) == [
        "messageId", "messageReference", "messageStatus", "channels", "timestamp", "routingPlan"
    ]  # fmt: skip
    assert item["links"] == {"message": "/v1/message-batches/messages/msg-0001"}
    assert item["meta"]["idempotencyKey"] == callback.idempotency_key


@pytest.mark.parametrize(
    ("data", "present", "absent"),
    [
        (
            {"messageStatusDescription": "Read by patient"},
            {"messageStatusDescription": "Read by patient"},
            [],
        ),
        ({"messageStatusDescription": ""}, {}, ["messageStatusDescription"]),
        ({"messageFailureReasonCode": "CM_001"}, {"messageFailureReasonCode": "CM_001"}, []),
        ({"messageFailureReasonCode": ""}, {}, ["messageFailureReasonCode"]),
        ({"messageReference": DELETE}, {}, ["messageReference"]),
        ({"routingPlan": DELETE}, {}, ["routingPlan"]),
        ({"previousMessageStatus": "SENDING"}, {}, ["previousMessageStatus", "clientId"]),
    ],
)
def test_message_optional_fields(data: dict[str, Any], present: dict[str, Any], absent: list[str]) -> None:
    attrs = attributes(message_event({f"data.{k}": v for k, v in data.items()}))
    assert {k: attrs[k] for k in present} == present
    assert not set(absent) & set(attrs)
    assert "clientId" not in attrs


def test_message_failure_fields_come_last_in_reference_order() -> None:
    attrs = attributes(message_event(messageStatus="FAILED", messageStatusDescription="Undeliverable",
                                     messageFailureReasonCode="CM_002"))  # fmt: skip
    assert list(attrs)[-2:] == ["messageStatusDescription", "messageFailureReasonCode"]
    assert attrs["messageStatus"] == "failed"


def test_channel_items_are_built_from_an_allow_list() -> None:
    channels = [{"type": "EMAIL", "channelStatus": "FAILED", "retryCount": 2, "internalNote": "do not leak"}]
    assert attributes(message_event(channels=channels))["channels"] == [
        {"type": "email", "channelStatus": "failed"}
    ]


def test_unknown_data_fields_never_reach_the_client() -> None:
    attrs = attributes(message_event(patientNhsNumber="9990000000"))
    assert "patientNhsNumber" not in json.dumps(attrs)


def test_channel_status_payload_shape() -> None:
    callback = callback_for(channel_event())
    (item,) = callback.payload["data"]
    assert item["type"] == "ChannelStatus"
    assert list(item["attributes"].items()) == [
        ("messageId", "msg-0001"),
        ("messageReference", "ref-0001"),
        ("channel", "nhsapp"),
        ("channelStatus", "delivered"),
        ("supplierStatus", "delivered"),
        ("cascadeType", "primary"),
        ("cascadeOrder", 1),
        ("timestamp", "2026-02-05T10:15:00.000Z"),
        ("retryCount", 0),
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"channel": "SMS", "cascadeType": "secondary", "cascadeOrder": 2, "retryCount": 3,
          "channelStatus": "FAILED", "supplierStatus": "permanent_failure"},
         {"channel": "sms", "cascadeType": "secondary", "cascadeOrder": 2, "retryCount": 3,
          "channelStatus": "failed", "supplierStatus": "permanent_failure"}),
        ({"channelStatusDescription": "Bounced", "channelFailureReasonCode": "CF_9"},
         {"channelStatusDescription": "Bounced", "channelFailureReasonCode": "CF_9"}),
    ],
)  # fmt: skip
def test_channel_values(data: dict[str, Any], expected: dict[str, Any]) -> None:
    attrs = attributes(channel_event(**data))
    assert {k: attrs[k] for k in expected} == expected


@pytest.mark.parametrize("absent", ["messageReference", "cascadeType", "cascadeOrder", "retryCount"])
def test_channel_optional_fields_omitted(absent: str) -> None:
    assert absent not in attributes(channel_event({f"data.{absent}": DELETE}))


def test_channel_previous_statuses_and_client_id_excluded() -> None:
    attrs = attributes(channel_event(previousChannelStatus="SENDING", previousSupplierStatus="sending"))
    assert not {"previousChannelStatus", "previousSupplierStatus", "clientId"} & set(attrs)


@pytest.mark.parametrize(
    ("root", "message_id", "link"),
    [
        ("/v1/message-batches", "msg-1", "/v1/message-batches/messages/msg-1"),
        ("/v1/message-batches/", "msg-1", "/v1/message-batches/messages/msg-1"),
        ("https://api.example.org/comms/v1", "msg-1", "https://api.example.org/comms/v1/messages/msg-1"),
        ("https://api.example.org/", "a/b c?d#e%", "https://api.example.org/messages/a%2Fb%20c%3Fd%23e%25"),
        ("/v1", "café", "/v1/messages/caf%C3%A9"),
    ],
)
def test_message_link(root: str, message_id: str, link: str) -> None:
    assert message_link(normalise_root_uri(root), message_id) == link


@pytest.mark.parametrize(
    "root", ["", "relative/path", "https://api.example.org/v1?x=1", "ftp://host/v1", "https://"]
)
def test_message_root_must_be_absolute(root: str) -> None:
    with pytest.raises(ValueError, match="MESSAGE_ROOT_URI must be an absolute"):
        normalise_root_uri(root)


def expected_key(callback_type: str, event_id: str, attrs: dict[str, Any]) -> str:
    canonical = json.dumps({"type": callback_type, "eventId": event_id, "attributes": attrs},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # fmt: skip
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("build", [message_event, channel_event])
def test_idempotency_key_is_sha256_of_canonical_documented_fields(build: Any) -> None:
    callback = callback_for(build())
    (item,) = callback.payload["data"]
    key = item["meta"]["idempotencyKey"]
    assert key == expected_key(item["type"], build()["id"], item["attributes"])
    assert len(key) == 64
    assert key == key.lower()


@pytest.mark.parametrize(
    ("overrides", "same"),
    [
        ({}, True),
        ({"time": "2026-02-06T00:00:00Z", "traceparent": "00-other"}, True),  # envelope noise is not hashed
        ({"id": "evt-other"}, False),
        ({"data.timestamp": "2026-02-05T10:15:01.000Z"}, False),
        ({"data.messageStatus": "FAILED"}, False),
        ({"data.messageStatusDescription": "Read"}, False),
        ({"data.channels.0.channelStatus": "FAILED"}, False),
    ],
)
def test_idempotency_key_stability(overrides: dict[str, Any], same: bool) -> None:
    base = callback_for(message_event()).idempotency_key
    assert (callback_for(message_event(overrides)).idempotency_key == base) is same


def test_key_ignores_input_key_order_and_case() -> None:
    event = message_event()
    shuffled = dict(reversed(list(event.items())))
    shuffled["data"] = dict(reversed(list(event["data"].items())), messageStatus="delivered")
    assert callback_for(shuffled).idempotency_key == callback_for(event).idempotency_key


@pytest.mark.parametrize(
    "event",
    [
        message_event(messageStatusDescription='Lu par le patient — ✓ "quoted"', messageId="a/b é"),
        channel_event(channelFailureReasonCode="CF\\1"),
    ],
)
def test_payload_json_is_the_compact_serialisation_with_non_ascii_kept(event: dict[str, Any]) -> None:
    callback = callback_for(event)
    assert callback.payload_json == json.dumps(callback.payload, separators=(",", ":"), ensure_ascii=False)
    valid = validate_event(event)
    assert not isinstance(valid, Rejection)
    assert payload_json(valid, ROOT) == callback.payload_json  # the hot-path builder is byte-identical


@pytest.mark.parametrize(("sub", "target"), [("sub-1", "t-1"), ('sub "quoted"', "tärget\\1")])
def test_envelope_body_equals_serialising_the_whole_envelope(sub: str, target: str) -> None:
    callback = callback_for(message_event())
    body = envelope_body(callback.payload_json, sub, target)
    assert json.loads(body) == {"payload": callback.payload, "subscriptionId": sub, "targetId": target}
    whole = {"payload": callback.payload, "subscriptionId": sub, "targetId": target}
    assert body == json.dumps(whole, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "plan",
    [
        # the reference's own fixture events carry empty strings here; it passes routingPlan through (T1.2)
        {"id": "b838b13c-f98c-4def-93f0-515d4e4f4ee1", "name": "", "version": "", "createdDate": ""},
        {"id": "", "name": "", "version": "", "createdDate": ""},
        {"id": "rp-1"},
        {},
    ],
)
def test_routing_plan_is_passed_through_with_empty_strings(plan: dict[str, str]) -> None:
    event = message_event({"data.routingPlan": plan})
    attrs = attributes(event)
    assert attrs["routingPlan"] == plan
    assert list(attrs["routingPlan"]) == list(plan)
    raw = json.loads(payload_json(validate_event(event), ROOT))  # type: ignore[arg-type]
    assert raw["data"][0]["attributes"]["routingPlan"] == plan


@pytest.mark.parametrize(("key", "value", "kind"), [("name", 1, "number"), ("createdDate", None, "")])
def test_routing_plan_checks_types_only(key: str, value: object, kind: str) -> None:
    result = validate_event(message_event({f"data.routingPlan.{key}": value}))
    if not kind:  # null counts as absent
        assert not isinstance(result, Rejection)
        return
    assert isinstance(result, Rejection)
    assert [str(i) for i in result.issues] == [f"data.routingPlan.{key}: must be a string (got {kind})"]
