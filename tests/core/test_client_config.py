"""Client config models: reference JSON accepted unchanged, every problem reported with its path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from delivery.config.client import (
    CallbackTarget,
    ClientConfig,
    ConfigValidationError,
    parse_client_config,
)
from delivery.errors import ConfigError, ConfigIssue

PIN = "KL/yFsVH+gnkkzdQ+DSlV8xMQOMehksgT6aOqQviOu8="
TARGET_ID = "7d3c1f0e-2b1a-4c55-9d0e-1a2b3c4d5e6f"
REFERENCE_CONFIG = Path(__file__).parents[2] / "fixtures" / "reference" / "spec-a4-acme-health.json"


def reference_doc() -> dict[str, Any]:
    """SPEC A.4, verbatim (a fresh copy each call)."""
    doc: dict[str, Any] = json.loads(REFERENCE_CONFIG.read_text())
    return doc


def issues_of(doc: object, *, strict: bool = False) -> set[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ConfigValidationError) as info:
        parse_client_config(doc, strict=strict)
    return {(issue.path, issue.message) for issue in info.value.issues}


def test_reference_example_parses_with_snake_case_attributes() -> None:
    config = parse_client_config(reference_doc())
    target = config.target(TARGET_ID)
    assert isinstance(target, CallbackTarget)
    assert config.client_id == "acme-health"
    assert target.invocation_rate_limit == 20
    assert target.api_key.header_name == "x-api-key"
    assert target.delivery.max_retry_duration_seconds == 3600
    assert target.delivery.circuit_breaker.enabled is True
    assert target.delivery.mtls.cert_pinning.pins == (PIN,)
    assert target.delivery.signing.scheme == "reference"
    assert config.subscriptions[1].subscription_type == "ChannelStatus"
    assert config.target("nope") is None


def test_round_trip_gives_the_reference_json_back() -> None:
    doc = reference_doc()
    assert parse_client_config(doc).to_json_dict() == doc


def test_absent_delivery_means_reference_defaults_and_is_not_written_back() -> None:
    doc = reference_doc()
    del doc["targets"][0]["delivery"]
    config = parse_client_config(doc)
    delivery = config.targets[0].delivery
    assert delivery.max_retry_duration_seconds == 7200
    assert delivery.circuit_breaker.enabled is False
    assert delivery.mtls.enabled is False
    assert delivery.mtls.cert_pinning.pins == ()
    assert delivery.rate_limit.burst is None
    assert config.to_json_dict() == doc


def test_unknown_keys_are_ignored_by_default_and_reported_in_strict_mode() -> None:
    doc = reference_doc()
    doc["owner"] = "team-a"
    doc["targets"][0]["description"] = "primary"
    doc["targets"][0]["delivery"]["mtls"]["certPinning"]["note"] = "x"
    config = parse_client_config(doc)
    assert "owner" not in config.to_json_dict()
    assert issues_of(doc, strict=True) == {
        (("owner",), "Unrecognized key"),
        (("targets", 0, "description"), "Unrecognized key"),
        (("targets", 0, "delivery", "mtls", "certPinning", "note"), "Unrecognized key"),
    }


def _with(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    doc = reference_doc()
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


T0 = ("targets", 0)
PINNING = (*T0, "delivery", "mtls", "certPinning")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ((*T0, "invocationEndpoint"), "http://webhooks.acme.example/x", "Expected HTTPS URL"),
        ((*T0, "invocationEndpoint"), "not a url", "Expected HTTPS URL"),
        ((*T0, "invocationEndpoint"), "https://", "Expected HTTPS URL"),
        ((*T0, "invocationEndpoint"), 5, "Expected string, received number"),
        ((*PINNING, "spkiHash"), "abc", "Invalid SPKI hash"),
        ((*PINNING, "spkiHash"), PIN[:-1] + "A", "Invalid SPKI hash"),
        ((*PINNING, "spkiHash"), KeyError, "spkiHash is required when certPinning is enabled"),
        ((*T0, "delivery", "maxRetryDurationSeconds"), 0, "Number must be greater than 0"),
        ((*T0, "delivery", "maxRetryDurationSeconds"), 43201, "Number must be less than or equal to 43200"),
        ((*T0, "invocationRateLimit"), 0, "Number must be greater than 0"),
        ((*T0, "invocationRateLimit"), -1.5, "Number must be greater than 0"),
        ((*T0, "invocationRateLimit"), "20", "Expected number, received string"),
        ((*T0, "invocationRateLimit"), True, "Expected number, received boolean"),
        ((*T0, "invocationRateLimit"), KeyError, "Required"),
        ((*T0, "type"), "SQS", "Invalid enum value. Expected 'API', received 'SQS'"),
        ((*T0, "apiKey", "headerName"), "", "Expected a non-empty HTTP header name"),
        (("clientId",), "", "String must contain at least 1 character(s)"),
        (("subscriptions", 0, "targetIds"), [], "Array must contain at least 1 element(s)"),
        (
            ("subscriptions", 0, "subscriptionType"),
            "Other",
            "Invalid discriminator value. Expected 'MessageStatus' | 'ChannelStatus'",
        ),
        ((*T0, "delivery", "rateLimit"), {"burst": 0}, None),
        ((*T0, "delivery", "circuitBreaker"), {"enabled": True, "failureThreshold": 1.5}, None),
    ],
)
def test_single_problem_reported_at_its_path(
    path: tuple[str | int, ...], value: object, message: str | None
) -> None:
    issues = issues_of(_with(path, value))
    assert len(issues) == 1
    ((got_path, got_message),) = issues
    if message is None:  # nested object: path points inside it
        assert got_path[: len(path)] == path
    else:
        assert (got_path, got_message) == (path, message)


def test_cross_field_rules_are_all_reported_with_reference_messages() -> None:
    doc = reference_doc()
    doc["subscriptions"].append(copy.deepcopy(doc["subscriptions"][0]))  # duplicate id at index 2
    doc["subscriptions"][2]["targetIds"] = [TARGET_ID, "ghost"]
    doc["targets"].append(copy.deepcopy(doc["targets"][0]))
    assert issues_of(doc) == {
        (("subscriptions", 2, "subscriptionId"), "Expected subscriptionId to be unique"),
        (("targets", 1, "targetId"), "Expected targetId to be unique"),
        (("subscriptions", 2, "targetIds", 1), 'targetId "ghost" not found in targets'),
    }


def test_one_error_lists_structural_and_cross_field_problems_together() -> None:
    doc = reference_doc()
    doc["targets"][0]["invocationEndpoint"] = "ftp://x"
    doc["subscriptions"][0]["targetIds"] = ["ghost"]
    with pytest.raises(ConfigValidationError) as info:
        parse_client_config(doc)
    err = info.value
    assert isinstance(err, ConfigError)
    assert str(err).splitlines() == [
        "targets.0.invocationEndpoint: Expected HTTPS URL",
        'subscriptions.0.targetIds.0: targetId "ghost" not found in targets',
    ]


@pytest.mark.parametrize("doc", [None, [], "x", 3])
def test_non_object_document(doc: object) -> None:
    assert issues_of(doc) == {((), f"Expected object, received {_js_type(doc)}")}


def _js_type(value: object) -> str:
    return {type(None): "null", list: "array", str: "string", int: "number"}[type(value)]


def test_new_optional_fields_parse_and_round_trip() -> None:
    doc = reference_doc()
    doc["targets"][0]["delivery"].update(
        {
            "rateLimit": {"burst": 7},
            "circuitBreaker": {
                "enabled": True,
                "failureThreshold": 0.5,
                "minAttempts": 3,
                "samplePeriodSeconds": 10,
                "cooldownSeconds": 2,
                "recoverySeconds": 0,
            },
            "signing": {
                "scheme": "standard-webhooks",
                "secrets": ["env:ACME_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                "includeReferenceHeader": True,
            },
            "timeoutSeconds": 5,
            "connectTimeoutSeconds": 1.5,
        }
    )
    doc["targets"][0]["delivery"]["mtls"]["certPinning"]["spkiHashes"] = ["A" * 43 + "=", PIN]
    config = parse_client_config(doc, strict=True)
    delivery = config.targets[0].delivery
    assert delivery.rate_limit.burst == 7
    assert delivery.circuit_breaker.cooldown_seconds == 2
    assert delivery.signing.secrets[0] == "env:ACME_WEBHOOK_SECRET"
    assert delivery.mtls.cert_pinning.pins == (PIN, "A" * 43 + "=")
    assert "whsec_" not in repr(config)
    assert "acme-secret-123" not in repr(config)
    assert config.to_json_dict() == doc


def test_standard_webhooks_requires_a_well_formed_secret() -> None:
    signing = (*T0, "delivery", "signing")
    assert issues_of(_with(signing, {"scheme": "standard-webhooks"})) == {
        ((*signing, "secrets"), "At least one secret is required for standard-webhooks signing")
    }
    assert issues_of(_with(signing, {"scheme": "standard-webhooks", "secrets": ["hunter2"]})) == {
        ((*signing, "secrets", 0), "Expected env:<VARIABLE> or whsec_<base64> secret")
    }


def test_models_are_frozen_and_constructible_by_python_name() -> None:
    config = parse_client_config(reference_doc())
    with pytest.raises(ValueError, match="frozen"):
        config.client_id = "other"
    rebuilt = ClientConfig(client_id="c", subscriptions=(), targets=config.targets)
    assert rebuilt.to_json_dict()["targets"] == reference_doc()["targets"]


def test_issue_string_form() -> None:
    assert str(ConfigIssue(("targets", 0, "apiKey"), "Required")) == "targets.0.apiKey: Required"
