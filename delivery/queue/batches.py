"""The one batcher of every SQS send path: entries cut into SendMessageBatch calls by count *and* bytes.

    plan_batches(sizes) -> BatchPlan(batches=((0, 1, 2), (3,), ...), oversized=(4,))
    EntryOutcome(index, ok, code, detail)        one per entry sent, in input order

Order is kept; a batch closes when one more entry would exceed ``MAX_BATCH_ENTRIES`` or ``MAX_BATCH_BYTES``.
An entry larger than ``MAX_MESSAGE_BYTES`` is never sent (it would fail the whole call): it is reported as
``oversized`` and its caller decides (dead-letter it, trim it, or report it). Pure: sizes come from
``delivery.queue.sqs_limits.message_bytes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from delivery.queue.sqs_limits import MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES

MESSAGE_TOO_LONG = "MessageTooLong"  # our code for an entry refused before sending (SQS uses the same words)


@dataclass(frozen=True, slots=True)
class BatchPlan:
    batches: tuple[tuple[int, ...], ...]
    oversized: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """What happened to one entry: sent, or failed with SQS's code (or ours) and a detail line."""

    index: int
    ok: bool
    code: str = ""
    detail: str = ""


def plan_batches(
    sizes: Sequence[int],
    *,
    max_entries: int = MAX_BATCH_ENTRIES,
    max_batch_bytes: int = MAX_BATCH_BYTES,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> BatchPlan:
    """Greedy, in order: each batch holds at most ``max_entries`` entries and ``max_batch_bytes`` bytes."""
    batches: list[tuple[int, ...]] = []
    oversized: list[int] = []
    current: list[int] = []
    current_bytes = 0
    for index, size in enumerate(sizes):
        if size > max_message_bytes:
            oversized.append(index)
            continue
        if current and (len(current) == max_entries or current_bytes + size > max_batch_bytes):
            batches.append(tuple(current))
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        batches.append(tuple(current))
    return BatchPlan(tuple(batches), tuple(oversized))


def too_long(index: int, size: int, limit: int = MAX_MESSAGE_BYTES) -> EntryOutcome:
    return EntryOutcome(index, False, MESSAGE_TOO_LONG, f"{size} bytes with attributes, limit {limit}")


def failed_indexes(outcomes: Sequence[EntryOutcome]) -> list[str]:
    """The ``Queue.send`` reply: indexes (as strings) of the entries that were not sent."""
    return [str(o.index) for o in outcomes if not o.ok]
