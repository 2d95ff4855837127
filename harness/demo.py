"""``callbacks demo``: a mix of callbacks through every scenario on the local stack, then a summary.

Everything is published at once (so the slow parts — retries, the breaker's cooldown, retry windows — overlap)
and the demo then waits on conditions, never on fixed sleeps: each ``Expectation`` says which message ids
should end up delivered or dead-lettered. One message is made to exhaust its retry window while its endpoint
is down, then redriven once it is in the DLQ, and delivered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness import events
from harness.metrics_log import MetricsLog
from harness.mock_admin import MockAdmin
from harness.scenarios import Scenario

Say = Callable[[str], None]


@dataclass
class Expectation:
    name: str
    delivered: list[str] = field(default_factory=list)  # message ids that must reach the webhook (2xx)
    dead: dict[str, list[str]] = field(default_factory=dict)  # client id -> ids that must reach its DLQ
    inbound_dead: list[str] = field(default_factory=list)
    note: str = ""
    check: Callable[[], bool] | None = None  # any other condition (e.g. metrics seen)


@dataclass
class DemoPlan:
    expectations: list[Expectation]
    redrive_client: str
    redrive_id: str
    redrive_after_s: float  # the endpoint is healthy again from then on (seconds after the start)
    started_s: float = field(default_factory=time.monotonic)


def _ids(scenario: Scenario, prefix: str, count: int) -> list[str]:
    return [scenario.new_id(prefix) for _ in range(count)]


def act_routing(s: Scenario) -> Expectation:
    plain, fanout, mtls = (s.env.role(r) for r in ("plain", "fanout", "mtls"))
    docs = [
        events.message_status_event(c, mid) for c in (plain, fanout, mtls) for mid in _ids(s, "demo-route", 2)
    ]
    quiet = events.message_status_event(plain, s.new_id("demo-filtered"), "SENDING")  # nobody subscribes
    bad = events.invalid_event(plain, s.new_id("demo-invalid"))
    s.publish_events([*docs, quiet, bad])
    ids = [d["data"]["messageId"] for d in docs]
    return Expectation(
        "fan-out via the router", delivered=ids, inbound_dead=[bad["data"]["messageId"]],
        note="2 events each for plain, fan-out (2 targets) and mTLS+pinning clients; 1 filtered; 1 invalid",
    )  # fmt: skip


def act_rate_limit(s: Scenario) -> Expectation:
    client = s.env.role("rate_limited")
    published = s.publish_envelopes(client, _ids(s, "demo-burst", 15))
    return Expectation("rate limit burst", delivered=[p.message_id for p in published], note="15 at rate 2/s")


def act_retries(s: Scenario) -> Expectation:
    plain, scripted = s.env.role("plain"), s.env.role("scripted")
    flaky = s.failing_until_ids(503, count=2, healthy_after_s=3)
    s.publish_envelopes(plain, flaky)
    target = s.targets(scripted)[0]
    s.mock.script(target, {"steps": [{"status": 429, "headers": {"Retry-After": "2"}}]})
    [honoured] = s.publish_envelopes(scripted, [s.new_id("demo-retry-after")])
    return Expectation(
        "retries", delivered=[*flaky, honoured.message_id], note="503s for 3 s; 429 + Retry-After"
    )


def act_breaker(s: Scenario) -> Expectation:
    client = s.env.role("circuit_breaker")
    target = s.config(client)["targets"][0]
    failures = int(target["delivery"]["circuitBreaker"].get("minAttempts", 5)) + 1
    s.mock.script(target["targetId"], {"steps": [{"status": 500, "times": failures}]})
    check = None
    if s.env.metrics_log_path:
        log, where = MetricsLog(s.env.metrics_log_path), {"ClientId": client}
        mark = log.mark()

        def check() -> bool:
            opened = log.total("CircuitBreakerOpen", mark, where)
            return opened >= 1 and log.total("CircuitBreakerClosed", mark, where) >= 1

    s.publish_envelopes(client, _ids(s, "demo-breaker", failures))
    note = f"{failures} failures open it; a probe after the cooldown closes it"
    return Expectation("circuit breaker", note=note, check=check)


def act_dead_letters(s: Scenario) -> Expectation:
    plain, pin, required = s.env.role("plain"), s.env.role("wrong_pin"), s.env.role("mtls_required")
    rejected = s.publish_envelopes(plain, [events.forced_id(400, s.run_id, "demo")])
    mismatch = s.publish_envelopes(pin, [s.new_id("demo-pin")])
    no_cert = s.publish_envelopes(required, [s.new_id("demo-nocert")], "harness-no-client-cert")
    with_cert = s.publish_envelopes(required, [s.new_id("demo-cert")], "harness-with-client-cert")
    poison, unknown = s.new_id("demo-poison"), s.new_id("demo-unknown")
    queue = s.env.client(plain).delivery_queue_url
    s.queues.send(queue, [f"not json {poison}", json.dumps(events.envelope(unknown, "no-such-target"))])
    dead = {
        plain: [rejected[0].message_id, unknown],
        pin: [mismatch[0].message_id],
        required: [no_cert[0].message_id],
    }
    return Expectation(
        "dead letters", delivered=[with_cert[0].message_id], dead=dead, note="400, pin, no cert"
    )


def act_redrive(s: Scenario) -> tuple[Expectation, str, str, float]:
    client = s.env.role("short_retry")
    window_s = float(s.config(client)["targets"][0]["delivery"]["maxRetryDurationSeconds"])
    down_s = window_s + 2
    [mid] = s.failing_until_ids(500, count=1, healthy_after_s=down_s)
    s.publish_envelopes(client, [mid])
    note = f"endpoint down {down_s:.0f}s > {window_s:.0f}s window: DLQ, redriven once it is back, delivered"
    return Expectation("redrive", delivered=[mid], note=note), client, mid, down_s


def publish_all(s: Scenario, say: Say) -> DemoPlan:
    expectations = [act_routing(s), act_rate_limit(s), act_retries(s), act_breaker(s), act_dead_letters(s)]
    redrive_exp, client, mid, down_s = act_redrive(s)
    expectations.append(redrive_exp)
    for exp in expectations:
        say(f"  published  {exp.name:<24} {exp.note}")
    return DemoPlan(expectations, client, mid, down_s)


def delivered_ids(s: Scenario, required_admin: MockAdmin | None) -> set[str]:
    records = s.mock.requests() + (required_admin.requests() if required_admin else [])
    return {str(r.get("messageId")) for r in records if 200 <= int(r["response"]["status"]) < 300}


def missing_by_expectation(
    s: Scenario, plan: DemoPlan, required_admin: MockAdmin | None
) -> dict[str, list[str]]:
    """Expectation name -> the message ids whose outcome has not been seen yet."""
    done = delivered_ids(s, required_admin)
    missing: dict[str, list[str]] = {}
    for exp in plan.expectations:
        ids = [mid for mid in exp.delivered if mid not in done]
        for client, dead_ids in exp.dead.items():
            found = {m.message_id for m in s.queues.find(s.env.client(client).dlq_url, dead_ids)}
            ids += [mid for mid in dead_ids if mid not in found]
        if exp.inbound_dead and s.env.inbound_dlq_url:
            found = {m.message_id for m in s.queues.find(s.env.inbound_dlq_url, exp.inbound_dead)}
            ids += [mid for mid in exp.inbound_dead if mid not in found]
        if exp.check is not None and not exp.check():
            ids.append(f"<{exp.name}>")
        missing[exp.name] = ids
    return missing
