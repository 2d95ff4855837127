"""Which webhook targets a load run publishes to, read from the environment's client configs (pure).

A ``LoadTarget`` is one (client queue, target) pair: messages for it go to the client's delivery queue with
``targetId`` set, and its callbacks arrive at the mock on path ``/<targetId>`` (CONTRACTS.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class TargetSet(StrEnum):
    PLAIN = "plain"  # no mTLS, no circuit breaker: the ordinary fast path
    MTLS = "mtls"  # mTLS and certificate pinning both on


@dataclass(frozen=True, slots=True)
class LoadTarget:
    client_id: str
    queue_url: str
    target_id: str
    subscription_id: str
    mtls: bool = False
    pinning: bool = False
    circuit_breaker: bool = False

    @property
    def path(self) -> str:
        return "/" + self.target_id

    @property
    def key(self) -> str:
        return f"{self.client_id}/{self.target_id}"


def _flag(target: Mapping[str, Any], *keys: str) -> bool:
    node: object = target.get("delivery", {})
    for key in keys:
        node = node.get(key, {}) if isinstance(node, Mapping) else {}
    return node is True


def targets_of_config(config: Mapping[str, Any], queue_url: str) -> list[LoadTarget]:
    """Every target of one client's reference config JSON, with the first subscription naming it."""
    client_id = str(config.get("clientId", ""))
    subscriptions = [s for s in config.get("subscriptions", []) if isinstance(s, Mapping)]
    out = []
    for target in config.get("targets", []):
        if not isinstance(target, Mapping) or not isinstance(target.get("targetId"), str):
            continue
        target_id = target["targetId"]
        subscription = next(
            (str(s.get("subscriptionId")) for s in subscriptions if target_id in s.get("targetIds", [])),
            f"load-{target_id}",
        )
        out.append(
            LoadTarget(
                client_id=client_id,
                queue_url=queue_url,
                target_id=target_id,
                subscription_id=subscription,
                mtls=_flag(target, "mtls", "enabled"),
                pinning=_flag(target, "mtls", "certPinning", "enabled"),
                circuit_breaker=_flag(target, "circuitBreaker", "enabled"),
            )
        )
    return out


def in_set(target: LoadTarget, target_set: TargetSet) -> bool:
    if target_set is TargetSet.MTLS:
        return target.mtls and target.pinning
    return not (target.mtls or target.circuit_breaker)


def select_targets(
    targets: Sequence[LoadTarget], target_set: TargetSet, wanted: Sequence[str] = ()
) -> list[LoadTarget]:
    """The targets a profile publishes to: ``wanted`` (``clientId/targetId`` or ``targetId``) when given,
    else every target of the profile's set. Raises ValueError naming what is missing."""
    if wanted:
        by_key = {t.key: t for t in targets} | {t.target_id: t for t in targets}
        missing = [w for w in wanted if w not in by_key]
        if missing:
            known = ", ".join(sorted(t.key for t in targets)) or "none"
            raise ValueError(f"unknown target(s) {', '.join(missing)}; the environment has: {known}")
        return [by_key[w] for w in wanted]
    chosen = [t for t in targets if in_set(t, target_set)]
    if not chosen:
        known = ", ".join(sorted(t.key for t in targets)) or "none"
        raise ValueError(f"no {target_set.value} target in the environment (targets: {known}); use --targets")
    return chosen


def failing_candidates(targets: Sequence[LoadTarget]) -> list[LoadTarget]:
    """Targets fit to fail on purpose: circuit breaker on, no mTLS."""
    return [t for t in targets if t.circuit_breaker and not t.mtls]
