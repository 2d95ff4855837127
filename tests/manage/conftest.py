"""Fixtures for the management CLI and config-store tests: a config store that is either a local directory
or a fresh S3 bucket on the session's moto server, and an in-process ``callbacks`` runner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from delivery.config.store import LocalDirStore, S3ConfigStore
from tests.manage.helpers import Cli


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
