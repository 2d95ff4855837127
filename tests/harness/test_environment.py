"""Environment descriptions: TOML round trip and every problem reported at once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.environment import ClientQueues, Environment, EnvironmentInvalid


def _env() -> Environment:
    return Environment(
        name="staging",
        region="eu-west-2",
        clients=(
            ClientQueues("client-a", "https://sqs/q-a", "https://sqs/dlq-a"),
            ClientQueues("client.b", "https://sqs/q-b", "https://sqs/dlq-b"),
        ),
        inbound_queue_url="https://sqs/inbound",
        inbound_dlq_url="https://sqs/inbound-dlq",
        mock_admin_url="http://mock-admin",
        redis_url="redis://cache:6379/0",
        config_location="s3://bucket/client_subscriptions/",
        capabilities=frozenset({"dlq", "faults"}),
        roles=(("fanout", "client.b"), ("plain", "client-a")),
        extra=(("note", 'quote " and ünïcode'),),
    )


def test_toml_round_trip_keeps_every_field(tmp_path: Path) -> None:
    env = _env()
    path = tmp_path / "staging.toml"
    path.write_text(env.to_toml(), encoding="utf-8")
    assert Environment.from_toml(path) == env
    assert Environment.from_toml(env.to_toml()) == env


def test_sqs_may_have_its_own_endpoint() -> None:
    split = dataclasses.replace(
        _env(), aws_endpoint_url="http://127.0.0.1:1", sqs_endpoint_url="http://127.0.0.1:2"
    )
    assert Environment.from_toml(split.to_toml()) == split
    assert (split.endpoint_for("sqs"), split.endpoint_for("s3")) == (
        "http://127.0.0.1:2",
        "http://127.0.0.1:1",
    )
    assert split.aws_env() == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:2",
    }
    one = dataclasses.replace(split, sqs_endpoint_url=None)
    assert one.endpoint_for("sqs") == one.endpoint_for("logs") == "http://127.0.0.1:1"
    assert one.aws_env() == {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
    assert _env().aws_env() == {}  # real AWS: boto3 resolves its own endpoints


def test_real_aws_has_no_endpoint_and_derives_capabilities() -> None:
    env = Environment.from_toml(_env().to_toml())
    assert env.aws_endpoint_url is None
    assert env.has("gate", "router", "dlq")  # gate from redis_url, router from the inbound queue
    assert not env.has("metrics")
    assert env.client("client.b").dlq_url == "https://sqs/dlq-b"
    assert env.role("fanout") == "client.b"


def test_unknown_role_and_client_name_what_exists() -> None:
    env = _env()
    with pytest.raises(KeyError, match="fanout"):
        env.role("circuit_breaker")
    with pytest.raises(KeyError, match="nope"):
        env.client("nope")


def test_every_problem_is_listed() -> None:
    text = """
capabilities = ["dlq", "teleport"]
mock_admin_url = 5
[roles]
fanout = "ghost"
[clients.a]
delivery_queue_url = "https://q"
"""
    with pytest.raises(EnvironmentInvalid) as info:
        Environment.from_toml(text)
    message = str(info.value)
    for expected in ("clients.a.dlq_url", "mock_admin_url", "teleport", "roles.fanout"):
        assert expected in message


def test_no_clients_and_bad_toml_are_errors() -> None:
    with pytest.raises(EnvironmentInvalid, match=r"\[clients"):
        Environment.from_toml('name = "x"\n')
    with pytest.raises(EnvironmentInvalid, match="invalid TOML"):
        Environment.from_toml("name = \n")


def test_the_shipped_example_is_a_valid_description() -> None:
    path = Path(__file__).resolve().parents[2] / "fixtures" / "environments" / "example-deployed.toml"
    env = Environment.from_toml(path)
    assert env.aws_endpoint_url is None
    assert env.role("short_retry") in env.client_ids
    assert env.has("router", "dlq")
    assert not env.has("gate")
