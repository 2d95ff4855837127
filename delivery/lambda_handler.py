"""AWS Lambda entry point for an SQS event source mapping with ``ReportBatchItemFailures`` (SPEC J).

``handler(event, context)`` runs the same pipeline as the worker and returns ``{"batchItemFailures": [...]}``.
Settling differs in one way: the event source mapping deletes every record that is not reported, so nothing
is deleted here. RETRY/DEFER records get their visibility changed first and are then reported (so SQS
honours the delay, P5); dead letters are sent to the DLQ (with P10 attributes) and not reported.

Resources (HTTPS pools, TLS material, Redis, config caches) live in module state and are reused across warm
invocations, on one event loop that persists with the container. Configured by environment variables
(``Settings.from_env``), read once at cold start; ``METRICS_NAMESPACE`` and ``ENVIRONMENT`` are required
(a startup error, as in the reference, not silent defaults). Without ``CLIENT_ID`` every record is
dead-lettered with ``ERROR_CODE=CLIENT_ID_MISSING`` (the reference DLQs them too, without attributes).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from delivery.dead_letter import with_dead_letter_attributes
from delivery.models import Disposition, Outcome, ReceivedMessage
from delivery.observe import logs, output
from delivery.observe.logs import log
from delivery.queue.sqs import SqsQueue, received_from_lambda_record
from delivery.runtime.resources import Resources, open_resources
from delivery.runtime.settings import Settings, SettingsError, lambda_metrics_problems
from delivery.runtime.settle import settle
from delivery.runtime.worker import BatchProcessor, Consumer, freeze_startup_objects
from delivery.stages import Decided, Progress

_log = logging.getLogger(__name__)
CLIENT_ID_MISSING = "CLIENT_ID_MISSING"


class MissingClientId:
    """Processor used when ``CLIENT_ID`` is unset: every record goes to the DLQ, with attributes."""

    async def process(
        self, messages: Sequence[ReceivedMessage], progress: Progress | None = None
    ) -> list[Decided]:
        log(_log, "error", "CLIENT_ID is required — sending all records to DLQ", batchSize=len(messages))
        outcome = Outcome(
            Disposition.DEAD_LETTER,
            CLIENT_ID_MISSING,
            error_code=CLIENT_ID_MISSING,
            error_message="CLIENT_ID is not set on the delivery function",
        )
        return [
            Decided(m, with_dead_letter_attributes(outcome, m, client_id="", target_id=None))
            for m in messages
        ]


@dataclass
class LambdaState:
    loop: asyncio.AbstractEventLoop
    consumer: Consumer
    resources: Resources | None
    sqs_client: Any

    def close(self) -> None:
        if self.resources is not None:
            self.loop.run_until_complete(self.resources.close())
        self.sqs_client.close()
        self.loop.close()


_STATE: LambdaState | None = None


def build_state(environ: Mapping[str, str]) -> LambdaState:
    settings = Settings.from_env(environ)
    logs.configure(settings.log_level)
    missing = [
        f"{name} is required"
        for name, v in (("QUEUE_URL", settings.queue_url), ("DLQ_URL", settings.dlq_url))
        if not v
    ]
    if settings.client_id:
        missing += settings.problems_for_worker() + lambda_metrics_problems(environ)
    if missing:
        raise SettingsError(missing)
    import boto3

    loop = asyncio.new_event_loop()
    sqs_client = boto3.client("sqs")
    queue, dlq = SqsQueue(settings.queue_url or "", sqs_client), SqsQueue(settings.dlq_url or "", sqs_client)
    if not settings.client_id:
        return LambdaState(loop, Consumer("", queue, dlq, MissingClientId()), None, sqs_client)
    resources = open_resources(settings, environ)
    processor: BatchProcessor = resources.pipeline_for(settings.client_id)
    consumer = Consumer(settings.client_id, queue, dlq, processor, resources.bodies)
    return LambdaState(loop, consumer, resources, sqs_client)


async def handle_event(event: Mapping[str, Any], consumer: Consumer) -> dict[str, list[dict[str, str]]]:
    messages = [received_from_lambda_record(r) for r in event.get("Records", [])]
    decided = await consumer.processor.process(messages)
    report = await settle(decided, consumer.queue, consumer.dlq, delete_settled=False, bodies=consumer.bodies)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in report.failed_ids]}


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
    """One invocation; its output lines are batched and all written before it returns or raises."""
    with output.buffered():
        return _handle(event)


def _handle(event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    global _STATE
    if _STATE is None:
        _STATE = build_state(os.environ)
        if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:  # a real Lambda container (not a test process)
            freeze_startup_objects()
    return _STATE.loop.run_until_complete(handle_event(event, _STATE.consumer))


def reset() -> None:
    """Close the warm resources (tests; a new container starts fresh anyway)."""
    global _STATE
    if _STATE is not None:
        _STATE.close()
        _STATE = None
