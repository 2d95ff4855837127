"""Engine settings of the delivery runtime, read once from the environment at the edge (CLI, Lambda).

``Settings.from_env(environ)`` reads the reference variables (SPEC Appendix 1) plus ours
(``CLIENT_SUBSCRIPTION_CONFIG_DIR``, ``APPLICATIONS_MAP_FILE``, ``REDIS_URL``, ``RECEIVE_WAIT_SECONDS``, ...)
and reports *every* bad variable at once in a ``SettingsError``. Below the edge nothing touches
``os.environ``: the frozen value is passed down. Gate and TLS settings stay with their own modules
(``GateSettings.from_env``, ``TlsSettings.from_env``) and are built from the same mapping by the runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from delivery.config.cache import DEFAULT_CONFIG_TTL_S, positive_number
from delivery.errors import ConfigError
from delivery.gate.limiter import DEFAULT_TARGET_QUEUE_WAIT_S, default_target_share
from delivery.transport.egress import ALLOWED_EGRESS_CIDRS, EgressPolicy, EgressPolicyError

DEFAULT_CONFIG_PREFIX = "client_subscriptions/"
DEFAULT_REGION = "eu-west-2"
DEFAULT_METRICS_NAMESPACE = "enhanced-callbacks"
DEFAULT_ENVIRONMENT = "local"
METRICS_DEFAULTS = {"METRICS_NAMESPACE": DEFAULT_METRICS_NAMESPACE, "ENVIRONMENT": DEFAULT_ENVIRONMENT}
T = TypeVar("T")


class SettingsError(ConfigError):
    """One or more environment variables are missing or malformed; ``.problems`` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Either a plain ``redis://``/``rediss://`` URL or the reference ElastiCache IAM variables (SPEC H.4)."""

    url: str | None = None
    elasticache_endpoint: str | None = None
    elasticache_cache_name: str | None = None
    elasticache_iam_username: str | None = None
    elasticache_serverless: bool = False
    region: str = DEFAULT_REGION

    @property
    def uses_iam(self) -> bool:
        return self.url is None and self.elasticache_endpoint is not None

    def problems(self) -> list[str]:
        if self.url is not None:
            if not self.url.startswith(("redis://", "rediss://", "unix://")):
                return ["REDIS_URL must start with redis:// or rediss://"]
            return []
        iam = (self.elasticache_endpoint, self.elasticache_cache_name, self.elasticache_iam_username)
        if any(iam) and not all(iam):
            return ["ELASTICACHE_CACHE_NAME, ELASTICACHE_ENDPOINT, and ELASTICACHE_IAM_USERNAME are required"]
        return []


