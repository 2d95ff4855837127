"""Outcomes the runtime decides on its own (pure): poison messages and infrastructure errors (SPEC P9).

A body that can never be delivered goes straight to the DLQ (``INVALID_MESSAGE`` / ``TARGET_NOT_FOUND``).
A dependency failure (config store, applications map, Redis, TLS material, or an unexpected exception) is not
the message's fault: it is requeued with the reference jittered backoff, and the retry window still bounds
it. A record whose target is overloaded (``TARGET_BUSY``: its in-flight cap cannot start it within
TARGET_QUEUE_WAIT_MS) is deferred like a gate denial: no attempt used, no breaker failure, short jittered
delay, dead-lettered only if the delay would pass its retry window. Every other outcome comes from
``delivery.backoff``.
"""

from __future__ import annotations

from delivery.backoff import decide_denied, transient_delay_s
from delivery.errors import PoisonMessage
from delivery.models import AdmitDecision, Disposition, Outcome

CONFIG_UNAVAILABLE = "CONFIG_UNAVAILABLE"
APPLICATION_MAP_UNAVAILABLE = "APPLICATION_MAP_UNAVAILABLE"
GATE_UNAVAILABLE = "GATE_UNAVAILABLE"
TLS_MATERIAL_ERROR = "TLS_MATERIAL_ERROR"
SIGNING_ERROR = "SIGNING_ERROR"
INTERNAL_ERROR = "INTERNAL_ERROR"
TARGET_BUSY = "TARGET_BUSY"
INFRASTRUCTURE_CODES = frozenset(
    {
        CONFIG_UNAVAILABLE,
        APPLICATION_MAP_UNAVAILABLE,
        GATE_UNAVAILABLE,
        TLS_MATERIAL_ERROR,
        SIGNING_ERROR,
        INTERNAL_ERROR,
    }
)


def poison(error: PoisonMessage) -> Outcome:
    return Outcome(
        Disposition.DEAD_LETTER, error.code, error_code=error.code, error_message=error.reason[:1024]
    )


def infrastructure_retry(code: str, error: BaseException, *, receive_count: int, rand: float) -> Outcome:
    """Requeue after a dependency failure; ``error_message`` keeps the cause for logs (never a secret)."""
    message = f"{type(error).__name__}: {error}"[:1024]
    return Outcome(
        Disposition.RETRY,
        code,
        delay_s=transient_delay_s(receive_count, rand),
        error_code=code,
        error_message=message,
    )


def is_infrastructure_error(outcome: Outcome) -> bool:
    return outcome.disposition is Disposition.RETRY and outcome.reason in INFRASTRUCTURE_CODES


def target_busy(
    *, first_receive_ms: float, now_ms: float, max_retry_s: float, wait_bound_ms: float, rand: float
) -> Outcome:
    """DEFER a record its overloaded target could not start (reason ``TARGET_BUSY``): the delay is the wait
    bound (at least 1 s) plus jitter; past the retry window it is dead-lettered instead."""
    busy = AdmitDecision(consumed=0, reason=TARGET_BUSY, retry_after_ms=wait_bound_ms, effective_rate=0.0)
    return decide_denied(
        busy,
        receive_count=0,
        first_receive_ms=first_receive_ms,
        now_ms=now_ms,
        max_retry_s=max_retry_s,
        rand=rand,
    )
