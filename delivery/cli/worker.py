"""``callbacks worker`` and ``callbacks redrive``: the long-running delivery worker and the DLQ redrive.

    callbacks worker --client acme [--client beta] [--queue-prefix callbacks-local] [--burst]
    callbacks worker --client acme --queue-url URL --dlq-url URL --config-dir fixtures/clients ...
    callbacks worker --client acme --metrics-port 9100 [--metrics-host 127.0.0.1]   (Prometheus /metrics)
    callbacks redrive --client acme [--target T] [--error-code C] [--limit N] [--dry-run] [--rate N/s]

Flags override the environment variables of ``Settings.from_env`` (which are read here, at the edge). Queue
URLs default to the contract names ``<prefix>-<clientId>-delivery-queue`` / ``-delivery-dlq-queue``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from delivery.queue.seam import DEFAULT_QUEUE_PREFIX


def _bounded(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            limits = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {limits}, got {value}")
        return value

    return parse


def _rate(text: str) -> float:
    from delivery.runtime.pacing import parse_rate

    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _queue_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue-url", help="delivery queue URL (one --client only)")
    parser.add_argument("--dlq-url", help="DLQ URL (one --client only)")
    parser.add_argument(
        "--queue-prefix",
        help=f"queue name prefix when URLs are not given (env QUEUE_PREFIX, default {DEFAULT_QUEUE_PREFIX})",
    )


def register(subparsers: Any) -> None:
    worker = subparsers.add_parser("worker", help="deliver callbacks from client queues (long polling)")
    worker.add_argument("--client", action="append", default=[], help="client id (repeatable)")
    _queue_flags(worker)
    worker.add_argument("--config-dir", help="local directory of <clientId>.json configs")
    worker.add_argument("--config-bucket", help="S3 bucket of client configs")
    worker.add_argument("--config-prefix", help="S3 key prefix (default client_subscriptions/)")
    worker.add_argument("--app-map-file", help="local applications map JSON file")
    worker.add_argument("--app-map-parameter", help="SSM parameter holding the applications map")
    worker.add_argument("--redis-url", help="redis:// or rediss:// URL of the gate's Redis/Valkey")
    worker.add_argument(
        "--concurrency", type=_bounded(1), help="deliveries in flight at once (CONCURRENCY_LIMIT)"
    )
    worker.add_argument("--batches-in-flight", type=_bounded(1), default=4, help="received batches per queue")
    worker.add_argument(
        "--max-batch",
        type=_bounded(1, 1000),
        default=10,
        help="messages per pipeline batch (several receives)",
    )
    worker.add_argument("--wait-s", type=_bounded(0, 20), help="long-poll wait in seconds (0-20, default 20)")
    worker.add_argument("--drain-s", type=float, help="graceful-shutdown wait for in-flight batches")
    worker.add_argument("--burst", action="store_true", help="drain the queues and exit")
    worker.add_argument(
        "--metrics-port",
        type=_bounded(0, 65535),
        help="serve Prometheus GET /metrics and /health on this port (default off; 0 picks a free port)",
    )
    worker.add_argument(
        "--metrics-host", default="127.0.0.1", help="metrics bind address (default 127.0.0.1)"
    )
    worker.set_defaults(handler=run_worker)

    redrive = subparsers.add_parser("redrive", help="move DLQ messages back to the delivery queue")
    redrive.add_argument("--client", required=True, help="client id")
    _queue_flags(redrive)
    redrive.add_argument("--target", help="only messages whose TARGET_ID is this")
    redrive.add_argument("--error-code", help="only messages whose ERROR_CODE is this")
    redrive.add_argument("--limit", type=_bounded(1), help="move at most this many messages")
    redrive.add_argument("--dry-run", action="store_true", help="count what would move; change nothing")
    redrive.add_argument(
        "--rate",
        type=_rate,
        metavar="N/s",
        help="send at most N messages a second (default: per target, 80%% of its invocationRateLimit)",
    )
    redrive.set_defaults(handler=run_redrive)


def _with_prefix(args: argparse.Namespace) -> argparse.Namespace:
    args.queue_prefix = args.queue_prefix or os.environ.get("QUEUE_PREFIX") or DEFAULT_QUEUE_PREFIX
    return args


def run_worker(args: argparse.Namespace) -> int:
    from delivery.runtime.service import run

    return run(_with_prefix(args), os.environ)


def run_redrive(args: argparse.Namespace) -> int:
    from delivery.runtime.service import redrive_main

    return redrive_main(_with_prefix(args), os.environ)
