"""DLQ message attributes (SPEC P10), built by one pure function.

Every dead-lettered message carries ``ERROR_CODE``, ``ERROR_MESSAGE`` (<= 1024 characters), ``STATUS_CODE``
(only when there was an HTTP response), ``CLIENT_ID``, ``TARGET_ID``, ``RETRY_ATTEMPTS`` (the receive count)
and ``FIRST_RECEIVED_AT`` (ISO-8601). The body stays the original message body, verbatim. ``ERROR_MESSAGE``
goes through ``delivery.observe.scrub`` with the secrets the caller holds: a receiver echoing the API key
back does not get it into the DLQ.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from delivery.models import Disposition, Outcome, ReceivedMessage
from delivery.observe.scrub import scrub

MAX_ERROR_MESSAGE_CHARS = 1024
UNKNOWN_TARGET = "unknown"
# characters SQS refuses in attribute values (anything outside XML 1.0's Char production)
_NOT_SQS_TEXT = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def sqs_text(value: str) -> str:
    """``value`` with every character SQS would reject replaced by U+FFFD."""
    return _NOT_SQS_TEXT.sub("\ufffd", value)


def iso_ms(epoch_ms: int) -> str:
    return (
        datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def dead_letter_attributes(
    outcome: Outcome,
    message: ReceivedMessage,
    *,
    client_id: str,
    target_id: str | None,
    secrets: frozenset[str] = frozenset(),
) -> tuple[tuple[str, str], ...]:
    code = outcome.error_code or outcome.reason
    error_message = scrub(outcome.error_message or code, secrets)
    attributes = {
        "ERROR_CODE": code,
        "ERROR_MESSAGE": sqs_text(error_message[:MAX_ERROR_MESSAGE_CHARS]),
        "CLIENT_ID": client_id,
        "TARGET_ID": target_id or UNKNOWN_TARGET,
        "RETRY_ATTEMPTS": str(message.receive_count),
        "FIRST_RECEIVED_AT": iso_ms(message.first_receive_ms or message.sent_ms),
    }
    if outcome.status_code is not None:
        attributes["STATUS_CODE"] = str(outcome.status_code)
    return tuple(sorted(attributes.items()))


def with_dead_letter_attributes(
    outcome: Outcome,
    message: ReceivedMessage,
    *,
    client_id: str,
    target_id: str | None,
    secrets: frozenset[str] = frozenset(),
) -> Outcome:
    """The outcome with its DLQ attributes filled in (unchanged unless it is DEAD_LETTER)."""
    if outcome.disposition is not Disposition.DEAD_LETTER:
        return outcome
    attributes = dead_letter_attributes(
        outcome, message, client_id=client_id, target_id=target_id, secrets=secrets
    )
    return replace(outcome, dlq_attributes=attributes)
