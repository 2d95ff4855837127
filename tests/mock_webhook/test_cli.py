"""The ``mock-webhook`` command: ``certs init`` / ``certs pin`` in-process, ``serve`` in a subprocess."""

from __future__ import annotations

import json
import signal
import ssl
import stat
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from delivery.transport.spki import spki_pin_of_pem
from harness.processes import ManagedProcess
from mock_webhook.certs import ALL_FILES, PRIVATE_FILES
from mock_webhook.cli import main
from tests.mock_webhook.conftest import callback_body


def test_certs_init_writes_every_file_with_private_modes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "certs"
    assert main(["certs", "init", str(out_dir), "--host", "mock.example.test"]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(ALL_FILES)
    for name in ALL_FILES:
        mode = stat.S_IMODE((out_dir / name).stat().st_mode)
        assert mode == (0o600 if name in PRIVATE_FILES else 0o644), name
    bundle = (out_dir / "client-bundle.pem").read_text()
    assert "BEGIN CERTIFICATE" in bundle
    assert "PRIVATE KEY" in bundle
    pin = spki_pin_of_pem((out_dir / "server-cert.pem").read_bytes())  # the delivery side's computation
    assert f"server SPKI pin: {pin}" in printed
    server = x509.load_pem_x509_certificate((out_dir / "server-cert.pem").read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "mock.example.test"} <= set(sans.get_values_for_type(x509.DNSName))
    key = server.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"


def test_certs_init_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certs", "init", str(tmp_path)]) == 0
    before = (tmp_path / "ca.pem").read_bytes()
    assert main(["certs", "init", str(tmp_path)]) == 2
    assert "already exist" in capsys.readouterr().err
    assert (tmp_path / "ca.pem").read_bytes() == before
    assert main(["certs", "init", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "ca.pem").read_bytes() != before


def test_certs_pin_matches_delivery_spki(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["certs", "init", str(tmp_path)])
    capsys.readouterr()
    for name in ("server-cert.pem", "client-cert.pem", "ca.pem"):
        assert main(["certs", "pin", str(tmp_path / name)]) == 0
        assert capsys.readouterr().out.strip() == spki_pin_of_pem((tmp_path / name).read_bytes())
    assert main(["certs", "pin", str(tmp_path / "missing.pem")]) == 2


def _https_post(url: str, certs: Path, body: bytes) -> tuple[int, bytes]:
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.load_cert_chain(certs / "client-cert.pem", certs / "client-key.pem")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read()


def test_serve_ready_file_requests_and_clean_sigterm(tmp_path: Path) -> None:
    certs, ready = tmp_path / "certs", tmp_path / "ready.json"
    faults = tmp_path / "faults.yaml"
    faults.write_text(
        yaml.safe_dump({"/scripted": {"steps": [{"status": 503, "headers": {"Retry-After": "4"}}]}})
    )
    argv = [sys.executable, "-m", "mock_webhook.cli", "serve", "--port", "0", "--admin-port", "0"]
    argv += ["--certs", str(certs), "--mtls", "required", "--faults", str(faults), "--ready-file", str(ready)]
    proc = ManagedProcess(argv, log_path=tmp_path / "serve.log")
    try:
        proc.wait_ready(ready.exists, timeout_s=30, what="mock-webhook serve")
        info = json.loads(ready.read_text())
        assert set(info) >= {"url", "adminUrl", "caPath", "serverPin", "pid"}
        assert info["pid"] == proc.pid
        assert info["caPath"] == str(certs / "ca.pem")
        assert info["serverPin"] == spki_pin_of_pem((certs / "server-cert.pem").read_bytes())
        assert _https_post(info["url"] + "/t1", certs, callback_body("cli-1"))[0] == 200
        assert _https_post(info["url"] + "/scripted", certs, callback_body("cli-2"))[0] == 503
        wait_url = info["adminUrl"] + "/requests/wait?count=2&timeout=5"
        with urllib.request.urlopen(wait_url, timeout=10) as resp:
            data = json.loads(resp.read())
        assert [r["messageId"] for r in data["requests"]] == ["cli-1", "cli-2"]
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.proc.wait(timeout=10) == 0
    finally:
        proc.close()
    assert "mock-webhook stopped" in (tmp_path / "serve.log").read_text()


def test_serve_rejects_a_bad_fault_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"/x": {"steps": [{"status": 42}]}}))
    code = main(
        ["serve", "--port", "0", "--admin-port", "0", "--certs", str(tmp_path / "c"), "--faults", str(faults)]
    )
    assert code == 2
    assert "/x.steps.0.status: must be an HTTP status 100..599" in capsys.readouterr().err
