"""Signature and API-key verification, written independently of ``delivery/signing.py`` (pure).

- Reference scheme (SPEC B.4): ``x-hmac-sha256-signature`` = lower-case hex HMAC-SHA256, key
  ``<applicationId>.<apiKey>``, over the exact body bytes.
- Standard Webhooks (SPEC P2): ``webhook-id``, ``webhook-timestamp`` (seconds), ``webhook-signature`` with
  space-separated ``v1,<base64>`` entries; HMAC-SHA256 of ``<id>.<timestamp>.<body>`` with the
  base64-decoded secret (``whsec_`` prefix stripped); valid when any entry matches any configured secret and
  the timestamp is within the tolerance.

Every comparison uses ``hmac.compare_digest``. A verdict is ``valid`` True/False, or None when the mock has no
key material to check with (recorded, not enforced).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

REFERENCE_HEADER = "x-hmac-sha256-signature"
WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"
DEFAULT_TOLERANCE_S = 300


class SignatureVerdict(NamedTuple):
    """``scheme``: ``reference`` | ``standard-webhooks`` | ``reference+standard-webhooks`` | ``none``."""

    scheme: str
    valid: bool | None
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"scheme": self.scheme, "valid": self.valid, "detail": self.detail}


NO_SIGNATURE = SignatureVerdict("none", None, "no signature headers and no key material configured")


def decode_whsec(secret: str) -> bytes:
    """Key bytes of a Standard Webhooks secret (``whsec_<base64>``, padding optional)."""
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not base64 (expected whsec_<base64>)") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


@dataclass(frozen=True, slots=True)
class Credentials:
    """Verification data for one callback path (or the global default)."""

    api_key_header: str = "x-api-key"
    api_key: str | None = None
    application_id: str | None = None
    webhook_secrets: tuple[str, ...] = ()
    enforce: bool = False
    tolerance_s: int = DEFAULT_TOLERANCE_S
    secret_keys: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    reference_key: bytes | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_key_header", self.api_key_header.lower())
        object.__setattr__(self, "secret_keys", tuple(decode_whsec(s) for s in self.webhook_secrets))
        both = self.application_id is not None and self.api_key is not None
        object.__setattr__(
            self, "reference_key", f"{self.application_id}.{self.api_key}".encode() if both else None
        )

    def to_json(self) -> dict[str, object]:
        """Safe to show: secrets reduced to whether they are set."""
        return {
            "apiKeyHeader": self.api_key_header,
            "apiKeySet": self.api_key is not None,
            "applicationId": self.application_id,
            "webhookSecretCount": len(self.webhook_secrets),
            "enforce": self.enforce,
            "toleranceS": self.tolerance_s,
        }


def api_key_valid(creds: Credentials, received: str | None) -> bool | None:
    """None when no key is configured (recorded only), else a constant-time comparison."""
    if creds.api_key is None:
        return None
    if received is None:
        return False
    return hmac.compare_digest(received.encode(), creds.api_key.encode())


def reference_valid(key: bytes, body: bytes, received: str) -> bool:
    """``key`` is ``<applicationId>.<apiKey>`` encoded as UTF-8."""
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), received.strip().encode())


def standard_valid(
    keys: tuple[bytes, ...], headers: Mapping[str, str], body: bytes, now_s: float, tolerance_s: int
) -> tuple[bool, str]:
    msg_id, stamp, sig = (headers.get(h) for h in (WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE))
    if not (msg_id and stamp and sig):
        return False, "missing webhook-id, webhook-timestamp or webhook-signature"
    if not stamp.isdigit():
        return False, "webhook-timestamp is not an integer"
    if abs(now_s - int(stamp)) > tolerance_s:
        return False, f"webhook-timestamp outside the {tolerance_s}s tolerance"
    signed = b"%s.%s.%s" % (msg_id.encode(), stamp.encode(), body)
    expected = [base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()) for k in keys]
    for entry in sig.split():
        version, _, value = entry.partition(",")
        if version == "v1" and any(hmac.compare_digest(e, value.encode()) for e in expected):
            return True, "signature matches"
    return False, "no webhook-signature entry matches a configured secret"


REFERENCE_OK = SignatureVerdict("reference", True, "reference signature matches")


def _reference_verdict(
    creds: Credentials, headers: Mapping[str, str], received: str | None, body: bytes
) -> tuple[bool | None, str]:
    key = creds.reference_key
    if key is None and creds.application_id is not None:
        received_key = headers.get(creds.api_key_header)  # no key configured: use the one sent
        key = None if received_key is None else f"{creds.application_id}.{received_key}".encode()
    if key is None:
        return None, "reference signature present, no applicationId/apiKey configured"
    if received is None:
        return False, f"missing {REFERENCE_HEADER}"
    if reference_valid(key, body, received):
        return True, "reference signature matches"
    return False, "reference signature does not match"


def _standard_verdict(
    creds: Credentials, headers: Mapping[str, str], body: bytes, now_s: float
) -> tuple[bool | None, str]:
    if not creds.secret_keys:
        return None, "webhook-signature present, no secret configured"
    return standard_valid(creds.secret_keys, headers, body, now_s, creds.tolerance_s)


def verify_signatures(
    creds: Credentials, headers: Mapping[str, str], body: bytes, now_s: float
) -> SignatureVerdict:
    """Verdict over both schemes: checked when their headers are present or their key material is set."""
    received = headers.get(REFERENCE_HEADER)
    std_wanted = bool(creds.secret_keys) or WEBHOOK_SIGNATURE in headers
    ref_key = creds.reference_key
    if (
        not std_wanted
        and received is not None
        and ref_key is not None
        and reference_valid(ref_key, body, received)
    ):
        return REFERENCE_OK  # the common case, without building parts
    parts: list[tuple[str, bool | None, str]] = []
    if received is not None or creds.application_id is not None:
        parts.append(("reference", *_reference_verdict(creds, headers, received, body)))
    if std_wanted:
        parts.append(("standard-webhooks", *_standard_verdict(creds, headers, body, now_s)))
    if not parts:
        return NO_SIGNATURE
    verdicts = [p[1] for p in parts]
    valid = False if False in verdicts else (None if None in verdicts else True)
    return SignatureVerdict("+".join(p[0] for p in parts), valid, "; ".join(p[2] for p in parts))
