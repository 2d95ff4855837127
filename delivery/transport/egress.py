"""Egress policy: which addresses a callback may be sent to (SPEC P15). Pure: ``ipaddress`` only.

A target is refused when its URL carries userinfo, when its host is a legacy numeric IPv4 form
(``2130706433``, ``0x7f.1``, ``017700000001``, ``127.1``), or when the address it names (or, at connect
time, every address its name resolves to) lies in a denied range: loopback, unspecified, private
(RFC 1918), shared/CGNAT, link-local, unique-local, site-local, multicast, reserved, documentation,
benchmarking, and the cloud metadata endpoints. IPv6 forms that carry an IPv4 address (IPv4-mapped,
IPv4-compatible, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by the
IPv4 address inside; Teredo (``2001::/32``) hides its client address and local-use NAT64
(``64:ff9b:1::/48``) spreads it over two fields, so both are refused outright.

``ALLOWED_EGRESS_CIDRS`` (comma-separated CIDRs) is the one opt-in allowance: an address inside an
allowed network passes, except a cloud metadata address, which no allowance opens.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

EGRESS_DENIED = "EGRESS_DENIED"
ALLOWED_EGRESS_CIDRS = "ALLOWED_EGRESS_CIDRS"
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_N = ipaddress.ip_network
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "fd00:ec2::23")
)
DENIED_RANGES: tuple[tuple[IpNetwork, str], ...] = (
    (_N("0.0.0.0/8"), "unspecified ('this network')"),
    (_N("10.0.0.0/8"), "private (RFC 1918)"),
    (_N("100.64.0.0/10"), "shared address space (CGNAT)"),
    (_N("127.0.0.0/8"), "loopback"),
    (_N("169.254.0.0/16"), "link-local"),
    (_N("172.16.0.0/12"), "private (RFC 1918)"),
    (_N("192.0.0.0/24"), "reserved (IETF protocol assignments)"),
    (_N("192.0.2.0/24"), "reserved (documentation)"),
    (_N("192.88.99.0/24"), "reserved (6to4 relay anycast)"),
    (_N("192.168.0.0/16"), "private (RFC 1918)"),
    (_N("198.18.0.0/15"), "reserved (benchmarking)"),
    (_N("198.51.100.0/24"), "reserved (documentation)"),
    (_N("203.0.113.0/24"), "reserved (documentation)"),
    (_N("224.0.0.0/4"), "multicast"),
    (_N("240.0.0.0/4"), "reserved (incl. broadcast)"),
    (_N("::/128"), "unspecified"),
    (_N("::1/128"), "loopback"),
    (_N("100::/64"), "reserved (discard)"),
    (_N("64:ff9b:1::/48"), "local-use NAT64"),
    (_N("2001::/32"), "Teredo tunnel (hides the IPv4 address)"),
    (_N("2001::/23"), "reserved (IETF protocol assignments)"),
    (_N("2001:db8::/32"), "reserved (documentation)"),
    (_N("3fff::/20"), "reserved (documentation)"),
    (_N("5f00::/16"), "reserved (SRv6 SIDs)"),
    (_N("fc00::/7"), "unique-local"),
    (_N("fe80::/10"), "link-local"),
    (_N("fec0::/10"), "site-local (deprecated)"),
    (_N("ff00::/8"), "multicast"),
)
_NAT64 = _N("64:ff9b::/96")
_SIX_TO_FOUR = _N("2002::/16")
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


class EgressPolicyError(ValueError):
    """``ALLOWED_EGRESS_CIDRS`` holds something that is not a CIDR."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), else None."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    packed = address.packed
    if address in _NAT64 or (packed[:12] == bytes(12) and int(address) > 1):
        return ipaddress.IPv4Address(packed[12:])  # NAT64 well-known prefix or IPv4-compatible (::a.b.c.d)
    return None


