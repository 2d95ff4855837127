"""SQS's limits, stated once: every send path sizes, cuts and cleans its messages with these.

    MAX_BATCH_ENTRIES   10 entries a SendMessageBatch
    MAX_BATCH_BYTES     1 MiB a SendMessageBatch (the sum of its messages' sizes)
    MAX_MESSAGE_BYTES   256 KiB a message, its attributes included
    MAX_DELAY_S         900 s of DelaySeconds
    MAX_ENVELOPE_BYTES  ours: 256 KiB - DEAD_LETTER_RESERVE_BYTES, the largest envelope the router writes

A message's size is counted as SQS counts it: the body's UTF-8 bytes plus, for each message attribute, the
UTF-8 bytes of its name, its data type (``String``) and its value.

SQS accepts only XML 1.0 characters in bodies and attribute values
(``#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF``): lone surrogates, U+FFFE, U+FFFF and
other control characters make the whole request fail. ``sqs_text`` replaces them (free text such as
``ERROR_MESSAGE``); ``sqs_json`` escapes them as ``\\uXXXX`` (a JSON document, which then decodes to the same
value). Pure: no I/O library is imported here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = [
    "ATTRIBUTE_TYPE",
    "DEAD_LETTER_RESERVE_BYTES",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ENTRIES",
    "MAX_DELAY_S",
    "MAX_ENVELOPE_BYTES",
    "MAX_MESSAGE_BYTES",
    "attributes_bytes",
    "message_bytes",
    "sqs_json",
    "sqs_text",
    "utf8_bytes",
]

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1_048_576
MAX_MESSAGE_BYTES = 262_144
MAX_DELAY_S = 900
ATTRIBUTE_TYPE = "String"  # the only data type we send
# ours: room kept free in every envelope the router writes, so the worker can always dead-letter it with
# its DLQ attributes (about 400 bytes, ERROR_MESSAGE trimmed to fit) without cutting the body
DEAD_LETTER_RESERVE_BYTES = 2048
MAX_ENVELOPE_BYTES = MAX_MESSAGE_BYTES - DEAD_LETTER_RESERVE_BYTES

_NOT_SQS_TEXT = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def utf8_bytes(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (a lone surrogate counts its 3 bytes, as it would if it were sent)."""
    return len(text.encode("utf-8", "surrogatepass"))


def attributes_bytes(attributes: Mapping[str, str] | Iterable[tuple[str, str]]) -> int:
    pairs = attributes.items() if isinstance(attributes, Mapping) else attributes
    return sum(utf8_bytes(name) + len(ATTRIBUTE_TYPE) + utf8_bytes(value) for name, value in pairs)


def message_bytes(body: str, attributes: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> int:
    """The size SQS counts for a message: body plus every attribute's name, type and value."""
    return utf8_bytes(body) + attributes_bytes(attributes)


def sqs_text(value: str) -> str:
    """``value`` with every character SQS would refuse replaced by U+FFFD."""
    return _NOT_SQS_TEXT.sub("\ufffd", value)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def sqs_json(document: str) -> str:
    """A JSON text with every character SQS would refuse written as a ``\\uXXXX`` escape.

    Outside strings JSON has only ASCII, so the refused characters can only sit inside strings, where the
    escape is the same value: ``json.loads(sqs_json(s)) == json.loads(s)``."""
    if document.isascii() and document.isprintable():  # the common case, checked in C: nothing to escape
        return document
    return _NOT_SQS_TEXT.sub(_escape, document)
