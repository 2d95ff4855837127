"""``InMemoryQueue``: an SQS-like queue in process memory (the shipped fake of the ``Queue`` seam).

It honours what the runtime relies on: a received message is invisible for ``visibility_timeout_s`` (or
until ``change_visibility`` says otherwise), every receive increments ``ApproximateReceiveCount`` and issues
a new receipt handle (stale handles fail like SQS's), the first receive time is kept, and ``receive`` waits up
to ``wait_s`` for a message to become visible (long polling). Single event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from delivery.models import ReceivedMessage
from delivery.queue.batches import EntryOutcome, failed_indexes, too_long
from delivery.queue.sqs import OutgoingMessage, clamp_visibility_s
from delivery.queue.sqs_limits import MAX_MESSAGE_BYTES, message_bytes


def _wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class StoredMessage:
    message_id: str
    body: str
    attributes: Mapping[str, str]
    sent_ms: int
    visible_at_ms: int
    receive_count: int = 0
    first_receive_ms: int | None = None
    receipt_handle: str | None = None


@dataclass
class InMemoryQueue:
    name: str = "memory"
    receive_cancel_safe = True  # a cancelled receive takes nothing (the worker may cancel it on stop)
    visibility_timeout_s: int = 30
    clock_ms: Callable[[], int] = _wall_ms
    _messages: dict[str, StoredMessage] = field(default_factory=dict)
    _schedule: list[tuple[int, int, str]] = field(default_factory=list)  # (visible_at_ms, seq, id) heap
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _handles: itertools.count[int] = field(default_factory=itertools.count)

    async def send(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        return failed_indexes(await self.send_entries(messages))

    async def send_entries(self, messages: Sequence[OutgoingMessage]) -> list[EntryOutcome]:
        now_ms = self.clock_ms()
        outcomes: list[EntryOutcome] = []
        for index, msg in enumerate(messages):
            size = message_bytes(msg.body, msg.attributes)
            if size > MAX_MESSAGE_BYTES:  # as SQS: refused, not stored
                outcomes.append(too_long(index, size))
                continue
            outcomes.append(EntryOutcome(index, True))
            message_id = str(uuid.uuid4())
            stored = StoredMessage(
                message_id, msg.body, dict(msg.attributes), now_ms, now_ms + int(msg.delay_s) * 1000
            )
            self._messages[message_id] = stored
            self._reschedule(stored)
        self._wake()
        return outcomes

    async def send_body(self, body: str, **attributes: str) -> None:
        await self.send([OutgoingMessage(body, attributes)])

    async def receive(self, max_messages: int = 10, wait_s: int = 20) -> list[ReceivedMessage]:
        deadline_ms = self.clock_ms() + wait_s * 1000
        while True:
            got = self._take(max(1, min(max_messages, 10)))
            now_ms = self.clock_ms()
            if got or now_ms >= deadline_ms:
                return got
            await self._wait(min(deadline_ms, self._next_visible_ms(deadline_ms)) - now_ms)

    async def delete(self, messages: Sequence[ReceivedMessage]) -> list[str]:
        failed = []
        for m in messages:
            stored = self._messages.get(m.message_id)
            if stored is None or stored.receipt_handle != m.receipt_handle:
                failed.append(m.message_id)
            else:
                del self._messages[m.message_id]
        return failed

    async def change_visibility(self, items: Sequence[tuple[ReceivedMessage, float]]) -> list[str]:
        now_ms = self.clock_ms()
        failed = []
        for m, delay_s in items:
            stored = self._messages.get(m.message_id)
            if stored is None or stored.receipt_handle != m.receipt_handle:
                failed.append(m.message_id)
                continue
            stored.visible_at_ms = now_ms + clamp_visibility_s(delay_s, stored.sent_ms, now_ms) * 1000
            self._reschedule(stored)
        self._wake()
        return failed

    def depth(self) -> tuple[int, int]:
        """(visible, in flight) message counts."""
        now_ms = self.clock_ms()
        visible = sum(1 for m in self._messages.values() if m.visible_at_ms <= now_ms)
        return visible, len(self._messages) - visible

    def stored(self) -> list[StoredMessage]:
        """Every message still in the queue (visible or not), oldest first: for assertions."""
        return sorted(self._messages.values(), key=lambda m: m.sent_ms)

    def _reschedule(self, stored: StoredMessage) -> None:
        heapq.heappush(self._schedule, (stored.visible_at_ms, next(self._seq), stored.message_id))

    def _take(self, limit: int) -> list[ReceivedMessage]:
        """Visible messages, earliest first; heap entries left behind by deletes/changes are skipped."""
        now_ms = self.clock_ms()
        out: list[ReceivedMessage] = []
        while self._schedule and len(out) < limit and self._schedule[0][0] <= now_ms:
            visible_at_ms, _seq, message_id = heapq.heappop(self._schedule)
            stored = self._messages.get(message_id)
            if stored is not None and stored.visible_at_ms == visible_at_ms:
                out.append(self._deliver(stored, now_ms))
        return out

    def _deliver(self, stored: StoredMessage, now_ms: int) -> ReceivedMessage:
        stored.receive_count += 1
        stored.first_receive_ms = stored.first_receive_ms or now_ms
        stored.receipt_handle = f"{stored.message_id}#{next(self._handles)}"
        stored.visible_at_ms = now_ms + self.visibility_timeout_s * 1000
        self._reschedule(stored)
        return ReceivedMessage(
            message_id=stored.message_id,
            receipt_handle=stored.receipt_handle,
            body=stored.body,
            receive_count=stored.receive_count,
            first_receive_ms=stored.first_receive_ms,
            sent_ms=stored.sent_ms,
            attributes=tuple(sorted(stored.attributes.items())),
        )

    def _next_visible_ms(self, default_ms: int) -> int:
        return self._schedule[0][0] if self._schedule else default_ms

    def _wake(self) -> None:
        self._changed.set()

    async def _wait(self, timeout_ms: int) -> None:
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout=max(0.001, timeout_ms / 1000))
