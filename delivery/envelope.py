"""Delivery-queue envelope ``{"payload", "subscriptionId", "targetId"}`` (SPEC B.2), decoded once (pure).

``payload_bytes`` is the one serialisation of the payload that is signed and sent (compact JSON, non-ASCII
kept, ``/`` not escaped — JavaScript ``JSON.stringify`` layout for everything our payloads contain).
Every malformed body raises ``PoisonMessage`` with a reason that says exactly what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from delivery.config.json_types import json_type_name
from delivery.errors import PoisonMessage


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


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # built once, not per call (json.loads kwargs)
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


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


def serialise_payload(payload: dict[str, Any]) -> bytes:
    """Compact JSON bytes of the payload (the exact bytes that are signed and sent)."""
    text = _ENCODER.encode(payload)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escape them, as JSON.stringify does
        return _ASCII_ENCODER.encode(payload).encode("ascii")


def decode_envelope(body: str | bytes) -> Envelope:
    """Decode one delivery-queue message body; raise PoisonMessage(reason) if it can never be delivered."""
    doc = _load(body)
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
        payload_bytes=serialise_payload(payload),
        subscription_id=subscription_id,
        target_id=target_id,
        correlation_id=_optional_str(item, "attributes", "messageId"),
        idempotency_key=_optional_str(item, "meta", "idempotencyKey"),
    )


__all__ = ["Envelope", "decode_envelope", "serialise_payload"]
