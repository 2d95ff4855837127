"""Done-when of the deploy stage: the scenario suite passes against the stack *as deployed*.

The template rendered from `fixtures/clients/` is created in moto's CloudFormation; every function runs in
the local Lambda runner from what the emulator returns (Handler, environment, event source mapping); the
environment file is the one `callbacks deploy environment` prints; EMF metrics are read from CloudWatch Logs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.moto_deploy import DeployedLocalStack
from harness.wiring import StackOptions
from tests.readme_runs import clean_env

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ONLY = "runs its own local stack"  # the demo scenario starts its own stack by design


@pytest.mark.timeout(900)
def test_the_scenario_suite_passes_against_the_stack_deployed_into_moto(tmp_path: Path) -> None:
    with DeployedLocalStack(StackOptions(state_dir=tmp_path / "stack")) as stack:
        assert stack.moto is not None
        aws = stack.moto.env("eu-west-2")
        described = subprocess.run(
            [sys.executable, "-m", "delivery.cli.main", *stack.environment_argv()],
            capture_output=True, text=True, timeout=120, check=False, env=clean_env() | aws,
        )  # fmt: skip
        assert described.returncode == 0, described.stderr
        env_file = tmp_path / "env.toml"
        env_file.write_text(described.stdout, encoding="utf-8")
        report = tmp_path / "report.xml"
        argv = ["-m", "pytest", "-p", "no:xdist", "-q", "-m", "integration", f"--callbacks-env={env_file}"]
        argv += [
            "--callbacks-timeout-scale",
            "2",
        ]  # ten function processes instead of two workers, on 2 cores
        argv += [f"--junitxml={report}", str(ROOT / "tests" / "integration")]
        run = subprocess.run(
            [sys.executable, *argv], capture_output=True, text=True, timeout=840, check=False, cwd=ROOT,
            env=clean_env(),
        )  # fmt: skip
        dead = stack.runner.dead() if stack.runner else []
        started = [_started_line(path) for path in sorted((tmp_path / "stack" / "functions").glob("*.log"))]
    assert len(started) == 10  # the router and the nine fixture clients
    code_dir = str(tmp_path / "stack" / "code")
    assert all(str(line.get("code", "")).startswith(code_dir) for line in started), started
    outcomes = _outcomes(report)
    failed = {name: why for name, (kind, why) in outcomes.items() if kind in ("failure", "error")}
    assert failed == {}, run.stdout[-4000:]
    skipped = {name: why for name, (kind, why) in outcomes.items() if kind == "skipped"}
    assert all(LOCAL_ONLY in why for why in skipped.values()), skipped
    passed = [name for name, (kind, _) in outcomes.items() if kind == "passed"]
    assert len(passed) >= 15, run.stdout[-2000:]  # metrics, gate, TLS, routing, failures, isolation
    assert any("observability" in name for name in passed), "the metrics scenarios ran (CloudWatch Logs)"
    assert dead == [], "every hosted function stayed up"


def _started_line(log: Path) -> dict[str, object]:
    for line in log.read_text(encoding="utf-8").splitlines():
        if '"lambda host started"' in line:
            return dict(json.loads(line))
    return {}


def _outcomes(report: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = [
            (child.tag, child.get("message") or "")
            for child in case
            if child.tag in ("failure", "error", "skipped")
        ]
        out[name] = kinds[0] if kinds else ("passed", "")
    return out
