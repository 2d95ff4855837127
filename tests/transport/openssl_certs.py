"""Certificates made at run time with the ``openssl`` CLI, and openssl's own SPKI pin (test oracle)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path


def openssl(*args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=True, timeout=60)
    return done.stdout


def openssl_pin(cert_pem: Path) -> str:
    """``openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256 | base64``."""
    pubkey_pem = openssl("x509", "-in", str(cert_pem), "-pubkey", "-noout")
    spki_der = openssl("pkey", "-pubin", "-outform", "der", stdin=pubkey_pem)
    return base64.b64encode(hashlib.sha256(spki_der).digest()).decode()


@dataclass(frozen=True)
class Issued:
    ca_pem: bytes
    cert: Path
    key: Path


def issue_explicit_ec_leaf(d: Path) -> Issued:
    """A named-curve CA and a 127.0.0.1 leaf whose EC key carries explicit curve parameters, in ``d``."""
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(d / "ca.key"))
    openssl("req", "-new", "-x509", "-key", str(d / "ca.key"), "-subj", "/CN=pin test CA", "-days", "2",
            "-out", str(d / "ca.pem"))  # fmt: skip
    openssl("ecparam", "-name", "prime256v1", "-param_enc", "explicit", "-genkey", "-noout",
            "-out", str(d / "leaf.key"))  # fmt: skip
    openssl("req", "-new", "-key", str(d / "leaf.key"), "-subj", "/CN=127.0.0.1", "-out", str(d / "leaf.csr"))
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", str(d / "leaf.csr"), "-CA", str(d / "ca.pem"),
            "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", str(d / "ext.cnf"), "-out", str(d / "leaf.pem"))  # fmt: skip
    return Issued((d / "ca.pem").read_bytes(), d / "leaf.pem", d / "leaf.key")
