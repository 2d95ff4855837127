"""Retry policy (SPEC E + P5/P6/P7): delays and dispositions, with injected randomness and clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.backoff import (
    MAX_DELAY_S,
    WINDOW_EXHAUSTED,
    decide,
    decide_denied,
    decide_expired,
    denial_delay_s,
    transient_delay_s,
    window_exhausted,
)
from delivery.models import AdmitDecision, Classification, Disposition, Outcome, ResultKind

T0_MS = 1_767_225_600_000
RANDS = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)


@pytest.mark.parametrize(
    ("receive_count", "rand", "delay"),
    [
        (1, 0.0, 1),
        (1, 0.5, 2),
        (1, 0.999, 4),
        (2, 0.999, 9),
        (3, 0.999, 19),
        (6, 0.999, 159),
        (7, 0.999, 299),
        (100, 0.999, 299),
        (10**9, 0.5, 150),
        (0, 0.999, 4),  # defensive: treated as the first receive
    ],
)
def test_transient_delay_reference_examples(receive_count: int, rand: float, delay: int) -> None:
    assert transient_delay_s(receive_count, rand) == delay


@given(st.integers(min_value=1, max_value=10**6), RANDS)
def test_transient_delay_is_full_jitter_within_ceiling(receive_count: int, rand: float) -> None:
    ceiling = min(5 * 2 ** min(receive_count - 1, 16), 300)
    delay = transient_delay_s(receive_count, rand)
    assert 1 <= delay <= max(1, ceiling - 1)


@pytest.mark.parametrize(
    ("retry_after_ms", "rand", "delay"),
    [
        (0, 0.0, 1),
        (1, 0.0, 1),
        (400, 0.999, 2),  # 1 s + up to 1 s of spread
        (1000, 0.5, 2),
        (1001, 0.0, 2),
        (30000, 0.0, 30),
        (120000, 0.999, 179),
        (10**12, 0.5, MAX_DELAY_S),
    ],
)
def test_denial_delay_is_retry_after_plus_jitter(retry_after_ms: float, rand: float, delay: int) -> None:
    assert denial_delay_s(retry_after_ms, rand) == delay


@given(st.floats(min_value=0, max_value=1e10), RANDS)
def test_denial_delay_never_earlier_than_the_gate_says(retry_after_ms: float, rand: float) -> None:
    delay = denial_delay_s(retry_after_ms, rand)
    assert 1 <= delay <= MAX_DELAY_S
    assert delay * 1000 >= min(retry_after_ms, MAX_DELAY_S * 1000)


def test_window_boundary_is_inclusive() -> None:
    assert not window_exhausted(T0_MS + 9_999, T0_MS, 10)
    assert window_exhausted(T0_MS + 10_000, T0_MS, 10)


def _decide(
    classification: Classification, *, now_ms: int = T0_MS, rc: int = 1, rand: float = 0.5
) -> Outcome:
    return decide(
        classification, receive_count=rc, first_receive_ms=T0_MS, now_ms=now_ms, max_retry_s=7200, rand=rand
    )


def test_success_acks() -> None:
    assert _decide(Classification(ResultKind.SUCCESS, status_code=200)) == Outcome(
        Disposition.ACK, "delivered", status_code=200
    )


def test_permanent_dead_letters_with_error_attributes() -> None:
    outcome = _decide(Classification(ResultKind.PERMANENT, "HTTP_CLIENT_ERROR", 400, "Forced status 400"))
    assert outcome == Outcome(
        Disposition.DEAD_LETTER,
        "HTTP_CLIENT_ERROR",
        error_code="HTTP_CLIENT_ERROR",
        error_message="Forced status 400",
        status_code=400,
    )


def test_transient_retries_with_jittered_backoff() -> None:
    outcome = _decide(Classification(ResultKind.TRANSIENT, "HTTP_SERVER_ERROR", 503), rc=3, rand=0.5)
    assert outcome == Outcome(Disposition.RETRY, "HTTP_SERVER_ERROR", delay_s=10, status_code=503)


@pytest.mark.parametrize(("retry_after_s", "delay"), [(120.0, 120), (0.0, 2), (None, 2), (0.4, 1)])
def test_429_honours_retry_after_else_backoff(retry_after_s: float | None, delay: int) -> None:
    c = Classification(ResultKind.RATE_LIMITED, "HTTP_RATE_LIMITED", 429, retry_after_s=retry_after_s)
    outcome = _decide(c, rand=0.5)
    assert (outcome.disposition, outcome.delay_s, outcome.status_code) == (Disposition.RETRY, delay, 429)


def test_429_retry_after_beyond_window_dead_letters_at_once() -> None:
    c = Classification(ResultKind.RATE_LIMITED, "HTTP_RATE_LIMITED", 429, "slow down", retry_after_s=3600.0)
    outcome = _decide(c, now_ms=T0_MS + 3_600_001)
    assert outcome.disposition is Disposition.DEAD_LETTER
    assert outcome.error_code == WINDOW_EXHAUSTED
    assert outcome.status_code == 429
    assert (
        outcome.error_message
        == "Retry window of 7200s exhausted; last error: HTTP_RATE_LIMITED 429: slow down"
    )
    assert _decide(c, now_ms=T0_MS + 3_599_999).disposition is Disposition.RETRY


def test_429_retry_after_over_sqs_maximum_dead_letters() -> None:
    c = Classification(ResultKind.RATE_LIMITED, "HTTP_RATE_LIMITED", 429, retry_after_s=50_000.0)
    assert _decide(c).error_code == WINDOW_EXHAUSTED


def test_transient_whose_next_attempt_is_past_the_window_keeps_the_precise_code() -> None:
    c = Classification(ResultKind.TRANSIENT, "ECONNREFUSED", None, "connection refused")
    outcome = _decide(c, now_ms=T0_MS + 7_199_000, rand=0.5)
    assert outcome.disposition is Disposition.DEAD_LETTER
    assert (
        outcome.error_message
        == "Retry window of 7200s exhausted; last error: ECONNREFUSED: connection refused"
    )


def _denied(
    decision: AdmitDecision, *, now_ms: int = T0_MS, window_s: float = 7200, rand: float = 0.0
) -> Outcome:
    return decide_denied(
        decision, receive_count=5, first_receive_ms=T0_MS, now_ms=now_ms, max_retry_s=window_s, rand=rand
    )


def test_denied_records_are_deferred_by_the_gate_retry_after() -> None:
    assert _denied(AdmitDecision(0, "circuit_open", 30_000, 0)) == Outcome(
        Disposition.DEFER, "circuit_open", delay_s=30
    )
    assert _denied(AdmitDecision(0, "rate_limited", 500, 2.0)) == Outcome(
        Disposition.DEFER, "rate_limited", delay_s=1
    )
    assert _denied(AdmitDecision(3, "some_allowed", 1500, 2.0), rand=0.99).delay_s == 3


def test_denied_record_past_its_window_is_dead_lettered() -> None:
    outcome = _denied(AdmitDecision(0, "circuit_open", 120_000, 0), window_s=10)
    assert outcome.disposition is Disposition.DEAD_LETTER
    assert outcome.error_code == WINDOW_EXHAUSTED
    assert (
        outcome.error_message == "Retry window of 10s exhausted; last error: admission denied (circuit_open)"
    )


def test_pre_admission_expiry() -> None:
    outcome = decide_expired(10)
    assert (outcome.disposition, outcome.error_code) == (Disposition.DEAD_LETTER, WINDOW_EXHAUSTED)


KINDS = st.sampled_from(list(ResultKind))


@given(KINDS, st.integers(1, 500), st.integers(0, 50_000_000), RANDS, st.none() | st.floats(0, 1e6))
def test_decide_invariants(
    kind: ResultKind, rc: int, elapsed_ms: int, rand: float, retry_after: float | None
) -> None:
    c = Classification(kind, None if kind is ResultKind.SUCCESS else "CODE", 500, retry_after_s=retry_after)
    outcome = decide(
        c, receive_count=rc, first_receive_ms=T0_MS, now_ms=T0_MS + elapsed_ms, max_retry_s=7200, rand=rand
    )
    if outcome.disposition is Disposition.RETRY:
        assert outcome.delay_s is not None
        assert 1 <= outcome.delay_s <= MAX_DELAY_S
        assert elapsed_ms + outcome.delay_s * 1000 < 7_200_000  # the next attempt still fits in the window
    if outcome.disposition is Disposition.DEAD_LETTER:
        assert outcome.error_code
    assert (outcome.disposition is Disposition.ACK) == (kind is ResultKind.SUCCESS)
