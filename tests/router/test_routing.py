"""route_events with fakes at our own seams (config lookup, queue locator/sender): fan-out, isolation,
config missing vs unreadable vs invalid, send failures, metrics."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from delivery.errors import ConfigInvalid, ConfigUnavailable
from delivery.observe.emf import EmfEmitter
from delivery.observe.logs import JsonFormatter
from delivery.router.configs import RoutesCache
from delivery.router.plan import Fate, RouteReport
from delivery.router.routing import route_events, route_events_blocking
from tests.router.builders import (
    DictConfigs,
    FakeQueues,
    channel_event,
    channel_sub,
    config,
    make_deps,
    message_event,
    message_sub,
)

DLQ = "queue://inbound-dlq"


def fanout_configs() -> DictConfigs:
    return DictConfigs({
        "client-a": config("client-a", [
            message_sub("sub-1", ["DELIVERED"], ["t-a", "t-b"]),
            message_sub("sub-2", ["FAILED"], ["t-z"]),
            message_sub("sub-3", ["DELIVERED"], ["t-b", "t-c"]),
            channel_sub("sub-ch", "NHSAPP", ["DELIVERED"], [], ["t-a"]),
        ]),
        "client-b": config("client-b", [message_sub("sub-b", ["DELIVERED"], ["t-b1"])]),
    })  # fmt: skip


async def test_fan_out_one_envelope_per_distinct_target(queues: FakeQueues) -> None:
    report = await route_events([json.dumps(message_event())], make_deps(fanout_configs(), queues))
    (record,) = report.records
    assert (record.fate, record.envelopes_sent, record.subscription_ids) == (
        Fate.ROUTED,
        3,
        ("sub-1", "sub-3"),
    )
    envelopes = [json.loads(body) for body in queues.bodies("queue://client-a")]
    assert [(e["targetId"], e["subscriptionId"]) for e in envelopes] == [
        ("t-a", "sub-1"), ("t-b", "sub-1"), ("t-c", "sub-3")
    ]  # fmt: skip
    assert len({json.dumps(e["payload"]) for e in envelopes}) == 1
    assert envelopes[0]["payload"]["data"][0]["attributes"]["messageStatus"] == "delivered"


async def test_invalid_events_are_isolated_and_dead_lettered_once(queues: FakeQueues) -> None:
    bad_json = '{"specversion": "1.0", '
    unsupported = json.dumps(message_event({"type": "uk.nhs.notify.other.v1"}))
    no_channel_type = json.dumps(message_event({"data.channels.0.type": "FAX", "traceparent": None}))
    batch = [json.dumps(message_event()), bad_json, unsupported, no_channel_type, json.dumps(channel_event())]
    report = await route_events(batch, make_deps(fanout_configs(), queues))
    assert [r.fate for r in report.records] == [
        Fate.ROUTED, Fate.DEAD_LETTERED, Fate.DEAD_LETTERED, Fate.DEAD_LETTERED, Fate.ROUTED
    ]  # fmt: skip
    dead = queues.sent[DLQ]
    assert [m.body for m in dead] == [bad_json, unsupported, no_channel_type]  # bodies verbatim
    assert [m.attributes["ERROR_CODE"] for m in dead] == [
        "INVALID_EVENT",
        "UNSUPPORTED_TYPE",
        "INVALID_EVENT",
    ]
    assert dead[2].attributes["ERROR_MESSAGE"] == (
        "traceparent: is required; "
        'data.channels[0].type: must be one of EMAIL, LETTER, NHSAPP, SMS (got "FAX")'
    )
    assert (dead[2].attributes["EVENT_ID"], dead[2].attributes["CLIENT_ID"]) == ("evt-0001", "client-a")
    assert "EVENT_ID" not in dead[0].attributes
    assert len(queues.bodies("queue://client-a")) == 4  # 3 message envelopes + 1 channel envelope


async def test_text_that_is_not_unicode_is_dead_lettered_alone(queues: FakeQueues) -> None:
    bad = json.dumps(
        message_event(messageStatusDescription="\ud800 broken")
    )  # JSON escape of a lone surrogate
    report = await route_events(
        [bad, message_event(clientId="client-b")], make_deps(fanout_configs(), queues)
    )
    assert [r.fate for r in report.records] == [Fate.DEAD_LETTERED, Fate.ROUTED]
    assert report.records[0].error_code == "INVALID_EVENT"
    assert "not valid Unicode" in (report.records[0].error_message or "")
    (dead,) = queues.sent[DLQ]
    assert dead.body == bad


async def test_config_missing_unreadable_and_invalid(queues: FakeQueues) -> None:
    configs = DictConfigs({
        "client-ok": config("client-ok", [message_sub("s", ["DELIVERED"], ["t"])]),
        "client-down": ConfigUnavailable("S3 GetObject failed: timeout"),
        "client-bad": ConfigInvalid("Invalid client config for 'client-bad': targets.0.type: Invalid input"),
        "client-renamed": config("client-other", [message_sub("s", ["DELIVERED"], ["t"])]),
    })  # fmt: skip
    clients = ["client-ok", "client-missing", "client-down", "client-bad", "client-renamed", "client-bad"]
    events = [message_event(clientId=c) for c in clients]
    report = await route_events(events, make_deps(configs, queues))
    assert [(r.fate, r.reason) for r in report.records] == [
        (Fate.ROUTED, "routed"),
        (Fate.FILTERED_OUT, "no_config"),
        (Fate.RETRY, "config_unavailable"),
        (Fate.DEAD_LETTERED, "CLIENT_CONFIG_INVALID"),
        (Fate.DEAD_LETTERED, "CLIENT_CONFIG_INVALID"),
        (Fate.DEAD_LETTERED, "CLIENT_CONFIG_INVALID"),
    ]
    assert report.retry_indexes == (2,)
    dead = queues.sent[DLQ]
    assert [m.attributes["CLIENT_ID"] for m in dead] == ["client-bad", "client-renamed", "client-bad"]
    assert "targets.0.type: Invalid input" in dead[0].attributes["ERROR_MESSAGE"]
    assert dead[1].attributes["ERROR_MESSAGE"] == (
        "Invalid client config for 'client-renamed': clientId is 'client-other'"
    )
    assert sorted(configs.calls) == sorted(set(clients))  # one lookup per distinct client per batch


async def test_a_broken_config_lookup_only_retries_its_clients_records(queues: FakeQueues) -> None:
    configs = fanout_configs()
    configs.entries["client-odd"] = object()  # type: ignore[assignment]  # a lookup returning garbage
    events = [message_event(clientId="client-odd"), message_event(clientId="client-b")]
    report = await route_events(events, make_deps(configs, queues))
    assert [(r.fate, r.reason) for r in report.records] == [
        (Fate.RETRY, "config_unavailable"), (Fate.ROUTED, "routed")
    ]  # fmt: skip
    assert (report.records[0].error_message or "").startswith("AttributeError:")


async def test_unknown_clients_are_remembered_for_a_while(queues: FakeQueues) -> None:
    now_s = [0.0]
    configs = fanout_configs()
    deps = make_deps(configs, queues, routes_cache=RoutesCache(not_found_ttl_s=30, clock=lambda: now_s[0]))
    event = message_event(clientId="client-new")
    for _ in range(3):
        assert (await route_events([event], deps)).records[0].reason == "no_config"
    assert configs.calls.count("client-new") == 1  # not one store read per batch (T7.4)
    configs.entries["client-new"] = config("client-new", [message_sub("s", ["DELIVERED"], ["t"])])
    now_s[0] = 30.0
    assert (await route_events([event], deps)).records[0].fate is Fate.ROUTED
    assert configs.calls.count("client-new") == 2


async def test_missing_delivery_queue_retries_only_that_clients_records() -> None:
    queues = FakeQueues(missing=["client-b"])
    events = [message_event(clientId="client-b"), message_event(clientId="client-a")]
    report = await route_events(events, make_deps(fanout_configs(), queues))
    assert [r.fate for r in report.records] == [Fate.RETRY, Fate.ROUTED]
    assert report.records[0].error_message == "QueueUnavailable: delivery queue for 'client-b' does not exist"


async def test_failed_send_entry_retries_its_record_only() -> None:
    queues = FakeQueues(failing_bodies=['"messageId":"msg-bad"'])
    events = [message_event(messageId="msg-ok"), message_event(messageId="msg-bad")]
    report = await route_events(events, make_deps(fanout_configs(), queues))
    assert [(r.fate, r.envelopes_sent) for r in report.records] == [(Fate.ROUTED, 3), (Fate.RETRY, 0)]


async def test_failed_dead_letter_send_leaves_the_record_for_retry() -> None:
    queues = FakeQueues(failing_bodies=["not json"])
    report = await route_events(["not json"], make_deps(fanout_configs(), queues))
    assert (report.records[0].fate, report.records[0].reason) == (Fate.RETRY, "dlq_send_failed")


async def test_whole_send_failure_retries_that_queues_records() -> None:
    queues = FakeQueues(broken_urls=["queue://client-b"])
    events = [message_event(clientId="client-b"), message_event(clientId="client-a")]
    report = await route_events(events, make_deps(fanout_configs(), queues))
    assert [(r.fate, r.reason) for r in report.records] == [
        (Fate.RETRY, "send_failed"),
        (Fate.ROUTED, "routed"),
    ]
    assert report.records[0].error_message == "ConnectionError: cannot reach queue://client-b"


async def test_sends_are_batched_by_ten(queues: FakeQueues) -> None:
    events = [message_event(clientId="client-b", messageId=f"m-{i}") for i in range(23)]
    report = await route_events(events, make_deps(fanout_configs(), queues))
    assert report.envelopes_sent == 23
    assert queues.calls == [("queue://client-b", 10), ("queue://client-b", 10), ("queue://client-b", 3)]


async def test_filtered_out_events_are_done_and_nothing_is_sent(queues: FakeQueues) -> None:
    report = await route_events([message_event(messageStatus="SENDING")], make_deps(fanout_configs(), queues))
    assert (report.records[0].fate, report.records[0].reason) == (
        Fate.FILTERED_OUT,
        "no_matching_subscription",
    )
    assert queues.sent == {}


async def test_without_dlq_dead_letters_are_only_reported(queues: FakeQueues) -> None:
    deps = make_deps(fanout_configs(), queues)
    deps.dlq_url = None
    report = await route_events(["[]"], deps)
    assert report.records[0].fate is Fate.DEAD_LETTERED
    assert queues.sent == {}


async def test_empty_batch(queues: FakeQueues) -> None:
    assert await route_events([], make_deps(fanout_configs(), queues)) == RouteReport(
        (), pytest.approx(0, abs=50)
    )


async def test_metrics_have_one_meaning_each_and_are_per_client(queues: FakeQueues) -> None:
    lines: list[str] = []
    emitter = EmfEmitter("test-ns", {"Environment": "test"}, write=lines.append)
    events: list[Any] = [
        message_event(),  # client-a: matched, 3 envelopes
        message_event(messageStatus="SENDING"),  # client-a: filtered out
        message_event(clientId="client-b"),  # client-b: matched, 1 envelope
        "garbage",  # no client: invalid
        message_event({"data.messageId": None}, clientId="client-b"),  # client-b: invalid
    ]
    await route_events(events, make_deps(fanout_configs(), queues, metrics=emitter))
    docs = {doc.get("ClientId"): doc for doc in map(json.loads, lines)}
    metrics = {
        client: {k: v for k, v in doc.items() if k.startswith("Router")} for client, doc in docs.items()
    }
    assert metrics == {
        "client-a": {"RouterEventsReceived": 2, "RouterEventsMatched": 1, "RouterEnvelopesSent": 3,
                     "RouterEventsFilteredOut": 1},
        "client-b": {"RouterEventsReceived": 2, "RouterEventsMatched": 1, "RouterEnvelopesSent": 1,
                     "RouterEventsInvalid": 1},
        None: {"RouterEventsReceived": 1, "RouterEventsInvalid": 1},
    }  # fmt: skip
    assert docs["client-a"]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Environment", "ClientId"]]


async def test_routed_log_names_every_matched_subscription(
    queues: FakeQueues, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="delivery.router")
    await route_events([message_event()], make_deps(fanout_configs(), queues))
    (routed,) = [r for r in caplog.records if r.getMessage() == "Event routed"]
    fields = routed.fields  # type: ignore[attr-defined]
    assert fields["subscriptionIds"] == ["sub-1", "sub-3"]
    assert fields["targetIds"] == ["t-a", "t-b", "t-c"]
    assert fields["correlationId"] == "evt-0001"


def test_blocking_variant_for_synchronous_callers(queues: FakeQueues) -> None:
    report = route_events_blocking([message_event()], make_deps(fanout_configs(), queues))
    assert (report.records[0].fate, report.envelopes_sent) == (Fate.ROUTED, 3)


async def test_callback_generated_log_carries_the_status_fields(
    queues: FakeQueues, caplog: pytest.LogCaptureFixture
) -> None:
    """SPEC-ROUTER T5.4 / T6.48: one ``Callback generated`` per valid event (also when it is filtered out
    later), common fields plus the type's status fields, lower-cased; none for an invalid event."""
    caplog.set_level(logging.INFO, logger="delivery.router")
    message = message_event(
        {"data.messageStatus": "FAILED", "data.channels.0.channelStatus": "FAILED"},
        messageStatusDescription="Bounced", messageFailureReasonCode="CM_002",
    )  # fmt: skip
    channel = channel_event({"data.channelStatus": "SENDING", "data.supplierStatus": "PENDING"})
    await route_events([message, channel, "{broken"], make_deps(fanout_configs(), queues))
    generated = [r for r in caplog.records if r.getMessage() == "Callback generated"]
    assert [r.fields for r in generated] == [  # type: ignore[attr-defined]
        {"correlationId": "evt-0001", "callbackType": "MessageStatus", "clientId": "client-a",
         "messageId": "msg-0001", "messageReference": "ref-0001", "messageStatus": "failed",
         "messageStatusDescription": "Bounced", "messageFailureReasonCode": "CM_002",
         "channels": [{"type": "nhsapp", "channelStatus": "failed"}]},
        {"correlationId": "evt-0002", "callbackType": "ChannelStatus", "clientId": "client-a",
         "messageId": "msg-0001", "messageReference": "ref-0001", "channel": "nhsapp",
         "channelStatus": "sending", "supplierStatus": "pending"},
    ]  # fmt: skip
    line = json.loads(JsonFormatter().format(generated[0]))
    assert (line["level"], line["msg"]) == ("INFO", "Callback generated")
    # the reference's redaction list applies (SPEC I.2)
    assert line["messageReference"] == line["messageStatusDescription"] == "[Redacted]"
