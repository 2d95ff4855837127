"""``callbacks config validate`` over the shipped fixtures and the invalid examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delivery.cli.main import main
from delivery.config.client import parse_client_config

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = sorted((ROOT / "fixtures" / "clients").glob("*.json"))
INVALID = sorted((ROOT / "fixtures" / "invalid").glob("*.json"))
MOCK_CLIENTS = {
    "mock-client-plain",
    "mock-client-mtls",
    "mock-client-rate-limited",
    "mock-client-circuit-breaker",
    "mock-client-short-retry",
    "mock-client-fanout",
}


def test_every_client_fixture_is_valid_even_in_strict_mode(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_EGRESS_CIDRS", "127.0.0.0/8")  # the fixtures target the local mock
    assert {p.stem for p in CLIENTS} >= MOCK_CLIENTS
    assert main(["config", "validate", "--strict", *map(str, CLIENTS)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:-1] == [f"{p}: OK" for p in CLIENTS]
    assert out[-1] == f"{len(CLIENTS)} valid, 0 invalid"


def test_without_the_allowance_loopback_endpoints_are_refused_with_their_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLOWED_EGRESS_CIDRS", raising=False)
    fanout = ROOT / "fixtures" / "clients" / "mock-client-fanout.json"
    assert main(["config", "validate", str(fanout)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{fanout}: targets.{i}.invocationEndpoint: 127.0.0.1 is loopback; egress to it is denied "
        "(allow it with ALLOWED_EGRESS_CIDRS)"
        for i in (0, 1)
    ]


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://169.254.169.254/latest",
        "https://169.254.170.2/v2",
        "https://127.0.0.1:6379/",
        "https://localhost/",
        "https://[::1]/",
        "https://2130706433/",
        "https://10.0.0.1/",
        "https://user:pw@hooks.example/",
        "https://[::ffff:169.254.169.254]/",
    ],
)
def test_the_ssrf_list_is_refused_at_config_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    monkeypatch.delenv("ALLOWED_EGRESS_CIDRS", raising=False)
    doc = json.loads((ROOT / "fixtures" / "clients" / "mock-client-plain.json").read_text())
    doc["targets"][0]["invocationEndpoint"] = endpoint
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    assert main(["config", "validate", str(path)]) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{path}: targets.0.invocationEndpoint: ")


def test_a_malformed_allowance_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_EGRESS_CIDRS", "127.0.0.0/8,loopback")
    assert main(["config", "validate", str(CLIENTS[0])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "ALLOWED_EGRESS_CIDRS: 'loopback' is not a CIDR" in err


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_examples_fail_with_several_paths(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "validate", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 3
    assert all(line.startswith(f"{path}: ") for line in lines)
    paths = {line.removeprefix(f"{path}: ").split(": ")[0] for line in lines}
    assert len(paths) >= 3


def test_output_names_file_path_and_reference_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = CLIENTS[0]
    assert (
        main(["config", "validate", str(good), str(ROOT / "fixtures" / "invalid" / "invalid-targets.json")])
        == 1
    )
    out = capsys.readouterr().out
    assert f"{good}: OK" in out
    assert "invalid-targets.json: targets.0.invocationEndpoint: Expected HTTPS URL" in out
    assert (
        "invalid-targets.json: targets.0.delivery.mtls.certPinning.spkiHash: "
        "spkiHash is required when certPinning is enabled"
    ) in out
    assert "1 valid, 1 invalid" in out


def test_strict_reports_unknown_keys_default_ignores_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(CLIENTS[0].read_text())
    doc["targets"][0]["colour"] = "blue"
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(doc))
    assert main(["config", "validate", str(path)]) == 0
    assert main(["config", "validate", "--strict", str(path)]) == 1
    assert f"{path}: targets.0.colour: Unrecognized key" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{oops", "invalid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        (None, "cannot read file"),
    ],
)
def test_unreadable_or_non_json_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "broken.json"
    if content is not None:
        path.write_text(content)
    assert main(["config", "validate", str(path)]) == 1
    assert capsys.readouterr().out.startswith(f"{path}: {message}")


def test_fixture_roles_have_the_intended_knobs() -> None:
    configs = {
        p.stem: parse_client_config(json.loads(p.read_text())) for p in CLIENTS if p.stem in MOCK_CLIENTS
    }
    for config in configs.values():
        for target in config.targets:
            assert target.invocation_endpoint == f"https://127.0.0.1:8443/{target.target_id}"
        kinds = {s.subscription_type for s in config.subscriptions}
        assert kinds == {"MessageStatus", "ChannelStatus"}
    assert configs["mock-client-rate-limited"].targets[0].invocation_rate_limit == 2
    assert configs["mock-client-short-retry"].targets[0].delivery.max_retry_duration_seconds == 10
    assert configs["mock-client-mtls"].targets[0].delivery.mtls.cert_pinning.enabled
    cb = configs["mock-client-circuit-breaker"].targets[0].delivery.circuit_breaker
    knobs = (cb.enabled, cb.cooldown_seconds, cb.recovery_seconds, cb.sample_period_seconds, cb.min_attempts)
    # a 5 s cooldown: long enough that a probe sent without waiting for it is told apart on a busy machine
    assert knobs == (True, 5, 2, 10, 5)
    fanout = configs["mock-client-fanout"]
    assert len(fanout.subscriptions[0].target_ids) == 2
