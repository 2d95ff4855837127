"""The journal poller against a real mock webhook process: callbacks over HTTPS -> Locust request events."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from harness.children import MockInfo
from loadtests import names
from loadtests.deliveries import DeliveryTracker
from loadtests.journal_poller import JournalPoller, WebhookRejected, fetch_page, latest_seq
from loadtests.message_ids import forced_prefix, make_message_id, new_run_id
from loadtests.payloads import message_status_payload


class RecordingHook:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def fire(self, **kwargs: Any) -> None:
        self.events.append(kwargs)


def post_callback(mock: MockInfo, path: str, message_id: str, publish_ms: int) -> int:
    body = json.dumps(message_status_payload(message_id, publish_ms)).encode()
    context = ssl.create_default_context(cafile=mock.ca_path)
    request = urllib.request.Request(
        mock.url + path, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def test_callbacks_become_e2e_and_webhook_events(mock_process: MockInfo) -> None:
    run_id = new_run_id()
    tracker = DeliveryTracker(run_id, last_seq=latest_seq(mock_process.admin_url))
    publish_ms = 1_700_000_000_000
    ok = make_message_id("load", run_id, publish_ms, 1)
    failing = make_message_id(forced_prefix(500), run_id, publish_ms, 2)
    other_run = make_message_id("load", new_run_id(), publish_ms, 3)
    statuses = [
        post_callback(mock_process, "/t-ok", ok, publish_ms),
        post_callback(mock_process, "/t-ok", ok, publish_ms),  # a duplicate delivery
        post_callback(mock_process, "/t-bad", failing, publish_ms),
        post_callback(mock_process, "/t-ok", other_run, publish_ms),
    ]
    assert statuses == [200, 200, 500, 200]
    hook = RecordingHook()
    poller = JournalPoller(mock_process.admin_url, tracker, hook, interval_s=0)
    assert poller.poll_once() == 3
    assert poller.poll_once() == 0  # afterSeq: nothing is read twice
    rows = [(e["request_type"], e["name"]) for e in hook.events]
    assert rows == [
        (names.E2E_TYPE, names.E2E_DELIVERY),
        (names.E2E_TYPE, f"{names.E2E_DELIVERY} /t-ok"),
        (names.E2E_TYPE, names.E2E_DUPLICATE),
        (names.E2E_TYPE, f"{names.E2E_DUPLICATE} /t-ok"),
        (names.WEBHOOK_TYPE, "status-500"),
    ]
    assert hook.events[0]["response_time"] > 0  # received now, "published" in 2023
    assert isinstance(hook.events[-1]["exception"], WebhookRejected)
    assert "HTTP 500 on /t-bad" in str(hook.events[-1]["exception"])
    assert tracker.delivered_count == 1


def test_latest_seq_and_pages(mock_process: MockInfo) -> None:
    run_id = new_run_id()
    post_callback(mock_process, "/t-page", make_message_id("load", run_id, 1, 1), 1)
    newest = latest_seq(mock_process.admin_url)
    [last] = fetch_page(mock_process.admin_url, limit=1)
    assert last["seq"] == newest
    assert last["messageId"] == make_message_id("load", run_id, 1, 1)
    assert fetch_page(mock_process.admin_url, after_seq=newest) == []


def test_an_unreachable_mock_is_counted_not_fatal() -> None:
    errors: list[Exception] = []
    poller = JournalPoller(
        "http://127.0.0.1:9", DeliveryTracker("abcd1234"), RecordingHook(), on_error=errors.append
    )
    assert poller.poll_once() == 0
    assert poller.errors == 1
    assert len(errors) == 1
