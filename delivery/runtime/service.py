"""What ``callbacks worker`` / ``callbacks redrive`` run (out of ``cli_worker``, so ``--help`` stays fast).

Settings come from the environment, then the flags override them; queue URLs are resolved by name when not
given. The default thread pool and the SQS connection pool are sized for the consumers (``threads_for``).
The worker runs on uvloop when it is installed, stops gracefully on SIGTERM/SIGINT (stop receiving,
finish in-flight batches, settle, exit 0) and prints a one-line JSON summary on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from delivery.observe import logs
from delivery.queue.seam import queue_names
from delivery.queue.sqs import SqsQueue
from delivery.runtime.pacing import FALLBACK_RATE_PER_S, default_rates
from delivery.runtime.redrive import Pacing, RedriveFilter, redrive
from delivery.runtime.settings import RedisSettings, Settings, SettingsError, metric_defaults_in_use

if TYPE_CHECKING:
    from delivery.observe.metrics import MetricsSink
    from delivery.observe.prometheus import MetricsServer, PrometheusSink

_log = logging.getLogger(__name__)


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    base = Settings.from_env(environ)
    return base.with_overrides(
        config_dir=getattr(args, "config_dir", None),
        config_bucket=getattr(args, "config_bucket", None),
        config_prefix=getattr(args, "config_prefix", None),
        app_map_file=getattr(args, "app_map_file", None),
        app_map_parameter=getattr(args, "app_map_parameter", None),
        redis=RedisSettings(url=args.redis_url) if getattr(args, "redis_url", None) else None,
        concurrency_limit=getattr(args, "concurrency", None),
        receive_wait_s=getattr(args, "wait_s", None),
        drain_s=getattr(args, "drain_s", None),
    )


def resolve_queues(
    args: argparse.Namespace, client_ids: list[str], sqs_client: Any
) -> list[tuple[str, str, str]]:
    """(client id, queue URL, DLQ URL) per client."""
    if args.queue_url or args.dlq_url:
        if len(client_ids) != 1 or not (args.queue_url and args.dlq_url):
            raise SettingsError(["--queue-url and --dlq-url go together, with exactly one --client"])
        return [(client_ids[0], args.queue_url, args.dlq_url)]
    out = []
    for client_id in client_ids:
        names = queue_names(args.queue_prefix, client_id)
        urls = [sqs_client.get_queue_url(QueueName=name)["QueueUrl"] for name in names]
        out.append((client_id, urls[0], urls[1]))
    return out


THREAD_HEADROOM = 8  # queue-URL lookups, TLS material loads, the odd config fetch


def threads_for(consumers: int, batches_in_flight: int) -> int:
    """Blocking calls a worker can have at once: per consumer one receive plus one settle per batch in flight
    (long polls have a pool of their own, ``sqs.long_poll_executor``, but share the SQS connection pool)."""
    return consumers * (batches_in_flight + 1) + THREAD_HEADROOM


def _run_async(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


def _fail(problems: list[str]) -> int:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    try:
        settings = settings_from(args, environ)
    except SettingsError as exc:
        return _fail(list(exc.problems))
    client_ids = args.client or ([settings.client_id] if settings.client_id else [])
    problems = settings.problems_for_worker() + (
        [] if client_ids else ["--client (or CLIENT_ID) is required"]
    )
    problems += _module_setting_problems(environ)
    if problems:
        return _fail(problems)
    from delivery.runtime.preflight import worker_problems

    problems = worker_problems(args, settings, environ, client_ids)
    if problems:
        return _fail(problems)
    logs.configure(settings.log_level)
    log_metric_defaults(environ)
    try:
        return _run_async(lambda: _serve(args, settings, environ, client_ids))
    except SettingsError as exc:  # found while starting: queue flags that do not fit, a busy metrics port
        return _fail(list(exc.problems))


def log_metric_defaults(environ: Mapping[str, str]) -> None:
    """One startup line when METRICS_NAMESPACE / ENVIRONMENT are unset (the Lambda runtimes refuse
    to start then)."""
    defaults = metric_defaults_in_use(environ)
    if defaults:
        logs.log(_log, "warning", "Metrics settings not set — using defaults", **defaults)


def _module_setting_problems(environ: Mapping[str, str]) -> list[str]:
    """Gate and TLS settings are read by their own modules; report their problems here, before starting."""
    from delivery.errors import ConfigError
    from delivery.gate.scripts import GateSettings
    from delivery.transport.material import TlsMaterialError, TlsSettings

    problems = []
    for read in (GateSettings.from_env, TlsSettings.from_env):
        try:
            read(environ)
        except (ConfigError, TlsMaterialError) as exc:
            problems.append(str(exc))
    return problems


async def _serve(
    args: argparse.Namespace, settings: Settings, environ: Mapping[str, str], client_ids: list[str]
) -> int:
    from concurrent.futures import ThreadPoolExecutor

    import aiohttp
    import boto3
    import botocore.config

    from delivery.queue.sqs_wire import AsyncSqsClient
    from delivery.runtime.resources import open_resources
    from delivery.runtime.worker import Worker, freeze_startup_objects

    threads = threads_for(len(client_ids), args.batches_in_flight)
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(threads, thread_name_prefix="worker"))
    sqs_client = boto3.client("sqs", config=botocore.config.Config(max_pool_connections=threads))
    # receives and settles: signed requests on this loop (no thread per call, no thread per long poll)
    wire = AsyncSqsClient.from_environment(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)))
    sink, prometheus = _metrics_sinks(args, settings)
    resources = open_resources(settings, environ, metrics_sink=sink)
    metrics_server = None
    try:
        if prometheus is not None:  # before the poll loops start
            metrics_server = await _start_metrics_server(args, prometheus)
        queues = await asyncio.to_thread(resolve_queues, args, client_ids, sqs_client)
        consumers = [
            resources.consumer_for(cid, SqsQueue(q, wire), SqsQueue(d, wire)) for cid, q, d in queues
        ]
        worker = Worker(
            consumers,
            wait_s=settings.receive_wait_s,
            batch_size=settings.receive_batch_size,
            max_batches_in_flight=args.batches_in_flight,
            max_batch=args.max_batch,
            drain_s=settings.drain_s,
            burst=args.burst,
        )
        if threading.current_thread() is threading.main_thread():  # a process of its own, not embedded
            freeze_startup_objects()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, worker.stop)
        stats = await worker.run()
    finally:
        await resources.close()
        await wire.close()
        sqs_client.close()
        if metrics_server is not None:
            await metrics_server.stop()
    summary = {"batches": stats.batches, "received": stats.received, "outcomes": dict(stats.outcomes)}
    if stats.infrastructure:
        summary["infrastructure"] = dict(stats.infrastructure)
    print(json.dumps(summary), flush=True)
    if args.burst and stats.infrastructure:  # a drain that only requeued is not a success
        codes = ", ".join(f"{code} x{n}" for code, n in sorted(stats.infrastructure.items()))
        print(
            f"error: records were requeued because of infrastructure ({codes}); last: "
            f"{stats.last_infrastructure_error}",
            file=sys.stderr,
        )
        return 1
    return 0


def _metrics_sinks(
    args: argparse.Namespace, settings: Settings
) -> tuple[MetricsSink | None, PrometheusSink | None]:
    """With ``--metrics-port``: EMF lines as before, fanned out to a Prometheus sink too."""
    if getattr(args, "metrics_port", None) is None:
        return None, None
    from delivery.observe.emf import EmfEmitter
    from delivery.observe.metrics import FanOutSink
    from delivery.observe.prometheus import PrometheusSink

    prometheus = PrometheusSink()
    emf = EmfEmitter(settings.metrics_namespace, {"Environment": settings.environment})
    return FanOutSink((emf, prometheus)), prometheus


async def _start_metrics_server(args: argparse.Namespace, prometheus: PrometheusSink) -> MetricsServer:
    from delivery.observe.prometheus import MetricsServer

    try:
        server = await MetricsServer(prometheus, args.metrics_host, args.metrics_port).start()
    except OSError as exc:
        where = f"{args.metrics_host}:{args.metrics_port}"
        raise SettingsError([f"--metrics-port: cannot listen on {where}: {exc.strerror or exc}"]) from None
    url = f"http://{args.metrics_host}:{server.port}/metrics"
    logs.log(_log, "info", "Metrics endpoint listening", url=url)
    return server


def redrive_main(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from delivery.runtime.preflight import redrive_problems

    problems = redrive_problems(args, environ)  # boto3 reads AWS_* itself
    if problems:
        return _fail(problems)
    return _run_async(lambda: _redrive(args, environ))


def _target_rates(client_id: str, environ: Mapping[str, str]) -> dict[str, float] | None:
    """``{targetId: invocationRateLimit}`` from the client's config, or None (with a note) when unreadable."""
    from delivery.config.store import cached_configs_from_env
    from delivery.errors import ConfigError

    try:
        configs = cached_configs_from_env(environ)
        try:
            config = configs.get(client_id)
        finally:
            configs.close()
    except ConfigError as exc:
        print(
            f"note: pacing at {FALLBACK_RATE_PER_S:g}/s per target, pass --rate N/s to choose ({exc})",
            file=sys.stderr,
        )
        return None
    return {t.target_id: float(t.invocation_rate_limit) for t in config.targets}


def redrive_pacing(args: argparse.Namespace, environ: Mapping[str, str]) -> Pacing:
    """``--rate`` for every message, else each target at a share of its ``invocationRateLimit``."""
    if getattr(args, "rate", None) is not None:
        return Pacing(rate=args.rate)
    rates = _target_rates(args.client, environ)
    return Pacing(rates=default_rates(rates or {}))


async def _redrive(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    import boto3

    pacing = await asyncio.to_thread(redrive_pacing, args, environ)
    sqs_client = boto3.client("sqs")
    try:
        [(_cid, queue_url, dlq_url)] = await asyncio.to_thread(
            resolve_queues, args, [args.client], sqs_client
        )
        report = await redrive(
            SqsQueue(dlq_url, sqs_client),
            SqsQueue(queue_url, sqs_client),
            selector=RedriveFilter(target_id=args.target, error_code=args.error_code),
            limit=args.limit,
            dry_run=args.dry_run,
            pacing=pacing,
        )
    except SettingsError as exc:
        return _fail(list(exc.problems))
    finally:
        sqs_client.close()
    for line in report.lines:
        print(line)
    print(report.summary(), flush=True)
    return 1 if report.failed else 0
