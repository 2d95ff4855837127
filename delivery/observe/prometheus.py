"""An opt-in Prometheus endpoint for the worker (DESIGN §6): the EMF metric events, aggregated in memory.

``PrometheusSink`` is a ``MetricsSink``: it receives the same ``emit`` calls as the EMF emitter (through
``metrics.FanOutSink``) and keeps counters per (metric, client id, target id) and one histogram of
``DeliveryDurationMs``. ``render(sink.snapshot())`` is the pure text exposition (format 0.0.4);
``MetricsServer`` serves it as ``GET /metrics`` (and ``GET /health``) on the worker's event loop.
"""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from delivery.observe import metrics as m
from delivery.observe.scrub import KNOWN_SECRETS

PREFIX = "callbacks_"
DURATION_BUCKETS_MS: tuple[float, ...] = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HELP: Mapping[str, str] = {
    m.DELIVERY_ATTEMPT: "Delivery attempts (HTTP requests started).",
    m.DELIVERY_SUCCESS: "Deliveries the target accepted (2xx).",
    m.DELIVERY_FAILURE: "Transient delivery failures (retried).",
    m.DELIVERY_PERMANENT_FAILURE: "Permanent delivery failures (dead-lettered).",
    m.DELIVERY_SERVER_RATE_LIMITED: "Deliveries the target answered with 429.",
    m.DELIVERY_RATE_LIMITED: "Deliveries deferred by our own rate limit.",
    m.DELIVERY_CIRCUIT_BLOCKED: "Deliveries deferred because the target's circuit is open.",
    "DeliveryTargetBusy": "Deliveries deferred because the target's in-flight cap was full.",
    m.CIRCUIT_BREAKER_OPEN: "Circuit breaker transitions to open.",
    m.CIRCUIT_BREAKER_CLOSED: "Circuit breaker transitions to closed.",
    m.DELIVERY_RETRY_WINDOW_EXHAUSTED: "Deliveries given up because the retry window ran out.",
    m.DELIVERY_INFRASTRUCTURE_ERROR: "Deliveries requeued because a dependency failed.",
    m.DELIVERY_DEAD_LETTERED: "Messages sent to the dead-letter queue.",
    m.DELIVERY_DURATION_MS: "Delivery request duration in milliseconds.",
}

LabelKey = tuple[str, str, str]  # (metric name, client id, target id)


@dataclass(frozen=True)
class Histogram:
    bucket_counts: tuple[int, ...]  # per bucket of DURATION_BUCKETS_MS, not cumulative; then the overflow
    sum_ms: float
    count: int


@dataclass(frozen=True)
class Snapshot:
    counters: Mapping[LabelKey, float]
    histograms: Mapping[LabelKey, Histogram]
    buckets_ms: tuple[float, ...] = DURATION_BUCKETS_MS


