"""TLS behaviour of HttpsTransport against real handshakes over loopback (trustme CAs made at test time)."""

from __future__ import annotations

import datetime as dt

import pytest
import trustme

from delivery.models import HttpResult, TransportFailure
from delivery.transport.egress import EgressPolicy
from delivery.transport.https import HttpsTransport
from tests.transport.conftest import ServeFn
from tests.transport.peers import pin_of, request, self_signed_pem, server_context

LOOPBACK = EgressPolicy.allowing("127.0.0.0/8")  # the tests deliver to peers on 127.0.0.1


def _failure(result: HttpResult | TransportFailure) -> TransportFailure:
    assert isinstance(result, TransportFailure), result
    return result


async def test_success_without_mtls(serve: ServeFn, transport: HttpsTransport, tls_server_cert) -> None:
    peer = await serve(server_context(tls_server_cert))
    result = await transport.send(request(peer.url()))
    assert isinstance(result, HttpResult)
    assert (result.status, result.new_connection, result.body_excerpt) == (200, True, "")
    assert [s.client_cert for s in peer.seen] == [False]


async def test_success_with_mtls_presents_the_client_cert(
    serve: ServeFn, mtls_transport: HttpsTransport, tls_server_cert, tls_ca
) -> None:
    peer = await serve(server_context(tls_server_cert, client_ca=tls_ca))
    result = await mtls_transport.send(request(peer.url(), mtls=True))
    assert isinstance(result, HttpResult)
    assert result.status == 200
    assert [s.client_cert for s in peer.seen] == [True]


async def test_client_cert_not_presented_to_non_mtls_targets(
    serve: ServeFn, mtls_transport: HttpsTransport, tls_server_cert, tls_ca
) -> None:
    """Same transport, target without mtls.enabled: no client certificate goes out, so a server requiring
    one rejects us (TLS 1.3: after the handshake) with the transient client-certificate code."""
    peer = await serve(server_context(tls_server_cert, client_ca=tls_ca))
    failure = _failure(await mtls_transport.send(request(peer.url(), mtls=False)))
    assert failure.code == "ECLIENTCERT_REJECTED"
    assert not failure.permanent
    assert peer.seen == []


async def test_client_cert_from_an_unknown_ca_is_rejected_transiently(
    serve: ServeFn, mtls_transport: HttpsTransport, tls_server_cert
) -> None:
    other_ca = trustme.CA()
    peer = await serve(server_context(tls_server_cert, client_ca=other_ca))
    failure = _failure(await mtls_transport.send(request(peer.url(), mtls=True)))
    assert (failure.code, failure.permanent) == ("ECLIENTCERT_REJECTED", False)


async def test_expired_server_cert(serve: ServeFn, transport: HttpsTransport, tls_ca: trustme.CA) -> None:
    now = dt.datetime.now(dt.UTC)
    leaf = tls_ca.issue_cert(
        "127.0.0.1", not_before=now - dt.timedelta(days=3), not_after=now - dt.timedelta(days=1)
    )
    peer = await serve(server_context(leaf))
    failure = _failure(await transport.send(request(peer.url())))
    assert (failure.code, failure.permanent) == ("CERT_HAS_EXPIRED", True)
    assert "expired" in failure.message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_wrong_hostname(
    serve: ServeFn, transport: HttpsTransport, tls_ca: trustme.CA, host: str
) -> None:
    leaf = tls_ca.issue_cert("webhook.example.org")
    peer = await serve(server_context(leaf))
    url = peer.url().replace("127.0.0.1", host)
    failure = _failure(await transport.send(request(url)))
    assert (failure.code, failure.permanent) == ("ERR_TLS_CERT_ALTNAME_INVALID", True)
    assert "mismatch" in failure.message


async def test_unknown_ca(serve: ServeFn, transport: HttpsTransport) -> None:
    leaf = trustme.CA().issue_cert("127.0.0.1")
    peer = await serve(server_context(leaf))
    failure = _failure(await transport.send(request(peer.url())))
    assert (failure.code, failure.permanent) == ("UNABLE_TO_GET_ISSUER_CERT_LOCALLY", True)


async def test_self_signed_leaf(serve: ServeFn, transport: HttpsTransport) -> None:
    peer = await serve(server_context(chain_pem=self_signed_pem()))
    failure = _failure(await transport.send(request(peer.url())))
    assert (failure.code, failure.permanent) == ("DEPTH_ZERO_SELF_SIGNED_CERT", True)


async def test_untrusted_root_sent_in_chain(serve: ServeFn, transport: HttpsTransport) -> None:
    unknown = trustme.CA()
    leaf = unknown.issue_cert("127.0.0.1")
    chain = leaf.private_key_and_cert_chain_pem.bytes() + unknown.cert_pem.bytes()
    peer = await serve(server_context(chain_pem=chain))
    failure = _failure(await transport.send(request(peer.url())))
    assert (failure.code, failure.permanent) == ("SELF_SIGNED_CERT_IN_CHAIN", True)


@pytest.mark.parametrize("mtls", [False, True])
async def test_pin_match(
    serve: ServeFn, mtls_transport: HttpsTransport, tls_server_cert, tls_ca, mtls: bool
) -> None:
    peer = await serve(server_context(tls_server_cert, client_ca=tls_ca if mtls else None))
    result = await mtls_transport.send(request(peer.url(), mtls=mtls, spki_pins=(pin_of(tls_server_cert),)))
    assert isinstance(result, HttpResult)
    assert result.status == 200


