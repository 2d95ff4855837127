"""Delivery result classification (SPEC D as changed by P4) and Retry-After parsing (E.3/P5). Pure.

2xx -> success; 429 -> rate_limited (+ Retry-After); 408, 5xx -> transient; 3xx -> permanent HTTP_REDIRECT;
other 4xx -> permanent HTTP_CLIENT_ERROR; anything else -> transient. Transport failures keep their precise
code; the reference TLS codes (and an unknown issuer) are permanent, the rest transient.
"""

from __future__ import annotations

import json
import math
import re
from email.utils import parsedate_to_datetime

from delivery.models import Classification, HttpResult, ResultKind, TransportFailure

MAX_ERROR_MESSAGE_CHARS = 1024
PERMANENT_TLS_ERROR_CODES = frozenset(
    {
        "CERT_HAS_EXPIRED",
        "DEPTH_ZERO_SELF_SIGNED_CERT",
        "ERR_CERT_PINNING_FAILED",
        "ERR_TLS_CERT_ALTNAME_INVALID",
        "SELF_SIGNED_CERT_IN_CHAIN",
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    }
)
_DELAY_SECONDS = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    """Retry-After as whole seconds from ``now_s`` (>= 0), or None when absent or unparsable.

    Accepts delay-seconds (``"120"``, ``" 30 "``, ``"12.9"`` -> 12, ``"-5"`` -> 0, ``"1e3"`` -> 1000) and an
    HTTP-date (``"Wed, 21 Oct 2026 07:28:00 GMT"``), as the reference does.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        seconds = float(text)
        return float(max(0, math.floor(seconds))) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return float(max(0, math.floor(when.timestamp() - now_s)))


def error_message(body: str) -> str:
    """The body's top-level JSON ``message`` field if it has one, else the raw body; <= 1024 chars."""
    message = body
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        message = parsed["message"]
    return message[:MAX_ERROR_MESSAGE_CHARS]


_SUCCESSES = {status: Classification(ResultKind.SUCCESS, status_code=status) for status in range(200, 300)}


def _classify_http(result: HttpResult, now_s: float) -> Classification:
    status = result.status
    if 200 <= status <= 299:
        return _SUCCESSES[status]  # frozen values: one per status, shared
    message = error_message(result.body_excerpt)
    if status == 429:
        retry_after_s = parse_retry_after(result.retry_after, now_s)
        return Classification(
            ResultKind.RATE_LIMITED, "HTTP_RATE_LIMITED", status, message, retry_after_s=retry_after_s
        )
    if 300 <= status <= 399:
        return Classification(ResultKind.PERMANENT, "HTTP_REDIRECT", status, message)
    if status == 408:
        return Classification(ResultKind.TRANSIENT, "HTTP_REQUEST_TIMEOUT", status, message)
    if 400 <= status <= 499:
        return Classification(ResultKind.PERMANENT, "HTTP_CLIENT_ERROR", status, message)
    if 500 <= status <= 599:
        return Classification(ResultKind.TRANSIENT, "HTTP_SERVER_ERROR", status, message)
    return Classification(ResultKind.TRANSIENT, "HTTP_UNEXPECTED_STATUS", status, message)


def classify(result: HttpResult | TransportFailure, now_s: float) -> Classification:
    """What one delivery attempt's result means (``now_s`` resolves HTTP-date Retry-After values)."""
    if isinstance(result, HttpResult):
        return _classify_http(result, now_s)
    permanent = result.permanent or result.code in PERMANENT_TLS_ERROR_CODES
    kind = ResultKind.PERMANENT if permanent else ResultKind.TRANSIENT
    return Classification(kind, result.code, None, result.message[:MAX_ERROR_MESSAGE_CHARS])


__all__ = [
    "MAX_ERROR_MESSAGE_CHARS",
    "PERMANENT_TLS_ERROR_CODES",
    "classify",
    "error_message",
    "parse_retry_after",
]
