"""Delivery-queue envelope ``{"payload", "subscriptionId", "targetId"}`` (SPEC B.2), decoded once (pure).

``payload_bytes`` is the one serialisation of the payload that is signed and sent: exactly what JavaScript's
``JSON.stringify`` writes for it (``delivery.jsjson``: compact, non-ASCII kept, ``/`` not escaped, numbers
as ECMAScript formats them, a lone surrogate escaped as ``\\udxxx``).
A payload whose numbers are all integers of at most 15 characters (what the decoder's number hooks saw) is
written by the C encoder instead: for such values its compact, non-ASCII-keeping output is byte for byte
``JSON.stringify``'s (only the formatting of other numbers differs), at a fraction of the cost.
Every malformed body raises ``PoisonMessage`` with a reason that says exactly what is wrong.
"""

from __future__ import annotations

import json
import json.encoder
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from delivery.config.json_types import json_type_name
from delivery.errors import PoisonMessage
from delivery.jsjson import stringify


@dataclass(frozen=True, slots=True)
class Envelope:
    payload: dict[str, Any]
    payload_bytes: bytes
    subscription_id: str
    target_id: str
    correlation_id: str | None  # payload.data[0].attributes.messageId
    idempotency_key: str | None  # payload.data[0].meta.idempotencyKey (the CloudEvent id)


def _reject_constant(name: str) -> Any:
    raise PoisonMessage(f"body is not valid JSON: {name} is not allowed")


class _NumbersSeen(threading.local):
    """Set by the number hooks of the decode running in this thread: a number that only ``jsjson``
    writes as ``JSON.stringify`` does (any non-integer, or an integer that may be beyond 2**53)."""

    js_formatted = False


_SEEN = _NumbersSeen()
_PLAIN_INT_CHARS = 15  # "-" and 14 digits, or 15 digits: always below 2**53, printed alike by both


def _parse_int(text: str) -> int | float:
    """A JSON integer; one too long for ``int`` (Python's digit limit) is read as a double, as
    ``JSON.parse`` reads every number (it stringifies as ``null`` when it overflows)."""
    if len(text) > _PLAIN_INT_CHARS:
        _SEEN.js_formatted = True
    return int(text) if len(text) <= _MAX_INT_DIGITS else float(text)


def _parse_float(text: str) -> float:
    _SEEN.js_formatted = True
    return float(text)


_MAX_INT_DIGITS = 4000  # below sys.get_int_max_str_digits()'s default of 4300
_DECODER = json.JSONDecoder(
    parse_constant=_reject_constant, parse_int=_parse_int, parse_float=_parse_float
)  # built once, not per call (json.loads kwargs)
_PLAIN_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
# the C encoder behind ``_PLAIN_ENCODER.encode``, built once (``encode`` builds one per call)
_make_c_encoder = getattr(json.encoder, "c_make_encoder", None)  # None without CPython's _json
_C_ENCODER: Callable[[object, int], Sequence[str]] | None = (
    _make_c_encoder(None, None, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    if _make_c_encoder is not None
    else None
)


def _plain_json(value: dict[str, Any]) -> str:
    return "".join(_C_ENCODER(value, 0)) if _C_ENCODER is not None else _PLAIN_ENCODER.encode(value)


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")  # json.loads already joined every valid pair


def _load(body: str | bytes) -> object:
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PoisonMessage(f"body is not valid UTF-8 (byte {exc.start})") from None
    if not body.strip():
        raise PoisonMessage("body is empty")
    try:
        return _DECODER.decode(body)
    except json.JSONDecodeError as exc:
        raise PoisonMessage(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise PoisonMessage("body is not valid JSON: nested too deeply") from None


def _id_field(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if value is None:
        raise PoisonMessage(f"{name} is missing")
    if not isinstance(value, str) or not value:
        raise PoisonMessage(f"{name} must be a non-empty string, got {json_type_name(value)}")
    return value


def _item(payload: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("data")
    if not isinstance(data, list):
        raise PoisonMessage(f"payload.data must be an array, got {json_type_name(data)}")
    if len(data) != 1:
        raise PoisonMessage(f"payload.data must hold exactly 1 item, got {len(data)}")
    item = data[0]
    if not isinstance(item, dict):
        raise PoisonMessage(f"payload.data[0] must be an object, got {json_type_name(item)}")
    return item


def _optional_str(item: dict[str, Any], section: str, name: str) -> str | None:
    container = item.get(section)
    if container is None:
        return None
    if not isinstance(container, dict):
        raise PoisonMessage(f"payload.data[0].{section} must be an object, got {json_type_name(container)}")
    value = container.get(name)
    if value is not None and not isinstance(value, str):
        raise PoisonMessage(f"payload.data[0].{section}.{name} must be a string, got {json_type_name(value)}")
    return value


def serialise_payload(payload: dict[str, Any], *, plain_numbers: bool = False) -> bytes:
    """``JSON.stringify(payload)`` as UTF-8 (the exact bytes that are signed and sent). ``plain_numbers``:
    every number in ``payload`` is an integer of at most 15 characters (the C encoder then writes it)."""
    text = _plain_json(payload) if plain_numbers else stringify(payload)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escaped, as JSON.stringify does (well-formed stringify)
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


def decode_envelope(body: str | bytes) -> Envelope:
    """Decode one delivery-queue message body; raise PoisonMessage(reason) if it can never be delivered."""
    _SEEN.js_formatted = False
    doc = _load(body)
    plain_numbers = not _SEEN.js_formatted
    if not isinstance(doc, dict):
        raise PoisonMessage(f"body must be a JSON object, got {json_type_name(doc)}")
    payload = doc.get("payload")
    if "payload" not in doc:
        raise PoisonMessage("payload is missing")
    if not isinstance(payload, dict):
        raise PoisonMessage(f"payload must be an object, got {json_type_name(payload)}")
    subscription_id = _id_field(doc, "subscriptionId")
    target_id = _id_field(doc, "targetId")
    item = _item(payload)
    return Envelope(
        payload=payload,
        payload_bytes=serialise_payload(payload, plain_numbers=plain_numbers),
        subscription_id=subscription_id,
        target_id=target_id,
        correlation_id=_optional_str(item, "attributes", "messageId"),
        idempotency_key=_optional_str(item, "meta", "idempotencyKey"),
    )


__all__ = ["Envelope", "decode_envelope", "serialise_payload"]
