"""The CloudFormation template rendered from client configs: reference env var names, least privilege per
client, event source settings from the config, deterministic text, and cfn-lint clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from delivery.deploy.infra import PlanError, plan_environment
from delivery.deploy.template import render, to_json

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "clients"
APPENDIX_1 = set(  # SPEC Appendix 1, the reference delivery Lambda
    [
        "CLIENT_ID",
        "QUEUE_URL",
        "DLQ_URL",
        "CONCURRENCY_LIMIT",
        "REQUEST_TIMEOUT_MS",
        "CLIENT_SUBSCRIPTION_CONFIG_BUCKET",
        "CLIENT_SUBSCRIPTION_CONFIG_PREFIX",
        "CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS",
        "APPLICATIONS_MAP_PARAMETER",
        "APPLICATIONS_MAP_CACHE_TTL_MS",
        "ELASTICACHE_ENDPOINT",
        "ELASTICACHE_CACHE_NAME",
        "ELASTICACHE_IAM_USERNAME",
        "AWS_REGION",
        "TOKEN_BUCKET_BURST_CAPACITY",
        "CB_PROBE_RATE_LIMIT",
        "CB_RECOVERY_PERIOD_MS",
        "CB_SAMPLE_PERIOD_MS",
        "CB_FAILURE_THRESHOLD",
        "CB_MIN_ATTEMPTS",
        "CB_COOLDOWN_PERIOD_MS",
        "MTLS_CERT_S3_BUCKET",
        "MTLS_CERT_S3_KEY",
        "MTLS_CA_S3_KEY",
        "CERT_EXPIRY_THRESHOLD_MS",
        "METRICS_NAMESPACE",
        "ENVIRONMENT",
        "MAX_RETRY_DURATION_SECONDS",
        "LOG_LEVEL",
    ]
)
OURS = {"REDIS_URL", "ELASTICACHE_SERVERLESS", "ALLOWED_EGRESS_CIDRS"}  # documented in the README


def fixture_configs() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(FIXTURES.glob("*.json"))}


def template(vpc: bool = False, configs: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    return render(plan_environment("dev", configs or fixture_configs(), vpc=vpc))


def delivery_env(tpl: dict[str, Any], stem: str) -> dict[str, Any]:
    return dict(tpl["Resources"][f"{stem}Function"]["Properties"]["Environment"]["Variables"])


@pytest.mark.parametrize("vpc", [False, True])
def test_delivery_functions_use_the_reference_variable_names(vpc: bool) -> None:
    tpl = template(vpc)
    env = delivery_env(tpl, "MockClientPlain")
    assert set(env) <= APPENDIX_1 | OURS
    assert env["CLIENT_ID"] == "mock-client-plain"
    assert env["QUEUE_URL"] == {"Ref": "MockClientPlainDeliveryQueue"}
    assert env["DLQ_URL"] == {"Ref": "MockClientPlainDeliveryDlq"}
    assert env["CLIENT_SUBSCRIPTION_CONFIG_PREFIX"] == "client_subscriptions/"
    gate = {"ELASTICACHE_ENDPOINT", "ELASTICACHE_CACHE_NAME", "ELASTICACHE_IAM_USERNAME"}
    assert gate <= set(env) if vpc else "REDIS_URL" in env and not gate & set(env)


def test_only_clients_with_mtls_targets_get_the_certificate_bundle() -> None:
    tpl = template()
    assert delivery_env(tpl, "MockClientMtls")["MTLS_CERT_S3_KEY"] == {"Ref": "MtlsCertS3Key"}
    assert "MTLS_CERT_S3_KEY" not in delivery_env(tpl, "MockClientPlain")
    plain_policy = json.dumps(tpl["Resources"]["MockClientPlainRole"]["Properties"])
    assert "MtlsCertS3Key" not in plain_policy
    assert delivery_env(tpl, "MockClientPlain")["MTLS_CA_S3_KEY"] == {
        "Ref": "MtlsCaS3Key"
    }  # trust, not identity


def test_each_role_reaches_only_its_own_client() -> None:
    tpl = template(vpc=True)
    configs = fixture_configs()
    for doc in configs.values():
        client_id = doc["clientId"]
        stem = "".join(p[:1].upper() + p[1:] for p in client_id.split("-"))
        policy = json.dumps(tpl["Resources"][f"{stem}Role"]["Properties"]["Policies"])
        for other in configs.values():
            if other["clientId"] != client_id and not client_id.startswith(other["clientId"]):
                assert other["clientId"] not in policy, (client_id, other["clientId"])
        assert f"client_subscriptions/{client_id}.json" in policy
        assert f"{stem}DeliveryQueue" in policy
        assert f"{stem}DeliveryDlq" in policy
        assert '"*"' not in policy  # no wildcard resources or actions


def test_event_source_settings_come_from_the_config() -> None:
    configs = fixture_configs()
    configs["mock-client-plain.json"]["deployment"] = {"batchSize": 3, "maximumConcurrency": 7}
    props = template(configs=configs)["Resources"]["MockClientPlainEventSource"]["Properties"]
    assert props["BatchSize"] == 3
    assert props["ScalingConfig"] == {"MaximumConcurrency": 7}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_bad_deployment_settings_are_all_named() -> None:
    configs = fixture_configs()
    configs["mock-client-plain.json"]["deployment"] = {"batchSize": 11, "maximumConcurrency": 1}
    with pytest.raises(PlanError) as caught:
        plan_environment("dev", configs)
    assert caught.value.problems == (
        "mock-client-plain.json: deployment.batchSize: an integer from 1 to 10, got 11",
        "mock-client-plain.json: deployment.maximumConcurrency: an integer from 2 to 1000, got 1",
    )


def test_same_configs_same_text_whatever_the_order() -> None:
    configs = fixture_configs()
    reversed_configs = dict(reversed(list(configs.items())))
    assert to_json(template(configs=configs)) == to_json(template(configs=reversed_configs))


def test_every_client_resource_is_in_the_outputs_the_harness_reads() -> None:
    outputs = template()["Outputs"]
    for stem in ("MockClientPlain", "HarnessScripted"):
        assert {f"{stem}{k}" for k in ("DeliveryQueueUrl", "DlqUrl", "FunctionName", "LogGroupName")} <= set(
            outputs
        )
    assert {"InboundQueueUrl", "InboundDlqUrl", "ConfigBucketName", "ClientIds", "RouterLogGroupName"} <= set(
        outputs
    )


def _cfn_lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("cfn-lint")
    return subprocess.run(
        [str(exe), *map(str, paths)], capture_output=True, text=True, timeout=300, check=False
    )


def test_cfn_lint_passes_on_templates_rendered_from_the_fixtures(tmp_path: Path) -> None:
    paths = []
    for vpc in (False, True):
        out = tmp_path / f"env-vpc-{vpc}.json"
        argv = ["deploy", "render", "--environment", "dev", "--config-dir", str(FIXTURES), "--out", str(out)]
        argv += ["--vpc"] if vpc else []
        done = subprocess.run(
            [sys.executable, "-m", "delivery.cli.main", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        paths.append(out)
    broken = json.loads(paths[1].read_text())
    broken["Resources"]["InboundQueue"]["Properties"]["VisibilityTimeout"] = 99999
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    lint = _cfn_lint(*paths)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert _cfn_lint(tmp_path / "broken.json").returncode != 0  # the check can fail


def test_an_invalid_config_dir_is_a_usage_error_naming_each_problem() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "delivery.cli.main", "deploy", "render", "--environment", "dev",
         "--config-dir", str(ROOT / "fixtures" / "invalid"), "--environment", "Dev"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert "invalid-targets.json: targets.0.invocationEndpoint: Expected HTTPS URL" in done.stderr
    assert done.stderr.startswith("callbacks: --environment 'Dev': use 1-31 lower-case letters")
