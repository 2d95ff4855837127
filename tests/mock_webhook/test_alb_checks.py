"""ALB passthrough: the forwarded certificate must be a client certificate, and forwarded once."""

from __future__ import annotations

import datetime as dt
import ssl
from urllib.parse import quote

import aiohttp
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mock_webhook import CertBundle, MockWebhook
from tests.mock_webhook.conftest import callback_body


def _signed_leaf(ca: trustme.CA, usages: list[x509.ObjectIdentifier] | None) -> str:
    """A leaf signed by ``ca`` with exactly the given extended key usages (None: no EKU extension)."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ALB test leaf")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if usages is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def alb_ca() -> trustme.CA:
    return trustme.CA()


def _certs(ca: trustme.CA) -> CertBundle:
    server = ca.issue_cert("localhost", "127.0.0.1")
    return CertBundle(ca.cert_pem.bytes(), server.cert_chain_pems[0].bytes(), server.private_key_pem.bytes())


async def _post(mock: MockWebhook, ca: trustme.CA, headers: list[tuple[str, str]]) -> int:
    ctx = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode())
    async with (
        aiohttp.ClientSession() as session,
        session.post(mock.url_for("alb"), data=callback_body(), headers=headers, ssl=ctx) as resp,
    ):
        return resp.status


@pytest.mark.parametrize(
    ("case", "verified", "detail"),
    [
        ("client-auth", True, "verified against the CA"),
        ("ca-itself", False, "is a CA certificate"),
        ("server-auth-only", False, "does not include clientAuth"),
        ("no-eku", False, "no extended key usage"),
    ],
)
async def test_only_end_entity_client_auth_certificates_verify(
    alb_ca: trustme.CA, case: str, verified: bool, detail: str
) -> None:
    pems = {
        "client-auth": lambda: _signed_leaf(alb_ca, [ExtendedKeyUsageOID.CLIENT_AUTH]),
        "ca-itself": lambda: alb_ca.cert_pem.bytes().decode(),
        "server-auth-only": lambda: _signed_leaf(alb_ca, [ExtendedKeyUsageOID.SERVER_AUTH]),
        "no-eku": lambda: _signed_leaf(alb_ca, None),
    }
    async with MockWebhook(alb_passthrough=True, certs=_certs(alb_ca)) as mock:
        status = await _post(mock, alb_ca, [("X-Amzn-Mtls-Clientcert", quote(pems[case]()))])
        [rec] = mock.requests()
    assert status == 200  # passthrough records the verdict; it does not reject
    assert rec.tls.client_cert_verified is verified
    assert detail in rec.tls.detail


async def test_a_request_carrying_the_header_twice_is_refused(alb_ca: trustme.CA) -> None:
    good = quote(_signed_leaf(alb_ca, [ExtendedKeyUsageOID.CLIENT_AUTH]))
    async with MockWebhook(alb_passthrough=True, certs=_certs(alb_ca)) as mock:
        headers = [("X-Amzn-Mtls-Clientcert", good), ("X-Amzn-Mtls-Clientcert", good)]
        status = await _post(mock, alb_ca, headers)
        [rec] = mock.requests()
        single = await _post(mock, alb_ca, headers[:1])
    assert status == 400
    assert rec.response_status == 400
    assert not rec.tls.client_cert_verified
    assert "appeared 2 times" in rec.tls.detail
    assert single == 200
