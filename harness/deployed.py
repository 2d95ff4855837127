"""A deployed stack's outputs -> the harness ``Environment`` (pure; the CLI reads the outputs).

The template (``delivery.deploy.template``) names every client's outputs after its logical-id stem
(``<Stem>DeliveryQueueUrl``, ``<Stem>DlqUrl``, ``<Stem>LogGroupName``) and lists the client ids in
``ClientIds``; the router's log group and every client's become ``metrics_log_groups``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from delivery.deploy.infra import CONFIG_PREFIX, logical_id
from harness.environment import CAPABILITIES, ClientQueues, Environment, EnvironmentInvalid


@dataclass(frozen=True, slots=True)
class HarnessSide:
    """What the stack does not know: the mock webhook, gate inspection, roles, capabilities, extras."""

    mock_url: str | None = None
    mock_admin_url: str | None = None
    redis_url: str | None = None
    capabilities: frozenset[str] = frozenset()
    roles: tuple[tuple[str, str], ...] = ()
    extra: tuple[tuple[str, str], ...] = ()


def environment_from_outputs(
    outputs: Mapping[str, str], *, region: str, endpoint_url: str | None, side: HarnessSide
) -> Environment:
    missing = [key for key in ("ClientIds", "InboundQueueUrl", "ConfigBucketName") if key not in outputs]
    client_ids = [c for c in outputs.get("ClientIds", "").split(",") if c]
    for client_id in client_ids:
        stem = logical_id(client_id)
        missing += [
            f"{stem}{k}"
            for k in ("DeliveryQueueUrl", "DlqUrl", "LogGroupName")
            if f"{stem}{k}" not in outputs
        ]
    unknown = sorted(side.capabilities - CAPABILITIES)
    if missing or unknown:
        raise EnvironmentInvalid(
            "; ".join(
                [f"the stack has no output {m}" for m in missing]
                + [f"unknown capabilities {unknown}"] * bool(unknown)
            )
        )
    clients = tuple(
        ClientQueues(c, outputs[f"{logical_id(c)}DeliveryQueueUrl"], outputs[f"{logical_id(c)}DlqUrl"])
        for c in client_ids
    )
    groups = [outputs["RouterLogGroupName"]] if "RouterLogGroupName" in outputs else []
    groups += [outputs[f"{logical_id(c)}LogGroupName"] for c in client_ids]
    return Environment(
        name=outputs.get("EnvironmentName", "deployed"),
        region=region,
        clients=clients,
        inbound_queue_url=outputs["InboundQueueUrl"],
        inbound_dlq_url=outputs.get("InboundDlqUrl"),
        aws_endpoint_url=endpoint_url,
        mock_url=side.mock_url,
        mock_admin_url=side.mock_admin_url,
        redis_url=side.redis_url,
        config_location=f"s3://{outputs['ConfigBucketName']}/{outputs.get('ConfigPrefix', CONFIG_PREFIX)}",
        metrics_log_groups=tuple(groups),
        capabilities=side.capabilities,
        roles=tuple(sorted((r, c) for r, c in side.roles if c in client_ids)),
        extra=side.extra,
    )


def pairs(values: Iterable[str], flag: str) -> tuple[tuple[str, str], ...]:
    """``["a=b", ...]`` -> sorted pairs; a malformed one is a ValueError naming the flag."""
    out = []
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key or not val:
            raise ValueError(f"{flag} expects KEY=VALUE, got {value!r}")
        out.append((key, val))
    return tuple(sorted(out))
