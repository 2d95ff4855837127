"""Failed TLS handshakes on the webhook port, explained in plain words (pure: bytes in, values out).

What the mock can see of a handshake that failed:

- from the first bytes the client sent: plain HTTP instead of TLS, the SNI and the highest TLS version offered
  (``ClientHello``: ``supported_versions`` when present, else ``legacy_version``);
- from OpenSSL's error: why it failed (no certificate, unknown CA, expired, not yet valid, wrong key usage,
  protocol too old, the client rejecting the mock's own certificate, ...);
- the client certificate itself (subject, issuer, SPKI pin, validity) when TLS 1.2 carried it in the clear.
  TLS 1.3 encrypts it, and OpenSSL drops a certificate that failed verification, so with TLS 1.3 the record
  says that a certificate was presented and why it was refused, but not its contents.
"""

from __future__ import annotations

import datetime as dt
import ssl
from typing import NamedTuple

from cryptography import x509

from mock_webhook.certs import spki_pin

HTTP_METHODS = (b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"PATC", b"OPTI", b"CONN", b"TRAC", b"PRI ")
TLS_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1.0", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}
_HANDSHAKE, _CLIENT_HELLO, _CERTIFICATE = 0x16, 1, 11
_EXT_SNI, _EXT_SUPPORTED_VERSIONS = 0, 43
_UNKNOWN_CA_CODES = frozenset({2, 18, 19, 20, 21})  # X509_V_ERR_* meaning "not issued by a trusted CA"
_EXPIRED, _NOT_YET_VALID, _INVALID_PURPOSE = 10, 9, 26
PLAIN_HTTP_REASON = "plain HTTP on a TLS port (use https://)"
PLAIN_HTTP_REPLY = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 60\r\n\r\n"
    b"This port speaks TLS: send the request to https:// instead.\n"
)


class ClientHello(NamedTuple):
    sni: str | None
    version_offered: str | None  # highest version the client offered, e.g. "TLSv1.3"
    legacy_version: str | None


class ClientCert(NamedTuple):
    """A client certificate as seen on the wire (TLS 1.2 only)."""

    subject: str
    issuer: str
    spki: str
    not_before: dt.datetime
    not_after: dt.datetime

    def to_json(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "spki": self.spki,
            "notBefore": self.not_before.isoformat(),
            "notAfter": self.not_after.isoformat(),
        }


class HandshakeRecord(NamedTuple):
    """One failed handshake (journal entry of kind ``handshake``)."""

    seq: int
    received_at_ms: float
    peer: str
    sni: str | None
    version_offered: str | None
    client_cert_presented: bool | None  # None: the handshake never got that far
    client_cert: ClientCert | None
    reason: str
    error: str  # OpenSSL's own words
    path: None = None  # so journal filters treat it like a request record without a path
    message_id: None = None

    @property
    def kind(self) -> str:
        return "handshake"

    def to_json(self) -> dict[str, object]:
        return {
            "kind": "handshake",
            "seq": self.seq,
            "receivedAtMs": self.received_at_ms,
            "peer": self.peer,
            "sni": self.sni,
            "tlsVersionOffered": self.version_offered,
            "clientCertPresented": self.client_cert_presented,
            "clientCert": None if self.client_cert is None else self.client_cert.to_json(),
            "reason": self.reason,
            "error": self.error,
        }


def looks_like_http(prefix: bytes) -> bool:
    return prefix[:4] in HTTP_METHODS


def _u16(data: bytes | bytearray, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "big")


def _u24(data: bytes | bytearray, at: int) -> int:
    return int.from_bytes(data[at : at + 3], "big")


def handshake_messages(stream: bytes) -> list[tuple[int, bytes]]:
    """(type, body) of every complete handshake message in the plaintext TLS records of ``stream``."""
    payload = bytearray()
    at = 0
    while at + 5 <= len(stream):
        kind, length = stream[at], _u16(stream, at + 3)
        if at + 5 + length > len(stream):
            break
        if kind == _HANDSHAKE:
            payload += stream[at + 5 : at + 5 + length]
        elif kind != 0x14:  # past ChangeCipherSpec everything is encrypted
            break
        at += 5 + length
    messages, at = [], 0
    while at + 4 <= len(payload) and at + 4 + _u24(payload, at + 1) <= len(payload):
        size = _u24(payload, at + 1)
        messages.append((payload[at], bytes(payload[at + 4 : at + 4 + size])))
        at += 4 + size
    return messages


