"""SPKI pins: base64(SHA-256(SubjectPublicKeyInfo DER)) of a certificate (pure; cryptography only).

The hash covers the SubjectPublicKeyInfo bytes **exactly as they stand in the certificate** (what openssl's
``x509 -pubkey | pkey -pubin -outform der`` and the reference compute), read straight out of the
certificate's DER. Re-encoding the public key is not the same thing: an EC key with explicit curve
parameters is re-encoded with the named curve, so its hash would differ and a correct pin would never match.

    Certificate     ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
    TBSCertificate  ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity,
                                   subject, subjectPublicKeyInfo, ... }
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final

from cryptography import x509

_SEQUENCE: Final = 0x30
_VERSION_TAG: Final = 0xA0  # [0] EXPLICIT, constructed
_FIELDS_BEFORE_SPKI: Final = 5  # serialNumber, signature, issuer, validity, subject
_PEM_CERT: Final = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----"
)


def _element(der: bytes, at: int) -> tuple[int, int, int]:
    """The DER element at ``at``: (tag, start of its contents, end of the element)."""
    if at + 2 > len(der):
        raise ValueError("truncated DER")
    tag, first = der[at], der[at + 1]
    if tag & 0x1F == 0x1F:
        raise ValueError("unexpected multi-byte DER tag")
    start = at + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > len(der):
            raise ValueError("invalid DER length")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    end = start + length
    if end > len(der):
        raise ValueError("truncated DER")
    return tag, start, end


def _sequence(der: bytes, at: int, what: str) -> tuple[int, int]:
    tag, start, end = _element(der, at)
    if tag != _SEQUENCE:
        raise ValueError(f"{what} is not a DER SEQUENCE")
    return start, end


def spki_der_of_certificate(cert_der: bytes) -> bytes:
    """The SubjectPublicKeyInfo element of a DER certificate, byte for byte as written in it."""
    tbs_at, _ = _sequence(cert_der, 0, "certificate")
    at, tbs_end = _sequence(cert_der, tbs_at, "tbsCertificate")
    if at < tbs_end and cert_der[at] == _VERSION_TAG:
        at = _element(cert_der, at)[2]
    for _ in range(_FIELDS_BEFORE_SPKI):
        at = _element(cert_der, at)[2]
    if at >= tbs_end:
        raise ValueError("tbsCertificate has no subjectPublicKeyInfo")
    _, spki_end = _sequence(cert_der, at, "subjectPublicKeyInfo")
    return cert_der[at:spki_end]


def pin_of_spki(spki_der: bytes) -> str:
    return base64.b64encode(hashlib.sha256(spki_der).digest()).decode("ascii")


def spki_pin_of_der(cert_der: bytes) -> str:
    """Pin of a DER certificate (as ``getpeercert(binary_form=True)`` returns it)."""
    return pin_of_spki(spki_der_of_certificate(cert_der))


def der_of_pem_certificate(cert_pem: bytes | str) -> bytes:
    """The DER of the first ``CERTIFICATE`` block of a PEM text, checked to be a readable X.509 cert."""
    data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    x509.load_pem_x509_certificate(data)  # a clear ValueError for anything that is not a certificate
    match = _PEM_CERT.search(data)
    if match is None:
        raise ValueError("no CERTIFICATE block found")
    return base64.b64decode(b"".join(match.group(1).split()), validate=True)


def spki_pin_of_pem(cert_pem: bytes | str) -> str:
    return spki_pin_of_der(der_of_pem_certificate(cert_pem))
