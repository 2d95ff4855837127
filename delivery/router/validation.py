"""Strict validation of inbound status events (SPEC-ROUTER T1 with the T8 strictness), in plain Python.

``decode_event(body)`` / ``validate_event(obj)`` return a ``MessageStatusEvent`` / ``ChannelStatusEvent``
or a ``Rejection`` that lists **every** problem with its path from the event root, e.g.
``data.channels[0].type: must be one of EMAIL, LETTER, NHSAPP, SMS (got "FAX")``.

Rules beyond the reference: ``id``, ``time``, ``source``, ``subject`` are required (no SDK defaults);
``specversion`` must be ``1.0``; enum values are checked case-insensitively and normalised once; declared but
optional fields (messageReference, routingPlan, cascadeType/Order, retryCount) are type-checked when present
(routingPlan's strings may be empty, as in the reference's own fixtures).
Timestamps are RFC 3339 date-times with seconds and a ``Z`` or ``±hh:mm`` offset. Written over plain dicts
(no pydantic) because this is the router's hot path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from delivery.config.inputs import DuplicateKeyError, loads_unique, path_text
from delivery.router.events import (
    Channel,
    ChannelStatusEvent,
    EventIssue,
    MessageStatusEvent,
    Rejection,
    RoutingPlan,
    StatusEvent,
)
from delivery.router.fields import (
    Issues,
    client_id_field,
    count,
    is_rfc3339,
    json_type,
    literal,
    member,
    optional,
    optional_member,
    quoted,
    required,
    timestamp,
)
from delivery.router.vocabulary import (
    CASCADE_TYPES,
    CHANNEL_STATUSES,
    CHANNEL_TYPES,
    DATA_CONTENT_TYPE,
    MESSAGE_STATUSES,
    SPEC_VERSION,
    SUPPLIER_STATUSES,
    ErrorCode,
    EventType,
)

_EXTENSION_NAME: Final = re.compile(r"[a-z0-9]{1,20}")
_ENVELOPE_KEYS: Final = frozenset(
    {
        "specversion",
        "id",
        "source",
        "subject",
        "type",
        "time",
        "datacontenttype",
        "dataschema",
        "data",
        "traceparent",
        "sequence",
    }
)
_BAD_NAME: Final = "extension names must be 1-20 lower-case letters or digits"
_EVENT_TYPES: Final = frozenset(t.value for t in EventType)
_TEXT_OR_ABSENT: Final = frozenset({str, type(None)})


def _check_extensions(event: Mapping[str, Any], issues: Issues) -> None:
    """CloudEvents extension attributes: 1-20 lower-case letters/digits, scalar values."""
    if event.keys() <= _ENVELOPE_KEYS:  # none (the common case), without building the difference
        return
    for name in event.keys() - _ENVELOPE_KEYS:
        value = event[name]
        if _EXTENSION_NAME.fullmatch(name) is None:
            issues.append(EventIssue(name, f"unknown attribute: {_BAD_NAME}"))
        elif type(value) not in (str, int, bool):
            issues.append(EventIssue(name, f"must be a string, number or boolean (got {json_type(value)})"))


def _plain_envelope(event: Mapping[str, Any]) -> bool:
    """True only when ``_check_envelope`` would find nothing to report (the common case, in one call)."""
    get = event.get
    return (
        get("specversion") == SPEC_VERSION
        and get("datacontenttype") == DATA_CONTENT_TYPE
        and type(event_type := get("type")) is str
        and event_type in _EVENT_TYPES
        and type(event_id := get("id")) is str
        and event_id != ""
        and type(source := get("source")) is str
        and source != ""
        and type(subject := get("subject")) is str
        and subject != ""
        and type(traceparent := get("traceparent")) is str
        and traceparent != ""
        and type(get("dataschema")) in _TEXT_OR_ABSENT
        and type(get("sequence")) in _TEXT_OR_ABSENT
        and type(time := get("time")) is str
        and is_rfc3339(time)
        and event.keys() <= _ENVELOPE_KEYS  # no extension attributes
    )


def _check_envelope(event: Mapping[str, Any], issues: Issues) -> tuple[str, str]:
    """The CloudEvents attributes; returns (id, type) as given (``""`` when unusable)."""
    if _plain_envelope(event):
        return event["id"], event["type"]
    return _envelope_checks(event, issues)


def _envelope_checks(event: Mapping[str, Any], issues: Issues) -> tuple[str, str]:
    """Every envelope check, each recording its issue (in this order)."""
    literal(event, "specversion", SPEC_VERSION, issues)
    event_id = required(event, "id", "", issues)
    required(event, "source", "", issues)
    required(event, "subject", "", issues)
    timestamp(event, "time", "", issues)
    literal(event, "datacontenttype", DATA_CONTENT_TYPE, issues)
    optional(event, "dataschema", "", issues)
    required(event, "traceparent", "", issues)
    optional(event, "sequence", "", issues)
    _check_extensions(event, issues)
    event_type = required(event, "type", "", issues)
    if event_type and event_type not in _EVENT_TYPES:
        choices = " | ".join(sorted(_EVENT_TYPES))
        message = f"unsupported event type {quoted(event_type)} (expected {choices})"
        issues.append(EventIssue("type", message))
    return event_id, event_type


def _channels(data: Mapping[str, Any], issues: Issues) -> tuple[Channel, ...]:
    value = data.get("channels")
    if type(value) is not list or not value:
        problem = "is required" if value is None else f"must be an array (got {json_type(value)})"
        problem = "must have at least one channel" if value == [] else problem
        issues.append(EventIssue("data.channels", problem))
        return ()
    channels = []
    for index, item in enumerate(value):
        if type(item) is dict:  # the common case first: both values known, no path text needed
            kind, status = item.get("type"), item.get("channelStatus")
            if type(kind) is str and type(status) is str:
                kind, status = kind.upper(), status.upper()
                if kind in CHANNEL_TYPES and status in CHANNEL_STATUSES:
                    channels.append(Channel(kind, status))
                    continue
        prefix = f"data.channels[{index}]."
        if type(item) is not dict:
            issues.append(EventIssue(prefix[:-1], f"must be an object (got {json_type(item)})"))
            continue
        kind = member(item, "type", prefix, issues, CHANNEL_TYPES)
        status = member(item, "channelStatus", prefix, issues, CHANNEL_STATUSES)
        channels.append(Channel(kind, status))
    return tuple(channels)


def _routing_plan(data: Mapping[str, Any], issues: Issues) -> RoutingPlan | None:
    """Passed through as the reference does (its own fixtures carry ``""`` values): types only."""
    plan = data.get("routingPlan")
    if plan is None:
        return None
    if type(plan) is not dict:
        issues.append(EventIssue("data.routingPlan", f"must be an object (got {json_type(plan)})"))
        return None
    ident, name, version, created = (
        plan.get("id"),
        plan.get("name"),
        plan.get("version"),
        plan.get("createdDate"),
    )
    if {type(ident), type(name), type(version), type(created)} <= _TEXT_OR_ABSENT:  # the common case
        return RoutingPlan(ident, name, version, created)
    prefix = "data.routingPlan."
    return RoutingPlan(
        id=optional(plan, "id", prefix, issues),
        name=optional(plan, "name", prefix, issues),
        version=optional(plan, "version", prefix, issues),
        created_date=optional(plan, "createdDate", prefix, issues),
    )


def _message_event(event_id: str, data: Mapping[str, Any], issues: Issues) -> MessageStatusEvent:
    """Positional, in field order (a keyword call to a NamedTuple costs twice as much); the checks run
    in this order, which is the order their issues are listed in."""
    p = "data."
    return MessageStatusEvent(
        event_id,
        client_id_field(data, issues),
        required(data, "messageId", p, issues),
        timestamp(data, "timestamp", p, issues),
        member(data, "messageStatus", p, issues, MESSAGE_STATUSES),
        _channels(data, issues),
        optional(data, "messageReference", p, issues),
        _routing_plan(data, issues),
        optional(data, "messageStatusDescription", p, issues) or None,
        optional(data, "messageFailureReasonCode", p, issues) or None,
        optional_member(data, "previousMessageStatus", p, issues, MESSAGE_STATUSES),
    )


def _channel_event(event_id: str, data: Mapping[str, Any], issues: Issues) -> ChannelStatusEvent:
    """As ``_message_event``: positional, in field order."""
    p = "data."
    return ChannelStatusEvent(
        event_id,
        client_id_field(data, issues),
        required(data, "messageId", p, issues),
        timestamp(data, "timestamp", p, issues),
        member(data, "channel", p, issues, CHANNEL_TYPES),
        member(data, "channelStatus", p, issues, CHANNEL_STATUSES),
        member(data, "supplierStatus", p, issues, SUPPLIER_STATUSES, upper=False),
        optional(data, "messageReference", p, issues),
        optional_member(data, "cascadeType", p, issues, CASCADE_TYPES, upper=False),
        count(data, "cascadeOrder", p, issues),
        count(data, "retryCount", p, issues),
        optional(data, "channelStatusDescription", p, issues) or None,
        optional(data, "channelFailureReasonCode", p, issues) or None,
        optional_member(data, "previousChannelStatus", p, issues, CHANNEL_STATUSES),
        optional_member(data, "previousSupplierStatus", p, issues, SUPPLIER_STATUSES, upper=False),
    )


def _client_id_of(data: object) -> str | None:
    client_id = data.get("clientId") if type(data) is dict else None
    return client_id if type(client_id) is str and client_id else None


def validate_event(event: object) -> StatusEvent | Rejection:
    """A decoded CloudEvent → a validated, normalised status event, or a Rejection listing every issue."""
    if type(event) is not dict:
        issue = EventIssue("(event)", f"must be a JSON object (got {json_type(event)})")
        return Rejection(ErrorCode.INVALID_EVENT, (issue,))
    issues: Issues = []
    event_id, event_type = _check_envelope(event, issues)
    data = event.get("data")
    if event_type not in _EVENT_TYPES:
        code = ErrorCode.UNSUPPORTED_TYPE if event_type else ErrorCode.INVALID_EVENT
        return Rejection(code, tuple(issues), event_id or None, _client_id_of(data))
    if type(data) is not dict:
        issues.append(EventIssue("data", "is required" if data is None else "must be an object"))
        return Rejection(ErrorCode.INVALID_EVENT, tuple(issues), event_id or None, _client_id_of(data))
    build = _message_event if event_type == EventType.MESSAGE_STATUS else _channel_event
    result = build(event_id, data, issues)
    if issues:  # the client id only names whose event it was (per-client metrics)
        return Rejection(ErrorCode.INVALID_EVENT, tuple(issues), event_id or None, _client_id_of(data))
    return result


def decode_event(body: str | bytes | Mapping[str, Any]) -> StatusEvent | Rejection:
    """An SQS message body (or an already-decoded event) → ``validate_event``."""
    if isinstance(body, (str, bytes, bytearray)):  # a tuple is faster than a union here
        try:
            event: object = loads_unique(body)
        except DuplicateKeyError as exc:
            issues = tuple(EventIssue(path_text(p), "duplicate key") for p in exc.paths)
            return Rejection(ErrorCode.INVALID_EVENT, issues)
        except (ValueError, RecursionError, UnicodeDecodeError) as exc:
            return Rejection(ErrorCode.INVALID_EVENT, (EventIssue("(body)", f"not valid JSON: {exc}"),))
        return validate_event(event)
    return validate_event(dict(body))
