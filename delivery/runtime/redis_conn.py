"""Redis connection for the gate: a plain URL, or ElastiCache with IAM authentication (SPEC H.4).

The IAM token is a SigV4-presigned ``GET`` of ``https://<cache name>/?Action=connect&User=<user>`` for the
service ``elasticache``, valid 900 s; the password is that URL without its scheme. AWS documents the cache
*name* as the host to sign (the reference https-client signed the endpoint host instead, N21). redis-py asks
the credential provider on every new connection, so a token is minted when the cached one has less than 60 s
left — connections are never re-authenticated mid-life, and no reconnect timer is needed.

Fail fast (P9): a gate call that cannot reach Redis must requeue its records promptly, not stall the batch.
redis-py's client default retries 3 times with exponential backoff (about 12 s against a stopped Redis);
here a broken connection is retried once, at once (a pooled connection closed by a Redis restart), timeouts
are not retried, and connect/read timeouts are short (the gate's scripts answer in well under a millisecond).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from redis.credentials import CredentialProvider

from delivery.runtime.settings import RedisSettings

TOKEN_TTL_S = 900
TOKEN_REFRESH_MARGIN_S = 60
ELASTICACHE_PORT = 6379
CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 0.5


def presign_iam_token(
    cache_name: str, username: str, region: str, credentials: Any, *, serverless: bool
) -> str:
    """The IAM auth token for ``username`` on ``cache_name`` (pure given the credentials and the clock)."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    params = {"Action": "connect", "User": username}
    if serverless:
        params["ResourceType"] = "ServerlessCache"
    request = AWSRequest(method="GET", url=f"https://{cache_name}/?{urlencode(params)}")
    SigV4QueryAuth(credentials, "elasticache", region, expires=TOKEN_TTL_S).add_auth(request)
    return str(request.url).removeprefix("https://")


class ElastiCacheIamProvider(CredentialProvider):
    """redis-py credential provider that hands out a cached IAM token (refreshed 60 s before expiry)."""

    def __init__(
        self,
        settings: RedisSettings,
        credentials_source: Callable[[], Any] | None = None,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._credentials_source = credentials_source or _boto_credentials
        self._clock_s = clock_s
        self._token: str | None = None
        self._expires_at_s = 0.0

    def get_credentials(self) -> tuple[str, str]:
        now_s = self._clock_s()
        if self._token is None or self._expires_at_s - now_s < TOKEN_REFRESH_MARGIN_S:
            s = self._settings
            self._token = presign_iam_token(
                s.elasticache_cache_name or "",
                s.elasticache_iam_username or "",
                s.region,
                self._credentials_source(),
                serverless=s.elasticache_serverless,
            )
            self._expires_at_s = now_s + TOKEN_TTL_S
        return (self._settings.elasticache_iam_username or "", self._token)

    async def get_credentials_async(self) -> tuple[str, str]:
        return self.get_credentials()


def _boto_credentials() -> Any:
    import boto3

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials available to sign the ElastiCache IAM token")
    return credentials.get_frozen_credentials()


def connect(settings: RedisSettings, **kwargs: Any) -> Any:
    """A ``redis.asyncio.Redis`` for the settings (lazy: no I/O until the first command)."""
    import redis.asyncio as aioredis

    options: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": READ_TIMEOUT_S,
        "retry": fail_fast_retry(),
    }
    if settings.url is not None:
        return aioredis.Redis.from_url(settings.url, **{**options, **kwargs})
    iam = {
        "host": settings.elasticache_endpoint or "",
        "port": ELASTICACHE_PORT,
        "ssl": True,
        "credential_provider": ElastiCacheIamProvider(settings),
    }
    return aioredis.Redis(**{**iam, **options, **kwargs})


def fail_fast_retry() -> Any:
    """One immediate retry, on a broken connection only (never on a timeout)."""
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    return Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
