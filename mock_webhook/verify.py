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
import hmac
from _hashlib import hmac_new  # OpenSSL's HMAC (the mock needs OpenSSL for TLS anyway)
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

REFERENCE_HEADER = "x-hmac-sha256-signature"
WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"
DEFAULT_TOLERANCE_S = 300


REFERENCE, STANDARD = "reference", "standard-webhooks"
SCHEMES = (REFERENCE, STANDARD)
VALID, INVALID, MISSING, UNCHECKED = "valid", "invalid", "missing", "unchecked"


class SchemeVerdict(NamedTuple):
    """One scheme's verdict: ``valid`` | ``invalid`` (``detail`` says why) | ``missing`` | ``unchecked``
    (sent, but the mock has no key material for it)."""

    scheme: str
    verdict: str
    detail: str
    sent: bool
    required: bool = False

    def to_json(self) -> dict[str, object]:
        return {"verdict": self.verdict, "detail": self.detail, "sent": self.sent, "required": self.required}


class SignatureVerdict(NamedTuple):
    """``scheme``: the schemes looked at (``reference``, ``standard-webhooks``, both joined by ``+``, or
    ``none``); ``valid``: every required scheme verified (None: nothing to check with); ``schemes``: each
    scheme's own verdict."""

    scheme: str
    valid: bool | None
    detail: str
    schemes: tuple[SchemeVerdict, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "scheme": self.scheme,
            "valid": self.valid,
            "detail": self.detail,
            "schemes": {part.scheme: part.to_json() for part in self.schemes},
        }


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
    schemes: tuple[str, ...] = ()  # what the sender signs with; () = read it off each request
    secret_keys: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    reference_key: bytes | None = field(init=False, repr=False, compare=False)
    reference_mac: Any = field(init=False, repr=False, compare=False)  # HMAC keyed with reference_key
    secret_macs: tuple[Any, ...] = field(init=False, repr=False, compare=False)  # one per secret_keys

    def __post_init__(self) -> None:
        unknown = [s for s in self.schemes if s not in SCHEMES]
        if unknown:
            raise ValueError(f"unknown signature scheme(s) {', '.join(unknown)}: use {' or '.join(SCHEMES)}")
        object.__setattr__(self, "api_key_header", self.api_key_header.lower())
        object.__setattr__(self, "secret_keys", tuple(decode_whsec(s) for s in self.webhook_secrets))
        object.__setattr__(self, "secret_macs", tuple(_keyed_sha256(k) for k in self.secret_keys))
        both = self.application_id is not None and self.api_key is not None
        key = f"{self.application_id}.{self.api_key}".encode() if both else None
        object.__setattr__(self, "reference_key", key)
        object.__setattr__(self, "reference_mac", None if key is None else _keyed_sha256(key))

    def to_json(self) -> dict[str, object]:
        """Safe to show: secrets reduced to whether they are set."""
        return {
            "apiKeyHeader": self.api_key_header,
            "apiKeySet": self.api_key is not None,
            "applicationId": self.application_id,
            "webhookSecretCount": len(self.webhook_secrets),
            "enforce": self.enforce,
            "toleranceS": self.tolerance_s,
            "schemes": list(self.schemes),
        }


def api_key_valid(creds: Credentials, received: str | None) -> bool | None:
    """None when no key is configured (recorded only), else a constant-time comparison."""
    if creds.api_key is None:
        return None
    if received is None:
        return False
    return hmac.compare_digest(received.encode(), creds.api_key.encode())


def _keyed_sha256(key: bytes) -> Any:
    """An HMAC-SHA256 keyed once; ``.copy()`` of it per message skips OpenSSL 3's digest fetch by name (the
    dearest part of ``hmac.digest`` for a short body)."""
    return hmac_new(key, digestmod="sha256")


def reference_valid(key: bytes, body: bytes, received: str, keyed: Any = None) -> bool:
    """``key`` is ``<applicationId>.<apiKey>`` encoded as UTF-8; ``keyed``: an HMAC keyed with it, if any."""
    mac = (keyed if keyed is not None else _keyed_sha256(key)).copy()
    mac.update(body)
    return hmac.compare_digest(mac.hexdigest().encode(), received.strip().encode())


def _mac_of(keyed: Any, message: bytes) -> bytes:
    mac = keyed.copy()
    mac.update(message)
    return bytes(mac.digest())


def standard_valid(
    macs: tuple[Any, ...], headers: Mapping[str, str], body: bytes, now_s: float, tolerance_s: int
) -> tuple[bool, str]:
    msg_id, stamp, sig = (headers.get(h) for h in (WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE))
    if not (msg_id and stamp and sig):
        absent = [
            h
            for h, v in zip(
                (WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE), (msg_id, stamp, sig), strict=True
            )
            if not v
        ]
        return False, f"missing {' and '.join(absent)}"
    if not stamp.isdigit():
        return False, "webhook-timestamp is not an integer"
    if abs(now_s - int(stamp)) > tolerance_s:
        return False, f"webhook-timestamp outside the {tolerance_s}s tolerance"
    signed = b"%s.%s.%s" % (msg_id.encode(), stamp.encode(), body)
    expected = [base64.b64encode(_mac_of(keyed, signed)) for keyed in macs]  # macs: from _keyed_sha256
    for entry in sig.split():
        version, _, value = entry.partition(",")
        if version == "v1" and any(hmac.compare_digest(e, value.encode()) for e in expected):
            return True, "signature matches"
    return False, "no webhook-signature entry matches a configured secret"


