"""Profiles as data: targets from client configs, lanes, fault plans, profile choice (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delivery.envelope import decode_envelope
from loadtests.message_ids import LOAD_PREFIX
from loadtests.payloads import envelope_body
from loadtests.profiles import PROFILES, choose_profile, faults_for, lanes_for
from loadtests.targets import LoadTarget, TargetSet, select_targets, targets_of_config

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "loadtests"


@pytest.fixture(scope="module")
def all_targets() -> list[LoadTarget]:
    targets = []
    for path in sorted(FIXTURES.glob("*.json")):
        config = json.loads(path.read_text(encoding="utf-8"))
        targets += targets_of_config(config, f"https://sqs.example/{config['clientId']}")
    return targets


def test_the_load_fixtures_cover_every_profile(all_targets: list[LoadTarget]) -> None:
    plain = select_targets(all_targets, TargetSet.PLAIN)
    mtls = select_targets(all_targets, TargetSet.MTLS)
    assert plain
    assert mtls
    assert all(t.mtls and t.pinning for t in mtls)
    assert not any(t.mtls or t.circuit_breaker for t in plain)
    for profile in PROFILES.values():
        chosen = select_targets(all_targets, profile.target_set)
        assert lanes_for(profile, chosen, all_targets)


def test_targets_carry_queue_subscription_and_flags() -> None:
    config = {
        "clientId": "c1",
        "subscriptions": [{"subscriptionId": "s1", "targetIds": ["t1"]}],
        "targets": [
            {"targetId": "t1", "delivery": {"circuitBreaker": {"enabled": True}}},
            {"targetId": "t2", "delivery": {"mtls": {"enabled": True, "certPinning": {"enabled": True}}}},
            {"no": "id"},
        ],
    }
    t1, t2 = targets_of_config(config, "q-url")
    assert t1 == LoadTarget("c1", "q-url", "t1", "s1", circuit_breaker=True)
    assert (t2.subscription_id, t2.mtls, t2.pinning, t2.path, t2.key) == (
        "load-t2",
        True,
        True,
        "/t2",
        "c1/t2",
    )


def test_explicit_targets_win_and_unknown_ones_are_named(all_targets: list[LoadTarget]) -> None:
    picked = select_targets(all_targets, TargetSet.PLAIN, ["load-mtls/load-mtls-a", "load-plain-b"])
    assert [t.key for t in picked] == ["load-mtls/load-mtls-a", "load-plain/load-plain-b"]
    with pytest.raises(ValueError, match=r"unknown target\(s\) nope; the environment has: load-breaker/"):
        select_targets(all_targets, TargetSet.PLAIN, ["nope"])
    with pytest.raises(ValueError, match="no mtls target"):
        select_targets([t for t in all_targets if not t.mtls], TargetSet.MTLS)


def test_failing_target_lanes_split_the_traffic(all_targets: list[LoadTarget]) -> None:
    profile = PROFILES["failing-target"]
    lanes = lanes_for(profile, select_targets(all_targets, profile.target_set), all_targets)
    failing = [lane for lane in lanes if not lane.deliverable]
    assert len(failing) == 1
    assert failing[0].prefix == "force-500"
    assert failing[0].target.circuit_breaker
    assert failing[0].weight == pytest.approx(0.2)
    assert sum(lane.weight for lane in lanes) == pytest.approx(1.0)
    assert all(lane.prefix == LOAD_PREFIX for lane in lanes if lane.deliverable)
    with pytest.raises(ValueError, match=r"circuitBreaker\.enabled"):
        lanes_for(profile, select_targets(all_targets, TargetSet.PLAIN), [])


def test_fault_plans(all_targets: list[LoadTarget]) -> None:
    plain = select_targets(all_targets, TargetSet.PLAIN)
    [slow] = faults_for(PROFILES["slow-receiver"], plain, rate_msgs_s=60, duration_s=30)
    assert (slow.path, slow.start_s, slow.end_s) == (plain[0].path, 0.0, 30.0)
    assert slow.script == {"steps": [{"delayMs": 750.0, "times": None}]}
    storm = faults_for(PROFILES["rate-limit-storm"], plain, rate_msgs_s=60, duration_s=30)
    assert {p.path for p in storm} == {t.path for t in plain}
    per_target = 60 / len(plain)
    assert storm[0].script == {
        "rateLimit": {"perSecond": int(per_target / 2), "burst": int(per_target / 2), "retryAfterS": 1}
    }
    assert (storm[0].start_s, storm[0].end_s) == pytest.approx((10.0, 20.0))
    assert faults_for(PROFILES["steady"], plain, 60, 30) == []


@pytest.mark.parametrize(
    ("requested", "available", "chosen"),
    [
        (None, ["spike", "steady"], "steady"),
        (None, ["spike"], "spike"),
        ("spike", ["spike", "steady"], "spike"),
    ],
)
def test_profile_choice(requested: str | None, available: list[str], chosen: str) -> None:
    assert choose_profile(requested, available) == chosen


def test_profile_choice_errors_say_what_is_loaded() -> None:
    with pytest.raises(ValueError, match="profile 'nope' is not loaded \\(loaded: steady"):
        choose_profile("nope", ["steady"])
    with pytest.raises(ValueError, match="choose one with --load-profile"):
        choose_profile(None, ["spike", "step-load"])


def test_bodies_decode_with_the_engine_envelope_decoder() -> None:
    body = envelope_body("load-abcd1234-1700000000000-1", 1700000000000, subscription_id="s1", target_id="t1")
    envelope = decode_envelope(body)
    assert (envelope.target_id, envelope.subscription_id) == ("t1", "s1")
    assert envelope.correlation_id == "load-abcd1234-1700000000000-1"
    assert envelope.payload["data"][0]["attributes"]["timestamp"] == "2023-11-14T22:13:20.000Z"
