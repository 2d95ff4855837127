"""Every broken handshake against a running mock: a journal entry with its reason, and a real TLS alert."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mock_webhook import CertBundle, MockWebhook
from mock_webhook.handshake import parse_client_hello

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
EXPIRED_AT = NOW - dt.timedelta(days=3)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def mock_certs(ca: trustme.CA) -> CertBundle:
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("client@example.org", common_name="Good Client")
    return CertBundle(
        ca.cert_pem.bytes(),
        b"".join(b.bytes() for b in server.cert_chain_pems),
        server.private_key_pem.bytes(),
        b"".join(b.bytes() for b in client.cert_chain_pems),
        client.private_key_pem.bytes(),
    )


@pytest.fixture
async def mock(mock_certs: CertBundle) -> AsyncIterator[MockWebhook]:
    async with MockWebhook(mtls="required", certs=mock_certs) as server:
        yield server


def _client_ctx(
    ca_pem: bytes, cert: trustme.LeafCert | None = None, tmp: Path | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    if cert is not None:
        assert tmp is not None
        cert.private_key_and_cert_chain_pem.write_to_path(str(tmp / "client.pem"))
        ctx.load_cert_chain(tmp / "client.pem")
    return ctx


def _server_auth_only_cert(ca: trustme.CA, tmp: Path) -> Path:
    """A client certificate from the right CA whose extended key usage allows only serverAuth."""
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Server-only Client")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    path = tmp / "server-only.pem"
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


async def _exchange(port: int, ctx: ssl.SSLContext | None) -> str:
    """Connect, send one request, read the answer; returns the answer or the client-side error."""
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=ctx, server_hostname="localhost" if ctx else None
        )
        writer.write(b"POST /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}")
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return data.decode("latin-1")
    except (ssl.SSLError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"


async def _only_failure(mock: MockWebhook) -> dict[str, object]:
    [rec] = await mock.wait_for_handshakes(1, timeout_s=10)
    assert mock.requests() == []
    return rec.to_json()


async def test_no_client_certificate(mock: MockWebhook, mock_certs: CertBundle) -> None:
    answer = await _exchange(mock.port, _client_ctx(mock_certs.ca_pem))
    rec = await _only_failure(mock)
    assert rec["reason"] == "no client certificate (this mock requires mTLS)"
    assert rec["clientCertPresented"] is False
    assert rec["sni"] == "localhost"
    assert rec["tlsVersionOffered"] == "TLSv1.3"
    assert str(rec["peer"]).startswith("127.0.0.1:")
    assert "CERTIFICATE_REQUIRED" in answer  # the TLS 1.3 alert reached the client


async def test_unknown_ca(mock: MockWebhook, mock_certs: CertBundle, tmp_path: Path) -> None:
    stranger = trustme.CA().issue_cert("client@example.org", common_name="Stranger")
    answer = await _exchange(mock.port, _client_ctx(mock_certs.ca_pem, stranger, tmp_path))
    rec = await _only_failure(mock)
    assert str(rec["reason"]).startswith("unknown CA: the client certificate is not issued by the mock's CA")
    assert rec["clientCertPresented"] is True
    assert "UNKNOWN_CA" in answer


@pytest.mark.parametrize("tls12", [False, True], ids=["tls13", "tls12"])
async def test_expired_client_certificate(
    mock: MockWebhook, mock_certs: CertBundle, ca: trustme.CA, tmp_path: Path, tls12: bool
) -> None:
    old = ca.issue_cert("client@example.org", common_name="Old Client", not_after=EXPIRED_AT)
    ctx = _client_ctx(mock_certs.ca_pem, old, tmp_path)
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    answer = await _exchange(mock.port, ctx)
    rec = await _only_failure(mock)
    assert "CERTIFICATE_EXPIRED" in answer
    if not tls12:
        assert str(rec["reason"]).startswith("client certificate expired")
        return
    assert rec["reason"] == f"client certificate expired on {EXPIRED_AT:%Y-%m-%d %H:%M:%S} UTC"
    cert = rec["clientCert"]
    assert isinstance(cert, dict)
    assert "Old Client" in cert["subject"]
    assert cert["issuer"] == x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject.rfc4514_string()
    assert cert["notAfter"].startswith(EXPIRED_AT.date().isoformat())
    assert len(cert["spki"]) == 44


async def test_not_yet_valid(
    mock: MockWebhook, mock_certs: CertBundle, ca: trustme.CA, tmp_path: Path
) -> None:
    later = NOW + dt.timedelta(days=2)
    young = ca.issue_cert("client@example.org", not_before=later, not_after=later + dt.timedelta(days=9))
    ctx = _client_ctx(mock_certs.ca_pem, young, tmp_path)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    await _exchange(mock.port, ctx)
    rec = await _only_failure(mock)
    assert rec["reason"] == f"client certificate not yet valid (valid from {later:%Y-%m-%d %H:%M:%S} UTC)"


async def test_wrong_key_usage(
    mock: MockWebhook, mock_certs: CertBundle, ca: trustme.CA, tmp_path: Path
) -> None:
    ctx = ssl.create_default_context(cadata=mock_certs.ca_pem.decode())
    ctx.load_cert_chain(_server_auth_only_cert(ca, tmp_path))
    answer = await _exchange(mock.port, ctx)
    rec = await _only_failure(mock)
    assert (
        rec["reason"] == "wrong key usage: the client certificate is not valid for TLS client authentication"
    )
    assert "UNSUPPORTED_CERTIFICATE" in answer


async def test_plain_http_on_the_tls_port(mock: MockWebhook) -> None:
    answer = await _exchange(mock.port, None)
    rec = await _only_failure(mock)
    assert rec["reason"] == "plain HTTP on a TLS port (use https://)"
    assert answer.startswith("HTTP/1.1 400 Bad Request")
    assert "https://" in answer


async def test_protocol_too_old(mock: MockWebhook, mock_certs: CertBundle) -> None:
    ctx = _client_ctx(mock_certs.ca_pem)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # old versions are deprecated: that is the point of this test
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    answer = await _exchange(mock.port, ctx)
    rec = await _only_failure(mock)
    assert rec["reason"] == "protocol too old: the client offered TLSv1.1, the mock needs TLS 1.2+"
    assert "PROTOCOL_VERSION" in answer or "UNSUPPORTED_PROTOCOL" in answer


def _blocking_handshake(port: int, ctx: ssl.SSLContext) -> str:
    """A plain-socket client: unlike asyncio, OpenSSL's own alert goes out when it rejects the server."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            ctx.wrap_socket(raw, server_hostname="localhost").close()
        except ssl.SSLError as exc:
            return str(exc)
    return "handshake completed"


