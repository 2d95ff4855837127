"""fauxqs as the local stack's SQS: installed as pinned, on 127.0.0.1 only, reached through boto3's SQS-only
endpoint while the rest of AWS stays on moto, and a clear exit 2 when Node.js or the package is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import boto3
import pytest

from delivery.queue.sqs_wire import AsyncSqsClient
from harness.fauxqs_server import (
    FAUXQS_DIR,
    PACKAGE_JSON,
    FauxqsServer,
    missing_reason,
    node_major,
    sqs_env_for,
)
from harness.moto_server import MotoServer
from harness.wiring import DEFAULT_SQS, SQS_EMULATORS, moto_variant
from tests.readme_commands import readme_command
from tests.readme_runs import listening

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fauxqs() -> Iterator[FauxqsServer]:
    with FauxqsServer() as server:
        yield server


def test_fauxqs_listens_on_loopback_only(fauxqs: FauxqsServer) -> None:
    assert listening(fauxqs.port) == ["0100007F"]  # 127.0.0.1, and no 0.0.0.0 or :: socket beside it


def test_the_installed_fauxqs_is_the_pinned_one() -> None:
    pinned = json.loads((FAUXQS_DIR / "package.json").read_text())["dependencies"]["fauxqs"]
    locked = json.loads((FAUXQS_DIR / "package-lock.json").read_text())["packages"]["node_modules/fauxqs"]
    assert locked["version"] == pinned
    assert json.loads(PACKAGE_JSON.read_text())["version"] == pinned


@pytest.mark.timeout(300)
def test_make_fauxqs_as_printed_in_the_readme_leaves_the_pinned_package(tmp_path: Path) -> None:
    """Run in a copy of the Makefile and harness/fauxqs's package files: a real ``npm ci`` from nothing, and
    the checkout's node_modules, which other xdist workers' stacks are running fauxqs from, left alone
    (``npm ci`` deletes node_modules first)."""
    for name in ("Makefile", "harness/fauxqs/package.json", "harness/fauxqs/package-lock.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, tmp_path / name)
    argv = ["bash", "-c", readme_command("README.md", "make fauxqs").text]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=280, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    installed = tmp_path / PACKAGE_JSON.relative_to(REPO)
    pinned = json.loads((FAUXQS_DIR / "package.json").read_text())["dependencies"]["fauxqs"]
    assert json.loads(installed.read_text())["version"] == pinned


def test_sqs_goes_to_fauxqs_and_the_rest_of_aws_stays_on_moto(
    fauxqs: FauxqsServer, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**moto_server.env(), **sqs_env_for(fauxqs.url)}.items():
        monkeypatch.setenv(key, value)
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    try:
        assert sqs.meta.endpoint_url == fauxqs.url
        assert s3.meta.endpoint_url == moto_server.url
        url = sqs.create_queue(QueueName="endpoint-split")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes={
            "K": {"DataType": "String", "StringValue": "v"}})  # fmt: skip
        [message] = sqs.receive_message(
            QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"], WaitTimeSeconds=1
        )["Messages"]
        assert (message["Body"], message["MessageAttributes"]["K"]["StringValue"]) == ("hello", "v")
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"
        where = {"LocationConstraint": "eu-west-2"}
        s3.create_bucket(Bucket="endpoint-split", CreateBucketConfiguration=where)
        assert "endpoint-split" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        sqs.close()
        s3.close()


async def test_the_workers_async_client_resolves_the_sqs_endpoint(
    fauxqs: FauxqsServer, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**moto_server.env(), **sqs_env_for(fauxqs.url)}.items():
        monkeypatch.setenv(key, value)
    client = AsyncSqsClient.from_environment(aiohttp.ClientSession())
    try:
        assert client.endpoint_url == fauxqs.url + "/"
        url = (await client.call("CreateQueue", {"QueueName": "async-split"}))["QueueUrl"]
        await client.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}])
        reply = await client.receive_message(QueueUrl=url, WaitTimeSeconds=1)
        assert [m["Body"] for m in reply["Messages"]] == ["x"]
    finally:
        await client.close()


def test_node_versions_and_missing_parts_name_the_fix() -> None:
    assert node_major("v20.20.2\n") == 20
    assert node_major("v22.5.0-nightly") == 22
    assert node_major("not node") is None
    assert missing_reason("/usr/bin/node", "v20.1.0", installed=True) is None
    for reason in (
        missing_reason(None, "", installed=True),
        missing_reason("/usr/bin/node", "v18.20.4", installed=True),
        missing_reason("/usr/bin/node", "v20.1.0", installed=False),
    ):
        assert reason is not None
        assert "\n" not in reason
        assert "make fauxqs" in reason
        assert "--sqs moto-fast" in reason
    assert "v18.20.4" in (missing_reason("/usr/bin/node", "v18.20.4", installed=True) or "")
    assert "not installed" in (missing_reason("/usr/bin/node", "v20.1.0", installed=False) or "")


def test_local_up_without_node_exits_2_naming_the_fix(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # the venv's python, no node
    argv = [sys.executable, "-m", "delivery.cli.main", "local", "up", "--sqs", "fauxqs"]
    argv += ["--state-dir", str(tmp_path)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: the fauxqs SQS emulator needs Node.js")
    assert "make fauxqs" in line


def test_emulator_choices() -> None:
    assert DEFAULT_SQS in SQS_EMULATORS
    assert [moto_variant(s) for s in SQS_EMULATORS] == ["moto-fast", "moto-fast", "moto"]
    with pytest.raises(ValueError, match="fauxqs, moto-fast, moto"):
        moto_variant("elasticmq")
