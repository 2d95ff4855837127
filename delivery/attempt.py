"""One delivery attempt for one admitted record: sign -> send -> classify -> decide.

The transport never raises for network problems (it returns a ``TransportFailure``); anything else that goes
wrong here (TLS material from S3/Secrets Manager, a missing signing secret, a bug) is an infrastructure
error: the record is requeued with jittered backoff, never dead-lettered (P9). A record that waited
TARGET_QUEUE_WAIT_MS for its target's in-flight slot without getting one is deferred (``TARGET_BUSY``,
``busy_deferred``): it never reached the wire, so it uses no attempt and is no breaker failure (the gate token
its admission took stays spent: the gate errs towards sending less, never more).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from delivery.backoff import decide
from delivery.classify import classify
from delivery.config.client import CallbackTarget
from delivery.errors import SigningError
from delivery.gate.limiter import Limiter, Once, TargetLimits
from delivery.models import HttpResult, OutgoingRequest, TransportFailure
from delivery.observe.logs import log
from delivery.signing import signed_headers
from delivery.stages import Decided, Routed, Signed
from delivery.transport.material import TlsMaterialError
from delivery.verdicts import (
    INTERNAL_ERROR,
    SIGNING_ERROR,
    TLS_MATERIAL_ERROR,
    infrastructure_retry,
    target_busy,
)

_log = logging.getLogger(__name__)
DEFAULT_CONNECT_TIMEOUT_S = 10.0


class Transport(Protocol):
    async def send(self, request: OutgoingRequest) -> HttpResult | TransportFailure: ...


def _wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class AttemptContext:
    """What every attempt of one client needs (shared across batches)."""

    client_id: str
    transport: Transport
    in_flight: Limiter  # CONCURRENCY_LIMIT: deliveries in flight at once
    request_timeout_s: float = 30.0
    clock_ms: Callable[[], int] = _wall_ms
    rand: Callable[[], float] = field(default=random.random)
    target_limits: TargetLimits | None = None  # TARGET_CONCURRENCY_LIMIT: what one target may hold of it


class TargetBusy(Exception):
    """The target's in-flight slot did not come within the wait bound."""


def _no_op() -> None:
    return None


def busy_deferred(routed: Routed, ctx: AttemptContext) -> Decided:
    """DEFER ``routed``: its target is overloaded (``TARGET_BUSY``; no attempt used)."""
    limits = ctx.target_limits
    wait_bound_s = limits.queue_wait_s if limits is not None else 0.0
    outcome = target_busy(
        first_receive_ms=routed.message.first_receive_ms,
        now_ms=ctx.clock_ms(),
        max_retry_s=routed.target.delivery.max_retry_duration_seconds,
        wait_bound_ms=wait_bound_s * 1000,
        rand=ctx.rand(),
    )
    return Decided(routed.message, outcome, routed.target_id, routed.envelope.correlation_id)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What every request to one target shares (derived once per config object, not per delivery)."""

    url: str
    target_id: str
    mtls: bool
    spki_pins: tuple[str, ...]
    timeout_s: float
    connect_timeout_s: float


_SHAPES: dict[tuple[int, float], tuple[CallbackTarget, _Shape]] = {}
_MAX_SHAPES = 1024


def _shape(target: CallbackTarget, request_timeout_s: float) -> _Shape:
    key = (id(target), request_timeout_s)
    hit = _SHAPES.get(key)
    if hit is not None and hit[0] is target:  # the same config object (a reload builds new ones)
        return hit[1]
    delivery = target.delivery
    shape = _Shape(
        url=target.invocation_endpoint,
        target_id=target.target_id,
        mtls=delivery.mtls.enabled,
        spki_pins=delivery.mtls.cert_pinning.pins,
        timeout_s=float(delivery.timeout_seconds or request_timeout_s),
        connect_timeout_s=float(delivery.connect_timeout_seconds or DEFAULT_CONNECT_TIMEOUT_S),
    )
    if len(_SHAPES) >= _MAX_SHAPES:
        _SHAPES.clear()
    _SHAPES[key] = (target, shape)
    return shape


def sign(routed: Routed, application_id: str, *, now_ms: int, request_timeout_s: float) -> Signed:
    """The exact bytes to send, with the headers the target's signing settings ask for."""
    envelope, target = routed.envelope, routed.target
    webhook_id = envelope.idempotency_key or routed.message.message_id  # stable across retries (P2)
    body = envelope.payload_bytes
    headers = signed_headers(target, application_id, body, webhook_id, now_ms / 1000)
    shape = _shape(target, request_timeout_s)
    request = OutgoingRequest(
        shape.url,
        headers,
        body,
        shape.target_id,
        shape.mtls,
        shape.spki_pins,
        shape.timeout_s,
        shape.connect_timeout_s,
    )
    return Signed(routed, request)


