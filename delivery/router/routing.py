"""``route_events(events, deps) -> RouteReport``: the router stage for one batch, used by every runtime.

    decode + validate (pure)  ->  load configs of the batch's distinct clients (thread, TTL cache)
      -> plan each record (pure: match, transform, serialise envelopes)
      -> SendMessageBatch envelopes per client queue (cut by count and bytes)   failure -> that record RETRY
      -> send rejected records to the inbound DLQ with ERROR_CODE / ERROR_MESSAGE, cut to fit SQS's
         limits with their attributes kept (``fit_dead_letter``)   failure -> RETRY
      -> logs + metrics

Each record is isolated: nothing that goes wrong for one record changes the fate of another. A record that
is RETRY may have had some of its envelopes sent; a retry resends them with the same idempotency key.
Without a ``dlq_url`` (library use), dead-lettered records are only reported.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from delivery.dead_letter import fit_dead_letter, offloaded, too_large
from delivery.observe.emf import EmfEmitter
from delivery.observe.logs import log
from delivery.observe.scrub import KNOWN_SECRETS
from delivery.queue.sqs import OutgoingMessage
from delivery.queue.sqs_limits import MAX_BATCH_ENTRIES, sqs_json, sqs_text
from delivery.router.configs import ConfigLookup, RoutesCache, load_routes
from delivery.router.events import Rejection, StatusEvent
from delivery.router.observe import log_callbacks_generated, observe
from delivery.router.payload import normalise_root_uri
from delivery.router.plan import (
    Delivery,
    Fate,
    RecordResult,
    RouteReport,
    RoutesOrProblem,
    plan_record,
)
from delivery.router.queues import QueueLocator, QueueSender, SendRequest
from delivery.router.validation import decode_event
from delivery.router.vocabulary import DEFAULT_MESSAGE_ROOT_URI
from delivery.runtime.offload import BodyStore

logger = logging.getLogger("delivery.router")
RouterInput = str | bytes | Mapping[str, Any]
SEND_BATCH_LIMIT = MAX_BATCH_ENTRIES  # per request; the sender also cuts by bytes (queue.batches)


@dataclass
class RouterDeps:
    configs: ConfigLookup
    queues: QueueLocator
    sender: QueueSender
    dlq_url: str | None = None
    message_root_uri: str = DEFAULT_MESSAGE_ROOT_URI
    metrics: EmfEmitter | None = None
    offload_config_reads: bool = True  # False only for lookups that never block (in-memory)
    routes_cache: RoutesCache = field(default_factory=RoutesCache)
    bodies: BodyStore | None = None  # inbound dead-letter bodies too large for the DLQ (beside the configs)

    def __post_init__(self) -> None:
        self.message_root_uri = normalise_root_uri(self.message_root_uri)

    @classmethod
    def with_sqs(
        cls,
        configs: ConfigLookup,
        *,
        queue_prefix: str,
        dlq_url: str | None,
        queue_urls: Mapping[str, str] | None = None,
        message_root_uri: str = DEFAULT_MESSAGE_ROOT_URI,
        metrics: EmfEmitter | None = None,
        sqs_client: Any | None = None,
        bodies: BodyStore | None = None,
    ) -> RouterDeps:
        """Deps over real SQS (one boto3 client, created here unless given; ``close()`` closes it)."""
        from delivery.router.queues import SqsQueueLocator, SqsSender

        queues = SqsQueueLocator(queue_prefix, queue_urls, client=sqs_client)
        sender = SqsSender(client=queues.client)
        return cls(configs, queues, sender, dlq_url, message_root_uri, metrics, bodies=bodies)

    def close(self) -> None:
        """Close whatever the components own (boto3 clients); components without ``close`` are skipped."""
        for part in (self.configs, self.queues, self.sender):
            close = getattr(part, "close", None)
            if callable(close):
                close()


Owners = list[list[int]]  # per send request: the record index of each message


async def _send_all(sender: QueueSender, requests: list[SendRequest]) -> list[list[int] | Exception]:
    if not requests:
        return []
    try:
        return list(await sender.send_batches(requests))
    except Exception as exc:  # the adapter failed as a whole: every request failed
        return [exc] * len(requests)


def _cause(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _envelope_requests(
    deps: RouterDeps, by_client: dict[str, list[tuple[int, Delivery]]], causes: dict[int, str]
) -> tuple[list[SendRequest], Owners]:
    """SendMessageBatch-sized requests per client queue; clients whose queue cannot be found go to causes."""
    requests: list[SendRequest] = []
    owners: Owners = []
    for client_id, items in by_client.items():
        try:
            url = await deps.queues.url_for(client_id)
        except Exception as exc:
            log(logger, "error", "Delivery queue unavailable", clientId=client_id, error=_cause(exc))
            causes.update((index, _cause(exc)) for index, _ in items)
            continue
        for start in range(0, len(items), SEND_BATCH_LIMIT):
            chunk = items[start : start + SEND_BATCH_LIMIT] if len(items) > SEND_BATCH_LIMIT else items
            requests.append((url, [d.body for _, d in chunk]))
            owners.append([index for index, _ in chunk])
    return requests, owners


def _tally(
    owners: Owners, results: list[list[int] | Exception], causes: dict[int, str], sent: dict[int, int]
) -> None:
    for owner, result in zip(owners, results, strict=True):
        if isinstance(result, Exception):
            causes.update((index, _cause(result)) for index in owner)
            continue
        failed = set(result)
        for position, index in enumerate(owner):
            if position in failed:
                causes[index] = "SendMessageBatch entry failed"
            else:
                sent[index] = sent.get(index, 0) + 1


async def _send_envelopes(deps: RouterDeps, records: list[RecordResult]) -> list[RecordResult]:
    by_client: dict[str, list[tuple[int, Delivery]]] = defaultdict(list)
    for record in records:
        for delivery in record.deliveries:
            by_client[delivery.client_id].append((record.position, delivery))
    if not by_client:
        return records
    causes: dict[int, str] = {}
    sent: dict[int, int] = {}
    requests, owners = await _envelope_requests(deps, by_client, causes)
    results = await _send_all(deps.sender, requests)
    if not causes and not any(results):  # every entry accepted (the common case): nothing to tally
        return records
    _tally(owners, results, causes, sent)
    if not causes:
        return records  # every planned envelope was sent
    return [
        record._replace(fate=Fate.RETRY, reason="send_failed", error_message=causes[record.position],
                envelopes_sent=sent.get(record.position, 0))
        if record.position in causes else record
        for record in records
    ]  # fmt: skip


def raw_body(event: RouterInput) -> str:
    if isinstance(event, str):
        return event
    if isinstance(event, bytes | bytearray):
        return bytes(event).decode("utf-8", errors="replace")
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)


def dead_letter_message(record: RecordResult, body: str) -> OutgoingMessage:
    """The inbound DLQ copy, cut to SQS's size limit with its attributes kept (``fit_dead_letter``)."""
    fitted_body, fitted = fit_dead_letter(sqs_json(body), _dead_letter_attributes(record))
    return OutgoingMessage(fitted_body, attributes=dict(fitted))


