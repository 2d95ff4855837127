"""Frozen values that carry one message through the pipeline (the contract between the stages).

    ReceivedMessage (sqs.py) -> Envelope (envelope.py) -> OutgoingRequest (signed) -> AdmitDecision (gate.py)
      -> HttpResult | TransportFailure (transport.py) -> Classification (classify.py) -> Outcome -> settled

Pure: no aiohttp, boto3 or redis imports here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One SQS message as the engine sees it (from SQS, from a Lambda event, or from the in-memory queue)."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int  # ApproximateReceiveCount (>= 1)
    first_receive_ms: int  # ApproximateFirstReceiveTimestamp
    sent_ms: int  # SentTimestamp
    attributes: tuple[tuple[str, str], ...] = ()  # string message attributes, sorted by name


@dataclass(frozen=True, slots=True)
class TlsIdentity:
    """Which client certificate (if any) and trust to use; one SSL context and one pool per identity."""

    name: str  # e.g. "default" or the material source's description; never contains secrets
    present_client_cert: bool


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """A signed request, ready to send: the exact body bytes that were signed."""

    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    target_id: str
    mtls: bool = False
    spki_pins: tuple[str, ...] = ()  # base64 SHA-256 SPKI; empty = no pinning
    timeout_s: float = 30.0  # total deadline for one attempt
    connect_timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class HttpResult:
    """The webhook answered (any status)."""

    status: int
    retry_after: str | None = None  # raw Retry-After header value
    body_excerpt: str = ""  # bounded (<= 4 KiB) UTF-8 text of the body, read only when useful
    elapsed_ms: float = 0.0
    new_connection: bool = False


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """No usable HTTP response: TLS verification, pinning, connect, reset, timeout, DNS, ...

    ``code`` is a reference error code (e.g. ``CERT_HAS_EXPIRED``, ``ERR_CERT_PINNING_FAILED``) or a precise
    transient code (``ECONNREFUSED``, ``ECONNRESET``, ``ETIMEDOUT``, ``ENOTFOUND``, ``EPROTO_HANDSHAKE``,
    ``ECLIENTCERT_REJECTED``...). ``permanent`` says whether retrying can help.
    """

    code: str
    message: str
    permanent: bool
    elapsed_ms: float = 0.0


class ResultKind(StrEnum):
    SUCCESS = "success"
    PERMANENT = "permanent_failure"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient_failure"


@dataclass(frozen=True, slots=True)
class Classification:
    kind: ResultKind
    error_code: str | None = None  # HTTP_CLIENT_ERROR, HTTP_REDIRECT, TLS codes, transient codes
    status_code: int | None = None
    message: str = ""  # body `message` field or raw body, or the transport error message (<= 1024 chars)
    retry_after_s: float | None = None  # parsed Retry-After (429 only)


class Disposition(StrEnum):
    ACK = "ack"  # delivered: delete
    RETRY = "retry"  # a real attempt failed: change visibility to delay_s
    DEFER = "defer"  # the gate said no: change visibility, no attempt used
    DEAD_LETTER = "dead_letter"  # send to DLQ with attributes, then delete


@dataclass(frozen=True, slots=True)
class Outcome:
    disposition: Disposition
    reason: str  # metric/log reason, e.g. "delivered", "HTTP_CLIENT_ERROR", "RETRY_WINDOW_EXHAUSTED"
    delay_s: int | None = None  # for RETRY/DEFER, already clamped to what SQS allows
    error_code: str | None = None  # DLQ ERROR_CODE
    error_message: str | None = None  # DLQ ERROR_MESSAGE (<= 1024 chars)
    status_code: int | None = None
    dlq_attributes: tuple[tuple[str, str], ...] = field(default=())


class BreakerState(StrEnum):
    CLOSED = "closed"
    CLOSED_RECOVERY = "closed_recovery"
    HALF_OPEN = "half_open"
    OPEN = "open"


@dataclass(frozen=True, slots=True)
class AdmitDecision:
    consumed: int  # records admitted from the front of the batch
    reason: str  # "some_allowed" | "rate_limited" | "circuit_open"
    retry_after_ms: float  # when more tokens exist / the cooldown ends
    effective_rate: float  # tokens per second in force

    @property
    def allowed(self) -> bool:
        return self.consumed > 0


@dataclass(frozen=True, slots=True)
class RecordResult:
    state: BreakerState
    changed: bool
