"""The rendered CloudFormation template, deployed into moto, with its functions run by the local runner.

``DeployedLocalStack`` starts what ``LocalStack`` starts (Valkey, moto, the two mock webhooks), but instead of
provisioning queues itself it renders the environment's template from the fixture configs
(``delivery.deploy``), uploads a code zip and creates the stack in moto's CloudFormation. It then serves the
stack's config bucket and applications-map parameter (fixture configs rewritten for the local mocks, as the
local stack does), and hosts every deployed function with ``LocalLambdaRunner`` — each with the Handler,
environment and event source mapping read back from the emulator, the ``delivery`` code from the deployed zip
first on its import path (third-party dependencies from this environment), its output shipped to its log
group.
``environment_argv()`` is the ``callbacks deploy environment`` command that describes it for the harness.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from delivery.deploy.archive import deterministic_zip
from delivery.deploy.bundle import project_files
from delivery.deploy.infra import logical_id, plan_environment
from delivery.deploy.template import render, to_json
from harness import wiring
from harness.environment import CAPABILITIES, Environment
from harness.lambda_runner import LocalLambdaRunner, read_function
from harness.local_stack import REGION, LocalStack
from harness.mock_admin import MockAdmin
from harness.provision import (
    CONFIG_PREFIX,
    MTLS_BUNDLE_KEY,
    MTLS_CA_KEY,
    Provisioner,
    application_ids,
    load_fixture_configs,
    register_credentials,
    rewrite_config,
)

CODE_KEY = "callbacks-lambda-source.zip"
STARTED_LINE = b"lambda host started"


def stack_parameters(code_bucket: str, redis_url: str, certs_bucket: str, mtls: bool) -> list[dict[str, str]]:
    values = {
        "CodeS3Bucket": code_bucket,
        "CodeS3Key": CODE_KEY,
        "RedisUrl": redis_url,
        "AllowedEgressCidrs": "127.0.0.0/8",  # the mocks listen on loopback
        "CbProbeRateLimit": "1",  # timings made fast through config, as the local stack does
        "RequestTimeoutMs": "5000",
        "LogRetentionDays": "1",
    }
    if mtls:
        values |= {
            "MtlsCertS3Bucket": certs_bucket,
            "MtlsCertS3Key": MTLS_BUNDLE_KEY,
            "MtlsCaS3Key": MTLS_CA_KEY,
        }
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]


class DeployedLocalStack(LocalStack):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # CloudFormation on moto creates the queues in moto: SQS stays there (never a second endpoint)
        self.options = dataclasses.replace(self.options, sqs=wiring.moto_variant(self.options.sqs))
        self.stack_name = f"callbacks-moto-{self.run_id}"
        self.env_name = f"m{self.run_id}"
        self.outputs: dict[str, str] = {}
        self.runner: LocalLambdaRunner | None = None

    def _provision(self, certs_dir: Path) -> None:
        main, required = self.mocks["mock"], self.mocks["mock-required"]
        raw = load_fixture_configs(self.options.fixtures_dir)
        self.roles = wiring.roles_for(raw)
        self.configs = {cid: rewrite_config(doc, main, required) for cid, doc in raw.items()}
        app_ids = application_ids(self.configs, wiring.fixture_application_ids(self.options.fixtures_dir))
        plan = plan_environment(self.env_name, {f"{cid}.json": doc for cid, doc in raw.items()})
        s3, cfn, ssm = self._boto("s3"), self._boto("cloudformation"), self._boto("ssm")
        code_bucket = f"{self.prefix}-code"
        for bucket in (code_bucket,):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=code_bucket, Key=CODE_KEY, Body=deterministic_zip(project_files()))
        Provisioner(s3=s3, sqs=None, ssm=ssm, prefix=self.prefix)._put_mtls_material(code_bucket, certs_dir)
        assert self.redis is not None
        template = to_json(render(plan))
        (self.state_dir / "template.json").write_text(template, encoding="utf-8")
        cfn.create_stack(
            StackName=self.stack_name,
            TemplateBody=template,
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            Parameters=stack_parameters(code_bucket, self.redis.url, code_bucket, plan.mtls),
        )
        cfn.get_waiter("stack_create_complete").wait(StackName=self.stack_name, WaiterConfig={"Delay": 1})
        stack = cfn.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        bucket = self.outputs["ConfigBucketName"]
        for client_id, config in self.configs.items():
            body = json.dumps(config, indent=2).encode()
            s3.put_object(Bucket=bucket, Key=f"{CONFIG_PREFIX}{client_id}.json", Body=body)
        parameter = self.outputs["ApplicationsMapParameterName"]
        ssm.put_parameter(Name=parameter, Value=json.dumps(app_ids), Type="SecureString", Overwrite=True)
        for client in (s3, cfn, ssm):
            client.close()
        admins = {m.url: MockAdmin(m.admin_url) for m in self.mocks.values()}
        register_credentials(admins, self.configs, app_ids)

    def function_names(self) -> list[str]:
        clients = [c for c in self.outputs["ClientIds"].split(",") if c]
        return [self.outputs["RouterFunctionName"]] + [
            self.outputs[f"{logical_id(c)}FunctionName"] for c in clients
        ]

    def _deployed_code(self) -> Path:
        """The code zip the stack's functions were created from (its parameters), fetched and unpacked."""
        cfn, s3 = self._boto("cloudformation"), self._boto("s3")
        stack = cfn.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
        body = s3.get_object(Bucket=params["CodeS3Bucket"], Key=params["CodeS3Key"])["Body"].read()
        cfn.close()
        s3.close()
        target = self.state_dir / "code"
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            archive.extractall(target)
        return target

    def _start_pipeline(self) -> None:
        assert self.moto is not None
        lam, sqs = self._boto("lambda"), self._boto("sqs")
        code_dir = self._deployed_code()
        specs = [read_function(name, lam, sqs, code_dir=str(code_dir)) for name in self.function_names()]
        lam.close()
        sqs.close()
        self.runner = LocalLambdaRunner(
            specs,
            self.moto.env(REGION),
            self._boto("logs"),
            self.state_dir / "functions",
            self.options.receive_wait_s,
        )
        self.runner.start()
        wiring.wait_started(dict(self.runner.hosts), 15.0)

    def _describe(self) -> Environment:
        from harness.deployed import environment_from_outputs

        assert self.moto is not None
        return environment_from_outputs(
            self.outputs, region=REGION, endpoint_url=self.moto.url, side=self.harness_side()
        )

    def harness_side(self) -> Any:
        from harness.deployed import HarnessSide

        assert self.redis is not None
        return HarnessSide(
            mock_url=self.mocks["mock"].url,
            mock_admin_url=self.mocks["mock"].admin_url,
            redis_url=self.redis.url,
            capabilities=CAPABILITIES,
            roles=self.roles,
            extra=tuple(sorted(self.extras().items())),
        )

    def extras(self) -> dict[str, str]:
        router_log = self.state_dir / "functions" / f"{self.outputs['RouterFunctionName']}.log"
        return {
            "mtls_required_mock_url": self.mocks["mock-required"].url,
            "mtls_required_mock_admin_url": self.mocks["mock-required"].admin_url,
            "run_id": self.run_id,
            "queue_prefix": f"callbacks-{self.env_name}",
            "router_log_path": str(router_log),
            "stack_name": self.stack_name,
        }

    def environment_argv(self) -> list[str]:
        """``callbacks deploy environment`` for this stack (to run with ``self.moto.env()``)."""
        side = self.harness_side()
        argv = ["deploy", "environment", "--stack", self.stack_name]
        argv += [
            "--mock-url",
            side.mock_url,
            "--mock-admin-url",
            side.mock_admin_url,
            "--redis-url",
            side.redis_url,
        ]
        for capability in sorted(side.capabilities):
            argv += ["--capability", capability]
        for role, client in side.roles:
            argv += ["--role", f"{role}={client}"]
        for key, value in side.extra:
            argv += ["--extra", f"{key}={value}"]
        return argv

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        super().stop()
