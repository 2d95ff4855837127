"""TLS material from PEM files, an S3 bundle (+ CA) and Secrets Manager (boto3 against moto's server mode),
the expiry-driven cache, and the settings read from the environment."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import trustme

from delivery.models import HttpResult
from delivery.transport.contexts import build_client_context
from delivery.transport.egress import EgressPolicy
from delivery.transport.https import HttpsTransport
from delivery.transport.material import (
    DEFAULT_EXPIRY_THRESHOLD_MS,
    TlsMaterialError,
    TlsSettings,
    parse_threshold_ms,
)
from delivery.transport.provider import TlsProvider
from delivery.transport.sources import load_material
from tests.transport.conftest import ServeFn
from tests.transport.peers import request, server_context

HOUR_MS = 3_600_000

LOOPBACK = EgressPolicy.allowing("127.0.0.0/8")  # the tests deliver to peers on 127.0.0.1


def _bundle(leaf: trustme.LeafCert) -> bytes:
    """Reference S3 bundle: client cert + private key concatenated."""
    return leaf.cert_chain_pems[0].bytes() + leaf.private_key_pem.bytes()


def _not_after_ms(leaf: trustme.LeafCert) -> int:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    return int(cert.not_valid_after_utc.timestamp() * 1000)


@pytest.fixture
def bucket(aws_env: dict[str, str]) -> Iterator[tuple[str, Any]]:
    s3 = boto3.client("s3")
    name = f"certs-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    yield name, s3
    s3.close()


def test_pem_files_cert_and_key_separate_or_bundled(
    client_pem_files, tls_client_cert, tmp_path: Path
) -> None:
    cert, key = client_pem_files
    separate = load_material(TlsSettings(cert_file=str(cert), key_file=str(key)))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(_bundle(tls_client_cert))
    bundled = load_material(TlsSettings(cert_file=str(bundle)))
    for material in (separate, bundled):
        assert material.has_client_cert
        assert "PRIVATE KEY" in material.key_pem
        assert material.not_after_ms == _not_after_ms(tls_client_cert)
    assert "PRIVATE KEY" not in repr(separate)  # never shown in logs or tracebacks


def test_missing_pem_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TlsMaterialError, match=r"cannot read MTLS_KEY_FILE .*nope\.key"):
        load_material(TlsSettings(cert_file=__file__, key_file=str(tmp_path / "nope.key")))


def test_pem_file_without_a_key_names_what_is_missing(tmp_path: Path, tls_client_cert) -> None:
    only_cert = tmp_path / "c.pem"
    only_cert.write_bytes(tls_client_cert.cert_chain_pems[0].bytes())
    with pytest.raises(TlsMaterialError, match="contains no PRIVATE KEY PEM block"):
        load_material(TlsSettings(cert_file=str(only_cert)))


def test_s3_bundle_and_ca(bucket, tls_client_cert, tls_ca: trustme.CA) -> None:
    name, s3 = bucket
    s3.put_object(Bucket=name, Key="dev/client-bundle.pem", Body=_bundle(tls_client_cert))
    s3.put_object(Bucket=name, Key="dev/ca.pem", Body=tls_ca.cert_pem.bytes())
    settings = TlsSettings(s3_bucket=name, s3_cert_key="dev/client-bundle.pem", s3_ca_key="dev/ca.pem")
    material = load_material(settings)
    assert material.source == f"s3://{name}/dev/client-bundle.pem"
    assert material.has_client_cert
    assert material.ca_pem.strip() == tls_ca.cert_pem.bytes().decode().strip()


def test_s3_errors_name_the_object(bucket) -> None:
    name, s3 = bucket
    s3.put_object(Bucket=name, Key="empty.pem", Body=b"")
    with pytest.raises(TlsMaterialError, match=rf"^S3 object s3://{name}/empty.pem has no body$"):
        load_material(TlsSettings(s3_bucket=name, s3_cert_key="empty.pem"))
    with pytest.raises(TlsMaterialError, match=rf"cannot read S3 object s3://{name}/missing.pem"):
        load_material(TlsSettings(s3_bucket=name, s3_cert_key="missing.pem"))


def test_secrets_manager_secret(aws_env, tls_client_cert) -> None:
    sm = boto3.client("secretsmanager")
    try:
        good = sm.create_secret(
            Name=f"mtls-{uuid.uuid4().hex}",
            SecretString=json.dumps(
                {
                    "cert": tls_client_cert.cert_chain_pems[0].bytes().decode(),
                    "key": tls_client_cert.private_key_pem.bytes().decode(),
                }
            ),
        )["ARN"]
        no_key = sm.create_secret(Name=f"mtls-{uuid.uuid4().hex}", SecretString=json.dumps({"cert": "x"}))[
            "ARN"
        ]
        binary = sm.create_secret(Name=f"mtls-{uuid.uuid4().hex}", SecretBinary=b"\x00")["ARN"]
    finally:
        sm.close()
    material = load_material(TlsSettings(secret_arn=good))
    assert material.source == f"secretsmanager:{good}"
    assert material.has_client_cert
    with pytest.raises(TlsMaterialError, match="is missing 'key'"):
        load_material(TlsSettings(secret_arn=no_key))
    with pytest.raises(TlsMaterialError, match=r"^mTLS cert secret has no value$"):
        load_material(TlsSettings(secret_arn=binary))


async def test_s3_material_drives_a_real_mtls_handshake(
    bucket, serve: ServeFn, tls_client_cert, tls_server_cert, tls_ca: trustme.CA
) -> None:
    """No extra CA given to the transport: the server is trusted only through MTLS_CA_S3_KEY."""
    name, s3 = bucket
    s3.put_object(Bucket=name, Key="bundle.pem", Body=_bundle(tls_client_cert))
    s3.put_object(Bucket=name, Key="ca.pem", Body=tls_ca.cert_pem.bytes())
    env = {"MTLS_CERT_S3_BUCKET": name, "MTLS_CERT_S3_KEY": "bundle.pem", "MTLS_CA_S3_KEY": "ca.pem"}
    peer = await serve(server_context(tls_server_cert, client_ca=tls_ca))
    transport = HttpsTransport(TlsProvider.from_env(env), egress=LOOPBACK)
    try:
        result = await transport.send(request(peer.url(), mtls=True))
    finally:
        await transport.close()
    assert isinstance(result, HttpResult)
    assert result.status == 200
    assert [s.client_cert for s in peer.seen] == [True]


async def test_cache_reloads_once_near_expiry(bucket, tls_ca: trustme.CA) -> None:
    name, s3 = bucket
    now = dt.datetime.now(dt.UTC)
    old = tls_ca.issue_cert("client@example.org", not_after=now + dt.timedelta(hours=48))
    s3.put_object(Bucket=name, Key="b.pem", Body=_bundle(old))
    clock = {"now_ms": int(now.timestamp() * 1000)}
    provider = TlsProvider(TlsSettings(s3_bucket=name, s3_cert_key="b.pem"), clock_ms=lambda: clock["now_ms"])
    first = await provider.material()
    clock["now_ms"] += 23 * HOUR_MS  # still more than 24 h before expiry
    assert await provider.material() is first
    assert provider.loads == 1
    clock["now_ms"] += 2 * HOUR_MS  # inside the 24 h threshold: reload once (S3 still has the old cert)
    assert (await provider.material()).not_after_ms == first.not_after_ms
    clock["now_ms"] += HOUR_MS // 2
    await provider.material()
    assert provider.loads == 2  # not on every call
    renewed = tls_ca.issue_cert("client@example.org", not_after=now + dt.timedelta(days=30))
    s3.put_object(Bucket=name, Key="b.pem", Body=_bundle(renewed))
    clock["now_ms"] += HOUR_MS  # the recheck interval passed: the renewed cert is picked up
    fresh = await provider.material()
    assert (provider.loads, fresh.not_after_ms) == (3, _not_after_ms(renewed))
    clock["now_ms"] += 10 * HOUR_MS
    assert await provider.material() is fresh
    assert provider.loads == 3


async def test_failed_reload_keeps_still_valid_material(bucket, tls_ca: trustme.CA) -> None:
    name, s3 = bucket
    now = dt.datetime.now(dt.UTC)
    leaf = tls_ca.issue_cert("client@example.org", not_after=now + dt.timedelta(hours=30))
    s3.put_object(Bucket=name, Key="b.pem", Body=_bundle(leaf))
    clock = {"now_ms": int(now.timestamp() * 1000)}
    provider = TlsProvider(TlsSettings(s3_bucket=name, s3_cert_key="b.pem"), clock_ms=lambda: clock["now_ms"])
    first = await provider.material()
    s3.delete_object(Bucket=name, Key="b.pem")
    clock["now_ms"] += 7 * HOUR_MS
    assert await provider.material() is first
    assert provider.loads == 2
    clock["now_ms"] += 24 * HOUR_MS  # now expired and still unreadable: the error surfaces
    with pytest.raises(TlsMaterialError, match="cannot read S3 object"):
        await provider.material()


def test_settings_from_env() -> None:
    env = {
        "MTLS_CERT_S3_BUCKET": "certs",
        "MTLS_CERT_S3_KEY": "dev/client-bundle.pem",
        "MTLS_CA_S3_KEY": "dev/ca.pem",
        "CERT_EXPIRY_THRESHOLD_MS": "3600000",
        "MTLS_CA_REPLACES_SYSTEM_TRUST": "true",
    }
    settings = TlsSettings.from_env(env)
    assert (settings.s3_bucket, settings.s3_cert_key, settings.s3_ca_key) == (
        "certs",
        "dev/client-bundle.pem",
        "dev/ca.pem",
    )
    assert (settings.expiry_threshold_ms, settings.ca_replaces_system_trust) == (3_600_000, True)
    assert settings.has_client_source
    assert settings.has_ca_source
    files = TlsSettings.from_env(
        {"MTLS_CERT_FILE": "c.pem", "MTLS_KEY_FILE": "k.pem", "MTLS_CA_FILE": "ca.pem"}
    )
    assert (files.cert_file, files.key_file, files.ca_file, files.ca_replaces_system_trust) == (
        "c.pem",
        "k.pem",
        "ca.pem",
        False,
    )
    assert not TlsSettings.from_env({}).has_client_source


def test_settings_report_every_problem_at_once() -> None:
    env = {
        "MTLS_KEY_FILE": "k.pem",
        "MTLS_CA_S3_KEY": "ca.pem",
        "MTLS_CERT_SECRET_ARN": "arn:x",
        "MTLS_CA_FILE": "c",
    }
    with pytest.raises(TlsMaterialError) as err:
        TlsSettings.from_env(env)
    message = str(err.value)
    for part in (
        "MTLS_KEY_FILE is set without MTLS_CERT_FILE",
        "MTLS_CA_S3_KEY is set without MTLS_CERT_S3_BUCKET",
        "both MTLS_CA_FILE and MTLS_CA_S3_KEY are set",
    ):
        assert part in message
    with pytest.raises(TlsMaterialError, match="more than one client certificate source"):
        TlsSettings(cert_file="c.pem", secret_arn="arn:x")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, DEFAULT_EXPIRY_THRESHOLD_MS),
        ("0", DEFAULT_EXPIRY_THRESHOLD_MS),
        ("NaN", DEFAULT_EXPIRY_THRESHOLD_MS),
        ("abc", DEFAULT_EXPIRY_THRESHOLD_MS),
        ("-5", DEFAULT_EXPIRY_THRESHOLD_MS),
        ("60000", 60_000),
    ],
)
def test_threshold_parsing(raw: str | None, expected: int) -> None:
    assert parse_threshold_ms(raw) == expected


def test_ca_is_added_to_the_system_store_unless_replacement_is_asked(tls_ca: trustme.CA) -> None:
    ca_pem = tls_ca.cert_pem.bytes().decode()
    system = build_client_context().cert_store_stats()["x509_ca"]
    assert build_client_context(ca_pem=ca_pem).cert_store_stats()["x509_ca"] == system + 1
    assert build_client_context(ca_pem=ca_pem, replace_system_trust=True).cert_store_stats()["x509_ca"] == 1
    with pytest.raises(TlsMaterialError, match="needs a CA"):
        build_client_context(replace_system_trust=True)


def test_mismatched_cert_and_key_are_reported(tls_client_cert, tls_ca: trustme.CA) -> None:
    other_key = tls_ca.issue_cert("x@example.org").private_key_pem.bytes().decode()
    with pytest.raises(TlsMaterialError, match="do they match"):
        build_client_context(cert_pem=tls_client_cert.cert_chain_pems[0].bytes().decode(), key_pem=other_key)
