"""Long-lived resources of a delivery process, built once from ``Settings`` (worker, Lambda, burst).

``Resources`` owns the HTTPS transport (keep-alive pools, TLS material cache), the Redis client and gate, the
config and applications-map caches, the EMF emitter, the shared in-flight limit and the per-target caps.
``pipeline_for`` and ``consumer_for`` give the per-client pieces. Everything is lazy (no I/O until the first
batch) and closed by ``await resources.close()``.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from delivery.attempt import AttemptContext, Transport
from delivery.config.lookups import AsyncLookup
from delivery.config.store import (
    AppMapStore,
    CachedAppMap,
    CachedConfigs,
    ConfigStore,
    LocalAppMapStore,
    LocalDirStore,
    S3ConfigStore,
    SsmAppMapStore,
)
from delivery.gate.limiter import Limiter, TargetLimits
from delivery.gate.scripts import Gate, GateSettings
from delivery.observe.emf import EmfEmitter
from delivery.observe.metrics import MetricsSink
from delivery.pipeline import Pipeline, PipelineDeps
from delivery.queue.seam import Queue
from delivery.runtime.offload import BodyStore, body_store_for
from delivery.runtime.redis_conn import connect
from delivery.runtime.settings import Settings
from delivery.runtime.worker import Consumer


def _wall_ms() -> int:
    return int(time.time() * 1000)


def config_store_for(settings: Settings) -> ConfigStore:
    if settings.config_dir:
        return LocalDirStore(settings.config_dir)
    return S3ConfigStore(settings.config_bucket or "", settings.config_prefix)


def app_map_store_for(settings: Settings) -> AppMapStore:
    if settings.app_map_file:
        return LocalAppMapStore(settings.app_map_file)
    return SsmAppMapStore(settings.app_map_parameter or "")


def default_transport(environ: Mapping[str, str], settings: Settings | None = None) -> Transport:
    from delivery.transport.https import HttpsTransport
    from delivery.transport.provider import TlsProvider

    egress = settings.egress if settings is not None else Settings.from_env(environ).egress
    return HttpsTransport(TlsProvider.from_env(environ), egress=egress)


@dataclass
class Resources:
    settings: Settings
    transport: Transport
    redis: Any  # redis.asyncio.Redis
    gate: Gate
    gate_settings: GateSettings
    configs: CachedConfigs
    app_map: CachedAppMap
    metrics_sink: MetricsSink | None
    in_flight: Limiter  # the first client's CONCURRENCY_LIMIT pool; every further client gets its own
    target_limits: TargetLimits | None = None
    bodies: BodyStore | None = None  # dead-letter bodies too large for the DLQ (beside the client configs)
    clock_ms: Callable[[], int] = _wall_ms
    rand: Callable[[], float] = field(default=random.random)
    _client_pools: dict[str, Limiter] = field(default_factory=dict, repr=False)

    def in_flight_for(self, client_id: str) -> Limiter:
        """CONCURRENCY_LIMIT applies per client, as it did per client Lambda in the reference: one process
        serving several clients never lets a slow client use up another client's deliveries in flight."""
        pool = self._client_pools.get(client_id)
        if pool is None:
            pool = self.in_flight if not self._client_pools else Limiter(self.in_flight.limit)
            self._client_pools[client_id] = pool
        return pool

    def pipeline_for(self, client_id: str) -> Pipeline:
        attempts = AttemptContext(
            client_id=client_id,
            transport=self.transport,
            in_flight=self.in_flight_for(client_id),
            target_limits=self.target_limits,
            request_timeout_s=self.settings.request_timeout_ms / 1000,
            clock_ms=self.clock_ms,
            rand=self.rand,
        )
        deps = PipelineDeps(
            attempts=attempts,
            configs=AsyncLookup(self.configs.get),
            app_map=AsyncLookup(self.app_map.application_id),
            gate=self.gate,
            gate_settings=self.gate_settings,
            metrics_sink=self.metrics_sink,
            metrics_target_dimension=self.settings.metrics_target_dimension,
        )
        return Pipeline(deps)

    def consumer_for(self, client_id: str, queue: Queue, dlq: Queue) -> Consumer:
        return Consumer(client_id, queue, dlq, self.pipeline_for(client_id), self.bodies)

    async def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            await close()
        with contextlib.suppress(Exception):
            await self.redis.aclose()
        for cache in (self.configs, self.app_map):
            with contextlib.suppress(Exception):
                cache.close()


def open_resources(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    transport: Transport | None = None,
    metrics_sink: MetricsSink | None = None,
) -> Resources:
    """Build (lazily) everything a delivery process needs. ``environ`` feeds the gate and TLS settings."""
    redis = connect(settings.redis)
    gate_settings = GateSettings.from_env(environ)
    sink = metrics_sink or EmfEmitter(settings.metrics_namespace, {"Environment": settings.environment})
    return Resources(
        settings=settings,
        transport=transport or default_transport(environ, settings),
        redis=redis,
        gate=Gate(redis, gate_settings),
        gate_settings=gate_settings,
        configs=CachedConfigs(config_store_for(settings), ttl_s=settings.config_cache_ttl_s),
        app_map=CachedAppMap(app_map_store_for(settings), ttl_s=settings.app_map_cache_ttl_ms / 1000),
        metrics_sink=sink,
        in_flight=Limiter(settings.concurrency_limit),
        target_limits=TargetLimits(
            settings.per_target_limit, settings.concurrency_limit, queue_wait_s=settings.target_queue_wait_s
        ),
        bodies=body_store_for(settings),
    )
