"""``locust -f loadtests`` end to end, as a user runs it: a subprocess against the embedded local stack.

Locust monkey-patches the interpreter with gevent, so it only ever runs in a child process here.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.processes import free_port
from loadtests.slo import SLO_BREACHED_EXIT_CODE

REPO = Path(__file__).resolve().parents[2]
LOCUST = Path(sys.executable).parent / "locust"

pytestmark = pytest.mark.integration


def run_locust(tmp_path: Path, *args: str, timeout_s: float = 90) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_", "CALLBACKS_", "LOCUST_"))
    }
    argv = [str(LOCUST), "-f", str(REPO / "loadtests"), "--headless", "--only-summary",
            "--callbacks-env", "local", *args]  # fmt: skip
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout_s)


def stats_rows(prefix: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as handle:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(handle)}


def test_steady_profile_reports_publish_and_e2e_delivery_rows(tmp_path: Path) -> None:
    done = run_locust(
        tmp_path, "--load-profile", "steady", "-t", "8s", "--rate", "20", "--csv", str(tmp_path / "run"),
        "--slo-report", str(tmp_path / "slo.json"), "--drain-timeout", "20", "--max-p99-ms", "20000",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = stats_rows(tmp_path / "run")
    published = sum(
        int(rows[("sqs", n)]["Request Count"]) for n in ("publish", "publish-batch") if ("sqs", n) in rows
    )
    delivered = int(rows[("e2e", "e2e-delivery")]["Request Count"])
    assert ("sqs", "publish-batch") in rows
    assert published >= 100  # about 20 msg/s for 8 s
    assert delivered == published
    assert float(rows[("e2e", "e2e-delivery")]["95%"]) > 0
    assert any(name.startswith("e2e-delivery /load-plain-") for _, name in rows)
    report = json.loads((tmp_path / "slo.json").read_text(encoding="utf-8"))
    assert report["profile"] == "steady"
    assert report["violations"] == []
    assert report["summary"]["delivered"] == delivered
    assert report["deliveredRatio"] == 1.0
    assert "SLO passed: " in done.stderr


def test_a_breached_threshold_fails_the_run(tmp_path: Path) -> None:
    done = run_locust(tmp_path, "-t", "3s", "--rate", "10", "--max-p50-ms", "0.001", "--drain-timeout", "10")
    assert done.returncode == SLO_BREACHED_EXIT_CODE, done.stderr[-3000:]
    assert "SLO breached: e2e p50" in done.stderr
    assert "SLO breached: 1 of " in done.stderr


def test_bad_options_fail_before_any_load(tmp_path: Path) -> None:
    done = run_locust(tmp_path, "--load-profile", "nope", "-t", "3s", timeout_s=30)
    assert done.returncode == 2
    assert "profile 'nope' is not loaded" in done.stderr
    missing = run_locust(
        tmp_path, "--callbacks-env", str(tmp_path / "missing.toml"), "-t", "3s", timeout_s=30
    )
    assert missing.returncode == 2
    assert "is neither 'local' nor an existing TOML file" in missing.stderr


def test_distributed_master_and_worker(tmp_path: Path) -> None:
    """The master owns the stack, the shape, the journal and the gate; the worker only publishes."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_", "CALLBACKS_", "LOCUST_"))
    }
    worker_argv = [str(LOCUST), "-f", str(REPO / "loadtests"), "--worker", "--master-host", "127.0.0.1",
                   "--master-port", str(port)]  # fmt: skip
    with subprocess.Popen(
        worker_argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as worker:
        try:
            done = run_locust(
                tmp_path, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                "--expect-workers", "1", "--expect-workers-max-wait", "30", "-t", "4s", "--rate", "20",
                "--csv", str(tmp_path / "dist"), "--drain-timeout", "20",
            )  # fmt: skip
            worker_err = worker.communicate(timeout=30)[1]
        finally:
            if worker.poll() is None:
                worker.kill()
    assert done.returncode == 0, done.stderr[-3000:]
    assert worker.returncode == 0, worker_err[-3000:]
    rows = stats_rows(tmp_path / "dist")
    published = sum(
        int(rows[("sqs", n)]["Request Count"]) for n in ("publish", "publish-batch") if ("sqs", n) in rows
    )
    assert published > 0
    assert int(rows[("e2e", "e2e-delivery")]["Request Count"]) == published
