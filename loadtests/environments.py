"""Where a load run publishes: the embedded local stack, or a running environment described by TOML.

``--callbacks-env local`` starts ``harness.LocalStack`` (synchronous API; it runs Redis, moto, the mock and
the delivery worker as child processes, so nothing asyncio enters Locust's gevent process) with the load
fixtures (``fixtures/loadtests``). ``--callbacks-env PATH.toml`` reads ``harness.Environment.from_toml``.
Targets come from the environment's client configs (S3 ``config_location`` or a local directory).
"""

from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.environment import Environment
from harness.wiring import DEFAULT_SQS
from loadtests.targets import LoadTarget, targets_of_config

LOCAL = "local"
DEFAULT_FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "loadtests"
# The load stack's worker takes up to this many messages per pipeline batch while receives come back full
# (one gate admission, config lookup and settle round per target then cover five SQS receives): ~20 % less
# worker CPU per message at 600 msg/s than the worker's default of 10, and half the Redis CPU (issue 18).
LOAD_WORKER_MAX_BATCH = 50
MAX_POOL_CONNECTIONS = 64


class LoadEnvironmentError(RuntimeError):
    """The environment cannot be used for a load run (message says why and what to do)."""


def load_environment_file(spec: str) -> Environment:
    path = Path(spec)
    if not path.is_file():
        raise LoadEnvironmentError(f"--callbacks-env: {spec!r} is neither 'local' nor an existing TOML file")
    try:
        return Environment.from_toml(path)
    except ValueError as exc:
        raise LoadEnvironmentError(f"--callbacks-env {spec}: {exc}") from exc


def aws_client(service: str, env: Environment) -> Any:
    """A boto3 client for the environment (moto endpoint + dummy credentials when it is local)."""
    import boto3
    from botocore.config import Config

    kwargs: dict[str, Any] = {
        "region_name": env.region,
        "config": Config(max_pool_connections=MAX_POOL_CONNECTIONS, retries={"mode": "standard"}),
    }
    endpoint_url = env.endpoint_for(service)  # SQS may be served apart (the local stack's fauxqs)
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")  # moto
    return boto3.client(service, **kwargs)


def read_client_configs(env: Environment) -> dict[str, dict[str, Any]]:
    """clientId -> raw config JSON, for every client of the environment."""
    location = env.config_location
    if not location:
        raise LoadEnvironmentError(f"environment {env.name!r} has no config_location: targets are unknown")
    if location.startswith("s3://"):
        return _read_s3_configs(env, location)
    root = Path(location)
    return {cid: json.loads((root / f"{cid}.json").read_text(encoding="utf-8")) for cid in env.client_ids}


def _read_s3_configs(env: Environment, location: str) -> dict[str, dict[str, Any]]:
    parts = urllib.parse.urlsplit(location)
    bucket, prefix = parts.netloc, parts.path.lstrip("/")
    s3 = aws_client("s3", env)
    try:
        out = {}
        for client_id in env.client_ids:
            body = s3.get_object(Bucket=bucket, Key=f"{prefix}{client_id}.json")["Body"]
            try:
                out[client_id] = json.loads(body.read())
            finally:
                body.close()
        return out
    except Exception as exc:
        raise LoadEnvironmentError(f"cannot read client configs from {location}: {exc}") from exc
    finally:
        s3.close()


def load_targets(env: Environment) -> list[LoadTarget]:
    configs = read_client_configs(env)
    targets: list[LoadTarget] = []
    for queues in env.clients:
        targets.extend(targets_of_config(configs.get(queues.client_id, {}), queues.delivery_queue_url))
    return targets


@dataclass(slots=True)
class LocalStackHandle:
    """The embedded stack owned by this (master or standalone) Locust process."""

    fixtures_dir: Path = DEFAULT_FIXTURES_DIR
    sqs: str = DEFAULT_SQS
    stack: Any = field(default=None)

    def start(self) -> Environment:
        from harness.local_stack import LocalStack, StackOptions

        if not self.fixtures_dir.is_dir():
            raise LoadEnvironmentError(f"load fixtures directory {self.fixtures_dir} does not exist")
        options = StackOptions(
            fixtures_dir=self.fixtures_dir,
            with_router=False,
            sqs=self.sqs,
            worker_max_batch=LOAD_WORKER_MAX_BATCH,
        )
        self.stack = LocalStack(options)
        env: Environment = self.stack.start()
        return env

    @property
    def environment_file(self) -> Path:
        return Path(self.stack.state_dir) / "environment.toml"

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()
            self.stack = None
