"""Exception -> TransportFailure mapping (table-driven; exceptions built the way aiohttp/ssl raise them)."""

from __future__ import annotations

import errno
import socket
import ssl

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from delivery.transport.pinning import SpkiPinMismatch, pin_matches, pinning_message
from delivery.transport.tls_errors import PERMANENT_CODES, Phase, failure_from_exception

KEY = ConnectionKey("webhook.example", 443, True, True, None, None, None)
FRESH = Phase(new_connection=True, response_started=False, connect_timeout_s=2, timeout_s=30)
REUSED = Phase(new_connection=False, response_started=False, connect_timeout_s=2, timeout_s=30)


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    err.verify_code = code
    err.verify_message = message
    return err


def _alert(reason: str) -> ssl.SSLError:
    err = ssl.SSLError(1, f"[SSL: {reason}] alert")
    err.reason = reason
    return err


@pytest.mark.parametrize(
    ("verify_code", "code", "permanent"),
    [
        (10, "CERT_HAS_EXPIRED", True),
        (9, "CERT_NOT_YET_VALID", False),
        (18, "DEPTH_ZERO_SELF_SIGNED_CERT", True),
        (19, "SELF_SIGNED_CERT_IN_CHAIN", True),
        (20, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", True),
        (21, "UNABLE_TO_VERIFY_LEAF_SIGNATURE", True),
        (62, "ERR_TLS_CERT_ALTNAME_INVALID", True),
        (64, "ERR_TLS_CERT_ALTNAME_INVALID", True),
        (23, "CERT_REVOKED", False),
        (999, "UNABLE_TO_VERIFY_CERT", False),
    ],
)
def test_verification_codes(verify_code: int, code: str, permanent: bool) -> None:
    exc = aiohttp.ClientConnectorCertificateError(KEY, _verify_error(verify_code, "detail"))
    failure = failure_from_exception(exc, FRESH, 1.0)
    assert (failure.code, failure.permanent, failure.elapsed_ms) == (code, permanent, 1.0)
    assert "detail" in failure.message


@pytest.mark.parametrize(
    ("exc", "phase", "code"),
    [
        (
            aiohttp.ClientConnectorSSLError(KEY, _alert("TLSV13_ALERT_CERTIFICATE_REQUIRED")),
            FRESH,
            "ECLIENTCERT_REJECTED",
        ),
        (
            aiohttp.ClientConnectorSSLError(KEY, _alert("SSLV3_ALERT_BAD_CERTIFICATE")),
            FRESH,
            "ECLIENTCERT_REJECTED",
        ),
        (
            aiohttp.ClientConnectorSSLError(KEY, _alert("TLSV1_ALERT_PROTOCOL_VERSION")),
            FRESH,
            "EPROTO_HANDSHAKE",
        ),
        (_alert("TLSV13_ALERT_CERTIFICATE_REQUIRED"), FRESH, "ECLIENTCERT_REJECTED"),
        (aiohttp.ServerDisconnectedError(), FRESH, "ECLIENTCERT_REJECTED"),
        (aiohttp.ClientOSError(errno.ECONNRESET, "Connection reset by peer"), FRESH, "ECLIENTCERT_REJECTED"),
        (aiohttp.ServerDisconnectedError(), REUSED, "ECONNRESET"),
        (aiohttp.ClientOSError(errno.ECONNRESET, "Connection reset by peer"), REUSED, "ECONNRESET"),
        (
            aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(errno.ECONNREFUSED, "refused")),
            FRESH,
            "ECONNREFUSED",
        ),
        (aiohttp.ClientConnectorError(KEY, OSError(errno.EHOSTUNREACH, "no route")), FRESH, "EHOSTUNREACH"),
        (
            aiohttp.ClientConnectorDNSError(KEY, socket.gaierror(-2, "Name or service not known")),
            FRESH,
            "ENOTFOUND",
        ),
        (aiohttp.ConnectionTimeoutError("x"), FRESH, "ETIMEDOUT"),
        (TimeoutError(), REUSED, "ETIMEDOUT"),
        (aiohttp.ClientResponseError(None, (), message="bad status line"), REUSED, "EPROTO"),  # type: ignore[arg-type]
        (aiohttp.InvalidURL("nope"), FRESH, "EINVALIDURL"),
    ],
)
def test_connection_problems(exc: BaseException, phase: Phase, code: str) -> None:
    failure = failure_from_exception(exc, phase, 0.0)
    assert failure.code == code
    assert failure.permanent == (code in PERMANENT_CODES)
    assert failure.message


def test_pinning_failure_message_and_code() -> None:
    exc = SpkiPinMismatch(("AAA=",), "BBB=")
    failure = failure_from_exception(exc, FRESH, 0.0)
    assert (failure.code, failure.permanent) == ("ERR_CERT_PINNING_FAILED", True)
    assert failure.message == "Certificate pinning failed: expected SPKI hash 'AAA=', got 'BBB='"
    assert (
        pinning_message(("A=", "B="), "C=")
        == "Certificate pinning failed: expected SPKI hash 'A=' or 'B=', got 'C='"
    )


@pytest.mark.parametrize(
    ("actual", "pins", "ok"),
    [
        ("A=", ("A=",), True),
        ("A=", ("X=", "A="), True),
        ("A=", (" A= ",), True),
        ("A=", ("B=",), False),
        ("A=", (), False),
        ("A=", ("a=",), False),
    ],
)
def test_pin_matches(actual: str, pins: tuple[str, ...], ok: bool) -> None:
    assert pin_matches(actual, pins) is ok
