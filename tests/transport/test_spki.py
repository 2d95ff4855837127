"""SPKI pins hash the SubjectPublicKeyInfo exactly as written in the certificate (SPEC G.3/G.4).

The reference (and openssl, and terraform's pin of the mock server) hash the certificate's SPKI bytes as
they stand. Certificates are made at run time with the ``openssl`` CLI, including an EC key with explicit
curve parameters: re-encoding such a key (named curve) gives a different hash, so a correct pin would
never match.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ssl
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from delivery.models import TransportFailure
from delivery.transport.https import HttpsTransport
from delivery.transport.pinning import leaf_pin_of_transport
from delivery.transport.spki import spki_der_of_certificate, spki_pin_of_der, spki_pin_of_pem
from tests.transport.conftest import LOOPBACK, ServeFn
from tests.transport.openssl_certs import Issued, issue_explicit_ec_leaf, openssl, openssl_pin
from tests.transport.peers import request


@pytest.fixture(scope="module")
def explicit_ec_leaf(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    return issue_explicit_ec_leaf(tmp_path_factory.mktemp("explicit-ec"))


def test_explicit_parameters_pin_equals_openssl(explicit_ec_leaf: Issued) -> None:
    pem = explicit_ec_leaf.cert.read_bytes()
    assert (
        "Field Type: prime-field"
        in openssl("x509", "-in", str(explicit_ec_leaf.cert), "-noout", "-text").decode()
    )
    expected = openssl_pin(explicit_ec_leaf.cert)
    assert spki_pin_of_pem(pem) == expected
    assert spki_pin_of_pem(pem.decode()) == expected
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    assert spki_pin_of_der(der) == expected
    # what the pin used to be: the re-encoded key (named curve) is different bytes, so a different hash
    reencoded = (
        x509.load_pem_x509_certificate(pem)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert reencoded != spki_der_of_certificate(der)
    assert base64.b64encode(hashlib.sha256(reencoded).digest()).decode() != expected


@pytest.mark.parametrize("kind", ["rsa", "ec-named"])
def test_ordinary_keys_pin_equals_openssl(tmp_path: Path, kind: str) -> None:
    key_args = (
        ["-newkey", "rsa:2048"] if kind == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"]
    )
    openssl("req", "-x509", *key_args, "-nodes", "-keyout", str(tmp_path / "k.pem"), "-subj", "/CN=x",
            "-days", "1", "-out", str(tmp_path / "c.pem"))  # fmt: skip
    assert spki_pin_of_pem((tmp_path / "c.pem").read_bytes()) == openssl_pin(tmp_path / "c.pem")


def test_pin_of_a_trustme_leaf_equals_openssl(tmp_path: Path, tls_server_cert: trustme.LeafCert) -> None:
    path = tmp_path / "leaf.pem"
    path.write_bytes(tls_server_cert.cert_chain_pems[0].bytes())
    assert spki_pin_of_pem(path.read_bytes()) == openssl_pin(path)


@pytest.mark.parametrize(
    "der",
    [b"", b"\x30", b"\x30\x05\x02\x01\x01", b"\x02\x01\x01", b"\x30\x84\xff\xff\xff\xff\x30\x00"],
)
def test_malformed_der_is_a_value_error(der: bytes) -> None:
    with pytest.raises(ValueError, match=r"DER|SEQUENCE|subjectPublicKeyInfo"):
        spki_der_of_certificate(der)


def test_not_a_certificate_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"."):
        spki_pin_of_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


async def test_handshake_pin_with_explicit_parameters(serve: ServeFn, explicit_ec_leaf: Issued) -> None:
    """A real TLS handshake against a server whose leaf has explicit EC parameters: the runtime pin of the
    peer certificate (what ``PinnedConnector`` compares) equals openssl's."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(explicit_ec_leaf.cert), str(explicit_ec_leaf.key))
    peer = await serve(ctx)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE  # OpenSSL's verifier refuses such leaves (next test); pin only
    host, port = peer.base.removeprefix("https://").split(":")
    _, writer = await asyncio.open_connection(host, int(port), ssl=client)
    try:
        assert leaf_pin_of_transport(writer.transport) == openssl_pin(explicit_ec_leaf.cert)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_verifying_transport_refuses_explicit_parameters(
    serve: ServeFn, explicit_ec_leaf: Issued
) -> None:
    """OpenSSL 3 (ours, and Node's under the reference) refuses a leaf with explicit EC parameters during
    certificate verification, before any pin is compared and before any request byte is sent."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(explicit_ec_leaf.cert), str(explicit_ec_leaf.key))
    peer = await serve(ctx)
    transport = HttpsTransport(extra_ca_pem=explicit_ec_leaf.ca_pem.decode(), egress=LOOPBACK)
    try:
        result = await transport.send(request(peer.url(), spki_pins=(openssl_pin(explicit_ec_leaf.cert),)))
    finally:
        await transport.close()
    assert isinstance(result, TransportFailure), result
    assert "explicit ECC parameters" in result.message
    assert peer.seen == []
