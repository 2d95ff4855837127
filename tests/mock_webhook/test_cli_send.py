"""``callbacks send`` against a running mock: real signing, mTLS and pinning, the engine's classification."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mock_webhook import CertBundle, MockWebhook

API_KEY, APP_ID = "onboarding-key-5d1c", "onboarding-app"
SECRET = "whsec_" + base64.b64encode(b"onboarding-secret-0123456789").decode()
WRONG_PIN = "A" * 43 + "="


@pytest.fixture
def certs(bundle: CertBundle, tmp_path: Path) -> Path:
    bundle.write(tmp_path / "certs")
    return tmp_path / "certs"


async def _send(*argv: str) -> tuple[int, str]:
    """The real command in its own process. (In-process, a TLS failure can leave the engine's socket in an
    unfinished TLS shutdown when the command's event loop ends: harmless for a command that exits, but the
    garbage collector's ResourceWarning would land in whatever test runs next.)"""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "delivery.cli", "send", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def _mtls(certs: Path, *, ca: bool = True) -> list[str]:
    flags = ["--client-cert", str(certs / "client-cert.pem"), "--client-key", str(certs / "client-key.pem")]
    return flags + (["--ca", str(certs / "ca.pem")] if ca else [])


@pytest.mark.parametrize(
    ("signing", "schemes"),
    [
        (["--application-id", APP_ID], {"reference"}),
        (["--webhook-secret", SECRET], {"standard-webhooks"}),
        (["--application-id", APP_ID, "--webhook-secret", SECRET], {"reference", "standard-webhooks"}),
    ],
    ids=["reference", "standard-webhooks", "both"],
)
async def test_delivered_with_every_scheme_valid(
    bundle: CertBundle, certs: Path, signing: list[str], schemes: set[str]
) -> None:
    async with MockWebhook(mtls="required", certs=bundle) as mock:
        mock.set_credentials(
            "t1", api_key=API_KEY, application_id=APP_ID, webhook_secrets=[SECRET], enforce=True
        )
        code, out = await _send(
            "--url",
            mock.url_for("t1"),
            "--api-key",
            API_KEY,
            *signing,
            *_mtls(certs),
            "--pin",
            mock.server_pin,
        )
        [rec] = mock.requests(path="t1")
    assert code == 0, out
    assert out.splitlines()[-1] == "engine: delivered"
    assert "egress: loopback allowed" in out
    assert f"server SPKI: {mock.server_pin}" in out
    assert "pin: matches" in out
    assert "protocol: TLSv1.3" in out
    assert "status: 200" in out
    assert API_KEY not in out
    assert SECRET not in out
    assert rec.signature.valid is True
    verdicts = {part.scheme: part.verdict for part in rec.signature.schemes if part.sent}
    assert verdicts == dict.fromkeys(schemes, "valid")
    assert rec.message_id == "msg-fixture-0001"  # the sample event, transformed as the router does


async def test_wrong_pin_is_dead_lettered_with_the_pinning_code(bundle: CertBundle, certs: Path) -> None:
    async with MockWebhook(mtls="required", certs=bundle) as mock:
        code, out = await _send(
            "--url", mock.url_for("t1"), "--api-key", API_KEY, "--application-id", APP_ID, *_mtls(certs),
            "--pin", WRONG_PIN,
        )  # fmt: skip
        assert mock.requests() == []
    assert code == 1
    assert "pin: does not match" in out
    assert f"server SPKI: {mock.server_pin}" in out
    assert out.splitlines()[-1].startswith("engine: DLQ ERR_CERT_PINNING_FAILED: Certificate pinning failed")


async def test_a_server_certificate_the_client_rejects_is_dead_lettered(
    bundle: CertBundle, certs: Path
) -> None:
    async with MockWebhook(mtls="required", certs=bundle) as mock:
        code, out = await _send(
            "--url",
            mock.url_for("t1"),
            "--api-key",
            API_KEY,
            "--application-id",
            APP_ID,
            *_mtls(certs, ca=False),
        )
        [failure] = await mock.wait_for_handshakes(1)
    assert code == 1, out
    assert out.splitlines()[-1].startswith(
        "engine: DLQ SELF_SIGNED_CERT_IN_CHAIN: certificate verification failed"
    )
    assert failure.reason.startswith("the client closed the connection during the handshake")


async def test_a_client_certificate_the_mock_rejects_is_retried(
    bundle: CertBundle, foreign_bundle: CertBundle, tmp_path: Path, certs: Path
) -> None:
    foreign_bundle.write(tmp_path / "foreign")
    foreign = ["--client-cert", str(tmp_path / "foreign" / "client-cert.pem")]
    foreign += ["--client-key", str(tmp_path / "foreign" / "client-key.pem"), "--ca", str(certs / "ca.pem")]
    async with MockWebhook(mtls="required", certs=bundle) as mock:
        code, out = await _send(
            "--url", mock.url_for("t1"), "--api-key", API_KEY, "--application-id", APP_ID, *foreign
        )
        [failure] = await mock.wait_for_handshakes(1)
    assert code == 1
    assert "ECLIENTCERT_REJECTED" in out
    assert out.splitlines()[-1].startswith("engine: retry in ")  # the engine's classification: transient
    assert failure.reason.startswith("unknown CA")


async def test_a_400_is_dead_lettered_as_a_client_error(bundle: CertBundle, certs: Path) -> None:
    async with MockWebhook(mtls="required", certs=bundle) as mock:
        mock.expect("t1").respond_with(400, body={"message": "Invalid message structure"})
        code, out = await _send(
            "--url", mock.url_for("t1"), "--api-key", API_KEY, "--application-id", APP_ID, *_mtls(certs)
        )
    assert code == 1
    assert "status: 400" in out
    assert out.splitlines()[-1] == "engine: DLQ HTTP_CLIENT_ERROR: Invalid message structure"


CLIENT_FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "clients" / "mock-client-mtls.json"


async def test_from_a_client_config_and_target(bundle: CertBundle, certs: Path, tmp_path: Path) -> None:
    config = json.loads(await asyncio.to_thread(CLIENT_FIXTURE.read_text))
    async with MockWebhook(mtls="required", certs=bundle) as mock:
        target = config["targets"][0]
        target["invocationEndpoint"] = mock.url_for(target["targetId"])
        target["delivery"]["mtls"]["certPinning"]["spkiHash"] = mock.server_pin
        await asyncio.to_thread((tmp_path / "client.json").write_text, json.dumps(config))
        code, out = await _send(
            "--config", str(tmp_path / "client.json"), "--target", target["targetId"],
            "--application-id", APP_ID, "--event", "channel-status-delivered", *_mtls(certs),
        )  # fmt: skip
        [rec] = mock.requests()
    assert code == 0, out
    assert "pin: matches" in out
    assert rec.callback_type == "ChannelStatus"
    assert rec.headers["x-api-key"] == _masked(target["apiKey"]["headerValue"])


def _masked(value: str) -> str:
    import hashlib

    return "***sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
async def test_the_curl_command_sends_the_same_callback(bundle: CertBundle, certs: Path) -> None:
    async with MockWebhook(mtls="required", certs=bundle) as mock:
        mock.set_credentials(
            "t1", api_key=API_KEY, application_id=APP_ID, webhook_secrets=[SECRET], enforce=True
        )
        code, line = await _send(
            "--url", mock.url_for("t1"), "--api-key", API_KEY, "--application-id", APP_ID,
            "--webhook-secret", SECRET, *_mtls(certs), "--pin", mock.server_pin, "--curl",
        )  # fmt: skip
        assert code == 0
        assert API_KEY not in line
        assert '"x-api-key: $CALLBACKS_API_KEY"' in line
        assert mock.requests() == []  # --curl only prints
        done = await asyncio.to_thread(
            subprocess.run,
            ["sh", "-c", line],
            env={"CALLBACKS_API_KEY": API_KEY, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        [rec] = mock.requests()
    assert done.stdout == '{"message":"Callback received"}', done.stderr
    assert rec.signature.valid is True
    assert {p.scheme: p.verdict for p in rec.signature.schemes} == {
        "reference": "valid",
        "standard-webhooks": "valid",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", "http://example.org/t", "--api-key", "k"], "--url: Expected HTTPS URL"),
        (["--url", "https://127.0.0.1:1/t"], "give --config FILE --target ID, or --url URL --api-key KEY"),
        (
            ["--url", "https://127.0.0.1:1/t", "--api-key", "k"],
            "signs with the reference scheme: give --application-id",
        ),
        (["--url", "https://127.0.0.1:1/t", "--api-key", "k", "--event", "nope"], "--event nope: no "),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "delivery.cli", "send", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("callbacks send: error: ")
    assert message in line


def _send_sync(argv: list[str], allowed: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "ALLOWED_EGRESS_CIDRS"}
    if allowed is not None:
        env["ALLOWED_EGRESS_CIDRS"] = allowed
    return subprocess.run(
        [sys.executable, "-m", "delivery.cli", "send", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_a_private_address_is_refused_without_a_byte_sent() -> None:
    """Only loopback is allowed by default (SPEC P15): a private target is dead-lettered as EGRESS_DENIED."""
    done = _send_sync(["--url", "https://10.0.0.1:1/t", "--api-key", "k", "--application-id", "a"], None)
    assert done.returncode == 1, done.stderr
    assert "egress: loopback allowed" not in done.stdout
    assert done.stdout.splitlines()[-1].startswith("engine: DLQ EGRESS_DENIED: ")
    assert "10.0.0.1 is private" in done.stdout


def test_a_malformed_allowed_egress_setting_is_one_line_and_exit_2() -> None:
    done = _send_sync(["--url", "https://127.0.0.1:1/t", "--api-key", "k", "--application-id", "a"], "nope")
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert line.startswith("callbacks send: error: ALLOWED_EGRESS_CIDRS: 'nope' is not a CIDR")
