"""Redrive (SPEC F, P10): move messages from a client's DLQ back to its delivery queue.

Our own receive -> send -> delete loop (moto has no StartMessageMoveTask). Only the body is sent (the DLQ
attributes describe the last failure, not the message); a redriven message is a new SQS message, so its retry
window starts again. Each DLQ copy is deleted only after its send succeeded. Messages that do not match the
filters (and every message in a dry run) are held invisible until the scan ends and then made visible again,
so one run sees each message once.

Never crashes on a bad entry: a message SQS refuses (too large, say) or a failed call becomes a report line
``failed <messageId>: <why>`` (the message stays in the DLQ) and the run goes on; each move is a line
``moved <messageId>``. Sends are paced (``Pacing``; see ``delivery.runtime.pacing``): a paced run may hold a
matched message hidden for longer than its slot; a run longer than ``SCAN_VISIBILITY_S`` may see a skipped
message again (it is skipped again).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from delivery.models import ReceivedMessage
from delivery.observe.logs import log
from delivery.queue.seam import OutgoingMessage, Queue
from delivery.runtime.pacing import FALLBACK_RATE_PER_S, Pacer

_log = logging.getLogger(__name__)

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
    lines: list[str] = field(default_factory=list)  # one per message moved or failed, in order
    errors: list[str] = field(default_factory=list)  # send calls that failed as a whole

    def summary(self) -> str:
        verb = "would move" if self.dry_run else "moved"
        return (
            f"scanned {self.scanned}, matched {self.matched}, {verb} "
            f"{self.matched if self.dry_run else self.moved}, failed {self.failed}, skipped {self.skipped}"
        ) + "".join(f"\nsend failed: {error}" for error in dict.fromkeys(self.errors))

    def fail(self, message: ReceivedMessage, why: str) -> None:
        self.failed += 1
        self.lines.append(f"failed {message.message_id}: {why}")


@dataclass
class Pacing:
    """Per-target pacers (``rates`` by TARGET_ID, ``default_rate`` for the rest), or one ``rate`` for all."""

    rates: dict[str, float] = field(default_factory=dict)
    default_rate: float = FALLBACK_RATE_PER_S
    rate: float | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _pacers: dict[str | None, Pacer] = field(default_factory=dict)

    def slot(self, message: ReceivedMessage) -> float:
        key = None if self.rate is not None else _target_of(message, dict(message.attributes))
        pacer = self._pacers.get(key)
        if pacer is None:
            rate = self.rate if self.rate is not None else self.rates.get(key or "", self.default_rate)
            pacer = self._pacers[key] = Pacer(rate)
        return pacer.slot(self.clock())


UNPACED = Pacing(rate=float("inf"))


def _sendable(batch: Sequence[ReceivedMessage], report: RedriveReport) -> list[ReceivedMessage]:
    """A dead letter whose body was stored elsewhere (``BODY_LOCATION``) is never sent in its place."""
    out = []
    for m in batch:
        location = dict(m.attributes).get("BODY_LOCATION")
        if location is None:
            out.append(m)
        else:
            report.fail(m, f"its body is stored at {location} (too large for SQS); redrive it by hand")
    return out


async def _send(
    batch: Sequence[ReceivedMessage], queue: Queue, report: RedriveReport
) -> list[ReceivedMessage]:
    """Send; returns the messages sent. A failed send (one entry or the whole call) is a report line with
    the reason the delivery queue gave; no DLQ copy of it is deleted. A call that raised is also kept for
    the summary."""
    outgoing = [OutgoingMessage(m.body) for m in batch]
    try:
        why = {o.index: f"{o.code}: {o.detail}" for o in await queue.send_entries(outgoing) if not o.ok}
    except Exception as exc:  # the whole call: every message of it failed, the run goes on
        reason = f"{type(exc).__name__}: {str(exc)[:300]}"
        why = dict.fromkeys(range(len(batch)), reason)
        report.errors.append(reason)
    for i in sorted(why):
        report.fail(batch[i], why[i])
    return [m for i, m in enumerate(batch) if i not in why]


async def _delete(sent: Sequence[ReceivedMessage], dlq: Queue, report: RedriveReport) -> None:
    try:
        not_deleted = set(await dlq.delete(sent)) if sent else set()
    except Exception as exc:
        not_deleted = {m.message_id for m in sent}
        log(_log, "error", "Redrive delete failed", error=f"{type(exc).__name__}: {exc}")
    for m in sent:
        if m.message_id in not_deleted:
            report.fail(m, "sent, but its DLQ copy could not be deleted (it may be redriven twice)")
        else:
            report.moved += 1
            report.moved_ids.append(m.message_id)
            report.lines.append(f"moved {m.message_id}")


async def _move(
    batch: Sequence[ReceivedMessage], queue: Queue, dlq: Queue, report: RedriveReport, pacing: Pacing
) -> list[ReceivedMessage]:
    """Send (paced) then delete; returns the messages whose send failed (to be released at the end)."""
    slots = sorted(((pacing.slot(m), i) for i, m in enumerate(batch)), key=lambda p: p[0])
    failed: list[ReceivedMessage] = []
    while slots:
        wait_s = slots[0][0] - pacing.clock()
        if wait_s > 0:
            await pacing.sleep(wait_s)
        now_s = pacing.clock()
        due = [batch[i] for at, i in slots if at <= now_s]
        slots = [(at, i) for at, i in slots if at > now_s]
        sent = await _send(_sendable(due, report), queue, report) if due else []
        await _delete(sent, dlq, report)
        failed += [m for m in due if m not in sent]
    return failed


async def redrive(
    dlq: Queue,
    queue: Queue,
    *,
    selector: RedriveFilter = RedriveFilter(),
    limit: int | None = None,
    dry_run: bool = False,
    wait_s: int = 1,
    pacing: Pacing = UNPACED,
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
                held += await _move(chosen, queue, dlq, report, pacing)
    finally:
        if held:
            await dlq.change_visibility([(m, 0) for m in held])
    return report
