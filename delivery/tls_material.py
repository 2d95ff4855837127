"""TLS material (client certificate, key, extra CA) from local PEM files, an S3 bundle or Secrets Manager.

Sources (SPEC G.1, P11), chosen by :class:`TlsSettings`:

- local files: ``MTLS_CERT_FILE`` (+ ``MTLS_KEY_FILE``; the cert file may also hold the key) and
  ``MTLS_CA_FILE``;
- an S3 bundle: ``MTLS_CERT_S3_BUCKET`` + ``MTLS_CERT_S3_KEY`` (client cert + key concatenated, reference
  format) and optionally ``MTLS_CA_S3_KEY`` in the same bucket;
- a Secrets Manager secret ``MTLS_CERT_SECRET_ARN`` whose SecretString is ``{"key": PEM, "cert": PEM}``.

``TlsProvider`` caches the material until the client certificate is within ``CERT_EXPIRY_THRESHOLD_MS`` of
its expiry, then reloads it once; if the reload brings no fresher certificate it waits ``recheck_ms`` before
trying again (the reference reloaded on every record, N17). boto3 calls run in a thread.
The private key is never logged or shown in a repr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from delivery.logs import log

_LOGGER = logging.getLogger(__name__)

DEFAULT_EXPIRY_THRESHOLD_MS = 86_400_000
DEFAULT_RECHECK_MS = 3_600_000
_TRUE = frozenset({"1", "true", "yes", "on"})
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
MISSING_S3_MESSAGE = "MTLS_CERT_S3_BUCKET and MTLS_CERT_S3_KEY are required"


class TlsMaterialError(Exception):
    """TLS material is missing, unreadable or malformed (the message names what and where)."""


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """PEM text ready for an ``ssl.SSLContext``; ``source`` describes where it came from (no secrets)."""

    source: str
    cert_pem: str = ""  # leaf first, then any chain certificates
    key_pem: str = field(default="", repr=False)
    ca_pem: str = ""
    not_after_ms: int | None = None  # expiry of the client certificate

    @property
    def has_client_cert(self) -> bool:
        return bool(self.cert_pem and self.key_pem)


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """Where TLS material comes from (frozen; build with :meth:`from_env`)."""

    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None
    s3_bucket: str | None = None
    s3_cert_key: str | None = None
    s3_ca_key: str | None = None
    secret_arn: str | None = None
    expiry_threshold_ms: int = DEFAULT_EXPIRY_THRESHOLD_MS
    ca_replaces_system_trust: bool = False

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise TlsMaterialError("invalid TLS settings: " + "; ".join(problems))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TlsSettings:
        def get(*names: str) -> str | None:
            for name in names:
                value = environ.get(name, "").strip()
                if value:
                    return value
            return None

        return cls(
            cert_file=get("MTLS_CERT_FILE"),
            key_file=get("MTLS_KEY_FILE"),
            ca_file=get("MTLS_CA_FILE"),
            s3_bucket=get("MTLS_CERT_S3_BUCKET", "MTLS_TEST_CERT_S3_BUCKET"),
            s3_cert_key=get("MTLS_CERT_S3_KEY", "MTLS_TEST_CERT_S3_KEY"),
            s3_ca_key=get("MTLS_CA_S3_KEY", "MTLS_TEST_CA_S3_KEY"),
            secret_arn=get("MTLS_CERT_SECRET_ARN"),
            expiry_threshold_ms=parse_threshold_ms(environ.get("CERT_EXPIRY_THRESHOLD_MS")),
            ca_replaces_system_trust=environ.get("MTLS_CA_REPLACES_SYSTEM_TRUST", "").lower() in _TRUE,
        )

    def problems(self) -> list[str]:
        """Every inconsistency at once (empty when the settings are usable)."""
        found = []
        if self.key_file and not self.cert_file:
            found.append("MTLS_KEY_FILE is set without MTLS_CERT_FILE")
        if self.s3_ca_key and not self.s3_bucket:
            found.append("MTLS_CA_S3_KEY is set without MTLS_CERT_S3_BUCKET")
        if self.s3_cert_key and not self.s3_bucket:
            found.append("MTLS_CERT_S3_KEY is set without MTLS_CERT_S3_BUCKET")
        sources = [n for n, on in self._client_sources().items() if on]
        if len(sources) > 1:
            found.append("more than one client certificate source is set: " + ", ".join(sources))
        if self.ca_file and self.s3_ca_key:
            found.append("both MTLS_CA_FILE and MTLS_CA_S3_KEY are set")
        return found

    def _client_sources(self) -> dict[str, bool]:
        return {
            "MTLS_CERT_FILE": bool(self.cert_file),
            "MTLS_CERT_S3_KEY": bool(self.s3_cert_key),
            "MTLS_CERT_SECRET_ARN": bool(self.secret_arn),
        }

    @property
    def has_client_source(self) -> bool:
        return any(self._client_sources().values())

    @property
    def has_ca_source(self) -> bool:
        return bool(self.ca_file or self.s3_ca_key)


def parse_threshold_ms(raw: str | None) -> int:
    """``CERT_EXPIRY_THRESHOLD_MS``; missing, 0, negative or not a number => 24 h (reference G.2)."""
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        return DEFAULT_EXPIRY_THRESHOLD_MS
    if math.isnan(value) or math.isinf(value) or value <= 0:
        return DEFAULT_EXPIRY_THRESHOLD_MS
    return int(value)


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


def next_reload_at_ms(not_after_ms: int | None, now_ms: int, threshold_ms: int, recheck_ms: int) -> float:
    """When cached material must be reloaded: ``threshold_ms`` before expiry, or after ``recheck_ms``."""
    if not_after_ms is None:
        return math.inf
    due_ms = not_after_ms - threshold_ms
    return float(due_ms if due_ms > now_ms else now_ms + recheck_ms)


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


def _iso(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


def _epoch_ms() -> int:
    return int(time.time() * 1000)


class TlsProvider:
    """Cached TLS material for one identity: ``await provider.material()``.

    ``loader`` (blocking) defaults to :func:`load_material` with ``settings``; ``clock_ms`` gives epoch ms.
    """

    def __init__(
        self,
        settings: TlsSettings,
        *,
        clients: AwsClients | None = None,
        loader: Callable[[], TlsMaterial] | None = None,
        clock_ms: Callable[[], int] = _epoch_ms,
        recheck_ms: int = DEFAULT_RECHECK_MS,
    ) -> None:
        self.settings = settings
        self._loader = loader or (lambda: load_material(settings, clients))
        self._clock_ms = clock_ms
        self._recheck_ms = recheck_ms
        self._cached: TlsMaterial | None = None
        self._reload_at_ms = -math.inf
        self._lock = asyncio.Lock()
        self.loads = 0  # how many times the source was read (observability and tests)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **kwargs: Any) -> TlsProvider:
        return cls(TlsSettings.from_env(environ), **kwargs)

    def describe(self) -> str:
        return self._cached.source if self._cached else "not loaded"

    def fresh_material(self) -> TlsMaterial | None:
        """The cached material if it needs no reload now (no I/O), else None."""
        cached = self._cached
        return cached if cached is not None and self._clock_ms() < self._reload_at_ms else None

    async def material(self) -> TlsMaterial:
        cached = self._cached
        if cached is not None and self._clock_ms() < self._reload_at_ms:
            return cached
        async with self._lock:  # one reload at a time; the others wait and reuse it
            if self._cached is not None and self._clock_ms() < self._reload_at_ms:
                return self._cached
            return await self._reload()

    async def _reload(self) -> TlsMaterial:
        self.loads += 1
        try:
            fresh = await asyncio.to_thread(self._loader)
        except TlsMaterialError as exc:
            if self._cached is None or self._expired(self._cached):
                raise
            self._reload_at_ms = self._clock_ms() + self._recheck_ms  # keep the still-valid material
            log(_LOGGER, "warning", "mTLS certificate reload failed; keeping the cached one", error=str(exc))
            return self._cached
        now_ms = self._clock_ms()
        self._reload_at_ms = next_reload_at_ms(
            fresh.not_after_ms, now_ms, self.settings.expiry_threshold_ms, self._recheck_ms
        )
        self._cached = fresh
        log(_LOGGER, "info", "mTLS certificate loaded", source=fresh.source, validTo=_iso(fresh.not_after_ms))
        return fresh

    def _expired(self, material: TlsMaterial) -> bool:
        return material.not_after_ms is not None and material.not_after_ms <= self._clock_ms()

    def reset(self) -> None:
        """Forget the cached material (reference ``resetCache``)."""
        self._cached, self._reload_at_ms = None, -math.inf
