"""TTL caches over the raw stores: parsed client configs and the applications map (SPEC H.1, H.3).

Only successes are cached; "not found", "invalid" and I/O errors are raised every time so a fix (or a
recovered S3) is picked up on the next call. Synchronous (boto3); async callers use ``asyncio.to_thread``.
Concurrent calls from several threads may load the same entry twice; that is harmless.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from delivery.config.client import ClientConfig, parse_client_config
from delivery.config.inputs import DuplicateKeyError, config_size_problem, loads_unique
from delivery.config.sources import AppMapStore, ConfigStore
from delivery.errors import ConfigError, ConfigInvalid, ConfigIssue, ConfigNotFound, ConfigValidationError
from delivery.observe.logs import log

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_TTL_S = 60.0  # the reference's default (unset, 0 or not a number)
DEFAULT_APP_MAP_TTL_S = 300.0

Clock = Callable[[], float]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    value: T
    expires_at_s: float


def parse_stored_config(client_id: str, raw: bytes) -> ClientConfig:
    """Pure: stored bytes -> ClientConfig, or ``ConfigInvalid`` naming the client and every bad path."""
    too_big = config_size_problem(len(raw))
    if too_big is not None:
        raise ConfigInvalid(f"Invalid client config for '{client_id}': {too_big}")
    try:
        data: Any = loads_unique(raw)
    except DuplicateKeyError as exc:
        issues = [ConfigIssue(path, "Duplicate key") for path in exc.paths]
        raise ConfigInvalid(
            f"Invalid client config for '{client_id}': {ConfigValidationError(issues)}"
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigInvalid(f"Invalid client config for '{client_id}': invalid JSON: {exc}") from exc
    try:
        return parse_client_config(data)
    except ConfigValidationError as exc:
        raise ConfigInvalid(f"Invalid client config for '{client_id}': {exc}") from exc


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()


class CachedConfigs:
    """``get(client_id)`` -> parsed ``ClientConfig``, cached for ``ttl_s`` per client."""

    def __init__(
        self, store: ConfigStore, ttl_s: float = DEFAULT_CONFIG_TTL_S, clock: Clock = time.monotonic
    ):
        self.store = store
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, _Entry[ClientConfig]] = {}

    def get(self, client_id: str) -> ClientConfig:
        now_s = self._clock()
        entry = self._entries.get(client_id)
        if entry is not None and entry.expires_at_s > now_s:
            return entry.value
        raw = self.store.read(client_id)
        if raw is None:
            self._entries.pop(client_id, None)
            log(logger, "info", "Client config not found", clientId=client_id, store=self.store.describe())
            raise ConfigNotFound(f"No configuration found for client '{client_id}'")
        config = parse_stored_config(client_id, raw)
        self._entries[client_id] = _Entry(config, now_s + self.ttl_s)
        return config

    def all(self) -> dict[str, ClientConfig]:
        """Every stored config that loads; broken ones are logged and left out (see ``load_all``)."""
        configs, errors = self.load_all()
        for client_id, error in errors.items():
            log(logger, "warn", "Client config skipped", clientId=client_id, error=str(error))
        return configs

    def load_all(self) -> tuple[dict[str, ClientConfig], dict[str, ConfigError]]:
        """(configs that loaded, errors by client id). Listing failures raise ``ConfigUnavailable``."""
        configs: dict[str, ClientConfig] = {}
        errors: dict[str, ConfigError] = {}
        for client_id in self.store.list_ids():
            try:
                configs[client_id] = self.get(client_id)
            except ConfigError as exc:
                errors[client_id] = exc
        return configs, errors

    def invalidate(self, client_id: str | None = None) -> None:
        if client_id is None:
            self._entries.clear()
        else:
            self._entries.pop(client_id, None)

    def close(self) -> None:
        _close(self.store)


class CachedAppMap:
    """``application_id(client_id)`` from a ``{clientId: applicationId}`` map cached for ``ttl_s``."""

    def __init__(
        self, store: AppMapStore, ttl_s: float = DEFAULT_APP_MAP_TTL_S, clock: Clock = time.monotonic
    ):
        self.store = store
        self.ttl_s = ttl_s
        self._clock = clock
        self._entry: _Entry[dict[str, str]] | None = None

    def mapping(self) -> dict[str, str]:
        now_s = self._clock()
        entry = self._entry
        if entry is None or entry.expires_at_s <= now_s:
            entry = _Entry(self.store.read(), now_s + self.ttl_s)
            self._entry = entry
        return entry.value

    def application_id(self, client_id: str) -> str:
        application_id = self.mapping().get(client_id)
        if not application_id:
            raise ConfigNotFound(
                f"No applicationId found for clientId '{client_id}' in {self.store.describe()}"
            )
        return application_id

    def invalidate(self) -> None:
        self._entry = None

    def close(self) -> None:
        _close(self.store)


def positive_number(raw: str | None, default: float) -> float:
    """Reference env semantics: unset, empty, 0, negative or not a number -> ``default``."""
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        return default
    return value if value > 0 and math.isfinite(value) else default
