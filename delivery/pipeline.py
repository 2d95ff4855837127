"""The delivery pipeline: one received batch in, one ``Decided`` per message out (DESIGN §2, STYLE 5).

    decode + route + retry-window check (every record, before admission)   routing.route
    group by target (arrival order)                                        routing.group_by_target
    per target, concurrently: busy check -> gate.admit -> sign -> send -> classify -> decide -> gate.record
    DLQ attributes on every dead letter (P10), metrics + logs              dead_letter, observe

``process`` never raises for a record: every failure becomes a value (P9). Settling the outcomes against
the queue is the caller's job (``delivery.runtime.settle``), so the worker, the Lambda handler and burst
mode share this code unchanged. A caller that passes a ``Progress`` hears of each target group as soon
as it is decided (and of the moment no record is waiting to start), so one slow target never delays
another's acks.

An overloaded target (``TargetLimits.busy``: its capped slots cannot start a newcomer within
TARGET_QUEUE_WAIT_MS) has its records deferred (``TARGET_BUSY``) before admission, so they spend no gate
token and hold no batch slot; a record admitted earlier that then waits past the bound is deferred by
``attempt``. Either way the batch's receive slot is not held by records that cannot start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from delivery.attempt import AttemptContext, attempt, busy_deferred
from delivery.config.client import ClientConfig
from delivery.config.lookups import AsyncLookup
from delivery.dead_letter import with_dead_letter_attributes
from delivery.errors import ConfigError, ConfigUnavailable
from delivery.gate.admission import admit, record
from delivery.gate.scripts import Gate, GateSettings, TargetGateParams
from delivery.models import Disposition, ReceivedMessage
from delivery.observe.batch import observe_batch, observe_breaker, observe_decided, observe_received
from delivery.observe.metrics import BatchMetrics, MetricsSink
from delivery.observe.scrub import KNOWN_SECRETS
from delivery.routing import group_by_target, route, split
from delivery.signing import delivery_secrets
from delivery.stages import Decided, Progress, Routed, TargetBatch
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
        self._known_config: ClientConfig | None = None
        self._secrets_of: ClientConfig | None = None

    async def process(
        self, messages: Sequence[ReceivedMessage], progress: Progress | None = None
    ) -> list[Decided]:
        metrics = BatchMetrics(self.deps.metrics_sink, self.client_id, self.deps.metrics_target_dimension)
        config = await self._lookup(self.deps.configs)
        app_id = await self._lookup(self.deps.app_map)
        now_ms, rand = self.deps.attempts.clock_ms(), self.deps.attempts.rand
        results = [route(msg, config, now_ms=now_ms, rand=rand()) for msg in messages]
        observe_received(self.client_id, results)
        routed, early = split(results)
        self._know_targets(config)
        self._know_secrets(config, app_id)
        early = self._reported(self._attributed(early), metrics, progress)
        starts = _Starts(len(routed), progress)
        per_target = [self._deliver(b, app_id, metrics, starts, progress) for b in group_by_target(routed)]
        delivered = [d for group in await asyncio.gather(*per_target) for d in group]
        decided = _in_input_order(messages, early + delivered)
        observe_batch(self.client_id, decided)
        metrics.flush()
        return decided

    def _know_targets(self, config: ClientConfig | ConfigError) -> None:
        """Tell the per-target caps which targets this client has (once per config object)."""
        limits = self.deps.attempts.target_limits
        if limits is not None and isinstance(config, ClientConfig) and config is not self._known_config:
            limits.know(self.client_id, (t.target_id for t in config.targets))
            self._known_config = config

    def _know_secrets(self, config: ClientConfig | ConfigError, app_id: str | ConfigError) -> None:
        """Register the secret values this batch delivers with, so no output can carry them (scrub)."""
        if isinstance(config, ClientConfig) and config is not self._secrets_of:
            KNOWN_SECRETS.add(delivery_secrets(config.targets))
            self._secrets_of = config
        if isinstance(app_id, str):
            KNOWN_SECRETS.add((app_id,))

    async def _lookup(self, lookup: AsyncLookup[T]) -> T | ConfigError:
        """A config/app-map value, or the ``ConfigError`` explaining why there is none (not raised)."""
        try:
            return await lookup.get(self.client_id)
        except ConfigError as exc:
            return exc
        except Exception as exc:  # an unmapped I/O error is still "unavailable": requeue, never DLQ
            return ConfigUnavailable(f"{type(exc).__name__}: {exc}")

    async def _deliver(
        self,
        batch: TargetBatch,
        app_id: str | ConfigError,
        metrics: BatchMetrics,
        starts: _Starts,
        progress: Progress | None,
    ) -> list[Decided]:
        if isinstance(app_id, ConfigError):
            starts.done(len(batch.records))
            return self._reported(self._requeue(batch.records, app_id), metrics, progress)
        ctx = self.deps.attempts
        limits = ctx.target_limits
        if limits is not None and limits.busy(self.client_id, batch.target.target_id):
            starts.done(len(batch.records))
            busy = self._attributed([busy_deferred(r, ctx) for r in batch.records])
            return self._reported(busy, metrics, progress)
        params = TargetGateParams.for_target(batch.target, self.deps.gate_settings)
        admitted, deferred = await admit(self.deps.gate, params, batch, now_ms=ctx.clock_ms(), rand=ctx.rand)
        starts.done(len(deferred))
        results = list(await asyncio.gather(*(attempt(r, app_id, ctx, starts.one) for r in admitted)))
        breaker = await record(self.deps.gate, params, batch.target.target_id, results)
        observe_breaker(self.client_id, batch.target.target_id, breaker, metrics)
        return self._reported(self._attributed(deferred + results), metrics, progress)

    def _reported(
        self, group: list[Decided], metrics: BatchMetrics, progress: Progress | None
    ) -> list[Decided]:
        """Log and count a decided group, then hand it to ``progress`` (which may settle it at once)."""
        if group:
            observe_decided(self.client_id, group, metrics)
            if progress is not None:
                progress.decided(group)
        return group

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

    def _attributed(self, decided: list[Decided]) -> list[Decided]:
        """DLQ attributes on every dead letter."""
        return [
            self._with_attributes(d) if d.outcome.disposition is Disposition.DEAD_LETTER else d
            for d in decided
        ]

    def _with_attributes(self, d: Decided) -> Decided:
        outcome = with_dead_letter_attributes(
            d.outcome,
            d.message,
            client_id=self.client_id,
            target_id=d.target_id,
            secrets=KNOWN_SECRETS.values,
        )
        return replace(d, outcome=outcome)


def _in_input_order(messages: Sequence[ReceivedMessage], decided: list[Decided]) -> list[Decided]:
    order = {msg.message_id: i for i, msg in enumerate(messages)}
    decided.sort(key=lambda d: order[d.message.message_id])
    return decided


class _Starts:
    """Counts the routed records of a batch not yet decided or on the wire; tells ``progress`` at zero."""

    __slots__ = ("_pending", "_progress")

    def __init__(self, pending: int, progress: Progress | None) -> None:
        self._pending = pending
        self._progress = progress
        self.done(0)

    def one(self) -> None:
        self.done(1)

    def done(self, count: int) -> None:
        self._pending -= count
        if self._pending <= 0 and self._progress is not None:
            progress, self._progress = self._progress, None
            progress.started()
