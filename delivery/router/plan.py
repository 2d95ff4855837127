"""What happens to each inbound record, decided purely (no I/O): route, filter, dead-letter or retry.

``plan_record(index, decoded, routes, root_uri)`` takes one decoded record and the routes of its client (or
the reason there are none) and returns a ``RecordResult``. ``routing.route_events`` then performs the sends
and may turn a ROUTED record into RETRY when a send fails. ``RouteReport`` is the batch summary every
runtime (worker, Lambda, library callers) reads.

Config outcomes (T8 "config missing vs unreadable vs invalid"):
- not found → the client has no subscriptions: FILTERED_OUT (reason ``no_config``), as in the reference;
- unavailable (I/O) → RETRY, the record stays on the inbound queue;
- invalid (schema, or its ``clientId`` differs from the file name, T7.7) → DEAD_LETTER with
  ``CLIENT_CONFIG_INVALID`` so the event is kept for a redrive once the config is fixed.

An event whose envelope would exceed ``MAX_ENVELOPE_BYTES`` (256 KiB less room for the worker's DLQ
attributes) is dead-lettered with ``ENVELOPE_TOO_LARGE``: SQS would refuse it on every retry.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, NamedTuple

from delivery.queue.sqs_limits import MAX_ENVELOPE_BYTES, sqs_json, utf8_bytes
from delivery.router.events import Rejection, StatusEvent
from delivery.router.matching import ClientRoutes, match_event
from delivery.router.payload import envelope_body, payload_json
from delivery.router.vocabulary import ErrorCode


class Fate(StrEnum):
    ROUTED = "routed"  # at least one envelope, all sent
    FILTERED_OUT = "filtered_out"  # valid, nothing to deliver
    DEAD_LETTERED = "dead_lettered"  # sent to the inbound DLQ with ERROR_CODE / ERROR_MESSAGE
    RETRY = "retry"  # leave on the inbound queue (batch item failure / visibility change)


class ConfigProblemKind(StrEnum):
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    kind: ConfigProblemKind
    message: str


class Delivery(NamedTuple):
    """One envelope for one target on the client's delivery queue."""

    client_id: str
    subscription_id: str
    target_id: str
    body: str


class RecordResult(NamedTuple):
    position: int  # index in the batch
    fate: Fate
    reason: str  # routed | no_config | no_matching_subscription | INVALID_EVENT | config_unavailable | ...
    client_id: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    message_id: str | None = None
    subscription_ids: tuple[str, ...] = ()  # every matching subscription (logs)
    deliveries: tuple[Delivery, ...] = ()
    envelopes_sent: int = 0
    error_code: str | None = None  # DLQ ERROR_CODE
    error_message: str | None = None  # DLQ ERROR_MESSAGE, or the retry cause


@dataclass(frozen=True, slots=True)
class RouteReport:
    records: tuple[RecordResult, ...]
    duration_ms: float = 0.0

    def with_fate(self, fate: Fate) -> tuple[RecordResult, ...]:
        return tuple(r for r in self.records if r.fate is fate)

    @property
    def retry_indexes(self) -> tuple[int, ...]:
        return tuple(r.position for r in self.records if r.fate is Fate.RETRY)

    @property
    def envelopes_sent(self) -> int:
        return sum(r.envelopes_sent for r in self.records)

    def counts(self) -> dict[str, int]:
        out = {fate.value: 0 for fate in Fate}
        for record in self.records:
            out[record.fate.value] += 1
        return out


RoutesOrProblem = ClientRoutes | ConfigProblem
_BODY: Final = operator.itemgetter(3)  # Delivery.body, read in C


def _rejected(index: int, rejection: Rejection) -> RecordResult:
    return RecordResult(
        index,
        Fate.DEAD_LETTERED,
        rejection.code.value,
        client_id=rejection.client_id,
        event_id=rejection.event_id,
        error_code=rejection.code.value,
        error_message=rejection.message,
    )


