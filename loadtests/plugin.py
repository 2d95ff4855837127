"""Locust wiring for every profile: command-line flags and the init / test_start / test_stop / quitting hooks.

Each profile file calls ``install()``; listeners are registered once per process however many profile files
Locust loads (``-f loadtests`` imports every file of the directory).

Who does what:
- master or standalone: chooses the profile's shape, starts the local stack (``--callbacks-env local``),
  polls the mock's journal (``e2e`` rows), drives fault scripts, drains at the end and applies the SLO gate;
- standalone or worker: publishes (the users).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import gevent
from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment as LocustEnvironment
from locust.runners import MasterRunner, WorkerRunner

from harness.wiring import DEFAULT_SQS, SQS_EMULATORS
from loadtests import environments, webui
from loadtests.profiles import PROFILES, Profile, choose_profile, schedule_of
from loadtests.run import Coordinator, PublishContext
from loadtests.shapes import ProfileShape
from loadtests.slo import Thresholds

logger = logging.getLogger("loadtests")

_installed = False
_coordinator: Coordinator | None = None
_publish: PublishContext | None = None


def install() -> None:
    """Register the flags and hooks (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    events.init_command_line_parser.add_listener(add_arguments)
    events.init.add_listener(on_init)
    events.test_start.add_listener(on_test_start)
    events.test_stop.add_listener(on_test_stop)
    events.quitting.add_listener(on_quitting)


# Locust binds its web UI and the master's port on every interface by default; ours bind loopback unless told
# otherwise (--web-host / --master-bind-host, LOCUST_WEB_HOST / LOCUST_MASTER_BIND_HOST or a config file win).
LOOPBACK_DEFAULTS = {"web_host": "127.0.0.1", "master_bind_host": "127.0.0.1"}


def add_arguments(parser: LocustArgumentParser) -> None:
    parser.set_defaults(**LOOPBACK_DEFAULTS)
    group = parser  # (argument groups do not take Locust's include_in_web_ui)
    group.add_argument(
        "--callbacks-env",
        default="local",
        env_var="CALLBACKS_ENV",
        help="'local' (start the embedded local stack) or PATH.toml of a running environment",
    )
    group.add_argument(
        "--load-profile",
        default="",
        env_var="CALLBACKS_LOAD_PROFILE",
        help=f"profile to run: {', '.join(PROFILES)} (default: steady, or the only one loaded)",
    )
    group.add_argument(
        "--rate",
        type=float,
        default=None,
        env_var="CALLBACKS_LOAD_RATE",
        help="publish rate, msg/s (peak for step and spike; default per profile); it sets the publishers, "
        "and -t on the command line sets the duration",
    )
    group.add_argument(
        "--user-rate",
        type=float,
        default=10.0,
        env_var="CALLBACKS_LOAD_USER_RATE",
        help="messages/s each simulated publisher sends (users = ceil(rate / user-rate))",
    )
    group.add_argument(
        "--batch-size",
        type=int,
        default=10,
        env_var="CALLBACKS_LOAD_BATCH_SIZE",
        help="messages per SendMessageBatch (1..10; 1 = single sends only)",
    )
    group.add_argument(
        "--batch-share",
        type=float,
        default=0.5,
        env_var="CALLBACKS_LOAD_BATCH_SHARE",
        help="share of publish calls that are batches (the rest are single sends)",
    )
    group.add_argument(
        "--targets",
        default="",
        env_var="CALLBACKS_LOAD_TARGETS",
        help="comma-separated clientId/targetId (or targetId) to publish to (default: per profile)",
    )
    group.add_argument(
        "--load-fixtures",
        default=str(environments.DEFAULT_FIXTURES_DIR),
        env_var="CALLBACKS_LOAD_FIXTURES",
        help="client configs the local stack serves",
    )
    group.add_argument(
        "--load-sqs",
        default=DEFAULT_SQS,
        choices=SQS_EMULATORS,
        env_var="CALLBACKS_SQS",
        help="the local stack's SQS emulator",
    )
    group.add_argument(
        "--drain-timeout",
        type=float,
        default=30.0,
        env_var="CALLBACKS_LOAD_DRAIN_TIMEOUT_S",
        help="seconds to keep reading deliveries after publishing stops",
    )
    group.add_argument(
        "--poll-interval",
        type=float,
        default=0.25,
        env_var="CALLBACKS_LOAD_POLL_INTERVAL_S",
        help="seconds between journal reads",
    )
    group.add_argument(
        "--max-p50-ms",
        dest="max_median_ms",  # no digits: the web UI splits them into its label and its form key
        type=float,
        default=None,
        env_var="CALLBACKS_SLO_MAX_P50_MS",
        help="SLO: end-to-end p50 latency limit, ms",
    )
    group.add_argument(
        "--max-p95-ms",
        dest="max_ninety_fifth_ms",  # no digits: the web UI splits them into its label and its form key
        type=float,
        default=None,
        env_var="CALLBACKS_SLO_MAX_P95_MS",
        help="SLO: end-to-end p95 latency limit, ms",
    )
    group.add_argument(
        "--max-p99-ms",
        dest="max_ninety_ninth_ms",  # no digits: the web UI splits them into its label and its form key
        type=float,
        default=None,
        env_var="CALLBACKS_SLO_MAX_P99_MS",
        help="SLO: end-to-end p99 latency limit, ms",
    )
    group.add_argument(
        "--min-delivered-ratio",
        type=float,
        default=0.99,
        env_var="CALLBACKS_SLO_MIN_DELIVERED",
        help="fail the run when fewer of the deliverable messages arrive (0..1)",
    )
    group.add_argument(
        "--max-publish-failure-ratio",
        type=float,
        default=0.01,
        env_var="CALLBACKS_SLO_MAX_PUBLISH_FAILURES",
        help="fail the run above this (0..1)",
    )
    group.add_argument(
        "--min-publish-rate",
        type=float,
        default=None,
        env_var="CALLBACKS_SLO_MIN_PUBLISH_RATE",
        help="fail the run when the achieved publish rate (msg/s) is lower",
    )
    group.add_argument(
        "--slo-report",
        default="",
        env_var="CALLBACKS_SLO_REPORT",
        help="write the run summary and SLO verdict as JSON to this file",
    )
    group.add_argument("--load-run-id", default="", include_in_web_ui=False, help=argparse.SUPPRESS)


def thresholds_of(options: Any) -> Thresholds:
    return Thresholds(
        max_p50_ms=options.max_median_ms,
        max_p95_ms=options.max_ninety_fifth_ms,
        max_p99_ms=options.max_ninety_ninth_ms,
        min_delivered_ratio=options.min_delivered_ratio,
        max_publish_failure_ratio=options.max_publish_failure_ratio,
        min_publish_rate_msgs_s=options.min_publish_rate,
    )


def _activate_profile(environment: LocustEnvironment) -> Profile:
    """Pick the profile's shape among the loaded ones and make it the run's shape."""
    loaded = (environment.available_shape_classes or {}).values()
    shapes = {shape.profile.name: shape for shape in loaded if isinstance(shape, ProfileShape)}
    options: Any = environment.parsed_options
    name = choose_profile(options.load_profile or None, list(shapes))
    options.load_profile = name  # workers receive the resolved name
    shape = shapes[name]
    shape.runner = environment.runner
    environment.shape_class = shape
    return PROFILES[name]


def _fail_fast(message: str) -> None:
    logger.error(message)
    if _coordinator is not None:
        _coordinator.close()
    sys.exit(2)


def on_init(environment: LocustEnvironment, runner: Any = None, **_kw: Any) -> None:
    global _coordinator
    if isinstance(runner, WorkerRunner):
        return
    try:
        profile = _activate_profile(environment)
        options: Any = environment.parsed_options
        thresholds = thresholds_of(options)
        schedule_of(profile, options.run_time, options.rate)  # validates --rate / --run-time now
        if options.num_users or options.spawn_rate:
            logger.warning("-u/--users and -r/--spawn-rate are ignored: profile %s derives users from --rate "
                           "and --user-rate", profile.name)  # fmt: skip
        _coordinator = Coordinator(
            environment, profile, thresholds, publishes=not isinstance(runner, MasterRunner)
        )
        _coordinator.prepare()
        webui.install(environment, _coordinator.verdict)
    except Exception as exc:  # the edge: any setup problem ends the run before load, with its reason
        _fail_fast(f"load test setup failed: {exc}")


def on_test_start(environment: LocustEnvironment, **_kw: Any) -> None:
    global _publish
    if _publish is not None:  # a new run from the web UI: the previous run's client is done
        _publish.close()
        _publish = None
    if isinstance(environment.runner, WorkerRunner):
        options: Any = environment.parsed_options
        try:
            _publish = PublishContext.for_worker(environment, PROFILES[options.load_profile])
        except (KeyError, ValueError, environments.LoadEnvironmentError) as exc:
            logger.error("worker cannot publish: %s", exc)
            gevent.spawn(environment.runner.quit)
        return
    if _coordinator is not None:
        _publish = _coordinator.start_test()


def on_test_stop(environment: LocustEnvironment, **_kw: Any) -> None:
    if _coordinator is not None and not isinstance(environment.runner, WorkerRunner):
        _coordinator.stop_test()


def on_quitting(environment: LocustEnvironment, **_kw: Any) -> None:
    global _publish
    if _publish is not None:
        _publish.close()
        _publish = None
    if _coordinator is not None:
        environment.process_exit_code = _coordinator.finish()


def current_publish_context() -> PublishContext:
    """What the users of this process publish with (set at test_start)."""
    if _publish is None:
        raise RuntimeError("the load test was not started through loadtests.plugin (no test_start yet)")
    return _publish
