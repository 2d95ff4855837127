"""loadtests/README.md's commands, run exactly as printed (``bash -c``), each against its own embedded stack.

They run in a fresh working directory holding what the README assumes beside them (the repository's
``loadtests``, ``fixtures`` and ``.venv``), with the venv's ``bin`` first on PATH for the bare ``locust``
lines (an activated venv). Fixed ports (8089, 5557) are held by one test at a time. Whether a run meets
the default SLO depends on the spare CPU of a loaded machine, so a headless run must exit 0 (passed) or 3
(breached) and print its verdict; what each line is for is checked on top (the spike's shape, the failing
target's 500s, the web UI and the master on loopback only, the stack stopped with the run).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.processes import port_open
from harness.waits import eventually
from loadtests.slo import SLO_BREACHED_EXIT_CODE
from tests.readme_commands import readme_command, readme_commands
from tests.readme_runs import (
    AS_FROM_A_TERMINAL,
    LOOPBACK_ONLY,
    clean_env,
    descendants,
    fixed_ports,
    listening,
    still_running,
)

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
WEB_UI_PORT = 8089  # Locust's defaults, as the README's lines use them
MASTER_PORT = 5557
VERDICTS = {0: "SLO passed: ", SLO_BREACHED_EXIT_CODE: "SLO breached: "}

pytestmark = pytest.mark.integration


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in ("loadtests", "fixtures"):
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / ".venv").symlink_to(VENV)
    return tmp_path


def _env() -> dict[str, str]:
    return clean_env(bin_first=VENV / "bin")


def _run(line: str, cwd: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout_s)  # fmt: skip


def _assert_verdict(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode in VERDICTS, done.stderr[-3000:]
    assert VERDICTS[done.returncode] in done.stderr, done.stderr[-3000:]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _count(rows: list[dict[str, str]], kind: str, *names: str) -> int:
    return sum(int(r["Request Count"]) for r in rows if r["Type"] == kind and r["Name"] in names)


def test_the_help_line_lists_our_flags(workdir: Path) -> None:
    done = _run(
        readme_command("loadtests/README.md", ".venv/bin/python -m loadtests --help").text, workdir, 60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for flag in ("--callbacks-env", "--load-profile", "--rate", "--max-p99-ms", "--slo-report", "--web-host"):
        assert flag in done.stdout


@pytest.mark.timeout(240)
@pytest.mark.parametrize("prefix", [".venv/bin/locust -f loadtests --headless -t 20s --load-profile spike",
                                    ".venv/bin/locust -f loadtests/failing_target.py"])  # fmt: skip
def test_the_headless_lines_run_as_printed(workdir: Path, prefix: str) -> None:
    line = readme_command("loadtests/README.md", prefix).text
    done = _run(line, workdir, 220)
    _assert_verdict(done)
    if (
        "spike" in prefix
    ):  # the shape is a spike: 20 % of --rate, the full rate in the middle fifth, 20 % again
        history = [
            r
            for r in _rows(workdir / "loadtests-out" / "spike_stats_history.csv")
            if r["Name"] == "Aggregated"
        ]
        users = [int(r["User Count"]) for r in history if int(r["User Count"]) > 0]
        peak = users.index(max(users))
        assert max(users) == 20, users  # 200 msg/s at --user-rate 10
        assert min(users[:peak]) == 4, users  # 40 msg/s before
        assert min(users[peak:]) == 4, users  # and after
    else:  # 20 % of the messages force 500s on the breaker target; the others are delivered
        assert "status-500" in done.stdout + done.stderr
        assert "e2e-delivery" in done.stdout + done.stderr


@pytest.fixture
def web_ui_port() -> Iterator[int]:
    with fixed_ports(WEB_UI_PORT):
        yield WEB_UI_PORT


@pytest.mark.timeout(240)
def test_the_web_ui_line_serves_on_loopback_and_stops_cleanly(workdir: Path, web_ui_port: int) -> None:
    line = readme_command("loadtests/README.md", ".venv/bin/locust -f loadtests", section="Load tests")
    assert line.text == ".venv/bin/locust -f loadtests"
    assert line.comment == f"web UI on http://127.0.0.1:{web_ui_port}"
    argv = [*AS_FROM_A_TERMINAL, "bash", "-c", line.text]
    with subprocess.Popen(argv, cwd=workdir, env=_env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as proc:  # fmt: skip
        try:
            eventually(lambda: port_open("127.0.0.1", web_ui_port) or proc.poll() is not None, 120,
                       what="the web UI answers")  # fmt: skip
            assert proc.poll() is None, proc.communicate(timeout=30)[1][-3000:]
            with urllib.request.urlopen(f"http://127.0.0.1:{web_ui_port}/", timeout=30) as resp:
                page = resp.read().decode()
            assert resp.status == 200
            assert "locust" in page.lower()
            assert listening(web_ui_port) == LOOPBACK_ONLY
            stack = descendants(proc.pid)  # the stack starts in Locust's init, before the web UI serves
            assert len(stack) >= 4, stack  # Valkey, SQS, moto, mock webhooks, worker
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
            stderr = proc.communicate(timeout=120)[1]
        finally:
            if proc.poll() is None:  # SIGTERM stops the stack too; SIGKILL only if that hangs
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert still_running(stack) == [], "the local stack outlived the web UI run"
    assert not port_open("127.0.0.1", web_ui_port)


@pytest.fixture
def master_port() -> Iterator[int]:
    with fixed_ports(MASTER_PORT):
        yield MASTER_PORT


@pytest.mark.timeout(300)
def test_the_distributed_lines_run_as_printed(workdir: Path, master_port: int) -> None:
    master_line, worker_line = [c.text for c in readme_commands("loadtests/README.md", "Distributed mode")]
    assert "--expect-workers 2" in master_line
    procs: list[subprocess.Popen[str]] = []
    try:
        master = subprocess.Popen(["bash", "-c", master_line], cwd=workdir, env=_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  start_new_session=True)  # fmt: skip
        procs.append(master)
        eventually(
            lambda: listening(master_port) or master.poll() is not None, 120, what="the master listens"
        )
        assert listening(master_port) == LOOPBACK_ONLY
        for _ in range(2):  # "on each worker": two, as the master expects
            procs.append(subprocess.Popen(["bash", "-c", worker_line], cwd=workdir, env=_env(),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                          start_new_session=True))  # fmt: skip
        master_err = master.communicate(timeout=240)[1]
        worker_errs = [p.communicate(timeout=60)[1] for p in procs[1:]]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
    assert master.returncode in VERDICTS, master_err[-3000:]
    assert VERDICTS[master.returncode] in master_err, master_err[-3000:]
    assert [p.returncode for p in procs[1:]] == [0, 0], [e[-2000:] for e in worker_errs]
    rows = _rows(workdir / "loadtests-out" / "dist_stats.csv")
    published = _count(rows, "sqs", "publish", "publish-batch")
    delivered = _count(rows, "e2e", "e2e-delivery")
    assert published > 0, rows
    assert delivered > 0, rows
    if master.returncode == 0:  # the gate passed: >= 99 % delivered
        assert delivered >= 0.99 * published
