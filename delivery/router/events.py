"""Frozen values for a validated status event, and for a rejected one.

``validation.validate_event`` turns a decoded CloudEvent into exactly one of these. Every value on a
``MessageStatusEvent`` / ``ChannelStatusEvent`` is already checked and case-normalised (enum members in
their canonical spelling, see ``vocabulary``); fields the router does not know are not carried at all, so
nothing outside the allow-list can reach a client (T7.10).

The per-event values are ``NamedTuple``s rather than frozen dataclasses: just as immutable and typed, and
about twice as fast to build, which matters on the router's hot path (see tests/bench/test_router_bench.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from delivery.router.vocabulary import CallbackType, ErrorCode, EventType

MAX_ERROR_MESSAGE_CHARS = 8192


@dataclass(frozen=True, slots=True)
class EventIssue:
    """One problem in an inbound event: ``path`` from the event root (``data.channels[0].type``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event that can never be routed. Goes to the inbound DLQ once, with ``code`` and ``message``."""

    code: ErrorCode
    issues: tuple[EventIssue, ...]
    event_id: str | None = None  # correlation id, when the event had a usable ``id``
    client_id: str | None = None  # when ``data.clientId`` was readable (for per-client metrics)

    @property
    def message(self) -> str:
        """Every issue, ``path: message``, joined by ``; `` (bounded for the SQS attribute)."""
        text = "; ".join(str(issue) for issue in self.issues)
        return text if len(text) <= MAX_ERROR_MESSAGE_CHARS else text[: MAX_ERROR_MESSAGE_CHARS - 1] + "…"


class RoutingPlan(NamedTuple):
    """Passed through verbatim (types checked only); an absent key stays absent."""

    id: str | None
    name: str | None
    version: str | None
    created_date: str | None


class Channel(NamedTuple):
    type: str  # canonical, e.g. NHSAPP
    channel_status: str  # canonical, e.g. DELIVERED


class MessageStatusEvent(NamedTuple):
    event_id: str
    client_id: str
    message_id: str
    timestamp: str
    message_status: str  # canonical upper case
    channels: tuple[Channel, ...]
    message_reference: str | None = None
    routing_plan: RoutingPlan | None = None
    message_status_description: str | None = None
    message_failure_reason_code: str | None = None
    previous_message_status: str | None = None

    @property
    def event_type(self) -> EventType:
        return EventType.MESSAGE_STATUS

    @property
    def callback_type(self) -> CallbackType:
        return CallbackType.MESSAGE_STATUS


class ChannelStatusEvent(NamedTuple):
    event_id: str
    client_id: str
    message_id: str
    timestamp: str
    channel: str  # canonical upper case
    channel_status: str  # canonical upper case
    supplier_status: str  # canonical lower case
    message_reference: str | None = None
    cascade_type: str | None = None  # primary | secondary
    cascade_order: int | None = None
    retry_count: int | None = None
    channel_status_description: str | None = None
    channel_failure_reason_code: str | None = None
    previous_channel_status: str | None = None
    previous_supplier_status: str | None = None

    @property
    def event_type(self) -> EventType:
        return EventType.CHANNEL_STATUS

    @property
    def callback_type(self) -> CallbackType:
        return CallbackType.CHANNEL_STATUS


StatusEvent = MessageStatusEvent | ChannelStatusEvent
