"""A scenario whose wait times out says what the environment did see, not just ``last value: None``."""

from __future__ import annotations

import pytest

from harness.waits import WaitTimeout

pytestmark = [pytest.mark.integration, pytest.mark.requires("faults", "dlq")]


def test_a_timed_out_wait_names_the_statuses_and_the_fault_script(
    scenario, publish, mock_webhook, role_client
) -> None:
    client = role_client("scripted")
    target = scenario.targets(client)[0]
    mock_webhook.script(target, {"steps": [{"status": 503, "times": None}]})  # a leftover fault, say
    [sent] = publish(client, prefix="diag")
    scenario.wait_callbacks(1, message_id=sent.message_id, timeout_s=30)  # the 503 has been answered
    with pytest.raises(WaitTimeout) as failed:
        scenario.wait_all_delivered([sent], timeout_s=0.5)
    text = str(failed.value)
    assert "waiting for 1 deliveries" in text
    assert "what the environment saw:" in text
    assert "request(s) for 1 awaited message(s): 503 x" in text
    assert f"/{target} {sent.message_id} -> 503" in text
    assert f'active fault script on /{target}: {{"steps": [{{"status": 503' in text
    assert "-delivery-dlq-queue: 0 visible, 0 in flight" in text


def test_a_failed_mock_expectation_names_the_statuses_it_saw(scenario, publish, mock_webhook, role_client):
    client = role_client("scripted")
    target = scenario.targets(client)[0]
    mock_webhook.script(target, {"steps": [{"status": 503, "times": None}]})
    [sent] = publish(client, prefix="diag-expect")
    scenario.wait_callbacks(1, message_id=sent.message_id, timeout_s=30)
    with pytest.raises(AssertionError) as failed:
        mock_webhook.expect(50, message_id=sent.message_id, timeout_s=0.5)
    text = str(failed.value)
    assert "of 50 requests matching" in text
    assert "; statuses 503 x" in text
    assert f'active fault scripts {{"/{target}": {{"steps": [{{"status": 503' in text
