"""The batcher and SQS's limits (pure): count and byte cuts, sizes as SQS counts them, characters."""

from __future__ import annotations

import json

import pytest

from delivery.queue.batches import BatchPlan, EntryOutcome, failed_indexes, plan_batches
from delivery.queue.sqs_limits import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    message_bytes,
    sqs_json,
    sqs_text,
)

KB = 1000


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ([], BatchPlan((), ())),
        ([1] * 23, BatchPlan((tuple(range(10)), tuple(range(10, 20)), (20, 21, 22)), ())),
        # five 250 KB bodies: four fit in 1 MiB, the fifth opens a new batch
        ([250 * KB] * 5, BatchPlan(((0, 1, 2, 3), (4,)), ())),
        # small neighbours ride along until the bytes run out, order kept
        (
            [250 * KB, 10, 250 * KB, 10, 250 * KB, 250 * KB, 250 * KB, 10],
            BatchPlan(((0, 1, 2, 3, 4, 5), (6, 7)), ()),
        ),
        # an oversized entry never joins a batch: it is reported, its neighbours go on
        ([10, MAX_MESSAGE_BYTES + 1, 10], BatchPlan(((0, 2),), (1,))),
        ([MAX_MESSAGE_BYTES] * 4 + [1], BatchPlan(((0, 1, 2, 3), (4,)), ())),
    ],
)
def test_batches_are_cut_by_count_and_bytes(sizes: list[int], expected: BatchPlan) -> None:
    plan = plan_batches(sizes)
    assert plan == expected
    for batch in plan.batches:
        assert len(batch) <= 10
        assert sum(sizes[i] for i in batch) <= MAX_BATCH_BYTES


def test_every_entry_is_planned_once() -> None:
    sizes = [(i * 7919) % (MAX_MESSAGE_BYTES + 5000) for i in range(200)]
    plan = plan_batches(sizes)
    planned = [i for batch in plan.batches for i in batch] + list(plan.oversized)
    assert sorted(planned) == list(range(200))


def test_size_counts_body_and_each_attribute_name_type_and_value_in_utf8() -> None:
    assert message_bytes("héllo") == 6
    # "ERROR_CODE" (10) + "String" (6) + "X" (1) ; "É" (2) + "String" (6) + "€" (3)
    assert message_bytes("", {"ERROR_CODE": "X", "É": "€"}) == 17 + 11
    assert message_bytes("a", [("N", "v")]) == 1 + 1 + 6 + 1


def test_failed_indexes_are_the_queue_reply() -> None:
    outcomes = [EntryOutcome(0, True), EntryOutcome(1, False, "MessageTooLong"), EntryOutcome(2, True)]
    assert failed_indexes(outcomes) == ["1"]


@pytest.mark.parametrize("char", [chr(0xD800), chr(0xDFFF), "\ufffe", "\uffff", "\x00", "\x1f", "\x0b"])
def test_refused_characters_are_escaped_in_json_and_decode_to_the_same_value(char: str) -> None:
    doc = {"note": f"a{char}b", "ok": "é\U0001f600\t"}
    text = json.dumps(doc, ensure_ascii=False)
    escaped = sqs_json(text)
    assert sqs_text(escaped) == escaped  # nothing SQS refuses is left
    assert json.loads(escaped) == doc
    escaped.encode("utf-8")  # a lone surrogate would raise here


def test_allowed_characters_are_left_alone() -> None:
    text = '{"a":"tab\\t é \U0001f600 \ue000 \ufffd"}'
    assert sqs_json(text) == text
