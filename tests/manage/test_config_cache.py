"""CachedConfigs / CachedAppMap: TTL with an injected clock, errors never cached, reference messages."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from delivery.config.store import (
    CachedAppMap,
    CachedConfigs,
    ConfigError,
    ConfigInvalid,
    ConfigNotFound,
    ConfigUnavailable,
    LocalAppMapStore,
    LocalDirStore,
    S3ConfigStore,
    SsmAppMapStore,
    cached_app_map_from_env,
    cached_configs_from_env,
)
from tests.manage.helpers import TARGET_ID, sample_config


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def _write(store: LocalDirStore, doc: dict) -> None:
    store.write(doc["clientId"], json.dumps(doc).encode())


def test_config_is_cached_until_ttl_expires(tmp_path: Path) -> None:
    store, clock = LocalDirStore(tmp_path), Clock()
    cache = CachedConfigs(store, ttl_s=60, clock=clock)
    _write(store, sample_config("c1"))
    assert cache.get("c1").target(TARGET_ID) is not None

    changed = sample_config("c1")
    changed["targets"][0]["invocationRateLimit"] = 99
    _write(store, changed)
    clock.now_s += 59.9
    assert cache.get("c1").targets[0].invocation_rate_limit == 20
    clock.now_s += 0.1
    assert cache.get("c1").targets[0].invocation_rate_limit == 99


def test_not_found_is_not_cached(tmp_path: Path) -> None:
    store, clock = LocalDirStore(tmp_path), Clock()
    cache = CachedConfigs(store, ttl_s=300, clock=clock)
    with pytest.raises(ConfigNotFound, match=r"^No configuration found for client 'c1'$"):
        cache.get("c1")
    _write(store, sample_config("c1"))
    assert cache.get("c1").client_id == "c1"


def test_invalid_lists_every_path_and_is_not_cached(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    cache = CachedConfigs(store, ttl_s=300, clock=Clock())
    broken = sample_config("c1")
    broken["targets"][0]["invocationEndpoint"] = "ftp://x"
    broken["subscriptions"][0]["targetIds"] = ["nope"]
    _write(store, broken)
    with pytest.raises(ConfigInvalid) as info:
        cache.get("c1")
    message = str(info.value)
    assert message.startswith("Invalid client config for 'c1': ")
    assert "targets.0.invocationEndpoint: Expected HTTPS URL" in message
    assert 'subscriptions.0.targetIds.0: targetId "nope" not found in targets' in message
    _write(store, sample_config("c1"))
    assert cache.get("c1").client_id == "c1"


@pytest.mark.parametrize("raw", [b"{not json", b"null", b"[]"])
def test_non_documents_are_invalid(tmp_path: Path, raw: bytes) -> None:
    store = LocalDirStore(tmp_path)
    store.write("c1", raw)
    with pytest.raises(ConfigInvalid, match=r"^Invalid client config for 'c1': "):
        CachedConfigs(store).get("c1")


def test_unavailable_store_raises_unavailable(aws_env: dict[str, str]) -> None:
    cache = CachedConfigs(S3ConfigStore("bucket-that-does-not-exist"), clock=Clock())
    try:
        with pytest.raises(ConfigUnavailable):
            cache.get("c1")
    finally:
        cache.close()


def test_s3_backed_cache(s3_bucket: str) -> None:
    cache = cached_configs_from_env({"CLIENT_SUBSCRIPTION_CONFIG_BUCKET": s3_bucket}, clock=Clock())
    try:
        assert cache.ttl_s == 60  # the reference default
        cache.store.write("c1", json.dumps(sample_config("c1")).encode())
        assert cache.get("c1").client_id == "c1"
        cache.store.write("c2", b"")
        with pytest.raises(ConfigInvalid, match="S3 response body was empty for client 'c2'"):
            cache.get("c2")
    finally:
        cache.close()


def test_load_all_separates_errors(tmp_path: Path) -> None:
    store = LocalDirStore(tmp_path)
    _write(store, sample_config("good"))
    store.write("bad", b'{"clientId": ""}')
    cache = CachedConfigs(store)
    configs, errors = cache.load_all()
    assert list(configs) == ["good"]
    assert list(errors) == ["bad"]
    assert isinstance(errors["bad"], ConfigInvalid)
    assert list(cache.all()) == ["good"]


@pytest.mark.parametrize(
    ("raw", "expected_s"),
    [(None, 60), ("", 60), ("0", 60), ("NaN", 60), ("abc", 60), ("-5", 60), ("300", 300), ("120", 120)],
)
def test_ttl_from_env(tmp_path: Path, raw: str | None, expected_s: float) -> None:
    env = {"CLIENT_SUBSCRIPTION_CONFIG_DIR": str(tmp_path)}
    if raw is not None:
        env["CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS"] = raw
    assert cached_configs_from_env(env).ttl_s == expected_s


def test_local_app_map_cached_with_ttl(tmp_path: Path) -> None:
    path = tmp_path / "apps.json"
    path.write_text(json.dumps({"c1": "app-1"}))
    clock = Clock()
    apps = cached_app_map_from_env(
        {"APPLICATIONS_MAP_FILE": str(path), "APPLICATIONS_MAP_CACHE_TTL_MS": "5000"}, clock
    )
    assert apps.ttl_s == 5
    assert apps.application_id("c1") == "app-1"
    path.write_text(json.dumps({"c1": "app-2", "c2": "app-3"}))
    with pytest.raises(ConfigNotFound, match="No applicationId found for clientId 'c2'"):
        apps.application_id("c2")
    clock.now_s += 5
    assert apps.application_id("c1") == "app-2"
    assert apps.application_id("c2") == "app-3"


def test_local_app_map_errors(tmp_path: Path) -> None:
    missing = CachedAppMap(LocalAppMapStore(tmp_path / "none.json"))
    with pytest.raises(ConfigNotFound, match="not found"):
        missing.application_id("c1")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(ConfigInvalid, match="contains invalid JSON"):
        CachedAppMap(LocalAppMapStore(bad)).application_id("c1")
    bad.write_text('{"c1": 5}')
    with pytest.raises(ConfigInvalid, match="must hold a JSON object"):
        CachedAppMap(LocalAppMapStore(bad)).application_id("c1")


@pytest.fixture
def ssm_parameter(aws_env: dict[str, str]) -> str:
    import uuid

    return f"/callbacks-test/{uuid.uuid4().hex}/applications-map"


def _put_parameter(name: str, value: str) -> None:
    ssm = boto3.client("ssm")
    try:
        ssm.put_parameter(Name=name, Value=value, Type="SecureString")
    finally:
        ssm.close()


def test_ssm_app_map_reference_messages(ssm_parameter: str) -> None:
    clock = Clock()
    apps = cached_app_map_from_env({"APPLICATIONS_MAP_PARAMETER": ssm_parameter}, clock)
    try:
        assert apps.ttl_s == 300
        with pytest.raises(
            ConfigNotFound, match=f"^SSM parameter '{ssm_parameter}' not found or has no value$"
        ):
            apps.application_id("c1")
        _put_parameter(ssm_parameter, "{broken")
        with pytest.raises(ConfigInvalid, match=f"^SSM parameter '{ssm_parameter}' contains invalid JSON$"):
            apps.application_id("c1")
        apps.store.write({"c1": "app-1"})
        assert apps.application_id("c1") == "app-1"
        with pytest.raises(ConfigNotFound, match=r"^No applicationId found for clientId 'zz' in SSM map$"):
            apps.application_id("zz")
    finally:
        apps.close()


def test_ssm_write_keeps_secure_string(ssm_parameter: str) -> None:
    store = SsmAppMapStore(ssm_parameter)
    try:
        store.write({"b": "2"})
        store.write({"a": "1", "b": "2"})
        assert store.read() == {"a": "1", "b": "2"}
    finally:
        store.close()
    ssm = boto3.client("ssm")
    try:
        assert ssm.get_parameter(Name=ssm_parameter)["Parameter"]["Type"] == "SecureString"
    finally:
        ssm.close()


def test_app_map_from_env_requires_a_source() -> None:
    with pytest.raises(ConfigError, match=r"^APPLICATIONS_MAP_PARAMETER is required$"):
        cached_app_map_from_env({})
