"""Benchmark: the embedded local stack at 1,000 msg/s — the loadtests README's bar line, run as printed,
three times in a row (a stack that holds once and collapses on the next run fails here).

Each run: Locust's steady profile publishes 1,000 msg/s for 30 s to the local stack (fauxqs SQS, Valkey,
worker, mock webhook) and its SLO verdict must pass: end-to-end p99 < 500 ms (publish -> the mock
receiving the callback) and >= 99 % of the published messages delivered. On top, the delivered rate read
from Locust's CSV must be at least 97 % of 1,000/s over the run (the publisher's own pacing can fall a
little short of the offered rate). About 2 minutes in all.
Run: ``.venv/bin/pytest tests/bench/test_steady_load_bench.py -m bench -p no:xdist -s``.
"""

from __future__ import annotations

import csv
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.readme_commands import readme_command

REPO = Path(__file__).resolve().parents[2]
RUNS = 3
MIN_DELIVERED_PER_S = 970.0


def _bar_line() -> str:
    return readme_command(
        "loadtests/README.md", ".venv/bin/locust -f loadtests --headless -t 30s --rate 1000"
    ).text


def _delivered(stats_csv: Path) -> tuple[int, float]:
    with stats_csv.open() as handle:
        [row] = [r for r in csv.DictReader(handle) if r["Type"] == "e2e" and r["Name"] == "e2e-delivery"]
    return int(row["Request Count"]), float(row["Requests/s"])


@pytest.mark.bench
@pytest.mark.timeout(900)
def test_local_stack_holds_1000_msg_per_s_three_runs_in_a_row() -> None:
    line = _bar_line()
    argv = shlex.split(line)
    csv_prefix = REPO / argv[argv.index("--csv") + 1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CALLBACKS_", "LOCUST_"))}
    results = []
    for run in range(1, RUNS + 1):
        done = subprocess.run(
            ["bash", "-c", line], cwd=REPO, env=env, capture_output=True, text=True, timeout=280
        )
        verdict = [ln for ln in done.stderr.splitlines() if "SLO passed" in ln or "SLO breached" in ln]
        count, rate = _delivered(Path(f"{csv_prefix}_stats.csv"))
        results.append((run, done.returncode, count, rate, verdict[-1] if verdict else "no verdict"))
        print(f"\nrun {run}: exit {done.returncode}, delivered {count} ({rate:,.0f}/s); {results[-1][4]}")
        assert done.returncode == 0, done.stderr[-3000:]
        assert rate >= MIN_DELIVERED_PER_S, results
