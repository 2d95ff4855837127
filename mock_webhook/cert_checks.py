"""Checks of a certificate directory before ``serve`` uses it: each problem names the file and the fix.

A directory is either empty (``serve`` mints a full set there) or complete (``ca.pem``, ``server-cert.pem``,
``server-key.pem``; client files optional). A partial set is not silently replaced, and a file that is not
the PEM its name says is named, instead of OpenSSL's ``PEM lib (_ssl.c:...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from mock_webhook.certs import (
    ALL_FILES,
    CA_FILE,
    CLIENT_CERT_FILE,
    CLIENT_KEY_FILE,
    SERVER_CERT_FILE,
    SERVER_FILES,
    SERVER_KEY_FILE,
    CertsError,
)

CERTIFICATES = (CA_FILE, SERVER_CERT_FILE, CLIENT_CERT_FILE)
KEYS = (SERVER_KEY_FILE, CLIENT_KEY_FILE)


def partial_set_problem(directory: Path) -> str | None:
    """Some certificate files but not the server's full set: say which, and how to get a full set."""
    present = [name for name in ALL_FILES if (directory / name).is_file()]
    missing = [name for name in SERVER_FILES if name not in present]
    if not present or not missing:
        return None
    return (
        f"--certs {directory}: has {', '.join(present)} but not {', '.join(missing)}; create a full set with "
        f"`mock-webhook certs init {directory} --force` (replaces them), or give --certs an empty directory"
    )


def _first_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.split(" See https://", 1)[0].rstrip(".")


def _check(path: Path, parse: Callable[[bytes], object], kind: str) -> object:
    try:
        return parse(path.read_bytes())
    except OSError as exc:
        raise CertsError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, TypeError) as exc:
        raise CertsError(
            f"{path}: not a PEM {kind} ({_first_line(exc)}); recreate the set with `mock-webhook certs init "
            f"{path.parent} --force`"
        ) from None


def _key(data: bytes) -> object:
    return load_pem_private_key(data, password=None)


def check_files(directory: Path) -> None:
    """Every present certificate and key parses, and the server key belongs to the server certificate."""
    parsed: dict[str, object] = {}
    for name in CERTIFICATES:
        if (directory / name).is_file():
            parsed[name] = _check(directory / name, x509.load_pem_x509_certificate, "certificate")
    for name in KEYS:
        if (directory / name).is_file():
            parsed[name] = _check(directory / name, _key, "unencrypted private key")
    cert, key = parsed.get(SERVER_CERT_FILE), parsed.get(SERVER_KEY_FILE)
    if isinstance(cert, x509.Certificate) and key is not None and _public(cert) != _public(key):
        raise CertsError(
            f"{directory / SERVER_KEY_FILE}: does not belong to {directory / SERVER_CERT_FILE}; recreate the "
            f"set with `mock-webhook certs init {directory} --force`"
        )


def _public(holder: object) -> bytes:
    public = holder.public_key()  # type: ignore[attr-defined]
    return bytes(
        public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
