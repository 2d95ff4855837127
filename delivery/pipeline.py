"""The delivery pipeline: one received batch in, one ``Decided`` per message out (DESIGN §2, STYLE 5).

    decode + route + retry-window check (every record, before admission)   routing.route
    group by target (arrival order)                                        routing.group_by_target
    per target, concurrently: gate.admit -> sign -> send -> classify -> decide -> gate.record
    DLQ attributes on every dead letter (P10), metrics + logs              dead_letter, observe

``process`` never raises for a record: every failure becomes a value (P9). Settling the outcomes against
the queue is the caller's job (``delivery.settle``), so the worker, the Lambda handler and burst mode share
this code unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from delivery.admission import admit, record
from delivery.attempt import AttemptContext, attempt
from delivery.client_config import ClientConfig
from delivery.dead_letter import with_dead_letter_attributes
from delivery.errors import ConfigError, ConfigUnavailable
from delivery.gate import Gate, GateSettings, TargetGateParams
from delivery.lookups import AsyncLookup
from delivery.metrics import BatchMetrics, MetricsSink
from delivery.models import Disposition, ReceivedMessage
from delivery.observe import observe_batch, observe_breaker, observe_received
from delivery.routing import group_by_target, route, split
from delivery.stages import Decided, Routed, TargetBatch
from delivery.verdicts import APPLICATION_MAP_UNAVAILABLE, infrastructure_retry

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class PipelineDeps:
    attempts: AttemptContext  # client id, transport, concurrency limit, clock, randomness
    configs: AsyncLookup[ClientConfig]  # client id -> parsed config
    app_map: AsyncLookup[str]  # client id -> application id
    gate: Gate
    gate_settings: GateSettings
    metrics_sink: MetricsSink | None = None
    metrics_target_dimension: bool = False


class Pipeline:
    def __init__(self, deps: PipelineDeps) -> None:
        self.deps = deps
        self.client_id = deps.attempts.client_id

    async def process(self, messages: Sequence[ReceivedMessage]) -> list[Decided]:
        observe_received(self.client_id, messages)
        metrics = BatchMetrics(self.deps.metrics_sink, self.client_id, self.deps.metrics_target_dimension)
        config = await self._lookup(self.deps.configs)
        app_id = await self._lookup(self.deps.app_map)
        now_ms, rand = self.deps.attempts.clock_ms(), self.deps.attempts.rand
        routed, early = split([route(msg, config, now_ms=now_ms, rand=rand()) for msg in messages])
        per_target = [self._deliver(batch, app_id, metrics) for batch in group_by_target(routed)]
        delivered = [d for group in await asyncio.gather(*per_target) for d in group]
        decided = self._finish(messages, early + delivered)
        observe_batch(self.client_id, decided, metrics)
        metrics.flush()
        return decided

    async def _lookup(self, lookup: AsyncLookup[T]) -> T | ConfigError:
        """A config/app-map value, or the ``ConfigError`` explaining why there is none (not raised)."""
        try:
            return await lookup.get(self.client_id)
        except ConfigError as exc:
            return exc
        except Exception as exc:  # an unmapped I/O error is still "unavailable": requeue, never DLQ
            return ConfigUnavailable(f"{type(exc).__name__}: {exc}")

    async def _deliver(
        self, batch: TargetBatch, app_id: str | ConfigError, metrics: BatchMetrics
    ) -> list[Decided]:
        if isinstance(app_id, ConfigError):
            return self._requeue(batch.records, app_id)
        params = TargetGateParams.for_target(batch.target, self.deps.gate_settings)
        ctx = self.deps.attempts
        admitted, deferred = await admit(self.deps.gate, params, batch, now_ms=ctx.clock_ms(), rand=ctx.rand)
        results = list(await asyncio.gather(*(attempt(r, app_id, ctx) for r in admitted)))
        breaker = await record(self.deps.gate, params, batch.target.target_id, results)
        observe_breaker(self.client_id, batch.target.target_id, breaker, metrics)
        return deferred + results

    def _requeue(self, records: Sequence[Routed], cause: ConfigError) -> list[Decided]:
        rand = self.deps.attempts.rand
        return [
            Decided(
                r.message,
                infrastructure_retry(
                    APPLICATION_MAP_UNAVAILABLE, cause, receive_count=r.message.receive_count, rand=rand()
                ),
                r.target_id,
                r.envelope.correlation_id,
            )
            for r in records
        ]

    def _finish(self, messages: Sequence[ReceivedMessage], decided: list[Decided]) -> list[Decided]:
        """Input order, and DLQ attributes on every dead letter."""
        order = {msg.message_id: i for i, msg in enumerate(messages)}
        decided.sort(key=lambda d: order[d.message.message_id])
        return [
            self._with_attributes(d) if d.outcome.disposition is Disposition.DEAD_LETTER else d
            for d in decided
        ]

    def _with_attributes(self, d: Decided) -> Decided:
        outcome = with_dead_letter_attributes(
            d.outcome, d.message, client_id=self.client_id, target_id=d.target_id
        )
        return replace(d, outcome=outcome)
