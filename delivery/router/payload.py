"""Transformation of a validated status event into the client callback payload (SPEC-ROUTER T2 + T8).

Payload shape (JSON:API-like, exactly one item)::

    {"data": [{"type": "MessageStatus" | "ChannelStatus",
               "attributes": {...allow-listed, statuses lower-cased...},
               "links": {"message": "<MESSAGE_ROOT_URI>/messages/<messageId, percent-encoded>"},
               "meta": {"idempotencyKey": "<64 hex>"}}]}

Attributes keep the reference key order (T2.1/T2.2); optional fields are omitted when absent (descriptions
and failure codes also when empty). Only allow-listed fields are copied (T7.10).

Idempotency key (T8, replaces T2.4): lower-case hex SHA-256 of the UTF-8 canonical JSON (keys sorted at
every level, no whitespace, non-ASCII kept) of ``{"attributes": <the attributes object above>, "eventId":
<CloudEvent id>, "type": <callback type>}`` — see ``IDEMPOTENCY_FIELDS``. Because the event id and
timestamp are hashed, a genuinely new transition always gets a new key, while a redelivery or redrive of
the same event keeps it.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import re
from collections.abc import Callable
from typing import Any, Final, NamedTuple
from urllib.parse import quote, urlsplit

from delivery.queue.sqs_limits import sqs_json
from delivery.router.events import ChannelStatusEvent, MessageStatusEvent, StatusEvent
from delivery.router.vocabulary import CallbackType
from delivery.router.wire import attributes_json

IDEMPOTENCY_FIELDS: Final = ("attributes", "eventId", "type")
_PLAN_KEYS: Final = ("id", "name", "version", "createdDate")
_UNRESERVED: Final = re.compile(r"[A-Za-z0-9_.~-]+")  # what ``quote(..., safe="")`` leaves as it is
_TAILS: dict[tuple[str, str], str] = {}  # envelope endings per (subscriptionId, targetId), see envelope_body
MAX_TAILS = 4096


def _reject(value: object) -> Any:
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _encoder(sort_keys: bool) -> Callable[[Any], str]:
    """Compact JSON (non-ASCII kept); the C encoder is built once instead of on every call (hot path)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys).encode
    encode = make(None, _reject, json.encoder.encode_basestring, None, ":", ",", sort_keys, False, True)
    return lambda value: "".join(encode(value, 0))


_compact = _encoder(sort_keys=False)
_canonical = _encoder(sort_keys=True)
_string: Callable[[str], str] = json.encoder.encode_basestring  # one JSON string, non-ASCII kept


class Callback(NamedTuple):
    """The payload for one event, and its one serialisation (what every envelope for it carries)."""

    callback_type: CallbackType
    payload: dict[str, Any]
    payload_json: str
    idempotency_key: str


def normalise_root_uri(root: str) -> str:
    """Checks ``MESSAGE_ROOT_URI``: an absolute http(s) URL or an absolute path, no query or fragment."""
    parts = urlsplit(root)
    absolute_url = parts.scheme in ("http", "https") and bool(parts.netloc)
    absolute_path = not parts.scheme and not parts.netloc and root.startswith("/")
    if not (absolute_url or absolute_path) or parts.query or parts.fragment:
        raise ValueError(
            f"MESSAGE_ROOT_URI must be an absolute http(s) URL or a path starting with '/' "
            f"(no query or fragment), got {root!r}"
        )
    return root.rstrip("/")


def message_link(root_uri: str, message_id: str) -> str:
    """``<root>/messages/<messageId>`` with the id percent-encoded as one path segment."""
    if _UNRESERVED.fullmatch(message_id) is not None:  # nothing to encode (the common case, in C)
        return f"{root_uri}/messages/{message_id}"
    return f"{root_uri}/messages/{quote(message_id, safe='')}"


def idempotency_key(callback_type: CallbackType, event_id: str, attributes: dict[str, Any]) -> str:
    # == canonical JSON of {"attributes": ..., "eventId": ..., "type": ...}: the keys are already sorted
    body = f'{{"attributes":{_canonical(attributes)},"eventId":{_string(event_id)},"type":"{callback_type}"}}'
    return hashlib.sha256(body.encode()).hexdigest()


