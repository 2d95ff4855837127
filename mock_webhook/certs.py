"""Certificates for the mock: a runtime-minted CA (ECDSA P-256), a server and a client certificate.

Nothing here is ever committed: ``CertBundle.mint()`` creates fresh material with trustme, ``write()`` puts
it in a directory (private keys mode 0600) and ``load()`` reads it back. SPKI pins are computed here,
independently of ``delivery/transport/spki.py``, so a bug there cannot hide on both sides.
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
CLIENT_IDENTITY = "callbacks-test-client@example.org"
CA_FILE = "ca.pem"
SERVER_CERT_FILE = "server-cert.pem"
SERVER_KEY_FILE = "server-key.pem"
CLIENT_CERT_FILE = "client-cert.pem"
CLIENT_KEY_FILE = "client-key.pem"
CLIENT_BUNDLE_FILE = "client-bundle.pem"
ALL_FILES = (
    CA_FILE,
    SERVER_CERT_FILE,
    SERVER_KEY_FILE,
    CLIENT_CERT_FILE,
    CLIENT_KEY_FILE,
    CLIENT_BUNDLE_FILE,
)
PRIVATE_FILES = frozenset({SERVER_KEY_FILE, CLIENT_KEY_FILE, CLIENT_BUNDLE_FILE})
SERVER_FILES = (CA_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE)


class CertsError(Exception):
    """Certificate files are missing, unreadable or would be overwritten."""


def spki_pin(cert: x509.Certificate) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo DER)) — the reference ``spkiHash``."""
    spki_der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki_der).digest()).decode("ascii")


def spki_pin_of_pem(cert_pem: bytes) -> str:
    """Pin of the first certificate in a PEM file."""
    return spki_pin(x509.load_pem_x509_certificate(cert_pem))


@dataclass(frozen=True, slots=True)
class CertBundle:
    """PEM material of one mock deployment. Client material is optional (a CA-only directory works)."""

    ca_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None

    @classmethod
    def mint(cls, hosts: Iterable[str] = ()) -> CertBundle:
        ca = trustme.CA(organization_name="enhanced-callbacks mock webhook", key_type=trustme.KeyType.ECDSA)
        names = list(dict.fromkeys([*LOCAL_HOSTS, *hosts]))
        server = ca.issue_cert(*names, common_name="Mock Webhook Server", key_type=trustme.KeyType.ECDSA)
        client = ca.issue_cert(
            CLIENT_IDENTITY, common_name="Callbacks Test Client", key_type=trustme.KeyType.ECDSA
        )
        return cls(
            ca_pem=ca.cert_pem.bytes(),
            server_cert_pem=b"".join(blob.bytes() for blob in server.cert_chain_pems),
            server_key_pem=server.private_key_pem.bytes(),
            client_cert_pem=b"".join(blob.bytes() for blob in client.cert_chain_pems),
            client_key_pem=client.private_key_pem.bytes(),
        )

    @classmethod
    def load(cls, directory: Path) -> CertBundle:
        missing = [name for name in SERVER_FILES if not (directory / name).is_file()]
        if missing:
            raise CertsError(
                f"{directory}: missing {', '.join(missing)} (create them with `mock-webhook certs init DIR`)"
            )
        client_cert = directory / CLIENT_CERT_FILE
        client_key = directory / CLIENT_KEY_FILE
        return cls(
            ca_pem=(directory / CA_FILE).read_bytes(),
            server_cert_pem=(directory / SERVER_CERT_FILE).read_bytes(),
            server_key_pem=(directory / SERVER_KEY_FILE).read_bytes(),
            client_cert_pem=client_cert.read_bytes() if client_cert.is_file() else None,
            client_key_pem=client_key.read_bytes() if client_key.is_file() else None,
        )

    @property
    def server_pin(self) -> str:
        return spki_pin_of_pem(self.server_cert_pem)

    @property
    def ca_cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.ca_pem)

    def files(self) -> dict[str, bytes]:
        """File name -> content, as written by ``write``."""
        files = {
            CA_FILE: self.ca_pem,
            SERVER_CERT_FILE: self.server_cert_pem,
            SERVER_KEY_FILE: self.server_key_pem,
        }
        if self.client_cert_pem is not None and self.client_key_pem is not None:
            files[CLIENT_CERT_FILE] = self.client_cert_pem
            files[CLIENT_KEY_FILE] = self.client_key_pem
            files[CLIENT_BUNDLE_FILE] = self.client_cert_pem + self.client_key_pem
        return files

    def write(self, directory: Path, *, force: bool = False) -> list[Path]:
        """Write every file; refuse to overwrite existing ones unless ``force``. Keys get mode 0600."""
        files = self.files()
        existing = [name for name in files if (directory / name).exists()]
        if existing and not force:
            raise CertsError(f"{directory}: {', '.join(existing)} already exist (use --force to overwrite)")
        directory.mkdir(parents=True, exist_ok=True)
        return [
            _write_file(directory / name, data, private=name in PRIVATE_FILES) for name, data in files.items()
        ]

    def server_ssl_context(self, client_certs: str = "off") -> ssl.SSLContext:
        """Server context; ``client_certs``: ``off`` | ``optional`` | ``required`` (CA-checked)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        _load_chain(ctx, self.server_cert_pem, self.server_key_pem)
        if client_certs != "off":
            ctx.load_verify_locations(cadata=self.ca_pem.decode("ascii"))
            ctx.verify_mode = ssl.CERT_REQUIRED if client_certs == "required" else ssl.CERT_OPTIONAL
        return ctx

    def client_ssl_context(self, *, with_client_cert: bool = True) -> ssl.SSLContext:
        """A client context trusting the CA, presenting the client certificate when asked and available."""
        ctx = ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))
        if with_client_cert and self.client_cert_pem is not None and self.client_key_pem is not None:
            _load_chain(ctx, self.client_cert_pem, self.client_key_pem)
        return ctx


def _write_file(path: Path, data: bytes, *, private: bool) -> Path:
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path


def _load_chain(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """``load_cert_chain`` needs paths: use a private temporary directory removed right after."""
    with tempfile.TemporaryDirectory(prefix="mock-webhook-") as tmp:
        cert_path = _write_file(Path(tmp) / "cert.pem", cert_pem, private=False)
        key_path = _write_file(Path(tmp) / "key.pem", key_pem, private=True)
        ctx.load_cert_chain(cert_path, key_path)
