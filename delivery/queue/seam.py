"""The ``Queue`` seam: what the runtime needs from a message queue.

``delivery.queue.sqs.SqsQueue`` is the real adapter; ``delivery.queue.memory.InMemoryQueue`` is the
shipped fake with the same behaviour (visibility, receive counts), used by unit tests and the benchmark.
A queue whose ``receive`` can be cancelled without losing messages says so with
``receive_cancel_safe = True``; the worker then cancels an idle poll at shutdown instead of waiting for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from delivery.models import ReceivedMessage
from delivery.queue.batches import EntryOutcome
from delivery.queue.names import DEFAULT_QUEUE_PREFIX, queue_names
from delivery.queue.sqs import OutgoingMessage

__all__ = ["DEFAULT_QUEUE_PREFIX", "OutgoingMessage", "Queue", "queue_names"]


class Queue(Protocol):
    async def receive(self, max_messages: int = 10, wait_s: int = 20) -> list[ReceivedMessage]: ...

    async def delete(self, messages: Sequence[ReceivedMessage]) -> list[str]:
        """Delete; returns the message ids that could not be deleted."""
        ...

    async def change_visibility(self, items: Sequence[tuple[ReceivedMessage, float]]) -> list[str]:
        """Hide each message for ``delay_s`` from now; returns the ids that failed."""
        ...

    async def send(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        """Send; returns the indexes (as strings) of the entries that failed."""
        ...

    async def send_entries(self, messages: Sequence[OutgoingMessage]) -> list[EntryOutcome]:
        """Send; one outcome per message, in order (why an entry failed: SQS's code and detail)."""
        ...