async def test_pin_mismatch_after_leaf_key_rotation(
    serve: ServeFn, transport: HttpsTransport, tls_server_cert, tls_ca: trustme.CA
) -> None:
    rotated = tls_ca.issue_cert("127.0.0.1")  # same name and CA, new key: still valid, but not pinned
    peer = await serve(server_context(rotated))
    pinned = pin_of(tls_server_cert)
    failure = _failure(await transport.send(request(peer.url(), spki_pins=(pinned,))))
    assert (failure.code, failure.permanent) == ("ERR_CERT_PINNING_FAILED", True)
    assert failure.message == (
        f"Certificate pinning failed: expected SPKI hash '{pinned}', got '{pin_of(rotated)}'"
    )
    assert peer.seen == []  # checked before any request byte was written


async def test_backup_pin_accepted(
    serve: ServeFn, transport: HttpsTransport, tls_server_cert, tls_ca
) -> None:
    peer = await serve(server_context(tls_server_cert))
    old_pin = pin_of(tls_ca.issue_cert("127.0.0.1"))
    result = await transport.send(request(peer.url(), spki_pins=(old_pin, pin_of(tls_server_cert))))
    assert isinstance(result, HttpResult)
    assert result.status == 200


async def test_pinned_target_never_reuses_an_unpinned_connection(
    serve: ServeFn, transport: HttpsTransport, tls_server_cert
) -> None:
    peer = await serve(server_context(tls_server_cert))
    unpinned = await transport.send(request(peer.url()))
    assert isinstance(unpinned, HttpResult)
    assert unpinned.status == 200
    wrong = _failure(await transport.send(request(peer.url(), spki_pins=("AAAA" + "A" * 40,))))
    assert wrong.code == "ERR_CERT_PINNING_FAILED"
    right = await transport.send(request(peer.url(), spki_pins=(pin_of(tls_server_cert),)))
    assert isinstance(right, HttpResult)
    assert right.new_connection  # its own pool, so the pin was checked on a fresh connection
    again = await transport.send(request(peer.url()))
    assert isinstance(again, HttpResult)
    assert not again.new_connection  # the unpinned pool kept its connection
    assert len(peer.peers) == 2


def test_pinning_and_new_connection_marking_on_uvloop(tls_ca: trustme.CA, tls_server_cert) -> None:
    """The worker runs on uvloop: the connector hook must see the peer certificate there too."""
    import uvloop
    from aiohttp import web

    from tests.transport.peers import Peer, make_app

    async def scenario() -> tuple[HttpResult | TransportFailure, ...]:
        runner = web.AppRunner(make_app(Peer("")), shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(tls_server_cert)).start()
        url = f"https://127.0.0.1:{runner.addresses[0][1]}/ok"
        transport = HttpsTransport(extra_ca_pem=tls_ca.cert_pem.bytes().decode(), egress=LOOPBACK)
        try:
            good = (pin_of(tls_server_cert),)
            return (
                await transport.send(request(url, spki_pins=good)),
                await transport.send(request(url, spki_pins=good)),
                await transport.send(request(url, spki_pins=("bm90LXRoZS1waW4=",))),
            )
        finally:
            await transport.close()
            await runner.cleanup()

    first, second, wrong = uvloop.run(scenario())
    assert isinstance(first, HttpResult)
    assert isinstance(second, HttpResult)
    assert (first.status, first.new_connection, second.new_connection) == (200, True, False)
    assert _failure(wrong).code == "ERR_CERT_PINNING_FAILED"


async def test_renewed_client_certificate_is_used_after_the_reload(
    serve: ServeFn, tls_server_cert, tls_ca: trustme.CA, tmp_path
) -> None:
    """Material reloaded near expiry => a new SSL context and pool; the server sees the renewed cert."""
    from delivery.transport.material import TlsSettings
    from delivery.transport.provider import TlsProvider

    now = dt.datetime.now(dt.UTC)
    old = tls_ca.issue_cert("old@example.org", not_after=now + dt.timedelta(hours=30))
    new = tls_ca.issue_cert("new@example.org", not_after=now + dt.timedelta(days=30))
    bundle = tmp_path / "client.pem"
    bundle.write_bytes(old.private_key_and_cert_chain_pem.bytes())
    clock = {"ms": int(now.timestamp() * 1000)}
    provider = TlsProvider(TlsSettings(cert_file=str(bundle)), clock_ms=lambda: clock["ms"])
    transport = HttpsTransport(provider, extra_ca_pem=tls_ca.cert_pem.bytes().decode(), egress=LOOPBACK)
    ctx = server_context(tls_server_cert, client_ca=tls_ca)
    peer = await serve(ctx)
    try:
        first = await transport.send(request(peer.url(), mtls=True))
        bundle.write_bytes(new.private_key_and_cert_chain_pem.bytes())
        clock["ms"] += 7 * 3_600_000  # within 24 h of the old cert's expiry
        second = await transport.send(request(peer.url(), mtls=True))
    finally:
        await transport.close()
    assert isinstance(first, HttpResult)
    assert isinstance(second, HttpResult)
    assert (first.status, second.status, second.new_connection) == (200, 200, True)
    assert provider.loads == 2
    subjects = [s.client_subject for s in peer.seen]
    assert subjects == ["old@example.org", "new@example.org"]


async def test_blank_pins_fail_closed(serve: ServeFn, transport: HttpsTransport, tls_server_cert) -> None:
    peer = await serve(server_context(tls_server_cert))
    failure = _failure(await transport.send(request(peer.url(), spki_pins=(" ",))))
    assert failure.code == "ERR_CERT_PINNING_FAILED"
    assert peer.seen == []
