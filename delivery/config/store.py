"""Client-config and applications-map storage: the one import for the router, the runtime and the CLI.

Raw stores (``delivery.config.sources`` / ``delivery.config.aws``)::

    ConfigStore   read(client_id) -> bytes | None, write(client_id, data), list_ids(), describe()
      LocalDirStore(root)                          <root>/<clientId>.json
      S3ConfigStore(bucket, prefix, client=None)   s3://<bucket>/<prefix><clientId>.json
    AppMapStore   read() -> {clientId: applicationId}, write(mapping), describe()
      LocalAppMapStore(path)                       one JSON file
      SsmAppMapStore(parameter_name, client=None)  SSM parameter (SecureString), read WithDecryption

Caches (``delivery.config.cache``): ``CachedConfigs(store, ttl_s, clock).get(client_id)`` and
``CachedAppMap(store, ttl_s, clock).application_id(client_id)``; ``cached_configs_from_env(environ)``
and ``cached_app_map_from_env(environ)`` build them from the environment.

Environment (read only by the ``*_from_env`` functions, at the edges):
``CLIENT_SUBSCRIPTION_CONFIG_DIR`` (ours; wins) or ``CLIENT_SUBSCRIPTION_CONFIG_BUCKET`` +
``CLIENT_SUBSCRIPTION_CONFIG_PREFIX`` (default ``client_subscriptions/``),
``CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS`` (default 60, also when 0 or not a number, as the reference);
``APPLICATIONS_MAP_FILE`` (ours; wins) or ``APPLICATIONS_MAP_PARAMETER``,
``APPLICATIONS_MAP_CACHE_TTL_MS`` (default 300000).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from delivery.config.aws import S3ConfigStore, SsmAppMapStore
from delivery.config.cache import (
    DEFAULT_APP_MAP_TTL_S,
    DEFAULT_CONFIG_TTL_S,
    CachedAppMap,
    CachedConfigs,
    parse_stored_config,
    positive_number,
)
from delivery.config.sources import (
    DEFAULT_CONFIG_PREFIX,
    AppMapStore,
    ConfigStore,
    LocalAppMapStore,
    LocalDirStore,
)
from delivery.errors import ConfigError, ConfigInvalid, ConfigNotFound, ConfigUnavailable

CONFIG_DIR_ENV = "CLIENT_SUBSCRIPTION_CONFIG_DIR"
CONFIG_BUCKET_ENV = "CLIENT_SUBSCRIPTION_CONFIG_BUCKET"
CONFIG_PREFIX_ENV = "CLIENT_SUBSCRIPTION_CONFIG_PREFIX"
APP_MAP_FILE_ENV = "APPLICATIONS_MAP_FILE"
APP_MAP_PARAMETER_ENV = "APPLICATIONS_MAP_PARAMETER"


def config_store_from_env(environ: Mapping[str, str], s3_client: Any | None = None) -> ConfigStore:
    """A local directory when ``CLIENT_SUBSCRIPTION_CONFIG_DIR`` is set, else the S3 bucket (required)."""
    if environ.get(CONFIG_DIR_ENV):
        return LocalDirStore(environ[CONFIG_DIR_ENV])
    bucket = environ.get(CONFIG_BUCKET_ENV)
    if not bucket:
        raise ConfigError(f"{CONFIG_BUCKET_ENV} is required")
    prefix = environ.get(CONFIG_PREFIX_ENV) or DEFAULT_CONFIG_PREFIX
    return S3ConfigStore(bucket, prefix, client=s3_client)


def app_map_store_from_env(environ: Mapping[str, str], ssm_client: Any | None = None) -> AppMapStore:
    """A local JSON file when ``APPLICATIONS_MAP_FILE`` is set, else the SSM parameter (required)."""
    if environ.get(APP_MAP_FILE_ENV):
        return LocalAppMapStore(environ[APP_MAP_FILE_ENV])
    name = environ.get(APP_MAP_PARAMETER_ENV)
    if not name:
        raise ConfigError(f"{APP_MAP_PARAMETER_ENV} is required")
    return SsmAppMapStore(name, client=ssm_client)


def cached_configs_from_env(
    environ: Mapping[str, str], clock: Callable[[], float] = time.monotonic
) -> CachedConfigs:
    """``CachedConfigs`` over the store the environment names, ``CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS``."""
    ttl_s = positive_number(environ.get("CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS"), DEFAULT_CONFIG_TTL_S)
    return CachedConfigs(config_store_from_env(environ), ttl_s=ttl_s, clock=clock)


def cached_app_map_from_env(
    environ: Mapping[str, str], clock: Callable[[], float] = time.monotonic
) -> CachedAppMap:
    """``CachedAppMap`` over the store the environment names, ``APPLICATIONS_MAP_CACHE_TTL_MS``."""
    ttl_ms = positive_number(environ.get("APPLICATIONS_MAP_CACHE_TTL_MS"), DEFAULT_APP_MAP_TTL_S * 1000)
    return CachedAppMap(app_map_store_from_env(environ), ttl_s=ttl_ms / 1000, clock=clock)


__all__ = [
    "DEFAULT_APP_MAP_TTL_S",
    "DEFAULT_CONFIG_PREFIX",
    "DEFAULT_CONFIG_TTL_S",
    "AppMapStore",
    "CachedAppMap",
    "CachedConfigs",
    "ConfigError",
    "ConfigInvalid",
    "ConfigNotFound",
    "ConfigStore",
    "ConfigUnavailable",
    "LocalAppMapStore",
    "LocalDirStore",
    "S3ConfigStore",
    "SsmAppMapStore",
    "app_map_store_from_env",
    "cached_app_map_from_env",
    "cached_configs_from_env",
    "config_store_from_env",
    "parse_stored_config",
]
