"""Request signatures over the exact body bytes that are sent (pure; hashlib/hmac only).

- Reference scheme (SPEC B.4/P1): header ``x-hmac-sha256-signature`` = lower-case hex HMAC-SHA256, key
  ``<applicationId>.<apiKey headerValue>``.
- Standard Webhooks v1 (P2): ``webhook-id``, ``webhook-timestamp`` (integer seconds) and
  ``webhook-signature`` = space-separated ``v1,<base64 HMAC-SHA256>`` over ``<id>.<timestamp>.<body>``, one
  entry per active secret (rotation without downtime).

Secrets in a config are ``env:<VARIABLE>`` references or literal ``whsec_<base64>`` values; references are
resolved against the ``environ`` mapping passed in (the process environment by default, read at call time
only for ``env:`` entries). Secret values never appear in error messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping

from delivery.config.client import CallbackTarget, SigningSettings
from delivery.errors import SigningError

REFERENCE_HEADER = "x-hmac-sha256-signature"
WHSEC_PREFIX = "whsec_"
Headers = tuple[tuple[str, str], ...]


def reference_signature(application_id: str, api_key: str, body: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``body`` with key ``<applicationId>.<apiKey>`` (SPEC B.4)."""
    key = f"{application_id}.{api_key}".encode()
    return hmac.digest(key, body, "sha256").hex()  # one-shot (OpenSSL), no HMAC object per delivery


def secret_key(secret: str) -> bytes:
    """Key bytes of a ``whsec_<base64>`` (or bare base64) secret."""
    encoded = secret.removeprefix(WHSEC_PREFIX)
    try:
        key = base64.b64decode(encoded + "==", validate=False)
    except (binascii.Error, ValueError):
        raise SigningError("signing secret is not valid base64") from None
    if not key:
        raise SigningError("signing secret is empty")
    return key


def standard_webhooks_signature(secrets: Iterable[str], msg_id: str, timestamp_s: int, body: bytes) -> str:
    """``v1,<b64> v1,<b64>`` — one entry per secret, in the given order."""
    signed = f"{msg_id}.{timestamp_s}.".encode() + body
    entries = [
        "v1," + base64.b64encode(hmac.new(secret_key(s), signed, hashlib.sha256).digest()).decode("ascii")
        for s in secrets
    ]
    if not entries:
        raise SigningError("standard-webhooks signing needs at least one secret")
    return " ".join(entries)


def resolve_secrets(settings: SigningSettings, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Literal values of the configured secrets (``env:NAME`` entries read from ``environ``)."""
    env = os.environ if environ is None else environ
    values: list[str] = []
    for ref in settings.secrets:
        if not ref.startswith("env:"):
            values.append(ref)
            continue
        name = ref.removeprefix("env:")
        value = env.get(name, "").strip()
        if not value:
            raise SigningError(f"signing secret environment variable {name} is not set")
        values.append(value)
    return tuple(values)


def delivery_secrets(
    targets: Iterable[CallbackTarget], environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Every secret value delivering to ``targets`` uses: API key values and signing secrets (``env:``
    references resolved; an unset one is skipped). What ``delivery.observe.scrub`` must keep out of output."""
    env = os.environ if environ is None else environ
    values: list[str] = []
    for target in targets:
        values.append(target.api_key.header_value)
        for ref in target.delivery.signing.secrets:
            value = env.get(ref.removeprefix("env:"), "").strip() if ref.startswith("env:") else ref
            if value:
                values.append(value)
    return tuple(values)


def signed_headers(
    target: CallbackTarget,
    application_id: str,
    body: bytes,
    webhook_id: str,
    now_s: float,
    *,
    environ: Mapping[str, str] | None = None,
) -> Headers:
    """Content-Type, the target's API-key header and the signature headers its signing settings ask for."""
    api_key = target.api_key
    signing = target.delivery.signing
    headers: list[tuple[str, str]] = [
        ("Content-Type", "application/json"),
        (api_key.header_name, api_key.header_value),
    ]
    reference = (REFERENCE_HEADER, reference_signature(application_id, api_key.header_value, body))
    if signing.scheme == "reference":
        return (*headers, reference)
    timestamp_s = int(now_s)
    signature = standard_webhooks_signature(resolve_secrets(signing, environ), webhook_id, timestamp_s, body)
    headers += [
        ("webhook-id", webhook_id),
        ("webhook-timestamp", str(timestamp_s)),
        ("webhook-signature", signature),
    ]
    if signing.include_reference_header:
        headers.append(reference)
    return tuple(headers)


__all__ = [
    "REFERENCE_HEADER",
    "Headers",
    "reference_signature",
    "resolve_secrets",
    "secret_key",
    "signed_headers",
    "standard_webhooks_signature",
]
