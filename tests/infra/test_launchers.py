"""The launchers start real servers on loopback and stop them without leaving a process behind."""

from __future__ import annotations

import boto3
import pytest
import redis

from harness.moto_server import MotoServer
from harness.processes import port_open
from harness.redis_server import RedisBinaryNotFound, RedisServer, find_redis_binary


def test_redis_server_answers_and_stops() -> None:
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
        assert client.ping() is True
        assert client.config_get("save")["save"] == ""
        assert client.config_get("appendonly")["appendonly"] == "no"
        client.close()
        port = server.port
    assert not port_open("127.0.0.1", port)


def test_parallel_redis_starts_get_distinct_ports() -> None:
    servers = [RedisServer().start() for _ in range(4)]
    try:
        assert len({s.port for s in servers}) == 4
        for s in servers:
            assert redis.Redis.from_url(s.url).ping()
    finally:
        for s in servers:
            s.stop()


def test_binary_override_must_exist() -> None:
    with pytest.raises(RedisBinaryNotFound, match="CALLBACKS_REDIS_SERVER"):
        find_redis_binary({"CALLBACKS_REDIS_SERVER": "/nonexistent/valkey-server"})


def test_moto_server_serves_sqs(moto_server: MotoServer) -> None:
    env = moto_server.env()
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_server.url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    url = sqs.create_queue(QueueName="launcher-check")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in got] == ["hello"]
