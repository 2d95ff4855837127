"""Outcomes the runtime decides on its own (pure): poison messages and infrastructure errors (SPEC P9).

A body that can never be delivered goes straight to the DLQ (``INVALID_MESSAGE`` / ``TARGET_NOT_FOUND``).
A dependency failure (config store, applications map, Redis, TLS material, or an unexpected exception) is not
the message's fault: it is requeued with the reference jittered backoff, and the retry window still bounds
it. Every other outcome comes from ``delivery.backoff``.
"""

from __future__ import annotations

from delivery.backoff import transient_delay_s
from delivery.errors import PoisonMessage
from delivery.models import Disposition, Outcome

CONFIG_UNAVAILABLE = "CONFIG_UNAVAILABLE"
APPLICATION_MAP_UNAVAILABLE = "APPLICATION_MAP_UNAVAILABLE"
GATE_UNAVAILABLE = "GATE_UNAVAILABLE"
TLS_MATERIAL_ERROR = "TLS_MATERIAL_ERROR"
SIGNING_ERROR = "SIGNING_ERROR"
INTERNAL_ERROR = "INTERNAL_ERROR"
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
