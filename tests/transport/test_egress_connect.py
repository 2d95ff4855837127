"""The egress policy on the wire: a refused target gets no byte, not even a TCP handshake.

A plain TCP listener on 127.0.0.1 records every connection it accepts. After a refused send, a control
connection of our own is made and awaited: connections are accepted in arrival order, so had the refused
send connected, it would have been recorded first.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from aiohttp.abc import AbstractResolver, ResolveResult

from delivery.models import OutgoingRequest, TransportFailure
from delivery.transport.egress import EgressPolicy
from delivery.transport.https import HttpsTransport


@dataclass
class Recorder:
    port: int = 0
    accepted: list[bytes] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await asyncio.wait_for(reader.read(64), timeout=5)
        except TimeoutError:
            first = b""
        self.accepted.append(first)
        self.changed.set()
        writer.close()

    async def control(self) -> list[bytes]:
        """Connect once ourselves, wait until that connection is recorded; returns everything recorded."""
        _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(b"control")
        await writer.drain()
        while not any(first == b"control" for first in self.accepted):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), timeout=10)
        writer.close()
        return self.accepted


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    server = await asyncio.start_server(rec.handle, "127.0.0.1", 0)
    rec.port = server.sockets[0].getsockname()[1]
    yield rec
    server.close()
    await server.wait_closed()


class FixedResolver(AbstractResolver):
    """Answers every name with the given addresses (what a hostile DNS server would answer)."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.lookups = 0

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        self.lookups += 1
        return [
            ResolveResult(
                hostname=host,
                host=a,
                port=port,
                family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for a in self.addresses
        ]

    async def close(self) -> None:
        return None


def _request(url: str) -> OutgoingRequest:
    return OutgoingRequest(
        url=url,
        body=b'{"secret":"payload"}',
        headers=(("content-type", "application/json"), ("x-api-key", "k-123")),
        target_id="t",
        timeout_s=5.0,
        connect_timeout_s=2.0,
    )


async def _send(url: str, **kwargs: Any) -> TransportFailure:
    transport = HttpsTransport(**kwargs)
    try:
        result = await transport.send(_request(url))
    finally:
        await transport.close()
    assert isinstance(result, TransportFailure), result
    return result


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "017700000001"]
)
async def test_a_refused_literal_or_loopback_name_gets_no_connection(recorder: Recorder, host: str) -> None:
    failure = await _send(f"https://{host}:{recorder.port}/hook")
    assert failure.code == "EGRESS_DENIED"
    assert failure.permanent
    assert await recorder.control() == [b"control"]


async def test_a_name_that_resolves_to_loopback_is_refused_after_dns(recorder: Recorder) -> None:
    """DNS rebinding: the name passes the URL check; the connector refuses the address it resolves to."""
    resolver = FixedResolver("127.0.0.1")
    failure = await _send(f"https://rebind.example:{recorder.port}/hook", resolver=resolver)
    assert failure.code == "EGRESS_DENIED"
    assert "127.0.0.1 is loopback" in failure.message
    assert resolver.lookups == 1  # the check ran after resolution
    assert await recorder.control() == [b"control"]


async def test_every_new_connection_is_checked_not_only_the_first(
    recorder: Recorder, tls_ca: trustme.CA
) -> None:
    """With loopback allowed the first connection goes through; the same pool then refuses a host whose
    name now resolves to a denied address (the rebinding case: the check is per connection)."""
    resolver = FixedResolver("127.0.0.1")
    transport = HttpsTransport(
        extra_ca_pem=tls_ca.cert_pem.bytes().decode(), egress=EgressPolicy.allowing("127.0.0.0/8"),
        resolver=resolver,
    )  # fmt: skip
    try:
        first = await transport.send(_request(f"https://good.example:{recorder.port}/hook"))
        assert isinstance(first, TransportFailure)  # the recorder speaks no TLS, but it was reached
        resolver.addresses = ("10.0.0.1",)
        second = await transport.send(_request(f"https://other.example:{recorder.port}/hook"))
    finally:
        await transport.close()
    assert isinstance(second, TransportFailure)
    assert second.code == "EGRESS_DENIED"
    recorded = await recorder.control()
    assert len(recorded) == 2
    assert recorded[0].startswith(b"\x16\x03")  # one TLS ClientHello, then control


async def test_mixed_answers_connect_only_to_the_permitted_address(recorder: Recorder) -> None:
    resolver = FixedResolver("10.0.0.1", "169.254.169.254", "127.0.0.1")
    failure = await _send(
        f"https://mixed.example:{recorder.port}/",
        resolver=resolver,
        egress=EgressPolicy.allowing("127.0.0.0/8"),
    )
    assert failure.code != "EGRESS_DENIED"  # 127.0.0.1 was permitted and tried (it speaks no TLS)
    recorded = await recorder.control()
    assert len(recorded) == 2


async def test_userinfo_is_refused_before_anything(recorder: Recorder) -> None:
    failure = await _send(
        f"https://admin:pw@127.0.0.1:{recorder.port}/", egress=EgressPolicy.allowing("127.0.0.0/8")
    )
    assert failure.code == "EGRESS_DENIED"
    assert "userinfo" in failure.message
    assert await recorder.control() == [b"control"]
