"""Fixtures for the transport tests: real aiohttp HTTPS peers on 127.0.0.1 with trustme certificates."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from delivery.transport.egress import EgressPolicy
from delivery.transport.https import HttpsTransport
from delivery.transport.material import TlsSettings
from delivery.transport.provider import TlsProvider
from tests.transport.peers import Peer, make_app

ServeFn = Callable[[ssl.SSLContext], Awaitable[Peer]]

LOOPBACK = EgressPolicy.allowing("127.0.0.0/8")  # the tests deliver to peers on 127.0.0.1


@pytest.fixture
async def serve() -> AsyncIterator[ServeFn]:
    """``peer = await serve(server_ssl_context)`` starts an HTTPS server on 127.0.0.1:0."""
    started: list[tuple[web.AppRunner, Peer]] = []

    async def go(ctx: ssl.SSLContext) -> Peer:
        peer = Peer("")
        runner = web.AppRunner(make_app(peer), shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        port = runner.addresses[0][1]
        peer.base = f"https://127.0.0.1:{port}"
        started.append((runner, peer))
        return peer

    yield go
    for runner, peer in reversed(started):
        peer.release.set()
        await runner.cleanup()


@pytest.fixture
async def transport(tls_ca: trustme.CA) -> AsyncIterator[HttpsTransport]:
    """No client certificate; trusts the session test CA in addition to the system store."""
    t = HttpsTransport(extra_ca_pem=tls_ca.cert_pem.bytes().decode(), egress=LOOPBACK)
    yield t
    await t.close()


@pytest.fixture
def client_pem_files(tmp_path: Path, tls_client_cert: trustme.LeafCert) -> tuple[Path, Path]:
    cert = tmp_path / "client.crt"
    key = tmp_path / "client.key"
    cert.write_bytes(b"".join(b.bytes() for b in tls_client_cert.cert_chain_pems))
    key.write_bytes(tls_client_cert.private_key_pem.bytes())
    return cert, key


@pytest.fixture
async def mtls_transport(
    tls_ca: trustme.CA, client_pem_files: tuple[Path, Path], tmp_path: Path
) -> AsyncIterator[HttpsTransport]:
    """Client certificate from PEM files, CA from a PEM file (added to the system store)."""
    ca = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca))
    settings = TlsSettings(
        cert_file=str(client_pem_files[0]), key_file=str(client_pem_files[1]), ca_file=str(ca)
    )
    t = HttpsTransport(TlsProvider(settings), egress=LOOPBACK)
    yield t
    await t.close()
