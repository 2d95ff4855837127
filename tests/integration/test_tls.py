"""mTLS and certificate pinning end to end, against real TLS handshakes on loopback."""

from __future__ import annotations

import re
import time

import pytest

from harness.mock_admin import MockAdmin, callback_path
from tests.integration.conftest import assert_dead_letter, ok

pytestmark = [pytest.mark.integration]


def _mtls_target(config: dict) -> str:
    return next(
        t["targetId"] for t in config["targets"] if t.get("delivery", {}).get("mtls", {}).get("enabled")
    )


@pytest.mark.requires("mtls")
def test_mtls_target_presents_a_verified_client_certificate(scenario, publish, role_client) -> None:
    client = role_client("mtls")
    target = _mtls_target(scenario.config(client))
    [published] = publish(client, target)
    [record] = ok(scenario.wait_all_delivered([published], timeout_s=20))
    assert record["tls"]["clientCertPresented"] is True
    assert record["tls"]["clientCertVerified"] is True
    assert record["signature"]["valid"] is True


@pytest.mark.requires("mtls-required", "dlq")
def test_endpoint_requiring_mtls_accepts_only_targets_with_a_client_cert(scenario, publish, role_client):
    client = role_client("mtls_required")
    required = MockAdmin(scenario.env.get_extra("mtls_required_mock_admin_url") or "")
    [without] = publish(client, "harness-no-client-cert", prefix="nocert")
    [with_cert] = publish(client, "harness-with-client-cert", prefix="withcert")
    [record] = required.expect(1, message_id=with_cert.message_id, timeout_s=20)
    assert record["tls"]["clientCertVerified"] is True
    [dead] = scenario.dlq_wait(client, [without.message_id], timeout_s=40)
    assert dead.attribute("ERROR_CODE") == "RETRY_WINDOW_EXHAUSTED"  # handshake rejections are transient
    assert int(dead.attribute("RETRY_ATTEMPTS") or 0) >= 2
    assert required.requests(path=callback_path("harness-no-client-cert")) == []


@pytest.mark.requires("pinning", "dlq")
def test_pin_mismatch_is_dead_lettered_before_any_request(scenario, publish, role_client) -> None:
    client = role_client("wrong_pin")
    published_ms = time.time() * 1000
    [published] = publish(client)
    [dead] = scenario.dlq_wait(client, [published.message_id], timeout_s=20)
    target = next(t for t in scenario.config(client)["targets"] if t["targetId"] == published.target_id)
    pin = target["delivery"]["mtls"]["certPinning"]["spkiHash"]
    pinned = re.escape(pin)  # the actual pin: another base64 SHA-256, not the pinned one
    expected = re.compile(
        f"Certificate pinning failed: expected SPKI hash '{pinned}', got '(?!{pinned}')[A-Za-z0-9+/]{{43}}='"
    )
    assert_dead_letter(
        dead, client=client, target=published.target_id or "", code="ERR_CERT_PINNING_FAILED",
        error_message=expected, attempts=1, received_between_ms=(published_ms, time.time() * 1000),
    )  # fmt: skip
    assert scenario.mock.requests(path=callback_path(published.target_id or "")) == []
