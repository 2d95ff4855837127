"""``callbacks router``: run the router stage as a worker on the inbound queue.

    callbacks router --inbound-queue-url URL --dlq-url URL [--queue-prefix P] [--queue-url CLIENT=URL ...]
                     [--config-dir D | --config-bucket B [--config-prefix P]] [--message-root-uri U]
                     [--wait-seconds N] [--concurrency N] [--burst]

Flags override the environment (``delivery.router.settings``, ``delivery.config.store``). SIGTERM/SIGINT stop
the worker after the current batch. ``--burst`` drains the queue and exits, printing a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "router",
        help="validate, match and route status events from the inbound queue to client delivery queues",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--inbound-queue-url", required=True, help="inbound event queue URL")
    from_env = os.environ.get("INBOUND_DLQ_URL") or None  # the flag is required unless the variable is set
    parser.add_argument(
        "--dlq-url",
        required=from_env is None,
        default=from_env,
        help="inbound event DLQ URL (env INBOUND_DLQ_URL)",
    )
    parser.add_argument("--queue-prefix", help="delivery queue name prefix (env DELIVERY_QUEUE_PREFIX)")
    parser.add_argument(
        "--queue-url", action="append", default=[], metavar="CLIENT=URL", help="explicit delivery queue"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config-dir", help="local directory of <clientId>.json configs")
    source.add_argument("--config-bucket", help="S3 bucket of client configs")
    parser.add_argument("--config-prefix", default=None, help="S3 key prefix (default client_subscriptions/)")
    parser.add_argument("--cache-ttl-seconds", type=float, default=None, help="config cache TTL")
    parser.add_argument("--message-root-uri", help="root of links.message (env MESSAGE_ROOT_URI)")
    parser.add_argument("--wait-seconds", type=int, default=20, choices=range(0, 21), metavar="0-20")
    parser.add_argument("--concurrency", type=int, default=4, help="receive loops in parallel (default 4)")
    parser.add_argument("--burst", action="store_true", help="drain the queue, then exit")
    parser.set_defaults(handler=run_router)


def _environ(args: argparse.Namespace) -> dict[str, str]:
    """The process environment with the flags applied on top (flags win)."""
    env = dict(os.environ)
    overrides = {
        "INBOUND_DLQ_URL": args.dlq_url,
        "DELIVERY_QUEUE_PREFIX": args.queue_prefix,
        "MESSAGE_ROOT_URI": args.message_root_uri,
        "CLIENT_SUBSCRIPTION_CONFIG_BUCKET": args.config_bucket,
        "CLIENT_SUBSCRIPTION_CONFIG_PREFIX": args.config_prefix,
        "CLIENT_SUBSCRIPTION_CACHE_TTL_SECONDS": None
        if args.cache_ttl_seconds is None
        else str(args.cache_ttl_seconds),
    }
    if args.config_bucket:
        env.pop("CLIENT_SUBSCRIPTION_CONFIG_DIR", None)
    if args.config_dir:
        overrides["CLIENT_SUBSCRIPTION_CONFIG_DIR"] = args.config_dir
    if args.queue_url:
        pairs = dict(item.split("=", 1) for item in args.queue_url if "=" in item)
        overrides["DELIVERY_QUEUE_URLS"] = json.dumps(pairs)
    env.update({k: v for k, v in overrides.items() if v is not None})
    return env


def run_router(args: argparse.Namespace) -> int:
    import asyncio

    from delivery.errors import ConfigError
    from delivery.observe import logs
    from delivery.router.lambda_handler import build_deps
    from delivery.runtime.service import log_metric_defaults

    env = _environ(args)
    if any("=" not in item for item in args.queue_url):
        print("error: --queue-url takes CLIENT=URL", file=sys.stderr)
        return 2
    from delivery.router.settings import RouterSettings
    from delivery.runtime.preflight import router_problems

    deps = None
    try:
        RouterSettings.from_env(env)  # the settings' own problems first, then what they point at
        problems = router_problems(args, env)
        deps = None if problems else build_deps(env, lambda_runtime=False)
    except (ConfigError, ValueError) as exc:
        problems = [str(exc)]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if deps is None or problems:
        return 2
    logs.configure(env.get("LOG_LEVEL") or "INFO")
    log_metric_defaults(env)
    stats = asyncio.run(_serve(args, deps))
    if args.burst:
        print(json.dumps(stats))
    return 0


async def _serve(args: argparse.Namespace, deps: Any) -> dict[str, object]:
    import asyncio
    import signal

    import boto3

    from delivery.queue.sqs import SqsQueue
    from delivery.router.worker import RouterWorker

    client = boto3.client("sqs")
    wait_s = 1 if args.burst else args.wait_seconds
    inbound = SqsQueue(args.inbound_queue_url, client)
    worker = RouterWorker(inbound, deps, wait_s=wait_s, concurrency=args.concurrency)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    try:
        stats = await worker.run(burst=args.burst)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        client.close()
        deps.close()
    return stats.as_dict()
