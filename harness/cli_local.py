"""``callbacks local up`` and ``callbacks demo``: the embedded local stack from the command line.

    callbacks local up [--state-dir DIR] [--sqs fauxqs|moto-fast|moto]
                                             start everything on loopback, print the URLs, run until Ctrl-C
    callbacks demo [--stay] [--state-dir DIR] push a demo mix through every scenario and print a summary

``--sqs`` picks the SQS emulator (``harness.wiring.SQS_EMULATORS``); a missing one (no Node.js, fauxqs not
installed) is one line naming the fix, exit 2. ``--state-dir`` keeps logs, certificates and
``environment.toml`` (usable with ``pytest -m integration --callbacks-env=DIR/environment.toml`` while the
stack runs).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from pathlib import Path
from typing import Any

from harness.fauxqs_server import EmulatorMissing
from harness.wiring import DEFAULT_SQS, SQS_EMULATORS

DEMO_BUDGET_S = 45.0


def register(subparsers: Any) -> None:
    local = subparsers.add_parser(
        "local", help="the embedded local stack (Redis, moto, mock, router, worker)"
    )
    local_sub = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    up = local_sub.add_parser("up", help="start the local stack and keep it running until Ctrl-C")
    up.add_argument("--state-dir", type=Path, help="keep logs, certificates and environment.toml here")
    up.add_argument(
        "--fixtures",
        type=Path,
        default=None,
        help="directory of client config JSON files to serve (default: fixtures/clients; "
        "e.g. fixtures/loadtests for load runs)",
    )
    up.add_argument(
        "--sqs",
        choices=SQS_EMULATORS,
        default=DEFAULT_SQS,
        help=f"SQS emulator (default {DEFAULT_SQS}): fauxqs (npm, Node.js; `make fauxqs` installs it), "
        "moto with O(1) deletes, or moto as shipped (to rule out an emulator when a scenario behaves oddly)",
    )
    up.set_defaults(handler=run_up)

    demo = subparsers.add_parser("demo", help="start the local stack, push a demo mix, print a summary")
    demo.add_argument("--stay", action="store_true", help="keep the stack running after the summary")
    demo.add_argument("--state-dir", type=Path, help="keep logs, certificates and environment.toml here")
    demo.add_argument("--budget-s", type=float, default=DEMO_BUDGET_S, help="how long to wait for outcomes")
    demo.set_defaults(handler=run_demo)


def _say(line: str) -> None:
    print(line, flush=True)


def _sigterm_as_interrupt() -> None:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _start(state_dir: Path | None, fixtures_dir: Path | None = None, sqs: str = DEFAULT_SQS) -> Any:
    from harness.local_stack import LocalStack, StackOptions

    _say(f"starting the local stack (Valkey, moto, SQS on {sqs}, mock webhook x2, router, worker)...")
    options = StackOptions(state_dir=state_dir, sqs=sqs)
    if fixtures_dir is not None:
        if not fixtures_dir.is_dir():
            raise FileNotFoundError(f"--fixtures {fixtures_dir}: not a directory")
        options = dataclasses.replace(options, fixtures_dir=fixtures_dir.resolve())
    stack = LocalStack(options)
    stack.start()
    return stack


def print_urls(stack: Any) -> None:
    from harness.urls import url_lines

    for line in url_lines(stack):
        _say(line)


def _run_until_interrupted(stack: Any) -> int:
    _say("running; press Ctrl-C to stop")
    while True:
        dead = stack.dead_children()
        if dead:
            _say(f"stopped: {', '.join(dead)} exited (logs in {stack.state_dir})")
            return 1
        time.sleep(1)  # a supervision tick, not a wait for a result


def run_up(args: argparse.Namespace) -> int:
    _sigterm_as_interrupt()
    stack = None
    try:
        stack = _start(args.state_dir, args.fixtures, args.sqs)
        print_urls(stack)
        _say(stack.status_line())
        return _run_until_interrupted(stack)
    except KeyboardInterrupt:
        _say("stopping...")
        return 0
    except EmulatorMissing as exc:  # a setup mistake: one line naming the fix
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a start-up failure: say what and where the logs are
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if stack is not None:
            stack.stop()


def run_demo(args: argparse.Namespace) -> int:
    _sigterm_as_interrupt()
    stack = None
    try:
        stack = _start(args.state_dir)
        _say(stack.status_line())
        code = _demo(stack, args.budget_s, stays=args.stay)
        if args.stay:
            print_urls(stack)
            return _run_until_interrupted(stack)
        return code
    except KeyboardInterrupt:
        _say("stopping...")
        return 130
    except EmulatorMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # start-up or fixture problems: one clear line, logs stay in --state-dir
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if stack is not None:
            stack.stop()


def _demo(stack: Any, budget_s: float, *, stays: bool = False) -> int:
    from harness.demo import publish_all
    from harness.demo_report import fill_summary, run_plan
    from harness.metrics_log import MetricsLog
    from harness.mock_admin import MockAdmin
    from harness.scenarios import Scenario

    env = stack.environment
    scenario = Scenario.open(env, stack.run_id)
    required_url = env.get_extra("mtls_required_mock_admin_url")
    required = MockAdmin(required_url) if required_url else None
    metrics = MetricsLog(env.metrics_log_path) if env.metrics_log_path else None
    mark = metrics.mark() if metrics else 0
    try:
        _say("publishing the demo mix...")
        plan = publish_all(scenario, _say)
        _say(f"waiting for every outcome (at most {budget_s:.0f}s)...")
        summary = run_plan(scenario, plan, required, _say, budget_s)
        fill_summary(summary, scenario, required, metrics, mark)
    finally:
        scenario.close()
    for line in summary.lines(env, stays=stays):
        _say(line)
    return 0 if not summary.pending else 1
