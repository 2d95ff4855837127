"""Failure handling end to end: retry window exhaustion (5xx, 429), permanent 4xx, Retry-After, redrive."""

from __future__ import annotations

import json
import time

import pytest

from harness.events import forced_id
from harness.queues import aws_client
from tests.integration.conftest import assert_dead_letter, ok

pytestmark = [pytest.mark.integration, pytest.mark.requires("dlq")]
# SPEC E: the first retry of a transient failure waits floor(rand * 5) s, at most 4 s. A Retry-After twice
# that long separates "honoured" from "ignored" on every run, whatever the jitter drew.
MAX_FIRST_BACKOFF_S = 4
RETRY_AFTER_S = 2 * MAX_FIRST_BACKOFF_S
CLOCK_SLACK_MS = 250  # visibility timers on the emulator, two clocks on one machine


def _now_ms() -> float:
    return time.time() * 1000


@pytest.fixture(scope="module")
def exhausted(scenario, callbacks_env):
    """Persistent 500 and 429 messages published together on the short-retry client (windows overlap)."""
    if not callbacks_env.has_role("short_retry"):
        pytest.skip("no short-retry client")
    client = callbacks_env.role("short_retry")
    ids = {500: forced_id(500, scenario.run_id), 429: forced_id(429, scenario.run_id)}
    published_ms = _now_ms()
    scenario.publish_envelopes(client, list(ids.values()))
    return client, ids, published_ms


@pytest.mark.parametrize("status", [500, 429])
def test_persistent_failure_exhausts_the_retry_window(scenario, exhausted, status) -> None:
    client, ids, published_ms = exhausted
    target = scenario.config(client)["targets"][0]
    window_s = float(target["delivery"]["maxRetryDurationSeconds"])
    [message] = scenario.dlq_wait(client, [ids[status]], timeout_s=window_s + 40)
    assert json.loads(message.body)["payload"]["data"][0]["attributes"]["messageId"] == ids[status]
    attempts = scenario.callbacks(ids[status])
    assert len(attempts) >= 2, "retried at least once before giving up"
    assert {r["response"]["status"] for r in attempts} == {status}
    first_ms = min(float(r["receivedAtMs"]) for r in attempts)
    last = f"HTTP_{'RATE_LIMITED' if status == 429 else 'SERVER_ERROR'} {status}: Forced status {status}"
    # the engine gives up on the receive whose next retry would land past the window (the last attempt);
    # should a receive arrive after the window, it is dead-lettered before any attempt (one receive more)
    received = int(message.attribute("RETRY_ATTEMPTS") or 0)
    assert received in (len(attempts), len(attempts) + 1), f"{received} receives for {len(attempts)} attempts"
    why = last if received == len(attempts) else "no delivery attempt succeeded in time"
    assert_dead_letter(
        message, client=client, target=target["targetId"], code="RETRY_WINDOW_EXHAUSTED",
        error_message=f"Retry window of {window_s:g}s exhausted; last error: {why}", attempts=received,
        received_between_ms=(published_ms, first_ms), status=status if received == len(attempts) else None,
    )  # fmt: skip


def test_permanent_4xx_is_dead_lettered_with_the_body_message(scenario, publish, dlq, role_client) -> None:
    client = role_client("plain")
    published_ms = _now_ms()
    [published] = publish(client, message_ids=[forced_id(400, scenario.run_id)])
    [message] = dlq.wait(client, [published.message_id], timeout_s=20)
    # dead-lettered means gone from the delivery queue too (a copy left in flight would be attempted again)
    scenario.wait_queue_drained(scenario.env.client(client).delivery_queue_url, timeout_s=10)
    [attempt] = scenario.callbacks(published.message_id)  # a permanent failure is not retried
    assert_dead_letter(
        message, client=client, target=published.target_id or "", code="HTTP_CLIENT_ERROR",
        error_message="Forced status 400", attempts=1, status=400,
        received_between_ms=(published_ms, float(attempt["receivedAtMs"])),
    )  # fmt: skip


