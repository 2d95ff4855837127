"""Router settings, read once from the environment at the edge (CLI, Lambda) and passed down.

Variables: ``MESSAGE_ROOT_URI`` (default ``/v1/message-batches``; absolute URL or absolute path),
``DELIVERY_QUEUE_PREFIX`` (default ``callbacks-local``; queue ``<prefix>-<clientId>-delivery-queue``),
``DELIVERY_QUEUE_URLS`` (optional JSON ``{clientId: queueUrl}``, wins over the name), ``INBOUND_DLQ_URL``,
``METRICS_NAMESPACE`` (default ``enhanced-callbacks``), ``ENVIRONMENT`` (default ``local``), ``LOG_LEVEL``;
the Lambda handler requires the two metrics variables (as the reference does), the CLI router says at
startup when it uses the defaults.
Client configs use the shared variables of ``delivery.config.store`` (``CLIENT_SUBSCRIPTION_CONFIG_DIR`` or
``CLIENT_SUBSCRIPTION_CONFIG_BUCKET`` + ``_PREFIX``, ``CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from delivery.queue.names import DEFAULT_QUEUE_PREFIX
from delivery.router.payload import normalise_root_uri
from delivery.router.vocabulary import DEFAULT_MESSAGE_ROOT_URI
from delivery.runtime.settings import DEFAULT_ENVIRONMENT, DEFAULT_METRICS_NAMESPACE, SettingsError


def _queue_urls(raw: str | None, problems: list[str]) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        problems.append(f"DELIVERY_QUEUE_URLS must be a JSON object of clientId -> queue URL: {exc}")
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
        problems.append("DELIVERY_QUEUE_URLS must be a JSON object of clientId -> queue URL")
        return {}
    return {str(k): v for k, v in value.items()}


@dataclass(frozen=True, slots=True)
class RouterSettings:
    message_root_uri: str = DEFAULT_MESSAGE_ROOT_URI
    queue_prefix: str = DEFAULT_QUEUE_PREFIX
    queue_urls: Mapping[str, str] = field(default_factory=dict)
    dlq_url: str | None = None
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
    environment: str = DEFAULT_ENVIRONMENT
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RouterSettings:
        """Every bad variable is reported at once (``SettingsError.problems``)."""

        def text(name: str) -> str | None:
            return environ.get(name, "").strip() or None

        problems: list[str] = []
        root = text("MESSAGE_ROOT_URI") or DEFAULT_MESSAGE_ROOT_URI
        try:
            root = normalise_root_uri(root)
        except ValueError as exc:
            problems.append(str(exc))
        settings = cls(
            message_root_uri=root,
            queue_prefix=text("DELIVERY_QUEUE_PREFIX") or DEFAULT_QUEUE_PREFIX,
            queue_urls=_queue_urls(text("DELIVERY_QUEUE_URLS"), problems),
            dlq_url=text("INBOUND_DLQ_URL"),
            metrics_namespace=text("METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
            environment=text("ENVIRONMENT") or DEFAULT_ENVIRONMENT,
            log_level=(text("LOG_LEVEL") or "INFO").upper(),
        )
        if problems:
            raise SettingsError(problems)
        return settings
