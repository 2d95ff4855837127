"""The reference mock's body rules and forced statuses (SPEC M.4–M.6)."""

from __future__ import annotations

import json

import pytest

from mock_webhook.reference import forced_status, inspect_body, reference_response


def _item(message_id: object = "m-1", type_: str = "MessageStatus") -> dict[str, object]:
    return {"type": type_, "attributes": {"messageId": message_id}, "meta": {"idempotencyKey": "idem-9"}}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 400, "No body"),
        (b"{not json", 400, "Invalid JSON body"),
        (b"[]", 400, "Invalid message structure"),
        (json.dumps({"data": {}}).encode(), 400, "Invalid message structure"),
        (json.dumps({"data": [_item(type_="Other")]}).encode(), 400, "Invalid message structure"),
        (json.dumps({"data": [_item(message_id=7)]}).encode(), 400, "Invalid message structure"),
        (json.dumps({"data": [_item(), "x"]}).encode(), 400, "Invalid message structure"),
        (json.dumps({"data": []}).encode(), 400, "Expected exactly 1 callback item, got 0"),
        (json.dumps({"data": [_item(), _item()]}).encode(), 400, "Expected exactly 1 callback item, got 2"),
        (b"[" * 100_000 + b"]" * 100_000, 500, "Internal server error"),
        (json.dumps({"data": [_item()]}).encode(), 200, "Callback received"),
    ],
)
def test_body_rules(body: bytes, status: int, message: str) -> None:
    got_status, got_body = reference_response(inspect_body(body), now_ms=0)
    assert (got_status, json.loads(got_body)) == (status, {"message": message})


def test_body_facts() -> None:
    facts = inspect_body(json.dumps({"data": [_item("m-7", "ChannelStatus")]}).encode())
    assert (facts.message_id, facts.correlation_id, facts.callback_type) == ("m-7", "idem-9", "ChannelStatus")


@pytest.mark.parametrize(
    ("message_id", "now_ms", "expected"),
    [
        ("force-503-abc", 0, 503),
        ("force-429-x", 10**13, 429),
        ("force-500-until-1000-x", 999, 500),
        ("force-500-until-1000-x", 1000, None),
        ("force-50-x", 0, None),
        ("force-503", 0, None),
        ("plain-id", 0, None),
        (None, 0, None),
    ],
)
def test_forced_status(message_id: str | None, now_ms: float, expected: int | None) -> None:
    assert forced_status(message_id, now_ms) == expected


def test_forced_response_body() -> None:
    status, body = reference_response(inspect_body(json.dumps({"data": [_item("force-502-z")]}).encode()), 0)
    assert (status, body) == (502, b'{"message":"Forced status 502"}')
