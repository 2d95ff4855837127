"""Apply a rendered template with boto3: upload the code zip (content-addressed), create or update the stack,
wait, upload the client configs to the stack's bucket, and return the outputs.

The code key is ``callbacks-lambda/<sha256[:16]>/<zip name>``: the deterministic zip means unchanged code
keeps its key, so CloudFormation leaves the functions alone; changed code gets a new key and every function is
updated. An update with nothing to change is not an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from delivery.deploy.infra import CONFIG_PREFIX

CODE_PREFIX = "callbacks-lambda"
NO_UPDATES = "No updates are to be performed"


class StackError(RuntimeError):
    """The stack could not be created or updated; the message names the stack and the reason."""


def code_key(zip_path: Path) -> str:
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:16]
    return f"{CODE_PREFIX}/{digest}/{zip_path.name}"


def upload_code(s3: Any, bucket: str, zip_path: Path) -> str:
    key = code_key(zip_path)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError:
        s3.upload_file(str(zip_path), bucket, key)
    return key


def _exists(cfn: Any, stack: str) -> bool:
    try:
        cfn.describe_stacks(StackName=stack)
    except cfn.exceptions.ClientError:
        return False
    return True


def apply(cfn: Any, stack: str, template: str, parameters: Mapping[str, str]) -> dict[str, str]:
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
    common = {
        "StackName": stack,
        "TemplateBody": template,
        "Parameters": params,
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    }
    try:
        if _exists(cfn, stack):
            cfn.update_stack(**common)
            cfn.get_waiter("stack_update_complete").wait(StackName=stack, WaiterConfig={"Delay": 5})
        else:
            cfn.create_stack(**common)
            cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 5})
    except cfn.exceptions.ClientError as exc:
        if NO_UPDATES not in str(exc):
            raise StackError(f"stack {stack}: {exc}") from exc
    except Exception as exc:  # botocore's WaiterError: the stack failed or rolled back
        raise StackError(f"stack {stack}: {exc}") from exc
    found = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def upload_configs(s3: Any, bucket: str, configs: Mapping[str, Mapping[str, Any]]) -> int:
    for doc in configs.values():
        body = json.dumps(doc, indent=2).encode()
        s3.put_object(Bucket=bucket, Key=f"{CONFIG_PREFIX}{doc['clientId']}.json", Body=body)
    return len(configs)
