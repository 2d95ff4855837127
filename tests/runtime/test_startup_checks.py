"""Each first mistake with ``callbacks worker`` / ``redrive`` / ``router`` is one line naming the setting and
the fix, exit status 2, no traceback — checked before any message is touched (against moto and a real Valkey).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from delivery.cli.main import build_parser
from harness.moto_server import MotoServer
from harness.processes import free_port

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "clients"


@dataclass
class World:
    root: Path
    client_id: str
    prefix: str
    env: dict[str, str]
    queue_url: str
    dlq_url: str

    def worker(self, *extra: str) -> list[str]:
        return ["worker", "--client", self.client_id, "--queue-prefix", self.prefix,
                "--config-dir", str(self.root / "configs"), "--app-map-file", str(self.root / "app-map.json"),
                "--redis-url", self.env["REDIS_URL"], "--burst", "--wait-s", "0", *extra]  # fmt: skip


@pytest.fixture
def world(tmp_path: Path, moto_server: MotoServer, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL_SQS", "QUEUE_PREFIX", "INBOUND_DLQ_URL", "MTLS_CERT_FILE",
                "MTLS_KEY_FILE", "MTLS_CA_FILE", "CLIENT_SUBSCRIPTION_CONFIG_BUCKET",
                "REDIS_URL"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    env = {**moto_server.env(), "REDIS_URL": redis_url, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    client_id, prefix = f"sc-{uuid.uuid4().hex[:8]}", f"startup-{uuid.uuid4().hex[:6]}"
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"{prefix}-{client_id}-delivery-queue")["QueueUrl"]
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-{client_id}-delivery-dlq-queue")["QueueUrl"]
    sqs.close()
    (tmp_path / "configs").mkdir()
    (tmp_path / "app-map.json").write_text("{}", encoding="utf-8")
    return World(tmp_path, client_id, prefix, env, queue_url, dlq_url)


def _without(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        monkeypatch.delenv(name, raising=False)


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


Case = Callable[[World, pytest.MonkeyPatch], list[str]]

CASES: dict[str, tuple[Case, str]] = {
    "no region": (
        lambda w, mp: (_without(mp, "AWS_DEFAULT_REGION"), w.worker())[1],
        "error: no AWS region: set AWS_DEFAULT_REGION (e.g. eu-west-2) or a region in your profile "
        "(AWS_REGION=",
    ),
    "no credentials": (
        lambda w, mp: (_without(mp, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), w.worker())[1],
        "error: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
    ),
    "endpoint down": (
        lambda w, mp: (mp.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}"), w.worker())[1],
        "error: cannot reach http://127.0.0.1:",
    ),
    "unknown client queue": (
        lambda w, mp: [*w.worker()[:1], "--client", "nobody", *w.worker()[3:]],
        "error: --client nobody: no queue startup-",
    ),
    "unknown queue url": (
        lambda w, mp: [*w.worker(), "--queue-url", w.queue_url + "-nope", "--dlq-url", w.dlq_url],
        "error: --queue-url http://",
    ),
    "redis url scheme": (
        lambda w, mp: [*w.worker(), "--redis-url", "http://127.0.0.1:6379"],
        "error: REDIS_URL (--redis-url) http://127.0.0.1:6379: must start with redis://, rediss:// or unix://",
    ),
    "redis down": (
        lambda w, mp: [*w.worker(), "--redis-url", f"redis://:hunter2@127.0.0.1:{free_port()}"],
        "error: REDIS_URL (--redis-url) redis://:***@127.0.0.1:",
    ),
    "config dir missing": (
        lambda w, mp: [*w.worker(), "--config-dir", str(w.root / "nope")],
        "error: --config-dir (CLIENT_SUBSCRIPTION_CONFIG_DIR) ",
    ),
    "app map missing": (
        lambda w, mp: [*w.worker(), "--app-map-file", str(w.root / "nope.json")],
        "nope.json: file does not exist",
    ),
    "app map not json": (
        lambda w, mp: [*w.worker(), "--app-map-file", _write(w.root / "bad.json", "{clients")],
        "bad.json: not valid JSON (line 1, column 2",
    ),
    "tls cert corrupt": (
        lambda w, mp: (mp.setenv("MTLS_CERT_FILE", _write(w.root / "c.pem", "garbage")), w.worker())[1],
        "error: MTLS_CERT_FILE ",
    ),
    "redrive unknown client": (
        lambda w, mp: ["redrive", "--client", "nobody", "--queue-prefix", w.prefix],
        "error: --client nobody: no queue",
    ),
    "router inbound queue missing": (
        lambda w, mp: [
            "router",
            "--inbound-queue-url",
            w.queue_url + "-nope",
            "--dlq-url",
            w.dlq_url,
            "--config-dir",
            str(w.root / "configs"),
        ],
        "error: --inbound-queue-url http://",
    ),
    "router config dir missing": (
        lambda w, mp: [
            "router",
            "--inbound-queue-url",
            w.queue_url,
            "--dlq-url",
            w.dlq_url,
            "--config-dir",
            str(w.root / "nope"),
        ],
        "nope: does not exist (give the directory of <clientId>.json configs)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_mistake_is_one_line_exit_2_and_no_traceback(
    case: str, world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build, expected = CASES[case]
    done = callbacks(build(world, monkeypatch))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0], lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert "hunter2" not in done.stdout + done.stderr


def callbacks(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``callbacks ARGV`` as a user runs it (a process of its own), with this test's environment."""
    command = [sys.executable, "-m", "delivery.cli.main", *argv]
    return subprocess.run(command, env=dict(os.environ), capture_output=True, text=True, timeout=120)


def test_router_usage_shows_the_dlq_url_as_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INBOUND_DLQ_URL", raising=False)
    router = build_parser()._subparsers._group_actions[0].choices["router"]  # type: ignore[union-attr]
    usage = " ".join(router.format_usage().split())
    assert "--dlq-url DLQ_URL" in usage
    assert "[--dlq-url" not in usage


def test_burst_exits_non_zero_when_records_were_only_requeued_for_infrastructure(world: World) -> None:
    """The app map lacks the client: each record is requeued (APPLICATION_MAP_UNAVAILABLE), none delivered."""
    config = json.loads((FIXTURES / "mock-client-plain.json").read_text(encoding="utf-8"))
    config["clientId"] = world.client_id
    (world.root / "configs" / f"{world.client_id}.json").write_text(json.dumps(config), encoding="utf-8")
    target_id = config["targets"][0]["targetId"]
    sqs = boto3.client("sqs")
    item = {"type": "MessageStatus", "attributes": {"messageId": "m-1", "messageStatus": "delivered"}}
    body = {"payload": {"data": [item]}, "subscriptionId": "s", "targetId": target_id}
    sqs.send_message(QueueUrl=world.queue_url, MessageBody=json.dumps(body))
    sqs.close()
    done = callbacks(world.worker())
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["infrastructure"] == {"APPLICATION_MAP_UNAVAILABLE": 1}
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "requeued because of infrastructure (APPLICATION_MAP_UNAVAILABLE x1)" in line
