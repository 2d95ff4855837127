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


def _down_environment(tmp_path: Path) -> Path:
    """A described environment whose endpoints nobody listens on (port 9 on loopback: discard, closed)."""
    env = Environment("described", "eu-west-2", (ClientQueues("c", "https://q", "https://d"),),
                      capabilities=frozenset({"dlq"}), mock_admin_url="http://127.0.0.1:9")  # fmt: skip
    path = tmp_path / "described.toml"
    path.write_text(env.to_toml(), encoding="utf-8")
    return path


def test_plugin_is_inert_for_tests_that_do_not_ask(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "-k", "unit", f"--callbacks-env={_down_environment(tmp_path)}")
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


def test_a_missing_environment_file_is_one_usage_error_before_collection(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "-k", "dlq", f"--callbacks-env={tmp_path / 'missing.toml'}")
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    [line] = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith("ERROR: --callbacks-env")
    assert "missing.toml does not exist" in line
    assert "Traceback" not in done.stdout + done.stderr
    assert "collected" not in done.stdout


def test_an_environment_that_is_down_is_named_once_and_not_retried(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "-k", "needs", f"--callbacks-env={_down_environment(tmp_path)}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 errors" in done.stdout
    assert done.stdout.count("environment 'described' is down: mock webhook admin (mock_admin_url)") == 2
    assert "Traceback" not in done.stdout
