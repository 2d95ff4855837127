"""Metrics and logs of one batch, derived from its ``Decided`` values (P12): each target group's as it is
decided (before it is settled), the batch's totals at the end of ``process``.

Reference metric names (SPEC I.1) and log messages (SPEC I.2), one metric context per target. Nothing here
can fail a delivery: metrics swallow their own errors, and log fields never carry secrets (API keys and
signing keys never reach a ``Decided``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from delivery.backoff import WINDOW_EXHAUSTED
from delivery.dead_letter import iso_ms
from delivery.models import BreakerState, Disposition, RecordResult, ResultKind
from delivery.observe import metrics as m
from delivery.observe.logs import log
from delivery.observe.metrics import BatchMetrics
from delivery.stages import Decided, Routed
from delivery.verdicts import TARGET_BUSY, is_infrastructure_error

_log = logging.getLogger(__name__)
KIND_METRICS = {
    ResultKind.SUCCESS: m.DELIVERY_SUCCESS,
    ResultKind.PERMANENT: m.DELIVERY_PERMANENT_FAILURE,
    ResultKind.RATE_LIMITED: m.DELIVERY_SERVER_RATE_LIMITED,
    ResultKind.TRANSIENT: m.DELIVERY_FAILURE,
}
DELIVERY_TARGET_BUSY = "DeliveryTargetBusy"  # ours: deferred because the target's in-flight cap was full
DENIAL_METRICS = {"circuit_open": m.DELIVERY_CIRCUIT_BLOCKED, TARGET_BUSY: DELIVERY_TARGET_BUSY}
DENIAL_MESSAGES = {TARGET_BUSY: "Target busy — deferred"}


def observe_received(client_id: str, items: Sequence[Routed | Decided]) -> None:
    """``Batch received`` and one ``Processing delivery record`` per message (reference messages), with the
    record's ``correlationId`` (its payload's messageId; absent when the body could not be read)."""
    if not _log.isEnabledFor(logging.INFO):
        return
    log(_log, "info", "Batch received", clientId=client_id, batchSize=len(items))
    for item in items:
        msg = item.message
        correlation_id = item.envelope.correlation_id if isinstance(item, Routed) else item.correlation_id
        known = {"correlationId": correlation_id} if correlation_id is not None else {}
        log(
            _log,
            "info",
            "Processing delivery record",
            clientId=client_id,
            **known,
            sqsMessageId=msg.message_id,
            receiveCount=msg.receive_count,
            firstReceivedAt=iso_ms(msg.first_receive_ms),
        )


def observe_breaker(
    client_id: str, target_id: str, result: RecordResult | None, metrics: BatchMetrics
) -> None:
    if result is None or not result.changed:
        return
    if result.state is BreakerState.OPEN:
        metrics.count(target_id, m.CIRCUIT_BREAKER_OPEN)
        log(_log, "warn", "Circuit breaker opened", clientId=client_id, targetId=target_id)
    elif result.state in (BreakerState.CLOSED, BreakerState.CLOSED_RECOVERY):
        metrics.count(target_id, m.CIRCUIT_BREAKER_CLOSED)
        log(_log, "info", "Circuit breaker closed", clientId=client_id, targetId=target_id)


def _attempt_metrics(d: Decided, metrics: BatchMetrics) -> None:
    if d.kind is None:
        return
    metrics.count(d.target_id, m.DELIVERY_ATTEMPT)
    metrics.count(d.target_id, KIND_METRICS[d.kind])
    if d.elapsed_ms is not None and d.target_id:
        metrics.duration(d.target_id, d.elapsed_ms)


def _log_dead_letter(client_id: str, d: Decided, fields: dict[str, object]) -> None:
    outcome = d.outcome
    if outcome.reason == WINDOW_EXHAUSTED:
        log(_log, "warn", "Retry window exhausted — sending to DLQ", **fields)
    elif d.kind is ResultKind.PERMANENT:
        log(
            _log,
            "warn",
            "Permanent delivery failure — sending to DLQ",
            **fields,
            statusCode=outcome.status_code,
            errorCode=outcome.error_code,
        )
    else:
        log(
            _log,
            "warn",
            "Invalid message — sending to DLQ",
            **fields,
            sqsMessageId=d.message.message_id,
            errorCode=outcome.error_code,
            reason=outcome.error_message,
        )


def _log_retry(d: Decided, fields: dict[str, object]) -> None:
    outcome = d.outcome
    if is_infrastructure_error(outcome):
        log(
            _log,
            "error",
            "Failed to process record",
            **fields,
            messageId=d.message.message_id,
            err={"code": outcome.error_code, "message": outcome.error_message},
            backoffSec=outcome.delay_s,
        )
    elif d.kind is ResultKind.RATE_LIMITED:
        log(_log, "info", "Server rate limited (429)", **fields)
        log(_log, "warn", "Rate limited (429) — requeuing", **fields, delaySec=outcome.delay_s)
    else:
        log(
            _log,
            "warn",
            "Transient delivery failure — requeuing",
            **fields,
            statusCode=outcome.status_code,
            errorCode=outcome.reason,
            backoffSec=outcome.delay_s,
            receiveCount=d.message.receive_count,
        )


def _observe_one(client_id: str, d: Decided, metrics: BatchMetrics) -> None:
    _attempt_metrics(d, metrics)
    disposition = d.outcome.disposition
    if disposition is Disposition.ACK and not _log.isEnabledFor(logging.INFO):
        return  # the hot path: no record to build when INFO is off
    fields: dict[str, object] = {
        "clientId": client_id,
        "targetId": d.target_id,
        "correlationId": d.correlation_id,
    }
    if disposition is Disposition.ACK:
        log(_log, "info", "Delivery succeeded", **fields)
    elif disposition is Disposition.DEAD_LETTER:
        metrics.count(d.target_id, m.DELIVERY_DEAD_LETTERED)
        if d.outcome.reason == WINDOW_EXHAUSTED:
            metrics.count(d.target_id, m.DELIVERY_RETRY_WINDOW_EXHAUSTED)
        _log_dead_letter(client_id, d, fields)
    elif disposition is Disposition.RETRY:
        if is_infrastructure_error(d.outcome):
            metrics.count(d.target_id, m.DELIVERY_INFRASTRUCTURE_ERROR)
        _log_retry(d, fields)


def _observe_denials(client_id: str, decided: Sequence[Decided], metrics: BatchMetrics) -> None:
    denied: dict[tuple[str, str], list[Decided]] = defaultdict(list)
    for d in decided:
        if d.outcome.disposition is Disposition.DEFER:
            denied[(d.target_id or "", d.outcome.reason)].append(d)
    for (target_id, reason), group in denied.items():
        metrics.count(target_id, DENIAL_METRICS.get(reason, m.DELIVERY_RATE_LIMITED), len(group))
        log(
            _log,
            "warn",
            DENIAL_MESSAGES.get(reason, "Admission denied"),
            clientId=client_id,
            targetId=target_id,
            reason=reason,
            deniedCount=len(group),
            correlationIds=[d.correlation_id for d in group],
        )


def observe_decided(client_id: str, group: Sequence[Decided], metrics: BatchMetrics) -> None:
    """The outcome lines and metrics of one decided group, logged before the group is settled (so the
    lines describing a settle are written before it: ``delivery.observe.output``)."""
    for d in group:
        _observe_one(client_id, d, metrics)
    _observe_denials(client_id, group, metrics)


def observe_batch(client_id: str, decided: Sequence[Decided]) -> None:
    """``Batch complete``: the batch's counts (its groups were observed as they were decided)."""
    counts: dict[Disposition, int] = defaultdict(int)
    for d in decided:
        counts[d.outcome.disposition] += 1
    log(
        _log,
        "info",
        "Batch complete",
        clientId=client_id,
        batchSize=len(decided),
        deliveredCount=counts[Disposition.ACK],
        dlqCount=counts[Disposition.DEAD_LETTER],
        failureCount=counts[Disposition.RETRY] + counts[Disposition.DEFER],
    )
