"""The SLO verdict as a table: each threshold, its limit, the run's value and pass/fail (pure, no Locust).

``evaluate`` judges the same conditions as ``slo.check`` (which words the violations), one row per enabled
threshold, so the web UI's "SLO" tab, the JSON stats endpoint and the exit line agree with the exit code.
While a run is going the rows are provisional: messages published a moment ago cannot have arrived yet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from loadtests.slo import RunSummary, Thresholds


@dataclass(frozen=True, slots=True)
class Row:
    check: str
    limit: str
    value: str
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": "pass" if self.passed else "FAIL"}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"


def _latency_rows(summary: RunSummary, thresholds: Thresholds) -> list[Row]:
    pairs = (
        ("e2e p50", summary.e2e_p50_ms, thresholds.max_p50_ms),
        ("e2e p95", summary.e2e_p95_ms, thresholds.max_p95_ms),
        ("e2e p99", summary.e2e_p99_ms, thresholds.max_p99_ms),
    )
    return [
        Row(label, f"<= {limit:g} ms", _ms(value), value is not None and value <= limit)
        for label, value, limit in pairs
        if limit is not None
    ]


def evaluate(summary: RunSummary, thresholds: Thresholds) -> list[Row]:
    rows = [
        Row(
            "unexpected exceptions in users", "0", str(summary.user_exceptions), summary.user_exceptions == 0
        ),
        Row("deliverable messages published", ">= 1", str(summary.published), summary.published > 0),
        *_latency_rows(summary, thresholds),
    ]
    ratio, minimum = summary.delivered_ratio, thresholds.min_delivered_ratio
    if minimum is not None:
        shown = "-" if ratio is None else f"{ratio:.4f} ({summary.delivered}/{summary.published})"
        rows.append(Row("delivered ratio", f">= {minimum:g}", shown, ratio is None or ratio >= minimum))
    failures, maximum = summary.publish_failure_ratio, thresholds.max_publish_failure_ratio
    if maximum is not None:
        rows.append(Row("publish failure ratio", f"<= {maximum:g}", f"{failures:.4f}", failures <= maximum))
    rate, min_rate = summary.publish_rate_msgs_s, thresholds.min_publish_rate_msgs_s
    if min_rate is not None:
        rows.append(Row("publish rate", f">= {min_rate:g} msg/s", f"{rate:.1f} msg/s", rate >= min_rate))
    return rows


def passed(rows: list[Row]) -> bool:
    return all(row.passed for row in rows)


def exit_line(rows: list[Row]) -> str:
    """``SLO passed: 5 of 5 thresholds met`` or ``SLO breached: 1 of 5 thresholds failed (e2e p95 ...)``."""
    failed = [row for row in rows if not row.passed]
    if not failed:
        return f"SLO passed: {len(rows)} of {len(rows)} thresholds met"
    detail = "; ".join(f"{row.check} {row.value}, limit {row.limit}" for row in failed)
    return f"SLO breached: {len(failed)} of {len(rows)} thresholds failed ({detail})"


def document(rows: list[Row], state: str) -> dict[str, Any]:
    """What the web UI and ``GET /stats/requests`` show: ``state`` is idle, running, draining or final."""
    verdict = "passed" if passed(rows) else "breached"
    if state in ("running", "draining"):
        verdict += " so far"
    if state == "idle":
        verdict = "no run yet"
    return {"state": state, "verdict": verdict, "line": exit_line(rows), "rows": [r.to_json() for r in rows]}
