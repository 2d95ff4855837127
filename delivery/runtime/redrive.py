"""Redrive (SPEC F, P10): move messages from a client's DLQ back to its delivery queue.

Our own receive -> send -> delete loop (moto has no StartMessageMoveTask). Only the body is sent (the DLQ
attributes describe the last failure, not the message); a redriven message is a new SQS message, so its retry
window starts again. Each DLQ copy is deleted only after its send succeeded. Messages that do not match the
filters (and every message in a dry run) are held invisible until the scan ends and then made visible again,
so one run sees each message once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from delivery.models import ReceivedMessage
from delivery.runtime.queue import OutgoingMessage, Queue

SCAN_VISIBILITY_S = 300  # how long a scanned message stays hidden while the scan runs


@dataclass(frozen=True, slots=True)
class RedriveFilter:
    target_id: str | None = None
    error_code: str | None = None

    def matches(self, message: ReceivedMessage) -> bool:
        attributes = dict(message.attributes)
        if self.target_id is not None and _target_of(message, attributes) != self.target_id:
            return False
        return self.error_code is None or attributes.get("ERROR_CODE") == self.error_code


def _target_of(message: ReceivedMessage, attributes: dict[str, str]) -> str | None:
    """TARGET_ID, or for dead letters without attributes (the reference's) the envelope's targetId."""
    if "TARGET_ID" in attributes:
        return attributes["TARGET_ID"]
    try:
        doc = json.loads(message.body)
    except ValueError:
        return None
    target = doc.get("targetId") if isinstance(doc, dict) else None
    return target if isinstance(target, str) else None


@dataclass
class RedriveReport:
    scanned: int = 0
    matched: int = 0
    moved: int = 0
    failed: int = 0
    skipped: int = 0  # did not match the filters
    dry_run: bool = False
    moved_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # sends that failed as a whole

    def summary(self) -> str:
        verb = "would move" if self.dry_run else "moved"
        return (
            f"scanned {self.scanned}, matched {self.matched}, {verb} "
            f"{self.matched if self.dry_run else self.moved}, failed {self.failed}, skipped {self.skipped}"
        ) + "".join(f"\nsend failed: {error}" for error in dict.fromkeys(self.errors))


async def _move(
    batch: Sequence[ReceivedMessage], queue: Queue, dlq: Queue, report: RedriveReport
) -> list[ReceivedMessage]:
    """Send then delete; returns the messages whose send failed (to be released at the end).

    A send that fails as a whole (the delivery queue does not exist, access denied) moves nothing: the DLQ
    copies stay and the error is reported."""
    try:
        failed_indexes = {int(i) for i in await queue.send([OutgoingMessage(m.body) for m in batch])}
    except Exception as exc:  # whichever error the queue raised, no copy may be deleted
        report.errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
        failed_indexes = set(range(len(batch)))
    sent = [m for i, m in enumerate(batch) if i not in failed_indexes]
    not_deleted = set(await dlq.delete(sent)) if sent else set()
    report.moved += len(sent) - len(not_deleted)
    report.moved_ids += [m.message_id for m in sent if m.message_id not in not_deleted]
    report.failed += len(failed_indexes) + len(not_deleted)
    return [m for i, m in enumerate(batch) if i in failed_indexes]


async def redrive(
    dlq: Queue,
    queue: Queue,
    *,
    selector: RedriveFilter = RedriveFilter(),
    limit: int | None = None,
    dry_run: bool = False,
    wait_s: int = 1,
) -> RedriveReport:
    report = RedriveReport(dry_run=dry_run)
    held: list[ReceivedMessage] = []
    try:
        while limit is None or report.matched < limit:
            batch = await dlq.receive(10, wait_s)
            if not batch:
                break
            report.scanned += len(batch)
            await dlq.change_visibility([(m, SCAN_VISIBILITY_S) for m in batch])
            room = None if limit is None else limit - report.matched
            chosen = [m for m in batch if selector.matches(m)][:room]
            report.matched += len(chosen)
            report.skipped += sum(1 for m in batch if not selector.matches(m))
            held += [m for m in batch if m not in chosen]
            if dry_run:
                held += chosen
            elif chosen:
                held += await _move(chosen, queue, dlq, report)
    finally:
        if held:
            await dlq.change_visibility([(m, 0) for m in held])
    return report
