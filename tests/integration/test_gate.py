"""The admission gate end to end: a target's rate limit, and its circuit breaker (isolated per target)."""

from __future__ import annotations

import os
import time

import pytest

from harness.waits import eventually
from tests.integration.conftest import ok

pytestmark = [pytest.mark.integration]
# 1 / CB_PROBE_RATE_LIMIT: the local stack probes at 1 rps (fast scenarios through config); a deployed
# environment on the SPEC P8 default of 1/60 rps sets CALLBACKS_CB_PROBE_INTERVAL_S=60.
PROBE_INTERVAL_S = float(os.environ.get("CALLBACKS_CB_PROBE_INTERVAL_S", "1"))
# + the denial jitter (max(2 s, half the retry-after)) + receive slack
HALF_OPEN_DENIAL_MAX_S = PROBE_INTERVAL_S + max(2.0, PROBE_INTERVAL_S / 2) + 10


def _capacity(target: dict) -> float:
    burst = (target.get("delivery") or {}).get("rateLimit", {}).get("burst")
    return float(burst) if burst else min(float(target["invocationRateLimit"]) * 5, 2250)


# Sustained load: after a burst that empties the bucket, new messages keep arriving at LOAD_FACTOR x the rate
# for SUSTAIN_S seconds. A correct bucket never lets through more than capacity + rate x t (+1 for the
# request in flight); one refilling twice as fast is above that bound after about 1 / rate seconds of load.
LOAD_FACTOR = 3
SUSTAIN_S = 4.0
RATE_TOLERANCE = (0.5, 1.1)  # measured deliveries/s after the burst, as a fraction of the configured rate


def _sustain(publish, client: str, target_id: str, rate: float) -> list:
    """Publish one message every 1 / (LOAD_FACTOR x rate) s for SUSTAIN_S s (bounded in count and time)."""
    count, interval_s = int(SUSTAIN_S * rate * LOAD_FACTOR), 1 / (rate * LOAD_FACTOR)
    published, started = [], time.monotonic()
    for n in range(count):
        published += publish(client, target_id, prefix="sustained")
        time.sleep(max(0.0, started + (n + 1) * interval_s - time.monotonic()))
    return published


@pytest.mark.requires("dlq")
def test_sustained_load_above_the_rate_is_delivered_at_the_configured_rate(
    scenario, publish, role_client, metrics_log, dlq
):
    client = role_client("rate_limited")
    target = scenario.config(client)["targets"][0]
    rate, capacity = float(target["invocationRateLimit"]), _capacity(target)
    mark = metrics_log.mark()
    published = publish(client, target["targetId"], count=int(capacity), prefix="burst")
    published += _sustain(publish, client, target["targetId"], rate)
    tail_s = (len(published) - capacity) / rate
    delivered = ok(scenario.wait_all_delivered(published, timeout_s=tail_s + 40))
    times_s = sorted(r["receivedAtMs"] / 1000 for r in delivered)
    start = times_s[0]
    for n, at in enumerate(times_s, start=1):  # never more than the bucket plus what refilled since
        assert n <= capacity + rate * (at - start) + 1, (
            f"delivery {n} at +{at - start:.2f}s is above the rate: at most "
            f"{capacity:g} + {rate:g}/s x {at - start:.2f}s + 1 = {capacity + rate * (at - start) + 1:.1f}"
        )
    beyond = times_s[int(capacity) :]
    measured = (len(beyond) - 1) / (beyond[-1] - start) if beyond[-1] > start else float("inf")
    low, high = (rate * f for f in RATE_TOLERANCE)
    assert low <= measured <= high, (
        f"{measured:.2f} deliveries/s after the burst, configured {rate:g}/s (accepted {low:g}..{high:g})"
    )
    denied = eventually(lambda: metrics_log.total("DeliveryRateLimited", mark, {"ClientId": client}), 10)
    assert denied >= 1
    denials = metrics_log.logs_since(mark, "Admission denied")
    assert any(d.get("reason") == "rate_limited" and d.get("clientId") == client for d in denials)
    assert dlq.read(client) == []


