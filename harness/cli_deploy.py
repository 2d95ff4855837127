"""``callbacks deploy environment --stack NAME``: the harness environment file of a deployed stack.

    callbacks deploy environment --stack NAME [--mock-url U --mock-admin-url U] [--redis-url U]
        [--capability C ...] [--role ROLE=CLIENT ... | --roles-from-config-dir DIR] [--extra KEY=VALUE ...]

Reads the stack's outputs (CloudFormation ``DescribeStacks``; ``AWS_ENDPOINT_URL`` points at an emulator)
and prints the TOML that ``pytest -m integration --callbacks-env FILE`` reads. Scenario roles come from
``--role``, else from the client configs in ``--roles-from-config-dir``, else from the configs the stack's
bucket serves. Exit 2 with one line if the stack is missing or lacks an output.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def register_deploy(actions: Any) -> None:
    parser = actions.add_parser(
        "environment",
        help="print the harness environment file (TOML) of a deployed stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    parser.add_argument("--mock-url", help="mock webhook base URL the targets point at")
    parser.add_argument("--mock-admin-url", help="mock webhook admin URL")
    parser.add_argument("--redis-url", help="the gate's Redis, if the harness may inspect it")
    parser.add_argument("--capability", action="append", default=[], help="e.g. dlq, faults, mtls (repeat)")
    parser.add_argument("--role", action="append", default=[], metavar="ROLE=CLIENT", help="scenario role")
    parser.add_argument("--roles-from-config-dir", type=Path, help="derive roles from these client configs")
    parser.add_argument("--extra", action="append", default=[], metavar="KEY=VALUE", help="extra string")
    parser.set_defaults(handler=run_environment)


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-2"


def stack_outputs(cfn: Any, stack: str) -> dict[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        found = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise LookupError(f"--stack {stack}: {exc.response['Error'].get('Message', exc)}") from exc
    except BotoCoreError as exc:
        raise LookupError(f"--stack {stack}: {exc} (set AWS credentials and region)") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])}


def _roles(args: argparse.Namespace, outputs: dict[str, str], s3: Any) -> tuple[tuple[str, str], ...]:
    from harness.deployed import pairs
    from harness.provision import load_fixture_configs
    from harness.roles import assign_roles

    if args.role:
        return pairs(args.role, "--role")
    if args.roles_from_config_dir is not None:
        return assign_roles(load_fixture_configs(args.roles_from_config_dir))
    import json

    bucket, prefix = outputs["ConfigBucketName"], outputs.get("ConfigPrefix", "client_subscriptions/")
    configs = {}
    for client_id in filter(None, outputs.get("ClientIds", "").split(",")):
        try:
            configs[client_id] = json.loads(
                s3.get_object(Bucket=bucket, Key=f"{prefix}{client_id}.json")["Body"].read()
            )
        except s3.exceptions.NoSuchKey:
            continue
    return assign_roles(configs)


def run_environment(args: argparse.Namespace) -> int:
    import boto3

    from harness.deployed import HarnessSide, environment_from_outputs, pairs
    from harness.environment import EnvironmentInvalid

    region = _region()
    try:
        outputs = stack_outputs(boto3.client("cloudformation", region_name=region), args.stack)
        side = HarnessSide(
            mock_url=args.mock_url,
            mock_admin_url=args.mock_admin_url,
            redis_url=args.redis_url,
            capabilities=frozenset(args.capability),
            roles=_roles(args, outputs, boto3.client("s3", region_name=region)),
            extra=pairs(args.extra, "--extra"),
        )
        env = environment_from_outputs(
            outputs, region=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None, side=side
        )
    except (LookupError, ValueError, EnvironmentInvalid) as exc:
        print(f"callbacks: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(env.to_toml())
    return 0
