"""Failure handling end to end: retry window exhaustion (5xx, 429), permanent 4xx, Retry-After, redrive."""

from __future__ import annotations

import json

import pytest

from harness.events import forced_id
from tests.integration.conftest import ok

pytestmark = [pytest.mark.integration, pytest.mark.requires("dlq")]


@pytest.fixture(scope="module")
def exhausted(scenario, callbacks_env):
    """Persistent 500 and 429 messages published together on the short-retry client (windows overlap)."""
    if not callbacks_env.has_role("short_retry"):
        pytest.skip("no short-retry client")
    client = callbacks_env.role("short_retry")
    ids = {500: forced_id(500, scenario.run_id), 429: forced_id(429, scenario.run_id)}
    scenario.publish_envelopes(client, list(ids.values()))
    return client, ids


@pytest.mark.parametrize("status", [500, 429])
def test_persistent_failure_exhausts_the_retry_window(scenario, exhausted, status) -> None:
    client, ids = exhausted
    window_s = float(scenario.config(client)["targets"][0]["delivery"]["maxRetryDurationSeconds"])
    [message] = scenario.dlq_wait(client, [ids[status]], timeout_s=window_s + 40)
    assert message.attribute("ERROR_CODE") == "RETRY_WINDOW_EXHAUSTED"
    assert json.loads(message.body)["payload"]["data"][0]["attributes"]["messageId"] == ids[status]
    attempts = scenario.callbacks(ids[status])
    assert len(attempts) >= 2, "retried at least once before giving up"
    assert {r["response"]["status"] for r in attempts} == {status}
    assert int(message.attribute("RETRY_ATTEMPTS") or 0) >= 2


def test_permanent_4xx_is_dead_lettered_with_the_body_message(scenario, publish, dlq, role_client) -> None:
    client = role_client("plain")
    [published] = publish(client, message_ids=[forced_id(400, scenario.run_id)])
    [message] = dlq.wait(client, [published.message_id], timeout_s=20)
    assert message.attribute("ERROR_CODE") == "HTTP_CLIENT_ERROR"
    assert message.attribute("ERROR_MESSAGE") == "Forced status 400"
    assert message.attribute("STATUS_CODE") == "400"
    assert message.attribute("TARGET_ID") == published.target_id
    assert len(scenario.callbacks(published.message_id)) == 1, "a permanent failure is not retried"


@pytest.mark.requires("faults")
def test_retry_after_is_honoured(scenario, publish, mock_webhook, role_client) -> None:
    client = role_client("scripted")
    target = scenario.targets(client)[0]
    mock_webhook.script(target, {"steps": [{"status": 429, "headers": {"Retry-After": "2"}}]})
    [published] = publish(client, target)
    first, second = scenario.wait_callbacks(2, message_id=published.message_id, timeout_s=20)[:2]
    assert first["response"]["status"] == 429
    assert second["response"]["status"] == 200
    assert second["receivedAtMs"] - first["receivedAtMs"] >= 2000, "second attempt came before Retry-After"


@pytest.mark.requires("faults", "redrive")
def test_redrive_moves_dead_letters_back_and_they_are_delivered(
    scenario, publish, mock_webhook, role_client, redrive, dlq
):
    client = role_client("scripted")
    target = scenario.targets(client)[-1]  # its own path: fault scripts are per path
    mock_webhook.script(target, {"steps": [{"status": 422, "body": {"message": "scripted reject"}}]})
    [published] = publish(client, target)
    [dead] = dlq.wait(client, [published.message_id], timeout_s=20)
    assert dead.attribute("ERROR_MESSAGE") == "scripted reject"
    mock_webhook.clear_faults(target)
    done = redrive(client, "--target", target, "--error-code", "HTTP_CLIENT_ERROR")
    assert done.returncode == 0, done.stderr
    assert "moved" in done.stdout
    delivered = scenario.wait_all_delivered([published], timeout_s=20)
    assert len(ok(delivered)) == 1
    assert published.message_id not in {m.message_id for m in dlq.read(client)}