def message_attributes(event: MessageStatusEvent) -> dict[str, Any]:
    attrs: dict[str, Any] = {"messageId": event.message_id}
    if event.message_reference is not None:
        attrs["messageReference"] = event.message_reference
    attrs["messageStatus"] = event.message_status.lower()
    attrs["channels"] = [
        {"type": ch.type.lower(), "channelStatus": ch.channel_status.lower()} for ch in event.channels
    ]
    attrs["timestamp"] = event.timestamp
    plan = event.routing_plan
    if plan is not None:
        fields = zip(_PLAN_KEYS, plan, strict=True)
        attrs["routingPlan"] = {key: value for key, value in fields if value is not None}
    if event.message_status_description:
        attrs["messageStatusDescription"] = event.message_status_description
    if event.message_failure_reason_code:
        attrs["messageFailureReasonCode"] = event.message_failure_reason_code
    return attrs


def channel_attributes(event: ChannelStatusEvent) -> dict[str, Any]:
    attrs: dict[str, Any] = {"messageId": event.message_id}
    if event.message_reference is not None:
        attrs["messageReference"] = event.message_reference
    attrs["channel"] = event.channel.lower()
    attrs["channelStatus"] = event.channel_status.lower()
    attrs["supplierStatus"] = event.supplier_status
    optional = (("cascadeType", event.cascade_type), ("cascadeOrder", event.cascade_order))
    attrs.update((key, value) for key, value in optional if value is not None)
    attrs["timestamp"] = event.timestamp
    if event.retry_count is not None:
        attrs["retryCount"] = event.retry_count
    if event.channel_status_description:
        attrs["channelStatusDescription"] = event.channel_status_description
    if event.channel_failure_reason_code:
        attrs["channelFailureReasonCode"] = event.channel_failure_reason_code
    return attrs


def _attributes(event: StatusEvent) -> dict[str, Any]:
    if isinstance(event, MessageStatusEvent):
        return message_attributes(event)
    return channel_attributes(event)


def build_callback(event: StatusEvent, root_uri: str) -> Callback:
    """The client payload for ``event`` (``root_uri`` already checked by ``normalise_root_uri``)."""
    attrs = _attributes(event)
    key = idempotency_key(event.callback_type, event.event_id, attrs)
    item = {
        "type": event.callback_type.value,
        "attributes": attrs,
        "links": {"message": message_link(root_uri, event.message_id)},
        "meta": {"idempotencyKey": key},
    }
    payload = {"data": [item]}
    return Callback(event.callback_type, payload, _compact(payload), key)


def payload_json(event: StatusEvent, root_uri: str) -> str:
    """``build_callback(event, root_uri).payload_json`` without building the payload objects (hot path:
    ``wire.attributes_json`` writes the attributes text directly); the two are byte-identical (tested)."""
    attrs, canonical = attributes_json(event)
    callback_type = event.callback_type  # formats as its value
    key = hashlib.sha256(
        f'{{"attributes":{canonical},"eventId":{_string(event.event_id)},"type":"{callback_type}"}}'.encode()
    ).hexdigest()  # == idempotency_key(callback_type, event.event_id, <the attributes dict>)
    link = _string(message_link(root_uri, event.message_id))
    return (
        f'{{"data":[{{"type":"{callback_type}","attributes":{attrs},'
        f'"links":{{"message":{link}}},"meta":{{"idempotencyKey":"{key}"}}}}]}}'
    )


def envelope_body(payload_json: str, subscription_id: str, target_id: str) -> str:
    """The delivery-queue body ``{"payload": ..., "subscriptionId": ..., "targetId": ...}`` (compact JSON,
    identical to serialising the whole object at once, without re-encoding the payload per target).
    Characters SQS refuses (U+FFFE, U+FFFF, lone surrogates) are written as ``\\uXXXX`` escapes: the
    caller escapes ``payload_json`` once per event (``sqs_json``), the ids are escaped here."""
    tail = _TAILS.get((subscription_id, target_id))
    if tail is None:  # a config's ids repeat envelope after envelope: written once each
        if len(_TAILS) >= MAX_TAILS:
            _TAILS.clear()
        sub, target = sqs_json(_string(subscription_id)), sqs_json(_string(target_id))
        tail = f',"subscriptionId":{sub},"targetId":{target}}}'
        _TAILS[(subscription_id, target_id)] = tail
    return f'{{"payload":{payload_json}{tail}'
