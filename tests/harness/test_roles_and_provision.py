"""Roles are derived from what each fixture config is; the local stack rewrites endpoints and pins."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from harness.children import MockInfo
from harness.provision import load_fixture_configs, rewrite_config
from harness.roles import assign_roles

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "clients"
MAIN = MockInfo("https://127.0.0.1:1111", "http://127.0.0.1:2222", "", "MAINPIN", "optional")
REQUIRED = MockInfo("https://127.0.0.1:3333", "http://127.0.0.1:4444", "", "REQPIN", "required")


def _target(tid: str, **delivery: Any) -> dict[str, Any]:
    return {
        "targetId": tid, "type": "API", "invocationEndpoint": f"https://example.org/{tid}",
        "invocationMethod": "POST", "invocationRateLimit": delivery.pop("rate", 10),
        "apiKey": {"headerName": "x-api-key", "headerValue": "k"}, "delivery": delivery,
    }  # fmt: skip


def _client(cid: str, targets: list[dict[str, Any]], fan: bool = False) -> dict[str, Any]:
    ids = [t["targetId"] for t in targets]
    sub = {"subscriptionId": f"{cid}-s", "subscriptionType": "MessageStatus"}
    sub["messageStatuses"] = ["DELIVERED"]
    subs = [{**sub, "targetIds": ids if fan else ids[:1]}]
    return {"clientId": cid, "subscriptions": subs, "targets": targets}


def test_roles_go_to_the_most_specific_client() -> None:
    configs = {
        "p": _client("p", [_target("p1")]),
        "f": _client("f", [_target("f1"), _target("f2")], fan=True),
        "r": _client("r", [_target("r1", rate=2)]),
        "cb": _client("cb", [_target("c1", circuitBreaker={"enabled": True}, maxRetryDurationSeconds=30)]),
        "sr": _client("sr", [_target("s1", maxRetryDurationSeconds=10)]),
        "m": _client("m", [_target("m1", mtls={"enabled": True, "certPinning": {"enabled": True}})]),
    }
    roles = dict(assign_roles(configs))
    assert roles == {
        "plain": "p", "fanout": "f", "rate_limited": "r", "circuit_breaker": "cb", "short_retry": "sr",
        "mtls": "m",
    }  # fmt: skip


def test_rewrite_points_targets_at_the_local_mocks() -> None:
    configs = load_fixture_configs(FIXTURES)
    required = configs["harness-mtls-required"]
    before = copy.deepcopy(required)
    out = rewrite_config(required, MAIN, REQUIRED)
    assert required == before  # the fixture is not modified
    endpoints = {t["targetId"]: t["invocationEndpoint"] for t in out["targets"]}
    assert endpoints["harness-no-client-cert"] == "https://127.0.0.1:3333/harness-no-client-cert"


def test_pins_are_injected_except_on_the_wrong_pin_fixture() -> None:
    configs = load_fixture_configs(FIXTURES)
    wrong = rewrite_config(configs["harness-wrong-pin"], MAIN, REQUIRED)["targets"][0]
    assert wrong["invocationEndpoint"] == "https://127.0.0.1:1111/harness-wrong-pin-target"
    assert wrong["delivery"]["mtls"]["certPinning"]["spkiHash"] != "MAINPIN"
    pinned = _client(
        "m", [_target("m1", mtls={"enabled": True, "certPinning": {"enabled": True, "spkiHash": "x"}})]
    )
    out = rewrite_config(pinned, MAIN, REQUIRED)["targets"][0]
    assert out["delivery"]["mtls"]["certPinning"]["spkiHash"] == "MAINPIN"
