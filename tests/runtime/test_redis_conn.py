"""ElastiCache IAM token: SigV4 presigned for the cache NAME, cached until 60 s before expiry."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from botocore.credentials import Credentials

from delivery.runtime.redis_conn import ElastiCacheIamProvider, presign_iam_token
from delivery.runtime.settings import RedisSettings

CREDS = Credentials("AKIDEXAMPLE", "secret-key-not-logged")


def test_token_signs_the_cache_name_for_elasticache() -> None:
    token = presign_iam_token("my-cache", "iam-user", "eu-west-2", CREDS, serverless=False)
    parts = urlsplit("https://" + token)
    query = parse_qs(parts.query)
    assert parts.hostname == "my-cache"
    assert query["Action"] == ["connect"]
    assert query["User"] == ["iam-user"]
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Credential"][0].split("/")[2:4] == ["eu-west-2", "elasticache"]
    assert "X-Amz-Signature" in query
    assert "ResourceType" not in query
    serverless = presign_iam_token("my-cache", "iam-user", "eu-west-2", CREDS, serverless=True)
    assert parse_qs(urlsplit("https://" + serverless).query)["ResourceType"] == ["ServerlessCache"]


def test_provider_caches_until_close_to_expiry() -> None:
    now = [0.0]
    calls = []

    def creds() -> Credentials:
        calls.append(1)
        return CREDS

    settings = RedisSettings(
        elasticache_endpoint="ep.example", elasticache_cache_name="c", elasticache_iam_username="u"
    )
    provider = ElastiCacheIamProvider(settings, credentials_source=creds, clock_s=lambda: now[0])
    user, token = provider.get_credentials()
    assert user == "u"
    assert token.startswith("c/?")
    now[0] = 839.0
    assert provider.get_credentials()[1] == token
    now[0] = 841.0
    provider.get_credentials()
    assert len(calls) == 2


async def test_connect_uses_tls_and_the_iam_provider_for_elasticache() -> None:
    from delivery.runtime.redis_conn import connect

    settings = RedisSettings(
        elasticache_endpoint="cache.example", elasticache_cache_name="c", elasticache_iam_username="u"
    )
    client = connect(settings)
    try:
        kwargs = client.connection_pool.connection_kwargs
        assert kwargs["host"] == "cache.example"
        assert kwargs["port"] == 6379
        assert isinstance(kwargs["credential_provider"], ElastiCacheIamProvider)
        assert client.connection_pool.connection_class.__name__ == "SSLConnection"
    finally:
        await client.aclose()


async def test_both_connection_kinds_fail_fast() -> None:
    """redis-py's own default (3 retries, exponential backoff) stalled a batch ~12 s on a stopped Redis."""
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    from delivery.runtime.redis_conn import connect

    iam = RedisSettings(
        elasticache_endpoint="cache.example", elasticache_cache_name="c", elasticache_iam_username="u"
    )
    for settings in (RedisSettings(url="redis://127.0.0.1:1/0"), iam):
        client = connect(settings)
        try:
            connection = client.connection_pool.make_connection()
            retry = connection.retry
            assert retry.get_retries() == 1
            assert isinstance(retry._backoff, NoBackoff)
            assert tuple(retry._supported_errors) == (RedisConnectionError,)  # timeouts are not retried
            assert connection.socket_timeout <= 0.5
            assert connection.socket_connect_timeout <= 1.0
        finally:
            await client.aclose()
