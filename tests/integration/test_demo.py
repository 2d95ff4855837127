"""`callbacks demo` (the README's first command) runs every scenario and exits cleanly with a summary."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration]


def test_demo_runs_every_scenario_and_summarises(callbacks_options) -> None:
    if not callbacks_options.is_local:
        pytest.skip("the demo runs its own local stack")
    argv = [sys.executable, "-m", "delivery.cli.main", "demo"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=110, check=False)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    for expected in ("done       fan-out via the router", "done       circuit breaker", "done       redrive",
                     "still pending   0",
                     "inbox           gone with the stack (`callbacks demo --stay`"):  # fmt: skip
        assert expected in out, out
    for code in ("ERR_CERT_PINNING_FAILED", "HTTP_CLIENT_ERROR", "INVALID_EVENT", "INVALID_MESSAGE",
                 "TARGET_NOT_FOUND", "RETRY_WINDOW_EXHAUSTED"):  # fmt: skip
        assert code in out
    assert re.search(r"opened [1-9]\d*, closed [1-9]", out)
    assert "moved 1" in out
    assert "http://127.0.0.1" not in out.split("Summary", 1)[1]  # no URL of a stack that has stopped
