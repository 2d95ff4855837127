"""The SLO gate: thresholds against a run summary (pure; no Locust in this process)."""

from __future__ import annotations

import pytest

from loadtests import names
from loadtests.slo import (
    SLO_BREACHED_EXIT_CODE,
    RunSummary,
    StatsRow,
    Thresholds,
    check,
    exit_code,
    summarize,
    summary_lines,
)


def summary(**overrides: object) -> RunSummary:
    values: dict[str, object] = {
        "duration_s": 10.0,
        "published": 1000,
        "published_forced": 0,
        "publish_failures": 0,
        "delivered": 1000,
        "duplicates": 0,
        "webhook_errors": 0,
        "e2e_p50_ms": 50.0,
        "e2e_p95_ms": 200.0,
        "e2e_p99_ms": 400.0,
    }
    values.update(overrides)
    return RunSummary(**values)  # type: ignore[arg-type]


def test_a_clean_run_passes_the_default_gate() -> None:
    assert check(summary(), Thresholds()) == []
    assert exit_code([]) == 0


@pytest.mark.parametrize(
    ("overrides", "thresholds", "expected"),
    [
        ({"e2e_p95_ms": 250.0}, Thresholds(max_p95_ms=200), "e2e p95 250 ms > max 200 ms"),
        ({"e2e_p50_ms": 51.0}, Thresholds(max_p50_ms=50), "e2e p50 51 ms > max 50 ms"),
        ({"e2e_p99_ms": 401.0}, Thresholds(max_p99_ms=400), "e2e p99 401 ms > max 400 ms"),
        ({"delivered": 989}, Thresholds(), "delivered ratio 0.9890 (989/1000) < min 0.99"),
        ({"publish_failures": 20}, Thresholds(), "publish failure ratio 0.0196 > max 0.01"),
        ({"published": 100, "delivered": 100}, Thresholds(min_publish_rate_msgs_s=20), "publish rate 10.0"),
        ({"user_exceptions": 2}, Thresholds(), "2 unexpected exception(s) in load users"),
        ({"published": 0, "delivered": 0}, Thresholds(), "no deliverable message was published"),
        (
            {"delivered": 0, "e2e_p50_ms": None, "e2e_p95_ms": None, "e2e_p99_ms": None},
            Thresholds(max_p95_ms=100),
            "e2e p95: no delivery observed (max 100 ms)",
        ),
    ],
)
def test_each_breached_threshold_is_reported(
    overrides: dict[str, object], thresholds: Thresholds, expected: str
) -> None:
    violations = check(summary(**overrides), thresholds)
    assert any(v.startswith(expected) for v in violations), violations
    assert exit_code(violations) == SLO_BREACHED_EXIT_CODE


def test_limits_are_inclusive() -> None:
    exact = summary(e2e_p95_ms=200.0, delivered=990, publish_failures=10, published=990)
    thresholds = Thresholds(max_p95_ms=200, min_delivered_ratio=1.0, max_publish_failure_ratio=0.01)
    assert check(exact, thresholds) == []


def test_disabled_thresholds_check_nothing() -> None:
    off = Thresholds(min_delivered_ratio=None, max_publish_failure_ratio=None)
    assert check(summary(delivered=0, publish_failures=999), off) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_p95_ms", -1.0, "max_p95_ms must be >= 0"),
        ("min_delivered_ratio", 1.5, "min_delivered_ratio is a ratio"),
        ("max_publish_failure_ratio", 2.0, "max_publish_failure_ratio is a ratio"),
    ],
)
def test_bad_thresholds_are_rejected(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Thresholds(**{field: value})


def test_summarize_counts_messages_by_row_kind() -> None:
    rows = [
        StatsRow(names.PUBLISH_TYPE, names.PUBLISH, 10, 1),
        StatsRow(names.PUBLISH_TYPE, names.PUBLISH_BATCH, 100, 2),
        StatsRow(names.PUBLISH_TYPE, names.PUBLISH_BATCH_FORCED, 30, 0),
        StatsRow(names.PUBLISH_TYPE, names.PUBLISH_FORCED, 5, 1),
        StatsRow(names.E2E_TYPE, names.E2E_DELIVERY, 104, 0),
        StatsRow(names.E2E_TYPE, f"{names.E2E_DELIVERY} /t1", 104, 0),  # per-target rows are not re-counted
        StatsRow(names.E2E_TYPE, names.E2E_DUPLICATE, 3, 0),
        StatsRow(names.WEBHOOK_TYPE, "status-500", 7, 7),
        StatsRow(names.WEBHOOK_TYPE, "status-429", 4, 4),
    ]
    result = summarize(rows, (10.0, 20.0, 30.0), duration_s=5.0, user_exceptions=1)
    assert (result.published, result.published_forced, result.publish_failures) == (107, 34, 4)
    assert (result.delivered, result.duplicates, result.webhook_errors) == (104, 3, 11)
    assert (result.e2e_p50_ms, result.e2e_p95_ms, result.e2e_p99_ms) == (10.0, 20.0, 30.0)
    assert result.publish_rate_msgs_s == pytest.approx(141 / 5.0)
    assert result.delivered_ratio == pytest.approx(104 / 107)
    assert result.user_exceptions == 1


def test_summary_lines_name_the_numbers() -> None:
    text = "\n".join(summary_lines(summary(e2e_p95_ms=None)))
    assert "100.0 msg/s" in text
    assert "p95 - ms" in text
    assert "ratio 1.0000" in text
