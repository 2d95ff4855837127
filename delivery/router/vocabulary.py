"""The router's fixed vocabulary: event types, status enums, DLQ error codes, metric names.

Enum values are the canonical spellings used by client configs (SPEC A.2): message statuses, channel types
and channel statuses are upper case, supplier statuses lower case. Inbound values are normalised to these
once, during validation (the sets come from ``delivery.config.client``), so matching compares canonical
values only (SPEC-ROUTER T7.9).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from delivery.config import client as client_config


class EventType(StrEnum):
    MESSAGE_STATUS = "uk.nhs.notify.message.status.PUBLISHED.v1"
    CHANNEL_STATUS = "uk.nhs.notify.channel.status.PUBLISHED.v1"


class CallbackType(StrEnum):
    MESSAGE_STATUS = "MessageStatus"
    CHANNEL_STATUS = "ChannelStatus"


CALLBACK_TYPE_OF: Final = {
    EventType.MESSAGE_STATUS.value: CallbackType.MESSAGE_STATUS,
    EventType.CHANNEL_STATUS.value: CallbackType.CHANNEL_STATUS,
}

MESSAGE_STATUSES: Final = frozenset(client_config.MESSAGE_STATUSES)
CHANNEL_TYPES: Final = frozenset(client_config.CHANNEL_TYPES)
CHANNEL_STATUSES: Final = frozenset(client_config.CHANNEL_STATUSES)
SUPPLIER_STATUSES: Final = frozenset(client_config.SUPPLIER_STATUSES)
CASCADE_TYPES: Final = frozenset({"primary", "secondary"})

SPEC_VERSION: Final = "1.0"
DATA_CONTENT_TYPE: Final = "application/json"


class ErrorCode(StrEnum):
    """``ERROR_CODE`` attribute of a message the router sends to the inbound DLQ."""

    INVALID_EVENT = "INVALID_EVENT"  # not JSON, not an object, or fields missing/malformed
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"  # a well-formed ``type`` the router does not handle
    CLIENT_CONFIG_INVALID = "CLIENT_CONFIG_INVALID"  # the client's stored config does not validate
    ENVELOPE_TOO_LARGE = "ENVELOPE_TOO_LARGE"  # an envelope would exceed MAX_ENVELOPE_BYTES (sqs_limits)


class Metric(StrEnum):
    """EMF metric names; each has exactly one meaning (T7.13). Per client via the ``ClientId`` dimension."""

    RECEIVED = "RouterEventsReceived"  # every inbound record, valid or not
    INVALID = "RouterEventsInvalid"  # dead-lettered as INVALID_EVENT / UNSUPPORTED_TYPE
    FILTERED_OUT = "RouterEventsFilteredOut"  # valid, but no subscription matched (or no config)
    MATCHED = "RouterEventsMatched"  # valid and at least one target matched
    ENVELOPES_SENT = "RouterEnvelopesSent"  # envelopes accepted by a delivery queue
    RETRIED = "RouterEventsRetried"  # left on the inbound queue to try again (config/queue unavailable)
    CONFIG_INVALID = "RouterClientConfigInvalid"  # events dead-lettered because their client config is bad


DEFAULT_MESSAGE_ROOT_URI: Final = "/v1/message-batches"
