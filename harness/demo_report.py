"""Running the demo plan to completion and summarising it (what the webhook saw, the DLQs, the metrics)."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

from harness.demo import DemoPlan, Say, missing_by_expectation
from harness.environment import Environment
from harness.metrics_log import MetricsLog
from harness.mock_admin import JournalRecord, MockAdmin
from harness.scenarios import Scenario
from harness.waits import WaitTimeout, eventually


@dataclass
class DemoSummary:
    delivered: int = 0
    requests: int = 0
    retried: int = 0
    signatures_valid: int = 0
    mtls_verified: int = 0
    gate_denials: float = 0
    server_429s: float = 0
    breaker_opened: float = 0
    breaker_closed: float = 0
    breaker_blocked: float = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    redriven: str = ""
    pending: list[str] = field(default_factory=list)
    took_s: float = 0.0

    def lines(self, env: Environment, *, stays: bool = False) -> list[str]:
        """The summary; the inbox URL only while the stack keeps running (``--stay``)."""
        codes = ", ".join(f"{code} x{n}" for code, n in sorted(self.dead_letters.items())) or "none"
        return [
            "",
            "Summary",
            f"  delivered       {self.delivered} callbacks ({self.requests} HTTP requests in total)",
            f"  signatures      {self.signatures_valid}/{self.delivered} delivered requests signed validly",
            f"  mTLS            {self.mtls_verified} delivered with a verified client certificate",
            f"  retried         {self.retried} callbacks needed more than one attempt",
            f"  rate limited    {self.gate_denials:.0f} gate denials, {self.server_429s:.0f} webhook 429s",
            f"  circuit events  opened {self.breaker_opened:.0f}, closed {self.breaker_closed:.0f}, "
            f"blocked {self.breaker_blocked:.0f} deliveries while open",
            f"  dead-lettered   {sum(self.dead_letters.values())}: {codes}",
            f"  redriven        {self.redriven or 'nothing'}",
            f"  still pending   {len(self.pending)}"
            + (f" ({', '.join(self.pending[:4])})" if self.pending else ""),
            f"  inbox           {env.mock_admin_url}/"
            if stays
            else "  inbox           gone with the stack (`callbacks demo --stay` keeps both running)",
            f"  took            {self.took_s:.1f}s",
        ]


@dataclass
class Tracker:
    """Polled until every expectation is met: reports each one as it completes, redrives when due."""

    s: Scenario
    plan: DemoPlan
    required: MockAdmin | None
    say: Say
    completed: set[str] = field(default_factory=set)
    redriven: str = ""
    missing: list[str] = field(default_factory=list)

    def tick(self) -> bool:
        by_name = missing_by_expectation(self.s, self.plan, self.required)
        for name, ids in by_name.items():
            if not ids and name not in self.completed:
                self.completed.add(name)
                self.say(f"  done       {name:<24} after {time.monotonic() - self.plan.started_s:.1f}s")
        if not self.redriven and self._redrive_due():
            self.redriven = self._redrive()
        self.missing = [mid for ids in by_name.values() for mid in ids]
        return not self.missing

    def _redrive_due(self) -> bool:
        if time.monotonic() - self.plan.started_s < self.plan.redrive_after_s:
            return False
        dlq = self.s.env.client(self.plan.redrive_client).dlq_url
        return bool(self.s.queues.find(dlq, [self.plan.redrive_id]))

    def _redrive(self) -> str:
        done = self.s.redrive(self.plan.redrive_client, "--error-code", "RETRY_WINDOW_EXHAUSTED")
        line = ((done.stdout.strip() or done.stderr.strip()).splitlines() or ["no output"])[-1]
        self.say(f"  redrive    {self.plan.redrive_client}: {line}")
        return f"{self.plan.redrive_client}: {line}"


def run_plan(
    s: Scenario, plan: DemoPlan, required: MockAdmin | None, say: Say, budget_s: float
) -> DemoSummary:
    tracker = Tracker(s, plan, required, say)
    remaining_s = max(1.0, plan.started_s + budget_s - time.monotonic())
    with contextlib.suppress(WaitTimeout):
        eventually(tracker.tick, remaining_s, what="demo outcomes", max_interval_s=0.5)
    return DemoSummary(
        redriven=tracker.redriven or "nothing (the message never reached the DLQ)",
        pending=tracker.missing,
        took_s=time.monotonic() - plan.started_s,
    )


def fill_summary(summary: DemoSummary, s: Scenario, required: MockAdmin | None, metrics: MetricsLog | None,
                 mark: int) -> None:  # fmt: skip
    records = [r for r in _all_records(s, required) if s.run_id in str(r.get("messageId") or "")]
    ok = [r for r in records if 200 <= int(r["response"]["status"]) < 300]
    attempts = Counter(str(r.get("messageId")) for r in records)
    summary.delivered, summary.requests = len(ok), len(records)
    summary.retried = sum(1 for r in ok if attempts[str(r.get("messageId"))] > 1)
    summary.signatures_valid = sum(1 for r in ok if (r.get("signature") or {}).get("valid"))
    summary.mtls_verified = sum(1 for r in ok if (r.get("tls") or {}).get("clientCertVerified"))
    summary.dead_letters = _dead_letter_codes(s)
    if metrics is not None:
        summary.gate_denials = metrics.total("DeliveryRateLimited", mark)
        summary.server_429s = metrics.total("DeliveryServerRateLimited", mark)
        summary.breaker_opened = metrics.total("CircuitBreakerOpen", mark)
        summary.breaker_closed = metrics.total("CircuitBreakerClosed", mark)
        summary.breaker_blocked = metrics.total("DeliveryCircuitBlocked", mark)


def _all_records(s: Scenario, required: MockAdmin | None) -> list[JournalRecord]:
    return s.mock.requests() + (required.requests() if required else [])


def _dead_letter_codes(s: Scenario) -> Counter[str]:
    codes: Counter[str] = Counter()
    urls = [c.dlq_url for c in s.env.clients] + ([s.env.inbound_dlq_url] if s.env.inbound_dlq_url else [])
    for url in urls:
        for message in s.queues.peek(url):
            if s.run_id in message.body:
                codes[message.attribute("ERROR_CODE") or "(no code)"] += 1
    return codes
