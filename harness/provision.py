"""Create what a deployed environment has, in moto: queues + DLQs, config objects, applications map, mTLS
material, and the mock's per-path credentials.

Fixture configs (``fixtures/clients/*.json``) are rewritten for the local mock: every target's endpoint
becomes ``<mock url>/<targetId>`` and pinning targets get the mock's real SPKI pin. Two endpoint host names
in a fixture ask for something else on purpose:

- ``https://mtls-required.mock.invalid/...`` -> the second mock, which *requires* a client certificate;
- ``https://wrong-pin.mock.invalid/...`` -> the main mock, keeping the fixture's (wrong) ``spkiHash``.

(``scripted.mock.invalid`` only marks the target fault-script scenarios own; see ``harness.roles``.)
"""

from __future__ import annotations

import copy
import json
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from delivery.queue.seam import queue_names
from harness.children import MockInfo
from harness.environment import ClientQueues
from harness.mock_admin import MockAdmin

CONFIG_PREFIX = "client_subscriptions/"
MTLS_BUNDLE_KEY = "mtls/client-bundle.pem"
MTLS_CA_KEY = "mtls/ca.pem"
REQUIRED_HOST = "mtls-required.mock.invalid"
WRONG_PIN_HOST = "wrong-pin.mock.invalid"
DELIVERY_VISIBILITY_S = 15
MAX_RECEIVE_BACKSTOP = 100
MAX_QUEUE_NAME = 80


def inbound_names(prefix: str) -> tuple[str, str]:
    return f"{prefix}-inbound-event-queue", f"{prefix}-inbound-event-dlq-queue"


def load_fixture_configs(directory: Path) -> dict[str, dict[str, Any]]:
    """clientId -> raw config JSON of every ``*.json`` file in the directory (sorted by file name)."""
    configs: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("clientId"), str):
            configs[doc["clientId"]] = doc
    return configs


def rewrite_config(config: Mapping[str, Any], main: MockInfo, required: MockInfo | None) -> dict[str, Any]:
    """The config as the local stack serves it: endpoints on the local mock(s), real pins injected."""
    doc = copy.deepcopy(dict(config))
    for target in doc.get("targets", []):
        host = urllib.parse.urlsplit(str(target.get("invocationEndpoint", ""))).hostname or ""
        mock = required if host == REQUIRED_HOST and required is not None else main
        target["invocationEndpoint"] = f"{mock.url}/{target['targetId']}"
        pinning = target.get("delivery", {}).get("mtls", {}).get("certPinning", {})
        if pinning.get("enabled") and host != WRONG_PIN_HOST:
            pinning["spkiHash"] = mock.server_pin
    return doc


@dataclass(frozen=True, slots=True)
class Provisioned:
    bucket: str
    config_prefix: str
    app_map_parameter: str
    clients: tuple[ClientQueues, ...]
    inbound_queue_url: str
    inbound_dlq_url: str


class Provisioner:
    """Creates the local environment's AWS resources through boto3 clients pointed at moto."""

    def __init__(self, *, s3: Any, sqs: Any, ssm: Any, prefix: str) -> None:
        self.s3, self.sqs, self.ssm, self.prefix = s3, sqs, ssm, prefix

    def queue_pair(self, name: str, dlq_name: str, visibility_s: int, max_receive: int) -> tuple[str, str]:
        too_long = [n for n in (name, dlq_name) if len(n) > MAX_QUEUE_NAME]
        if too_long:
            raise ValueError(
                f"queue name {too_long[0]!r} is longer than SQS allows ({MAX_QUEUE_NAME}): shorten it"
            )
        dlq_url = self.sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)})
        attrs = {"VisibilityTimeout": str(visibility_s), "RedrivePolicy": policy}
        url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        return url, dlq_url

    def provision(
        self, configs: Mapping[str, Mapping[str, Any]], app_ids: Mapping[str, str], certs_dir: Path
    ) -> Provisioned:
        bucket = f"{self.prefix}-config"
        self.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        for client_id, config in configs.items():
            body = json.dumps(config, indent=2).encode()
            self.s3.put_object(Bucket=bucket, Key=f"{CONFIG_PREFIX}{client_id}.json", Body=body)
        self._put_mtls_material(bucket, certs_dir)
        parameter = f"/{self.prefix}/applications-map"
        self.ssm.put_parameter(Name=parameter, Value=json.dumps(dict(app_ids)), Type="SecureString")
        clients = []
        for client_id in configs:
            url, dlq = self.queue_pair(
                *queue_names(self.prefix, client_id), DELIVERY_VISIBILITY_S, MAX_RECEIVE_BACKSTOP
            )
            clients.append(ClientQueues(client_id, url, dlq))
        inbound, inbound_dlq = self.queue_pair(*inbound_names(self.prefix), 10, 3)
        return Provisioned(bucket, CONFIG_PREFIX, parameter, tuple(clients), inbound, inbound_dlq)

    def _put_mtls_material(self, bucket: str, certs_dir: Path) -> None:
        parts = ("client-cert.pem", "client-key.pem")
        bundle_bytes = b"".join((certs_dir / name).read_bytes() for name in parts)
        self.s3.put_object(Bucket=bucket, Key=MTLS_BUNDLE_KEY, Body=bundle_bytes)
        self.s3.put_object(Bucket=bucket, Key=MTLS_CA_KEY, Body=(certs_dir / "ca.pem").read_bytes())


def application_ids(
    client_ids: Iterable[str], fixture_map: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The applications map: fixture values where given, else ``app-<clientId>``."""
    given = dict(fixture_map or {})
    return {cid: given.get(cid, f"app-{cid}") for cid in client_ids}


def register_credentials(
    admins: Mapping[str, MockAdmin], configs: Mapping[str, Mapping[str, Any]], app_ids: Mapping[str, str]
) -> None:
    """Tell each mock what key and application id every target path should carry (verification data).

    ``admins`` maps a mock base URL to its admin client; each target is registered on the mock it points at.
    """
    for client_id, config in configs.items():
        for target in config.get("targets", []):
            base = str(target["invocationEndpoint"]).rsplit("/", 1)[0]
            admin = admins.get(base)
            if admin is None:
                continue
            signing = target.get("delivery", {}).get("signing", {})
            secrets = [s for s in signing.get("secrets", []) if str(s).startswith("whsec_")]
            admin.set_credentials(
                str(target["targetId"]),
                api_key_header=str(target["apiKey"]["headerName"]),
                api_key=str(target["apiKey"]["headerValue"]),
                application_id=app_ids[client_id],
                webhook_secrets=secrets,
            )
