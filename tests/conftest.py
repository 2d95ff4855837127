"""Shared fixtures: a real Redis/Valkey server, moto's server mode, trustme CAs.

Area-specific fixtures live in the conftest.py of each test folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import trustme
from hypothesis import settings

from harness.moto_server import MotoServer
from harness.redis_server import RedisServer

# Property tests assert behaviour, never time: no per-example deadline (Hypothesis's default 200 ms would
# make a loaded CI machine fail a correct test as "flaky"). Examples stay random, so a run can still find a
# new bug; Hypothesis prints the failing example and its seed to reproduce it.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis/Valkey server on loopback for the whole session (one per xdist worker)."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's server mode in a child process (SQS, S3, SSM, Secrets Manager)."""
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Points boto3 (via the standard AWS_ENDPOINT_URL variable) at the moto server for one test."""
    env = moto_server.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")]:
        monkeypatch.delenv(key)
    return env


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_server_cert(tls_ca: trustme.CA) -> trustme.LeafCert:
    return tls_ca.issue_cert("localhost", "127.0.0.1", "::1")


@pytest.fixture(scope="session")
def tls_client_cert(tls_ca: trustme.CA) -> trustme.LeafCert:
    return tls_ca.issue_cert("callbacks-test-client@example.org", common_name="callbacks test client")
