"""Journal records -> end-to-end observations (pure): latency, duplicates, rejections, other runs ignored."""

from __future__ import annotations

from typing import Any

from loadtests.deliveries import DeliveryTracker, Kind
from loadtests.message_ids import forced_prefix, make_message_id

RUN = "abcd1234"


def record(seq: int, message_id: str | None, received_ms: float, status: int | None = 200) -> dict[str, Any]:
    return {
        "seq": seq,
        "receivedAtMs": received_ms,
        "path": "/t1",
        "messageId": message_id,
        "response": {"status": status, "body": "{}"},
    }


def test_first_2xx_is_the_delivery_and_latency_comes_from_the_id() -> None:
    tracker = DeliveryTracker(RUN)
    mid = make_message_id("load", RUN, 1_000_000, 1)
    [obs] = tracker.observe([record(1, mid, 1_000_250.5)])
    assert (obs.kind, obs.latency_ms, obs.status, obs.path, obs.deliverable) == (
        Kind.DELIVERY, 250.5, 200, "/t1", True,
    )  # fmt: skip
    assert tracker.delivered_count == 1


def test_a_second_2xx_is_a_duplicate_and_not_counted_again() -> None:
    tracker = DeliveryTracker(RUN)
    mid = make_message_id("load", RUN, 1_000, 1)
    observations = tracker.observe([record(1, mid, 1_100), record(2, mid, 1_900)])
    assert [o.kind for o in observations] == [Kind.DELIVERY, Kind.DUPLICATE]
    assert tracker.delivered_count == 1


def test_non_2xx_and_resets_are_rejections() -> None:
    tracker = DeliveryTracker(RUN)
    failing = make_message_id(forced_prefix(500), RUN, 1_000, 1)
    storm = make_message_id("load", RUN, 1_000, 2)
    observations = tracker.observe(
        [record(1, failing, 1_010, 500), record(2, storm, 1_020, 429), record(3, storm, 1_030, None)]
    )
    assert [(o.kind, o.status, o.deliverable) for o in observations] == [
        (Kind.REJECTED, 500, False), (Kind.REJECTED, 429, True), (Kind.REJECTED, None, True),
    ]  # fmt: skip
    assert tracker.delivered_count == 0


def test_other_runs_and_foreign_traffic_are_skipped_but_advance_the_cursor() -> None:
    tracker = DeliveryTracker(RUN)
    records = [
        record(5, make_message_id("load", "ffff0000", 1_000, 1), 1_100),
        record(6, "scenario-message-1", 1_100),
        record(7, None, 1_100),
        {"seq": 8, "messageId": make_message_id("load", RUN, 1_000, 9)},  # no receive time
    ]
    assert tracker.observe(records) == []
    assert tracker.last_seq == 8


def test_pages_that_overlap_are_not_counted_twice() -> None:
    tracker = DeliveryTracker(RUN, last_seq=10)
    mid = make_message_id("load", RUN, 1_000, 1)
    assert tracker.observe([record(9, mid, 1_100), record(10, mid, 1_100)]) == []
    assert len(tracker.observe([record(11, mid, 1_100), record(11, mid, 1_100)])) == 1


def test_clock_skew_never_gives_negative_latency() -> None:
    tracker = DeliveryTracker(RUN)
    [obs] = tracker.observe([record(1, make_message_id("load", RUN, 2_000, 1), 1_999.0)])
    assert obs.latency_ms == 0.0