def _reference_scheme(
    creds: Credentials, headers: Mapping[str, str], received: str | None, body: bytes
) -> SchemeVerdict | None:
    key = creds.reference_key
    if key is None and creds.application_id is not None:
        received_key = headers.get(creds.api_key_header)  # no key configured: use the one sent
        key = None if received_key is None else f"{creds.application_id}.{received_key}".encode()
    sent = received is not None
    if not sent and creds.application_id is None:
        return None  # neither sent nor configured: not part of the picture
    if not sent:
        return SchemeVerdict(REFERENCE, MISSING, f"no {REFERENCE_HEADER} header", sent)
    if key is None:
        return SchemeVerdict(REFERENCE, UNCHECKED, "no applicationId (and API key) configured", sent)
    keyed = creds.reference_mac if key == creds.reference_key else None
    if reference_valid(key, body, received or "", keyed):
        return SchemeVerdict(REFERENCE, VALID, "reference signature matches", sent)
    why = "does not match HMAC-SHA256(<applicationId>.<apiKey>, body): check the applicationId and API key"
    return SchemeVerdict(REFERENCE, INVALID, why, sent)


def _standard_scheme(
    creds: Credentials, headers: Mapping[str, str], body: bytes, now_s: float
) -> SchemeVerdict | None:
    present = [h for h in (WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE) if h in headers]
    sent = bool(present)
    if not sent and not creds.secret_keys:
        return None
    if not sent:
        return SchemeVerdict(STANDARD, MISSING, "no webhook-id / webhook-timestamp / webhook-signature", sent)
    if not creds.secret_keys:
        return SchemeVerdict(STANDARD, UNCHECKED, "no webhook secret configured", sent)
    ok, why = standard_valid(creds.secret_macs, headers, body, now_s, creds.tolerance_s)
    return SchemeVerdict(STANDARD, VALID if ok else INVALID, why, sent)


def required_schemes(creds: Credentials, parts: tuple[SchemeVerdict, ...]) -> frozenset[str]:
    """The schemes the sender's config signs with: configured explicitly, else read off the request.

    A Standard Webhooks config sends the webhook-* headers (plus the reference header when it includes it);
    a reference config sends only the reference header. A request with no signature at all owes every scheme
    the mock has key material for.
    """
    if creds.schemes:
        return frozenset(creds.schemes)
    sent = frozenset(p.scheme for p in parts if p.sent)
    return sent or frozenset(p.scheme for p in parts if p.verdict != UNCHECKED)


def combine(parts: tuple[SchemeVerdict, ...], required: frozenset[str]) -> SignatureVerdict:
    """Valid when every required scheme verifies (and no signature that was sent is wrong)."""
    if not parts:
        return NO_SIGNATURE
    absent = sorted(required - {p.scheme for p in parts})  # owed, neither sent nor configured
    marked = tuple(p._replace(required=p.scheme in required) for p in parts) + tuple(
        SchemeVerdict(s, MISSING, "not sent", False, True) for s in absent
    )
    owed = [p for p in marked if p.required]
    wrong = [p for p in marked if p.verdict == INVALID or (p.required and p.verdict == MISSING)]
    scheme = "+".join(p.scheme for p in marked)
    if wrong:
        detail = "; ".join(f"{p.scheme} {p.verdict}: {p.detail}" for p in wrong)
        return SignatureVerdict(scheme, False, detail, marked)
    if not owed or any(p.verdict == UNCHECKED for p in owed):
        detail = "; ".join(f"{p.scheme}: {p.detail}" for p in marked)
        return SignatureVerdict(scheme, None, detail, marked)
    return SignatureVerdict(scheme, True, "; ".join(p.detail for p in owed), marked)


def verify_signatures(
    creds: Credentials, headers: Mapping[str, str], body: bytes, now_s: float
) -> SignatureVerdict:
    """One verdict per scheme (sent or configured), and the overall verdict over the required ones."""
    received = headers.get(REFERENCE_HEADER)
    ref_key = creds.reference_key
    if (
        received is not None
        and ref_key is not None
        and not creds.secret_keys
        and not creds.schemes
        and WEBHOOK_SIGNATURE not in headers
        and reference_valid(ref_key, body, received, creds.reference_mac)
    ):
        return REFERENCE_OK  # the common case, without building parts
    found = (_reference_scheme(creds, headers, received, body), _standard_scheme(creds, headers, body, now_s))
    parts = tuple(p for p in found if p is not None)
    return combine(parts, required_schemes(creds, parts))


REFERENCE_OK = combine(
    (SchemeVerdict(REFERENCE, VALID, "reference signature matches", True),), frozenset({REFERENCE})
)
