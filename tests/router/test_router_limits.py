"""The router at SQS's limits, against moto: large envelopes cut by bytes, an envelope too large for SQS and
events too large for the inbound DLQ dead-lettered with their attributes, characters SQS refuses escaped."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from delivery.envelope import decode_envelope
from delivery.queue.sqs_limits import MAX_ENVELOPE_BYTES, MAX_MESSAGE_BYTES
from delivery.router.plan import Fate
from delivery.router.routing import route_events
from delivery.runtime.offload import DirBodyStore
from tests.router.test_router_sqs import Stack, fixture_event, local_configs, stack

__all__ = ["stack"]  # the moto-backed fixture, shared with test_router_sqs


def _event(description: str, client: str = "fanout") -> str:
    name = "message-status-delivered-fanout.json" if client == "fanout" else "message-status-delivered.json"
    event = fixture_event(name)
    event["data"]["messageStatusDescription"] = description
    event["data"]["messageId"] = f"m-{uuid.uuid4().hex[:8]}"
    return json.dumps(event, ensure_ascii=False)


def _attrs(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


async def test_large_fan_out_is_cut_by_bytes_and_every_neighbour_is_routed(stack: Stack) -> None:
    large = [_event(f"{i}" + "d" * 240_000) for i in range(4)]  # 8 envelopes of ~240 KB: ~2 MB in all
    small = [_event("fine"), _event("odd \ufffe \uffff text", client="plain")]
    report = await route_events([*large, *small], stack.deps(local_configs()))
    assert [r.fate for r in report.records] == [Fate.ROUTED] * 6
    fanout = stack.drain(stack.delivery["mock-client-fanout"])
    assert len(fanout) == 10
    assert all(len(m["Body"].encode()) <= MAX_ENVELOPE_BYTES for m in fanout)
    (plain,) = stack.drain(stack.delivery["mock-client-plain"])
    assert "\\ufffe" in plain["Body"]  # escaped on the wire, the same text once decoded
    (item,) = decode_envelope(plain["Body"]).payload["data"]
    assert item["attributes"]["messageStatusDescription"] == "odd \ufffe \uffff text"


async def test_too_large_envelopes_and_events_reach_the_inbound_dlq_with_attributes(stack: Stack) -> None:
    too_large = _event("x" * 261_000)  # the event fits SQS, its envelope would not
    assert len(too_large.encode()) < MAX_MESSAGE_BYTES
    huge_invalid = '{"broken": "' + "y" * 600_000  # not JSON, and larger than SQS allows
    report = await route_events(
        [too_large, huge_invalid, huge_invalid, _event("ok")], stack.deps(local_configs())
    )
    assert [(r.fate, r.error_code) for r in report.records] == [
        (Fate.DEAD_LETTERED, "ENVELOPE_TOO_LARGE"),
        (Fate.DEAD_LETTERED, "INVALID_EVENT"),
        (Fate.DEAD_LETTERED, "INVALID_EVENT"),
        (Fate.ROUTED, None),
    ]
    assert len(stack.drain(stack.delivery["mock-client-fanout"])) == 2
    dead = sorted(stack.drain(stack.dlq), key=lambda m: _attrs(m)["ERROR_CODE"])
    assert [_attrs(m)["ERROR_CODE"] for m in dead] == [
        "ENVELOPE_TOO_LARGE",
        "PAYLOAD_TOO_LARGE",
        "PAYLOAD_TOO_LARGE",
    ]
    envelope_dead = _attrs(dead[0])
    assert dead[0]["Body"] == too_large  # the event itself fits: kept whole
    assert str(MAX_ENVELOPE_BYTES) in envelope_dead["ERROR_MESSAGE"]
    assert envelope_dead["CLIENT_ID"] == "mock-client-fanout"
    for message in dead[1:]:  # too large for any queue: attributes kept, the body cut, its digest kept
        attrs = _attrs(message)
        assert attrs["ORIGINAL_ERROR_CODE"] == "INVALID_EVENT"
        assert attrs["BODY_BYTES"] == str(len(huge_invalid))
        assert attrs["BODY_SHA256"] == hashlib.sha256(huge_invalid.encode()).hexdigest()
        assert huge_invalid.startswith(message["Body"])
        assert len(message["Body"]) > MAX_MESSAGE_BYTES - 4096


async def test_with_a_body_store_an_event_too_large_for_the_dlq_is_kept_whole(
    stack: Stack, tmp_path: Path
) -> None:
    huge = '{"broken": "' + "y" * 600_000
    deps = stack.deps(local_configs())
    deps.bodies = DirBodyStore(tmp_path / ".dead-letter-bodies")
    report = await route_events([huge, huge], deps)  # a retried record is stored under the same key
    assert [r.error_code for r in report.records] == ["INVALID_EVENT", "INVALID_EVENT"]
    dead = stack.drain(stack.dlq)
    assert len(dead) == 2
    for message in dead:
        attrs = _attrs(message)
        assert (attrs["ERROR_CODE"], attrs["ORIGINAL_ERROR_CODE"]) == ("PAYLOAD_TOO_LARGE", "INVALID_EVENT")
        assert json.loads(message["Body"])["payloadTooLarge"]["location"] == attrs["BODY_LOCATION"]
        assert _stored(attrs["BODY_LOCATION"]) == [huge]
    assert len(_stored(str(tmp_path / ".dead-letter-bodies" / "inbound"))) == 1


def _stored(location: str) -> list[str]:
    """The text of the file at ``location``, or of every file in that directory."""
    path = Path(location)
    return [p.read_text() for p in sorted(path.iterdir())] if path.is_dir() else [path.read_text()]
