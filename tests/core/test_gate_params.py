"""Pure parts of the gate: settings from the environment, per-target parameters, reply parsing."""

from __future__ import annotations

import math

import pytest

from delivery.config.client import CallbackTarget
from delivery.errors import ConfigError
from delivery.gate.reply import GateReplyError, parse_admit_reply, parse_record_reply
from delivery.gate.scripts import GateSettings, TargetGateParams
from delivery.models import AdmitDecision, BreakerState, RecordResult


def target(rate: float, **delivery: object) -> CallbackTarget:
    return CallbackTarget.model_validate(
        {
            "targetId": "t",
            "type": "API",
            "invocationEndpoint": "https://127.0.0.1:8443/t",
            "invocationMethod": "POST",
            "invocationRateLimit": rate,
            "apiKey": {"headerName": "x-api-key", "headerValue": "k"},
            "delivery": delivery,
        }
    )


def test_settings_defaults_are_spec_c1() -> None:
    s = GateSettings()
    assert (s.burst_capacity, s.recovery_period_ms, s.sample_period_ms) == (2250, 600_000, 300_000)
    assert (s.failure_threshold, s.min_attempts, s.cooldown_period_ms) == (0.3, 5, 120_000)
    assert math.isclose(s.probe_rate, 1 / 60)
    assert s.key("abc") == "ep:{abc}"


def test_settings_from_env_reads_reference_variables() -> None:
    s = GateSettings.from_env(
        {
            "TOKEN_BUCKET_BURST_CAPACITY": "100",
            "CB_COOLDOWN_PERIOD_MS": "2000",
            "CB_PROBE_RATE_LIMIT": "0.5",
            "CB_FAILURE_THRESHOLD": "0.25",
            "CB_MIN_ATTEMPTS": "",  # empty = default
            "GATE_KEY_TTL_MS": "60000",
        }
    )
    assert (s.burst_capacity, s.cooldown_period_ms, s.probe_rate) == (100, 2000, 0.5)
    assert (s.failure_threshold, s.min_attempts, s.key_ttl_ms) == (0.25, 5, 60000)


def test_settings_from_env_lists_every_bad_value() -> None:
    with pytest.raises(ConfigError) as info:
        GateSettings.from_env({"CB_MIN_ATTEMPTS": "five", "CB_SAMPLE_PERIOD_MS": "x"})
    assert "CB_MIN_ATTEMPTS: expected a number, got 'five'" in str(info.value)
    assert "CB_SAMPLE_PERIOD_MS" in str(info.value)
    with pytest.raises(ConfigError, match="cooldown_period_ms, key_ttl_ms"):
        GateSettings(cooldown_period_ms=0, key_ttl_ms=-1)
    with pytest.raises(ConfigError, match="failure_threshold"):
        GateSettings(failure_threshold=1.5)


@pytest.mark.parametrize(
    ("rate", "capacity"), [(10, 50), (100, 500), (1000, 2250), (2, 10), (0.1, 1), (1 / 60, 1)]
)
def test_capacity_is_rate_times_five_capped_and_at_least_one(rate: float, capacity: float) -> None:
    p = TargetGateParams.for_target(target(rate), GateSettings())
    assert p.capacity == capacity
    assert p.rate == rate
    assert p.cb_enabled is False


def test_target_overrides_win_over_settings() -> None:
    t = target(
        20,
        rateLimit={"burst": 7},
        circuitBreaker={
            "enabled": True,
            "failureThreshold": 0.5,
            "minAttempts": 3,
            "samplePeriodSeconds": 10,
            "cooldownSeconds": 2,
            "recoverySeconds": 4,
        },
    )
    p = TargetGateParams.for_target(t, GateSettings())
    assert p == TargetGateParams(
        rate=20, capacity=7, cb_enabled=True, probe_rate=1 / 60, failure_threshold=0.5, min_attempts=3,
        sample_period_ms=10_000, cooldown_ms=2000, recovery_ms=4000,
    )  # fmt: skip


def test_probe_rate_never_exceeds_the_target_rate() -> None:
    assert TargetGateParams.for_target(target(0.01), GateSettings()).probe_rate == 0.01


@pytest.mark.parametrize(
    ("reply", "decision"),
    [
        ([b"3", b"some_allowed", b"0", b"2"], AdmitDecision(3, "some_allowed", 0, 2)),
        (
            ["0", "rate_limited", "1250", "0.016666666666666666"],
            AdmitDecision(0, "rate_limited", 1250, 1 / 60),
        ),
        ([b"0", b"circuit_open", b"90000", b"0"], AdmitDecision(0, "circuit_open", 90000, 0)),
    ],
)
def test_parse_admit_reply(reply: list[object], decision: AdmitDecision) -> None:
    assert parse_admit_reply(reply) == decision


@pytest.mark.parametrize(
    "reply",
    [
        None,
        [],
        [b"1", b"maybe", b"0", b"1"],
        [b"x", b"some_allowed", b"0", b"1"],
        [b"1", b"some_allowed", b"-1", b"1"],
    ],
)
def test_parse_admit_reply_rejects_malformed(reply: object) -> None:
    with pytest.raises(GateReplyError):
        parse_admit_reply(reply)


def test_parse_record_reply() -> None:
    assert parse_record_reply([b"closed_recovery", b"1"]) == RecordResult(BreakerState.CLOSED_RECOVERY, True)
    assert parse_record_reply(["open", "0"]) == RecordResult(BreakerState.OPEN, False)
    with pytest.raises(GateReplyError, match="unknown breaker state"):
        parse_record_reply([b"ajar", b"0"])
    with pytest.raises(GateReplyError):
        parse_record_reply([{}, b"0"])
