"""The egress policy as a pure function: every form from issue 19's SSRF list, IPv6 wrappers, allowances."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.transport.egress import EgressPolicy, EgressPolicyError, denied_range, embedded_ipv4

STRICT = EgressPolicy()
LOOPBACK = EgressPolicy.allowing("127.0.0.0/8")

DENIED_URLS = [
    "https://169.254.169.254/latest/meta-data/",  # AWS IMDS
    "https://169.254.170.2/v2/credentials",  # ECS task credentials
    "https://[fd00:ec2::254]/",  # IMDS over IPv6
    "https://127.0.0.1:6379/",
    "https://127.1.2.3/",
    "https://localhost/",
    "https://LOCALHOST./",
    "https://api.localhost/",
    "https://[::1]/",
    "https://0.0.0.0/",
    "https://[::]/",
    "https://2130706433/",  # decimal 127.0.0.1
    "https://0x7f.1/",  # hex
    "https://0x7f000001/",
    "https://017700000001/",  # octal
    "https://0177.0.0.1/",
    "https://127.1/",
    "https://10.0.0.1/",
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",  # CGNAT
    "https://169.254.1.1/",
    "https://224.0.0.1/",
    "https://255.255.255.255/",
    "https://240.0.0.1/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fe80::1%25eth0]/",
    "https://[ff02::1]/",
    "https://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "https://[::ffff:a9fe:a9fe]/",  # mapped metadata
    "https://[::127.0.0.1]/",  # IPv4-compatible
    "https://[64:ff9b::10.0.0.1]/",  # NAT64
    "https://[2002:a9fe:a9fe::]/",  # 6to4 wrapping the metadata address
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "https://user:pass@example.com/",  # userinfo
    "https://user@example.com/",
]
PUBLIC_URLS = [
    "https://example.com/hook",
    "https://8.8.8.8/",
    "https://[2606:4700:4700::1111]/",
    "https://[::ffff:8.8.8.8]/",
    "https://hooks.example.org:8443/a@b",  # '@' in the path is not userinfo
    "https://1e100.net/",  # a name whose labels merely contain digits
]


@pytest.mark.parametrize("url", DENIED_URLS)
def test_denied_without_an_allowance(url: str) -> None:
    assert STRICT.url_problem(url) is not None


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_targets_pass(url: str) -> None:
    assert STRICT.url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8443/",
        "https://localhost/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::127.0.0.2]/",
    ],
)
def test_the_loopback_allowance_opens_loopback_in_every_form(url: str) -> None:
    assert LOOPBACK.url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    ["https://[::1]/", "https://10.0.0.1/", "https://2130706433/", "https://u:p@127.0.0.1/"],
)
def test_the_loopback_allowance_opens_nothing_else(url: str) -> None:
    assert LOOPBACK.url_problem(url) is not None


def test_no_allowance_opens_a_metadata_address() -> None:
    everything = EgressPolicy.allowing("0.0.0.0/0", "::/0")
    for url in ("https://169.254.169.254/", "https://169.254.170.2/", "https://[fd00:ec2::254]/"):
        problem = everything.url_problem(url)
        assert problem is not None
        assert "always denied" in problem
    assert everything.url_problem("https://10.1.2.3/") is None


def test_the_message_names_the_range_and_the_setting() -> None:
    assert STRICT.url_problem("https://10.0.0.1/") == (
        "10.0.0.1 is private (RFC 1918); egress to it is denied (allow it with ALLOWED_EGRESS_CIDRS)"
    )


def test_setting_parses_comma_separated_cidrs_and_rejects_garbage() -> None:
    policy = EgressPolicy.from_text(" 127.0.0.0/8 , ::1/128,")
    assert [str(n) for n in policy.allowed] == ["127.0.0.0/8", "::1/128"]
    assert EgressPolicy.from_text("").allowed == ()
    with pytest.raises(EgressPolicyError, match="ALLOWED_EGRESS_CIDRS: 'localhost' is not a CIDR"):
        EgressPolicy.from_text("localhost")
    with pytest.raises(EgressPolicyError, match=r"10\.0\.0\.1/8"):
        EgressPolicy.from_text("10.0.0.1/8")  # host bits set: almost surely a typo


def test_resolved_addresses_are_split_in_order() -> None:
    allowed, problems = LOOPBACK.permitted(["::1", "127.0.0.1", "10.0.0.1", "not-an-ip"])
    assert allowed == ["127.0.0.1"]
    assert len(problems) == 3


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_and_its_ipv6_wrappers_get_the_same_verdict(address: ipaddress.IPv4Address) -> None:
    verdict = denied_range(address) is None
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(address))
    six_to_four = ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80))
    for wrapper in (mapped, nat64, six_to_four):
        assert embedded_ipv4(wrapper) == address
        assert (denied_range(wrapper) is None) == verdict


@given(st.ip_addresses())
def test_every_non_global_address_is_denied(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Cross-check with the standard library: whatever Python calls non-global is denied by us too."""
    if not address.is_global and not (address.is_multicast and address.version == 6):
        assert denied_range(address) is not None
