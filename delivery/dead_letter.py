"""DLQ message attributes (SPEC P10), built by one pure function.

Every dead-lettered message carries ``ERROR_CODE``, ``ERROR_MESSAGE`` (<= 1024 characters), ``STATUS_CODE``
(only when there was an HTTP response), ``CLIENT_ID``, ``TARGET_ID``, ``RETRY_ATTEMPTS`` (the receive count)
and ``FIRST_RECEIVED_AT`` (ISO-8601). The body stays the original message body, verbatim. ``ERROR_MESSAGE``
goes through ``delivery.observe.scrub`` with the secrets the caller holds: a receiver echoing the API key
back does not get it into the DLQ.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

from delivery.models import Disposition, Outcome, ReceivedMessage
from delivery.queue.sqs_limits import MAX_MESSAGE_BYTES, message_bytes, sqs_text, utf8_bytes

__all__ = [
    "dead_letter_attributes",
    "fit_dead_letter",
    "offloaded",
    "sqs_text",
    "too_large",
    "with_dead_letter_attributes",
]
from delivery.observe.scrub import scrub

MAX_ERROR_MESSAGE_CHARS = 1024
UNKNOWN_TARGET = "unknown"
TRIMMED_MARK = "…[trimmed]"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
Attributes = tuple[tuple[str, str], ...]


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


def _trim_utf8(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[: max(0, max_bytes)].decode("utf-8", errors="ignore")


def _trim_error_message(body: str, attributes: Attributes, limit: int) -> Attributes:
    """``ERROR_MESSAGE`` cut (and marked) so that body + attributes fit ``limit``, when cutting it can."""
    excess = message_bytes(body, attributes) - limit
    doc = dict(attributes)
    message = doc.get("ERROR_MESSAGE", "")
    if excess <= 0 or excess > utf8_bytes(message):
        return attributes if excess <= 0 else tuple(sorted({**doc, "ERROR_MESSAGE": ""}.items()))
    room = utf8_bytes(message) - excess - utf8_bytes(TRIMMED_MARK)
    doc["ERROR_MESSAGE"] = _trim_utf8(message, room) + TRIMMED_MARK if room > 0 else ""
    return tuple(sorted(doc.items()))


def _too_large(body: str, attributes: Attributes, limit: int) -> tuple[str, Attributes]:
    """The body alone leaves no room for the attributes: keep the attributes (code PAYLOAD_TOO_LARGE, the
    original code in ORIGINAL_ERROR_CODE), keep as much of the body as fits, and say what was cut."""
    doc = dict(attributes)
    extra = {
        "ERROR_CODE": PAYLOAD_TOO_LARGE,
        "ORIGINAL_ERROR_CODE": doc.get("ERROR_CODE", ""),
        "ERROR_MESSAGE": f"body of {utf8_bytes(body)} bytes leaves no room for the DLQ attributes; "
        "BODY_SHA256 is the whole body's digest, the body kept is its start",
        "BODY_BYTES": str(utf8_bytes(body)),
        "BODY_SHA256": hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest(),
    }
    fitted = tuple(sorted({**doc, **extra}.items()))
    room = limit - message_bytes("", fitted)
    return _trim_utf8(body, room), fitted


def too_large(body: str, attributes: Attributes, limit: int = MAX_MESSAGE_BYTES) -> bool:
    """Even with ``ERROR_MESSAGE`` trimmed away, body and attributes exceed ``limit``."""
    rest = tuple((k, v) for k, v in attributes if k != "ERROR_MESSAGE")
    return message_bytes(body, rest) + len("ERROR_MESSAGE") + len("String") > limit


def offloaded(body: str, attributes: Attributes, location: str) -> tuple[str, Attributes]:
    """The dead letter of a body stored elsewhere: a small JSON pointer as the body, ``PAYLOAD_TOO_LARGE``
    with the original code kept, and ``BODY_LOCATION`` / ``BODY_BYTES`` / ``BODY_SHA256``."""
    doc = dict(attributes)
    size, digest = utf8_bytes(body), hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
    extra = {
        "ERROR_CODE": PAYLOAD_TOO_LARGE,
        "ORIGINAL_ERROR_CODE": doc.get("ERROR_CODE", ""),
        "BODY_LOCATION": location,
        "BODY_BYTES": str(size),
        "BODY_SHA256": digest,
    }
    pointer = json.dumps({"payloadTooLarge": {"location": location, "bytes": size, "sha256": digest}})
    return pointer, tuple(sorted({**doc, **extra}.items()))


def fit_dead_letter(
    body: str, attributes: Attributes, limit: int = MAX_MESSAGE_BYTES
) -> tuple[str, Attributes]:
    """A dead letter that SQS accepts (``limit`` bytes with its attributes), attributes always kept.

    1. it fits: unchanged;  2. trimming ``ERROR_MESSAGE`` makes it fit: trimmed (marked ``…[trimmed]``);
    3. the body alone is too large: ``PAYLOAD_TOO_LARGE`` (see ``_too_large``)."""
    trimmed = _trim_error_message(body, attributes, limit)
    if message_bytes(body, trimmed) <= limit:
        return body, trimmed
    return _too_large(body, attributes, limit)
