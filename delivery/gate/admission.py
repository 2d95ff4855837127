"""The gate around one target batch: admit before delivering, record the results after (SPEC C, P8).

``admit`` lets the first ``consumed`` records through (arrival order kept) and defers the rest with the
gate's retry-after plus jitter (``decide_denied``; a record whose window would pass is dead-lettered).
A gate failure (Redis unreachable) requeues the whole batch with jittered backoff: nothing is delivered
without admission, nothing is lost. ``record`` feeds the breaker: 429s and transient failures count as
failures, permanent 4xx as answers from a live endpoint; records that were never sent are not counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from delivery.backoff import decide_denied
from delivery.gate.scripts import Gate, TargetGateParams
from delivery.models import AdmitDecision, RecordResult, ResultKind
from delivery.observe.logs import log
from delivery.stages import Decided, Routed, TargetBatch
from delivery.verdicts import GATE_UNAVAILABLE, infrastructure_retry

_log = logging.getLogger(__name__)
BREAKER_FAILURES = frozenset({ResultKind.RATE_LIMITED, ResultKind.TRANSIENT})


def deferred(
    records: Sequence[Routed], decision: AdmitDecision, *, now_ms: int, rand: Callable[[], float]
) -> list[Decided]:
    return [
        Decided(
            r.message,
            decide_denied(
                decision,
                receive_count=r.message.receive_count,
                first_receive_ms=r.message.first_receive_ms,
                now_ms=now_ms,
                max_retry_s=r.target.delivery.max_retry_duration_seconds,
                rand=rand(),
            ),
            r.target_id,
            r.envelope.correlation_id,
        )
        for r in records
    ]


def _unavailable(records: Sequence[Routed], error: Exception, rand: Callable[[], float]) -> list[Decided]:
    log(_log, "error", "Gate unavailable — requeuing", targetId=records[0].target_id, error=str(error))
    return [
        Decided(
            r.message,
            infrastructure_retry(GATE_UNAVAILABLE, error, receive_count=r.message.receive_count, rand=rand()),
            r.target_id,
            r.envelope.correlation_id,
        )
        for r in records
    ]


async def admit(
    gate: Gate, params: TargetGateParams, batch: TargetBatch, *, now_ms: int, rand: Callable[[], float]
) -> tuple[list[Routed], list[Decided]]:
    """(admitted records, decided records: deferred or requeued)."""
    try:
        decision = await gate.admit(batch.target.target_id, params, len(batch.records))
    except Exception as exc:  # GateUnavailable, or anything the adapter did not map: requeue, never lose
        return [], _unavailable(batch.records, exc, rand)
    consumed = max(0, min(decision.consumed, len(batch.records)))
    if consumed > 0:  # the rest of a partly admitted batch: rate limited (SPEC E.2)
        decision = replace(decision, reason="rate_limited")
    rejected = deferred(batch.records[consumed:], decision, now_ms=now_ms, rand=rand)
    return list(batch.records[:consumed]), rejected


async def record(
    gate: Gate, params: TargetGateParams, target_id: str, results: Sequence[Decided]
) -> RecordResult | None:
    attempted = [d for d in results if d.kind is not None]
    if not params.cb_enabled or not attempted:
        return None
    failures = sum(1 for d in attempted if d.kind in BREAKER_FAILURES)
    try:
        return await gate.record(target_id, params, len(attempted), failures)
    except (
        Exception
    ) as exc:  # GateUnavailable or unmapped; deliveries already happened; the breaker misses one sample
        log(_log, "error", "Gate record failed", targetId=target_id, error=str(exc))
        return None
