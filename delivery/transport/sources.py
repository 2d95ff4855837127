"""Readers of TLS material: local PEM files, an S3 bundle (+ CA object), a Secrets Manager secret (SPEC G.1).

Blocking (boto3): ``TlsProvider`` runs :func:`load_material` in a thread. Error messages name what is missing
and where, using the reference wording where one exists (``S3 object s3://b/k has no body``,
``mTLS cert secret has no value``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cryptography import x509

from delivery.transport.material import TlsMaterial, TlsMaterialError, TlsSettings

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)


def pem_blocks(text: str) -> list[tuple[str, str]]:
    """``[(type, block), ...]`` for every PEM block in ``text``, in order."""
    return [(m.group(1), m.group(0) + "\n") for m in _PEM_BLOCK.finditer(text)]


def split_bundle(text: str, where: str) -> tuple[str, str]:
    """(certificate chain PEM, private key PEM) from a concatenated bundle; error names what is missing."""
    blocks = pem_blocks(text)
    key = next((b for t, b in blocks if "PRIVATE KEY" in t), "")
    certs = "".join(b for t, b in blocks if "CERTIFICATE" in t)
    missing = [name for name, value in (("CERTIFICATE", certs), ("PRIVATE KEY", key)) if not value]
    if missing:
        raise TlsMaterialError(f"{where} contains no {' or '.join(missing)} PEM block")
    return certs, key


def not_after_ms_of(cert_pem: str, where: str) -> int:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError as exc:
        raise TlsMaterialError(f"{where}: client certificate is not valid PEM X.509 ({exc})") from None
    return int(cert.not_valid_after_utc.timestamp() * 1000)


def _read_file(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TlsMaterialError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _s3_text(s3: Any, bucket: str, key: str) -> str:
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except Exception as exc:  # botocore ClientError / connection errors, mapped at this boundary
        raise TlsMaterialError(f"cannot read S3 object s3://{bucket}/{key}: {exc}") from exc
    body = obj.get("Body")
    data = body.read() if body is not None else b""
    if not data:
        raise TlsMaterialError(f"S3 object s3://{bucket}/{key} has no body")
    return str(data.decode("utf-8"))


def _secret_pair(sm: Any, arn: str) -> tuple[str, str]:
    try:
        value = sm.get_secret_value(SecretId=arn).get("SecretString")
    except Exception as exc:  # botocore ClientError / connection errors, mapped at this boundary
        raise TlsMaterialError(f"cannot read mTLS cert secret {arn}: {exc}") from exc
    if not value:
        raise TlsMaterialError("mTLS cert secret has no value")
    try:
        doc = json.loads(value)
    except json.JSONDecodeError:
        raise TlsMaterialError(f"mTLS cert secret {arn} is not JSON {{'key', 'cert'}}") from None
    missing = [k for k in ("cert", "key") if not isinstance(doc, dict) or not doc.get(k)]
    if missing:
        raise TlsMaterialError(f"mTLS cert secret {arn} is missing {' and '.join(repr(m) for m in missing)}")
    return str(doc["cert"]), str(doc["key"])


class AwsClients:
    """boto3 clients, given or made on demand (``boto3.client("s3")`` honours AWS_ENDPOINT_URL, e.g. moto).

    Clients made here are closed by :meth:`close`; given ones belong to the caller.
    """

    def __init__(self, s3: Any = None, secretsmanager: Any = None) -> None:
        self._clients: dict[str, Any] = {"s3": s3, "secretsmanager": secretsmanager}
        self._made: list[Any] = []

    def get(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            import boto3

            client = self._clients[service] = boto3.client(service)
            self._made.append(client)
        return client

    def close(self) -> None:
        for client in self._made:
            client.close()
        self._made.clear()


def load_material(settings: TlsSettings, clients: AwsClients | None = None) -> TlsMaterial:
    """Read everything ``settings`` names (blocking; run it in a thread from async code)."""
    aws = clients or AwsClients()
    try:
        source, cert_pem, key_pem = _load_client(settings, aws)
        ca_pem = _load_ca(settings, aws)
    finally:
        if clients is None:
            aws.close()
    not_after = not_after_ms_of(cert_pem, source) if cert_pem else None
    return TlsMaterial(source or "ca-only", cert_pem, key_pem, ca_pem, not_after)


def _load_client(settings: TlsSettings, aws: AwsClients) -> tuple[str, str, str]:
    if settings.cert_file:
        text = _read_file(settings.cert_file, "MTLS_CERT_FILE")
        if settings.key_file:
            text += "\n" + _read_file(settings.key_file, "MTLS_KEY_FILE")
        certs, key = split_bundle(text, f"MTLS_CERT_FILE {settings.cert_file}")
        return f"file:{settings.cert_file}", certs, key
    if settings.secret_arn:
        certs, key = _secret_pair(aws.get("secretsmanager"), settings.secret_arn)
        return f"secretsmanager:{settings.secret_arn}", certs, key
    if settings.s3_bucket and settings.s3_cert_key:
        where = f"s3://{settings.s3_bucket}/{settings.s3_cert_key}"
        certs, key = split_bundle(_s3_text(aws.get("s3"), settings.s3_bucket, settings.s3_cert_key), where)
        return where, certs, key
    return "", "", ""


def _load_ca(settings: TlsSettings, aws: AwsClients) -> str:
    if settings.ca_file:
        text, where = _read_file(settings.ca_file, "MTLS_CA_FILE"), f"MTLS_CA_FILE {settings.ca_file}"
    elif settings.s3_bucket and settings.s3_ca_key:
        text = _s3_text(aws.get("s3"), settings.s3_bucket, settings.s3_ca_key)
        where = f"s3://{settings.s3_bucket}/{settings.s3_ca_key}"
    else:
        return ""
    certs = "".join(b for t, b in pem_blocks(text) if "CERTIFICATE" in t)
    if not certs:
        raise TlsMaterialError(f"{where} contains no CERTIFICATE PEM block")
    return certs
