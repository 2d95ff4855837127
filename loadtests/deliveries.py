"""Journal records of the mock webhook -> end-to-end observations for one load run (pure, no I/O).

A record (CONTRACTS.md, mock journal) carries ``seq``, ``receivedAtMs``, ``messageId``, ``path`` and
``response.status``. The message id carries the publish time (``message_ids``), so latency is
``receivedAtMs - publishMs`` and needs no state shared with the publishing processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from loadtests.message_ids import parse_message_id


class Kind(StrEnum):
    DELIVERY = "delivery"  # first 2xx for a message
    DUPLICATE = "duplicate"  # another 2xx for a message already delivered
    REJECTED = "rejected"  # a non-2xx answer (or no answer: reset)


@dataclass(frozen=True, slots=True)
class Observation:
    kind: Kind
    message_id: str
    path: str
    status: int | None
    latency_ms: float  # mock receive time - publish time
    deliverable: bool


@dataclass(slots=True)
class DeliveryTracker:
    """What this run has seen so far; ``observe`` turns new journal records into observations."""

    run_id: str
    last_seq: int = 0
    delivered: set[str] = field(default_factory=set)

    def observe(self, records: Iterable[Mapping[str, Any]]) -> list[Observation]:
        out = []
        for record in records:
            seq = record.get("seq")
            if isinstance(seq, int):
                if seq <= self.last_seq:
                    continue  # already seen (overlapping page)
                self.last_seq = seq
            observation = self._observation(record)
            if observation is not None:
                out.append(observation)
        return out

    def _observation(self, record: Mapping[str, Any]) -> Observation | None:
        message_id = record.get("messageId")
        parsed = parse_message_id(message_id)
        received_ms = record.get("receivedAtMs")
        if parsed is None or parsed.run_id != self.run_id or not isinstance(received_ms, int | float):
            return None
        status = _status(record)
        kind = Kind.REJECTED
        if status is not None and 200 <= status < 300:
            kind = Kind.DUPLICATE if message_id in self.delivered else Kind.DELIVERY
            self.delivered.add(str(message_id))
        return Observation(
            kind=kind,
            message_id=str(message_id),
            path=str(record.get("path", "")),
            status=status,
            latency_ms=max(0.0, float(received_ms) - parsed.publish_ms),
            deliverable=parsed.deliverable,
        )

    @property
    def delivered_count(self) -> int:
        return len(self.delivered)


def _status(record: Mapping[str, Any]) -> int | None:
    response = record.get("response")
    if isinstance(response, Mapping):
        status = response.get("status")
        if isinstance(status, int):
            return status
    return None
