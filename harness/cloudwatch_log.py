"""EMF lines and JSON logs in CloudWatch Logs (a deployed environment), read with ``FilterLogEvents``.

The same reading API as ``harness.metrics_log.MetricsLog`` (``mark``, ``lines_since``, ``emf_since``,
``logs_since``, ``total``), so the ``metrics`` and ``gate`` scenarios run unchanged: a mark is a time in epoch
milliseconds instead of a file offset (minus a little slack, so a line logged the same millisecond counts).
Scenarios wait on conditions, so events that CloudWatch has not indexed yet are simply read on a later poll.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from harness.metrics_log import MetricsLog

MARK_SLACK_MS = 5


class CloudWatchMetricsLog(MetricsLog):
    def __init__(self, log_groups: Sequence[str], logs_client: Any) -> None:
        super().__init__("/dev/null")
        self.log_groups = tuple(log_groups)
        self.logs = logs_client

    def mark(self) -> int:
        return int(time.time() * 1000) - MARK_SLACK_MS

    def lines_since(self, mark: int) -> list[dict[str, Any]]:
        docs: list[tuple[int, dict[str, Any]]] = []
        for group in self.log_groups:
            for event in self._events(group, mark):
                doc = _json_object(str(event.get("message", "")))
                if doc is not None:
                    docs.append((int(event.get("timestamp", 0)), doc))
        return [doc for _, doc in sorted(docs, key=lambda pair: pair[0])]

    def _events(self, group: str, start_ms: int) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
        while True:
            page = self.logs.filter_log_events(**kwargs)
            events.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token or not page.get("events"):
                return events
            kwargs["nextToken"] = token


def _json_object(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None
