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


# -- verdicts per scheme: every combination of what is configured and what is sent -------------------------
BOTH_CREDS = Credentials(api_key="key", application_id="app", webhook_secrets=(SECRET_A,))
SENT = {
    "nothing": {},
    "ref": {"x-hmac-sha256-signature": _ref(BODY)},
    "ref-bad": {"x-hmac-sha256-signature": _ref(b"other")},
    "std": _std_headers(SECRET_A),
    "std-bad": _std_headers(SECRET_B),
    "both": {**_std_headers(SECRET_A), "x-hmac-sha256-signature": _ref(BODY)},
    "std+ref-bad": {**_std_headers(SECRET_A), "x-hmac-sha256-signature": _ref(b"other")},
    "ref+std-bad": {**_std_headers(SECRET_B), "x-hmac-sha256-signature": _ref(BODY)},
}
CONFIGURED = {"ref": REF_CREDS, "std": STD_CREDS, "both": BOTH_CREDS, "none": Credentials()}
# configured, sent -> overall valid, {scheme: verdict} ("ref"/"std" short for the two schemes)
COMBINATIONS = [
    ("ref", "nothing", False, {"ref": "missing"}),
    ("ref", "ref", True, {"ref": "valid"}),
    ("ref", "ref-bad", False, {"ref": "invalid"}),
    ("ref", "std", None, {"ref": "missing", "std": "unchecked"}),
    ("ref", "both", None, {"ref": "valid", "std": "unchecked"}),  # half of it cannot be checked
    ("std", "nothing", False, {"std": "missing"}),
    ("std", "ref", None, {"ref": "unchecked", "std": "missing"}),
    ("std", "std", True, {"std": "valid"}),
    ("std", "std-bad", False, {"std": "invalid"}),
    ("std", "both", None, {"ref": "unchecked", "std": "valid"}),
    ("both", "nothing", False, {"ref": "missing", "std": "missing"}),
    ("both", "ref", True, {"ref": "valid", "std": "missing"}),  # a reference-scheme sender
    ("both", "std", True, {"ref": "missing", "std": "valid"}),  # the engine's default layout
    ("both", "both", True, {"ref": "valid", "std": "valid"}),
    ("both", "ref-bad", False, {"ref": "invalid", "std": "missing"}),
    ("both", "std-bad", False, {"ref": "missing", "std": "invalid"}),
    ("both", "std+ref-bad", False, {"ref": "invalid", "std": "valid"}),
    ("both", "ref+std-bad", False, {"ref": "valid", "std": "invalid"}),
    ("none", "nothing", None, {}),
    ("none", "both", None, {"ref": "unchecked", "std": "unchecked"}),
]
SHORT = {"ref": "reference", "std": "standard-webhooks"}


@pytest.mark.parametrize(
    ("configured", "sent", "valid", "verdicts"),
    COMBINATIONS,
    ids=[f"{c}-sends-{s}" for c, s, *_ in COMBINATIONS],
)
def test_each_scheme_gets_its_own_verdict(
    configured: str, sent: str, valid: bool | None, verdicts: dict[str, str]
) -> None:
    verdict = verify_signatures(CONFIGURED[configured], SENT[sent], BODY, NOW_S)
    assert verdict.valid is valid, verdict.detail
    assert {p.scheme: p.verdict for p in verdict.schemes} == {SHORT[k]: v for k, v in verdicts.items()}
    json_schemes = verdict.to_json()["schemes"]
    assert isinstance(json_schemes, dict)
    assert {k: v["verdict"] for k, v in json_schemes.items()} == {SHORT[k]: v for k, v in verdicts.items()}


@pytest.mark.parametrize(
    ("schemes", "sent", "valid"),
    [
        (
            ("standard-webhooks",),
            "ref",
            False,
        ),  # the config says Standard Webhooks: a reference-only request fails
        (("standard-webhooks",), "std", True),
        (("reference", "standard-webhooks"), "std", False),  # includeReferenceHeader: both are owed
        (("reference", "standard-webhooks"), "both", True),
        (("reference",), "both", True),
    ],
)
def test_explicit_schemes_are_all_owed(schemes: tuple[str, ...], sent: str, valid: bool) -> None:
    creds = Credentials(api_key="key", application_id="app", webhook_secrets=(SECRET_A,), schemes=schemes)
    verdict = verify_signatures(creds, SENT[sent], BODY, NOW_S)
    assert verdict.valid is valid, verdict.detail
    assert {p.scheme for p in verdict.schemes if p.required} == set(schemes)


def test_a_failure_says_which_scheme_and_why() -> None:
    verdict = verify_signatures(BOTH_CREDS, SENT["std-bad"], BODY, NOW_S)
    assert (
        verdict.detail == "standard-webhooks invalid: no webhook-signature entry matches a configured secret"
    )
    partial = {"webhook-id": "evt-1", "webhook-signature": "v1,AAAA"}
    detail = verify_signatures(STD_CREDS, partial, BODY, NOW_S).detail
    assert detail == "standard-webhooks invalid: missing webhook-timestamp"


def test_unknown_scheme_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown signature scheme"):
        Credentials(schemes=("hmac-md5",))
