"""The router as an AWS Lambda handler on the inbound SQS queue (``ReportBatchItemFailures``).

``handler(event, context)`` routes the SQS records and returns ``{"batchItemFailures": [...]}`` naming only
the records to retry (config or queue unavailable, a failed send). Invalid events are sent to the inbound
DLQ by the router itself (``INBOUND_DLQ_URL``, required) and count as processed, so they are not retried.

Environment (read once per container, dependencies kept across warm starts): see
``delivery.router.settings`` and ``delivery.config.store`` — the reference's ``MESSAGE_ROOT_URI``,
``METRICS_NAMESPACE``, ``ENVIRONMENT``, ``CLIENT_SUBSCRIPTION_CONFIG_BUCKET`` / ``_PREFIX`` /
``CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS``, ``LOG_LEVEL``, plus ``INBOUND_DLQ_URL``,
``DELIVERY_QUEUE_PREFIX``, ``DELIVERY_QUEUE_URLS``. A missing ``METRICS_NAMESPACE`` or ``ENVIRONMENT`` is a
startup error here, as in the reference.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from delivery.config.store import CONFIG_BUCKET_ENV, CONFIG_DIR_ENV, cached_configs_from_env
from delivery.observe import logs, output
from delivery.observe.emf import EmfEmitter
from delivery.queue.sqs import received_from_lambda_record
from delivery.router.routing import RouterDeps, route_events
from delivery.router.settings import RouterSettings
from delivery.runtime.offload import body_store_at
from delivery.runtime.settings import SettingsError, lambda_metrics_problems

_deps: RouterDeps | None = None


def build_deps(environ: Mapping[str, str], *, lambda_runtime: bool = True) -> RouterDeps:
    """The router's dependencies; in a Lambda runtime ``METRICS_NAMESPACE`` and ``ENVIRONMENT`` are
    required (the reference throws without them), the CLI router falls back to the defaults."""
    settings = RouterSettings.from_env(environ)
    problems = [] if settings.dlq_url else ["INBOUND_DLQ_URL is required"]
    problems += lambda_metrics_problems(environ) if lambda_runtime else []
    if problems:
        raise SettingsError(problems)
    return RouterDeps.with_sqs(
        cached_configs_from_env(environ),
        queue_prefix=settings.queue_prefix,
        queue_urls=settings.queue_urls,
        dlq_url=settings.dlq_url,
        message_root_uri=settings.message_root_uri,
        metrics=EmfEmitter(settings.metrics_namespace, {"Environment": settings.environment}),
        bodies=body_store_at(environ.get(CONFIG_DIR_ENV), environ.get(CONFIG_BUCKET_ENV)),
    )


def _cold_start() -> RouterDeps:
    global _deps
    if _deps is None:
        logs.configure(os.environ.get("LOG_LEVEL") or "INFO")
        _deps = build_deps(os.environ)
    return _deps


def reset() -> None:
    """Close and forget the cached dependencies (tests; a new environment)."""
    global _deps
    if _deps is not None:
        _deps.close()
    _deps = None


def handler(event: Mapping[str, Any], context: object = None) -> dict[str, list[dict[str, str]]]:
    """One invocation; its output lines are batched and all written before it returns or raises."""
    with output.buffered():
        return _handle(event)


def _handle(event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    deps = _cold_start()
    messages = [received_from_lambda_record(record) for record in event.get("Records") or ()]
    if not messages:
        return {"batchItemFailures": []}
    report = asyncio.run(route_events([m.body for m in messages], deps))
    return {"batchItemFailures": [{"itemIdentifier": messages[i].message_id} for i in report.retry_indexes]}