def denied_range(address: IpAddress) -> str | None:
    """Why ``address`` is refused (ignoring allowances), or None for a public unicast address."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata endpoint"
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = denied_range(inner)
            return f"{reason} (IPv4 {inner} inside IPv6)" if reason else None
    for network, label in DENIED_RANGES:
        if address.version == network.version and address in network:
            return label
    return None


def parse_address(text: str) -> IpAddress | None:
    """An IP literal (brackets and an IPv6 zone id stripped), or None when ``text`` is not one."""
    host = text.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_numeric_ipv4_form(host: str) -> bool:
    """A host that inet_aton would read as IPv4 (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``):
    its last label is a decimal, octal or hex number (no DNS top-level domain is numeric)."""
    last = host.rstrip(".").rsplit(".", 1)[-1].lower()
    if last.startswith("0x"):
        last = last[2:]
        return last == "" or all(c in "0123456789abcdef" for c in last)
    return last.isdigit()


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Deny the ranges above unless an address lies in ``allowed`` (metadata addresses: always denied)."""

    allowed: tuple[IpNetwork, ...] = ()

    @classmethod
    def from_text(cls, text: str | None) -> EgressPolicy:
        """Parse ``ALLOWED_EGRESS_CIDRS``: comma-separated CIDRs (``127.0.0.0/8, ::1/128``); empty: none."""
        networks: list[IpNetwork] = []
        for item in (text or "").split(","):
            if item.strip():
                try:
                    networks.append(ipaddress.ip_network(item.strip(), strict=True))
                except ValueError as exc:
                    raise EgressPolicyError(
                        f"{ALLOWED_EGRESS_CIDRS}: {item.strip()!r} is not a CIDR ({exc})"
                    ) from None
        return cls(tuple(networks))

    @classmethod
    def allowing(cls, *cidrs: str) -> EgressPolicy:
        return cls.from_text(",".join(cidrs))

    def address_problem(self, address: IpAddress) -> str | None:
        """None when the worker may connect to ``address``, else why not."""
        reason = denied_range(address)
        if reason is None:
            return None
        if reason.startswith("a cloud metadata"):
            return f"{address} is {reason}; egress to it is always denied"
        if self._allows(address):
            return None
        return f"{address} is {reason}; egress to it is denied (allow it with {ALLOWED_EGRESS_CIDRS})"

    def _allows(self, address: IpAddress) -> bool:
        candidates: list[IpAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and (inner := embedded_ipv4(address)) is not None:
            candidates.append(inner)
        return any(a.version == n.version and a in n for a in candidates for n in self.allowed)

    def host_problem(self, host: str) -> str | None:
        """Checks a URL's host before any lookup: IP literals, numeric IPv4 forms and loopback names."""
        name = host.strip().lower().rstrip(".")
        address = parse_address(name)
        if address is not None:
            return self.address_problem(address)
        if is_numeric_ipv4_form(name):
            return f"host {host!r} is a numeric IPv4 form; write the address as a dotted quad (a.b.c.d)"
        if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
            problem = self.address_problem(ipaddress.IPv4Address("127.0.0.1"))
            return f"host {host!r} always resolves to loopback: {problem}" if problem else None
        return None

    def url_problem(self, url: str) -> str | None:
        """None when ``url`` passes the checks that need no DNS lookup, else why it is refused."""
        try:
            parts = urlsplit(url.strip())
            host = parts.hostname
        except ValueError:
            return None  # not a URL at all: the schema / transport report that themselves
        if "@" in parts.netloc:
            return "a target URL must not carry userinfo (user:password@host)"
        return self.host_problem(host) if host else None

    def permitted(self, addresses: Iterable[str]) -> tuple[list[str], list[str]]:
        """Split resolved addresses into (allowed, problems), keeping the resolver's order."""
        allowed: list[str] = []
        problems: list[str] = []
        for text in addresses:
            address = parse_address(text)
            problem = "unparsable address" if address is None else self.address_problem(address)
            if problem is None:
                allowed.append(text)
            else:
                problems.append(problem)
        return allowed, problems


__all__ = [
    "ALLOWED_EGRESS_CIDRS",
    "DENIED_RANGES",
    "EGRESS_DENIED",
    "METADATA_ADDRESSES",
    "EgressPolicy",
    "EgressPolicyError",
    "denied_range",
    "embedded_ipv4",
]
