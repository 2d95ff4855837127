"""The pure inputs of ``callbacks send``: a target from flags (or a config), a payload from a sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delivery.config.adhoc import (
    TargetFlags,
    TargetNotFound,
    config_with_target,
    target_from_flags,
    target_in,
)
from delivery.errors import ConfigValidationError
from delivery.router.payload import build_callback
from delivery.router.sample import SampleError, sample_envelope
from delivery.router.validation import validate_event

EVENTS = Path(__file__).resolve().parents[2] / "fixtures" / "events"
SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="
PIN = "B" * 43 + "="


@pytest.mark.parametrize(
    ("app_id", "secrets", "scheme", "with_reference"),
    [
        ("app", (), "reference", False),
        (None, (SECRET,), "standard-webhooks", False),
        ("app", (SECRET,), "standard-webhooks", True),
    ],
)
def test_flags_choose_the_signing_scheme(
    app_id: str | None, secrets: tuple[str, ...], scheme: str, with_reference: bool
) -> None:
    flags = TargetFlags("https://127.0.0.1:8443/t", "key", application_id=app_id, webhook_secrets=secrets)
    signing = target_from_flags(flags).delivery.signing
    assert (signing.scheme, signing.include_reference_header) == (scheme, with_reference)


def test_flags_set_mtls_and_every_pin() -> None:
    target = target_from_flags(TargetFlags("https://h.example/t", "k", mtls=True, pins=(PIN, "C" * 43 + "=")))
    assert target.delivery.mtls.enabled
    assert target.delivery.mtls.cert_pinning.pins == (PIN, "C" * 43 + "=")
    assert target_from_flags(TargetFlags("https://h.example/t", "k")).delivery.mtls.cert_pinning.pins == ()


def test_bad_flags_are_reported_by_their_config_path() -> None:
    with pytest.raises(ConfigValidationError) as caught:
        target_from_flags(TargetFlags("http://h.example/t", "k", pins=("nope",)))
    paths = [issue.path for issue in caught.value.issues]
    assert any("invocationEndpoint" in p for p in paths)
    assert any("certPinning" in p for p in paths)


def test_a_missing_target_names_the_ones_there_are() -> None:
    config = config_with_target(
        {"targetId": "t-1", "type": "API", "invocationEndpoint": "https://h.example/t",
         "invocationMethod": "POST", "invocationRateLimit": 1,
         "apiKey": {"headerName": "x-api-key", "headerValue": "k"}}
    )  # fmt: skip
    assert target_in(config, "t-1").target_id == "t-1"
    with pytest.raises(TargetNotFound, match="its targets: t-1"):
        target_in(config, "t-2")


def test_a_status_event_becomes_the_callback_the_router_would_send() -> None:
    text = (EVENTS / "message-status-delivered.json").read_text()
    event = validate_event(json.loads(text))
    expected = build_callback(event, "/v1/message-batches")  # type: ignore[arg-type]
    envelope = sample_envelope(text, "target-x")
    assert envelope.payload_bytes == expected.payload_json.encode()
    assert (envelope.target_id, envelope.idempotency_key) == ("target-x", expected.idempotency_key)
    assert envelope.correlation_id == "msg-fixture-0001"


def test_an_envelope_or_a_callback_payload_is_used_as_it_is() -> None:
    payload = {"data": [{"type": "MessageStatus", "attributes": {"messageId": "m-9"}, "meta": {}}]}
    for doc in (payload, {"payload": payload, "subscriptionId": "s", "targetId": "other"}):
        envelope = sample_envelope(json.dumps(doc), "t")
        assert envelope.payload == payload
        assert envelope.correlation_id == "m-9"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"hello": 1}', "expected a status event"),
        ('{"data": []}', "the engine would dead-letter this payload: payload.data must hold exactly 1 item"),
        ((EVENTS / "invalid-channel-without-type.json").read_text(), "data.channels[0].type: is required"),
    ],
)
def test_samples_that_cannot_be_delivered_say_why(text: str, message: str) -> None:
    with pytest.raises(SampleError) as caught:
        sample_envelope(text, "t")
    assert message in str(caught.value)


def test_a_trial_allows_loopback_plus_the_allowed_egress_setting() -> None:
    from delivery.runtime.trial import trial_egress

    default = trial_egress(None)
    assert default.url_problem("https://127.0.0.1:8443/t") is None
    assert default.url_problem("https://[::1]:8443/t") is None
    assert default.url_problem("https://localhost:8443/t") is None
    assert default.url_problem("https://10.1.2.3/t") is not None
    assert default.url_problem("https://169.254.169.254/t") is not None  # metadata: never
    widened = trial_egress("10.0.0.0/8")
    assert widened.url_problem("https://10.1.2.3/t") is None
    assert widened.url_problem("https://127.0.0.1/t") is None
