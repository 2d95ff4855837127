"""Settings.from_env: reference variables, defaults, and every problem reported at once."""

from __future__ import annotations

import pytest

from delivery.runtime.settings import Settings, SettingsError


def test_reference_variables_are_read() -> None:
    s = Settings.from_env(
        {
            "CLIENT_ID": "acme",
            "QUEUE_URL": "http://q",
            "DLQ_URL": "http://d",
            "CONCURRENCY_LIMIT": "25",
            "REQUEST_TIMEOUT_MS": "5000",
            "CLIENT_SUBSCRIPTION_CONFIG_BUCKET": "bucket",
            "CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS": "60",
            "APPLICATIONS_MAP_PARAMETER": "/p",
            "APPLICATIONS_MAP_CACHE_TTL_MS": "0",
            "ELASTICACHE_ENDPOINT": "cache.example",
            "ELASTICACHE_CACHE_NAME": "cache",
            "ELASTICACHE_IAM_USERNAME": "user",
            "METRICS_NAMESPACE": "ns",
            "ENVIRONMENT": "dev",
        }
    )
    assert (s.client_id, s.queue_url, s.dlq_url) == ("acme", "http://q", "http://d")
    assert (s.concurrency_limit, s.request_timeout_ms) == (25, 5000)
    assert s.per_target_limit == 19  # default: three quarters of CONCURRENCY_LIMIT
    assert Settings.from_env({"TARGET_CONCURRENCY_LIMIT": "4"}).per_target_limit == 4
    assert Settings.from_env({"TARGET_CONCURRENCY_LIMIT": "40"}).per_target_limit == 10  # <= the pool
    assert (s.config_bucket, s.config_prefix, s.config_cache_ttl_s) == ("bucket", "client_subscriptions/", 60)
    assert s.app_map_cache_ttl_ms == 300_000  # 0 means the default, as in the reference
    assert s.redis.uses_iam
    assert s.redis.region == "eu-west-2"
    assert (s.metrics_namespace, s.environment) == ("ns", "dev")
    assert s.problems_for_worker() == []


def test_every_bad_variable_is_reported() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "CONCURRENCY_LIMIT": "lots",
                "REQUEST_TIMEOUT_MS": "0",
                "REDIS_URL": "http://nope",
                "RECEIVE_WAIT_SECONDS": "30",
            }
        )
    problems = caught.value.problems
    assert len(problems) == 4
    assert any("CONCURRENCY_LIMIT" in p for p in problems)
    assert any("REQUEST_TIMEOUT_MS" in p for p in problems)
    assert any("REDIS_URL" in p for p in problems)
    assert any("RECEIVE_WAIT_SECONDS" in p for p in problems)


def test_partial_elasticache_variables_are_an_error() -> None:
    with pytest.raises(SettingsError, match="ELASTICACHE_CACHE_NAME, ELASTICACHE_ENDPOINT"):
        Settings.from_env({"ELASTICACHE_ENDPOINT": "x"})


def test_worker_requirements_name_the_missing_sources() -> None:
    problems = Settings.from_env({}).problems_for_worker()
    assert len(problems) == 3


def test_overrides_ignore_none() -> None:
    s = Settings.from_env({"CLIENT_ID": "a"}).with_overrides(client_id=None, config_dir="/tmp/x")
    assert (s.client_id, s.config_dir) == ("a", "/tmp/x")


@pytest.mark.parametrize(
    ("raw", "ttl_s"),
    [(None, 60), ("", 60), ("abc", 60), ("0", 60), ("NaN", 60), ("-1", 60), ("300", 300), ("2.5", 2.5)],
)
def test_config_cache_ttl_defaults_to_the_references_60_s(raw: str | None, ttl_s: float) -> None:
    """SPEC-ROUTER T3.1 / T6.45 (and Appendix 1's deployed value): unset or non-numeric -> 60 s."""
    env = {} if raw is None else {"CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS": raw}
    assert Settings.from_env(env).config_cache_ttl_s == ttl_s
    assert Settings().config_cache_ttl_s == 60


def test_allowed_egress_cidrs_is_read_like_the_other_settings() -> None:
    assert Settings.from_env({}).egress.allowed == ()
    settings = Settings.from_env({"ALLOWED_EGRESS_CIDRS": "127.0.0.0/8, 10.1.0.0/16"})
    assert [str(n) for n in settings.egress.allowed] == ["127.0.0.0/8", "10.1.0.0/16"]
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"ALLOWED_EGRESS_CIDRS": "127.0.0.0/8,loopback", "CONCURRENCY_LIMIT": "x"})
    assert len(raised.value.problems) == 2
    assert any("ALLOWED_EGRESS_CIDRS: 'loopback' is not a CIDR" in p for p in raised.value.problems)
