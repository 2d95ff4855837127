"""Classification (SPEC D + P4) and Retry-After parsing (E.3 + P5), table-driven plus invariants."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.classify import PERMANENT_TLS_ERROR_CODES, classify, error_message, parse_retry_after
from delivery.models import Classification, HttpResult, ResultKind, TransportFailure

NOW_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z
P, T, S, R = ResultKind.PERMANENT, ResultKind.TRANSIENT, ResultKind.SUCCESS, ResultKind.RATE_LIMITED


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (200, S, None),
        (204, S, None),
        (299, S, None),
        (100, T, "HTTP_UNEXPECTED_STATUS"),
        (0, T, "HTTP_UNEXPECTED_STATUS"),
        (301, P, "HTTP_REDIRECT"),
        (302, P, "HTTP_REDIRECT"),
        (308, P, "HTTP_REDIRECT"),
        (400, P, "HTTP_CLIENT_ERROR"),
        (401, P, "HTTP_CLIENT_ERROR"),
        (404, P, "HTTP_CLIENT_ERROR"),
        (408, T, "HTTP_REQUEST_TIMEOUT"),
        (429, R, "HTTP_RATE_LIMITED"),
        (499, P, "HTTP_CLIENT_ERROR"),
        (500, T, "HTTP_SERVER_ERROR"),
        (503, T, "HTTP_SERVER_ERROR"),
        (599, T, "HTTP_SERVER_ERROR"),
        (600, T, "HTTP_UNEXPECTED_STATUS"),
    ],
)
def test_http_status_table(status: int, kind: ResultKind, code: str | None) -> None:
    result = classify(HttpResult(status=status), NOW_S)
    assert (result.kind, result.error_code, result.status_code) == (kind, code, status)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"message":"Forced status 400"}', "Forced status 400"),
        ('{"message": 5, "x": 1}', '{"message": 5, "x": 1}'),
        ('{"error":"bad"}', '{"error":"bad"}'),
        ("plain text", "plain text"),
        ("", ""),
        ("[1]", "[1]"),
        ("x" * 3000, "x" * 1024),
        (json.dumps({"message": "m" * 2000}), "m" * 1024),
    ],
)
def test_error_message_is_message_field_else_raw_body_truncated(body: str, message: str) -> None:
    assert error_message(body) == message
    assert classify(HttpResult(status=400, body_excerpt=body), NOW_S).message == message


def test_429_carries_parsed_retry_after() -> None:
    result = classify(HttpResult(status=429, retry_after="120"), NOW_S)
    assert result == Classification(R, "HTTP_RATE_LIMITED", 429, "", retry_after_s=120.0)
    assert classify(HttpResult(status=429), NOW_S).retry_after_s is None


HTTP_DATE_IN_90S = format_datetime(datetime.fromtimestamp(NOW_S + 90, UTC), usegmt=True)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("-5", 0.0),
        ("12.9", 12.0),
        (" 30 ", 30.0),
        ("1e3", 1000.0),
        ("0", 0.0),
        (HTTP_DATE_IN_90S, 90.0),
        ("Thu, 01 Jan 2026 00:01:30 GMT", 90.0),
        ("Wed, 31 Dec 2025 23:00:00 GMT", 0.0),  # in the past
        (None, None),
        ("", None),
        ("   ", None),
        ("soon", None),
        ("1e999", None),
        ("Thu, 01 Jan 2026 00:01:30", None),  # no zone: not an HTTP-date
        ("0x10", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW_S) == seconds


@pytest.mark.parametrize("code", sorted(PERMANENT_TLS_ERROR_CODES))
def test_reference_tls_codes_are_permanent(code: str) -> None:
    result = classify(TransportFailure(code=code, message="tls says no", permanent=False), NOW_S)
    assert (result.kind, result.error_code, result.status_code, result.message) == (
        P,
        code,
        None,
        "tls says no",
    )


@pytest.mark.parametrize(
    "code",
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EPROTO_HANDSHAKE", "ECLIENTCERT_REJECTED"],
)
def test_network_failures_are_transient_with_precise_code(code: str) -> None:
    result = classify(TransportFailure(code=code, message="m" * 2000, permanent=False), NOW_S)
    assert (result.kind, result.error_code) == (T, code)
    assert len(result.message) == 1024


def test_transport_permanent_flag_is_respected() -> None:
    result = classify(TransportFailure(code="CERT_NOT_YET_VALID", message="", permanent=True), NOW_S)
    assert result.kind is P


@given(st.integers(min_value=-1000, max_value=2000), st.text(max_size=50), st.none() | st.text(max_size=40))
def test_classification_invariants(status: int, body: str, retry_after: str | None) -> None:
    result = classify(HttpResult(status=status, body_excerpt=body, retry_after=retry_after), NOW_S)
    assert result.status_code == status
    assert (result.kind is S) == (200 <= status <= 299)
    assert (result.kind is R) == (status == 429)
    assert len(result.message) <= 1024
    if result.kind is not S:
        assert result.error_code
    if result.retry_after_s is not None:
        assert result.retry_after_s >= 0
        assert result.retry_after_s == int(result.retry_after_s)
