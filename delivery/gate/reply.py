"""Pure parsing of the gate scripts' replies (strings or bytes, as Redis returns them) into frozen values."""

from __future__ import annotations

import math
from collections.abc import Sequence

from delivery.models import AdmitDecision, BreakerState, RecordResult

ADMIT_REASONS = frozenset({"some_allowed", "rate_limited", "circuit_open"})


class GateReplyError(ValueError):
    """A script reply that does not have the documented shape."""


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str | int | float):
        return str(value)
    raise GateReplyError(f"unexpected reply element {type(value).__name__}")


def _number(value: object, name: str) -> float:
    text = _text(value)
    try:
        number = float(text)
    except ValueError:
        raise GateReplyError(f"{name} is not a number: {text!r}") from None
    if not math.isfinite(number) or number < 0:
        raise GateReplyError(f"{name} out of range: {text!r}")
    return number


def _items(reply: object, count: int, script: str) -> Sequence[object]:
    if not isinstance(reply, list | tuple) or len(reply) < count:
        raise GateReplyError(f"{script} reply must be an array of {count} elements, got {reply!r}")
    return reply


def parse_admit_reply(reply: object) -> AdmitDecision:
    """``[consumed, reason, retry_after_ms, effective_rate]`` -> AdmitDecision."""
    items = _items(reply, 4, "admit")
    reason = _text(items[1])
    if reason not in ADMIT_REASONS:
        raise GateReplyError(f"unknown admit reason {reason!r}")
    return AdmitDecision(
        consumed=int(_number(items[0], "consumed")),
        reason=reason,
        retry_after_ms=_number(items[2], "retry_after_ms"),
        effective_rate=_number(items[3], "effective_rate"),
    )


def parse_record_reply(reply: object) -> RecordResult:
    """``[state, changed]`` -> RecordResult."""
    items = _items(reply, 2, "record")
    state = _text(items[0])
    try:
        breaker = BreakerState(state)
    except ValueError:
        raise GateReplyError(f"unknown breaker state {state!r}") from None
    return RecordResult(state=breaker, changed=_text(items[1]) == "1")


__all__ = ["GateReplyError", "parse_admit_reply", "parse_record_reply"]
