"""The pytest plugin, run in a child pytest: inert unless asked, TOML environments, capability skips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.environment import ClientQueues, Environment

TESTS = """
import pytest

def test_unit():
    assert 1 + 1 == 2

@pytest.mark.requires("gate")
def test_needs_gate(callbacks_env):
    assert callbacks_env.redis_url

@pytest.mark.requires("dlq")
def test_needs_dlq(callbacks_env, callbacks_run_id):
    assert callbacks_env.name == "described"
    assert callbacks_run_id
"""


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(TESTS, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-rs", *args]
    return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)


def test_plugin_is_inert_for_tests_that_do_not_ask(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "-k", "unit", "--callbacks-env", str(tmp_path / "missing.toml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_toml_environment_and_capability_skips(tmp_path: Path) -> None:
    env = Environment("described", "eu-west-2", (ClientQueues("c", "https://q", "https://d"),),
                      capabilities=frozenset({"dlq"}))  # fmt: skip
    path = tmp_path / "described.toml"
    path.write_text(env.to_toml(), encoding="utf-8")
    done = _pytest(tmp_path, "--callbacks-env", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed, 1 skipped" in done.stdout
    assert "lacks gate" in done.stdout


def test_a_missing_environment_file_is_an_error_for_scenarios(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "-k", "dlq", "--callbacks-env", str(tmp_path / "missing.toml"))
    assert done.returncode != 0
    assert "missing.toml" in done.stdout


def test_a_failed_start_is_not_retried_for_every_test(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "-k", "needs", "--callbacks-env", str(tmp_path / "missing.toml"))
    assert done.returncode != 0
    assert "2 error" in done.stdout
    assert "failed to start earlier" in done.stdout
