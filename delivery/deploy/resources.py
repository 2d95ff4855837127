"""CloudFormation resources, as plain dicts built by pure functions: per client, and the pieces they share.

Each delivery function's environment uses the reference variable names (SPEC Appendix 1). Its IAM role
allows only that client's queues, its own config object, the applications-map parameter, its own log group
and (when one of its targets uses mTLS) the certificate bundle objects.
"""

from __future__ import annotations

from typing import Any

from delivery.deploy.infra import CONFIG_PREFIX, ClientPlan, EnvironmentPlan

Json = dict[str, Any]
FUNCTION_TIMEOUT_S = 60
QUEUE_VISIBILITY_S = 6 * FUNCTION_TIMEOUT_S  # AWS: at least the function timeout; 6x is its advice
DLQ_RETENTION_S = 14 * 24 * 3600
MAX_RECEIVE_COUNT = 1000  # a backstop: the engine dead-letters itself (retry window, SPEC P6)
LAMBDA_SERVICE = "lambda.amazonaws.com"


def ref(name: str) -> Json:
    return {"Ref": name}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def att(name: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [name, attribute]}


def statement(actions: list[str], resources: list[Any]) -> Json:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def queue(name: str, *, dlq: str | None = None, retention_s: int | None = None) -> Json:
    props: Json = {"QueueName": name, "VisibilityTimeout": QUEUE_VISIBILITY_S}
    if dlq is not None:
        props["RedrivePolicy"] = {
            "deadLetterTargetArn": att(dlq, "Arn"),
            "maxReceiveCount": MAX_RECEIVE_COUNT,
        }
    if retention_s is not None:
        props["MessageRetentionPeriod"] = retention_s
    return {"Type": "AWS::SQS::Queue", "Properties": props}


def log_group(function_name: str) -> Json:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": f"/aws/lambda/{function_name}",
            "RetentionInDays": ref("LogRetentionDays"),
        },
    }


def role(policy_name: str, statements: list[Json], *, vpc: bool) -> Json:
    props: Json = {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": LAMBDA_SERVICE}, "Action": "sts:AssumeRole"}
            ],
        },
        "Policies": [
            {"PolicyName": policy_name, "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}
        ],
    }
    if vpc:
        props["ManagedPolicyArns"] = [
            sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
        ]
    return {"Type": "AWS::IAM::Role", "Properties": props}


def function(plan: EnvironmentPlan, name: str, handler: str, role_name: str, log: str, env: Json) -> Json:
    props: Json = {
        "FunctionName": name,
        "Handler": handler,
        "Runtime": ref("LambdaRuntime"),
        "Architectures": [ref("LambdaArchitecture")],
        "Code": {"S3Bucket": ref("CodeS3Bucket"), "S3Key": ref("CodeS3Key")},
        "Role": att(role_name, "Arn"),
        "MemorySize": 512,
        "Timeout": FUNCTION_TIMEOUT_S,
        "Environment": {"Variables": env},
    }
    if plan.vpc:
        props["VpcConfig"] = {"SecurityGroupIds": [ref("LambdaSecurityGroup")], "SubnetIds": ref("SubnetIds")}
    return {"Type": "AWS::Lambda::Function", "DependsOn": [log], "Properties": props}


def event_source(function_name: str, queue_name: str, batch_size: int, max_concurrency: int) -> Json:
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "EventSourceArn": att(queue_name, "Arn"),
            "FunctionName": ref(function_name),
            "BatchSize": batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": max_concurrency},
            "Enabled": True,
        },
    }


def shared_env(plan: EnvironmentPlan) -> Json:
    """Variables the router and every delivery function share."""
    return {
        "CLIENT_SUBSCRIPTION_CONFIG_BUCKET": ref("ConfigBucket"),
        "CLIENT_SUBSCRIPTION_CONFIG_PREFIX": CONFIG_PREFIX,
        "CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS": "60",
        "METRICS_NAMESPACE": ref("MetricsNamespace"),
        "ENVIRONMENT": plan.name,
        "LOG_LEVEL": ref("LogLevel"),
        "ALLOWED_EGRESS_CIDRS": ref("AllowedEgressCidrs"),
    }


def redis_env(plan: EnvironmentPlan) -> Json:
    if not plan.vpc:
        return {"REDIS_URL": ref("RedisUrl")}
    return {
        "ELASTICACHE_ENDPOINT": att("GateCache", "Endpoint.Address"),
        "ELASTICACHE_CACHE_NAME": ref("GateCache"),
        "ELASTICACHE_IAM_USERNAME": f"{plan.prefix}-delivery-elasticache-user",
        "ELASTICACHE_SERVERLESS": "true",
    }


