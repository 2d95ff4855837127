"""One CloudFormation template (JSON) for an environment, rendered from its ``EnvironmentPlan``.

Shared: the config bucket, the inbound queue + DLQ, the router function on the inbound queue. Per client
(``resources.client_resources``): delivery queue, DLQ with a depth alarm, log group, IAM role, delivery
function, event source mapping. With ``vpc``: ElastiCache Serverless (Valkey, IAM auth) with its security
groups, and every function attached to the VPC; without it the gate is any Redis/Valkey the functions can
reach (``RedisUrl``). Everything environment-specific is a Parameter; ``Outputs`` name every URL and ARN the
harness needs. Same plan in, same text out (keys in a fixed order).
"""

from __future__ import annotations

import json
from typing import Any

from delivery.deploy.infra import CONFIG_PREFIX, EnvironmentPlan
from delivery.deploy.resources import (
    DLQ_RETENTION_S,
    Json,
    att,
    client_resources,
    event_source,
    function,
    log_group,
    queue,
    ref,
    role,
    shared_env,
    statement,
    sub,
)

RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653]
ROUTER_HANDLER = "delivery.router.lambda_handler.handler"


def _param(kind: str, description: str, default: Any = None, **extra: Any) -> Json:
    out: Json = {"Type": kind, "Description": description, **extra}
    if default is not None:
        out["Default"] = default
    return out


def parameters(plan: EnvironmentPlan) -> dict[str, Json]:
    params = {
        "CodeS3Bucket": _param("String", "bucket holding the Lambda zip (callbacks package lambda)"),
        "CodeS3Key": _param("String", "key of the Lambda zip, e.g. callbacks-lambda-py3.12-x86_64.zip"),
        "LambdaRuntime": _param(
            "String",
            "runtime the zip was built for",
            "python3.12",
            AllowedValues=["python3.11", "python3.12", "python3.13"],
        ),
        "LambdaArchitecture": _param(
            "String", "architecture the zip was built for", "x86_64", AllowedValues=["x86_64", "arm64"]
        ),
        "ApplicationsMapParameter": _param(
            "String",
            "SSM parameter holding the applications map",
            f"/{plan.project}/{plan.name}/applications-map",
        ),
        "MetricsNamespace": _param("String", "CloudWatch namespace of the EMF metrics", "enhanced-callbacks"),
        "MessageRootUri": _param("String", "root of links.message in callbacks", "/v1/message-batches"),
        "LogLevel": _param(
            "String", "log level", "INFO", AllowedValues=["DEBUG", "INFO", "WARNING", "ERROR"]
        ),
        "LogRetentionDays": _param(
            "Number", "days CloudWatch keeps the functions' logs", 30, AllowedValues=RETENTION_DAYS
        ),
        "AllowedEgressCidrs": _param("String", "CIDRs targets may resolve to despite the egress policy", ""),
        "TokenBucketBurstCapacity": _param("String", "gate burst cap (tokens)", "2250"),
        "CbRecoveryPeriodMs": _param("String", "breaker recovery ramp (ms)", "600000"),
        "CbCooldownPeriodMs": _param("String", "breaker cooldown (ms)", "120000"),
        "CbProbeRateLimit": _param("String", "half-open probes per second (empty: 1/60)", ""),
        "RequestTimeoutMs": _param("String", "total deadline of one delivery attempt (empty: 30000)", ""),
        "DlqAlarmThreshold": _param("Number", "DLQ depth that raises the alarm", 1, MinValue=1),
        "RouterMaximumConcurrency": _param(
            "Number", "router event source maximum concurrency", 5, MinValue=2, MaxValue=1000
        ),
    }
    if plan.vpc:
        params["VpcId"] = _param("AWS::EC2::VPC::Id", "VPC of the cache and the functions")
        params["SubnetIds"] = _param("List<AWS::EC2::Subnet::Id>", "private subnets with a route to AWS APIs")
    else:
        params["RedisUrl"] = _param(
            "String", "redis:// or rediss:// URL of the gate's Redis/Valkey", NoEcho=True
        )
    if plan.mtls:
        params["MtlsCertS3Bucket"] = _param("String", "bucket of the mTLS client certificate bundle")
        params["MtlsCertS3Key"] = _param("String", "key of the bundle (certificate + private key, PEM)")
        params["MtlsCaS3Key"] = _param("String", "key of an extra CA bundle in the same bucket, or empty", "")
    return params


