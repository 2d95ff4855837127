"""The typed values one message passes through inside the pipeline (the rest live in ``delivery.models``).

    ReceivedMessage -> Routed (envelope + target config) -> Signed (OutgoingRequest)
      -> Attempted (HttpResult | TransportFailure) -> Decided (Outcome) -> settled

A record can leave the chain early as a ``Decided`` (poison body, unknown target, retry window exhausted,
gate denial, infrastructure error); every path ends in exactly one ``Decided`` per received message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from delivery.config.client import CallbackTarget
from delivery.envelope import Envelope
from delivery.models import (
    HttpResult,
    Outcome,
    OutgoingRequest,
    ReceivedMessage,
    ResultKind,
    TransportFailure,
)


@dataclass(frozen=True, slots=True)
class Routed:
    """A decoded message whose target config was found and whose retry window is still open."""

    message: ReceivedMessage
    envelope: Envelope
    target: CallbackTarget

    @property
    def target_id(self) -> str:
        return self.target.target_id


@dataclass(frozen=True, slots=True)
class TargetBatch:
    """The routed records of one target, in arrival order (the unit the gate admits)."""

    target: CallbackTarget
    records: tuple[Routed, ...]


@dataclass(frozen=True, slots=True)
class Signed:
    routed: Routed
    request: OutgoingRequest


@dataclass(frozen=True, slots=True)
class Attempted:
    signed: Signed
    result: HttpResult | TransportFailure


@dataclass(frozen=True, slots=True)
class Decided:
    """The final word on one received message: what to do with it (``outcome``) and for which target."""

    message: ReceivedMessage
    outcome: Outcome
    target_id: str | None = None
    correlation_id: str | None = None
    kind: ResultKind | None = None  # what the webhook's answer meant, when a delivery was attempted
    elapsed_ms: float | None = None  # duration of that attempt


class Progress(Protocol):
    """How a processor reports a batch as it goes (the worker settles each group at once; Lambda passes none
    and settles the whole event at the end)."""

    def decided(self, group: Sequence[Decided]) -> None:
        """These records are final (one target group, or the early-decided ones): settle them now."""

    def started(self) -> None:
        """Every record of the batch is decided or on the wire: none is waiting to start any more."""
