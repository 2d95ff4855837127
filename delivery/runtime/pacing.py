"""Send pacing for redrive (pure): a slot per message, ``rate_per_s`` slots a second, per pacing key.

    Pacer(rate_per_s).slot(now_s) -> when this message may be sent (never earlier than now)
    parse_rate("10/s") -> 10.0

Redrive paces each message by its target (``TARGET_ID``) at a share of that target's
``invocationRateLimit`` (``REDRIVE_RATE_SHARE``), so a redriven backlog reaches the target no faster than the
gate admits it and every message is delivered inside its retry window; ``--rate N/s`` paces all messages at
one rate instead.
"""

from __future__ import annotations

from dataclasses import dataclass

REDRIVE_RATE_SHARE = 0.8  # of the target's rate limit: leaves room for live traffic to the same target
FALLBACK_RATE_PER_S = 10.0  # a target the client config does not name (or no config to read)


@dataclass(slots=True)
class Pacer:
    rate_per_s: float
    next_s: float = float("-inf")

    def slot(self, now_s: float) -> float:
        at = max(now_s, self.next_s)
        self.next_s = at + 1.0 / self.rate_per_s
        return at


def parse_rate(text: str) -> float:
    """``"10/s"`` or ``"10"`` -> 10.0 (messages per second, > 0); ``ValueError`` naming the format."""
    number = text.strip().removesuffix("/s")
    try:
        rate = float(number)
    except ValueError:
        raise ValueError(f"expected N/s (messages per second), e.g. 10/s, got {text!r}") from None
    if not rate > 0 or rate == float("inf"):
        raise ValueError(f"must be a positive number of messages per second, got {text!r}")
    return rate


def default_rates(target_rates: dict[str, float], share: float = REDRIVE_RATE_SHARE) -> dict[str, float]:
    """Per target: ``share`` of its rate limit."""
    return {target: rate * share for target, rate in target_rates.items()}