def router_resources(plan: EnvironmentPlan) -> dict[str, Json]:
    name = plan.router_function_name
    delivery_queues = (
        f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{plan.prefix}-*-delivery-queue"
    )
    logs = f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/{name}:*"
    statements = [
        statement(
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            [att("InboundQueue", "Arn")],
        ),
        statement(["sqs:SendMessage"], [att("InboundDlq", "Arn")]),
        statement(["sqs:SendMessage", "sqs:GetQueueUrl"], [sub(delivery_queues)]),
        statement(["s3:ListBucket"], [att("ConfigBucket", "Arn")]),
        statement(
            ["s3:GetObject"], [sub(f"arn:${{AWS::Partition}}:s3:::${{ConfigBucket}}/{CONFIG_PREFIX}*")]
        ),
        statement(["logs:CreateLogStream", "logs:PutLogEvents"], [sub(logs)]),
    ]
    env = {
        **shared_env(plan),
        "INBOUND_DLQ_URL": ref("InboundDlq"),
        "DELIVERY_QUEUE_PREFIX": plan.prefix,
        "MESSAGE_ROOT_URI": ref("MessageRootUri"),
    }
    router_esm = event_source("RouterFunction", "InboundQueue", 10, 2)
    router_esm["Properties"]["ScalingConfig"]["MaximumConcurrency"] = ref("RouterMaximumConcurrency")
    return {
        "InboundDlq": queue(f"{plan.prefix}-inbound-event-dlq-queue", retention_s=DLQ_RETENTION_S),
        "InboundQueue": queue(f"{plan.prefix}-inbound-event-queue", dlq="InboundDlq"),
        "RouterLogGroup": log_group(name),
        "RouterRole": role(f"{name}-policy", statements, vpc=plan.vpc),
        "RouterFunction": function(plan, name, ROUTER_HANDLER, "RouterRole", "RouterLogGroup", env),
        "RouterEventSource": router_esm,
    }


def cache_resources(plan: EnvironmentPlan) -> dict[str, Json]:
    """ElastiCache Serverless (Valkey) reachable only from the functions' security group, IAM auth."""
    if not plan.vpc:
        return {}
    user = f"{plan.prefix}-delivery-elasticache-user"
    return {
        "LambdaSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": f"{plan.prefix} functions", "VpcId": ref("VpcId")},
        },
        "CacheSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": f"{plan.prefix} gate cache: Valkey from the functions only",
                "VpcId": ref("VpcId"),
                "SecurityGroupIngress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 6379,
                        "ToPort": 6380,
                        "SourceSecurityGroupId": ref("LambdaSecurityGroup"),
                    }
                ],
            },
        },
        "GateCacheUser": {
            "Type": "AWS::ElastiCache::User",
            "Properties": {
                "UserId": user,
                "UserName": user,
                "Engine": "valkey",
                "AccessString": "on ~* +@all",
                "AuthenticationMode": {"Type": "iam"},
            },
        },
        "GateCacheUserGroup": {
            "Type": "AWS::ElastiCache::UserGroup",
            "Properties": {
                "UserGroupId": f"{plan.prefix}-gate",
                "Engine": "valkey",
                "UserIds": [ref("GateCacheUser")],
            },
        },
        "GateCache": {
            "Type": "AWS::ElastiCache::ServerlessCache",
            "Properties": {
                "ServerlessCacheName": f"{plan.prefix}-gate",
                "Engine": "valkey",
                "MajorEngineVersion": "8",
                "SecurityGroupIds": [ref("CacheSecurityGroup")],
                "SubnetIds": ref("SubnetIds"),
                "UserGroupId": ref("GateCacheUserGroup"),
            },
        },
    }


def _output(value: Any, description: str) -> Json:
    return {"Value": value, "Description": description}


def outputs(plan: EnvironmentPlan) -> dict[str, Json]:
    out = {
        "EnvironmentName": _output(plan.name, "environment name"),
        "ClientIds": _output(",".join(c.client_id for c in plan.clients), "client ids, comma-separated"),
        "InboundQueueUrl": _output(ref("InboundQueue"), "inbound event queue URL"),
        "InboundDlqUrl": _output(ref("InboundDlq"), "inbound event DLQ URL"),
        "ConfigBucketName": _output(ref("ConfigBucket"), "client config bucket"),
        "ConfigPrefix": _output(CONFIG_PREFIX, "client config key prefix"),
        "ApplicationsMapParameterName": _output(
            ref("ApplicationsMapParameter"), "applications map parameter"
        ),
        "RouterFunctionName": _output(ref("RouterFunction"), "router function"),
        "RouterLogGroupName": _output(ref("RouterLogGroup"), "router log group"),
    }
    for c in plan.clients:
        out |= {
            f"{c.logical}DeliveryQueueUrl": _output(
                ref(f"{c.logical}DeliveryQueue"), f"{c.client_id} delivery queue"
            ),
            f"{c.logical}DlqUrl": _output(ref(f"{c.logical}DeliveryDlq"), f"{c.client_id} DLQ"),
            f"{c.logical}FunctionName": _output(
                ref(f"{c.logical}Function"), f"{c.client_id} delivery function"
            ),
            f"{c.logical}LogGroupName": _output(ref(f"{c.logical}LogGroup"), f"{c.client_id} log group"),
        }
    if plan.vpc:
        out["GateCacheEndpoint"] = _output(att("GateCache", "Endpoint.Address"), "gate cache endpoint")
    return out


def render(plan: EnvironmentPlan) -> Json:
    resources: dict[str, Json] = {
        "ConfigBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "VersioningConfiguration": {"Status": "Enabled"},
            },
        },
        **router_resources(plan),
        **cache_resources(plan),
    }
    for client in plan.clients:
        resources |= client_resources(plan, client)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"enhanced-callbacks environment {plan.name}: router, per-client delivery, gate",
        "Parameters": parameters(plan),
        "Resources": resources,
        "Outputs": outputs(plan),
    }


def to_json(template: Json) -> str:
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


__all__ = ["outputs", "parameters", "render", "to_json"]
