"""One recorded request: its shape, credential masking and the kept body (built on the hot path, so a tuple).

Credential-looking headers (any name with ``key``, ``token``, ``secret``, ``auth``, ``passw``,
``credential``, ``cookie`` or ``session`` in it, and the path's API-key header) are masked when the record
is shown; the raw bytes are kept so nothing is parsed or masked per request.
"""

from __future__ import annotations

import hashlib
import struct
from itertools import chain
from typing import NamedTuple

from mock_webhook.clientcert import TlsVerdict
from mock_webhook.reference import inspect_body
from mock_webhook.verify import SignatureVerdict

ALWAYS_MASKED = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})
CREDENTIAL_WORDS = ("key", "token", "secret", "auth", "passw", "credential", "cookie", "session")
_RECORD_OVERHEAD_BYTES = 512  # the fixed part of a record (tuple, verdicts, numbers), roughly


def credential_like(name: str) -> bool:
    """A header name that may carry a credential (lower-case ``name``)."""
    return name in ALWAYS_MASKED or any(word in name for word in CREDENTIAL_WORDS)


def kept_body(body: bytes, cap_bytes: int) -> tuple[bytes, int, str | None]:
    """(what the journal keeps, full length, SHA-256 hex when truncated else None)."""
    if len(body) <= cap_bytes:
        return body, len(body), None
    return body[:cap_bytes], len(body), hashlib.sha256(body).hexdigest()


def normalise_path(path: str) -> str:
    return path if path.startswith("/") or path == "*" else "/" + path


def mask(value: str) -> str:
    """A secret header value replaced by a short fingerprint (comparable in tests, never revealing)."""
    return "***sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def pack_headers(raw: tuple[tuple[bytes, bytes], ...]) -> bytes:
    """Raw headers as one bytes object: a journal of 10,000 records then keeps one object per record's
    headers instead of a tuple of tuples (dozens of small objects each, freed cold when evicted). CR and
    LF cannot occur in a parsed header name or value, so CRLF separates them unambiguously."""
    return b"\r\n".join(chain.from_iterable(raw))


def unpack_headers(packed: bytes) -> tuple[tuple[bytes, bytes], ...]:
    if not packed:
        return ()
    parts = packed.split(b"\r\n")
    return tuple(zip(parts[::2], parts[1::2], strict=True))


_NUMBERS = struct.Struct("<qddQ")  # seq, received_at_ms, latency_ms, len(raw_head): starts ``packed``
_START = _NUMBERS.size
_tuple_new = tuple.__new__


