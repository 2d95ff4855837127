"""What operators and client developers check: signatures on every request, EMF metrics per outcome."""

from __future__ import annotations

import pytest

from harness.events import forced_id
from harness.metrics_log import MetricsLog
from harness.waits import eventually

pytestmark = [pytest.mark.integration]


def test_every_delivered_request_carries_a_valid_signature_and_key(scenario, publish, role_client) -> None:
    published = []
    for role in ("plain", "fanout", "mtls"):
        if scenario.env.has_role(role):
            client = role_client(role)
            for target in scenario.targets(client):
                published += publish(client, target, prefix="signed")
    scenario.wait_all_delivered(published, timeout_s=30)
    records = [r for p in published for r in scenario.callbacks(p.message_id)]
    assert len(records) >= len(published)
    delivered_so_far = [r for r in scenario.run_records() if r["response"]["status"] < 300]
    for record in records + delivered_so_far:  # this test's requests and every earlier delivery of the run
        assert record["signature"]["valid"] is True, record["signature"]
        assert record["apiKeyValid"] is True
        assert record["headers"]["x-hmac-sha256-signature"]


@pytest.mark.requires("metrics", "dlq")
def test_emf_lines_for_attempt_success_and_permanent_failure(scenario, publish, metrics_log, role_client):
    client = role_client("plain")
    mark = metrics_log.mark()
    [good] = publish(client, prefix="metrics")
    [bad] = publish(client, message_ids=[forced_id(400, scenario.run_id, "metrics")])
    scenario.wait_all_delivered([good], timeout_s=20)
    scenario.dlq_wait(client, [bad.message_id], timeout_s=20)
    where = {"ClientId": client}

    def totals() -> dict[str, float] | None:
        names = ("DeliveryAttempt", "DeliverySuccess", "DeliveryPermanentFailure", "DeliveryDurationMs")
        found = {n: metrics_log.total(n, mark, where) for n in names}
        return found if all(found.values()) and found["DeliveryAttempt"] >= 2 else None  # both batches' lines

    found = eventually(totals, 10, what="EMF metrics")
    assert found is not None
    assert found["DeliveryAttempt"] >= 2
    emf = metrics_log.emf_since(mark)
    assert all(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] for doc in emf)


@pytest.mark.requires("router")
def test_router_emits_emf_for_received_matched_and_invalid_events(scenario, publish_event, role_client):
    path = scenario.env.get_extra("router_log_path")
    if not path:
        pytest.skip("the environment does not expose the router's log")
    log = MetricsLog(path)
    client = role_client("plain")
    mark = log.mark()
    [good] = publish_event(client, prefix="router-metrics")
    [bad] = publish_event(client, kind="invalid", prefix="router-metrics-bad")
    scenario.wait_callbacks(1, message_id=good.message_id, timeout_s=20)
    scenario.inbound_dlq_wait([bad.message_id], timeout_s=20)
    where = {"ClientId": client}

    def seen() -> bool:
        names = ("RouterEventsReceived", "RouterEventsMatched", "RouterEnvelopesSent", "RouterEventsInvalid")
        return all(log.total(name, mark, where) >= 1 for name in names)

    eventually(seen, 10, what="router EMF metrics")