def delivery_env(plan: EnvironmentPlan, client: ClientPlan) -> Json:
    env: Json = {
        "CLIENT_ID": client.client_id,
        "QUEUE_URL": ref(f"{client.logical}DeliveryQueue"),
        "DLQ_URL": ref(f"{client.logical}DeliveryDlq"),
        **shared_env(plan),
        "APPLICATIONS_MAP_PARAMETER": ref("ApplicationsMapParameter"),
        "TOKEN_BUCKET_BURST_CAPACITY": ref("TokenBucketBurstCapacity"),
        "CB_RECOVERY_PERIOD_MS": ref("CbRecoveryPeriodMs"),
        "CB_COOLDOWN_PERIOD_MS": ref("CbCooldownPeriodMs"),
        "CB_PROBE_RATE_LIMIT": ref("CbProbeRateLimit"),
        "REQUEST_TIMEOUT_MS": ref("RequestTimeoutMs"),
        **redis_env(plan),
    }
    if plan.mtls:  # the CA is trust, not identity: every function adds it (empty: system trust only)
        env |= {"MTLS_CERT_S3_BUCKET": ref("MtlsCertS3Bucket"), "MTLS_CA_S3_KEY": ref("MtlsCaS3Key")}
    if client.mtls:  # the client certificate and its private key: only where a target uses mTLS
        env["MTLS_CERT_S3_KEY"] = ref("MtlsCertS3Key")
    return env


def delivery_statements(plan: EnvironmentPlan, client: ClientPlan) -> list[Json]:
    queue_arn, dlq_arn = (
        att(f"{client.logical}DeliveryQueue", "Arn"),
        att(f"{client.logical}DeliveryDlq", "Arn"),
    )
    statements = [
        statement(
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            [queue_arn],
        ),
        statement(["sqs:SendMessage"], [dlq_arn]),
        statement(
            ["s3:GetObject"], [sub(f"arn:${{AWS::Partition}}:s3:::${{ConfigBucket}}/{client.config_key}")]
        ),
        statement(
            ["ssm:GetParameter"],
            [
                sub(
                    "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${ApplicationsMapParameter}"
                )
            ],
        ),
        _log_statement(client.function_name),
    ]
    objects = ["${MtlsCertS3Bucket}/${MtlsCaS3Key}"] if plan.mtls else []
    objects += ["${MtlsCertS3Bucket}/${MtlsCertS3Key}"] if client.mtls else []
    if objects:
        statements.append(
            statement(["s3:GetObject"], [sub(f"arn:${{AWS::Partition}}:s3:::{o}") for o in objects])
        )
    if plan.vpc:
        statements.append(
            statement(["elasticache:Connect"], [att("GateCache", "ARN"), att("GateCacheUser", "Arn")])
        )
    return statements


def _log_statement(function_name: str) -> Json:
    account = "${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
    arn = f"arn:{account}:log-group:/aws/lambda/{function_name}:*"
    return statement(["logs:CreateLogStream", "logs:PutLogEvents"], [sub(arn)])


def client_resources(plan: EnvironmentPlan, client: ClientPlan) -> dict[str, Json]:
    """Everything one client adds to the environment, keyed by logical id (all start with its stem)."""
    stem = client.logical
    alarm = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": f"{client.dlq_name}-depth",
            "AlarmDescription": f"messages waiting in the DLQ of client {client.client_id}",
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": att(f"{stem}DeliveryDlq", "QueueName")}],
            "Statistic": "Maximum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": ref("DlqAlarmThreshold"),
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
    }
    env = delivery_env(plan, client)
    return {
        f"{stem}DeliveryDlq": queue(client.dlq_name, retention_s=DLQ_RETENTION_S),
        f"{stem}DeliveryQueue": queue(client.queue_name, dlq=f"{stem}DeliveryDlq"),
        f"{stem}DlqDepthAlarm": alarm,
        f"{stem}LogGroup": log_group(client.function_name),
        f"{stem}Role": role(
            f"{client.function_name}-policy", delivery_statements(plan, client), vpc=plan.vpc
        ),
        f"{stem}Function": function(
            plan,
            client.function_name,
            "delivery.lambda_handler.handler",
            f"{stem}Role",
            f"{stem}LogGroup",
            env,
        ),
        f"{stem}EventSource": event_source(
            f"{stem}Function", f"{stem}DeliveryQueue", client.batch_size, client.max_concurrency
        ),
    }
