"""SPKI pins: base64(SHA-256(SubjectPublicKeyInfo DER)) of a certificate (pure; cryptography only)."""

from __future__ import annotations

import base64
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def spki_pin_of_der(cert_der: bytes) -> str:
    cert = x509.load_der_x509_certificate(cert_der)
    return _pin(cert)


def spki_pin_of_pem(cert_pem: bytes | str) -> str:
    data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    return _pin(x509.load_pem_x509_certificate(data))


def _pin(cert: x509.Certificate) -> str:
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")
