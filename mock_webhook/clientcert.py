"""Client-certificate verdicts: from the TLS handshake, or from the ALB passthrough header.

In ALB passthrough mode the load balancer does not verify anything; it forwards the client's chain as a
URL-encoded PEM in ``X-Amzn-Mtls-Clientcert``. The reference only checked the dates (SPEC M.1); here the
chain is verified against the mock's CA (signatures, validity, client-auth usage) as SPEC P14 asks. The leaf
must be an end-entity certificate (not a CA: the CA certificate verifies against itself) whose extended key
usage includes ``clientAuth``.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509 import verification

from mock_webhook.certs import spki_pin

ALB_CERT_HEADER = "X-Amzn-Mtls-Clientcert"
_CACHE_SIZE = 256
# trustme (and many test CAs) mark the SAN of a leaf critical next to a subject; the WebPKI leaf profile
# rejects that, so the leaf's extensions are not policed — signatures, issuer chain and dates still are.
_CA_POLICY = verification.ExtensionPolicy.webpki_defaults_ca()
_LEAF_POLICY = verification.ExtensionPolicy.permit_all()


@dataclass(frozen=True, slots=True)
class TlsVerdict:
    """What the mock knows about the caller's client certificate."""

    client_cert_presented: bool
    client_cert_verified: bool
    client_subject: str | None = None
    client_spki: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "clientCertPresented": self.client_cert_presented,
            "clientCertVerified": self.client_cert_verified,
            "clientSubject": self.client_subject,
            "clientSpki": self.client_spki,
            "detail": self.detail,
        }


NO_CERT = TlsVerdict(False, False, detail="No client certificate provided")


@lru_cache(maxsize=_CACHE_SIZE)  # one client reconnecting: parse its certificate once
def handshake_verdict(peer_der: bytes | None) -> TlsVerdict:
    """A certificate that reached us through the handshake was verified by OpenSSL against the CA."""
    if not peer_der:
        return NO_CERT
    cert = x509.load_der_x509_certificate(peer_der)
    return TlsVerdict(True, True, cert.subject.rfc4514_string(), spki_pin(cert), "verified in TLS handshake")


def leaf_problem(leaf: x509.Certificate) -> str | None:
    """Why ``leaf`` cannot be a client certificate (a CA, or no ``clientAuth`` usage), or None."""
    try:
        if leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return "Client certificate is a CA certificate, not a client certificate"
    except x509.ExtensionNotFound:
        pass
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return "Client certificate has no extended key usage (clientAuth is required)"
    if x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        return "Client certificate's extended key usage does not include clientAuth"
    return None


class AlbCertVerifier:
    """Verifies ``X-Amzn-Mtls-Clientcert`` values against one CA; caches verdicts per header value."""

    def __init__(self, ca_cert: x509.Certificate) -> None:
        self._store = verification.Store([ca_cert])
        self._cache: OrderedDict[str, tuple[float, TlsVerdict]] = OrderedDict()

    def verdict(self, header_value: str | None, now: dt.datetime | None = None) -> TlsVerdict:
        if not header_value:
            return NO_CERT
        now = now or dt.datetime.now(dt.UTC)
        cached = self._cache.get(header_value)
        if cached is not None and cached[0] == int(now.timestamp()):
            return cached[1]
        result = self._verify(header_value, now)
        self._cache[header_value] = (int(now.timestamp()), result)
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def _verify(self, header_value: str, now: dt.datetime) -> TlsVerdict:
        try:
            chain = x509.load_pem_x509_certificates(unquote(header_value).encode("ascii"))
        except ValueError:
            return TlsVerdict(True, False, detail="Failed to parse client certificate")
        leaf, intermediates = chain[0], chain[1:]
        subject, pin = leaf.subject.rfc4514_string(), spki_pin(leaf)
        unfit = leaf_problem(leaf)
        if unfit is not None:
            return TlsVerdict(True, False, subject, pin, unfit)
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            when = (
                f"expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC"
                if now > leaf.not_valid_after_utc
                else f"not yet valid: valid from {leaf.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC"
            )
            detail = f"Client certificate is not within its validity period ({when})"
            return TlsVerdict(True, False, subject, pin, detail)
        verifier = (
            verification.PolicyBuilder()
            .store(self._store)
            .time(now)
            .extension_policies(ca_policy=_CA_POLICY, ee_policy=_LEAF_POLICY)
            .build_client_verifier()
        )
        try:
            verifier.verify(leaf, intermediates)
        except verification.VerificationError as exc:
            why = (
                "unknown CA: not issued by the mock's CA" if "candidates exhausted" in str(exc) else str(exc)
            )
            return TlsVerdict(True, False, subject, pin, f"Client certificate not verified by the CA: {why}")
        return TlsVerdict(True, True, subject, pin, "verified against the CA")
