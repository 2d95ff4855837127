"""The environment a scenario runs against: a frozen description, loadable from and writable to TOML.

One ``Environment`` describes either the embedded local stack (``LocalStack.environment``) or a deployed
environment (a TOML file). Scenarios only ever see this value, so the same test code runs against both.

TOML layout (every key except the queue URLs of the clients is optional)::

    name = "staging"
    region = "eu-west-2"
    aws_endpoint_url = "http://127.0.0.1:4566"   # omit for real AWS
    sqs_endpoint_url = "http://127.0.0.1:4567"   # optional: SQS served apart (default: aws_endpoint_url)
    inbound_queue_url = "https://sqs.../callbacks-staging-inbound-event-queue"
    inbound_dlq_url = "https://sqs.../callbacks-staging-inbound-event-dlq-queue"
    mock_url = "https://mock.example"            # webhook base URL (callback path = /<targetId>)
    mock_admin_url = "http://mock-admin.example"
    redis_url = "redis://..."                    # optional: gate inspection
    config_location = "s3://bucket/client_subscriptions/"
    metrics_log_path = "/path/worker.log"        # optional: EMF lines
    metrics_log_groups = ["/aws/lambda/..."]     # optional: EMF lines in CloudWatch Logs (FilterLogEvents)
    capabilities = ["dlq", "faults", "router"]

    [roles]                                      # scenario role -> client id
    fanout = "harness-fanout"

    [clients."harness-fanout"]
    delivery_queue_url = "https://sqs.../...-harness-fanout-delivery-queue"
    dlq_url = "https://sqs.../...-harness-fanout-delivery-dlq-queue"
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_REGION = "eu-west-2"

# What an environment can do; scenarios declare what they need with @pytest.mark.requires(...).
CAPABILITIES = frozenset(
    {
        "router",  # an inbound queue with the router consuming it
        "dlq",  # client DLQs are readable
        "faults",  # the mock accepts fault scripts
        "gate",  # redis_url is set: gate state can be inspected
        "metrics",  # metrics_log_path is readable: EMF lines can be asserted
        "mtls",  # mTLS targets are verified by the mock
        "mtls-required",  # a target points at an endpoint that requires a client certificate
        "pinning",  # a pinning target exists (and one with a wrong pin)
        "redrive",  # `callbacks redrive` can reach the DLQs
    }
)


class EnvironmentInvalid(ValueError):
    """An environment description is incomplete or malformed (lists every problem)."""


@dataclass(frozen=True, slots=True)
class ClientQueues:
    client_id: str
    delivery_queue_url: str
    dlq_url: str


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    region: str
    clients: tuple[ClientQueues, ...]
    inbound_queue_url: str | None = None
    inbound_dlq_url: str | None = None
    aws_endpoint_url: str | None = None  # None = real AWS
    sqs_endpoint_url: str | None = None  # SQS served apart from the rest of AWS (None = aws_endpoint_url)
    mock_url: str | None = None
    mock_admin_url: str | None = None
    redis_url: str | None = None
    config_location: str | None = None  # "s3://bucket/prefix/" or a local directory
    metrics_log_path: str | None = None
    metrics_log_groups: tuple[str, ...] = ()  # CloudWatch Logs groups holding the EMF lines (deployed)
    capabilities: frozenset[str] = frozenset()
    roles: tuple[tuple[str, str], ...] = ()  # (role, client id), sorted
    extra: tuple[tuple[str, str], ...] = field(default=())  # free-form strings (e.g. mtls_required_mock_url)

    def endpoint_for(self, service: str) -> str | None:
        """The endpoint a boto3 client for ``service`` uses (None = AWS's own)."""
        if service == "sqs" and self.sqs_endpoint_url:
            return self.sqs_endpoint_url
        return self.aws_endpoint_url

    def aws_env(self) -> dict[str, str]:
        """Variables that point a boto3 process at this environment's endpoints (empty for real AWS)."""
        env = {"AWS_ENDPOINT_URL": self.aws_endpoint_url} if self.aws_endpoint_url else {}
        if self.sqs_endpoint_url:
            env["AWS_ENDPOINT_URL_SQS"] = self.sqs_endpoint_url
        return env

    @property
    def client_ids(self) -> tuple[str, ...]:
        return tuple(c.client_id for c in self.clients)

    def client(self, client_id: str) -> ClientQueues:
        for queues in self.clients:
            if queues.client_id == client_id:
                return queues
        raise KeyError(f"client {client_id!r} is not part of environment {self.name!r}")

    def role(self, role: str) -> str:
        """The client id playing a scenario role (KeyError naming the known roles)."""
        roles = dict(self.roles)
        if role not in roles:
            raise KeyError(f"environment {self.name!r} has no client for role {role!r} (has {sorted(roles)})")
        return roles[role]

    def has_role(self, role: str) -> bool:
        return role in dict(self.roles)

    def get_extra(self, key: str) -> str | None:
        return dict(self.extra).get(key)

    def has(self, *capabilities: str) -> bool:
        return set(capabilities) <= self.effective_capabilities()

    def effective_capabilities(self) -> frozenset[str]:
        derived = set(self.capabilities)
        if self.redis_url:
            derived.add("gate")
        if self.metrics_log_path or self.metrics_log_groups:
            derived.add("metrics")
        if self.inbound_queue_url:
            derived.add("router")
        return frozenset(derived)

    def to_toml(self) -> str:
        return _dump_toml(_to_document(self))

    @classmethod
    def from_toml(cls, text_or_path: str | Path) -> Environment:
        """Parse TOML text, or read a ``.toml`` file when given a ``Path`` (or a path string ending .toml)."""
        text = str(text_or_path)
        name_hint = "environment"
        if isinstance(text_or_path, Path) or (text.endswith(".toml") and "\n" not in text):
            path = Path(text_or_path)
            name_hint, text = path.stem, path.read_text(encoding="utf-8")
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise EnvironmentInvalid(f"invalid TOML: {exc}") from exc
        return _from_document(doc, name_hint)


def _to_document(env: Environment) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": env.name, "region": env.region}
    for key in (
        "aws_endpoint_url", "sqs_endpoint_url", "inbound_queue_url", "inbound_dlq_url", "mock_url",
        "mock_admin_url", "redis_url", "config_location", "metrics_log_path",
    ):  # fmt: skip
        value = getattr(env, key)
        if value is not None:
            doc[key] = value
    if env.metrics_log_groups:
        doc["metrics_log_groups"] = list(env.metrics_log_groups)
    doc["capabilities"] = sorted(env.capabilities)
    doc["roles"] = dict(env.roles)
    doc["extra"] = dict(env.extra)
    doc["clients"] = {
        c.client_id: {"delivery_queue_url": c.delivery_queue_url, "dlq_url": c.dlq_url} for c in env.clients
    }
    return doc


_OPTIONAL_STRINGS = (
    "aws_endpoint_url", "sqs_endpoint_url", "inbound_queue_url", "inbound_dlq_url", "mock_url",
    "mock_admin_url", "redis_url",
    "config_location", "metrics_log_path",
)  # fmt: skip


def _from_document(doc: Mapping[str, Any], name_hint: str) -> Environment:
    problems: list[str] = []
    clients = _clients_of(doc.get("clients", {}), problems)
    optional = {key: _opt_str(doc, key, problems) for key in _OPTIONAL_STRINGS}
    capabilities = doc.get("capabilities", [])
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        problems.append("capabilities: expected a list of strings")
        capabilities = []
    unknown = sorted(set(capabilities) - CAPABILITIES)
    if unknown:
        problems.append(f"capabilities: unknown {unknown} (known: {sorted(CAPABILITIES)})")
    log_groups = doc.get("metrics_log_groups", [])
    if not isinstance(log_groups, list) or not all(isinstance(g, str) and g for g in log_groups):
        problems.append("metrics_log_groups: expected a list of log group names")
        log_groups = []
    roles = _string_table(doc, "roles", problems)
    for role, client_id in roles:
        if client_id not in {c.client_id for c in clients}:
            problems.append(f"roles.{role}: client {client_id!r} is not listed under [clients]")
    extra = _string_table(doc, "extra", problems)
    if problems:
        raise EnvironmentInvalid("invalid environment description:\n" + "\n".join(problems))
    return Environment(
        name=str(doc.get("name", name_hint)),
        region=str(doc.get("region", DEFAULT_REGION)),
        clients=clients,
        capabilities=frozenset(capabilities),
        metrics_log_groups=tuple(log_groups),
        roles=roles,
        extra=extra,
        **optional,
    )


def _clients_of(table: object, problems: list[str]) -> tuple[ClientQueues, ...]:
    if not isinstance(table, Mapping) or not table:
        problems.append("clients: expected at least one [clients.<clientId>] table")
        return ()
    clients = []
    for client_id, entry in table.items():
        if not isinstance(entry, Mapping):
            problems.append(f"clients.{client_id}: expected a table")
            continue
        urls = {}
        for key in ("delivery_queue_url", "dlq_url"):
            value = entry.get(key)
            if not isinstance(value, str) or not value:
                problems.append(f"clients.{client_id}.{key}: required string")
            urls[key] = str(value or "")
        clients.append(ClientQueues(str(client_id), urls["delivery_queue_url"], urls["dlq_url"]))
    return tuple(clients)


def _opt_str(doc: Mapping[str, Any], key: str, problems: list[str]) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{key}: expected a string")
        return None
    return value


def _string_table(doc: Mapping[str, Any], key: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    table = doc.get(key, {})
    if not isinstance(table, Mapping) or not all(isinstance(v, str) for v in table.values()):
        problems.append(f"{key}: expected a table of strings")
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in table.items()))


def _dump_toml(doc: Mapping[str, Any]) -> str:
    """A TOML writer for our document shape: scalars and string lists first, then (nested) tables."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in doc.items():
        if isinstance(value, Mapping):
            tables.append((_key(key), value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for name, table in tables:
        _dump_table(name, table, lines)
    return "\n".join(lines) + "\n"


def _dump_table(name: str, table: Mapping[str, Any], lines: list[str]) -> None:
    nested = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    plain = [(k, v) for k, v in table.items() if not isinstance(v, Mapping)]
    if plain or not nested:
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in plain)
    for key, value in nested:
        _dump_table(f"{name}.{_key(key)}", value, lines)


def _key(key: str) -> str:
    return json.dumps(key)  # a TOML basic string is a JSON string for our (printable) keys


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
