"""Waiting on a condition instead of sleeping: ``eventually(predicate, timeout_s)``.

The predicate is polled with a growing interval (10 ms doubling to ``max_interval_s``) until it returns a
truthy value, which is returned. On timeout ``WaitTimeout`` says what was awaited and the last value seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition did not hold in time (an AssertionError so pytest shows it as a failed expectation)."""


def eventually(
    predicate: Callable[[], T],
    timeout_s: float,
    *,
    what: str = "condition",
    max_interval_s: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    deadline = clock() + timeout_s
    interval_s = 0.01
    last: T = predicate()
    while not last:
        remaining_s = deadline - clock()
        if remaining_s <= 0:
            raise WaitTimeout(f"timed out after {timeout_s:.1f}s waiting for {what}; last value: {last!r}")
        sleep(min(interval_s, remaining_s))
        interval_s = min(interval_s * 2, max_interval_s)
        last = predicate()
    return last
