"""Delivery metrics (SPEC I.1 names, P12): counted per target during one batch, flushed as EMF lines.

One metric context per target (N13): each target gets its own EMF line with ``targetId`` as a property (and
``TargetId`` as a dimension when opted in), so properties never overwrite each other. Recording and flushing
never raise: a metrics failure must not break delivery.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from delivery.observe.logs import log

_log = logging.getLogger(__name__)

DELIVERY_ATTEMPT = "DeliveryAttempt"
DELIVERY_SUCCESS = "DeliverySuccess"
DELIVERY_FAILURE = "DeliveryFailure"
DELIVERY_PERMANENT_FAILURE = "DeliveryPermanentFailure"
DELIVERY_SERVER_RATE_LIMITED = "DeliveryServerRateLimited"
DELIVERY_RATE_LIMITED = "DeliveryRateLimited"
DELIVERY_CIRCUIT_BLOCKED = "DeliveryCircuitBlocked"
CIRCUIT_BREAKER_OPEN = "CircuitBreakerOpen"
CIRCUIT_BREAKER_CLOSED = "CircuitBreakerClosed"
DELIVERY_RETRY_WINDOW_EXHAUSTED = "DeliveryRetryWindowExhausted"
DELIVERY_DURATION_MS = "DeliveryDurationMs"
# ours: requeued because a dependency failed (config store, app map, Redis, TLS material, a bug)
DELIVERY_INFRASTRUCTURE_ERROR = "DeliveryInfrastructureError"
DELIVERY_DEAD_LETTERED = "DeliveryDeadLettered"

NO_TARGET = ""  # records whose target is unknown (undecodable bodies)


class MetricsSink(Protocol):
    """What ``EmfEmitter`` offers; tests may pass any object with this method."""

    def emit(
        self,
        metrics: Mapping[str, float],
        *,
        dimensions: Mapping[str, str] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> None: ...


@dataclass
class BatchMetrics:
    """Counters and durations of one batch, grouped by target; ``flush`` writes one EMF line per target."""

    sink: MetricsSink | None
    client_id: str
    target_dimension: bool = False
    _counts: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    _durations: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def count(self, target_id: str | None, name: str, value: float = 1) -> None:
        self._counts[target_id or NO_TARGET][name] += value

    def duration(self, target_id: str, elapsed_ms: float) -> None:
        self._durations[target_id].append(round(elapsed_ms, 3))

    def flush(self) -> None:
        if self.sink is None:
            return
        for target_id in sorted(set(self._counts) | set(self._durations)):
            try:
                self._emit_target(self.sink, target_id)
            except Exception:  # never let metrics break delivery
                log(_log, "error", "Metrics flush failed", targetId=target_id)
        self._counts.clear()
        self._durations.clear()

    def totals(self) -> dict[str, float]:
        """Counts summed over targets (for reports and tests)."""
        out: dict[str, float] = defaultdict(float)
        for counts in self._counts.values():
            for name, value in counts.items():
                out[name] += value
        return dict(out)

    def _emit_target(self, sink: MetricsSink, target_id: str) -> None:
        values: dict[str, float | list[float]] = dict(self._counts.get(target_id, {}))
        if self._durations.get(target_id):
            values[DELIVERY_DURATION_MS] = self._durations[target_id]
        dimensions = {"ClientId": self.client_id}
        if self.target_dimension and target_id:
            dimensions["TargetId"] = target_id
        properties = {"targetId": target_id} if target_id else None
        # EMF accepts an array of values for one metric (e.g. every duration of the batch).
        sink.emit(cast(Mapping[str, float], values), dimensions=dimensions, properties=properties)


@dataclass(frozen=True)
class FanOutSink:
    """Sends every emit to each sink in turn (EMF lines plus e.g. Prometheus); a failing sink is logged and
    never stops the others, nor delivery."""

    sinks: tuple[MetricsSink, ...]

    def emit(
        self,
        metrics: Mapping[str, float],
        *,
        dimensions: Mapping[str, str] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> None:
        for sink in self.sinks:
            try:
                sink.emit(metrics, dimensions=dimensions, properties=properties)
            except Exception:  # never let metrics break delivery
                log(_log, "error", "Metrics sink failed", sink=type(sink).__name__)
