"""Stack outputs -> harness environment (pure): every missing output is named."""

from __future__ import annotations

import pytest

from harness.deployed import HarnessSide, environment_from_outputs
from harness.environment import EnvironmentInvalid

OUTPUTS = {
    "EnvironmentName": "dev",
    "ClientIds": "client-a",
    "InboundQueueUrl": "https://sqs/in",
    "InboundDlqUrl": "https://sqs/in-dlq",
    "ConfigBucketName": "bucket",
    "RouterLogGroupName": "/aws/lambda/router",
    "ClientADeliveryQueueUrl": "https://sqs/a",
    "ClientADlqUrl": "https://sqs/a-dlq",
    "ClientALogGroupName": "/aws/lambda/a",
}


def test_outputs_become_the_environment() -> None:
    env = environment_from_outputs(OUTPUTS, region="eu-west-2", endpoint_url=None, side=HarnessSide())
    assert env.client("client-a").dlq_url == "https://sqs/a-dlq"
    assert env.metrics_log_groups == ("/aws/lambda/router", "/aws/lambda/a")
    assert env.config_location == "s3://bucket/client_subscriptions/"
    assert env.aws_endpoint_url is None


def test_every_missing_output_is_named() -> None:
    partial = {k: v for k, v in OUTPUTS.items() if k not in ("ClientADlqUrl", "InboundQueueUrl")}
    with pytest.raises(EnvironmentInvalid) as caught:
        environment_from_outputs(partial, region="eu-west-2", endpoint_url=None, side=HarnessSide())
    assert (
        str(caught.value) == "the stack has no output InboundQueueUrl; the stack has no output ClientADlqUrl"
    )
