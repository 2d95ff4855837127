"""Map aiohttp/ssl/OS exceptions to ``TransportFailure`` values with reference error codes (SPEC D, P4).

Permanent (retrying cannot help): ``ERR_CERT_PINNING_FAILED``, ``CERT_HAS_EXPIRED``,
``ERR_TLS_CERT_ALTNAME_INVALID``, ``DEPTH_ZERO_SELF_SIGNED_CERT``, ``SELF_SIGNED_CERT_IN_CHAIN``,
``UNABLE_TO_VERIFY_LEAF_SIGNATURE``, ``UNABLE_TO_GET_ISSUER_CERT_LOCALLY``, ``EINVALIDURL``,
``EGRESS_DENIED``.
Transient, with a precise code: ``ECONNREFUSED``, ``ECONNRESET``, ``ETIMEDOUT``, ``ENOTFOUND``,
``EPROTO_HANDSHAKE`` (TLS handshake failed, e.g. no common protocol), ``ECLIENTCERT_REJECTED`` (the server
refused our client certificate, or the missing one) and other verification codes such as
``CERT_NOT_YET_VALID``.

With TLS 1.3 the server checks the client certificate *after* the client considers the handshake done, so a
rejection arrives as a reset/disconnect (or a ``certificate required`` alert) on the first read of a brand-new
connection, before any response byte. :func:`failure_from_exception` is told whether the connection was new
and whether a response had started, and classifies that case as ``ECLIENTCERT_REJECTED`` on purpose.
"""

from __future__ import annotations

import errno
import socket
import ssl
from dataclasses import dataclass

import aiohttp

from delivery.models import TransportFailure
from delivery.transport.egress import EGRESS_DENIED
from delivery.transport.pinning import EgressDenied, SpkiPinMismatch
from delivery.transport.wire import WireProtocolError

# OpenSSL X509_V_ERR_* -> (Node-style code, permanent)
VERIFY_CODES: dict[int, tuple[str, bool]] = {
    2: ("UNABLE_TO_GET_ISSUER_CERT", False),
    9: ("CERT_NOT_YET_VALID", False),
    10: ("CERT_HAS_EXPIRED", True),
    18: ("DEPTH_ZERO_SELF_SIGNED_CERT", True),
    19: ("SELF_SIGNED_CERT_IN_CHAIN", True),
    20: ("UNABLE_TO_GET_ISSUER_CERT_LOCALLY", True),
    21: ("UNABLE_TO_VERIFY_LEAF_SIGNATURE", True),
    23: ("CERT_REVOKED", False),
    24: ("INVALID_CA", False),
    26: ("INVALID_PURPOSE", False),
    27: ("CERT_UNTRUSTED", False),
    28: ("CERT_REJECTED", False),
    62: ("ERR_TLS_CERT_ALTNAME_INVALID", True),  # hostname mismatch
    63: ("ERR_TLS_CERT_ALTNAME_INVALID", True),  # email mismatch
    64: ("ERR_TLS_CERT_ALTNAME_INVALID", True),  # IP address mismatch
}
PERMANENT_CODES = frozenset(
    {code for code, permanent in VERIFY_CODES.values() if permanent}
    | {"ERR_CERT_PINNING_FAILED", "EINVALIDURL", EGRESS_DENIED}
)
_CERT_ALERT_WORDS = ("CERTIFICATE", "UNKNOWN_CA", "ACCESS_DENIED")
CLIENT_CERT_HINT = (
    "the server closed the new TLS connection before answering; with TLS 1.3 this is how a server "
    "rejects a missing or untrusted client certificate"
)


@dataclass(frozen=True, slots=True)
class Phase:
    """Where the attempt was when it failed."""

    new_connection: bool  # a connection was opened for this attempt (not taken from the pool)
    response_started: bool  # status line and headers were received
    connect_timeout_s: float
    timeout_s: float


