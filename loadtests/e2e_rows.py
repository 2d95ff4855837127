"""End-to-end rows in Locust's stats table, kept out of its Aggregated row.

Locust adds every request event to ``stats.total``, which feeds the Aggregated row, the header's RPS and
failure rate, and the charts. The journal poller's rows (``e2e`` deliveries, overall and per target, and
``webhook`` rejections) are observations of what the publishes caused, not more requests: counted there, each
delivery would count twice or three times next to its publish. ``OutsideTotal`` records them in their own
rows (table, CSV, failures tab) and leaves the total to the publishes, so the header rate means "published".
"""

from __future__ import annotations

from typing import Any

from locust.stats import RequestStats, StatsError


class OutsideTotal:
    """A ``RequestHook`` (``fire(**request event)``): rows in ``stats``, never in ``stats.total``."""

    def __init__(self, stats: RequestStats) -> None:
        self.stats = stats

    def fire(self, **event: Any) -> None:
        request_type, name = str(event["request_type"]), str(event["name"])
        entry = self.stats.get(name, request_type)
        entry.log(round(float(event["response_time"])), int(event.get("response_length") or 0))
        exception = event.get("exception")
        if exception is None:
            return
        error = exception if isinstance(exception, Exception) else repr(exception)
        entry.log_error(error)
        key = StatsError.create_key(request_type, name, error)
        if key not in self.stats.errors:
            self.stats.errors[key] = StatsError(request_type, name, error)
        self.stats.errors[key].occurred()
