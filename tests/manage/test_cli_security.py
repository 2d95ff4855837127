"""Management writes under the security rules: the egress policy (SPEC P15) and the input rules."""

from __future__ import annotations

import pytest

from tests.manage.helpers import Cli

ADD = ("targets", "add", "--client", "c1", "--api-key", "k-1", "--rate-limit", "1")


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://169.254.170.2/v2/credentials",
        "https://127.0.0.1:6379/",
        "https://localhost/",
        "https://[::1]/",
        "https://2130706433/",
        "https://10.0.0.1/",
        "https://[fd00:ec2::254]/",
        "https://admin:pw@hooks.example/",
    ],
)
def test_targets_add_refuses_the_ssrf_list_and_stores_nothing(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    monkeypatch.delenv("ALLOWED_EGRESS_CIDRS", raising=False)
    result = cli(*ADD, "--endpoint", endpoint)
    assert result.rc == 1
    assert "targets.0.invocationEndpoint: " in result.err
    assert cli.snapshot() == {}


def test_the_allowance_lets_a_loopback_target_in(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_EGRESS_CIDRS", "127.0.0.0/8")
    assert cli(*ADD, "--endpoint", "https://127.0.0.1:8443/cb").rc == 0
    monkeypatch.setenv("ALLOWED_EGRESS_CIDRS", "127.0.0.0/8")
    assert cli(*ADD, "--endpoint", "https://169.254.169.254/", "--target", "t-meta").rc == 1


@pytest.mark.parametrize("bad", ["../../etc/passwd", "-rf", "a b", "x\u202ey", "a" * 65, "line\nbreak"])
def test_unsafe_ids_are_a_usage_error_before_any_store_access(cli: Cli, bad: str) -> None:
    with pytest.raises(SystemExit) as raised:
        cli("subscriptions", "list", f"--client={bad}")
    assert raised.value.code == 2
    err = cli.capsys.readouterr().err
    assert "must be 1-64 characters from A-Z a-z 0-9 _ -, starting with a letter or digit" in err
    with pytest.raises(SystemExit):
        cli(*ADD, "--endpoint", "https://hooks.example/", f"--target={bad}")
    assert cli.snapshot() == {}


@pytest.mark.parametrize(
    ("flags", "where"),
    [
        (("--api-key-header", "x" * 10_000), "targets.0.apiKey.headerName"),
        (("--api-key-header", "x api key"), "targets.0.apiKey.headerName"),
    ],
)
def test_header_rules_apply_to_targets_add(cli: Cli, flags: tuple[str, ...], where: str) -> None:
    result = cli(*ADD, "--endpoint", "https://hooks.example/", *flags)
    assert result.rc == 1
    assert f"{where}: " in result.err
    assert cli.snapshot() == {}


def test_an_api_key_with_crlf_or_20_mb_is_refused_and_never_echoed(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ("targets", "add", "--client", "c1", "--rate-limit", "1", "--endpoint", "https://hooks.example/")
    monkeypatch.setenv("CALLBACKS_TEST_KEY", "secret-value\r\nX-Injected: 1")
    crlf = cli(*base, "--api-key-env", "CALLBACKS_TEST_KEY")
    assert crlf.rc == 1
    assert "targets.0.apiKey.headerValue: Must not contain control characters" in crlf.err
    assert "secret-value" not in crlf.err + crlf.out
    monkeypatch.setenv("CALLBACKS_TEST_KEY", "k" * 20_000_000)
    huge = cli(*base, "--api-key-env", "CALLBACKS_TEST_KEY")
    assert huge.rc == 1
    assert "targets.0.apiKey.headerValue: Must be at most 4096 characters (got 20000000)" in huge.err
    assert len(huge.err) < 2000
    assert cli.snapshot() == {}


def test_clients_put_names_duplicate_keys(cli: Cli) -> None:
    doc = '{"clientId": "c1", "clientId": "c2", "subscriptions": [], "targets": []}'
    result = cli("clients", "put", "--json", doc)
    assert result.rc == 1
    assert "clientId: Duplicate key" in result.err
    assert cli.snapshot() == {}
