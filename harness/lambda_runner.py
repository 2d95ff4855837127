"""Run a deployed stack's Lambda functions locally (an emulator such as moto stores them but cannot run them).

``read_function(name, lam, sqs)`` reads back what was deployed: the function's ``Handler`` string and
environment variables, and its SQS event source mapping (queue, ``BatchSize``, ``FunctionResponseTypes``);
then it disables the emulator's own poller for that mapping (moto "invokes" on every send without running
code, which would receive the messages and change their receive counts).
``LocalLambdaRunner`` starts one ``harness.lambda_host`` child per function with exactly that environment
(plus the emulator's endpoint and credentials, as the Lambda runtime adds its own), and a shipper thread that
sends each child's output, line by line, to the function's log group with ``PutLogEvents`` — so EMF metrics
and logs end up where they would on AWS, and the harness reads them back with ``FilterLogEvents``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.processes import ManagedProcess

SHIP_EVERY_S = 0.2
MAX_EVENTS_PER_PUT = 1000


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    handler: str
    env: Mapping[str, str]
    queue_url: str
    queue_arn: str
    batch_size: int
    report_failures: bool
    log_group: str = ""
    code_dir: str = ""  # the deployed code, unpacked: first on the import path (dependencies: this venv)

    def host_env(self, aws_env: Mapping[str, str], wait_s: int) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_", "CALLBACKS_"))}
        return {
            **base,
            **self.env,
            **aws_env,
            "PYTHONUNBUFFERED": "1",
            **({"PYTHONPATH": self.code_dir} if self.code_dir else {}),
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group,
            "LAMBDA_HOST_HANDLER": self.handler,
            "LAMBDA_HOST_QUEUE_URL": self.queue_url,
            "LAMBDA_HOST_QUEUE_ARN": self.queue_arn,
            "LAMBDA_HOST_BATCH_SIZE": str(self.batch_size),
            "LAMBDA_HOST_REPORT_FAILURES": "1" if self.report_failures else "0",
            "LAMBDA_HOST_WAIT_S": str(wait_s),
        }


def read_function(
    name: str, lam: Any, sqs: Any, *, take_over: bool = True, code_dir: str = ""
) -> FunctionSpec:
    config = lam.get_function(FunctionName=name)["Configuration"]
    mappings = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    sqs_mappings = [m for m in mappings if ":sqs:" in m["EventSourceArn"] and m.get("State") != "Disabled"]
    if len(sqs_mappings) != 1:
        raise LookupError(
            f"function {name}: expected one enabled SQS event source mapping, found {len(sqs_mappings)}"
        )
    mapping = sqs_mappings[0]
    arn = mapping["EventSourceArn"]
    _, _, _, _, account, queue_name = arn.split(":", 5)
    queue_url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    logging_config = config.get("LoggingConfig") or {}
    if take_over:
        # The runner is this mapping's poller now: the emulator's own (which "invokes" without running
        # anything, receiving and releasing the messages) is switched off so it cannot steal receives.
        lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    return FunctionSpec(
        name=name,
        handler=config["Handler"],
        env=dict((config.get("Environment") or {}).get("Variables") or {}),
        queue_url=queue_url,
        queue_arn=arn,
        batch_size=int(mapping.get("BatchSize", 10)),
        report_failures="ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []),
        log_group=logging_config.get("LogGroup") or f"/aws/lambda/{name}",
        code_dir=code_dir,
    )


class LogShipper:
    """Tails each function's output file and sends complete lines to its log group."""

    def __init__(self, logs: Any) -> None:
        self.logs = logs
        self.sources: dict[str, tuple[Path, str]] = {}  # function -> (file, log group)
        self.offsets: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lambda-log-shipper", daemon=True)

    def add(self, function: str, path: Path, group: str) -> None:
        stream = f"local/{function}/{int(time.time())}"
        with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
            self.logs.create_log_group(logGroupName=group)
        self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        self.sources[function] = (path, group + "\n" + stream)
        self.offsets[function] = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SHIP_EVERY_S):
            self.ship_once()
        self.ship_once()

    def ship_once(self) -> None:
        for function, (path, where) in self.sources.items():
            lines = self._new_lines(function, path)
            group, stream = where.split("\n")
            now_ms = int(time.time() * 1000)
            for i in range(0, len(lines), MAX_EVENTS_PER_PUT):
                events = [
                    {"timestamp": now_ms, "message": line} for line in lines[i : i + MAX_EVENTS_PER_PUT]
                ]
                with contextlib.suppress(Exception):  # a lost log line never stops the functions
                    self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

    def _new_lines(self, function: str, path: Path) -> list[str]:
        if not path.exists():
            return []
        with path.open("rb") as handle:
            handle.seek(self.offsets[function])
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offsets[function] += len(complete)
        return [line for line in complete.decode("utf-8", "replace").splitlines() if line.strip()]

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


class LocalLambdaRunner:
    """``with LocalLambdaRunner(specs, aws_env, logs, state_dir):`` hosts every function until exit."""

    def __init__(
        self,
        specs: Iterable[FunctionSpec],
        aws_env: Mapping[str, str],
        logs: Any,
        state_dir: Path,
        wait_s: int = 1,
    ) -> None:
        self.specs = tuple(specs)
        self.aws_env = dict(aws_env)
        self.state_dir = state_dir
        self.wait_s = wait_s
        self.shipper = LogShipper(logs)
        self.hosts: dict[str, ManagedProcess] = {}

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.specs:
            path = self.state_dir / f"{spec.name}.log"
            self.shipper.add(spec.name, path, spec.log_group)
            # -P: not the current directory first on the import path, so the deployed code (PYTHONPATH) wins
            argv = [sys.executable, "-P", "-m", "harness.lambda_host"]
            env = spec.host_env(self.aws_env, self.wait_s)
            self.hosts[spec.name] = ManagedProcess(argv, log_path=path, env=env)
        self.shipper.start()

    def dead(self) -> list[str]:
        return [name for name, proc in self.hosts.items() if not proc.alive()]

    def stop(self) -> None:
        for proc in self.hosts.values():
            if proc.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.hosts.values():
            proc.close()
        self.hosts.clear()
        self.shipper.stop()

    def __enter__(self) -> LocalLambdaRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