class RecordedRequest(NamedTuple):
    """One recorded request (immutable; a NamedTuple because it is built on the hot path).

    A journal of 10,000 records costs per object it keeps, so a record keeps few: its numbers, headers
    and body in one bytes object (``packed``), and the body's identifiers only when they cannot be read
    off the kept body again (``ids`` None: ``inspect_body`` of the kept body gives them, as it did when
    the request arrived). Build one with :func:`new_record`."""

    packed: bytes  # _NUMBERS, the packed headers (see ``pack_headers``), the kept body
    path: str
    method: str
    ids: tuple[str | None, str | None] | None  # (message_id, correlation_id); None: read off the body
    callback_type: str | None
    connection_id: int
    tls: TlsVerdict
    api_key_valid: bool | None
    signature: SignatureVerdict
    response_status: int | None
    response_body: bytes | None
    fault: str | None = None
    masked_header: str = "x-api-key"
    body_length: int = -1  # the full body length when it was truncated (-1: body_bytes is the whole body)
    body_sha256: str | None = None  # SHA-256 of the full body when it was truncated
    fault_detail: str | None = None  # the fault step in words

    @property
    def seq(self) -> int:
        return int(_NUMBERS.unpack_from(self.packed)[0])

    @property
    def received_at_ms(self) -> float:
        return float(_NUMBERS.unpack_from(self.packed)[1])

    @property
    def latency_ms(self) -> float:
        return float(_NUMBERS.unpack_from(self.packed)[2])

    @property
    def raw_head(self) -> bytes:
        """The header names and values, CRLF-separated (see ``pack_headers``)."""
        return self.packed[_START : _START + _NUMBERS.unpack_from(self.packed)[3]]

    @property
    def body_bytes(self) -> bytes:
        return self.packed[_START + _NUMBERS.unpack_from(self.packed)[3] :]

    @property
    def message_id(self) -> str | None:
        return self._ids()[0]

    @property
    def correlation_id(self) -> str | None:
        return self._ids()[1]

    def _ids(self) -> tuple[str | None, str | None]:
        if self.ids is not None:
            return self.ids
        facts = inspect_body(self.body_bytes)
        return facts.message_id, facts.correlation_id

    @property
    def raw_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        return unpack_headers(self.raw_head)

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; API keys and anything credential-looking masked."""
        out: dict[str, str] = {}
        for raw_name, raw_value in self.raw_headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            masked = name == self.masked_header or credential_like(name)
            out[name] = mask(value) if masked else value
        return out

    @property
    def size_bytes(self) -> int:
        """What the record holds in memory, roughly: bodies, headers and a fixed overhead."""
        response = len(self.response_body) if self.response_body else 0
        return len(self.packed) - _START + response + _RECORD_OVERHEAD_BYTES

    @property
    def kind(self) -> str:
        return "request"

    @property
    def body(self) -> str:
        return self.body_bytes.decode("utf-8", "replace")

    def to_json(self) -> dict[str, object]:
        """The journal record shape of CONTRACTS.md."""
        body_bytes = self.body_bytes
        return {
            "kind": "request",
            "seq": self.seq,
            "receivedAtMs": self.received_at_ms,
            "path": self.path,
            "method": self.method,
            "headers": self.headers,
            "body": self.body,
            "bodyBytes": len(body_bytes) if self.body_length < 0 else self.body_length,
            "bodyTruncated": None
            if self.body_sha256 is None
            else {"keptBytes": len(body_bytes), "sha256": self.body_sha256},
            "messageId": self.message_id,
            "correlationId": self.correlation_id,
            "callbackType": self.callback_type,
            "connectionId": self.connection_id,
            "tls": self.tls.to_json(),
            "apiKeyValid": self.api_key_valid,
            "signature": self.signature.to_json(),
            "response": {
                "status": self.response_status,
                "body": None if self.response_body is None else self.response_body.decode("utf-8", "replace"),
            },
            "latencyMs": self.latency_ms,
            "fault": self.fault,
            "faultDetail": self.fault_detail,
        }


def new_record(
    seq: int,
    received_at_ms: float,
    path: str,
    method: str,
    raw_head: bytes,
    body_bytes: bytes,
    ids: tuple[str | None, str | None] | None,
    callback_type: str | None,
    connection_id: int,
    tls: TlsVerdict,
    api_key_valid: bool | None,
    signature: SignatureVerdict,
    response_status: int | None,
    response_body: bytes | None,
    latency_ms: float,
    fault: str | None = None,
    masked_header: str = "x-api-key",
    body_length: int = -1,
    body_sha256: str | None = None,
    fault_detail: str | None = None,
) -> RecordedRequest:
    """A record (``raw_head`` from ``pack_headers``; ``ids`` None when ``inspect_body(body_bytes)`` gives
    them, else (message_id, correlation_id))."""
    numbers = _NUMBERS.pack(seq, received_at_ms, latency_ms, len(raw_head))
    packed = b"".join((numbers, raw_head, body_bytes))
    return _tuple_new(  # without the NamedTuple's Python-level __new__
        RecordedRequest,
        (
            packed,
            path,
            method,
            ids,
            callback_type,
            connection_id,
            tls,
            api_key_valid,
            signature,
            response_status,
            response_body,
            fault,
            masked_header,
            body_length,
            body_sha256,
            fault_detail,
        ),
    )
