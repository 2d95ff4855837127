"""Signature and API-key verification (pure), checked against the standardwebhooks reference library."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from mock_webhook.verify import Credentials, api_key_valid, verify_signatures

BODY = b'{"data":[{"type":"MessageStatus","attributes":{"messageId":"m-1"}}]}'
SECRET_A = "whsec_" + base64.b64encode(b"secret-a-0123456789abcdef").decode()
SECRET_B = "whsec_" + base64.b64encode(b"secret-b-0123456789abcdef").decode()
NOW_S = 1_800_000_000


def _std_headers(secret: str, body: bytes = BODY, ts: int = NOW_S, msg_id: str = "evt-1") -> dict[str, str]:
    sig = Webhook(secret).sign(msg_id, dt.datetime.fromtimestamp(ts, dt.UTC), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


def _ref(body: bytes, app: str = "app", key: str = "key") -> str:
    return hmac.new(f"{app}.{key}".encode(), body, hashlib.sha256).hexdigest()


REF_CREDS = Credentials(api_key="key", application_id="app")
STD_CREDS = Credentials(webhook_secrets=(SECRET_A,))


@pytest.mark.parametrize(
    ("creds", "headers", "valid", "scheme"),
    [
        (REF_CREDS, {"x-hmac-sha256-signature": _ref(BODY)}, True, "reference"),
        (REF_CREDS, {"x-hmac-sha256-signature": _ref(BODY + b" ")}, False, "reference"),
        (REF_CREDS, {"x-hmac-sha256-signature": _ref(BODY, key="other")}, False, "reference"),
        (REF_CREDS, {}, False, "reference"),
        (STD_CREDS, _std_headers(SECRET_A), True, "standard-webhooks"),
        (STD_CREDS, _std_headers(SECRET_B), False, "standard-webhooks"),
        (STD_CREDS, {}, False, "standard-webhooks"),
        (STD_CREDS, _std_headers(SECRET_A, ts=NOW_S - 301), False, "standard-webhooks"),
        (STD_CREDS, _std_headers(SECRET_A, ts=NOW_S + 301), False, "standard-webhooks"),
        (STD_CREDS, {**_std_headers(SECRET_A), "webhook-id": "evt-2"}, False, "standard-webhooks"),
        (Credentials(), {}, None, "none"),
        (Credentials(), {"x-hmac-sha256-signature": _ref(BODY)}, None, "reference"),
    ],
    ids=[
        "ref-valid",
        "ref-other-body",
        "ref-other-key",
        "ref-missing",
        "std-valid",
        "std-wrong-secret",
        "std-missing",
        "std-too-old",
        "std-too-new",
        "std-other-id",
        "nothing",
        "ref-no-key-material",
    ],
)
def test_signature_verdicts(
    creds: Credentials, headers: dict[str, str], valid: bool | None, scheme: str
) -> None:
    verdict = verify_signatures(creds, headers, BODY, NOW_S)
    assert (verdict.valid, verdict.scheme) == (valid, scheme), verdict.detail


def test_standard_webhooks_accepts_any_of_several_signatures_and_secrets() -> None:
    """Secret rotation: the sender signs with old and new secret; the receiver knows either one."""
    both = _std_headers(SECRET_A)
    both["webhook-signature"] += " " + _std_headers(SECRET_B)["webhook-signature"]
    assert verify_signatures(Credentials(webhook_secrets=(SECRET_B,)), both, BODY, NOW_S).valid is True
    rotated = Credentials(webhook_secrets=(SECRET_B, SECRET_A))
    assert verify_signatures(rotated, _std_headers(SECRET_A), BODY, NOW_S).valid is True


def test_both_schemes_must_hold_when_both_are_configured() -> None:
    creds = Credentials(api_key="key", application_id="app", webhook_secrets=(SECRET_A,))
    headers = {**_std_headers(SECRET_A), "x-hmac-sha256-signature": _ref(BODY)}
    verdict = verify_signatures(creds, headers, BODY, NOW_S)
    assert (verdict.scheme, verdict.valid) == ("reference+standard-webhooks", True)
    headers["x-hmac-sha256-signature"] = _ref(b"tampered")
    assert verify_signatures(creds, headers, BODY, NOW_S).valid is False


def test_reference_uses_the_received_api_key_when_none_is_configured() -> None:
    creds = Credentials(application_id="app")
    headers = {"x-api-key": "sent-key", "x-hmac-sha256-signature": _ref(BODY, key="sent-key")}
    assert verify_signatures(creds, headers, BODY, NOW_S).valid is True


def test_signature_verdict_matches_the_reference_library_on_the_same_input() -> None:
    now_s = int(time.time())
    headers = _std_headers(SECRET_A, ts=now_s)
    Webhook(SECRET_A).verify(BODY, headers)  # the library (real clock) agrees the signature is valid
    assert verify_signatures(STD_CREDS, headers, BODY, now_s).valid is True
    headers["webhook-signature"] = headers["webhook-signature"][:-4] + "AAA="
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET_A).verify(BODY, headers)
    assert verify_signatures(STD_CREDS, headers, BODY, now_s).valid is False


@pytest.mark.parametrize(
    ("configured", "received", "expected"),
    [(None, "x", None), (None, None, None), ("k", "k", True), ("k", "K", False), ("k", None, False)],
)
def test_api_key_check(configured: str | None, received: str | None, expected: bool | None) -> None:
    assert api_key_valid(Credentials(api_key=configured), received) is expected


def test_bad_webhook_secret_is_rejected() -> None:
    with pytest.raises(ValueError, match="base64"):
        Credentials(webhook_secrets=("whsec_not base64!",))
