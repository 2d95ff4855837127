"""Retry policy (SPEC E as changed by P5, P6, P7): delays and the disposition of each record. Pure.

Randomness (``rand`` in [0, 1)) and the clock (``now_ms``) are arguments, so every decision is testable.

- Transient failure: reference full jitter, ``max(1, floor(rand * min(5 * 2**(rc-1), 300)))`` seconds.
- 429 with Retry-After: exactly that delay (at least 1 s); without one: the transient backoff.
- Gate denial: the gate's retry-after (time until enough tokens / end of cooldown) plus jitter of up to half
  of it (at least 2 s of spread, so 1 s denials do not herd), capped at 43200 s.
- Retry window (default 7200 s, from the first receive): if the next attempt could only happen after the
  window ends, the record is dead-lettered now with ``RETRY_WINDOW_EXHAUSTED`` and the last error.
"""

from __future__ import annotations

import math

from delivery.models import AdmitDecision, Classification, Disposition, Outcome, ResultKind

MAX_DELAY_S = 43200  # SQS maximum visibility timeout
BASE_BACKOFF_S = 5
MAX_BACKOFF_S = 300
MIN_DENIAL_SPREAD_S = 2
WINDOW_EXHAUSTED = "RETRY_WINDOW_EXHAUSTED"


def transient_delay_s(receive_count: int, rand: float) -> int:
    """Reference full jitter: range [1, ceiling) with ceiling = min(5 * 2**(rc-1), 300)."""
    exponent = min(max(receive_count, 1) - 1, 16)
    ceiling = min(BASE_BACKOFF_S << exponent, MAX_BACKOFF_S)
    return max(1, math.floor(rand * ceiling))


def denial_delay_s(retry_after_ms: float, rand: float) -> int:
    """Gate retry-after (at least 1 s) plus jitter in [0, max(2, base/2)), capped at 43200 s."""
    base_s = max(1, math.ceil(retry_after_ms / 1000))
    spread_s = max(MIN_DENIAL_SPREAD_S, math.ceil(base_s / 2))
    return min(base_s + math.floor(rand * spread_s), MAX_DELAY_S)


def window_exhausted(now_ms: float, first_receive_ms: float, max_retry_s: float) -> bool:
    """True when ``max_retry_s`` has passed since the first receive (boundary inclusive)."""
    return now_ms - first_receive_ms >= max_retry_s * 1000


def _exhausted(classification: Classification | None, reason: str, max_retry_s: float) -> Outcome:
    last = reason
    status = None
    if classification is not None:
        status = classification.status_code
        detail = f" {status}" if status is not None else ""
        last = f"{classification.error_code or classification.kind.value}{detail}"
        if classification.message:
            last += f": {classification.message}"
    message = f"Retry window of {max_retry_s:g}s exhausted; last error: {last}"
    return Outcome(
        Disposition.DEAD_LETTER,
        WINDOW_EXHAUSTED,
        error_code=WINDOW_EXHAUSTED,
        error_message=message[:1024],
        status_code=status,
    )


def _retry_delay_s(classification: Classification, receive_count: int, rand: float) -> int:
    retry_after_s = classification.retry_after_s
    if classification.kind is ResultKind.RATE_LIMITED and retry_after_s is not None and retry_after_s > 0:
        return max(1, math.ceil(retry_after_s))
    return transient_delay_s(receive_count, rand)


_ACKS = {status: Outcome(Disposition.ACK, "delivered", status_code=status) for status in range(200, 300)}


def decide(
    classification: Classification,
    *,
    receive_count: int,
    first_receive_ms: float,
    now_ms: float,
    max_retry_s: float,
    rand: float,
) -> Outcome:
    """ACK, RETRY with a delay, or DEAD_LETTER with error code/message/status for one attempted record."""
    kind = classification.kind
    if kind is ResultKind.SUCCESS:
        status = classification.status_code
        ack = _ACKS.get(status) if status is not None else None  # frozen values: one per status, shared
        return ack or Outcome(Disposition.ACK, "delivered", status_code=status)
    if kind is ResultKind.PERMANENT:
        code = classification.error_code or "PERMANENT_FAILURE"
        return Outcome(
            Disposition.DEAD_LETTER,
            code,
            error_code=code,
            error_message=classification.message,
            status_code=classification.status_code,
        )
    delay_s = _retry_delay_s(classification, receive_count, rand)
    if window_exhausted(now_ms + delay_s * 1000, first_receive_ms, max_retry_s):
        return _exhausted(classification, kind.value, max_retry_s)
    reason = classification.error_code or kind.value
    return Outcome(Disposition.RETRY, reason, delay_s=delay_s, status_code=classification.status_code)


def decide_denied(
    decision: AdmitDecision,
    *,
    receive_count: int,
    first_receive_ms: float,
    now_ms: float,
    max_retry_s: float,
    rand: float,
) -> Outcome:
    """DEFER a record the gate did not admit (no attempt used), or dead-letter it if the window would pass.

    ``receive_count`` is accepted for symmetry with ``decide`` but not used: denials do not grow the delay
    (P7: the gate's retry-after already says when capacity exists).
    """
    del receive_count
    delay_s = denial_delay_s(decision.retry_after_ms, rand)
    if window_exhausted(now_ms + delay_s * 1000, first_receive_ms, max_retry_s):
        return _exhausted(None, f"admission denied ({decision.reason})", max_retry_s)
    return Outcome(Disposition.DEFER, decision.reason, delay_s=delay_s)


def decide_expired(max_retry_s: float) -> Outcome:
    """The pre-admission window check failed (P6): dead-letter without an attempt."""
    return _exhausted(None, "no delivery attempt succeeded in time", max_retry_s)


__all__ = [
    "MAX_DELAY_S",
    "WINDOW_EXHAUSTED",
    "decide",
    "decide_denied",
    "decide_expired",
    "denial_delay_s",
    "transient_delay_s",
    "window_exhausted",
]
