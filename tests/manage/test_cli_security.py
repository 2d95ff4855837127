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
