"""`callbacks targets ...`: add/del/list, mTLS and pinning switches, SPKI extraction, warnings, refusals."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import trustme

from delivery.transport.spki import spki_pin_of_pem
from tests.manage.helpers import SAMPLE_PIN, TARGET_ID, Cli, bare_target, sample_config
from tests.transport.openssl_certs import issue_explicit_ec_leaf, openssl_pin

ADD = ("targets", "add", "--client", "c1", "--endpoint", "https://hooks.example/cb", "--api-key", "k-1")


def _target(cli: Cli, target_id: str, client_id: str = "c1") -> dict:
    doc = cli.stored(client_id)
    assert doc is not None
    return next(t for t in doc["targets"] if t["targetId"] == target_id)


def _with_bare_target(cli: Cli) -> None:
    cli.put({"clientId": "c1", "subscriptions": [], "targets": [bare_target("t1")]})


def test_add_creates_config_with_uuid_target_and_default_header(cli: Cli) -> None:
    result = cli(*ADD, "--rate-limit", "10", "--output", "json")
    assert result.rc == 0, result.err
    target_id = result.json()["targetId"]
    assert uuid.UUID(target_id).version == 4
    target = _target(cli, target_id)
    assert target["apiKey"] == {"headerName": "x-api-key", "headerValue": "k-1"}
    assert target["invocationRateLimit"] == 10
    assert target["delivery"]["mtls"] == {"enabled": False, "certPinning": {"enabled": False}}
    assert "WARNING: mTLS is disabled — callbacks will not use mutual TLS" in result.err


def test_add_with_explicit_id_header_and_mtls_warns_pinning_off(cli: Cli) -> None:
    result = cli(*ADD, "--rate-limit", "2.5", "--target", "t9", "--api-key-header", "x-key", "--mtls")
    assert result.rc == 0, result.err
    assert "Target t9 added for client c1" in result.out
    target = _target(cli, "t9")
    assert target["apiKey"]["headerName"] == "x-key"
    assert target["invocationRateLimit"] == 2.5
    assert result.err.strip() == "WARNING: mTLS is enabled but certificate pinning is disabled"


def test_add_pinning_without_mtls_warns(cli: Cli) -> None:
    result = cli(*ADD, "--rate-limit", "1", "--target", "t1", "--pinning", "--spki-hash", SAMPLE_PIN)
    assert result.rc == 0, result.err
    assert "WARNING: Certificate pinning is enabled but mTLS is disabled" in result.err
    assert _target(cli, "t1")["delivery"]["mtls"]["certPinning"] == {"enabled": True, "spkiHash": SAMPLE_PIN}


def test_add_short_retry_window_warns(cli: Cli) -> None:
    result = cli(*ADD, "--rate-limit", "1", "--max-retry-seconds", "30", "--mtls")
    assert result.rc == 0, result.err
    assert (
        "WARNING: maxRetryDurationSeconds is 30s — values below 60s may exhaust the retry window"
        in result.err
    )


def test_add_refuses_pinning_without_hash(cli: Cli) -> None:
    result = cli(*ADD, "--rate-limit", "1", "--pinning")
    assert result.rc == 1
    assert "Certificate pinning cannot be enabled without an SPKI hash" in result.err
    assert cli.snapshot() == {}


def test_add_refuses_invalid_target_with_paths(cli: Cli) -> None:
    result = cli(
        "targets", "add", "--client", "c1", "--endpoint", "http://plain.example", "--api-key", "k",
        "--rate-limit", "0", "--spki-hash", "not-a-hash",
    )  # fmt: skip
    assert result.rc == 1
    assert "Config validation failed:" in result.err
    assert "targets.0.invocationEndpoint: Expected HTTPS URL" in result.err
    assert "targets.0.delivery.mtls.certPinning.spkiHash: Invalid SPKI hash" in result.err
    assert "targets.0.invocationRateLimit:" in result.err
    assert cli.snapshot() == {}


def test_add_refuses_duplicate_target_id(cli: Cli) -> None:
    cli.put(sample_config("c1"))
    before = cli.snapshot()
    result = cli(*ADD, "--rate-limit", "1", "--target", TARGET_ID)
    assert result.rc == 1
    assert f"Target '{TARGET_ID}' already exists for client 'c1'" in result.err
    assert cli.snapshot() == before


def test_del_refuses_referenced_target_and_lists_subscriptions(cli: Cli) -> None:
    cli.put(sample_config("c1"))
    before = cli.snapshot()
    result = cli("targets", "del", "--client", "c1", "--target", TARGET_ID)
    assert result.rc == 1
    assert f"Cannot delete target {TARGET_ID}: still referenced by subscriptions sub-msg-001, sub-ch-001" in (
        result.err
    )
    assert cli.snapshot() == before


def test_del_unreferenced_and_missing_target(cli: Cli) -> None:
    _with_bare_target(cli)
    assert cli("targets", "del", "--client", "c1", "--target", "t1").rc == 0
    assert cli.stored("c1") == {"clientId": "c1", "subscriptions": [], "targets": []}
    before = cli.snapshot()
    missing = cli("targets", "del", "--client", "c1", "--target", "t1")  # idempotent, as the reference
    assert (missing.rc, missing.out) == (0, "")
    assert missing.err == "WARNING: Target 't1' not found for client 'c1' — nothing deleted\n"
    assert cli.snapshot() == before


def test_list_text_and_json_mask_the_api_key(cli: Cli) -> None:
    cli.put(sample_config("c1"))
    text = cli("targets", "list", "--client", "c1")
    assert text.rc == 0
    assert text.out.startswith(
        f"{TARGET_ID}  https://webhooks.acme.example/notify  rate=20/s  mtls=on pinning=on"
    )
    assert "acme-secret-123" not in text.out
    listed = cli("targets", "list", "--client", "c1", "--output", "json").json()
    assert listed[0]["apiKey"] == {"headerName": "x-api-key", "headerValue": "****"}
    assert "acme-secret-123" not in json.dumps(listed)


def test_set_mtls_enable_and_disable_warn(cli: Cli) -> None:
    _with_bare_target(cli)
    on = cli("targets", "set-mtls", "--client", "c1", "--target", "t1", "--enable")
    assert on.rc == 0, on.err
    assert "mTLS enabled for target t1" in on.out
    assert on.err.strip() == "WARNING: mTLS is enabled but certificate pinning is disabled"
    assert _target(cli, "t1")["delivery"]["mtls"]["enabled"] is True

    off = cli("targets", "set-mtls", "--client", "c1", "--target", "t1", "--no-enable")
    assert off.rc == 0
    assert off.err.strip() == "WARNING: Disabling mTLS — callbacks will not use mutual TLS"
    assert _target(cli, "t1")["delivery"]["mtls"]["enabled"] is False


def test_set_pinning_refuses_without_hash_and_names_the_command(cli: Cli) -> None:
    _with_bare_target(cli)
    before = cli.snapshot()
    result = cli("targets", "set-pinning", "--client", "c1", "--target", "t1", "--enable")
    assert result.rc == 1
    assert "Target 't1' has no SPKI hash stored" in result.err
    assert "callbacks targets set-certificate --client c1 --target t1 --pem" in result.err
    assert cli.snapshot() == before


def test_set_pinning_after_certificate_then_disable(
    cli: Cli, tls_server_cert: trustme.LeafCert, tmp_path: Path
) -> None:
    _with_bare_target(cli)
    pem = tmp_path / "server.pem"
    tls_server_cert.cert_chain_pems[0].write_to_path(str(pem))
    assert cli("targets", "set-certificate", "--client", "c1", "--target", "t1", "--pem", str(pem)).rc == 0
    assert cli("targets", "set-mtls", "--client", "c1", "--target", "t1", "--enable").rc == 0

    on = cli("targets", "set-pinning", "--client", "c1", "--target", "t1", "--enable")
    assert on.rc == 0, on.err
    assert "Certificate pinning enabled for target t1" in on.out
    assert on.err == ""
    assert _target(cli, "t1")["delivery"]["mtls"]["certPinning"]["enabled"] is True

    off = cli("targets", "set-pinning", "--client", "c1", "--target", "t1", "--no-enable")
    assert off.rc == 0
    assert "WARNING: Disabling certificate pinning" in off.err
    assert "WARNING: mTLS is enabled but certificate pinning is disabled" in off.err


def test_set_pinning_on_without_mtls_warns(cli: Cli) -> None:
    cli.put(sample_config("c1"))
    assert cli("targets", "set-mtls", "--client", "c1", "--target", TARGET_ID, "--no-enable").rc == 0
    result = cli("targets", "set-pinning", "--client", "c1", "--target", TARGET_ID, "--enable")
    assert result.rc == 0
    assert "WARNING: Certificate pinning is enabled but mTLS is disabled" in result.err


def test_set_certificate_prints_the_spki_pin_and_creates_disabled_blocks(
    cli: Cli, tls_server_cert: trustme.LeafCert, tmp_path: Path
) -> None:
    _with_bare_target(cli)
    pem_bytes = tls_server_cert.cert_chain_pems[0].bytes()
    pem = tmp_path / "server.pem"
    pem.write_bytes(pem_bytes)
    result = cli("targets", "set-certificate", "--client", "c1", "--target", "t1", "--pem", str(pem))
    assert result.rc == 0, result.err
    expected = spki_pin_of_pem(pem_bytes)
    assert result.out.splitlines()[0] == f"Extracted SPKI hash: {expected}"
    mtls = _target(cli, "t1")["delivery"]["mtls"]
    assert mtls == {"enabled": False, "certPinning": {"enabled": False, "spkiHash": expected}}


def test_set_certificate_keeps_other_fields(
    cli: Cli, tls_server_cert: trustme.LeafCert, tmp_path: Path
) -> None:
    cli.put(sample_config("c1"))
    pem = tmp_path / "server.pem"
    tls_server_cert.cert_chain_pems[0].write_to_path(str(pem))
    result = cli(
        "targets",
        "set-certificate",
        "--client",
        "c1",
        "--target",
        TARGET_ID,
        "--pem",
        str(pem),
        "--output",
        "json",
    )
    assert result.rc == 0, result.err
    pin = result.json()["spkiHash"]
    assert pin != SAMPLE_PIN
    expected = sample_config("c1")
    expected["targets"][0]["delivery"]["mtls"]["certPinning"]["spkiHash"] = pin
    assert cli.stored("c1") == expected


@pytest.mark.parametrize(
    "content",
    [None, b"not a certificate\n", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
)
def test_set_certificate_refuses_unreadable_pem(cli: Cli, tmp_path: Path, content: bytes | None) -> None:
    _with_bare_target(cli)
    before = cli.snapshot()
    pem = tmp_path / "bad.pem"
    if content is not None:
        pem.write_bytes(content)
    result = cli("targets", "set-certificate", "--client", "c1", "--target", "t1", "--pem", str(pem))
    assert result.rc == 1
    assert "bad.pem" in result.err
    assert "Extracted SPKI hash" not in result.out
    assert cli.snapshot() == before


def test_commands_on_missing_client_or_target(cli: Cli) -> None:
    result = cli("targets", "set-mtls", "--client", "ghost", "--target", "t1", "--enable")
    assert result.rc == 1
    assert "No configuration found for client 'ghost'" in result.err
    _with_bare_target(cli)
    result = cli("targets", "set-pinning", "--client", "c1", "--target", "nope", "--no-enable")
    assert result.rc == 1
    assert "Target 'nope' not found for client 'c1'" in result.err


def test_add_reads_api_key_from_environment(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    base = ("targets", "add", "--client", "c1", "--endpoint", "https://h.example", "--rate-limit", "1")
    unset = cli(*base, "--api-key-env", "CALLBACKS_TEST_UNSET_KEY")
    assert unset.rc == 1
    assert "CALLBACKS_TEST_UNSET_KEY is not set" in unset.err
    monkeypatch.setenv("CALLBACKS_TEST_KEY", "from-env")
    result = cli(*base, "--api-key-env", "CALLBACKS_TEST_KEY", "--target", "t1")
    assert result.rc == 0, result.err
    assert _target(cli, "t1")["apiKey"]["headerValue"] == "from-env"


def test_set_certificate_hashes_the_spki_as_written_explicit_ec_parameters(cli: Cli, tmp_path: Path) -> None:
    """SPEC G.4: the stored pin is what openssl computes from the certificate, also for an EC key with
    explicit curve parameters (a re-encoded key would hash differently and never match at run time)."""
    issued = issue_explicit_ec_leaf(tmp_path)
    _with_bare_target(cli)
    result = cli("targets", "set-certificate", "--client", "c1", "--target", "t1", "--pem", str(issued.cert))
    assert result.rc == 0, result.err
    expected = openssl_pin(issued.cert)
    assert result.out.splitlines()[0] == f"Extracted SPKI hash: {expected}"
    assert _target(cli, "t1")["delivery"]["mtls"]["certPinning"]["spkiHash"] == expected
