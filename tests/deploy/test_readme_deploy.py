"""The README's "Deploy to AWS" commands, run exactly as printed, against moto (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import boto3
import pytest

from harness.environment import Environment
from harness.moto_server import MotoServer
from tests.readme_commands import readme_commands

ROOT = Path(__file__).resolve().parents[2]


def deploy_commands() -> list[str]:
    return [command.text for command in readme_commands("README.md", "Deploy to AWS")]


@pytest.mark.timeout(600)
def test_the_deploy_section_runs_as_printed(moto_server: MotoServer, tmp_path: Path) -> None:
    for name in (".venv", "fixtures"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))} | moto_server.env()
    s3 = boto3.client(
        "s3", region_name="eu-west-2", endpoint_url=moto_server.url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    s3.create_bucket(Bucket="my-artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    *commands, suite = deploy_commands()
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=540,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    deployed = Environment.from_toml(tmp_path / "dev.toml")
    assert set(deployed.client_ids) == {p.stem for p in (ROOT / "fixtures" / "clients").glob("*.json")}
    assert deployed.has("metrics", "router", "dlq")
    assert deployed.role("fanout") == "mock-client-fanout"  # roles derived from the configs the bucket serves
    bucket = deployed.config_location.split("/")[2] if deployed.config_location else ""
    assert s3.get_object(Bucket=bucket, Key="client_subscriptions/mock-client-plain.json")["Body"].read()
    # the last command is the one tests/deploy/test_deployed_suite.py runs against a stack with live targets
    assert suite == ".venv/bin/pytest -m integration --callbacks-env=dev.toml"
