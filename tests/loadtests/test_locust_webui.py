"""The SLO verdict in Locust's web UI (its JSON stats endpoint, which the UI's "SLO" tab renders), while
the run goes and after it ends; deliveries stay out of the Aggregated (publish) row; the form's ignored
fields are disabled and its labels readable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness.processes import free_port
from harness.waits import eventually

REPO = Path(__file__).resolve().parents[2]
LOCUST = Path(sys.executable).parent / "locust"

pytestmark = pytest.mark.integration


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = resp.read().decode()
    return json.loads(body) if body.lstrip().startswith(("{", "[")) else body


def _stats(base: str) -> dict[str, Any] | None:
    try:
        doc = _get(base + "/stats/requests")
    except OSError:
        return None
    return doc if isinstance(doc, dict) else None


def test_the_web_ui_shows_the_slo_verdict_while_running_and_at_the_end(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_", "CALLBACKS_", "LOCUST_"))
    }
    argv = [str(LOCUST), "-f", str(REPO / "loadtests"), "--web-host", "127.0.0.1", "--web-port", str(port),
            "--autostart", "--autoquit", "10", "-t", "6s", "--rate", "20", "--max-p99-ms", "20000",
            "--drain-timeout", "20", "--callbacks-env", "local"]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as proc:  # fmt: skip
        try:
            running = eventually(
                lambda: (doc := _stats(base)) and doc["slo"]["state"] == "running" and doc, 120,
                what="a running load test in the web UI",
            )  # fmt: skip
            page = _get(base + "/")
            final = eventually(
                lambda: (doc := _stats(base)) and doc["slo"]["state"] == "final" and doc, 90,
                what="the final verdict in the web UI",
            )  # fmt: skip
            # Locust caches the stats rows for ~2 s: read them again until they are the final ones
            final = eventually(
                lambda: (doc := _stats(base)) and _settled_rows(doc) and doc, 8, what="the final stats rows"
            )
        finally:
            stderr = proc.communicate(timeout=120)[1]
    assert proc.returncode == 0, stderr[-3000:]

    checks = {row["check"]: row for row in running["slo"]["rows"]}
    assert set(checks) >= {"e2e p99", "delivered ratio", "publish failure ratio"}
    assert checks["e2e p99"]["limit"] == "<= 20000 ms"
    assert running["slo"]["verdict"].endswith("so far")
    [tab] = running["extended_stats"]
    assert tab["key"] == "slo"
    assert tab["data"][0]["check"] == "overall (running)"

    assert final["slo"]["verdict"] == "passed"
    assert all(row["verdict"] == "pass" for row in final["slo"]["rows"])
    assert final["slo"]["line"] in stderr
    assert final["slo"]["line"].startswith("SLO passed: ")

    rows = {(row["method"], row["name"]): row for row in final["stats"] if row["name"] != "Aggregated"}
    [total] = [row for row in final["stats"] if row["name"] == "Aggregated"]
    published = sum(row["num_requests"] for (kind, _), row in rows.items() if kind == "sqs")
    assert rows[("e2e", "e2e-delivery")]["num_requests"] == published > 0
    assert total["num_requests"] == published  # deliveries are not counted as more requests

    assert '"extended_tabs": [{"key": "slo", "title": "SLO"}]' in page
    assert '"host": "(unused: --callbacks-env names the endpoints)"' in page
    assert '"hide_common_options": true' in page
    assert '"missing_host_warning": false' in page
    assert "max_ninety_fifth_ms" in page
    assert "max_p95_ms" not in page


def _settled_rows(doc: dict[str, Any]) -> bool:
    """The e2e delivery row has caught up with the publishes (rows are refreshed after the verdict)."""
    rows = {(row["method"], row["name"]): row for row in doc["stats"] if row["name"] != "Aggregated"}
    published = sum(row["num_requests"] for (kind, _), row in rows.items() if kind == "sqs")
    return bool(rows.get(("e2e", "e2e-delivery"), {}).get("num_requests") == published > 0)
