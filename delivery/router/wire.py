"""The callback ``attributes`` object as JSON text, written directly from a validated event (hot path). Pure.

``attributes_json(event)`` returns two texts of the same object that ``payload.message_attributes`` /
``payload.channel_attributes`` build as dicts:

- compact: reference key order (SPEC-ROUTER T2.1/T2.2), no whitespace, non-ASCII kept — what the payload
  carries;
- canonical: the same with keys sorted at every level — what the idempotency key hashes.

Each value is encoded once and placed into both texts, instead of building the dict and running the encoder
over it twice. Enum values are already canonical after validation, so their JSON spellings are looked up,
not encoded. Byte-identical to ``json.dumps`` of the dicts (tested over generated events).
"""

from __future__ import annotations

import json.encoder
from collections.abc import Callable, Iterable
from typing import Final

from delivery.router.events import Channel, ChannelStatusEvent, MessageStatusEvent, RoutingPlan, StatusEvent
from delivery.router.vocabulary import (
    CASCADE_TYPES,
    CHANNEL_STATUSES,
    CHANNEL_TYPES,
    MESSAGE_STATUSES,
    SUPPLIER_STATUSES,
)

_PLAN_KEYS: Final = ("id", "name", "version", "createdDate")  # RoutingPlan's fields, in its order
_string: Callable[[str], str] = json.encoder.encode_basestring  # one JSON string, non-ASCII kept


def _lowered(values: Iterable[str]) -> dict[str, str]:
    """Canonical enum value -> the JSON string of its lower-cased form (what the payload carries)."""
    return {value: _string(value.lower()) for value in values}


_STATUS: Final = _lowered(MESSAGE_STATUSES)
_CHANNEL: Final = _lowered(CHANNEL_TYPES)
_CHANNEL_STATUS: Final = _lowered(CHANNEL_STATUSES)
_VERBATIM: Final = {value: _string(value) for value in (*SUPPLIER_STATUSES, *CASCADE_TYPES)}


def _channel_texts(channel: Channel) -> tuple[str, str]:
    """One channel object: (reference order, sorted order)."""
    kind, state = _lower(_CHANNEL, channel.type), _lower(_CHANNEL_STATUS, channel.channel_status)
    return f'{{"type":{kind},"channelStatus":{state}}}', f'{{"channelStatus":{state},"type":{kind}}}'


def _lower(table: dict[str, str], value: str) -> str:
    """``_string(value.lower())``, looked up (an event built outside validation falls back to encoding)."""
    return table.get(value) or _string(value.lower())


def _verbatim(value: str) -> str:
    return _VERBATIM.get(value) or _string(value)


def _plan_json(plan: RoutingPlan) -> tuple[str, str]:
    """``routingPlan`` without its absent keys: (reference order, sorted order)."""
    ident, name, version, created = plan
    if ident is not None and name is not None and version is not None and created is not None:
        head = f'"id":{_string(ident)},"name":{_string(name)},"version":{_string(version)}'
        created = f'"createdDate":{_string(created)}'
        return f"{{{head},{created}}}", f"{{{created},{head}}}"  # every key (the common case)
    parts = [
        f'"{key}":{_string(value)}' for key, value in zip(_PLAN_KEYS, plan, strict=True) if value is not None
    ]
    compact = "{" + ",".join(parts) + "}"
    if plan.created_date is None:  # id, name, version: already sorted
        return compact, compact
    return compact, "{" + ",".join([parts[-1], *parts[:-1]]) + "}"


_CHANNEL_TEXTS: Final = {
    (kind, state): _channel_texts(Channel(kind, state))
    for kind in CHANNEL_TYPES
    for state in CHANNEL_STATUSES
}


def message_json(event: MessageStatusEvent) -> tuple[str, str]:
    message_id = _string(event.message_id)
    reference = event.message_reference
    reference = "" if reference is None else f',"messageReference":{_string(reference)}'
    status = _STATUS.get(event.message_status) or _string(event.message_status.lower())
    if len(event.channels) == 1:  # the common case
        (only,) = event.channels
        channels, channels_sorted = _CHANNEL_TEXTS.get(only) or _channel_texts(only)
    else:
        texts = [_CHANNEL_TEXTS.get(ch) or _channel_texts(ch) for ch in event.channels]
        channels, channels_sorted = ",".join([t[0] for t in texts]), ",".join([t[1] for t in texts])
    timestamp = _string(event.timestamp)
    plan = plan_sorted = ""
    if event.routing_plan is not None:
        plan, plan_sorted = _plan_json(event.routing_plan)
        plan, plan_sorted = f',"routingPlan":{plan}', f',"routingPlan":{plan_sorted}'
    description = event.message_status_description
    description = f',"messageStatusDescription":{_string(description)}' if description else ""
    code = event.message_failure_reason_code
    code = f',"messageFailureReasonCode":{_string(code)}' if code else ""
    compact = (
        f'{{"messageId":{message_id}{reference},"messageStatus":{status},"channels":[{channels}],'
        f'"timestamp":{timestamp}{plan}{description}{code}}}'
    )
    canonical = (
        f'{{"channels":[{channels_sorted}]{code},"messageId":{message_id}{reference},'
        f'"messageStatus":{status}{description}{plan_sorted},"timestamp":{timestamp}}}'
    )
    return compact, canonical


def channel_json(event: ChannelStatusEvent) -> tuple[str, str]:
    message_id = _string(event.message_id)
    reference = event.message_reference
    reference = "" if reference is None else f',"messageReference":{_string(reference)}'
    channel = _CHANNEL.get(event.channel) or _string(event.channel.lower())
    status = _CHANNEL_STATUS.get(event.channel_status) or _string(event.channel_status.lower())
    supplier = _VERBATIM.get(event.supplier_status) or _string(event.supplier_status)
    cascade_type = "" if event.cascade_type is None else f',"cascadeType":{_verbatim(event.cascade_type)}'
    order = "" if event.cascade_order is None else f',"cascadeOrder":{event.cascade_order}'
    timestamp = _string(event.timestamp)
    retries = "" if event.retry_count is None else f',"retryCount":{event.retry_count}'
    description = event.channel_status_description
    description = f',"channelStatusDescription":{_string(description)}' if description else ""
    code = event.channel_failure_reason_code
    code = f',"channelFailureReasonCode":{_string(code)}' if code else ""
    compact = (
        f'{{"messageId":{message_id}{reference},"channel":{channel},"channelStatus":{status},'
        f'"supplierStatus":{supplier}{cascade_type}{order},"timestamp":{timestamp}{retries}'
        f"{description}{code}}}"
    )
    head = order + cascade_type  # cascadeOrder, cascadeType sort before channel; both may be absent
    head = head[1:] + "," if head else ""
    canonical = (
        f'{{{head}"channel":{channel}{code},"channelStatus":{status}{description},'
        f'"messageId":{message_id}{reference}{retries},"supplierStatus":{supplier},"timestamp":{timestamp}}}'
    )
    return compact, canonical


def attributes_json(event: StatusEvent) -> tuple[str, str]:
    """(compact, canonical) JSON of the event's callback attributes."""
    if isinstance(event, MessageStatusEvent):
        return message_json(event)
    return channel_json(event)