async def _send(
    signed: Signed, ctx: AttemptContext, on_started: Callable[[], None]
) -> HttpResult | TransportFailure:
    message = signed.routed.message
    if _log.isEnabledFor(logging.INFO):
        log(
            _log,
            "info",
            "Attempting delivery",
            clientId=ctx.client_id,
            targetId=signed.routed.target_id,
            correlationId=signed.routed.envelope.correlation_id,
            sqsMessageId=message.message_id,
            receiveCount=message.receive_count,
        )
    limits = ctx.target_limits
    if limits is None:
        return await _send_in_flight(signed.request, ctx, on_started)
    target = limits.for_target(ctx.client_id, signed.routed.target_id)
    if not await target.acquire_within(limits.wait_bound_s):
        raise TargetBusy
    try:
        return await _send_in_flight(signed.request, ctx, on_started)
    finally:
        target.release()


async def _send_in_flight(
    request: OutgoingRequest, ctx: AttemptContext, on_started: Callable[[], None]
) -> HttpResult | TransportFailure:
    in_flight = ctx.in_flight
    await in_flight.acquire_within(None)
    try:
        on_started()
        return await ctx.transport.send(request)
    finally:
        in_flight.release()


def _decided(routed: Routed, result: HttpResult | TransportFailure, ctx: AttemptContext) -> Decided:
    now_ms = ctx.clock_ms()
    classification = classify(result, now_ms / 1000)
    outcome = decide(
        classification,
        receive_count=routed.message.receive_count,
        first_receive_ms=routed.message.first_receive_ms,
        now_ms=now_ms,
        max_retry_s=routed.target.delivery.max_retry_duration_seconds,
        rand=ctx.rand(),
    )
    return Decided(
        routed.message,
        outcome,
        routed.target_id,
        routed.envelope.correlation_id,
        kind=classification.kind,
        elapsed_ms=result.elapsed_ms,
    )


def _infrastructure(routed: Routed, code: str, error: BaseException, ctx: AttemptContext) -> Decided:
    if code == INTERNAL_ERROR:
        _log.exception("Unexpected error delivering record")
    outcome = infrastructure_retry(code, error, receive_count=routed.message.receive_count, rand=ctx.rand())
    return Decided(routed.message, outcome, routed.target_id, routed.envelope.correlation_id)


async def attempt(
    routed: Routed, application_id: str, ctx: AttemptContext, on_started: Callable[[], None] = _no_op
) -> Decided:
    """``on_started`` is called once the request holds its in-flight slots (it is on the wire), or, if it
    never gets there, when the attempt ends."""
    started = Once(on_started)
    try:
        signed = sign(routed, application_id, now_ms=ctx.clock_ms(), request_timeout_s=ctx.request_timeout_s)
        result = await _send(signed, ctx, started)
    except TargetBusy:
        return busy_deferred(routed, ctx)
    except SigningError as exc:
        return _infrastructure(routed, SIGNING_ERROR, exc, ctx)
    except TlsMaterialError as exc:
        return _infrastructure(routed, TLS_MATERIAL_ERROR, exc, ctx)
    except Exception as exc:
        return _infrastructure(routed, INTERNAL_ERROR, exc, ctx)
    finally:
        started()
    return _decided(routed, result, ctx)
