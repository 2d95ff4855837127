"""Start-up checks of ``callbacks worker``, ``redrive`` and ``router``, before any message is touched.

Each problem is one line naming the setting and the fix (the CLI prints ``error: <line>`` and exits 2):
local files first (config directory, applications map, TLS files), the Redis URL and a PING, the AWS region
and credentials, then one call per remote resource (queues, config bucket, SSM parameter). An endpoint that
does not answer is reported once and stops the remote checks. Remote calls retry once, with bounded timeouts.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.config
import botocore.exceptions

from delivery.queue.seam import queue_names
from delivery.runtime import file_checks
from delivery.runtime.settings import RedisSettings, Settings

# a refused connection fails at once; a slow (loaded) endpoint may still answer
CHECK_CONFIG = botocore.config.Config(
    connect_timeout=5, read_timeout=20, retries={"total_max_attempts": 2, "mode": "standard"}
)
MISSING_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
BAD_CREDENTIALS = frozenset(
    {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId",
     "ExpiredToken", "ExpiredTokenException", "AccessDenied", "AccessDeniedException"}
)  # fmt: skip
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class EndpointDown(Exception):
    """An AWS endpoint did not answer: the remaining remote checks are skipped."""


def redacted(url: str) -> str:
    """The URL without its password (never printed)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def redis_problems(redis: RedisSettings, setting: str = "REDIS_URL (--redis-url)") -> list[str]:
    if redis.url is None:
        return []
    shown = redacted(redis.url)
    if not redis.url.startswith(REDIS_SCHEMES):
        return [
            f"{setting} {shown}: must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6379)"
        ]
    import redis as redis_py

    client = redis_py.Redis.from_url(redis.url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis_py.AuthenticationError as exc:
        return [f"{setting} {shown}: Redis refused the credentials ({exc}); fix the user/password in the URL"]
    except (redis_py.ConnectionError, redis_py.TimeoutError, OSError) as exc:
        return [f"{setting} {shown}: no answer to PING ({exc}); start Redis/Valkey there or fix the URL"]
    except redis_py.ResponseError as exc:
        return [f"{setting} {shown}: PING failed ({exc}); check the URL's database and credentials"]
    finally:
        client.close()
    return []


def aws_identity_problems(session: boto3.session.Session, environ: Mapping[str, str]) -> list[str]:
    problems = []
    if not session.region_name:
        also = (
            f" (AWS_REGION={environ['AWS_REGION']} is set, but boto3 reads AWS_DEFAULT_REGION)"
            if (environ.get("AWS_REGION"))
            else ""
        )
        problems.append(
            f"no AWS region: set AWS_DEFAULT_REGION (e.g. eu-west-2) or a region in your profile{also}"
        )
    if session.get_credentials() is None:
        problems.append(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); "
            "moto accepts any values, e.g. testing"
        )
    return problems


def aws_problem(exc: Exception, setting: str, value: str) -> str:
    """One line for a failed AWS call about ``setting``; raises ``EndpointDown`` when nothing answered."""
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        endpoint = exc.kwargs.get("endpoint_url", "the AWS endpoint")
        raise EndpointDown(
            f"cannot reach {endpoint} (checking {setting}): is it running? fix AWS_ENDPOINT_URL, or unset it "
            "to use AWS"
        )
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in MISSING_QUEUE:
            return f"{setting} {value}: the queue does not exist (create it, or fix {setting})"
        if code in BAD_CREDENTIALS:
            fix = "check AWS_ACCESS_KEY_ID / AWS_PROFILE"
            return f"{setting} {value}: AWS rejected the credentials ({code}); {fix}"
        if code in {"NoSuchBucket", "404"}:
            return f"{setting} {value}: the bucket does not exist (create it, or fix {setting})"
        if code == "ParameterNotFound":
            return f"{setting} {value}: no such SSM parameter (create it, or fix {setting})"
        return f"{setting} {value}: {code or 'error'}: {error.get('Message', exc)}"
    return f"{setting} {value}: {type(exc).__name__}: {exc}"


class RemoteChecks:
    """Calls AWS once per resource; each ``problem_*`` returns one line or None."""

    def __init__(self, session: boto3.session.Session) -> None:
        self.session = session
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=CHECK_CONFIG)
        return self._clients[service]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def _call(self, call: Callable[[], object], setting: str, value: str) -> str | None:
        try:
            call()
        except Exception as exc:
            return aws_problem(exc, setting, value)
        return None

    def queue_url(self, url: str, setting: str) -> str | None:
        sqs = self.client("sqs")
        return self._call(
            lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]), setting, url
        )

    def queue_name(self, name: str, setting: str) -> str | None:
        return self._call(lambda: self.client("sqs").get_queue_url(QueueName=name), setting, name)

    def bucket(self, bucket: str, setting: str) -> str | None:
        return self._call(lambda: self.client("s3").head_bucket(Bucket=bucket), setting, bucket)

    def parameter(self, name: str, setting: str) -> str | None:
        return self._call(lambda: self.client("ssm").get_parameter(Name=name), setting, name)


