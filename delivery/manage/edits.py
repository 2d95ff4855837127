"""Pure edits of a client-config JSON document (camelCase dicts) for the management CLI.

Each edit mutates the document it is given (the caller passes a fresh copy) and returns the security
warnings the reference CLI prints; a refused edit raises ``Refusal`` and the caller writes nothing.
The full document is re-validated with ``parse_client_config`` before anything is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

Doc = dict[str, Any]

MIN_SAFE_RETRY_S = 60
WARN_MTLS_OFF = "mTLS is disabled — callbacks will not use mutual TLS"
WARN_PINNING_OFF = "mTLS is enabled but certificate pinning is disabled"
WARN_PINNING_WITHOUT_MTLS = "Certificate pinning is enabled but mTLS is disabled"
WARN_DISABLING_MTLS = "Disabling mTLS — callbacks will not use mutual TLS"
WARN_DISABLING_PINNING = "Disabling certificate pinning"
DEFAULT_API_KEY_HEADER = "x-api-key"


class Refusal(Exception):
    """An edit the CLI will not make; the message says why and what to do instead."""


class AlreadyAbsent(Exception):
    """A delete of something that is not there: nothing to do (a warning, exit 0 — idempotent, as the
    reference)."""


def empty_config(client_id: str) -> Doc:
    return {"clientId": client_id, "subscriptions": [], "targets": []}


def find_target(doc: Doc, target_id: str) -> Doc:
    for target in doc.get("targets", []):
        if target.get("targetId") == target_id:
            found: Doc = target
            return found
    raise Refusal(f"Target '{target_id}' not found for client '{doc.get('clientId')}'")


def find_subscription(doc: Doc, subscription_id: str) -> Doc:
    for subscription in doc.get("subscriptions", []):
        if subscription.get("subscriptionId") == subscription_id:
            found: Doc = subscription
            return found
    raise Refusal(f"Subscription '{subscription_id}' not found for client '{doc.get('clientId')}'")


def _mtls(target: Doc) -> Doc:
    delivery = target.setdefault("delivery", {})
    mtls: Doc = delivery.setdefault("mtls", {"enabled": False})
    return mtls


def _pinning(target: Doc) -> Doc:
    pinning: Doc = _mtls(target).setdefault("certPinning", {"enabled": False})
    return pinning


def _has_pin(pinning: Doc) -> bool:
    return bool(pinning.get("spkiHash") or pinning.get("spkiHashes"))


def target_warnings(target: Doc) -> list[str]:
    """The reference's warnings about a target's resulting security settings (read-only)."""
    delivery = target.get("delivery") or {}
    mtls = delivery.get("mtls") or {}
    pinning = mtls.get("certPinning") or {}
    mtls_on, pinning_on = mtls.get("enabled") is True, pinning.get("enabled") is True
    warnings: list[str] = []
    if not mtls_on:
        warnings.append(WARN_MTLS_OFF)
    if mtls_on and not pinning_on:
        warnings.append(WARN_PINNING_OFF)
    if pinning_on and not mtls_on:
        warnings.append(WARN_PINNING_WITHOUT_MTLS)
    retry_s = delivery.get("maxRetryDurationSeconds")
    if isinstance(retry_s, int | float) and not isinstance(retry_s, bool) and retry_s < MIN_SAFE_RETRY_S:
        warnings.append(
            f"maxRetryDurationSeconds is {retry_s:g}s — values below {MIN_SAFE_RETRY_S}s may exhaust the "
            "retry window before a single delivery attempt completes"
        )
    return warnings


def pinning_needs_certificate(client_id: str, target_id: str) -> Refusal:
    return Refusal(
        f"Target '{target_id}' has no SPKI hash stored. Run 'callbacks targets set-certificate --client "
        f"{client_id} --target {target_id} --pem <certificate.pem>' first to configure a certificate hash "
        "before enabling pinning."
    )


def new_target(
    *,
    endpoint: str,
    api_key: str,
    rate_limit: float,
    target_id: str | None = None,
    api_key_header: str = DEFAULT_API_KEY_HEADER,
    max_retry_s: float | None = None,
    mtls: bool = False,
    pinning: bool = False,
    spki_hash: str | None = None,
) -> Doc:
    """A reference-shaped target; ``targetId`` is a fresh UUID v4 unless given."""
    if pinning and not spki_hash:
        raise Refusal(
            "Certificate pinning cannot be enabled without an SPKI hash. Pass --spki-hash, or add the "
            "target first and run 'callbacks targets set-certificate'."
        )
    cert_pinning: Doc = {"enabled": pinning, **({"spkiHash": spki_hash} if spki_hash else {})}
    delivery: Doc = {"mtls": {"enabled": mtls, "certPinning": cert_pinning}}
    if max_retry_s is not None:
        delivery = {"maxRetryDurationSeconds": max_retry_s, **delivery}
    return {
        "targetId": target_id or str(uuid.uuid4()),
        "type": "API",
        "invocationEndpoint": endpoint,
        "invocationMethod": "POST",
        "invocationRateLimit": rate_limit,
        "apiKey": {"headerName": api_key_header, "headerValue": api_key},
        "delivery": delivery,
    }


def add_target(doc: Doc, target: Doc) -> list[str]:
    if any(t.get("targetId") == target["targetId"] for t in doc.get("targets", [])):
        raise Refusal(f"Target '{target['targetId']}' already exists for client '{doc.get('clientId')}'")
    doc.setdefault("targets", []).append(target)
    return target_warnings(target)


def delete_target(doc: Doc, target_id: str) -> list[str]:
    if not any(t.get("targetId") == target_id for t in doc.get("targets", [])):
        raise AlreadyAbsent(
            f"Target '{target_id}' not found for client '{doc.get('clientId')}' — nothing deleted"
        )
    users = [
        str(s.get("subscriptionId"))
        for s in doc.get("subscriptions", [])
        if target_id in (s.get("targetIds") or [])
    ]
    if users:
        raise Refusal(
            f"Cannot delete target {target_id}: still referenced by subscriptions {', '.join(users)}"
        )
    doc["targets"] = [t for t in doc.get("targets", []) if t.get("targetId") != target_id]
    return []


def set_mtls(doc: Doc, target_id: str, enabled: bool) -> list[str]:
    target = find_target(doc, target_id)
    _mtls(target)["enabled"] = enabled
    state = [w for w in target_warnings(target) if w != WARN_MTLS_OFF]
    return state if enabled else [WARN_DISABLING_MTLS, *state]


def set_pinning(doc: Doc, target_id: str, enabled: bool) -> list[str]:
    target = find_target(doc, target_id)
    pinning = _pinning(target)
    if enabled and not _has_pin(pinning):
        raise pinning_needs_certificate(str(doc.get("clientId")), target_id)
    pinning["enabled"] = enabled
    state = [w for w in target_warnings(target) if w != WARN_MTLS_OFF]
    return state if enabled else [WARN_DISABLING_PINNING, *state]


def set_certificate_pin(doc: Doc, target_id: str, spki_hash: str) -> list[str]:
    """Store the pin; never enables pinning (creates disabled mtls/certPinning blocks when absent)."""
    _pinning(find_target(doc, target_id))["spkiHash"] = spki_hash
    return []


def new_subscription(
    *,
    subscription_type: str,
    target_ids: Sequence[str],
    subscription_id: str | None = None,
    message_statuses: Sequence[str] = (),
    channel_type: str | None = None,
    channel_statuses: Sequence[str] = (),
    supplier_statuses: Sequence[str] = (),
) -> Doc:
    """A reference-shaped subscription; ``subscriptionId`` is a fresh UUID v4 unless given."""
    base: Doc = {
        "subscriptionId": subscription_id or str(uuid.uuid4()),
        "subscriptionType": subscription_type,
    }
    if subscription_type == "MessageStatus":
        if not message_statuses:
            raise Refusal("--message-statuses is required for MessageStatus subscriptions")
        return {**base, "targetIds": list(target_ids), "messageStatuses": list(message_statuses)}
    if not channel_type:
        raise Refusal("--channel-type is required for ChannelStatus subscriptions")
    if not channel_statuses and not supplier_statuses:
        raise Refusal("at least one of --channel-statuses or --supplier-statuses must be provided")
    return {
        **base,
        "targetIds": list(target_ids),
        "channelType": channel_type,
        "channelStatuses": list(channel_statuses),
        "supplierStatuses": list(supplier_statuses),
    }


def add_subscription(doc: Doc, subscription: Doc) -> list[str]:
    sid = subscription["subscriptionId"]
    if any(s.get("subscriptionId") == sid for s in doc.get("subscriptions", [])):
        raise Refusal(f"Subscription '{sid}' already exists for client '{doc.get('clientId')}'")
    doc.setdefault("subscriptions", []).append(subscription)
    return []


def delete_subscription(doc: Doc, subscription_id: str) -> list[str]:
    if not any(s.get("subscriptionId") == subscription_id for s in doc.get("subscriptions", [])):
        raise AlreadyAbsent(
            f"Subscription '{subscription_id}' not found for client '{doc.get('clientId')}' — nothing deleted"
        )
    doc["subscriptions"] = [s for s in doc["subscriptions"] if s.get("subscriptionId") != subscription_id]
    return []


def set_states(
    doc: Doc,
    subscription_id: str,
    *,
    message_statuses: Sequence[str] | None = None,
    channel_statuses: Sequence[str] | None = None,
    supplier_statuses: Sequence[str] | None = None,
) -> list[str]:
    if not (message_statuses or channel_statuses or supplier_statuses):
        raise Refusal(
            "at least one of --message-statuses, --channel-statuses, or --supplier-statuses must be provided"
        )
    subscription = find_subscription(doc, subscription_id)
    if subscription.get("subscriptionType") == "MessageStatus":
        if channel_statuses or supplier_statuses or not message_statuses:
            raise Refusal(f"Subscription '{subscription_id}' is MessageStatus: use --message-statuses")
        subscription["messageStatuses"] = list(message_statuses)
        return []
    if message_statuses:
        raise Refusal(f"Subscription '{subscription_id}' is ChannelStatus: use --channel/--supplier-statuses")
    if channel_statuses:
        subscription["channelStatuses"] = list(channel_statuses)
    if supplier_statuses:
        subscription["supplierStatuses"] = list(supplier_statuses)
    return []
