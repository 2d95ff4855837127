"""Envelope decoding: every malformed body is a PoisonMessage with a precise reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from delivery.envelope import decode_envelope, serialise_payload
from delivery.errors import DeliveryError, PoisonMessage


def payload(**attributes: Any) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "MessageStatus",
                "attributes": {"messageId": "msg-1", "messageStatus": "delivered", **attributes},
                "links": {"message": "/v1/message-batches/messages/msg-1"},
                "meta": {"idempotencyKey": "evt-1"},
            }
        ]
    }


def body(**overrides: Any) -> str:
    doc = {"payload": payload(), "subscriptionId": "sub-1", "targetId": "t-1", **overrides}
    return json.dumps(doc, indent=2)


def test_decodes_reference_envelope() -> None:
    env = decode_envelope(body())
    assert env.subscription_id == "sub-1"
    assert env.target_id == "t-1"
    assert env.correlation_id == "msg-1"
    assert env.idempotency_key == "evt-1"
    assert env.payload == payload()
    assert json.loads(env.payload_bytes) == payload()


def test_payload_bytes_are_compact_js_style_json_in_key_order() -> None:
    env = decode_envelope(body(payload=payload(messageReference="réf/ü 😀", z=1, a=2.5)).encode())
    text = env.payload_bytes.decode("utf-8")
    assert " " not in text.replace("réf/ü 😀", "")
    assert '"messageReference":"réf/ü 😀"' in text  # non-ASCII kept, "/" not escaped
    assert text.index('"z"') < text.index('"a"')  # insertion order kept
    assert env.payload_bytes == serialise_payload(env.payload)


def test_lone_surrogates_are_escaped_not_fatal() -> None:
    raw = (
        '{"payload":{"data":[{"attributes":{"messageId":"m","x":"\\ud800"}}]},'
        '"subscriptionId":"s","targetId":"t"}'
    )
    env = decode_envelope(raw)
    assert b"\\ud800" in env.payload_bytes
    assert json.loads(env.payload_bytes)["data"][0]["attributes"]["x"] == "\ud800"


def test_missing_optional_ids_are_none() -> None:
    doc = {"payload": {"data": [{"type": "ChannelStatus"}]}, "subscriptionId": "s", "targetId": "t"}
    env = decode_envelope(json.dumps(doc))
    assert env.correlation_id is None
    assert env.idempotency_key is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "body is not valid UTF-8 (byte 0)"),
        ("", "body is empty"),
        ("  \n", "body is empty"),
        ("{not json", "body is not valid JSON: Expecting property name enclosed in double quotes at line 1"),
        ('{"payload": NaN}', "body is not valid JSON: NaN is not allowed"),
        ("[1, 2]", "body must be a JSON object, got array"),
        ("null", "body must be a JSON object, got null"),
        ('{"subscriptionId": "s", "targetId": "t"}', "payload is missing"),
        ('{"payload": "x", "subscriptionId": "s", "targetId": "t"}', "payload must be an object, got string"),
        (body(subscriptionId=None), "subscriptionId is missing"),
        (body(subscriptionId=""), "subscriptionId must be a non-empty string, got string"),
        (body(targetId=7), "targetId must be a non-empty string, got number"),
        (body(targetId=False), "targetId must be a non-empty string, got boolean"),
        (body(payload={}), "payload.data must be an array, got null"),
        (body(payload={"data": {}}), "payload.data must be an array, got object"),
        (body(payload={"data": []}), "payload.data must hold exactly 1 item, got 0"),
        (body(payload={"data": [{}, {}]}), "payload.data must hold exactly 1 item, got 2"),
        (body(payload={"data": ["x"]}), "payload.data[0] must be an object, got string"),
        (
            body(payload={"data": [{"attributes": []}]}),
            "payload.data[0].attributes must be an object, got array",
        ),
        (
            body(payload={"data": [{"attributes": {"messageId": 5}}]}),
            "payload.data[0].attributes.messageId must be a string, got number",
        ),
        (
            body(payload={"data": [{"meta": {"idempotencyKey": {}}}]}),
            "payload.data[0].meta.idempotencyKey must be a string, got object",
        ),
        ("[" * 100_000, "body is not valid JSON: nested too deeply"),
    ],
)
def test_poison_reasons(raw: str | bytes, reason: str) -> None:
    with pytest.raises(PoisonMessage) as info:
        decode_envelope(raw)
    assert info.value.reason.startswith(reason)
    assert info.value.code == "INVALID_MESSAGE"
    assert isinstance(info.value, DeliveryError)