Remote = Callable[[RemoteChecks], Sequence[str | None]]


def run_checks(local: list[str], remote: Remote, environ: Mapping[str, str]) -> list[str]:
    """Local problems, then (when AWS is usable at all) the remote ones; an endpoint down ends the run."""
    session = boto3.session.Session()
    identity = aws_identity_problems(session, environ)
    if identity:
        return local + identity
    checks = RemoteChecks(session)
    try:
        found = [problem for problem in remote(checks) if problem]
    except EndpointDown as exc:
        found = [str(exc)]
    finally:
        checks.close()
    return local + found


def _config_checks(settings: Settings, checks: RemoteChecks) -> list[str | None]:
    found: list[str | None] = []
    if settings.config_bucket and not settings.config_dir:
        found.append(
            checks.bucket(settings.config_bucket, "--config-bucket (CLIENT_SUBSCRIPTION_CONFIG_BUCKET)")
        )
    if settings.app_map_parameter and not settings.app_map_file:
        found.append(
            checks.parameter(settings.app_map_parameter, "--app-map-parameter (APPLICATIONS_MAP_PARAMETER)")
        )
    return found


def worker_problems(
    args: argparse.Namespace, settings: Settings, environ: Mapping[str, str], client_ids: Sequence[str]
) -> list[str]:
    from delivery.transport.material import TlsSettings

    tls = TlsSettings.from_env(environ)
    local = [
        *file_checks.config_dir_problems(
            settings.config_dir, "--config-dir (CLIENT_SUBSCRIPTION_CONFIG_DIR)"
        ),
        *file_checks.app_map_file_problems(settings.app_map_file, "--app-map-file (APPLICATIONS_MAP_FILE)"),
        *file_checks.tls_file_problems(tls.cert_file, tls.key_file, tls.ca_file),
        *redis_problems(settings.redis),
    ]

    def remote(checks: RemoteChecks) -> list[str | None]:
        return [*queue_checks(args, client_ids, checks), *_config_checks(settings, checks)]

    return run_checks(local, remote, environ)


def queue_checks(
    args: argparse.Namespace, client_ids: Sequence[str], checks: RemoteChecks
) -> list[str | None]:
    if args.queue_url and args.dlq_url:
        return [checks.queue_url(args.queue_url, "--queue-url"), checks.queue_url(args.dlq_url, "--dlq-url")]
    return [client_queues_problem(checks, args.queue_prefix, client_id) for client_id in client_ids]


def client_queues_problem(checks: RemoteChecks, prefix: str, client_id: str) -> str | None:
    """One line per client whose queues (found by name) are missing or unreadable."""
    setting = f"--client {client_id}"
    found = {name: checks.queue_name(name, setting) for name in queue_names(prefix, client_id)}
    missing = [name for name, problem in found.items() if problem and "does not exist" in problem]
    if missing:
        return (
            f"{setting}: no queue {' or '.join(missing)} (check --client and --queue-prefix/QUEUE_PREFIX, "
            "or give --queue-url and --dlq-url)"
        )
    return next((problem for problem in found.values() if problem), None)


def redrive_problems(args: argparse.Namespace, environ: Mapping[str, str]) -> list[str]:
    return run_checks([], lambda checks: queue_checks(args, [args.client], checks), environ)


def router_problems(args: argparse.Namespace, environ: Mapping[str, str]) -> list[str]:
    """The router's inbound queue and DLQ, and where its client configs come from."""
    config_dir = environ.get("CLIENT_SUBSCRIPTION_CONFIG_DIR") or None
    bucket = environ.get("CLIENT_SUBSCRIPTION_CONFIG_BUCKET") or None
    local = file_checks.config_dir_problems(config_dir, "--config-dir (CLIENT_SUBSCRIPTION_CONFIG_DIR)")

    def remote(checks: RemoteChecks) -> list[str | None]:
        found = [checks.queue_url(args.inbound_queue_url, "--inbound-queue-url")]
        if environ.get("INBOUND_DLQ_URL"):
            found.append(checks.queue_url(environ["INBOUND_DLQ_URL"], "--dlq-url (INBOUND_DLQ_URL)"))
        if bucket and not config_dir:
            found.append(checks.bucket(bucket, "--config-bucket (CLIENT_SUBSCRIPTION_CONFIG_BUCKET)"))
        return found

    return run_checks(local, remote, environ)
