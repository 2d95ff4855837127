"""The README's "Try it" lines, run as printed against a ``callbacks local up`` stack.

They run from a fresh clone layout (the tracked files in a new directory, plus what ``make install`` adds:
the project's ``.venv`` and fauxqs's ``node_modules``), through ``bash -c``. The one substitution: the state
directory ``/tmp/cb`` becomes a per-test directory, so parallel runs on one machine do not share a stack.
Scenario commands get ``-k`` (one scenario) and ``-p no:xdist`` appended (they choose tests, not the rootdir
that the ``--callbacks-env`` form is about). The last test stops the stack in the middle of a scenario run:
the run names it once, the rest fail fast.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.environment import Environment
from harness.waits import eventually
from loadtests.slo import SLO_BREACHED_EXIT_CODE
from tests.readme_commands import readme_command
from tests.readme_runs import AS_FROM_A_TERMINAL, clean_env, fixed_ports

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
README_STATE_DIR = "/tmp/cb"
ONE_SCENARIO = "-k test_fanout_client_gets_one_identical_callback"
SUITE_LINE = ".venv/bin/pytest -m integration tests/integration"

pytestmark = pytest.mark.integration


def line_starting(prefix: str) -> str:
    return readme_command("README.md", prefix, section="Try it").text


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clone")
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in listed:
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    (root / ".venv").symlink_to(VENV)
    # what `make install` adds beside the venv: the SQS emulator's npm packages (harness/fauxqs)
    (root / "harness" / "fauxqs" / "node_modules").symlink_to(REPO / "harness" / "fauxqs" / "node_modules")
    return root


@pytest.fixture(scope="module")
def stack(
    clone: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """``callbacks local up --state-dir /tmp/cb`` (in its own process group, as a terminal would run it)."""
    state = tmp_path_factory.mktemp("cb")
    printed = line_starting(".venv/bin/callbacks local up")
    assert (
        printed == readme_command("tests/integration/README.md", ".venv/bin/callbacks local up").text
    )  # the same line in both
    line = printed.replace(README_STATE_DIR, str(state))
    log = (state.parent / "local-up.log").open("w")
    proc = subprocess.Popen(
        [*AS_FROM_A_TERMINAL, "bash", "-c", line], cwd=clone, env=clean_env(), stdout=log,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        eventually(
            lambda: (state / "environment.toml").is_file() or proc.poll() is not None, 120, what="local up"
        )
        assert proc.poll() is None, (state.parent / "local-up.log").read_text()
        yield state, proc
    finally:
        try:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C stops all
                proc.wait(timeout=60)
        finally:  # a stack that ignored Ctrl-C is still stopped (SIGTERM stops its children too)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)
            log.close()


def _run(line: str, cwd: Path, timeout_s: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout_s
    )


def test_the_scenario_command_runs_as_printed_against_the_running_stack(clone: Path, stack) -> None:
    state, _ = stack
    line = line_starting(".venv/bin/pytest -m integration --callbacks-env")
    assert "--callbacks-env=" in line  # the form pytest cannot take for a test path
    command = line.replace(README_STATE_DIR, str(state))
    done = _run(f"{command} -p no:xdist -k test_fanout_client_gets_one_identical_callback", clone)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"rootdir: {clone}" in done.stdout
    assert "configfile: pyproject.toml" in done.stdout
    assert "1 passed" in done.stdout


@pytest.mark.timeout(300)
@pytest.mark.parametrize("prefix", [SUITE_LINE, f"{SUITE_LINE} -n 2", f"{SUITE_LINE} --callbacks-env="])
def test_the_scenario_suite_readme_lines_run_as_printed(clone: Path, stack, prefix: str) -> None:
    """tests/integration/README.md's local lines, each narrowed to one scenario (``-k`` appended)."""
    state, _ = stack
    command = readme_command("tests/integration/README.md", prefix)  # the line itself, else the one it starts
    done = _run(f"{command.text.replace(README_STATE_DIR, str(state))} {ONE_SCENARIO}", clone)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
    assert ("created: 2/2 workers" in done.stdout) == ("-n 2" in command.text)


@pytest.mark.timeout(300)
def test_the_xdist_scenario_command_runs_as_printed(clone: Path) -> None:
    line = line_starting(".venv/bin/pytest -m integration -n 2")
    done = _run(f"{line} -k test_fanout_client_gets_one_identical_callback", clone)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
    assert "created: 2/2 workers" in done.stdout