@pytest.mark.requires("dlq")
def test_an_idle_bucket_refills_to_its_burst_and_no_further(scenario, publish, role_client) -> None:
    """After the bucket has been idle long enough to refill twice over, a burst of twice the capacity still
    gets only the capacity at once, then the rate (a bucket that overfills lets the whole burst through)."""
    client = role_client("rate_limited")
    target = scenario.config(client)["targets"][0]
    tid, rate, capacity = target["targetId"], float(target["invocationRateLimit"]), _capacity(target)
    [first] = publish(client, tid, prefix="idle")  # the bucket exists (and is drained by one)
    scenario.wait_all_delivered([first], timeout_s=20)
    idle_ms = 2 * capacity / rate * 1000
    eventually(
        lambda: time.time() * 1000 - scenario.last_request_ms(tid) >= idle_ms,
        idle_ms / 1000 + 30,
        what=f"{tid} idle for {idle_ms / 1000:g}s",
    )
    published = publish(client, tid, count=int(2 * capacity), prefix="after-idle")
    delivered = ok(scenario.wait_all_delivered(published, timeout_s=capacity / rate + 40))
    times_s = sorted(r["receivedAtMs"] / 1000 for r in delivered)
    start = times_s[0]
    for n, at in enumerate(times_s, start=1):
        assert n <= capacity + rate * (at - start) + 1, (
            f"delivery {n} at +{at - start:.2f}s after an idle spell: the bucket held more than its "
            f"{capacity:g} tokens"
        )


@pytest.mark.requires("gate", "faults", "metrics")
def test_circuit_breaker_opens_isolates_and_closes_after_a_probe(
    scenario, publish, role_client, gate_state, mock_webhook, metrics_log
):
    client, other = role_client("circuit_breaker"), role_client("plain")
    target = scenario.config(client)["targets"][0]
    tid, other_tid = target["targetId"], scenario.targets(other)[0]
    breaker = target["delivery"]["circuitBreaker"]
    cooldown_s = float(breaker.get("cooldownSeconds", 120))
    failures = int(breaker.get("minAttempts", 5)) + 1
    mock_webhook.script(tid, {"steps": [{"status": 500, "times": failures}]})  # then healthy again
    mark = metrics_log.mark()
    published = publish(client, tid, count=failures, prefix="breaker")
    eventually(lambda: gate_state.is_open(tid), 20, what="breaker open")
    assert not gate_state.is_open(other_tid), "another target's breaker is untouched"
    # the breaker opened on the last scripted failure; a message published now finds it open (an engine
    # that skips the cooldown sends it at once as a probe, long before the cooldown ends)
    failed = [r for r in scenario.mock.requests(path="/" + tid) if r["response"]["status"] == 500]
    opened_ms = max(float(r["receivedAtMs"]) for r in failed)
    published += publish(client, tid, prefix="breaker-open")
    [normal] = publish(other, other_tid, prefix="isolated")
    scenario.wait_all_delivered([normal], timeout_s=15)
    assert len(scenario.callbacks(normal.message_id)) == 1, "delivered on its first attempt"
    eventually(lambda: not gate_state.is_open(tid), cooldown_s + 20, what="breaker closed after a probe")
    later = [r for r in scenario.mock.requests(path="/" + tid) if r["receivedAtMs"] > opened_ms]
    probe = min(later, key=lambda r: r["receivedAtMs"])
    assert probe["response"]["status"] == 200, "the successful probe is what closed the breaker"
    assert probe["receivedAtMs"] - opened_ms >= cooldown_s * 1000 * 0.9, (
        "probe came before the cooldown ended"
    )
    where = {"ClientId": client}
    assert metrics_log.total("CircuitBreakerOpen", mark, where) >= 1
    eventually(lambda: metrics_log.total("CircuitBreakerClosed", mark, where) >= 1, 5, what="closed metric")
    # every message held back by the breaker is delivered once it has closed. A denial after the close
    # waits for the recovery ramp (seconds here); one denied next to the probe, while half-open, waits for
    # the next probe token (1 / probe rate, SPEC P8 default 60 s, + up to half as jitter): that bounds it.
    delivered = ok(scenario.wait_all_delivered(published, timeout_s=HALF_OPEN_DENIAL_MAX_S + cooldown_s))
    first_ok_ms: dict[str, float] = {}
    for r in sorted(delivered, key=lambda r: float(r["receivedAtMs"]), reverse=True):
        first_ok_ms[r["messageId"]] = float(r["receivedAtMs"])
    deferred = _denied_ids(metrics_log.logs_since(mark, "Admission denied"), client, published)
    assert deferred, "some messages were held back by the open breaker"
    for message_id in sorted(deferred):
        assert first_ok_ms[message_id] >= probe["receivedAtMs"], f"{message_id} delivered before the close"


def _denied_ids(denials: list[dict], client: str, published: list) -> set[str]:
    ours = {p.message_id for p in published}
    return {
        i for d in denials if d.get("clientId") == client for i in d.get("correlationIds", []) if i in ours
    }