@pytest.mark.requires("faults")
def test_retry_after_longer_than_any_backoff_is_honoured(
    scenario, publish, mock_webhook, role_client
) -> None:
    client = role_client("scripted")
    target = scenario.targets(client)[0]
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    mock_webhook.script(target, {"steps": [{"status": 429, "headers": headers}]})
    [published] = publish(client, target)
    found = scenario.wait_callbacks(2, message_id=published.message_id, timeout_s=RETRY_AFTER_S + 20)
    first, second = found[:2]
    assert first["response"]["status"] == 429
    assert second["response"]["status"] == 200
    gap_ms = second["receivedAtMs"] - first["receivedAtMs"]
    assert gap_ms >= RETRY_AFTER_S * 1000 - CLOCK_SLACK_MS, (
        f"second attempt {gap_ms / 1000:.2f}s after a 429 with Retry-After: {RETRY_AFTER_S} (an ignored "
        f"Retry-After retries within the {MAX_FIRST_BACKOFF_S}s backoff)"
    )


def _dlq_total(scenario, client: str) -> int:
    """Every message the DLQ holds, visible or in flight (a hidden copy still counts)."""
    return sum(scenario.queues.depth(scenario.env.client(client).dlq_url))


def _dead_letter_on_redrive_target(scenario, publish, mock_webhook, dlq, client: str, reason: str):
    target = scenario.targets(client)[-1]  # its own path: fault scripts are per path
    mock_webhook.script(target, {"steps": [{"status": 422, "body": {"message": reason}}]})
    before = _dlq_total(scenario, client)
    [published] = publish(client, target)
    [dead] = dlq.wait(client, [published.message_id], timeout_s=20)
    assert dead.attribute("ERROR_MESSAGE") == reason
    mock_webhook.clear_faults(target)
    return target, published, before


@pytest.mark.requires("faults", "redrive")
def test_redrive_moves_dead_letters_back_and_leaves_the_dlq_empty(
    scenario, publish, mock_webhook, role_client, redrive, dlq
):
    client = role_client("scripted")
    target, published, before = _dead_letter_on_redrive_target(
        scenario, publish, mock_webhook, dlq, client, "scripted reject"
    )
    done = redrive(client, "--target", target, "--error-code", "HTTP_CLIENT_ERROR")
    assert done.returncode == 0, done.stderr
    assert "moved 1," in done.stdout, done.stdout
    delivered = scenario.wait_all_delivered([published], timeout_s=20)
    assert len(ok(delivered)) == 1
    assert published.message_id not in {m.message_id for m in dlq.read(client)}
    # a DLQ copy left behind (hidden by the redrive's scan, back later as a duplicate) still counts here
    assert _dlq_total(scenario, client) == before, "the redriven message's DLQ copy was not deleted"


@pytest.mark.requires("faults", "redrive")
def test_redrive_whose_send_fails_keeps_the_message_in_the_dlq(
    scenario, publish, mock_webhook, role_client, dlq
):
    client = role_client("scripted")
    target, published, before = _dead_letter_on_redrive_target(
        scenario, publish, mock_webhook, dlq, client, "scripted reject before a failed redrive"
    )
    # an operator's slip: a queue that exists (so the start-up check passes) but refuses every send — a FIFO
    # queue wants a MessageGroupId, which a redrive never sets
    sqs = aws_client(scenario.env, "sqs")
    wrong = sqs.create_queue(
        QueueName=f"redrive-wrong-kind-{scenario.run_id}.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    try:
        failed = scenario.redrive(client, "--target", target, queue_url=wrong)
    finally:
        sqs.delete_queue(QueueUrl=wrong)
        sqs.close()
    assert failed.returncode != 0, f"a redrive whose sends failed exited 0:\n{failed.stdout}{failed.stderr}"
    assert "moved 0, failed 1" in failed.stdout, failed.stdout + failed.stderr
    assert _dlq_total(scenario, client) == before + 1, "the message left the DLQ though its send failed"
    [kept] = dlq.wait(client, [published.message_id], timeout_s=5)  # visible again, not hidden for minutes
    assert kept.attribute("ERROR_CODE") == "HTTP_CLIENT_ERROR"
    assert scenario.callbacks(published.message_id, target)[-1]["response"]["status"] == 422
    moved = scenario.redrive(client, "--target", target)  # the operator fixes the URL: it moves after all
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "moved 1," in moved.stdout, moved.stdout
    scenario.wait_all_delivered([published], timeout_s=20)
    assert _dlq_total(scenario, client) == before
