"""Client routes from config storage, for the router: one lookup per distinct client of a batch.

``lookup_routes`` maps a ``ConfigLookup`` (``delivery.config.store.CachedConfigs``: S3 or a local directory,
TTL cache) to compiled ``ClientRoutes`` or a ``ConfigProblem``: not found (remembered for
``not_found_ttl_s``), invalid (schema, or a ``clientId`` that differs from the name it is stored under,
T7.7), or unavailable (I/O or anything unexpected: the record is retried).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from delivery.config.client import ClientConfig
from delivery.errors import ConfigInvalid, ConfigNotFound, ConfigUnavailable, ConfigValidationError
from delivery.router.matching import ClientRoutes, compile_routes
from delivery.router.plan import ConfigProblem, ConfigProblemKind, RoutesOrProblem

logger = logging.getLogger("delivery.router")
Clock = Callable[[], float]
MAX_CACHED = 4096
DEFAULT_NOT_FOUND_TTL_S = 30.0


class ConfigLookup(Protocol):
    """What the router needs from config storage; ``delivery.config.store.CachedConfigs`` fits."""

    def get(self, client_id: str) -> ClientConfig: ...


class RoutesCache:
    """Compiled routes per config object (a config reloaded by the TTL cache is a new object), and a short
    memory of clients that have no config, so unknown clients do not cost a store read per batch (T7.4)."""

    def __init__(self, not_found_ttl_s: float = DEFAULT_NOT_FOUND_TTL_S, clock: Clock = time.monotonic):
        self.not_found_ttl_s = not_found_ttl_s
        self._clock = clock
        self._entries: dict[int, tuple[ClientConfig, ClientRoutes]] = {}
        self._missing: dict[str, tuple[float, str]] = {}  # clientId -> (expires at, message)

    def missing(self, client_id: str) -> str | None:
        """The not-found message while it is remembered, else None."""
        entry = self._missing.get(client_id)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def remember_missing(self, client_id: str, message: str) -> None:
        if len(self._missing) >= MAX_CACHED:
            self._missing.clear()
        self._missing[client_id] = (self._clock() + self.not_found_ttl_s, message)

    def routes(self, config: ClientConfig) -> ClientRoutes:
        entry = self._entries.get(id(config))
        if entry is not None and entry[0] is config:
            return entry[1]
        if len(self._entries) >= MAX_CACHED:
            self._entries.clear()
        routes = compile_routes(config)
        self._entries[id(config)] = (config, routes)
        return routes


def _routes_of(configs: ConfigLookup, cache: RoutesCache, client_id: str) -> RoutesOrProblem:
    remembered = cache.missing(client_id)
    if remembered is not None:
        return ConfigProblem(ConfigProblemKind.NOT_FOUND, remembered)
    try:
        config = configs.get(client_id)
    except ConfigNotFound as exc:
        cache.remember_missing(client_id, str(exc))
        raise
    if config.client_id != client_id:
        message = f"Invalid client config for '{client_id}': clientId is '{config.client_id}'"
        return ConfigProblem(ConfigProblemKind.INVALID, message)
    return cache.routes(config)


def lookup_routes(configs: ConfigLookup, cache: RoutesCache, client_id: str) -> RoutesOrProblem:
    """One client's routes, or why there are none (blocking: may read S3 or disk)."""
    try:
        return _routes_of(configs, cache, client_id)
    except ConfigNotFound as exc:
        return ConfigProblem(ConfigProblemKind.NOT_FOUND, str(exc))
    except (ConfigInvalid, ConfigValidationError) as exc:
        return ConfigProblem(ConfigProblemKind.INVALID, str(exc))
    except Exception as exc:  # ConfigUnavailable or anything unexpected: retry later
        if not isinstance(exc, ConfigUnavailable):
            logger.exception("client config lookup failed")
        return ConfigProblem(ConfigProblemKind.UNAVAILABLE, f"{type(exc).__name__}: {exc}")


async def load_routes(
    configs: ConfigLookup, cache: RoutesCache, client_ids: set[str], offload: bool = True
) -> dict[str, RoutesOrProblem]:
    """Routes of every client of a batch; with ``offload`` the (blocking) lookups run in threads."""
    if not offload:
        return {cid: lookup_routes(configs, cache, cid) for cid in client_ids}
    ids = list(client_ids)
    loaded = await asyncio.gather(*(asyncio.to_thread(lookup_routes, configs, cache, cid) for cid in ids))
    return dict(zip(ids, loaded, strict=True))
