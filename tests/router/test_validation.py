"""Inbound event validation: every issue reported with its path from the event root; case normalised once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from delivery.router.events import Channel, ChannelStatusEvent, MessageStatusEvent, Rejection, RoutingPlan
from delivery.router.fields import is_rfc3339
from delivery.router.validation import decode_event, validate_event
from delivery.router.vocabulary import ErrorCode
from tests.router.builders import DELETE, channel_event, message_event

ALL_TYPES = "uk.nhs.notify.channel.status.PUBLISHED.v1 | uk.nhs.notify.message.status.PUBLISHED.v1"
CHANNELS = "EMAIL, LETTER, NHSAPP, SMS"
TS = "must be a valid RFC 3339 timestamp such as 2026-02-05T10:15:00Z"
MESSAGE_STATUSES = "DELIVERED, ENRICHED, FAILED, PENDING_ENRICHMENT, SENDING"
CHANNEL_STATUSES = "ASSIGNING_BATCH, CREATED, DELIVERED, FAILED, RETRY, SENDING, SKIPPED, STALE_PDS"
SUPPLIER_STATUSES = (
    "accepted, cancelled, created, delivered, dispatched, enclosed, failed, forwarded, "
    "notification_attempted, notified, pending, permanent_failure, printed, read, received, rejected, "
    "returned, sending, sent, "
    "technical_failure, temporary_failure, unknown, unnotified"
)
BAD_NAME = "unknown attribute: extension names must be 1-20 lower-case letters or digits"

ID_RULE_TEXT = "must be 1-64 characters from A-Z a-z 0-9 _ -, starting with a letter or digit"


def rejected(event: Any) -> Rejection:
    result = validate_event(event)
    assert isinstance(result, Rejection), result
    return result


def test_valid_message_event_is_normalised() -> None:
    event = validate_event(message_event())
    assert event == MessageStatusEvent(
        event_id="evt-0001",
        client_id="client-a",
        message_id="msg-0001",
        timestamp="2026-02-05T10:15:00.000Z",
        message_status="DELIVERED",
        channels=(Channel("NHSAPP", "DELIVERED"),),
        message_reference="ref-0001",
        routing_plan=RoutingPlan("rp-1", "Plan", "v3", "2026-01-01T00:00:00Z"),
    )


def test_valid_channel_event_is_normalised() -> None:
    event = validate_event(channel_event())
    assert event == ChannelStatusEvent(
        event_id="evt-0002",
        client_id="client-a",
        message_id="msg-0001",
        timestamp="2026-02-05T10:15:00.000Z",
        channel="NHSAPP",
        channel_status="DELIVERED",
        supplier_status="delivered",
        message_reference="ref-0001",
        cascade_type="primary",
        cascade_order=1,
        retry_count=0,
    )


@pytest.mark.parametrize(
    ("build", "overrides", "field", "expected"),
    [
        (message_event, {"data.messageStatus": "delivered"}, "message_status", "DELIVERED"),
        (message_event, {"data.previousMessageStatus": "sending"}, "previous_message_status", "SENDING"),
        (message_event, {"data.channels.0.type": "nhsApp"}, "channels", (Channel("NHSAPP", "DELIVERED"),)),
        (channel_event, {"data.channel": "sms"}, "channel", "SMS"),
        (channel_event, {"data.channelStatus": "skipped"}, "channel_status", "SKIPPED"),
        (channel_event, {"data.supplierStatus": "DELIVERED"}, "supplier_status", "delivered"),
        (channel_event, {"data.cascadeType": "SECONDARY"}, "cascade_type", "secondary"),
        (channel_event, {"data.previousSupplierStatus": "Read"}, "previous_supplier_status", "read"),
    ],
)
def test_enum_values_are_case_normalised(
    build: Any, overrides: dict[str, Any], field: str, expected: Any
) -> None:
    assert getattr(validate_event(build(overrides)), field) == expected


@pytest.mark.parametrize(
    ("build", "absent"),
    [
        (message_event, ["data.messageReference", "data.routingPlan"]),
        (
            channel_event,
            ["data.messageReference", "data.cascadeType", "data.cascadeOrder", "data.retryCount"],
        ),
        (message_event, ["dataschema"]),
    ],
)
def test_optional_fields_may_be_absent(build: Any, absent: list[str]) -> None:
    assert not isinstance(validate_event(build(dict.fromkeys(absent, DELETE))), Rejection)


@pytest.mark.parametrize(
    "value", ["2026-02-05T10:15:00Z", "2026-02-05T10:15:00.123456Z", "2026-02-05T11:15:00+01:00"]
)
def test_rfc3339_timestamps_accepted(value: str) -> None:
    assert not isinstance(validate_event(message_event({"data.timestamp": value, "time": value})), Rejection)


def test_extension_attributes_pass_when_well_formed() -> None:
    event = message_event({"sequence": "00000000000000000001", "partitionkey": "abc", "priority": 3})
    assert not isinstance(validate_event(event), Rejection)


MESSAGE_CASES = [
    ({"traceparent": DELETE}, "traceparent: is required"),
    ({"traceparent": None}, "traceparent: is required"),
    ({"sequence": 5}, "sequence: must be a string (got number)"),
    ({"id": DELETE}, "id: is required"),
    ({"id": ""}, "id: must not be empty"),
    ({"time": DELETE}, "time: is required"),
    ({"source": DELETE}, "source: is required"),
    ({"subject": DELETE}, "subject: is required"),
    ({"specversion": "0.3"}, 'specversion: must be "1.0" (got "0.3")'),
    ({"datacontenttype": "text/plain"}, 'datacontenttype: must be "application/json" (got "text/plain")'),
    ({"dataschema": 7}, "dataschema: must be a string (got number)"),
    ({"time": "yesterday"}, f'time: {TS} (got "yesterday")'),
    ({"Bad_Name": "x"}, f"Bad_Name: {BAD_NAME}"),
    ({"extra": {"a": 1}}, "extra: must be a string, number or boolean (got object)"),
    ({"data": DELETE}, "data: is required"),
    ({"data": "text"}, "data: must be an object"),
    ({"data.clientId": DELETE}, "data.clientId: is required"),
    ({"data.clientId": 42}, "data.clientId: must be a string (got number)"),
    ({"data.clientId": "../etc"}, f'data.clientId: is not a valid client id: {ID_RULE_TEXT} (got "../etc")'),
    ({"data.clientId": ".."}, f'data.clientId: is not a valid client id: {ID_RULE_TEXT} (got "..")'),
    ({"data.clientId": "-rf"}, f'data.clientId: is not a valid client id: {ID_RULE_TEXT} (got "-rf")'),
    ({"data.clientId": "a b"}, f'data.clientId: is not a valid client id: {ID_RULE_TEXT} (got "a b")'),
    (
        {"data.clientId": "ab\u202ecd"},
        f'data.clientId: is not a valid client id: {ID_RULE_TEXT} (got "ab\\u202ecd")',
    ),
    ({"data.clientId": "a\nb"}, f'data.clientId: is not a valid client id: {ID_RULE_TEXT} (got "a\\nb")'),
    ({"data.messageId": DELETE}, "data.messageId: is required"),
    ({"data.timestamp": DELETE}, "data.timestamp: is required"),
    ({"data.timestamp": "2026-02-05"}, f'data.timestamp: {TS} (got "2026-02-05")'),
    ({"data.timestamp": "2026-02-30T10:00:00Z"}, f'data.timestamp: {TS} (got "2026-02-30T10:00:00Z")'),
    ({"data.messageStatus": DELETE}, "data.messageStatus: is required"),
    ({"data.messageStatus": "LOST"}, f'data.messageStatus: must be one of {MESSAGE_STATUSES} (got "LOST")'),
    ({"data.previousMessageStatus": "LOST"},
     f'data.previousMessageStatus: must be one of {MESSAGE_STATUSES} (got "LOST")'),
    ({"data.channels": DELETE}, "data.channels: is required"),
    ({"data.channels": []}, "data.channels: must have at least one channel"),
    ({"data.channels": "NHSAPP"}, "data.channels: must be an array (got string)"),
    ({"data.channels.0": "NHSAPP"}, "data.channels[0]: must be an object (got string)"),
    ({"data.channels.0.type": DELETE}, "data.channels[0].type: is required"),
    ({"data.channels.0.type": "FAX"}, f'data.channels[0].type: must be one of {CHANNELS} (got "FAX")'),
    ({"data.channels.0.channelStatus": DELETE}, "data.channels[0].channelStatus: is required"),
    ({"data.messageReference": 12}, "data.messageReference: must be a string (got number)"),
    ({"data.routingPlan": []}, "data.routingPlan: must be an object (got array)"),
    ({"data.routingPlan.version": 3}, "data.routingPlan.version: must be a string (got number)"),
    ({"data.messageStatusDescription": False},
     "data.messageStatusDescription: must be a string (got boolean)"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "issue"), MESSAGE_CASES)
def test_message_event_issue(overrides: dict[str, Any], issue: str) -> None:
    rejection = rejected(message_event(overrides))
    assert rejection.code is ErrorCode.INVALID_EVENT
    assert [str(i) for i in rejection.issues] == [issue]


CHANNEL_CASES = [
    ({"data.channel": DELETE}, "data.channel: is required"),
    ({"data.channelStatus": DELETE}, "data.channelStatus: is required"),
    ({"data.supplierStatus": DELETE}, "data.supplierStatus: is required"),
    ({"data.supplierStatus": "lost"},
     f'data.supplierStatus: must be one of {SUPPLIER_STATUSES} (got "lost")'),
    ({"data.cascadeType": "tertiary"},
     'data.cascadeType: must be one of primary, secondary (got "tertiary")'),
    ({"data.cascadeOrder": -1}, "data.cascadeOrder: must be a whole number >= 0 (got -1)"),
    ({"data.retryCount": "3"}, 'data.retryCount: must be a whole number >= 0 (got "3")'),
    ({"data.retryCount": True}, "data.retryCount: must be a whole number >= 0 (got true)"),
    ({"data.previousChannelStatus": "GONE"},
     f'data.previousChannelStatus: must be one of {CHANNEL_STATUSES} (got "GONE")'),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "issue"), CHANNEL_CASES)
def test_channel_event_issue(overrides: dict[str, Any], issue: str) -> None:
    assert [str(i) for i in rejected(channel_event(overrides)).issues] == [issue]


def test_every_issue_is_reported_with_its_path() -> None:
    event = message_event(
        {"traceparent": DELETE, "data.messageId": DELETE, "data.channels.0.type": DELETE},
        channels=[{"type": "NHSAPP", "channelStatus": "DELIVERED"}, {"type": "SMS"}],
    )
    rejection = rejected(event)
    assert [i.path for i in rejection.issues] == [
        "traceparent",
        "data.messageId",
        "data.channels[0].type",
        "data.channels[1].channelStatus",
    ]
    assert rejection.message == (
        "traceparent: is required; data.messageId: is required; data.channels[0].type: is required; "
        "data.channels[1].channelStatus: is required"
    )
    assert (rejection.event_id, rejection.client_id) == ("evt-0001", "client-a")


def test_unsupported_type_has_its_own_code() -> None:
    rejection = rejected(message_event({"type": "uk.nhs.notify.letter.PRINTED.v1"}))
    assert rejection.code is ErrorCode.UNSUPPORTED_TYPE
    assert [str(i) for i in rejection.issues] == [
        f'type: unsupported event type "uk.nhs.notify.letter.PRINTED.v1" (expected {ALL_TYPES})'
    ]


def test_missing_type_is_invalid_event() -> None:
    rejection = rejected(message_event({"type": DELETE}))
    assert (rejection.code, [str(i) for i in rejection.issues]) == (
        ErrorCode.INVALID_EVENT,
        ["type: is required"],
    )


def test_bare_specversion_lists_every_missing_attribute() -> None:
    rejection = rejected({"specversion": "1.0"})
    assert [i.path for i in rejection.issues] == [
        "id", "source", "subject", "time", "datacontenttype", "traceparent", "type"
    ]  # fmt: skip
    assert rejection.event_id is None


@pytest.mark.parametrize(
    ("body", "issue"),
    [
        ("{not json", "(body): not valid JSON: Expecting property name enclosed in double quotes"),
        (b"\xff\xfe", "(body): not valid JSON"),
        ("[1, 2]", "(event): must be a JSON object (got array)"),
        ("null", "(event): must be a JSON object (got null)"),
    ],
)  # fmt: skip
def test_undecodable_bodies(body: str | bytes, issue: str) -> None:
    result = decode_event(body)
    assert isinstance(result, Rejection)
    assert result.code is ErrorCode.INVALID_EVENT
    assert str(result.issues[0]).startswith(issue)


def test_decode_accepts_text_bytes_and_mappings_alike() -> None:
    event = message_event()
    text = json.dumps(event)
    assert decode_event(text) == decode_event(text.encode()) == decode_event(event) == validate_event(event)


def test_error_message_is_bounded() -> None:
    channels = [{"type": "FAX" * 50, "channelStatus": "X"} for _ in range(200)]
    message = rejected(message_event(channels=channels)).message
    assert len(message) == 8192
    assert message.endswith("…")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-02-05T10:15:00Z", True),
        ("2028-02-29T10:15:00Z", True),  # leap year
        ("2026-12-31T23:59:60Z", True),  # leap second
        ("2026-02-05T10:15:00.5-05:30", True),
        ("2026-02-29T10:15:00Z", False),
        ("2026-04-31T10:15:00Z", False),
        ("2026-13-01T10:15:00Z", False),
        ("2026-02-05T24:00:00Z", False),
        ("2026-02-05T10:15Z", False),
        ("2026-02-05 10:15:00Z", False),
        ("2026-02-05T10:15:00", False),  # no offset
        ("2026-02-05T10:15:00+0100", False),
        ("2026-02-05T10:15:00z", False),
    ],
)
def test_rfc3339_rules(value: str, valid: bool) -> None:
    assert is_rfc3339(value) is valid