def parse_client_hello(stream: bytes) -> ClientHello | None:
    """SNI and versions of the ClientHello at the start of ``stream`` (None until it is complete)."""
    hello = next((body for kind, body in handshake_messages(stream) if kind == _CLIENT_HELLO), None)
    if hello is None or len(hello) < 35:
        return None
    legacy = TLS_VERSIONS.get(_u16(hello, 0))
    at = 34 + 1 + hello[34]  # version, random, session id
    at += 2 + _u16(hello, at)  # cipher suites
    at += 1 + hello[at]  # compression methods
    end = at + 2 + _u16(hello, at)
    at += 2
    sni, versions = None, []
    while at + 4 <= end:
        ext, size = _u16(hello, at), _u16(hello, at + 2)
        data = hello[at + 4 : at + 4 + size]
        if ext == _EXT_SNI and len(data) > 5:
            sni = data[5 : 5 + _u16(data, 3)].decode("ascii", "replace")
        elif ext == _EXT_SUPPORTED_VERSIONS and data:
            versions = [_u16(data, i) for i in range(1, 1 + data[0], 2)]
        at += 4 + size
    known = [v for v in versions if v in TLS_VERSIONS]  # GREASE values are skipped
    offered = TLS_VERSIONS[max(known)] if known else legacy
    return ClientHello(sni, offered, legacy)


def client_certificate(stream: bytes) -> ClientCert | None:
    """The leaf of a TLS 1.2 client ``Certificate`` message in ``stream`` (None if absent or encrypted)."""
    body = next((b for kind, b in handshake_messages(stream) if kind == _CERTIFICATE), None)
    if body is None or len(body) < 6 or _u24(body, 0) == 0:
        return None
    try:
        cert = x509.load_der_x509_certificate(body[6 : 6 + _u24(body, 3)])
    except ValueError:
        return None
    return ClientCert(
        cert.subject.rfc4514_string(),
        cert.issuer.rfc4514_string(),
        spki_pin(cert),
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
    )


def _day(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _verify_reason(code: int, message: str, cert: ClientCert | None) -> str:
    if code == _EXPIRED:
        when = f" on {_day(cert.not_after)}" if cert else " (its date is not visible: TLS 1.3 encrypts it)"
        return f"client certificate expired{when}"
    if code == _NOT_YET_VALID:
        when = f" (valid from {_day(cert.not_before)})" if cert else ""
        return f"client certificate not yet valid{when}"
    if code in _UNKNOWN_CA_CODES:
        issuer = f" (issuer {cert.issuer})" if cert else ""
        return f"unknown CA: the client certificate is not issued by the mock's CA{issuer}"
    if code == _INVALID_PURPOSE:
        return "wrong key usage: the client certificate is not valid for TLS client authentication"
    return f"client certificate rejected: {message}"


_REASONS = {
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "no client certificate (this mock requires mTLS)",
    "UNSUPPORTED_PROTOCOL": "protocol too old",
    "HTTP_REQUEST": PLAIN_HTTP_REASON,
    "HTTPS_PROXY_REQUEST": PLAIN_HTTP_REASON,
    "WRONG_VERSION_NUMBER": "not a TLS handshake (wrong version number)",
    "NO_SHARED_CIPHER": "no cipher suite in common",
    "TLSV1_ALERT_UNKNOWN_CA": "the client rejected the mock's certificate: it does not trust the mock's CA",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the client rejected the mock's certificate (bad certificate)",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "the client rejected the mock's certificate (certificate unknown)",
    "TLSV1_ALERT_DECRYPT_ERROR": "the client aborted the handshake (decrypt error)",
}


def explain(exc: BaseException, hello: ClientHello | None, cert: ClientCert | None) -> str:
    """Plain-words reason for a failed handshake."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _verify_reason(exc.verify_code, exc.verify_message or str(exc), cert)
    reason = getattr(exc, "reason", None) or ""
    if reason == "UNSUPPORTED_PROTOCOL":
        offered = hello.version_offered if hello else None
        return (
            f"protocol too old: the client offered {offered or 'an old TLS version'}, the mock needs TLS 1.2+"
        )
    if reason in _REASONS:
        return _REASONS[reason]
    if isinstance(exc, ConnectionResetError) and hello is not None:
        return (
            "the client closed the connection during the handshake, after receiving the mock's certificate"
            " (does it trust the mock's CA?)"
        )
    if isinstance(exc, ConnectionResetError):
        return "the client closed the connection during the handshake"
    if isinstance(exc, TimeoutError | ConnectionAbortedError):
        return "handshake timed out (the client sent too little)"
    return f"handshake failed: {reason or exc}"


def cert_presented(exc: BaseException, cert: ClientCert | None) -> bool | None:
    if cert is not None or isinstance(exc, ssl.SSLCertVerificationError):
        return True
    if getattr(exc, "reason", None) == "PEER_DID_NOT_RETURN_A_CERTIFICATE":
        return False
    return None
