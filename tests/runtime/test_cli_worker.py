"""`callbacks worker --burst` with several clients, queues found by name, flags over environment."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from delivery.cli.main import main
from tests.runtime.conftest import APPLICATION_ID, Stack, envelope


async def test_burst_worker_drains_every_client_queue_and_exits(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = stack.add_target()
    other = f"rt-{uuid.uuid4().hex[:10]}"
    config = json.loads((stack.root / "configs" / f"{stack.client_id}.json").read_text())
    (stack.root / "configs" / f"{other}.json").write_text(json.dumps({**config, "clientId": other}))
    (stack.root / "app-map.json").write_text(
        json.dumps({stack.client_id: APPLICATION_ID, other: APPLICATION_ID})
    )
    other_queue = stack.sqs.create_queue(QueueName=f"callbacks-test-{other}-delivery-queue")["QueueUrl"]
    stack.sqs.create_queue(QueueName=f"callbacks-test-{other}-delivery-dlq-queue")
    await stack.send(envelope(target, "m-first"))
    stack.sqs.send_message(QueueUrl=other_queue, MessageBody=envelope(target, "m-second"))
    for key in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, stack.env[key])
    for key in ("MTLS_CA_FILE", "MTLS_CERT_FILE", "MTLS_KEY_FILE", "ALLOWED_EGRESS_CIDRS"):
        monkeypatch.setenv(key, stack.env[key])
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    argv = [
        "worker",
        "--client",
        stack.client_id,
        "--client",
        other,
        "--queue-prefix",
        "callbacks-test",
        "--config-dir",
        str(stack.root / "configs"),
        "--app-map-file",
        str(stack.root / "app-map.json"),
        "--redis-url",
        stack.env["REDIS_URL"],
        "--burst",
        "--wait-s",
        "1",
    ]
    assert await asyncio.to_thread(main, argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["outcomes"] == {"ack": 2}
    assert sorted(s.message_id or "" for s in stack.receiver.requests(f"/{target}")) == [
        "m-first",
        "m-second",
    ]
    assert await stack.depth() == (0, 0)


def test_worker_reports_every_missing_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in (
        "CLIENT_ID",
        "REDIS_URL",
        "CLIENT_SUBSCRIPTION_CONFIG_DIR",
        "APPLICATIONS_MAP_FILE",
        "CLIENT_SUBSCRIPTION_CONFIG_BUCKET",
        "APPLICATIONS_MAP_PARAMETER",
        "ELASTICACHE_ENDPOINT",
    ):
        monkeypatch.delenv(key, raising=False)
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    for needle in (
        "CLIENT_SUBSCRIPTION_CONFIG_BUCKET",
        "APPLICATIONS_MAP_PARAMETER",
        "REDIS_URL",
        "--client",
    ):
        assert needle in err


@pytest.mark.parametrize("unset", [("METRICS_NAMESPACE", "ENVIRONMENT"), ("ENVIRONMENT",), ()])
async def test_worker_says_once_at_startup_when_metrics_settings_default(
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    unset: tuple[str, ...],
) -> None:
    """The worker keeps the local defaults (the Lambda runtimes refuse them) and says so in one line."""
    for key in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, stack.env[key])
    monkeypatch.setenv("METRICS_NAMESPACE", "callbacks-test")
    monkeypatch.setenv("ENVIRONMENT", "test")
    for key in unset:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    argv = ["worker", "--client", stack.client_id, "--queue-url", stack.env["QUEUE_URL"],
            "--dlq-url", stack.env["DLQ_URL"], "--config-dir", str(stack.root / "configs"),
            "--app-map-file", str(stack.root / "app-map.json"), "--redis-url", stack.env["REDIS_URL"],
            "--burst", "--wait-s", "0"]  # fmt: skip
    assert await asyncio.to_thread(main, argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    said = [line for line in lines if line["msg"] == "Metrics settings not set — using defaults"]
    defaults = {"METRICS_NAMESPACE": "enhanced-callbacks", "ENVIRONMENT": "local"}
    assert [{k: v for k, v in line.items() if k in defaults} for line in said] == (
        [{k: defaults[k] for k in unset}] if unset else []
    )
    assert all(line["level"] == "WARNING" for line in said)