def failure(code: str, message: str, elapsed_ms: float) -> TransportFailure:
    return TransportFailure(code, message, code in PERMANENT_CODES, elapsed_ms)


def failure_from_exception(exc: BaseException, phase: Phase, elapsed_ms: float) -> TransportFailure:
    code, message = _connect_code(exc, phase) or _exchange_code(exc, phase)
    return failure(code, message, elapsed_ms)


def _connect_code(exc: BaseException, phase: Phase) -> tuple[str, str] | None:
    """Failures while opening a connection (DNS, TCP, TLS handshake and verification, pinning)."""
    if isinstance(exc, SpkiPinMismatch | EgressDenied):
        return exc.code, str(exc)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return verify_failure(exc.certificate_error)
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return ssl_alert_code(exc.os_error, during_handshake=True)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "ENOTFOUND", f"DNS lookup failed for {exc.host}: {exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _os_code(exc.os_error, f"cannot connect to {exc.host}:{exc.port}")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "ETIMEDOUT", f"connect timed out after {phase.connect_timeout_s:g}s"
    if isinstance(exc, aiohttp.InvalidURL):
        return "EINVALIDURL", f"invalid URL: {exc}"
    return None


def _exchange_code(exc: BaseException, phase: Phase) -> tuple[str, str]:
    """Failures after the connection was ready: writing the request, waiting for the response."""
    if isinstance(exc, TimeoutError):
        return "ETIMEDOUT", f"Request timed out (deadline {phase.timeout_s:g}s)"
    if isinstance(exc, ssl.SSLError):
        return ssl_alert_code(exc, during_handshake=False)
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLError):
        return ssl_alert_code(cause, during_handshake=False)
    if is_disconnect(exc):
        if phase.new_connection and not phase.response_started:
            return "ECLIENTCERT_REJECTED", f"{CLIENT_CERT_HINT} ({_describe(exc)})"
        return "ECONNRESET", f"connection closed by the server: {_describe(exc)}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "EPROTO", f"invalid HTTP response: {exc.message}"
    if isinstance(exc, WireProtocolError):
        return "EPROTO", f"invalid HTTP response: {exc}"
    if isinstance(exc, OSError) and exc.errno:
        return _os_code(exc, "request failed")
    return "ECLIENT", f"request failed: {_describe(exc)}"


def is_disconnect(exc: BaseException) -> bool:
    """The peer closed or reset the connection (aiohttp reports this several ways)."""
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | ConnectionResetError):
        return True
    return isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)


def verify_failure(error: BaseException) -> tuple[str, str]:
    code_num = getattr(error, "verify_code", None)
    detail = getattr(error, "verify_message", None) or str(error)
    code, _ = VERIFY_CODES.get(code_num or -1, ("UNABLE_TO_VERIFY_CERT", False))
    return code, f"certificate verification failed: {detail}"


def ssl_alert_code(error: BaseException, *, during_handshake: bool) -> tuple[str, str]:
    """A TLS alert or protocol error: client-certificate rejections get their own transient code."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return verify_failure(error)
    reason = str(getattr(error, "reason", None) or error)
    if any(word in reason.upper() for word in _CERT_ALERT_WORDS):
        return "ECLIENTCERT_REJECTED", f"the server rejected our client certificate (TLS alert {reason})"
    if during_handshake:
        return "EPROTO_HANDSHAKE", f"TLS handshake failed: {reason}"
    return "EPROTO", f"TLS error: {reason}"


def _os_code(error: OSError | None, context: str) -> tuple[str, str]:
    if isinstance(error, socket.gaierror):
        return "ENOTFOUND", f"{context}: DNS lookup failed ({error})"
    if isinstance(error, TimeoutError):
        return "ETIMEDOUT", f"{context}: timed out"
    number = error.errno if error is not None else None
    name = errno.errorcode.get(number, "ECONNECT") if number else "ECONNECT"
    return name, f"{context}: {error.strerror if error and error.strerror else error}"


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