def _config_problem(base: RecordResult, problem: ConfigProblem) -> RecordResult:
    if problem.kind is ConfigProblemKind.NOT_FOUND:
        return _replace(base, Fate.FILTERED_OUT, "no_config")
    if problem.kind is ConfigProblemKind.UNAVAILABLE:
        return _replace(base, Fate.RETRY, "config_unavailable", error_message=problem.message)
    code = ErrorCode.CLIENT_CONFIG_INVALID.value
    return _replace(base, Fate.DEAD_LETTERED, code, error_code=code, error_message=problem.message)


def _replace(base: RecordResult, fate: Fate, reason: str, **changes: object) -> RecordResult:
    return base._replace(fate=fate, reason=reason, **changes)  # type: ignore[arg-type]


def _event_result(index: int, event: StatusEvent, fate: Fate, reason: str, **extra: Any) -> RecordResult:
    return RecordResult(
        index,
        fate,
        reason,
        client_id=event.client_id,
        event_id=event.event_id,
        event_type=event.event_type,  # a StrEnum member is its value (no slow .value lookup)
        message_id=event.message_id,
        **extra,
    )


def _largest_envelope_bytes(deliveries: tuple[Delivery, ...]) -> int:
    """UTF-8 size of the largest envelope; 0 when all are surely small (a character is at most 4 bytes)."""
    if 4 * max(map(len, map(_BODY, deliveries)), default=0) <= MAX_ENVELOPE_BYTES:
        return 0
    return max(utf8_bytes(d.body) for d in deliveries)


# NamedTuples built from a whole tuple in C: the generated ``__new__`` is a Python call per value
_delivery: Final = functools.partial(tuple.__new__, Delivery)
_record: Final = functools.partial(tuple.__new__, RecordResult)


def plan_record(
    index: int, decoded: StatusEvent | Rejection, routes: RoutesOrProblem | None, root_uri: str
) -> RecordResult:
    """The fate of one record; ``routes`` is its client's routes (None only for rejections).

    A ROUTED result counts its envelopes as sent; ``routing`` corrects that if a send fails."""
    if isinstance(decoded, Rejection):
        return _rejected(index, decoded)
    event = decoded
    if routes is None or isinstance(routes, ConfigProblem):
        base = _event_result(index, event, Fate.FILTERED_OUT, "no_config")
        return _config_problem(base, routes or ConfigProblem(ConfigProblemKind.NOT_FOUND, ""))
    match = match_event(event, routes)
    if not match.deliveries:  # == not match.matched
        return _event_result(index, event, Fate.FILTERED_OUT, "no_matching_subscription")
    try:
        payload = payload_json(event, root_uri)
        # once per event, not per envelope; an ASCII JSON text has nothing SQS refuses (JSON escapes every
        # control character), and ``isascii`` is O(1) where ``sqs_json`` scans the text
        payload = payload if payload.isascii() else sqs_json(payload)
    except UnicodeEncodeError as exc:  # a lone surrogate (JSON "\ud800"): no valid UTF-8, SQS refuses it
        message = f"data: contains text that is not valid Unicode ({exc.reason} at position {exc.start})"
        code = ErrorCode.INVALID_EVENT.value
        return _event_result(index, event, Fate.DEAD_LETTERED, code, error_code=code, error_message=message)
    client_id = event.client_id
    deliveries = tuple(
        [
            _delivery((client_id, sub_id, target_id, envelope_body(payload, sub_id, target_id)))
            for target_id, sub_id in match.deliveries
        ]
    )
    # UTF-8 is measured only when the characters could make MAX_ENVELOPE_BYTES (4 bytes each at most)
    longest = max([len(d.body) for d in deliveries])
    if (
        4 * longest > MAX_ENVELOPE_BYTES
        and (largest := _largest_envelope_bytes(deliveries)) > MAX_ENVELOPE_BYTES
    ):
        code = ErrorCode.ENVELOPE_TOO_LARGE.value
        message = f"envelope of {largest} bytes exceeds the {MAX_ENVELOPE_BYTES}-byte limit"
        return _event_result(index, event, Fate.DEAD_LETTERED, code, error_code=code, error_message=message)
    # built whole: this is the common result (every field, in order; the last two: error code, message)
    fields = (client_id, event.event_id, event.event_type, event.message_id, match.subscription_ids)
    return _record((index, Fate.ROUTED, "routed", *fields, deliveries, len(deliveries), None, None))
