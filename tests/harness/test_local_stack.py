"""The local stack provisions what scenarios rely on and leaves no process behind (API and CLI)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from harness.configs import load_configs
from harness.environment import Environment
from harness.local_stack import LocalStack, StackOptions
from harness.processes import port_open
from harness.queues import Queues


def _ports(env: Environment) -> list[int]:
    urls = [env.mock_url, env.mock_admin_url, env.aws_endpoint_url, env.sqs_endpoint_url, env.redis_url,
            env.get_extra("mtls_required_mock_url")]  # fmt: skip
    return [int(urllib.parse.urlsplit(u).port or 0) for u in urls if u]


def test_stack_provisions_configs_pins_credentials_and_stops_cleanly(tmp_path: Path) -> None:
    options = StackOptions(state_dir=tmp_path / "state", with_router=False, with_worker=False)
    with LocalStack(options) as stack:
        env = stack.environment
        configs = load_configs(env)
        assert set(configs) == set(env.client_ids)
        mtls = configs[env.role("mtls")]["targets"][0]
        assert mtls["invocationEndpoint"] == f"{env.mock_url}/{mtls['targetId']}"
        assert mtls["delivery"]["mtls"]["certPinning"]["spkiHash"] == stack.mocks["mock"].server_pin
        wrong = configs[env.role("wrong_pin")]["targets"][0]["delivery"]["mtls"]["certPinning"]["spkiHash"]
        assert wrong != stack.mocks["mock"].server_pin
        required = configs[env.role("mtls_required")]["targets"][0]["invocationEndpoint"]
        assert required.startswith(env.get_extra("mtls_required_mock_url") or "?")
        with urllib.request.urlopen(f"{env.mock_admin_url}/credentials", timeout=5) as resp:
            registered = json.loads(resp.read())
        assert f"/{mtls['targetId']}" in registered
        # SQS on its own endpoint (the default emulator, fauxqs); every queue lives there, not on moto
        assert env.sqs_endpoint_url
        assert env.sqs_endpoint_url != env.aws_endpoint_url
        assert all(c.delivery_queue_url.startswith(env.sqs_endpoint_url) for c in env.clients)
        assert stack.aws_env()["AWS_ENDPOINT_URL_SQS"] == env.sqs_endpoint_url
        assert stack.aws_env()["AWS_ENDPOINT_URL"] == env.aws_endpoint_url
        queues = Queues(env, stack.run_id)
        try:
            assert all(queues.depth(c.delivery_queue_url) == (0, 0) for c in env.clients)
        finally:
            queues.close()
        assert Environment.from_toml(tmp_path / "state" / "environment.toml") == env
        ports = _ports(env)
        assert all(port_open("127.0.0.1", p) for p in ports)
    assert not any(port_open("127.0.0.1", p) for p in ports)


def test_local_up_prints_urls_and_stops_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "up"
    argv = [sys.executable, "-m", "delivery.cli.main", "local", "up", "--state-dir", str(state)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            lines = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.stdout is not None:
                line = proc.stdout.readline()
                lines.append(line)
                if "running; press Ctrl-C" in line or not line:
                    break
            assert any("inbox (mock admin)" in line for line in lines), "".join(lines)
            env = Environment.from_toml(state / "environment.toml")
            ports = _ports(env)
            assert all(port_open("127.0.0.1", p) for p in ports)
            os.kill(proc.pid, signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                pytest.fail("callbacks local up did not stop on SIGTERM")
    assert not any(port_open("127.0.0.1", p) for p in ports)