@dataclass(frozen=True, slots=True)
class Settings:
    client_id: str | None = None
    queue_url: str | None = None
    dlq_url: str | None = None
    concurrency_limit: int = 10
    target_concurrency_limit: int | None = None  # per target; None: default_target_share(concurrency_limit)
    target_queue_wait_ms: int = int(DEFAULT_TARGET_QUEUE_WAIT_S * 1000)  # then a waiting record is deferred
    request_timeout_ms: int = 30_000
    config_bucket: str | None = None
    config_prefix: str = DEFAULT_CONFIG_PREFIX
    config_dir: str | None = None
    config_cache_ttl_s: float = DEFAULT_CONFIG_TTL_S
    app_map_parameter: str | None = None
    app_map_file: str | None = None
    app_map_cache_ttl_ms: int = 300_000
    redis: RedisSettings = field(default_factory=RedisSettings)
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
    environment: str = DEFAULT_ENVIRONMENT
    metrics_target_dimension: bool = False
    receive_wait_s: int = 20
    receive_batch_size: int = 10
    drain_s: float = 30.0
    log_level: str = "INFO"
    egress: EgressPolicy = field(default_factory=EgressPolicy)  # ALLOWED_EGRESS_CIDRS (SPEC P15)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        reader = _Reader(environ)
        settings = cls(
            client_id=reader.text("CLIENT_ID"),
            queue_url=reader.text("QUEUE_URL"),
            dlq_url=reader.text("DLQ_URL"),
            concurrency_limit=reader.number("CONCURRENCY_LIMIT", int, 10, minimum=1),
            target_concurrency_limit=reader.number("TARGET_CONCURRENCY_LIMIT", int, None, minimum=1),
            target_queue_wait_ms=reader.number(
                "TARGET_QUEUE_WAIT_MS", int, int(DEFAULT_TARGET_QUEUE_WAIT_S * 1000), minimum=1
            ),
            request_timeout_ms=reader.number("REQUEST_TIMEOUT_MS", int, 30_000, minimum=1),
            config_bucket=reader.text("CLIENT_SUBSCRIPTION_CONFIG_BUCKET"),
            config_prefix=reader.text("CLIENT_SUBSCRIPTION_CONFIG_PREFIX") or DEFAULT_CONFIG_PREFIX,
            config_dir=reader.text("CLIENT_SUBSCRIPTION_CONFIG_DIR"),
            config_cache_ttl_s=positive_number(  # the reference: unset, 0 or not a number -> 60 s
                reader.text("CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS"), DEFAULT_CONFIG_TTL_S
            ),
            app_map_parameter=reader.text("APPLICATIONS_MAP_PARAMETER"),
            app_map_file=reader.text("APPLICATIONS_MAP_FILE"),
            app_map_cache_ttl_ms=int(reader.positive_or_default("APPLICATIONS_MAP_CACHE_TTL_MS", 300_000)),
            redis=_redis_settings(reader),
            metrics_namespace=reader.text("METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
            environment=reader.text("ENVIRONMENT") or DEFAULT_ENVIRONMENT,
            metrics_target_dimension=reader.flag("METRICS_TARGET_DIMENSION"),
            receive_wait_s=reader.number("RECEIVE_WAIT_SECONDS", int, 20, minimum=0, maximum=20),
            receive_batch_size=reader.number("RECEIVE_BATCH_SIZE", int, 10, minimum=1, maximum=10),
            drain_s=reader.number("DRAIN_SECONDS", float, 30.0, minimum=0),
            log_level=(reader.text("LOG_LEVEL") or "INFO").upper(),
            egress=reader.egress(),
        )
        reader.problems += settings.redis.problems()
        if reader.problems:
            raise SettingsError(reader.problems)
        return settings

    @property
    def per_target_limit(self) -> int:
        """Deliveries one target may have in flight: TARGET_CONCURRENCY_LIMIT (at most CONCURRENCY_LIMIT),
        by default three quarters of CONCURRENCY_LIMIT, leaving room for the other targets."""
        if self.target_concurrency_limit is None:
            return default_target_share(self.concurrency_limit)
        return min(self.target_concurrency_limit, self.concurrency_limit)

    @property
    def target_queue_wait_s(self) -> float:
        """How long a record may wait for its target's in-flight slot (once caps apply) before it is
        deferred as ``TARGET_BUSY``; an overloaded target's newcomers are deferred before admission."""
        return self.target_queue_wait_ms / 1000

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given fields replaced (``None`` values are ignored: "flag not given")."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def problems_for_worker(self) -> list[str]:
        """What a worker/Lambda needs beyond what ``from_env`` can check on its own."""
        problems = []
        if not (self.config_dir or self.config_bucket):
            problems.append(
                "CLIENT_SUBSCRIPTION_CONFIG_BUCKET is required (or CLIENT_SUBSCRIPTION_CONFIG_DIR)"
            )
        if not (self.app_map_file or self.app_map_parameter):
            problems.append("APPLICATIONS_MAP_PARAMETER is required (or APPLICATIONS_MAP_FILE)")
        if not (self.redis.url or self.redis.uses_iam):
            problems.append(
                "REDIS_URL is required (or ELASTICACHE_ENDPOINT, ELASTICACHE_CACHE_NAME, "
                "ELASTICACHE_IAM_USERNAME)"
            )
        return problems


def metric_defaults_in_use(environ: Mapping[str, str]) -> dict[str, str]:
    """``METRICS_NAMESPACE`` / ``ENVIRONMENT`` that are unset, with the default the worker uses instead."""
    return {name: value for name, value in METRICS_DEFAULTS.items() if not environ.get(name, "").strip()}


def lambda_metrics_problems(environ: Mapping[str, str]) -> list[str]:
    """The Lambda runtimes require both, as the reference does (its metrics logger throws without them)."""
    return [f"{name} environment variable is not set" for name in metric_defaults_in_use(environ)]


def _redis_settings(reader: _Reader) -> RedisSettings:
    return RedisSettings(
        url=reader.text("REDIS_URL"),
        elasticache_endpoint=reader.text("ELASTICACHE_ENDPOINT"),
        elasticache_cache_name=reader.text("ELASTICACHE_CACHE_NAME"),
        elasticache_iam_username=reader.text("ELASTICACHE_IAM_USERNAME"),
        elasticache_serverless=reader.flag("ELASTICACHE_SERVERLESS"),
        region=reader.text("AWS_REGION") or reader.text("AWS_DEFAULT_REGION") or DEFAULT_REGION,
    )


@dataclass
class _Reader:
    """Reads typed values and collects one problem per bad variable (never stops at the first)."""

    environ: Mapping[str, str]
    problems: list[str] = field(default_factory=list)

    def text(self, name: str) -> str | None:
        value = self.environ.get(name, "").strip()
        return value or None

    def flag(self, name: str) -> bool:
        return (self.text(name) or "").lower() in {"1", "true", "yes", "on"}

    def number(
        self,
        name: str,
        kind: Callable[[str], T],
        default: T,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> T:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            self.problems.append(f"{name} must be a number, got {raw!r}")
            return default
        number = float(value)  # type: ignore[arg-type]
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            self.problems.append(f"{name} must be {bounds}, got {raw!r}")
            return default
        return value

    def egress(self) -> EgressPolicy:
        try:
            return EgressPolicy.from_text(self.text(ALLOWED_EGRESS_CIDRS))
        except EgressPolicyError as exc:
            self.problems.append(f"{exc}; expected comma-separated CIDRs such as 127.0.0.0/8")
            return EgressPolicy()

    def positive_or_default(self, name: str, default: float) -> float:
        """The reference rule for cache TTLs: unset, 0 or NaN mean the default."""
        raw = self.text(name)
        try:
            value = float(raw) if raw is not None else default
        except ValueError:
            self.problems.append(f"{name} must be a number, got {raw!r}")
            return default
        return value if value > 0 else default
