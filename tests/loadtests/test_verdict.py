"""The SLO table (pure): one row per enabled threshold, agreeing with ``slo.check`` and the exit code."""

from __future__ import annotations

import pytest

from loadtests.slo import Thresholds, check
from loadtests.verdict import document, evaluate, exit_line
from tests.loadtests.test_slo import summary

STRICT = Thresholds(max_p50_ms=50, max_p95_ms=200, max_p99_ms=400, min_publish_rate_msgs_s=100)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"e2e_p95_ms": 250.0},
        {"e2e_p50_ms": None, "e2e_p95_ms": None, "e2e_p99_ms": None},
        {"delivered": 900},
        {"publish_failures": 50},
        {"published": 0, "delivered": 0},
        {"user_exceptions": 2},
        {"duration_s": 20.0},
    ],
)
def test_failed_rows_are_exactly_the_violations(overrides: dict[str, object]) -> None:
    run = summary(**overrides)
    rows = evaluate(run, STRICT)
    assert len([row for row in rows if not row.passed]) == len(check(run, STRICT))


def test_each_enabled_threshold_is_a_row_with_its_limit_and_value() -> None:
    rows = {row.check: row for row in evaluate(summary(e2e_p95_ms=250.0), STRICT)}
    assert rows["e2e p95"].limit == "<= 200 ms"
    assert rows["e2e p95"].value == "250 ms"
    assert not rows["e2e p95"].passed
    assert rows["e2e p50"].passed
    assert rows["delivered ratio"].value == "1.0000 (1000/1000)"
    assert rows["publish rate"].value == "100.0 msg/s"
    assert "e2e p99" not in {row.check for row in evaluate(summary(), Thresholds())}


def test_the_exit_line_says_passed_or_breached_and_why() -> None:
    assert exit_line(evaluate(summary(), STRICT)) == "SLO passed: 8 of 8 thresholds met"
    assert exit_line(evaluate(summary(e2e_p95_ms=250.0), STRICT)) == (
        "SLO breached: 1 of 8 thresholds failed (e2e p95 250 ms, limit <= 200 ms)"
    )


def test_a_running_verdict_is_provisional() -> None:
    rows = evaluate(summary(), STRICT)
    assert document(rows, "running")["verdict"] == "passed so far"
    assert document(rows, "final")["verdict"] == "passed"
    assert document(rows, "idle")["verdict"] == "no run yet"
    first = {"check": "unexpected exceptions in users", "limit": "0", "value": "0", "passed": True}
    assert document(rows, "final")["rows"][0] == {**first, "verdict": "pass"}
