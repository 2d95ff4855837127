"""Logs and EMF metrics for one routed batch. Pure counting + thin emit; never raises.

Metrics (``vocabulary.Metric``), one EMF line per client per batch with ``ClientId`` as a dimension (events
whose client is unknown are counted without it): received, invalid, filtered-out, matched, envelopes sent,
retried, config-invalid. Each record counts once under ``RECEIVED`` and once under its fate.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, Final

from delivery.observe.emf import EmfEmitter
from delivery.observe.logs import log
from delivery.router.events import MessageStatusEvent, Rejection, StatusEvent
from delivery.router.plan import Fate, RecordResult, RouteReport
from delivery.router.vocabulary import ErrorCode, Metric

logger = logging.getLogger("delivery.router")
_WARN_FATES = frozenset({Fate.DEAD_LETTERED, Fate.RETRY})
_INVALID_CODES = frozenset({ErrorCode.INVALID_EVENT.value, ErrorCode.UNSUPPORTED_TYPE.value})


_RECEIVED: Final = Metric.RECEIVED.value  # plain strings: an enum's ``.value`` is a descriptor call
_MATCHED: Final = Metric.MATCHED.value
_SENT: Final = Metric.ENVELOPES_SENT.value
_FATE_METRICS: Final = {Fate.FILTERED_OUT: Metric.FILTERED_OUT.value, Fate.RETRY: Metric.RETRIED.value}


def _fate_metric(record: RecordResult) -> str | None:
    if record.fate is Fate.DEAD_LETTERED:
        return Metric.INVALID.value if record.error_code in _INVALID_CODES else Metric.CONFIG_INVALID.value
    return _FATE_METRICS.get(record.fate)


def metric_counts(report: RouteReport) -> dict[str | None, dict[str, int]]:
    """{clientId or None: {metric name: count}}; only non-zero counts, each in the order first counted."""
    counts: dict[str | None, dict[str, int]] = {}
    for record in report.records:
        per_client = counts.get(record.client_id)
        if per_client is None:
            per_client = counts[record.client_id] = {_RECEIVED: 1}
        else:
            per_client[_RECEIVED] += 1
        if record.fate is not Fate.ROUTED:
            fate_metric = _fate_metric(record)
            if fate_metric is not None:
                per_client[fate_metric] = per_client.get(fate_metric, 0) + 1
        if record.deliveries:
            per_client[_MATCHED] = per_client.get(_MATCHED, 0) + 1
        if record.envelopes_sent:
            per_client[_SENT] = per_client.get(_SENT, 0) + record.envelopes_sent
    return counts


def emit_metrics(emitter: EmfEmitter, report: RouteReport) -> None:
    for client_id, values in metric_counts(report).items():
        dimensions = {"ClientId": client_id} if client_id else None
        emitter.emit(values, dimensions=dimensions)


def _log_record(record: RecordResult) -> None:
    common = {"correlationId": record.event_id, "clientId": record.client_id, "eventType": record.event_type}
    if record.fate is Fate.ROUTED:
        targets = [d.target_id for d in record.deliveries]
        log(
            logger,
            "info",
            "Event routed",
            **common,
            messageId=record.message_id,
            subscriptionIds=list(record.subscription_ids),
            targetIds=targets,
            envelopes=record.envelopes_sent,
        )
    elif record.fate is Fate.FILTERED_OUT:
        log(logger, "info", "Event filtered out - no matching subscription", **common, reason=record.reason)
    elif record.fate is Fate.DEAD_LETTERED:
        log(
            logger,
            "warn",
            "Event rejected — sending to inbound DLQ",
            **common,
            errorCode=record.error_code,
            error=record.error_message,
        )
    else:
        log(
            logger,
            "warn",
            "Event left on the inbound queue for retry",
            **common,
            reason=record.reason,
            error=record.error_message,
        )


def callback_fields(event: StatusEvent) -> dict[str, Any]:
    """The fields of the reference's ``Callback generated`` log (SPEC-ROUTER T5.4), values lower-cased as in
    the payload; absent optional fields are left out (as pino leaves out ``undefined``)."""
    fields: dict[str, Any] = {
        "correlationId": event.event_id,
        "callbackType": event.callback_type.value,
        "clientId": event.client_id,
        "messageId": event.message_id,
        "messageReference": event.message_reference,
    }
    if isinstance(event, MessageStatusEvent):
        fields["messageStatus"] = event.message_status.lower()
        fields["messageStatusDescription"] = event.message_status_description
        fields["messageFailureReasonCode"] = event.message_failure_reason_code
        fields["channels"] = [
            {"type": ch.type.lower(), "channelStatus": ch.channel_status.lower()} for ch in event.channels
        ]
    else:
        fields["channel"] = event.channel.lower()
        fields["channelStatus"] = event.channel_status.lower()
        fields["channelStatusDescription"] = event.channel_status_description
        fields["channelFailureReasonCode"] = event.channel_failure_reason_code
        fields["supplierStatus"] = event.supplier_status
    return {key: value for key, value in fields.items() if value is not None}


def log_callbacks_generated(decoded: Sequence[StatusEvent | Rejection]) -> None:
    """``Callback generated`` once per valid event, before filtering (as the reference's transform step)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    try:
        for event in decoded:
            if not isinstance(event, Rejection):
                log(logger, "info", "Callback generated", **callback_fields(event))
    except Exception:  # observability must never break routing
        logger.exception("router observe failed")


def _log_invalid_configs(records: Iterable[RecordResult]) -> None:
    problems: dict[str, tuple[str, int]] = {}
    for record in records:
        if record.error_code == ErrorCode.CLIENT_CONFIG_INVALID.value and record.client_id:
            _, seen = problems.get(record.client_id, ("", 0))
            problems[record.client_id] = (record.error_message or "", seen + 1)
    for client_id, (message, events) in problems.items():
        log(logger, "error", "Client config invalid", clientId=client_id, error=message, events=events)


def observe(report: RouteReport, emitter: EmfEmitter | None) -> None:
    """Per-record logs, one error per client with an invalid config, the batch summary, metrics."""
    try:
        unusual = [r for r in report.records if r.fate in _WARN_FATES]
        if logger.isEnabledFor(logging.INFO):
            for record in report.records:
                _log_record(record)
            counts = report.counts()
            log(
                logger,
                "info",
                "Router batch complete",
                batchSize=len(report.records),
                routed=counts["routed"],
                filteredOut=counts["filtered_out"],
                deadLettered=counts["dead_lettered"],
                retry=counts["retry"],
                envelopesSent=report.envelopes_sent,
                processingTimeMs=round(report.duration_ms, 3),
            )
        else:
            for record in unusual:
                _log_record(record)
        if unusual:
            _log_invalid_configs(unusual)
        if emitter is not None:
            emit_metrics(emitter, report)
    except Exception:  # observability must never break routing
        logger.exception("router observe failed")
