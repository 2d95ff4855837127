"""Start-up checks of local files a worker or router reads: each problem one line naming the setting, the
file and the fix. Used by ``delivery.runtime.preflight``; nothing here talks to the network.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key


def config_dir_problems(directory: str | None, setting: str) -> list[str]:
    if directory is None:
        return []
    path = Path(directory)
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        return [f"{setting} {directory}: {what} (give the directory of <clientId>.json configs)"]
    return []


def app_map_file_problems(file: str | None, setting: str) -> list[str]:
    if file is None:
        return []
    path = Path(file)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{setting} {file}: file does not exist (give the applications map JSON file)"]
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{setting} {file}: cannot read it ({exc})"]
    except json.JSONDecodeError as exc:
        return [f"{setting} {file}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"]
    if not isinstance(doc, dict):
        return [f'{setting} {file}: expected a JSON object {{"<clientId>": "<applicationId>"}}']
    return []


def _read_pem(file: str, setting: str, parse: Callable[[bytes], object], kind: str) -> str | None:
    try:
        data = Path(file).read_bytes()
    except FileNotFoundError:
        return f"{setting} {file}: file does not exist"
    except OSError as exc:
        return f"{setting} {file}: cannot read it ({exc.strerror or exc})"
    try:
        parse(data)
    except (ValueError, TypeError) as exc:
        reason = pem_reason(exc)
        return f"{setting} {file}: not a PEM {kind} ({reason})"
    return None


def pem_reason(exc: Exception) -> str:
    """cryptography's reason without its FAQ link: ``Unable to load PEM file (MalformedFraming)``."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    head, _, tail = text.partition(" See https://")
    detail = tail.rsplit(" ", 1)[-1] if tail else ""
    return f"{head.rstrip('.')} ({detail})" if detail else head


def _key(data: bytes) -> object:
    return load_pem_private_key(data, password=None)


def tls_file_problems(cert_file: str | None, key_file: str | None, ca_file: str | None) -> list[str]:
    """MTLS_CERT_FILE / MTLS_KEY_FILE / MTLS_CA_FILE exist and hold what their names say."""
    checks = [
        (cert_file, "MTLS_CERT_FILE", x509.load_pem_x509_certificates, "certificate"),
        (key_file, "MTLS_KEY_FILE", _key, "unencrypted private key"),
        (ca_file, "MTLS_CA_FILE", x509.load_pem_x509_certificates, "CA certificate"),
    ]
    found = [_read_pem(file, setting, parse, kind) for file, setting, parse, kind in checks if file]
    if cert_file and not key_file and not any(found):
        found.append(_key_inside(cert_file))
    return [problem for problem in found if problem]


def _key_inside(cert_file: str) -> str | None:
    """Without MTLS_KEY_FILE the key must sit in the certificate file."""
    try:
        data = Path(cert_file).read_bytes()
    except OSError:
        return None  # reported by the certificate check
    if b"PRIVATE KEY-----" not in data:
        return f"MTLS_CERT_FILE {cert_file}: holds no private key; set MTLS_KEY_FILE to the key file"
    return None
