"""mTLS over real handshakes: required / optional / off, and ALB passthrough header verification."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from urllib.parse import quote

import aiohttp
import pytest
import trustme

from delivery.transport.spki import spki_pin_of_der
from mock_webhook import CertBundle, MockWebhook
from tests.mock_webhook.conftest import callback_body


async def _post(
    session: aiohttp.ClientSession, url: str, ctx: ssl.SSLContext, headers: dict[str, str] | None = None
):
    async with session.post(url, data=callback_body(), headers=headers or {}, ssl=ctx) as resp:
        return resp.status, await resp.text()


async def test_required_accepts_a_ca_signed_client_certificate(bundle: CertBundle, session) -> None:
    async with MockWebhook(mtls="required", certs=bundle) as mock:
        status, _ = await _post(session, mock.url_for("t1"), bundle.client_ssl_context())
        [rec] = mock.requests()
    assert status == 200
    assert rec.tls.client_cert_presented
    assert rec.tls.client_cert_verified
    assert rec.tls.client_subject is not None
    assert "Callbacks Test Client" in rec.tls.client_subject
    assert rec.tls.client_spki is not None


@pytest.mark.parametrize("client", ["none", "foreign"])
async def test_required_rejects_handshake_without_a_valid_client_certificate(
    bundle: CertBundle, foreign_bundle: CertBundle, session, client: str
) -> None:
    ctx = bundle.client_ssl_context(with_client_cert=False)
    if client == "foreign":
        assert foreign_bundle.client_cert_pem is not None
        assert foreign_bundle.client_key_pem is not None
        ctx = CertBundle(
            bundle.ca_pem, b"", b"", foreign_bundle.client_cert_pem, foreign_bundle.client_key_pem
        )
        ctx = ctx.client_ssl_context()
    async with MockWebhook(mtls="required", certs=bundle) as mock:
        with pytest.raises(aiohttp.ClientError):
            await _post(session, mock.url_for("t1"), ctx)
        assert mock.requests() == []


async def test_optional_records_whether_a_certificate_was_presented(bundle: CertBundle, session) -> None:
    async with MockWebhook(mtls="optional", certs=bundle) as mock:
        assert (await _post(session, mock.url_for("with"), bundle.client_ssl_context()))[0] == 200
        no_cert = bundle.client_ssl_context(with_client_cert=False)
        assert (await _post(session, mock.url_for("without"), no_cert))[0] == 200
        [with_cert] = mock.requests(path="with")
        [without] = mock.requests(path="without")
    assert (with_cert.tls.client_cert_presented, with_cert.tls.client_cert_verified) == (True, True)
    assert (without.tls.client_cert_presented, without.tls.client_cert_verified) == (False, False)
    assert with_cert.connection_id != without.connection_id


async def test_off_never_asks_for_a_certificate(bundle: CertBundle, session) -> None:
    async with MockWebhook(mtls="off", certs=bundle) as mock:
        assert (await _post(session, mock.url_for("t"), bundle.client_ssl_context()))[0] == 200
        [rec] = mock.requests()
    assert not rec.tls.client_cert_presented


async def test_server_certificate_verifies_against_the_ca_and_pin_matches(bundle: CertBundle) -> None:
    async with MockWebhook(mtls="optional", certs=bundle) as mock:
        _, writer = await asyncio.open_connection(
            "127.0.0.1", mock.port, ssl=bundle.client_ssl_context(), server_hostname="localhost"
        )
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        await writer.wait_closed()
    assert spki_pin_of_der(der) == mock.server_pin


def _leaf_pem(ca: trustme.CA, **kwargs) -> str:
    leaf = ca.issue_cert("client@example.org", common_name="ALB Client", **kwargs)
    return "".join(blob.bytes().decode() for blob in leaf.cert_chain_pems)


@pytest.fixture(scope="module")
def alb_cas() -> tuple[trustme.CA, trustme.CA]:
    return trustme.CA(), trustme.CA()


@pytest.mark.parametrize(
    ("case", "verified", "detail"),
    [
        ("valid", True, "verified against the CA"),
        ("expired", False, "not within its validity period (expired on "),
        ("foreign", False, "not verified by the CA: unknown CA: not issued by the mock's CA"),
        ("garbage", False, "Failed to parse"),
        ("absent", False, "No client certificate"),
    ],
)
async def test_alb_passthrough_verifies_the_forwarded_certificate(
    alb_cas: tuple[trustme.CA, trustme.CA], session, case: str, verified: bool, detail: str
) -> None:
    ca, other = alb_cas
    now = dt.datetime.now(dt.UTC)
    pems = {
        "valid": _leaf_pem(ca),
        "expired": _leaf_pem(
            ca, not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
        ),
        "foreign": _leaf_pem(other),
        "garbage": "-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n",
    }
    server = ca.issue_cert("localhost", "127.0.0.1")
    certs = CertBundle(ca.cert_pem.bytes(), server.cert_chain_pems[0].bytes(), server.private_key_pem.bytes())
    headers = {"X-Amzn-Mtls-Clientcert": quote(pems[case])} if case in pems else {}
    async with MockWebhook(alb_passthrough=True, certs=certs) as mock:
        client_ctx = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode())
        status, _ = await _post(session, mock.url_for("alb"), client_ctx, headers)
        [rec] = mock.requests()
    assert status == 200  # like the reference, ALB mode records the verdict and never rejects
    assert rec.tls.client_cert_presented == (case != "absent")
    assert rec.tls.client_cert_verified is verified
    assert detail in rec.tls.detail
