"""Scenario roles: which fixture client plays "fanout", "rate_limited", "circuit_breaker", ...

Scenarios ask the environment for a role (``env.role("rate_limited")``), never for a client id, so the same
scenario runs against the local fixtures and a deployed environment (whose TOML names its own ``[roles]``).
For local fixtures the roles are derived from what each config *is* (its raw JSON, before the local stack
rewrites endpoints): a role goes to the client that satisfies its rule and the fewest other rules.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

Config = Mapping[str, Any]
REQUIRED_HOST = "mtls-required.mock.invalid"  # same convention as harness.provision
WRONG_PIN_HOST = "wrong-pin.mock.invalid"
SCRIPTED_HOST = "scripted.mock.invalid"  # a target only fault-script scenarios use
SPECIAL_HOSTS = (REQUIRED_HOST, WRONG_PIN_HOST, SCRIPTED_HOST)


def _targets(config: Config) -> list[Mapping[str, Any]]:
    return list(config.get("targets", []))


def _delivery(target: Mapping[str, Any]) -> Mapping[str, Any]:
    return dict(target.get("delivery") or {})


def _host(target: Mapping[str, Any]) -> str:
    return urllib.parse.urlsplit(str(target.get("invocationEndpoint", ""))).hostname or ""


def _any_target(config: Config, test: Callable[[Mapping[str, Any]], bool]) -> bool:
    return any(test(t) for t in _targets(config))


def _mtls(t: Mapping[str, Any]) -> Mapping[str, Any]:
    return dict(_delivery(t).get("mtls") or {})


def _mtls_on(t: Mapping[str, Any]) -> bool:
    return bool(_mtls(t).get("enabled"))


def _pinning(t: Mapping[str, Any]) -> bool:
    return bool((_mtls(t).get("certPinning") or {}).get("enabled"))


def _cb(t: Mapping[str, Any]) -> bool:
    return bool((_delivery(t).get("circuitBreaker") or {}).get("enabled"))


def _window_s(t: Mapping[str, Any]) -> float:
    return float(_delivery(t).get("maxRetryDurationSeconds") or 7200)


def _is_fanout(c: Config) -> bool:
    return any(len(s.get("targetIds", [])) >= 2 for s in c.get("subscriptions", []))


def _is_plain(c: Config) -> bool:
    special = _is_fanout(c) or _any_target(c, lambda t: _mtls_on(t) or _pinning(t) or _cb(t))
    if _any_target(c, lambda t: _host(t) in SPECIAL_HOSTS):
        return False
    slow = _any_target(c, lambda t: float(t.get("invocationRateLimit", 0)) < 10 or _window_s(t) < 600)
    return len(_targets(c)) == 1 and not special and not slow


ROLE_RULES: tuple[tuple[str, Callable[[Config], bool]], ...] = (
    ("plain", _is_plain),
    ("fanout", _is_fanout),
    ("mtls", lambda c: _any_target(c, lambda t: _mtls_on(t) and _host(t) not in SPECIAL_HOSTS)),
    ("rate_limited", lambda c: _any_target(c, lambda t: float(t.get("invocationRateLimit", 0)) <= 2)),
    ("circuit_breaker", lambda c: _any_target(c, _cb)),
    ("short_retry", lambda c: _any_target(c, lambda t: _window_s(t) <= 60 and not _cb(t))),
    ("mtls_required", lambda c: _any_target(c, lambda t: _host(t) == REQUIRED_HOST)),
    ("wrong_pin", lambda c: _any_target(c, lambda t: _host(t) == WRONG_PIN_HOST)),
    ("scripted", lambda c: _any_target(c, lambda t: _host(t) == SCRIPTED_HOST)),
)  # fmt: skip


def assign_roles(configs: Mapping[str, Config]) -> tuple[tuple[str, str], ...]:
    matches = {cid: {role for role, rule in ROLE_RULES if rule(cfg)} for cid, cfg in configs.items()}
    roles = []
    for role, _ in ROLE_RULES:
        candidates = sorted((len(m), cid) for cid, m in matches.items() if role in m)
        if candidates:
            roles.append((role, candidates[0][1]))
    return tuple(sorted(roles))
