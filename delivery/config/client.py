"""Client subscription config: pydantic v2 models of the reference JSON (SPEC A, P1, P2, P8, P11).

``parse_client_config(data)`` accepts the reference document unchanged (camelCase keys, unknown keys ignored;
``strict=True`` reports them) and raises one ``ConfigValidationError`` listing every problem with its path
and the reference message. Python attributes are snake_case; ``to_json_dict()`` gives the camelCase JSON
back (only the fields that were present or set, so a reference document round-trips unchanged).

Signing secrets (``delivery.signing.secrets``) never need to live in a config: each entry is either
``env:<VARIABLE>`` (the secret is read from that environment variable when signing) or a literal
``whsec_<base64>`` value (fine for local fixtures and tests). The first secret signs; all are sent
(one ``v1,`` entry each) so a client can rotate without downtime.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from delivery.config.rules import (
    HeaderName,
    HeaderValue,
    Id,
    Number,
    SecretRef,
    SpkiHash,
    StrictBoolean,
    Text,
    UrlCheck,
    bounded,
    cross_field_issues,
    endpoint_issues,
    https_url,
    issues_from_pydantic,
)
from delivery.errors import ConfigIssue, ConfigValidationError

MAX_RETRY_DURATION_S = 43200
DEFAULT_MAX_RETRY_DURATION_S = 7200

MessageStatus = Literal["FAILED", "PENDING_ENRICHMENT", "DELIVERED", "ENRICHED", "SENDING"]
ChannelType = Literal["NHSAPP", "EMAIL", "SMS", "LETTER"]
ChannelStatus = Literal[
    "ASSIGNING_BATCH", "CREATED", "SENDING", "DELIVERED", "FAILED", "RETRY", "SKIPPED", "STALE_PDS"
]
SupplierStatus = Literal[
    "accepted", "cancelled", "created", "delivered", "dispatched", "enclosed", "failed", "forwarded",
    "pending", "printed", "read", "notification_attempted", "notified", "rejected", "returned", "sending",
    "sent", "received", "permanent_failure", "temporary_failure", "technical_failure", "unnotified",
    "unknown",
]  # fmt: skip

MESSAGE_STATUSES: tuple[str, ...] = get_args(MessageStatus)
CHANNEL_TYPES: tuple[str, ...] = get_args(ChannelType)
CHANNEL_STATUSES: tuple[str, ...] = get_args(ChannelStatus)
SUPPLIER_STATUSES: tuple[str, ...] = get_args(SupplierStatus)


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
        extra="ignore",
    )


class ApiKey(_Model):
    header_name: HeaderName
    header_value: Annotated[HeaderValue, Field(repr=False)]


class CircuitBreakerSettings(_Model):
    enabled: StrictBoolean = False
    failure_threshold: Annotated[Number, bounded(ge=0, le=1)] | None = None
    min_attempts: Annotated[Number, bounded(ge=1, le=1_000_000)] | None = None
    sample_period_seconds: Annotated[Number, bounded(gt=0, le=86400)] | None = None
    cooldown_seconds: Annotated[Number, bounded(gt=0, le=86400)] | None = None
    recovery_seconds: Annotated[Number, bounded(ge=0, le=86400)] | None = None


class CertPinning(_Model):
    enabled: StrictBoolean = False
    spki_hash: SpkiHash | None = None
    spki_hashes: tuple[SpkiHash, ...] = ()  # backup pins (P11)

    @property
    def pins(self) -> tuple[str, ...]:
        """Every accepted pin (primary first), or () when pinning is off."""
        if not self.enabled:
            return ()
        pins = (self.spki_hash, *self.spki_hashes) if self.spki_hash else self.spki_hashes
        return tuple(dict.fromkeys(pins))


class MtlsSettings(_Model):
    enabled: StrictBoolean = False
    cert_pinning: CertPinning = CertPinning()


class RateLimitSettings(_Model):
    burst: Annotated[Number, bounded(ge=1, le=1_000_000)] | None = None  # bucket capacity override


class SigningSettings(_Model):
    scheme: Literal["reference", "standard-webhooks"] = "reference"
    secrets: Annotated[tuple[SecretRef, ...], Field(repr=False)] = ()  # "env:NAME" or "whsec_<b64>"
    include_reference_header: StrictBoolean = False  # also send x-hmac-sha256-signature (standard-webhooks)


class TargetDelivery(_Model):
    max_retry_duration_seconds: Annotated[Number, bounded(gt=0, le=MAX_RETRY_DURATION_S)] = (
        DEFAULT_MAX_RETRY_DURATION_S
    )
    circuit_breaker: CircuitBreakerSettings = CircuitBreakerSettings()
    mtls: MtlsSettings = MtlsSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    signing: SigningSettings = SigningSettings()
    timeout_seconds: Annotated[Number, bounded(gt=0, le=900)] | None = None
    connect_timeout_seconds: Annotated[Number, bounded(gt=0, le=900)] | None = None


class CallbackTarget(_Model):
    target_id: Id
    type: Literal["API"]
    invocation_endpoint: Annotated[Text, https_url()]
    invocation_method: Literal["POST"]
    invocation_rate_limit: Annotated[Number, bounded(gt=0)]
    api_key: ApiKey
    delivery: TargetDelivery = TargetDelivery()


class MessageStatusSubscription(_Model):
    subscription_type: Literal["MessageStatus"]
    subscription_id: Id
    target_ids: Annotated[tuple[Text, ...], Field(min_length=1)]
    message_statuses: tuple[MessageStatus, ...]


class ChannelStatusSubscription(_Model):
    subscription_type: Literal["ChannelStatus"]
    subscription_id: Id
    target_ids: Annotated[tuple[Text, ...], Field(min_length=1)]
    channel_type: ChannelType
    channel_statuses: tuple[ChannelStatus, ...]
    supplier_statuses: tuple[SupplierStatus, ...]


Subscription = Annotated[
    MessageStatusSubscription | ChannelStatusSubscription, Field(discriminator="subscription_type")
]


class ClientConfig(_Model):
    client_id: Id
    subscriptions: tuple[Subscription, ...]
    targets: tuple[CallbackTarget, ...]

    def target(self, target_id: str) -> CallbackTarget | None:
        return next((t for t in self.targets if t.target_id == target_id), None)

    def to_json_dict(self) -> dict[str, Any]:
        """Reference camelCase JSON (fields that were present or explicitly set)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def parse_client_config(
    data: object, *, strict: bool = False, url_check: UrlCheck | None = None
) -> ClientConfig:
    """Validate a decoded JSON document; raise one ConfigValidationError listing every problem.

    ``url_check`` (the egress policy's ``url_problem`` where a person edits configs) adds a problem at
    ``targets.N.invocationEndpoint`` for every refused endpoint."""
    issues: list[ConfigIssue] = []
    config: ClientConfig | None = None
    try:
        config = ClientConfig.model_validate(
            data, extra="forbid" if strict else None, by_alias=True, by_name=False
        )
    except ValidationError as exc:
        issues.extend(issues_from_pydantic(exc))
    issues.extend(cross_field_issues(data))
    if url_check is not None:
        issues.extend(endpoint_issues(data, url_check))
    if issues or config is None:
        raise ConfigValidationError(issues)
    return config


__all__ = [
    "CHANNEL_STATUSES",
    "CHANNEL_TYPES",
    "DEFAULT_MAX_RETRY_DURATION_S",
    "MAX_RETRY_DURATION_S",
    "MESSAGE_STATUSES",
    "SUPPLIER_STATUSES",
    "ApiKey",
    "CallbackTarget",
    "CertPinning",
    "ChannelStatusSubscription",
    "CircuitBreakerSettings",
    "ClientConfig",
    "ConfigIssue",
    "ConfigValidationError",
    "MessageStatusSubscription",
    "MtlsSettings",
    "RateLimitSettings",
    "SigningSettings",
    "Subscription",
    "TargetDelivery",
    "parse_client_config",
]
