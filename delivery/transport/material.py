"""TLS material (client certificate, key, extra CA) from local PEM files, an S3 bundle or Secrets Manager.

Sources (SPEC G.1, P11), chosen by :class:`TlsSettings`:

- local files: ``MTLS_CERT_FILE`` (+ ``MTLS_KEY_FILE``; the cert file may also hold the key) and
  ``MTLS_CA_FILE``;
- an S3 bundle: ``MTLS_CERT_S3_BUCKET`` + ``MTLS_CERT_S3_KEY`` (client cert + key concatenated, reference
  format) and optionally ``MTLS_CA_S3_KEY`` in the same bucket;
- a Secrets Manager secret ``MTLS_CERT_SECRET_ARN`` whose SecretString is ``{"key": PEM, "cert": PEM}``.

The readers live in ``delivery.transport.sources``; the cache in front of them in
``delivery.transport.provider``. The private key is never logged or shown in a repr.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from delivery.errors import DeliveryError

DEFAULT_EXPIRY_THRESHOLD_MS = 86_400_000
DEFAULT_RECHECK_MS = 3_600_000
_TRUE = frozenset({"1", "true", "yes", "on"})
MISSING_S3_MESSAGE = "MTLS_CERT_S3_BUCKET and MTLS_CERT_S3_KEY are required"


class TlsMaterialError(DeliveryError):
    """TLS material is missing, unreadable or malformed (the message names what and where)."""


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """PEM text ready for an ``ssl.SSLContext``; ``source`` describes where it came from (no secrets)."""

    source: str
    cert_pem: str = ""  # leaf first, then any chain certificates
    key_pem: str = field(default="", repr=False)
    ca_pem: str = ""
    not_after_ms: int | None = None  # expiry of the client certificate

    @property
    def has_client_cert(self) -> bool:
        return bool(self.cert_pem and self.key_pem)


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """Where TLS material comes from (frozen; build with :meth:`from_env`)."""

    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None
    s3_bucket: str | None = None
    s3_cert_key: str | None = None
    s3_ca_key: str | None = None
    secret_arn: str | None = None
    expiry_threshold_ms: int = DEFAULT_EXPIRY_THRESHOLD_MS
    ca_replaces_system_trust: bool = False

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise TlsMaterialError("invalid TLS settings: " + "; ".join(problems))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TlsSettings:
        def get(*names: str) -> str | None:
            for name in names:
                value = environ.get(name, "").strip()
                if value:
                    return value
            return None

        return cls(
            cert_file=get("MTLS_CERT_FILE"),
            key_file=get("MTLS_KEY_FILE"),
            ca_file=get("MTLS_CA_FILE"),
            s3_bucket=get("MTLS_CERT_S3_BUCKET", "MTLS_TEST_CERT_S3_BUCKET"),
            s3_cert_key=get("MTLS_CERT_S3_KEY", "MTLS_TEST_CERT_S3_KEY"),
            s3_ca_key=get("MTLS_CA_S3_KEY", "MTLS_TEST_CA_S3_KEY"),
            secret_arn=get("MTLS_CERT_SECRET_ARN"),
            expiry_threshold_ms=parse_threshold_ms(environ.get("CERT_EXPIRY_THRESHOLD_MS")),
            ca_replaces_system_trust=environ.get("MTLS_CA_REPLACES_SYSTEM_TRUST", "").lower() in _TRUE,
        )

    def problems(self) -> list[str]:
        """Every inconsistency at once (empty when the settings are usable)."""
        found = []
        if self.key_file and not self.cert_file:
            found.append("MTLS_KEY_FILE is set without MTLS_CERT_FILE")
        if self.s3_ca_key and not self.s3_bucket:
            found.append("MTLS_CA_S3_KEY is set without MTLS_CERT_S3_BUCKET")
        if self.s3_cert_key and not self.s3_bucket:
            found.append("MTLS_CERT_S3_KEY is set without MTLS_CERT_S3_BUCKET")
        sources = [n for n, on in self._client_sources().items() if on]
        if len(sources) > 1:
            found.append("more than one client certificate source is set: " + ", ".join(sources))
        if self.ca_file and self.s3_ca_key:
            found.append("both MTLS_CA_FILE and MTLS_CA_S3_KEY are set")
        return found

    def _client_sources(self) -> dict[str, bool]:
        return {
            "MTLS_CERT_FILE": bool(self.cert_file),
            "MTLS_CERT_S3_KEY": bool(self.s3_cert_key),
            "MTLS_CERT_SECRET_ARN": bool(self.secret_arn),
        }

    @property
    def has_client_source(self) -> bool:
        return any(self._client_sources().values())

    @property
    def has_ca_source(self) -> bool:
        return bool(self.ca_file or self.s3_ca_key)


def parse_threshold_ms(raw: str | None) -> int:
    """``CERT_EXPIRY_THRESHOLD_MS``; missing, 0, negative or not a number => 24 h (reference G.2)."""
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        return DEFAULT_EXPIRY_THRESHOLD_MS
    if math.isnan(value) or math.isinf(value) or value <= 0:
        return DEFAULT_EXPIRY_THRESHOLD_MS
    return int(value)
