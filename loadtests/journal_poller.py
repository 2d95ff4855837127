"""Reads the mock webhook's journal while a run is going and reports each callback as a Locust request.

Runs in one process only (the master, or the standalone process), so every delivery is counted once; the
publish time travels inside the message id, so no state is shared with the publishing workers. Blocking
``urllib`` calls are cooperative under Locust's gevent monkey-patching.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from loadtests import names
from loadtests.deliveries import DeliveryTracker, Kind, Observation
from loadtests.publisher import RequestHook

HTTP_TIMEOUT_S = 10.0


class WebhookRejected(Exception):
    """The webhook answered a callback with a non-2xx status (or reset the connection)."""


def fetch_page(
    admin_url: str, after_seq: int | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """``GET /requests?afterSeq=&limit=``: journal records, oldest first."""
    query = {k: str(v) for k, v in (("afterSeq", after_seq), ("limit", limit)) if v is not None}
    url = admin_url.rstrip("/") + "/requests" + ("?" + urllib.parse.urlencode(query) if query else "")
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as resp:
        doc = json.loads(resp.read())
    records = doc.get("requests", []) if isinstance(doc, dict) else doc
    return [r for r in records if isinstance(r, dict)]


def latest_seq(admin_url: str) -> int:
    """The journal's newest sequence number (0 when empty): a run reads only what comes after it."""
    page = fetch_page(admin_url, limit=1)
    seq = page[-1].get("seq") if page else 0
    return seq if isinstance(seq, int) else 0


def report(observation: Observation, request_event: RequestHook, *, per_target: bool = True) -> None:
    """One observation -> Locust request event(s) (names in ``loadtests.names``)."""
    if observation.kind is Kind.REJECTED:
        request_event.fire(
            request_type=names.WEBHOOK_TYPE,
            name=names.webhook_status_name(observation.status),
            response_time=observation.latency_ms,
            response_length=0,
            exception=WebhookRejected(f"HTTP {observation.status} on {observation.path}"),
            context={},
        )
        return
    name = names.E2E_DELIVERY if observation.kind is Kind.DELIVERY else names.E2E_DUPLICATE
    rows = [name, f"{name} {observation.path}"] if per_target else [name]
    for row in rows:
        request_event.fire(
            request_type=names.E2E_TYPE,
            name=row,
            response_time=observation.latency_ms,
            response_length=0,
            exception=None,
            context={},
        )


class JournalPoller:
    """``run()`` polls until ``should_stop()`` says so; ``poll_once()`` is one page."""

    def __init__(
        self,
        admin_url: str,
        tracker: DeliveryTracker,
        request_event: RequestHook,
        *,
        interval_s: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
        on_error: Callable[[Exception], None] = lambda exc: None,
    ) -> None:
        self.admin_url = admin_url
        self.tracker = tracker
        self.request_event = request_event
        self.interval_s = interval_s
        self._sleep = sleep
        self._on_error = on_error
        self.errors = 0

    def poll_once(self) -> int:
        try:
            records = fetch_page(self.admin_url, after_seq=self.tracker.last_seq)
        except OSError as exc:  # mock briefly unreachable: count, tell, keep going
            self.errors += 1
            self._on_error(exc)
            return 0
        observations = self.tracker.observe(records)
        for observation in observations:
            report(observation, self.request_event)
        return len(observations)

    def run(self, should_stop: Callable[[], bool]) -> None:
        while True:
            self.poll_once()
            if should_stop():
                return
            self._sleep(self.interval_s)