async def test_client_that_does_not_trust_the_mock(mock: MockWebhook) -> None:
    other_ca = ssl.create_default_context(cadata=trustme.CA().cert_pem.bytes().decode())
    answer = await asyncio.to_thread(_blocking_handshake, mock.port, other_ca)
    rec = await _only_failure(mock)
    assert rec["reason"] == "the client rejected the mock's certificate: it does not trust the mock's CA"
    assert "CERTIFICATE_VERIFY_FAILED" in answer
    mock.clear()
    await _exchange(mock.port, other_ca)  # asyncio clients hang up without an alert
    rec = await _only_failure(mock)
    assert str(rec["reason"]).startswith("the client closed the connection during the handshake, after")


async def test_a_port_probe_is_not_a_failure(
    mock: MockWebhook, mock_certs: CertBundle, tmp_path: Path
) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", mock.port)
    writer.close()
    await writer.wait_closed()
    answer = await _exchange(mock.port, None)  # a failure after the probe: the probe left nothing
    assert answer.startswith("HTTP/1.1 400")
    [rec] = await mock.wait_for_handshakes(1)
    assert rec.reason.startswith("plain HTTP")


async def test_admin_api_lists_counts_and_waits_for_failures(
    mock: MockWebhook, mock_certs: CertBundle
) -> None:
    async with aiohttp.ClientSession() as session:
        waiting = asyncio.ensure_future(
            session.get(f"{mock.admin_url}/requests/wait?kind=handshake&count=1&timeout=10")
        )
        await _exchange(mock.port, None)
        async with await waiting as resp:
            assert resp.status == 200
            [entry] = (await resp.json())["requests"]
        ok = await session.post(mock.url_for("t"), data=b"{}", ssl=mock.client_ssl_context())
        ok.release()
        async with session.get(f"{mock.admin_url}/requests?kind=all") as resp:
            kinds = [r["kind"] for r in (await resp.json())["requests"]]
        async with session.get(f"{mock.admin_url}/requests") as resp:
            default = (await resp.json())["requests"]
        async with session.get(f"{mock.admin_url}/stats") as resp:
            stats = await resp.json()
    assert entry["kind"] == "handshake"
    assert entry["reason"].startswith("plain HTTP")
    assert kinds == ["handshake", "request"]
    assert [r["kind"] for r in default] == ["request"]
    assert stats["handshakeFailures"] == {"total": 1, "byReason": {"plain HTTP on a TLS port": 1}}


def test_client_hello_parser_reads_sni_and_highest_version() -> None:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    ctx = ssl.create_default_context()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="hooks.example.org")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    parsed = parse_client_hello(hello)
    assert parsed is not None
    assert parsed.sni == "hooks.example.org"
    assert parsed.version_offered == "TLSv1.3"
    assert parse_client_hello(hello[:20]) is None  # incomplete: wait for more


async def test_the_handshake_journal_can_be_switched_off(mock_certs: CertBundle) -> None:
    async with MockWebhook(mtls="required", certs=mock_certs, handshake_journal=False) as quiet:
        answer = await _exchange(quiet.port, None)
        assert quiet.info()["handshakeJournal"] is False
        assert quiet.handshakes() == []
    assert not answer.startswith("HTTP/1.1 400")  # the loop's own TLS: no plain-HTTP answer either
