"""Admission gate: Redis token bucket + circuit breaker per target (SPEC C as changed by P8).

The two Lua scripts (``delivery/gate/lua/admit.lua``, ``record.lua``) hold the whole state machine; this
module only builds their arguments, runs them with redis-py's ``register_script`` (EVALSHA with its NOSCRIPT
fallback) and parses the replies. All keys of one target share the ``{targetId}`` hash tag.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from importlib import resources
from typing import Any, TypeVar

import redis.asyncio
import redis.exceptions

from delivery.config.client import CallbackTarget
from delivery.errors import ConfigError, GateUnavailable
from delivery.gate.reply import GateReplyError, parse_admit_reply, parse_record_reply
from delivery.models import AdmitDecision, BreakerState, RecordResult

T = TypeVar("T")
BURST_MULTIPLIER = 5
ENV_VARS = {
    "burst_capacity": "TOKEN_BUCKET_BURST_CAPACITY",
    "probe_rate": "CB_PROBE_RATE_LIMIT",
    "recovery_period_ms": "CB_RECOVERY_PERIOD_MS",
    "sample_period_ms": "CB_SAMPLE_PERIOD_MS",
    "failure_threshold": "CB_FAILURE_THRESHOLD",
    "min_attempts": "CB_MIN_ATTEMPTS",
    "cooldown_period_ms": "CB_COOLDOWN_PERIOD_MS",
    "key_ttl_ms": "GATE_KEY_TTL_MS",
}


def _script(name: str) -> str:
    return resources.files("delivery.gate.lua").joinpath(name).read_text(encoding="utf-8")


ADMIT_SCRIPT = _script("admit.lua")
RECORD_SCRIPT = _script("record.lua")


@dataclass(frozen=True, slots=True)
class GateSettings:
    """Engine-wide gate defaults (SPEC C.1/P8); per-target config overrides some of them."""

    burst_capacity: float = 2250
    probe_rate: float = 1 / 60
    recovery_period_ms: float = 600_000
    sample_period_ms: float = 300_000
    failure_threshold: float = 0.3
    min_attempts: float = 5
    cooldown_period_ms: float = 120_000
    key_ttl_ms: float = 86_400_000  # a target's state is forgotten after a day without traffic
    key_prefix: str = "ep:"

    def __post_init__(self) -> None:
        numeric = [f.name for f in fields(self) if f.name not in ("key_prefix", "failure_threshold")]
        bad = [name for name in numeric if not _positive(getattr(self, name))]
        if not (_positive(self.failure_threshold) and self.failure_threshold <= 1):
            bad.append("failure_threshold")
        if bad:
            raise ConfigError(f"gate settings out of range: {', '.join(bad)}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GateSettings:
        """Read the reference env vars (empty = default); every bad value is listed in one ConfigError."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, var in ENV_VARS.items():
            raw = environ.get(var, "").strip()
            if not raw:
                continue
            try:
                values[name] = float(raw)
            except ValueError:
                problems.append(f"{var}: expected a number, got {raw!r}")
        if problems:
            raise ConfigError("; ".join(problems))
        return cls(**values)

    def key(self, target_id: str) -> str:
        return f"{self.key_prefix}{{{target_id}}}"


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _or(override: float | None, default: float, scale: float = 1) -> float:
    return default if override is None else override * scale


@dataclass(frozen=True, slots=True)
class TargetGateParams:
    """Everything the scripts need for one target: its rate and the breaker settings in force."""

    rate: float
    capacity: float
    cb_enabled: bool
    probe_rate: float
    failure_threshold: float
    min_attempts: float
    sample_period_ms: float
    cooldown_ms: float
    recovery_ms: float

    @classmethod
    def for_target(cls, target: CallbackTarget, settings: GateSettings) -> TargetGateParams:
        rate = float(target.invocation_rate_limit)
        delivery = target.delivery
        cb = delivery.circuit_breaker
        burst = delivery.rate_limit.burst
        capacity = max(1.0, min(rate * BURST_MULTIPLIER, settings.burst_capacity)) if burst is None else burst
        return cls(
            rate=rate,
            capacity=float(capacity),
            cb_enabled=cb.enabled,
            probe_rate=min(settings.probe_rate, rate),
            failure_threshold=_or(cb.failure_threshold, settings.failure_threshold),
            min_attempts=_or(cb.min_attempts, settings.min_attempts),
            sample_period_ms=_or(cb.sample_period_seconds, settings.sample_period_ms, 1000),
            cooldown_ms=_or(cb.cooldown_seconds, settings.cooldown_period_ms, 1000),
            recovery_ms=_or(cb.recovery_seconds, settings.recovery_period_ms, 1000),
        )


