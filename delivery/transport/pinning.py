"""SPKI pinning on every new TLS connection, before any request byte is written (SPEC G.3, P11).

aiohttp's public ``Fingerprint`` pins the whole certificate, not the SubjectPublicKeyInfo, so the check
hooks the connector instead: :class:`PinnedConnector` overrides ``TCPConnector._create_connection`` (the
one place every new connection passes through, unchanged from aiohttp 3.9 to 3.14), computes
``base64(SHA-256(SPKI DER))`` of the server leaf and compares it with every configured pin. A connector
holds connections for one pin set only, so a pinned request can never reuse a connection that was
opened without (or with other) pins. The same hook tells the transport whether a request opened a new
connection (:data:`CONNECTION_NOTE`).

The connector also enforces the egress policy (``delivery.transport.egress``, SPEC P15) on every new
connection, after DNS resolution and before any socket is opened: ``_resolve_host`` (the one place both IP
literals and resolved names pass through, DNS cache hits included) keeps only the permitted addresses, and
raises :class:`EgressDenied` when none is left, so a name that rebinds to a denied address gets no byte.
"""

from __future__ import annotations

import hmac
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from delivery.transport.egress import EGRESS_DENIED, EgressPolicy
from delivery.transport.spki import spki_pin_of_der

if TYPE_CHECKING:
    from aiohttp.abc import ResolveResult
    from aiohttp.client_proto import ResponseHandler

PINNING_ERROR_CODE = "ERR_CERT_PINNING_FAILED"


@dataclass(slots=True)
class ConnectionNote:
    """Set by the connector when the current request had to open a new connection (and how long it took)."""

    new_connection: bool = False
    connect_ms: float | None = None


# The request's task sets a note; aiohttp opens the connection in that same task (``connector.connect``
# awaits ``_create_connection`` directly), so the connector can mark it. Cheaper than a TraceConfig, which
# makes aiohttp await a dozen trace signals on every request.
CONNECTION_NOTE: ContextVar[ConnectionNote | None] = ContextVar("callbacks_connection_note", default=None)


@dataclass(frozen=True, slots=True)
class PeerTls:
    """What the last new connection of a connector negotiated (kept for ``callbacks send``; cheap refs)."""

    protocol: str | None
    cipher: str | None
    leaf_der: bytes | None

    @property
    def leaf_pin(self) -> str | None:
        return spki_pin_of_der(self.leaf_der) if self.leaf_der else None


def peer_tls_of_transport(transport: Any) -> PeerTls | None:
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    return PeerTls(
        ssl_object.version(), cipher[0] if cipher else None, ssl_object.getpeercert(binary_form=True)
    )


class SpkiPinMismatch(aiohttp.ClientConnectionError):
    """The server leaf's SPKI hash matches none of the pins (reference message and code)."""

    code = PINNING_ERROR_CODE

    def __init__(self, expected: tuple[str, ...], actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(pinning_message(expected, actual))


class EgressDenied(aiohttp.ClientConnectionError):
    """Every address of the target is refused by the egress policy; nothing was sent."""

    code = EGRESS_DENIED

    def __init__(self, host: str, problems: list[str]) -> None:
        self.host = host
        detail = "; ".join(dict.fromkeys(problems)) or "no address"
        super().__init__(f"egress to {host} denied: {detail}")


def pinning_message(expected: tuple[str, ...], actual: str) -> str:
    wanted = " or ".join(f"'{pin}'" for pin in expected)
    return f"Certificate pinning failed: expected SPKI hash {wanted}, got '{actual}'"


def pin_matches(actual: str, pins: tuple[str, ...]) -> bool:
    """Constant-time comparison against every pin (no early exit on the first match)."""
    found = False
    for pin in pins:
        found |= hmac.compare_digest(actual.encode(), pin.strip().encode())
    return found


def leaf_pin_of_transport(transport: Any) -> str:
    """SPKI pin of the peer leaf certificate of an established TLS transport."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        raise SpkiPinMismatch((), "<no peer certificate>")
    return spki_pin_of_der(der)


class PinnedConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` that rejects new connections whose leaf SPKI is not pinned (no pins: no check)."""

    def __init__(
        self,
        *,
        spki_pins: tuple[str, ...] = (),
        egress: EgressPolicy | None = None,
        keep_peer: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_peer = keep_peer  # remember what each new connection negotiated (``last_peer``)
        self.spki_pins = tuple(spki_pins)
        self.egress = egress if egress is not None else EgressPolicy()
        self.checked_connections = 0
        self.last_peer: PeerTls | None = None

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> list[ResolveResult]:
        problem = self.egress.host_problem(host)
        if problem is not None:
            raise EgressDenied(host, [problem])
        resolved = await super()._resolve_host(host, port, traces=traces)
        allowed, problems = self.egress.permitted(entry["host"] for entry in resolved)
        if not allowed:
            raise EgressDenied(host, problems)
        return [entry for entry in resolved if entry["host"] in allowed]

    async def _create_connection(
        self,
        req: aiohttp.ClientRequest,
        traces: list[Any],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 -- aiohttp's signature, overridden as is
    ) -> ResponseHandler:
        started_s = time.perf_counter()
        proto = await super()._create_connection(req, traces, timeout)
        note = CONNECTION_NOTE.get()
        if note is not None:
            note.new_connection = True
            note.connect_ms = (time.perf_counter() - started_s) * 1000
        if self.keep_peer:
            self.last_peer = peer_tls_of_transport(proto.transport)
        if self.spki_pins:
            self._check(proto)
        return proto

    def _check(self, proto: ResponseHandler) -> None:
        transport = proto.transport
        try:
            actual = leaf_pin_of_transport(transport)
        except SpkiPinMismatch:
            proto.close()
            raise SpkiPinMismatch(self.spki_pins, "<no peer certificate>") from None
        self.checked_connections += 1
        if not pin_matches(actual, self.spki_pins):
            proto.close()
            raise SpkiPinMismatch(self.spki_pins, actual)
