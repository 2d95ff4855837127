"""`make demo` (the README's first command, run as printed) runs every scenario and exits cleanly with a
summary.

It runs after the dedicated scenarios (tests/integration/conftest.py orders it last): they name what broke;
this test says which demo act did not complete and what the demo saw instead.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.readme_commands import readme_command

pytestmark = [pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]
ACT_PREFIXES = ("  published  ", "  done       ")  # then the act's name in 24 columns (harness/demo*.py)
SUMMARY_KEYS = ("dead-lettered", "circuit events", "redriven", "still pending", "redrive ")


def acts_not_done(out: str) -> list[str]:
    def names(prefix: str) -> list[str]:
        return [line[len(prefix) :][:24].strip() for line in out.splitlines() if line.startswith(prefix)]

    published, done = names(ACT_PREFIXES[0]), set(names(ACT_PREFIXES[1]))
    return [name for name in dict.fromkeys(published) if name not in done]


def explain(out: str, err: str, wanted: str) -> str:
    """What a failed expectation looks like from the outside: the acts left pending and what was seen."""
    seen = [line.strip() for line in out.splitlines() if line.strip().startswith(SUMMARY_KEYS)]
    tail = "\n".join(err.strip().splitlines()[-5:])
    return (
        f"demo: expected {wanted!r}; acts not completed: {acts_not_done(out) or 'none'}; seen: "
        + ("; ".join(seen) or "no summary")
        + (f"\nstderr (last lines):\n{tail}" if tail else "")
    )


def test_demo_runs_every_scenario_and_summarises(callbacks_options) -> None:
    if not callbacks_options.is_local:
        pytest.skip("the demo runs its own local stack")
    if subprocess.run(["make", "-q", "install"], cwd=REPO, capture_output=True, timeout=60).returncode != 0:
        pytest.skip("make demo would first reinstall the venv this suite runs from: run make install")
    argv = ["bash", "-c", readme_command("README.md", "make demo").text]  # as printed, from the checkout
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=110, check=False)
    out, err = done.stdout, done.stderr
    assert done.returncode == 0, explain(out, err, "exit status 0") + f"\n(exit {done.returncode})"
    for expected in ("done       fan-out via the router", "done       circuit breaker", "done       redrive",
                     "still pending   0",
                     "inbox           gone with the stack (`callbacks demo --stay`"):  # fmt: skip
        assert expected in out, explain(out, err, expected)
    for code in ("ERR_CERT_PINNING_FAILED", "HTTP_CLIENT_ERROR", "INVALID_EVENT", "INVALID_MESSAGE",
                 "TARGET_NOT_FOUND", "RETRY_WINDOW_EXHAUSTED"):  # fmt: skip
        assert code in out, explain(out, err, f"a dead letter with {code}")
    assert re.search(r"opened [1-9]\d*, closed [1-9]", out), explain(
        out, err, "the breaker opened and closed"
    )
    assert "moved 1" in out, explain(out, err, "one message redriven")
    assert "http://127.0.0.1" not in out.split("Summary", 1)[1], explain(
        out, err, "no URL of a stack that has stopped"
    )


def test_the_failure_message_names_the_acts_left_pending() -> None:
    out = (
        "  published  fan-out via the router   2 targets\n  published  circuit breaker          500s\n"
        "  done       fan-out via the router   after 3.1s\n  still pending   1 (<circuit breaker>)\n"
    )
    said = explain(out, "Traceback\nboom", "done       circuit breaker")
    assert "acts not completed: ['circuit breaker']" in said
    assert "still pending   1 (<circuit breaker>)" in said
    assert said.endswith("Traceback\nboom")
