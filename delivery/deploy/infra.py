"""What an environment's infrastructure is made of, decided from the client configs: frozen values only.

``plan_environment(name, configs, vpc=...)`` turns the raw client-config documents (the reference JSON) into
an ``EnvironmentPlan``: one ``ClientPlan`` per client with its resource names and its event source mapping
settings. A client config may carry an optional ``deployment`` object, read only here (the engine ignores
unknown keys, SPEC P1)::

    "deployment": {"batchSize": 10, "maximumConcurrency": 5}

``batchSize`` is 1-10 (the SQS event source maximum without a batching window) and ``maximumConcurrency``
2-1000 (the event source mapping's limits). Every bad value is reported at once, naming its file and field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from delivery.queue.names import queue_names

PROJECT = "callbacks"
DEFAULT_BATCH_SIZE = 10
DEFAULT_MAX_CONCURRENCY = 5
CONFIG_PREFIX = "client_subscriptions/"
MAX_QUEUE_NAME = 80
MAX_FUNCTION_NAME = 64
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")


class PlanError(ValueError):
    """The configs cannot be turned into an environment; ``.problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


@dataclass(frozen=True, slots=True)
class ClientPlan:
    client_id: str
    logical: str  # CloudFormation logical-id stem, e.g. "MockClientPlain"
    prefix: str  # "<project>-<environment>"
    batch_size: int = DEFAULT_BATCH_SIZE
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    mtls: bool = False  # some target uses mTLS: the function gets the certificate bundle

    @property
    def queue_name(self) -> str:
        return queue_names(self.prefix, self.client_id)[0]

    @property
    def dlq_name(self) -> str:
        return queue_names(self.prefix, self.client_id)[1]

    @property
    def function_name(self) -> str:
        return f"{self.prefix}-{self.client_id}-delivery"

    @property
    def config_key(self) -> str:
        return f"{CONFIG_PREFIX}{self.client_id}.json"


@dataclass(frozen=True, slots=True)
class EnvironmentPlan:
    name: str
    clients: tuple[ClientPlan, ...]
    vpc: bool = False  # ElastiCache Serverless in the VPC, functions attached to it
    project: str = PROJECT

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.name}"

    @property
    def router_function_name(self) -> str:
        return f"{self.prefix}-router"

    @property
    def mtls(self) -> bool:
        return any(c.mtls for c in self.clients)


def logical_id(client_id: str) -> str:
    """``mock-client-plain`` -> ``MockClientPlain`` (CloudFormation logical ids are alphanumeric)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", client_id) if part)


def environment_name_problems(name: str) -> list[str]:
    if _NAME.match(name):
        return []
    return [f"--environment {name!r}: use 1-31 lower-case letters, digits and dashes"]


def plan_environment(
    name: str, configs: Mapping[str, Mapping[str, Any]], *, vpc: bool = False, project: str = PROJECT
) -> EnvironmentPlan:
    """``configs`` maps a source label (the file name) to its parsed JSON document."""
    problems = environment_name_problems(name)
    clients = [_client(source, doc, f"{project}-{name}", problems) for source, doc in sorted(configs.items())]
    problems += _clashes(clients)
    if not clients:
        problems.append("no client configs found (expected <clientId>.json files)")
    if problems:
        raise PlanError(problems)
    return EnvironmentPlan(name, tuple(sorted(clients, key=lambda c: c.client_id)), vpc, project)


def _client(source: str, doc: Mapping[str, Any], prefix: str, problems: list[str]) -> ClientPlan:
    client_id = str(doc.get("clientId") or "")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", client_id):
        problems.append(f"{source}: clientId: letters, digits, '-' and '_' only, got {client_id!r}")
    deployment = doc.get("deployment") or {}
    if not isinstance(deployment, Mapping):
        problems.append(f"{source}: deployment: expected an object")
        deployment = {}
    plan = ClientPlan(
        client_id=client_id,
        logical=logical_id(client_id),
        prefix=prefix,
        batch_size=_bounded(source, deployment, "batchSize", DEFAULT_BATCH_SIZE, (1, 10), problems),
        max_concurrency=_bounded(
            source, deployment, "maximumConcurrency", DEFAULT_MAX_CONCURRENCY, (2, 1000), problems
        ),
        mtls=any(_uses_mtls(t) for t in doc.get("targets") or [] if isinstance(t, Mapping)),
    )
    if len(plan.dlq_name) > MAX_QUEUE_NAME or len(plan.function_name) > MAX_FUNCTION_NAME:
        problems.append(f"{source}: clientId {client_id!r} is too long for the queue/function names")
    return plan


def _bounded(
    source: str,
    deployment: Mapping[str, Any],
    key: str,
    default: int,
    bounds: tuple[int, int],
    problems: list[str],
) -> int:
    value = deployment.get(key, default)
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{source}: deployment.{key}: an integer from {low} to {high}, got {value!r}")
        return default
    return value


def _uses_mtls(target: Mapping[str, Any]) -> bool:
    mtls = (target.get("delivery") or {}).get("mtls") or {}
    return isinstance(mtls, Mapping) and mtls.get("enabled") is True


def _clashes(clients: Sequence[ClientPlan]) -> list[str]:
    problems: list[str] = []
    seen_ids: set[str] = set()
    seen_logical: dict[str, str] = {}
    for plan in clients:
        if plan.client_id in seen_ids:
            problems.append(f"clientId {plan.client_id!r} appears in more than one config")
        elif plan.logical in seen_logical:
            problems.append(
                f"clientIds {seen_logical[plan.logical]!r} and {plan.client_id!r} clash as {plan.logical}"
            )
        seen_ids.add(plan.client_id)
        seen_logical.setdefault(plan.logical, plan.client_id)
    return problems
