"""How the local stack wires the product's processes: certificates, env vars, argv, readiness, roles.

Kept apart from ``local_stack.py`` so the orchestration reads as a sequence and the product-facing details
(variable names, command-line flags) live in one place.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.children import child_env, console_script
from harness.environment import ClientQueues
from harness.processes import ManagedProcess, ProcessStartError

if TYPE_CHECKING:
    from harness.provision import Provisioned

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO_ROOT / "fixtures" / "clients"

CLIENTS_PER_WORKER = 16
# The local stack's SQS: fauxqs (npm, harness/fauxqs_server.py) or moto's server, patched or as shipped.
SQS_EMULATORS = ("fauxqs", "moto-fast", "moto")
DEFAULT_SQS = "fauxqs"
APPLICATIONS_FIXTURE = "applications.json"  # optional {clientId: applicationId} beside the client configs


@dataclass(frozen=True, slots=True)
class StackOptions:
    """What ``LocalStack`` starts, and where it keeps its state."""

    state_dir: Path | None = None  # kept after stop when given
    fixtures_dir: Path = FIXTURES_DIR
    run_id: str = ""
    with_router: bool = True
    with_worker: bool = True
    startup_timeout_s: float = 60.0
    receive_wait_s: int = 1
    worker_max_batch: int = 10  # `callbacks worker --max-batch`: messages per pipeline batch (its default)
    sqs: str = DEFAULT_SQS  # one of SQS_EMULATORS


def moto_variant(sqs: str) -> str:
    """The moto server the stack runs for S3/SSM/Secrets Manager (and SQS unless ``sqs`` is fauxqs)."""
    if sqs not in SQS_EMULATORS:
        raise ValueError(f"sqs emulator {sqs!r}: expected one of {', '.join(SQS_EMULATORS)}")
    return "moto-fast" if sqs == "fauxqs" else sqs


def mint_certs(certs_dir: Path) -> None:
    """A fresh CA, server and client certificate (what ``mock-webhook certs init DIR`` writes)."""
    from mock_webhook.certs import CertBundle

    CertBundle.mint().write(certs_dir, force=True)


def fixture_application_ids(fixtures_dir: Path) -> dict[str, str]:
    path = fixtures_dir / APPLICATIONS_FIXTURE
    if not path.is_file():
        path = fixtures_dir.parent / APPLICATIONS_FIXTURE
    if not path.is_file():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else {}


def pipeline_env(
    aws_env: Mapping[str, str], redis_url: str, provisioned: Provisioned, options: StackOptions
) -> dict[str, str]:
    """Environment of the router and worker children: the reference variables (SPEC Appendix 1) + ours."""
    return child_env(
        {
            **aws_env,
            "CLIENT_SUBSCRIPTION_CONFIG_BUCKET": provisioned.bucket,
            "CLIENT_SUBSCRIPTION_CONFIG_PREFIX": provisioned.config_prefix,
            "CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS": "60",
            "APPLICATIONS_MAP_PARAMETER": provisioned.app_map_parameter,
            "APPLICATIONS_MAP_CACHE_TTL_MS": "60000",
            "REDIS_URL": redis_url,
            "MTLS_CERT_S3_BUCKET": provisioned.bucket,
            "MTLS_CERT_S3_KEY": "mtls/client-bundle.pem",
            "MTLS_CA_S3_KEY": "mtls/ca.pem",
            "METRICS_NAMESPACE": "enhanced-callbacks-local",
            "ENVIRONMENT": "local",
            "METRICS_TARGET_DIMENSION": "true",
            "RECEIVE_WAIT_SECONDS": str(options.receive_wait_s),
            "DRAIN_SECONDS": "2",
            "REQUEST_TIMEOUT_MS": "5000",
            # half-open probes every second instead of every minute (SPEC P8 default 1/60 rps), so breaker
            # scenarios finish in seconds; timings are made fast through config, never by faking time
            "CB_PROBE_RATE_LIMIT": "1",
            "LOG_LEVEL": "INFO",
            # the local stack delivers to its mock on 127.0.0.1: the one egress allowance (SPEC P15)
            "ALLOWED_EGRESS_CIDRS": "127.0.0.0/8",
        }
    )


def router_argv(provisioned: Provisioned, prefix: str, options: StackOptions) -> list[str]:
    return [
        *console_script("callbacks"), "router",
        "--inbound-queue-url", provisioned.inbound_queue_url,
        "--dlq-url", provisioned.inbound_dlq_url,
        "--queue-prefix", prefix,
        "--config-bucket", provisioned.bucket,
        "--config-prefix", provisioned.config_prefix,
        "--wait-seconds", str(options.receive_wait_s),
    ]  # fmt: skip


def worker_groups(clients: Sequence[ClientQueues]) -> list[Sequence[ClientQueues]]:
    """Clients split over worker processes, at most ``CLIENTS_PER_WORKER`` each.

    One ``callbacks worker`` serves many clients (long polls run on their own threads and the worker sizes
    its pools for its consumers), so the fixtures need one process; larger sets are split to spread load.
    """
    return [clients[i : i + CLIENTS_PER_WORKER] for i in range(0, len(clients), CLIENTS_PER_WORKER)]


def worker_argv(clients: Sequence[ClientQueues], prefix: str, options: StackOptions) -> list[str]:
    argv = [
        *console_script("callbacks"),
        "worker",
        "--queue-prefix",
        prefix,
        "--wait-s",
        str(options.receive_wait_s),
        "--max-batch",
        str(options.worker_max_batch),
    ]
    for queues in clients:
        argv += ["--client", queues.client_id]
    return argv


def wait_started(processes: Mapping[str, ManagedProcess], grace_s: float) -> None:
    """Children count as started once each has logged a line or stayed alive for ``grace_s`` (most start-up
    errors — bad settings, missing modules — end the process within that time)."""
    deadline = time.monotonic() + grace_s
    waiting = dict(processes)
    while waiting:
        for name, process in list(waiting.items()):
            if not process.alive():
                code = process.proc.returncode
                raise ProcessStartError(f"{name} exited with code {code}: {process.tail()}")
            if _has_logged(process) or time.monotonic() >= deadline:
                del waiting[name]
        if waiting:
            time.sleep(0.05)


def _has_logged(process: ManagedProcess) -> bool:
    path = process.log_path
    return bool(path and path.exists() and path.stat().st_size > 0)


def roles_for(configs: Mapping[str, Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """Scenario role -> client id for the local fixtures (see ``harness.roles``)."""
    from harness.roles import assign_roles

    return assign_roles(configs)