def _dead_letter_attributes(record: RecordResult) -> tuple[tuple[str, str], ...]:
    attributes = {
        "ERROR_CODE": record.error_code or "",
        "ERROR_MESSAGE": sqs_text(KNOWN_SECRETS.scrub(record.error_message or "")),
    }
    if record.event_id:
        attributes["EVENT_ID"] = record.event_id
    if record.client_id:
        attributes["CLIENT_ID"] = record.client_id
    return tuple(sorted(attributes.items()))


async def _stored_dead_letter(record: RecordResult, body: str, bodies: BodyStore | None) -> OutgoingMessage:
    """``dead_letter_message``; a body too large for the DLQ is first stored beside the configs (lossless)."""
    body, attributes = sqs_json(body), _dead_letter_attributes(record)
    if bodies is None or not too_large(body, attributes):
        return dead_letter_message(record, body)
    digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
    location = await bodies.put(f"inbound/{digest}", body)
    if location is None:
        return dead_letter_message(record, body)
    pointer, stored = offloaded(body, attributes, location)
    fitted_body, fitted = fit_dead_letter(pointer, stored)
    return OutgoingMessage(fitted_body, attributes=dict(fitted))


async def _send_dead_letters(
    deps: RouterDeps, records: list[RecordResult], events: Sequence[RouterInput]
) -> list[RecordResult]:
    rejected = [r for r in records if r.fate is Fate.DEAD_LETTERED]
    if not rejected or deps.dlq_url is None:
        return records
    messages = [await _stored_dead_letter(r, raw_body(events[r.position]), deps.bodies) for r in rejected]
    requests: list[SendRequest] = []
    owners: Owners = []
    for start in range(0, len(messages), SEND_BATCH_LIMIT):
        requests.append((deps.dlq_url, messages[start : start + SEND_BATCH_LIMIT]))
        owners.append([r.position for r in rejected[start : start + SEND_BATCH_LIMIT]])
    causes: dict[int, str] = {}
    _tally(owners, await _send_all(deps.sender, requests), causes, {})
    if causes:
        log(logger, "error", "Inbound DLQ send failed", errors=sorted(set(causes.values())))
    return [
        r._replace(fate=Fate.RETRY, reason="dlq_send_failed", error_message=causes[r.position])
        if r.position in causes else r
        for r in records
    ]  # fmt: skip


def _plan(
    index: int, decoded: StatusEvent | Rejection, routes: RoutesOrProblem | None, root_uri: str
) -> RecordResult:
    """``plan_record``, isolated: an unexpected error leaves only this record for retry."""
    try:
        return plan_record(index, decoded, routes, root_uri)
    except Exception as exc:
        logger.exception("router planning failed")
        return RecordResult(index, Fate.RETRY, "unexpected_error", error_message=_cause(exc))


async def route_events(events: Sequence[RouterInput], deps: RouterDeps) -> RouteReport:
    """Validate, transform, match and route a batch; the report has one result per input, in order."""
    started = time.perf_counter()
    decoded = [decode_event(event) for event in events]
    log_callbacks_generated(decoded)
    client_ids = {d.client_id for d in decoded if not isinstance(d, Rejection)}
    routes = await load_routes(deps.configs, deps.routes_cache, client_ids, deps.offload_config_reads)
    root_uri = deps.message_root_uri
    records = [
        _plan(i, d, None if isinstance(d, Rejection) else routes[d.client_id], root_uri)
        for i, d in enumerate(decoded)
    ]
    records = await _send_envelopes(deps, records)
    records = await _send_dead_letters(deps, records, events)
    report = RouteReport(tuple(records), (time.perf_counter() - started) * 1000)
    observe(report, deps.metrics)
    return report


def route_events_blocking(events: Sequence[RouterInput], deps: RouterDeps) -> RouteReport:
    """``route_events`` for synchronous callers (scripts, Locust users): runs its own event loop."""
    return asyncio.run(route_events(events, deps))
