"""Router settings from the environment, and the worker's retry delay."""

from __future__ import annotations

import pytest

from delivery.router.lambda_handler import build_deps
from delivery.router.settings import RouterSettings
from delivery.router.worker import retry_delay_s
from delivery.runtime.settings import SettingsError


def test_defaults() -> None:
    settings = RouterSettings.from_env({})
    assert settings == RouterSettings(
        message_root_uri="/v1/message-batches", queue_prefix="callbacks-local", queue_urls={}, dlq_url=None
    )


def test_reads_every_variable() -> None:
    settings = RouterSettings.from_env({
        "MESSAGE_ROOT_URI": "https://api.example.org/v1/",
        "DELIVERY_QUEUE_PREFIX": "nhs-dev-callbacks",
        "DELIVERY_QUEUE_URLS": '{"client-a": "https://sqs.eu-west-2.amazonaws.com/1/q-a"}',
        "INBOUND_DLQ_URL": "https://sqs.eu-west-2.amazonaws.com/1/dlq",
        "METRICS_NAMESPACE": "nhs-notify-cb",
        "ENVIRONMENT": "dev",
        "LOG_LEVEL": "debug",
    })  # fmt: skip
    assert settings.message_root_uri == "https://api.example.org/v1"
    assert settings.queue_urls == {"client-a": "https://sqs.eu-west-2.amazonaws.com/1/q-a"}
    assert (settings.queue_prefix, settings.metrics_namespace, settings.environment, settings.log_level) == (
        "nhs-dev-callbacks", "nhs-notify-cb", "dev", "DEBUG"
    )  # fmt: skip


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        RouterSettings.from_env({"MESSAGE_ROOT_URI": "messages", "DELIVERY_QUEUE_URLS": "[1]"})
    assert len(caught.value.problems) == 2
    assert caught.value.problems[0].startswith("MESSAGE_ROOT_URI must be an absolute http(s) URL")
    assert caught.value.problems[1] == "DELIVERY_QUEUE_URLS must be a JSON object of clientId -> queue URL"


@pytest.mark.parametrize(
    ("receive_count", "delay_s"), [(1, 10), (2, 20), (3, 40), (7, 640), (8, 900), (50, 900)]
)
def test_retry_delay(receive_count: int, delay_s: int) -> None:
    assert retry_delay_s(receive_count) == delay_s


LAMBDA_ENV = {
    "INBOUND_DLQ_URL": "https://sqs.eu-west-2.amazonaws.com/1/dlq",
    "CLIENT_SUBSCRIPTION_CONFIG_DIR": ".",
}


@pytest.mark.parametrize(
    ("unset", "problems"),
    [
        (("METRICS_NAMESPACE",), ["METRICS_NAMESPACE environment variable is not set"]),
        (("ENVIRONMENT",), ["ENVIRONMENT environment variable is not set"]),
        (("METRICS_NAMESPACE", "ENVIRONMENT"),
         ["METRICS_NAMESPACE environment variable is not set",
          "ENVIRONMENT environment variable is not set"]),
    ],
)  # fmt: skip
def test_lambda_runtime_requires_the_metrics_settings(unset: tuple[str, ...], problems: list[str]) -> None:
    """SPEC-ROUTER T5.1/T6.47: the reference's metrics logger throws when either is unset."""
    env = {**LAMBDA_ENV, "METRICS_NAMESPACE": "nhs-notify-cb", "ENVIRONMENT": "dev"}
    for name in unset:
        env[name] = " " if name == "ENVIRONMENT" else ""
    with pytest.raises(SettingsError) as caught:
        build_deps(env)
    assert list(caught.value.problems) == problems


def test_cli_router_keeps_the_metrics_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")  # boto3 clients are made, never called
    deps = build_deps(LAMBDA_ENV, lambda_runtime=False)
    try:
        assert deps.metrics is not None
        assert (deps.metrics.namespace, dict(deps.metrics.dimensions)) == (
            "enhanced-callbacks",
            {"Environment": "local"},
        )
    finally:
        deps.close()
