"""The rendered template deployed into moto's CloudFormation: created, updated after a client is added
(only that client's resources change), described for the harness by `callbacks deploy environment`."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import uuid
from typing import Any

import boto3
import pytest

from delivery.deploy.infra import plan_environment
from delivery.deploy.template import render, to_json
from harness.environment import Environment
from harness.moto_server import MotoServer
from tests.deploy.test_template import fixture_configs

REGION = "eu-west-2"


def client(moto: MotoServer, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=moto.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def deployed(moto_server: MotoServer) -> dict[str, Any]:
    env_name = "t" + uuid.uuid4().hex[:8]
    s3, cfn = client(moto_server, "s3"), client(moto_server, "cloudformation")
    code = f"code-{env_name}"
    s3.create_bucket(Bucket=code, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=code, Key="code.zip", Body=b"PK\x05\x06" + b"\x00" * 18)
    configs = fixture_configs()
    params = [
        {"ParameterKey": k, "ParameterValue": v}
        for k, v in {
            "CodeS3Bucket": code, "CodeS3Key": "code.zip", "RedisUrl": "redis://127.0.0.1:6379/0",
            "MtlsCertS3Bucket": code, "MtlsCertS3Key": "mtls/bundle.pem",
        }.items()
    ]  # fmt: skip
    stack = f"callbacks-{env_name}"
    body = to_json(render(plan_environment(env_name, configs)))
    cfn.create_stack(StackName=stack, TemplateBody=body, Parameters=params, Capabilities=["CAPABILITY_IAM"])
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
    return {"stack": stack, "env": env_name, "configs": configs, "params": params, "cfn": cfn}


def _outputs(cfn: Any, stack: str) -> dict[str, str]:
    return {
        o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    }


def test_adding_a_client_changes_only_that_clients_resources(
    deployed: dict[str, Any], moto_server: MotoServer
) -> None:
    cfn, stack = deployed["cfn"], deployed["stack"]
    lam = client(moto_server, "lambda")
    before = {f["FunctionName"]: f["FunctionArn"] for f in lam.list_functions()["Functions"]}
    configs = copy.deepcopy(deployed["configs"])
    added = copy.deepcopy(configs["mock-client-plain.json"]) | {"clientId": "new-client"}
    configs["new-client.json"] = added
    body = to_json(render(plan_environment(deployed["env"], configs)))
    change = cfn.create_change_set(
        StackName=stack, ChangeSetName="add-new-client", TemplateBody=body, Parameters=deployed["params"],
        Capabilities=["CAPABILITY_IAM"], ChangeSetType="UPDATE",
    )  # fmt: skip
    described = cfn.describe_change_set(ChangeSetName=change["Id"], StackName=stack)
    actions = {
        (c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
        for c in described["Changes"]
    }
    expected = {
        "DeliveryDlq",
        "DeliveryQueue",
        "DlqDepthAlarm",
        "LogGroup",
        "Role",
        "Function",
        "EventSource",
    }
    assert actions == {("Add", f"NewClient{kind}") for kind in expected}
    # moto's ExecuteChangeSet does not refresh the outputs; UpdateStack with the same template does
    cfn.delete_change_set(ChangeSetName=change["Id"], StackName=stack)
    cfn.update_stack(
        StackName=stack, TemplateBody=body, Parameters=deployed["params"], Capabilities=["CAPABILITY_IAM"]
    )
    cfn.get_waiter("stack_update_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
    outputs = _outputs(cfn, stack)
    assert outputs["NewClientDeliveryQueueUrl"].endswith(
        f"callbacks-{deployed['env']}-new-client-delivery-queue"
    )
    after = {f["FunctionName"]: f["FunctionArn"] for f in lam.list_functions()["Functions"]}
    assert {k: v for k, v in after.items() if k in before} == before  # nobody else was replaced
    mapping = lam.list_event_source_mappings(FunctionName=outputs["NewClientFunctionName"])[
        "EventSourceMappings"
    ]
    assert [(m["BatchSize"], m["FunctionResponseTypes"]) for m in mapping] == [
        (10, ["ReportBatchItemFailures"])
    ]


def _environment(moto: MotoServer, *argv: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | moto.env(REGION)
    return subprocess.run(
        [sys.executable, "-m", "delivery.cli.main", "deploy", "environment", *argv],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


def test_deploy_environment_writes_the_harness_environment_file(
    deployed: dict[str, Any], moto_server: MotoServer
) -> None:
    done = _environment(
        moto_server, "--stack", deployed["stack"], "--capability", "dlq", "--role", "plain=mock-client-plain"
    )
    assert done.returncode == 0, done.stderr
    env = Environment.from_toml(done.stdout)
    sqs = client(moto_server, "sqs")
    for config in deployed["configs"].values():
        queues = env.client(config["clientId"])
        name = f"callbacks-{deployed['env']}-{config['clientId']}-delivery-queue"
        assert queues.delivery_queue_url.endswith(name)
        assert sqs.get_queue_url(QueueName=name)["QueueUrl"].endswith(name)
    assert env.aws_endpoint_url == moto_server.url
    assert env.role("plain") == "mock-client-plain"
    assert f"/aws/lambda/callbacks-{deployed['env']}-router" in env.metrics_log_groups
    assert len(env.metrics_log_groups) == len(deployed["configs"]) + 1
    assert env.has("metrics", "router", "dlq")
    assert (
        env.config_location
        == f"s3://{_outputs(deployed['cfn'], deployed['stack'])['ConfigBucketName']}/client_subscriptions/"
    )


def test_an_unknown_stack_is_one_line_and_exit_2(moto_server: MotoServer) -> None:
    done = _environment(moto_server, "--stack", "no-such-stack")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("callbacks: --stack no-such-stack: ")
    assert json.dumps(done.stdout) == '""'
