"""The reference mock's request rules (SPEC M.3–M.6), as pure functions over the body bytes.

Order: API key (401) → body checks (400, reference messages) → forced status from ``messageId``
(``force-<code>-…`` always, ``force-<code>-until-<epochMs>-…`` while now < epochMs) → 200.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import NamedTuple

CALLBACK_TYPES = frozenset({"MessageStatus", "ChannelStatus"})
_TYPE_NAMES = {name: name for name in CALLBACK_TYPES}  # records share these strings, not one per body
_DECODER = json.JSONDecoder()
_decode_json = _DECODER.decode
_scan_once: Callable[[str, int], tuple[object, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_JSON_SPACE = frozenset(" \t\n\r")
_FORCED = re.compile(r"force-(\d{3})-(?:until-(\d+)-)?")


def message_body(message: str) -> bytes:
    """Compact JSON ``{"message": ...}`` as the reference Lambda returns it."""
    return json.dumps({"message": message}, separators=(",", ":"), ensure_ascii=False).encode()


UNAUTHORIZED = message_body("Unauthorized")
RECEIVED = message_body("Callback received")


class BodyFacts(NamedTuple):
    """What the body says: an error (status + message) or the callback's identifiers (hot path: a tuple)."""

    error_status: int | None = None
    error_message: str | None = None
    message_id: str | None = None
    correlation_id: str | None = None
    callback_type: str | None = None


def _valid_item(item: object) -> bool:
    if type(item) is not dict or item.get("type") not in CALLBACK_TYPES:
        return False
    attributes = item.get("attributes")
    return type(attributes) is dict and type(attributes.get("messageId")) is str


def inspect_body(body: bytes) -> BodyFacts:
    """Never raises: anything unexpected is the reference's 500 ``Internal server error``."""
    try:
        return _inspect(body)
    except Exception:
        return BodyFacts(500, "Internal server error")


def _parse_json(text: str) -> object:
    """``json.loads`` without its wrappers for the usual body (a value and nothing around it); anything
    else (whitespace around it, trailing data, not JSON) goes through the decoder for its exact result."""
    if text[:1] not in _JSON_SPACE:
        try:
            value, end = _scan_once(text, 0)
        except StopIteration:
            pass
        else:
            if end == len(text):
                return value
    return _decode_json(text)


def _inspect(body: bytes) -> BodyFacts:
    if not body:
        return BodyFacts(400, "No body")
    try:
        data = _parse_json(body.decode())
    except ValueError:  # includes UnicodeDecodeError
        return BodyFacts(400, "Invalid JSON body")
    items = data.get("data") if type(data) is dict else None
    if type(items) is not list or not all(map(_valid_item, items)):
        return BodyFacts(400, "Invalid message structure")
    if len(items) != 1:
        return BodyFacts(400, f"Expected exactly 1 callback item, got {len(items)}")
    item = items[0]
    meta = item.get("meta")
    key = meta.get("idempotencyKey") if type(meta) is dict else None
    return BodyFacts(
        None,
        None,
        item["attributes"]["messageId"],
        key if type(key) is str else None,
        _TYPE_NAMES[item["type"]],
    )


def forced_status(message_id: str | None, now_ms: float) -> int | None:
    """The status a ``force-…`` messageId asks for right now, else None."""
    if message_id is None or not message_id.startswith("force-"):
        return None
    match = _FORCED.match(message_id)
    if match is None:
        return None
    until_ms = match.group(2)
    if until_ms is not None and now_ms >= int(until_ms):
        return None
    return int(match.group(1))


def reference_response(facts: BodyFacts, now_ms: float) -> tuple[int, bytes]:
    """Status and body for a request that passed the API-key check."""
    if facts.error_status is not None:
        return facts.error_status, message_body(facts.error_message or "")
    forced = forced_status(facts.message_id, now_ms)
    if forced is not None:
        return forced, message_body(f"Forced status {forced}")
    return 200, RECEIVED
