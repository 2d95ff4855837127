"""``callbacks deploy``: the environment's infrastructure, as code, from the client configs.

    callbacks deploy render --environment NAME --config-dir DIR [--vpc] [--out FILE]

Validates every ``<clientId>.json`` in DIR (as ``callbacks config validate`` does), then writes one
CloudFormation template (JSON) to FILE or stdout: the router on the inbound queue and, per client, its
delivery queue, DLQ + depth alarm, delivery function, event source mapping and least-privilege role.
``--vpc`` adds ElastiCache Serverless (Valkey) and attaches the functions to the VPC; without it the gate is
the ``RedisUrl`` parameter. Exit 2 (one line per problem) if a config is invalid.

``callbacks deploy environment --stack NAME`` (from the harness, when installed) writes the harness
environment file of a deployed stack.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

APPLY_HELP = """callbacks deploy apply --stack NAME --template FILE --code-zip ZIP --code-bucket BUCKET
    [--parameter KEY=VALUE ...] [--upload-configs DIR]

Uploads the zip under a key derived from its SHA-256 (unchanged code: no function update), creates the stack
or updates it (nothing to change is fine), waits, puts every <clientId>.json of DIR in the stack's config
bucket, and prints the stack outputs as KEY=VALUE lines. Exit 2 on a usage mistake, 1 if the stack fails.
"""
EXTENSIONS = ("harness.cli_deploy",)  # adds `deploy environment` where the harness is installed


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("deploy", help="infrastructure as code for an environment")
    actions = parser.add_subparsers(dest="deploy_command", required=True, metavar="ACTION")
    render = actions.add_parser(
        "render",
        help="write the CloudFormation template for an environment",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument("--environment", required=True, help="environment name (dev, staging, ...)")
    render.add_argument("--config-dir", required=True, type=Path, help="directory of <clientId>.json configs")
    render.add_argument("--vpc", action="store_true", help="ElastiCache Serverless + functions in a VPC")
    render.add_argument("--out", type=Path, help="template file (default: stdout)")
    render.set_defaults(handler=run_render)
    apply = actions.add_parser(
        "apply",
        help="upload the code zip, create or update the stack, upload the client configs",
        description=APPLY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    apply.add_argument("--stack", required=True, help="CloudFormation stack name")
    apply.add_argument("--template", required=True, type=Path, help="template from `deploy render`")
    apply.add_argument("--code-zip", required=True, type=Path, help="zip from `package lambda`")
    apply.add_argument("--code-bucket", required=True, help="existing bucket for the code zip")
    apply.add_argument(
        "--parameter", action="append", default=[], metavar="KEY=VALUE", help="stack parameter"
    )
    apply.add_argument("--upload-configs", type=Path, metavar="DIR", help="put these configs in the bucket")
    apply.set_defaults(handler=run_apply)
    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name in (name, name.split(".")[0]):
                continue
            raise
        module.register_deploy(actions)


def read_configs(config_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """Parsed documents by file name, and every problem (unreadable, not JSON, invalid) as one line."""
    from delivery.cli.config import problems_in

    if not config_dir.is_dir():
        return {}, [f"--config-dir {config_dir}: not a directory"]
    configs, problems = {}, []
    for path in sorted(config_dir.glob("*.json")):
        found = problems_in(path, strict=False)
        problems += [f"{path}: {p}" for p in found]
        if not found:
            configs[path.name] = json.loads(path.read_text(encoding="utf-8"))
    return configs, problems


def run_render(args: argparse.Namespace) -> int:
    from delivery.deploy.infra import PlanError, environment_name_problems, plan_environment
    from delivery.deploy.template import render, to_json

    configs, problems = read_configs(args.config_dir)
    problems = environment_name_problems(args.environment) + problems
    try:
        plan = plan_environment(args.environment, configs, vpc=args.vpc) if not problems else None
    except PlanError as exc:
        problems += list(exc.problems)
        plan = None
    if plan is None:
        for problem in problems:
            print(f"callbacks: {problem}", file=sys.stderr)
        return 2
    text = to_json(render(plan))
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"{args.out}: {len(plan.clients)} clients, {len(render(plan)['Resources'])} resources")
    return 0


def _parameters(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise ValueError(f"--parameter expects KEY=VALUE, got {value!r}")
        out[key] = val
    return out


def run_apply(args: argparse.Namespace) -> int:
    import boto3

    from delivery.deploy.stack import StackError, apply, upload_code, upload_configs

    problems = [
        f"{flag} {path}: no such file"
        for flag, path in (("--template", args.template), ("--code-zip", args.code_zip))
        if not path.is_file()
    ]
    configs: dict[str, Any] = {}
    if args.upload_configs is not None:
        configs, found = read_configs(args.upload_configs)
        problems += found
    try:
        parameters = _parameters(args.parameter)
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        for problem in problems:
            print(f"callbacks: {problem}", file=sys.stderr)
        return 2
    s3 = boto3.client("s3")
    parameters |= {
        "CodeS3Bucket": args.code_bucket,
        "CodeS3Key": upload_code(s3, args.code_bucket, args.code_zip),
    }
    try:
        outputs = apply(
            boto3.client("cloudformation"), args.stack, args.template.read_text(encoding="utf-8"), parameters
        )
    except StackError as exc:
        print(f"callbacks: {exc}", file=sys.stderr)
        return 1
    if configs:
        upload_configs(s3, outputs["ConfigBucketName"], configs)
    for key in sorted(outputs):
        print(f"{key}={outputs[key]}")
    return 0