def _arg(value: float | None) -> str:
    if value is None:
        return ""
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


@functools.lru_cache(maxsize=4096)
def _admit_args(params: TargetGateParams, ttl_ms: float) -> tuple[str, ...]:
    """ARGV[2..6] and ARGV[8..9] of admit.lua (the parts that do not change per call)."""
    rates = (params.capacity, params.rate, params.cooldown_ms, params.recovery_ms, params.probe_rate)
    return (*map(_arg, rates), "1" if params.cb_enabled else "0", _arg(ttl_ms))


@functools.lru_cache(maxsize=4096)
def _record_args(params: TargetGateParams, ttl_ms: float) -> tuple[str, ...]:
    """ARGV[4..9] of record.lua."""
    values = (params.cooldown_ms, params.recovery_ms, params.failure_threshold, params.min_attempts)
    return (*map(_arg, values), _arg(params.sample_period_ms), _arg(ttl_ms))


class Gate:
    """Runs the gate scripts against one Redis (or cluster) connection."""

    def __init__(self, redis_client: redis.asyncio.Redis, settings: GateSettings | None = None) -> None:
        self._redis = redis_client
        self.settings = settings or GateSettings()
        self._admit = redis_client.register_script(ADMIT_SCRIPT)
        self._record = redis_client.register_script(RECORD_SCRIPT)

    async def admit(
        self, target_id: str, params: TargetGateParams, batch_size: int, now_ms: float | None = None
    ) -> AdmitDecision:
        """Take up to ``batch_size`` tokens; ``now_ms`` None = Redis server time."""
        static = _admit_args(params, self.settings.key_ttl_ms)
        args = [_arg(now_ms), *static[:5], str(batch_size), *static[5:]]
        reply = await self._run("admit", self._admit, target_id, args)
        return self._parse(parse_admit_reply, reply, target_id)

    async def record(
        self,
        target_id: str,
        params: TargetGateParams,
        consumed: int,
        failures: int,
        now_ms: float | None = None,
    ) -> RecordResult:
        """Feed a delivered batch's attempts/failures to the breaker (skipped when it is disabled)."""
        if not params.cb_enabled:
            return RecordResult(BreakerState.CLOSED, changed=False)
        args = [_arg(now_ms), str(consumed), str(failures), *_record_args(params, self.settings.key_ttl_ms)]
        reply = await self._run("record", self._record, target_id, args)
        return self._parse(parse_record_reply, reply, target_id)

    async def state(self, target_id: str) -> dict[str, str]:
        """The raw hash of one target (for inspection and tests)."""
        try:
            raw = await self._redis.hgetall(self.settings.key(target_id))
        except (redis.exceptions.RedisError, OSError) as exc:
            raise GateUnavailable(
                f"gate state read failed for target {target_id!r}: {_describe(exc)}"
            ) from exc
        return {_decode(k): _decode(v) for k, v in raw.items()}

    async def _run(self, op: str, script: Any, target_id: str, args: list[str]) -> object:
        try:
            return await script(keys=[self.settings.key(target_id)], args=args)
        except (redis.exceptions.RedisError, OSError) as exc:
            raise GateUnavailable(f"gate {op} failed for target {target_id!r}: {_describe(exc)}") from exc

    @staticmethod
    def _parse(parser: Callable[[object], T], reply: object, target_id: str) -> T:
        try:
            return parser(reply)
        except GateReplyError as exc:
            raise GateUnavailable(f"gate reply for target {target_id!r} not understood: {exc}") from exc


def _decode(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(exc: BaseException) -> str:
    """Exception type and first line of its message (Redis script errors never carry the source)."""
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first_line[:300]}"


__all__ = ["ADMIT_SCRIPT", "RECORD_SCRIPT", "Gate", "GateSettings", "TargetGateParams"]
