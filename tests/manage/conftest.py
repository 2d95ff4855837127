"""Fixtures for the management CLI and config-store tests: a config store that is either a local directory
or a fresh S3 bucket on the session's moto server, and an in-process ``callbacks`` runner."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from delivery.cli import main
from delivery.config_store import ConfigStore, LocalDirStore, S3ConfigStore

TARGET_ID = "7d3c1f0e-2b1a-4c55-9d0e-1a2b3c4d5e6f"
SAMPLE_PIN = "KL/yFsVH+gnkkzdQ+DSlV8xMQOMehksgT6aOqQviOu8="

SAMPLE: dict[str, Any] = {
    "clientId": "acme-health",
    "subscriptions": [
        {
            "subscriptionId": "sub-msg-001",
            "subscriptionType": "MessageStatus",
            "messageStatuses": ["DELIVERED", "FAILED"],
            "targetIds": [TARGET_ID],
        },
        {
            "subscriptionId": "sub-ch-001",
            "subscriptionType": "ChannelStatus",
            "channelType": "SMS",
            "channelStatuses": ["DELIVERED"],
            "supplierStatuses": ["delivered", "read"],
            "targetIds": [TARGET_ID],
        },
    ],
    "targets": [
        {
            "targetId": TARGET_ID,
            "type": "API",
            "invocationEndpoint": "https://webhooks.acme.example/notify",
            "invocationMethod": "POST",
            "invocationRateLimit": 20,
            "apiKey": {"headerName": "x-api-key", "headerValue": "acme-secret-123"},
            "delivery": {
                "maxRetryDurationSeconds": 3600,
                "circuitBreaker": {"enabled": True},
                "mtls": {"enabled": True, "certPinning": {"enabled": True, "spkiHash": SAMPLE_PIN}},
            },
        }
    ],
}


def sample_config(client_id: str = "acme-health", **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SAMPLE)
    doc["clientId"] = client_id
    doc.update(changes)
    return doc


def bare_target(target_id: str = "bare-1") -> dict[str, Any]:
    """A target without any ``delivery`` block."""
    return {
        "targetId": target_id,
        "type": "API",
        "invocationEndpoint": "https://bare.example/hook",
        "invocationMethod": "POST",
        "invocationRateLimit": 5,
        "apiKey": {"headerName": "x-api-key", "headerValue": "bare-key"},
    }


@dataclass
class Result:
    rc: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    """Runs ``callbacks <argv> <store flags>`` in-process; ``stored(id)`` reads the store directly."""

    capsys: pytest.CaptureFixture[str]
    store_args: list[str]
    store: ConfigStore
    kind: str
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, *argv: str) -> Result:
        args = [*argv, *self.store_args]
        self.calls.append(args)
        self.capsys.readouterr()
        rc = main(args)
        captured = self.capsys.readouterr()
        return Result(rc, captured.out, captured.err)

    def stored(self, client_id: str) -> dict[str, Any] | None:
        raw = self.store.read(client_id)
        return None if raw is None else json.loads(raw)

    def put(self, doc: dict[str, Any]) -> None:
        self.store.write(doc["clientId"], json.dumps(doc).encode())

    def snapshot(self) -> dict[str, bytes | None]:
        return {cid: self.store.read(cid) for cid in self.store.list_ids()}


@pytest.fixture
def s3_bucket(aws_env: dict[str, str]) -> Iterator[str]:
    name = f"cfg-{uuid.uuid4().hex[:20]}"
    client = boto3.client("s3")
    try:
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        yield name
    finally:
        client.close()


@pytest.fixture(params=["local", "s3"])
def cli(request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    if request.param == "local":
        root = tmp_path / "configs"
        yield Cli(capsys, ["--dir", str(root)], LocalDirStore(root), "local")
        return
    bucket = request.getfixturevalue("s3_bucket")
    store = S3ConfigStore(bucket)
    try:
        yield Cli(capsys, ["--bucket", bucket], store, "s3")
    finally:
        store.close()


@pytest.fixture(autouse=True)
def _no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI falls back to these variables; a developer's shell must not leak into the tests."""
    for name in (
        "CLIENT_SUBSCRIPTION_CONFIG_DIR",
        "CLIENT_SUBSCRIPTION_CONFIG_BUCKET",
        "CLIENT_SUBSCRIPTION_CONFIG_PREFIX",
        "APPLICATIONS_MAP_PARAMETER",
        "APPLICATIONS_MAP_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
