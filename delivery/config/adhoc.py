"""One callback target described on the command line, or picked out of a client config (pure).

``callbacks send`` delivers to a single target. It is either a target of a real client config
(``target_in(config_doc, target_id)``), or one built from flags (``target_from_flags``) through the same
validated model, so a bad flag is reported with the config path it stands for (``invocationEndpoint``...).

Signing from flags: a webhook secret selects Standard Webhooks; an application id alone selects the
reference scheme; both together sign with both (``includeReferenceHeader``), as a config would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from delivery.config.client import CallbackTarget, ClientConfig, parse_client_config
from delivery.errors import ConfigError

ADHOC_TARGET_ID = "callbacks-send"


class TargetNotFound(ConfigError):
    """The config has no target with the asked-for id (the message lists the ones it has)."""


@dataclass(frozen=True, slots=True)
class TargetFlags:
    url: str
    api_key: str
    api_key_header: str = "x-api-key"
    application_id: str | None = None
    webhook_secrets: tuple[str, ...] = ()
    mtls: bool = False
    pins: tuple[str, ...] = ()
    target_id: str = ADHOC_TARGET_ID


def _signing(flags: TargetFlags) -> dict[str, Any]:
    if not flags.webhook_secrets:
        return {"scheme": "reference"}
    return {
        "scheme": "standard-webhooks",
        "secrets": list(flags.webhook_secrets),
        "includeReferenceHeader": flags.application_id is not None,
    }


def _pinning(pins: Sequence[str]) -> dict[str, Any]:
    if not pins:
        return {"enabled": False}
    return {"enabled": True, "spkiHash": pins[0], "spkiHashes": list(pins[1:])}


def target_document(flags: TargetFlags) -> dict[str, Any]:
    """The client-config JSON of the target the flags describe."""
    return {
        "targetId": flags.target_id,
        "type": "API",
        "invocationEndpoint": flags.url,
        "invocationMethod": "POST",
        "invocationRateLimit": 1,
        "apiKey": {"headerName": flags.api_key_header, "headerValue": flags.api_key},
        "delivery": {
            "mtls": {"enabled": flags.mtls, "certPinning": _pinning(flags.pins)},
            "signing": _signing(flags),
        },
    }


def target_from_flags(flags: TargetFlags) -> CallbackTarget:
    """Validated like a config; raises ``ConfigValidationError`` naming each bad field."""
    return target_in(config_with_target(target_document(flags)), flags.target_id)


def config_with_target(target: dict[str, Any]) -> ClientConfig:
    """A one-target client config around ``target`` (subscribed to DELIVERED message statuses)."""
    return parse_client_config(
        {
            "clientId": "callbacks-send",
            "subscriptions": [
                {
                    "subscriptionId": "callbacks-send",
                    "subscriptionType": "MessageStatus",
                    "messageStatuses": ["DELIVERED"],
                    "targetIds": [target["targetId"]],
                }
            ],
            "targets": [target],
        }
    )


def target_in(config: ClientConfig, target_id: str) -> CallbackTarget:
    for target in config.targets:
        if target.target_id == target_id:
            return target
    known = ", ".join(t.target_id for t in config.targets) or "none"
    raise TargetNotFound(f"target {target_id!r} is not in client {config.client_id!r} (its targets: {known})")


__all__ = [
    "ADHOC_TARGET_ID",
    "TargetFlags",
    "TargetNotFound",
    "config_with_target",
    "target_document",
    "target_from_flags",
    "target_in",
]