@pytest.mark.timeout(300)
def test_the_locust_command_runs_as_printed(clone: Path) -> None:
    """The steady line, printed in this README and in loadtests/README.md alike (run once for both)."""
    line = line_starting(".venv/bin/locust -f loadtests --headless")
    assert (
        line
        == readme_command("loadtests/README.md", ".venv/bin/locust -f loadtests --headless -t 30s --csv").text
    )
    done = _run(line, clone, timeout_s=280)
    # it runs and judges; whether 50 msg/s meets the default SLO depends on the spare CPU (3 = breached)
    assert done.returncode in (0, SLO_BREACHED_EXIT_CODE), done.stderr[-3000:]
    assert ("SLO passed: " if done.returncode == 0 else "SLO breached: ") in done.stderr
    assert (clone / "loadtests-out" / "steady_stats.csv").is_file()


def test_the_space_form_is_one_usage_error_with_the_fix(clone: Path, stack) -> None:
    state, _ = stack
    path = f"{state}/environment.toml"
    done = _run(f".venv/bin/pytest -m integration --callbacks-env {path}", clone)
    assert done.returncode == 4, done.stdout + done.stderr
    [line] = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert line == (
        f"ERROR: --callbacks-env {path}: pytest took {path} for a test path and missed pyproject.toml; "
        f"write --callbacks-env={path} (or set CALLBACKS_ENV={path})"
    )


def test_the_mock_webhook_lines_run_as_printed(tmp_path: Path, clone: Path) -> None:
    line = line_starting(".venv/bin/mock-webhook certs init")
    (tmp_path / ".venv").symlink_to(VENV)
    with fixed_ports(8443, 8444):  # the README's mock uses serve's default ports
        text = _run_mock_line(line, tmp_path)
    assert f"wrote {Path('certs') / 'ca.pem'}" in text
    assert "webhook URL: https://127.0.0.1:8443  (mTLS required)" in text
    assert "admin URL:   http://127.0.0.1:8444" in text


def _run_mock_line(line: str, tmp_path: Path) -> str:
    proc = subprocess.Popen(
        ["bash", "-c", line], cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        while not seen or not (seen[-1].startswith("server pin:") or seen[-1] == ""):
            seen.append(proc.stdout.readline())  # until serve's last start-up line (or EOF)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    return "".join(seen)


CHILD_TESTS = """
import os, signal
from harness.mock_admin import MockAdmin
from harness.processes import port_open
from harness.waits import eventually
from loadtests.slo import SLO_BREACHED_EXIT_CODE


def test_1_up(callbacks_env):
    assert MockAdmin(callbacks_env.mock_admin_url).health()


def test_2_stack_stops_mid_run(callbacks_env):
    os.killpg(int(os.environ["STACK_PGID"]), signal.SIGINT)  # Ctrl-C on `callbacks local up`
    port = int(callbacks_env.mock_admin_url.rsplit(":", 1)[1])
    eventually(lambda: not port_open("127.0.0.1", port), 60, what="the stack stopped")
    MockAdmin(callbacks_env.mock_admin_url).requests()


def test_3_after(callbacks_env):
    raise AssertionError("never reached: the environment is known to be down")


def test_4_after(callbacks_env):
    raise AssertionError("never reached: the environment is known to be down")
"""


def test_a_stack_that_stops_mid_run_is_named_once_and_the_rest_fail_fast(tmp_path: Path, stack) -> None:
    state, proc = stack
    env = Environment.from_toml(state / "environment.toml")
    (tmp_path / "test_child.py").write_text(CHILD_TESTS, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
            f"--callbacks-env={state / 'environment.toml'}"]  # fmt: skip
    done = subprocess.run(
        argv, cwd=tmp_path, env={**clean_env(), "STACK_PGID": str(proc.pid)}, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "3 failed, 1 passed" in done.stdout or "1 failed, 1 passed, 2 errors" in done.stdout, done.stdout
    reason = f"environment {env.name!r} is down: mock webhook admin (mock_admin_url) no answer at"
    assert done.stdout.count(reason) >= 3, done.stdout
    assert "never reached" not in done.stdout
    assert "Traceback" not in done.stdout
    assert "URLError" not in done.stdout
    assert len(done.stdout.splitlines()) < 40
    proc.wait(timeout=60)
    assert proc.returncode == 0