def metric_name(emf_name: str, *, counter: bool) -> str:
    """``DeliveryAttempt`` -> ``callbacks_delivery_attempt_total``; ``DeliveryDurationMs`` ->
    ``callbacks_delivery_duration_ms``."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", emf_name).lower()
    snake = re.sub(r"[^a-z0-9_]", "_", snake)
    return PREFIX + snake + ("_total" if counter else "")


def escape_label(value: str) -> str:
    value = KNOWN_SECRETS.scrub(value)
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value == int(value) else repr(value)


def _labels(client_id: str, target_id: str, extra: str = "") -> str:
    parts = [f'client_id="{escape_label(client_id)}"', f'target_id="{escape_label(target_id)}"']
    return "{" + ",".join(parts + ([extra] if extra else [])) + "}"


def _header(name: str, emf_name: str, kind: str) -> list[str]:
    help_text = HELP.get(emf_name, f"{emf_name} events.").replace("\\", "\\\\").replace("\n", "\\n")
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _render_counters(counters: Mapping[LabelKey, float]) -> list[str]:
    lines: list[str] = []
    for emf_name in sorted({k[0] for k in counters}):
        name = metric_name(emf_name, counter=True)
        lines += _header(name, emf_name, "counter")
        for key in sorted(k for k in counters if k[0] == emf_name):
            lines.append(f"{name}{_labels(key[1], key[2])} {format_value(counters[key])}")
    return lines


def _render_histogram(name: str, key: LabelKey, hist: Histogram, buckets_ms: Sequence[float]) -> list[str]:
    lines, cumulative = [], 0
    bounds = [format_value(b) for b in buckets_ms] + ["+Inf"]
    for bound, count in zip(bounds, hist.bucket_counts, strict=True):
        cumulative += count
        le = 'le="' + bound + '"'
        lines.append(f"{name}_bucket{_labels(key[1], key[2], le)} {cumulative}")
    lines.append(f"{name}_sum{_labels(key[1], key[2])} {format_value(hist.sum_ms)}")
    lines.append(f"{name}_count{_labels(key[1], key[2])} {hist.count}")
    return lines


def render(snapshot: Snapshot) -> str:
    """The Prometheus text exposition (0.0.4) of ``snapshot``: families sorted by name, series by labels."""
    lines = _render_counters(snapshot.counters)
    for emf_name in sorted({k[0] for k in snapshot.histograms}):
        name = metric_name(emf_name, counter=False)
        lines += _header(name, emf_name, "histogram")
        for key in sorted(k for k in snapshot.histograms if k[0] == emf_name):
            lines += _render_histogram(name, key, snapshot.histograms[key], snapshot.buckets_ms)
    return "\n".join(lines) + "\n" if lines else ""


def bucket_index(value_ms: float, buckets_ms: Sequence[float]) -> int:
    """The first bucket whose upper bound (inclusive) holds ``value_ms``; ``len(buckets_ms)`` for overflow."""
    for i, bound in enumerate(buckets_ms):
        if value_ms <= bound:
            return i
    return len(buckets_ms)


@dataclass
class _Hist:
    counts: list[int]
    sum_ms: float = 0.0
    count: int = 0


@dataclass
class PrometheusSink:
    """A ``MetricsSink`` that aggregates EMF events in memory (thread-safe; ``snapshot`` copies)."""

    histogram_metrics: frozenset[str] = frozenset({m.DELIVERY_DURATION_MS})
    buckets_ms: tuple[float, ...] = DURATION_BUCKETS_MS
    _counters: dict[LabelKey, float] = field(default_factory=lambda: defaultdict(float))
    _hists: dict[LabelKey, _Hist] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def emit(
        self,
        metrics: Mapping[str, float],
        *,
        dimensions: Mapping[str, str] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> None:
        dims, props = dimensions or {}, properties or {}
        client_id = str(dims.get("ClientId", ""))
        target_id = str(props.get("targetId") or dims.get("TargetId") or "")
        with self._lock:
            for name, value in metrics.items():
                key = (name, client_id, target_id)
                values: list[float] = list(value) if isinstance(value, list | tuple) else [value]
                if name in self.histogram_metrics:
                    self._observe(key, values)
                else:
                    self._counters[key] += sum(float(v) for v in values)

    def _observe(self, key: LabelKey, values: list[float]) -> None:
        hist = self._hists.setdefault(key, _Hist([0] * (len(self.buckets_ms) + 1)))
        for value in values:
            hist.counts[bucket_index(float(value), self.buckets_ms)] += 1
            hist.sum_ms += float(value)
            hist.count += 1

    def snapshot(self) -> Snapshot:
        with self._lock:
            counters = dict(self._counters)
            hists = {k: Histogram(tuple(h.counts), h.sum_ms, h.count) for k, h in self._hists.items()}
        return Snapshot(counters, hists, self.buckets_ms)


@dataclass
class MetricsServer:
    """``GET /metrics`` and ``GET /health`` on the running event loop (aiohttp); ``port`` once started."""

    sink: PrometheusSink
    host: str = "127.0.0.1"
    port: int = 0
    _runner: Any = None

    async def start(self) -> MetricsServer:
        from aiohttp import web

        async def metrics(_request: web.Request) -> web.Response:
            body = render(self.sink.snapshot()).encode()
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

        async def health(_request: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/health", health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
