"""Pipeline decisions with fakes at our own seams (Transport, Gate, lookups): fast, deterministic checks of
ordering, jitter, isolation of failures and DLQ attributes. The real wiring is covered by the moto/Redis/
HTTPS tests next to this file."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from delivery.attempt import AttemptContext
from delivery.config.client import ClientConfig, parse_client_config
from delivery.config.lookups import AsyncLookup
from delivery.errors import GateUnavailable
from delivery.gate.limiter import Limiter
from delivery.gate.scripts import GateSettings
from delivery.models import (
    AdmitDecision,
    BreakerState,
    Disposition,
    HttpResult,
    OutgoingRequest,
    ReceivedMessage,
    RecordResult,
    TransportFailure,
)
from delivery.pipeline import Pipeline, PipelineDeps
from tests.runtime.conftest import ListSink, envelope

NOW_MS = 1_800_000_000_000
Handler = Callable[[OutgoingRequest], HttpResult | TransportFailure]


def _config(*targets: str) -> ClientConfig:
    return parse_client_config(
        {
            "clientId": "unit",
            "subscriptions": [],
            "targets": [
                {"targetId": t, "type": "API", "invocationEndpoint": f"https://example.test/{t}",
                 "invocationMethod": "POST", "invocationRateLimit": 10,
                 "apiKey": {"headerName": "x-api-key", "headerValue": "k"},
                 "delivery": {"circuitBreaker": {"enabled": True}}}
                for t in targets
            ],
        }
    )  # fmt: skip


class FakeTransport:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.sent: list[OutgoingRequest] = []

    async def send(self, request: OutgoingRequest) -> HttpResult | TransportFailure:
        self.sent.append(request)
        await asyncio.sleep(0)
        return self.handler(request)


class FakeGate:
    def __init__(self, admit: Callable[[int], AdmitDecision] | None = None, fail: bool = False) -> None:
        self._admit = admit or (lambda n: AdmitDecision(n, "some_allowed", 0, 10))
        self.fail = fail
        self.records: list[tuple[str, int, int]] = []

    async def admit(self, target_id: str, params: Any, batch_size: int, now_ms: Any = None) -> AdmitDecision:
        if self.fail:
            raise GateUnavailable("gate admit failed for target: Connection refused")
        return self._admit(batch_size)

    async def record(
        self, target_id: str, params: Any, consumed: int, failures: int, now_ms: Any = None
    ) -> Any:
        self.records.append((target_id, consumed, failures))
        return RecordResult(BreakerState.CLOSED, changed=False)


def _pipeline(
    handler: Handler, gate: FakeGate, *targets: str, rand: Callable[[], float] = lambda: 0.0
) -> Pipeline:
    config = _config(*targets)
    ctx = AttemptContext("unit", FakeTransport(handler), Limiter(4), clock_ms=lambda: NOW_MS, rand=rand)
    deps = PipelineDeps(
        attempts=ctx,
        configs=AsyncLookup(lambda _c: config),
        app_map=AsyncLookup(lambda _c: "app"),
        gate=gate,  # type: ignore[arg-type]
        gate_settings=GateSettings(),
        metrics_sink=ListSink(),
    )
    return Pipeline(deps)


def _messages(*bodies: str) -> list[ReceivedMessage]:
    return [
        ReceivedMessage(f"id-{i}", f"rh-{i}", b, 1, NOW_MS - 1000, NOW_MS - 1000)
        for i, b in enumerate(bodies)
    ]


def _ok(_r: OutgoingRequest) -> HttpResult:
    return HttpResult(200)


async def test_outcomes_come_back_in_input_order_across_targets() -> None:
    msgs = _messages(envelope("b"), "oops", envelope("a"), envelope("b"), envelope("zzz"))
    decided = await _pipeline(_ok, FakeGate(), "a", "b").process(msgs)
    assert [d.message.message_id for d in decided] == [m.message_id for m in msgs]
    assert [d.outcome.disposition for d in decided] == [
        Disposition.ACK, Disposition.DEAD_LETTER, Disposition.ACK, Disposition.ACK, Disposition.DEAD_LETTER
    ]  # fmt: skip
    assert [d.outcome.reason for d in decided if d.outcome.disposition is Disposition.DEAD_LETTER] == [
        "INVALID_MESSAGE", "TARGET_NOT_FOUND"
    ]  # fmt: skip


async def test_requeue_delays_are_jittered() -> None:
    rands = itertools.cycle([0.1, 0.5, 0.9])
    pipeline = _pipeline(lambda _r: HttpResult(503), FakeGate(), "a", rand=lambda: next(rands))
    msgs = [
        ReceivedMessage(f"id-{i}", "rh", envelope("a"), 3, NOW_MS - 1000, NOW_MS - 1000) for i in range(3)
    ]
    decided = await pipeline.process(msgs)
    delays = sorted(d.outcome.delay_s or 0 for d in decided)
    assert all(d.outcome.disposition is Disposition.RETRY for d in decided)
    assert len(set(delays)) == 3  # rc 3: ceiling 20 s, full jitter
    assert all(1 <= x < 20 for x in delays)


async def test_a_crashing_transport_requeues_only_that_record() -> None:
    def handler(request: OutgoingRequest) -> HttpResult:
        if request.target_id == "bad":
            raise RuntimeError("boom")
        return HttpResult(200)

    gate = FakeGate()
    decided = await _pipeline(handler, gate, "good", "bad").process(
        _messages(envelope("bad"), envelope("good"))
    )
    bad, good = decided
    assert (bad.outcome.disposition, bad.outcome.reason) == (Disposition.RETRY, "INTERNAL_ERROR")
    assert bad.outcome.dlq_attributes == ()
    assert good.outcome.disposition is Disposition.ACK
    assert ("bad", 0, 0) not in gate.records  # nothing was sent for it: the breaker is not fed


async def test_gate_failure_requeues_without_sending() -> None:
    pipeline = _pipeline(_ok, FakeGate(fail=True), "a")
    decided = await pipeline.process(_messages(envelope("a"), envelope("a")))
    assert {(d.outcome.disposition, d.outcome.reason) for d in decided} == {
        (Disposition.RETRY, "GATE_UNAVAILABLE")
    }
    assert pipeline.deps.attempts.transport.sent == []  # type: ignore[attr-defined]


async def test_partial_admission_defers_the_rest_as_rate_limited() -> None:
    gate = FakeGate(lambda n: AdmitDecision(1, "some_allowed", 500, 10))
    rands = itertools.cycle([0.1, 0.9])
    pipeline = _pipeline(_ok, gate, "a", rand=lambda: next(rands))
    decided = await pipeline.process(_messages(*(envelope("a") for _ in range(3))))
    assert [d.outcome.disposition for d in decided] == [Disposition.ACK, Disposition.DEFER, Disposition.DEFER]
    assert {d.outcome.reason for d in decided[1:]} == {"rate_limited"}
    assert decided[1].outcome.delay_s != decided[2].outcome.delay_s  # jitter per record, not per batch
    assert gate.records == [("a", 1, 0)]


async def test_breaker_counts_429_and_5xx_but_not_4xx() -> None:
    statuses = iter([429, 503, 404, 200])
    gate = FakeGate()
    pipeline = _pipeline(lambda _r: HttpResult(next(statuses)), gate, "a")
    await pipeline.process(_messages(*(envelope("a") for _ in range(4))))
    assert gate.records == [("a", 4, 2)]


async def test_dead_letters_carry_every_attribute() -> None:
    pipeline = _pipeline(lambda _r: HttpResult(400, body_excerpt='{"message":"nope"}'), FakeGate(), "a")
    [d] = await pipeline.process(_messages(envelope("a")))
    attrs = dict(d.outcome.dlq_attributes)
    assert attrs == {
        "ERROR_CODE": "HTTP_CLIENT_ERROR", "ERROR_MESSAGE": "nope", "STATUS_CODE": "400", "CLIENT_ID": "unit",
        "TARGET_ID": "a", "RETRY_ATTEMPTS": "1", "FIRST_RECEIVED_AT": "2027-01-15T07:59:59.000Z",
    }  # fmt: skip
