"""The pass/fail gate of a load run: thresholds against a summary of the run (pure, no Locust).

``plugin.py`` builds a ``RunSummary`` from Locust's stats at ``quitting`` and sets the process exit code
from ``check``: any violation -> ``SLO_BREACHED_EXIT_CODE``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from loadtests import names

SLO_BREACHED_EXIT_CODE = 3


@dataclass(frozen=True, slots=True)
class Thresholds:
    """None disables a check. Latencies are end-to-end (publish -> webhook receive) in milliseconds."""

    max_p50_ms: float | None = None
    max_p95_ms: float | None = None
    max_p99_ms: float | None = None
    min_delivered_ratio: float | None = 0.99
    max_publish_failure_ratio: float | None = 0.01
    min_publish_rate_msgs_s: float | None = None

    def __post_init__(self) -> None:
        problems = [
            f"{f.name} must be >= 0, got {value}"
            for f in fields(self)
            if (value := getattr(self, f.name)) is not None and value < 0
        ]
        for name in ("min_delivered_ratio", "max_publish_failure_ratio"):
            value = getattr(self, name)
            if value is not None and value > 1:
                problems.append(f"{name} is a ratio (0..1), got {value}")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True, slots=True)
class RunSummary:
    duration_s: float
    published: int  # deliverable messages SQS accepted
    published_forced: int  # messages expected never to be delivered
    publish_failures: int  # messages SQS refused (any kind)
    delivered: int  # deliverable messages seen with a 2xx at the webhook (each counted once)
    duplicates: int
    webhook_errors: int  # non-2xx answers seen at the webhook
    e2e_p50_ms: float | None
    e2e_p95_ms: float | None
    e2e_p99_ms: float | None
    user_exceptions: int = 0

    @property
    def delivered_ratio(self) -> float | None:
        return None if self.published == 0 else self.delivered / self.published

    @property
    def publish_failure_ratio(self) -> float:
        attempted = self.published + self.published_forced + self.publish_failures
        return 0.0 if attempted == 0 else self.publish_failures / attempted

    @property
    def publish_rate_msgs_s(self) -> float:
        return (self.published + self.published_forced) / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def delivery_rate_msgs_s(self) -> float:
        return self.delivered / self.duration_s if self.duration_s > 0 else 0.0


def check(summary: RunSummary, thresholds: Thresholds) -> list[str]:
    """Every breached threshold as one readable line; an empty list means the run passed."""
    violations: list[str] = []
    if summary.user_exceptions:
        violations.append(f"{summary.user_exceptions} unexpected exception(s) in load users")
    if summary.published == 0:
        violations.append("no deliverable message was published")
    violations.extend(_latency_violations(summary, thresholds))
    ratio = summary.delivered_ratio
    if (
        thresholds.min_delivered_ratio is not None
        and ratio is not None
        and ratio < thresholds.min_delivered_ratio
    ):
        violations.append(
            f"delivered ratio {ratio:.4f} ({summary.delivered}/{summary.published}) "
            f"< min {thresholds.min_delivered_ratio}"
        )
    failure_ratio = summary.publish_failure_ratio
    limit = thresholds.max_publish_failure_ratio
    if limit is not None and failure_ratio > limit:
        violations.append(f"publish failure ratio {failure_ratio:.4f} > max {limit}")
    min_rate = thresholds.min_publish_rate_msgs_s
    if min_rate is not None and summary.publish_rate_msgs_s < min_rate:
        violations.append(f"publish rate {summary.publish_rate_msgs_s:.1f} msg/s < min {min_rate}")
    return violations


def _latency_violations(summary: RunSummary, thresholds: Thresholds) -> list[str]:
    pairs = (
        ("p50", summary.e2e_p50_ms, thresholds.max_p50_ms),
        ("p95", summary.e2e_p95_ms, thresholds.max_p95_ms),
        ("p99", summary.e2e_p99_ms, thresholds.max_p99_ms),
    )
    out = []
    for label, value, limit in pairs:
        if limit is None:
            continue
        if value is None:
            out.append(f"e2e {label}: no delivery observed (max {limit:g} ms)")
        elif value > limit:
            out.append(f"e2e {label} {value:g} ms > max {limit:g} ms")
    return out


def exit_code(violations: list[str]) -> int:
    return SLO_BREACHED_EXIT_CODE if violations else 0


def summary_lines(summary: RunSummary) -> list[str]:
    """A human summary for the log at the end of a run."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:g}"

    ratio = summary.delivered_ratio
    return [
        f"published {summary.published} deliverable + {summary.published_forced} forced in "
        f"{summary.duration_s:.1f}s ({summary.publish_rate_msgs_s:.1f} msg/s), "
        f"{summary.publish_failures} publish failures",
        f"delivered {summary.delivered} ({summary.delivery_rate_msgs_s:.1f} msg/s, ratio "
        f"{'-' if ratio is None else f'{ratio:.4f}'}), {summary.duplicates} duplicates, "
        f"{summary.webhook_errors} non-2xx webhook answers",
        f"e2e latency p50 {ms(summary.e2e_p50_ms)} ms, p95 {ms(summary.e2e_p95_ms)} ms, "
        f"p99 {ms(summary.e2e_p99_ms)} ms",
    ]


@dataclass(frozen=True, slots=True)
class StatsRow:
    """One row of Locust's stats table, as plain numbers."""

    request_type: str
    name: str
    requests: int
    failures: int


def summarize(
    rows: list[StatsRow],
    e2e_percentiles_ms: tuple[float | None, float | None, float | None],
    *,
    duration_s: float,
    user_exceptions: int = 0,
) -> RunSummary:
    """The run's summary from Locust's stats rows (names in ``loadtests.names``)."""

    def total(request_type: str, row_names: tuple[str, ...], what: str) -> int:
        return sum(getattr(r, what) for r in rows if r.request_type == request_type and r.name in row_names)

    def successes(row_names: tuple[str, ...]) -> int:
        return total(names.PUBLISH_TYPE, row_names, "requests") - total(
            names.PUBLISH_TYPE, row_names, "failures"
        )

    forced = (names.PUBLISH_FORCED, names.PUBLISH_BATCH_FORCED)
    p50, p95, p99 = e2e_percentiles_ms
    return RunSummary(
        duration_s=duration_s,
        published=successes(names.DELIVERABLE_PUBLISH_NAMES),
        published_forced=successes(forced),
        publish_failures=total(names.PUBLISH_TYPE, names.ALL_PUBLISH_NAMES, "failures"),
        delivered=total(names.E2E_TYPE, (names.E2E_DELIVERY,), "requests"),
        duplicates=total(names.E2E_TYPE, (names.E2E_DUPLICATE,), "requests"),
        webhook_errors=sum(r.requests for r in rows if r.request_type == names.WEBHOOK_TYPE),
        e2e_p50_ms=p50,
        e2e_p95_ms=p95,
        e2e_p99_ms=p99,
        user_exceptions=user_exceptions,
    )
