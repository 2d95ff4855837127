"""Read the client configs an environment serves (raw reference JSON), from S3 or a local directory."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

from harness.environment import Environment
from harness.queues import aws_client

RawConfig = dict[str, Any]


def load_configs(env: Environment) -> dict[str, RawConfig]:
    """clientId -> config for every client of the environment (missing ones are left out)."""
    location = env.config_location
    if not location:
        return {}
    if location.startswith("s3://"):
        return _from_s3(env, location)
    root = Path(location)
    found = {}
    for client_id in env.client_ids:
        path = root / f"{client_id}.json"
        if path.is_file():
            found[client_id] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _from_s3(env: Environment, location: str) -> dict[str, RawConfig]:
    parts = urllib.parse.urlsplit(location)
    bucket, prefix = parts.netloc, parts.path.lstrip("/")
    s3 = aws_client(env, "s3")
    found = {}
    try:
        for client_id in env.client_ids:
            try:
                body = s3.get_object(Bucket=bucket, Key=f"{prefix}{client_id}.json")["Body"]
                with body:
                    found[client_id] = json.loads(body.read())
            except s3.exceptions.NoSuchKey:
                continue
    finally:
        s3.close()
    return found


def target_ids(config: RawConfig) -> list[str]:
    return [str(t["targetId"]) for t in config.get("targets", [])]


def target(config: RawConfig, target_id: str) -> dict[str, Any]:
    for entry in config.get("targets", []):
        if entry.get("targetId") == target_id:
            return dict(entry)
    raise KeyError(f"target {target_id!r} not in config of {config.get('clientId')!r}")


def channel_subscription(config: RawConfig) -> dict[str, Any] | None:
    """The first ChannelStatus subscription of a config (None when it has none)."""
    for sub in config.get("subscriptions", []):
        if sub.get("subscriptionType") == "ChannelStatus":
            return dict(sub)
    return None


def subscribed_targets(config: RawConfig, message_status: str) -> set[str]:
    """Targets a message-status event with this status reaches (reference matching, T3.3)."""
    hits: set[str] = set()
    for sub in config.get("subscriptions", []):
        statuses = sub.get("messageStatuses", [])
        if sub.get("subscriptionType") == "MessageStatus" and message_status in statuses:
            hits.update(sub.get("targetIds", []))
    return hits
