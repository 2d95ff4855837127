"""The embedded local stack (DESIGN §4): everything a deployed environment has, on loopback, in seconds.

``with LocalStack() as stack: stack.environment`` starts a real Valkey/Redis server, moto's server mode, the
mock webhook (and a second one that requires client certificates), provisions queues/configs/applications
map/mTLS material from ``fixtures/``, then starts the router and the delivery workers (every client is served;
a few clients per worker process, all logging to ``worker.log``, see ``wiring.worker_groups``). All
children run in their own process group and are stopped on exit (and on interpreter exit, via atexit).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from harness import wiring
from harness.children import MockInfo, start_mock, wait_mock
from harness.environment import CAPABILITIES, Environment
from harness.fauxqs_server import FauxqsServer, sqs_env_for
from harness.mock_admin import MockAdmin
from harness.moto_server import MotoServer
from harness.processes import ManagedProcess
from harness.provision import (
    Provisioned,
    Provisioner,
    application_ids,
    load_fixture_configs,
    register_credentials,
    rewrite_config,
)
from harness.redis_server import RedisServer
from harness.wiring import FIXTURES_DIR, REPO_ROOT, StackOptions

REGION = "eu-west-2"
STARTUP_GRACE_S = 1.5


def _signal_group(proc: ManagedProcess, signum: int) -> None:
    if proc.alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signum)


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


class LocalStack:
    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.run_id = self.options.run_id or new_run_id()
        self.prefix = f"callbacks-local-{self.run_id}"
        self._tmp: str | None = None
        self.state_dir = self.options.state_dir or Path(".")
        self.redis: RedisServer | None = None
        self.moto: MotoServer | None = None
        self.fauxqs: FauxqsServer | None = None  # the SQS endpoint when options.sqs == "fauxqs"
        self.children: dict[str, ManagedProcess] = {}
        self.mocks: dict[str, MockInfo] = {}
        self.provisioned: Provisioned | None = None
        self.configs: dict[str, dict[str, object]] = {}
        self.roles: tuple[tuple[str, str], ...] = ()
        self._environment: Environment | None = None
        self.started_in_s = 0.0

    @property
    def environment(self) -> Environment:
        if self._environment is None:
            raise RuntimeError("the local stack is not started")
        return self._environment

    def start(self) -> Environment:
        began = time.monotonic()
        atexit.register(self.stop)
        try:
            self._start_all()
        except BaseException:
            self.stop()
            raise
        self.started_in_s = time.monotonic() - began
        return self.environment

    def _start_all(self) -> None:
        self._prepare_state_dir()
        certs_dir = self.state_dir / "certs"
        wiring.mint_certs(certs_dir)
        pending = {
            name: start_mock(self.state_dir, certs_dir, mtls, name)
            for name, mtls in (("mock", "optional"), ("mock-required", "required"))
        }
        self.children.update({name: proc for name, (proc, _) in pending.items()})
        # assigned before starting, so stop() also stops the ones that started if another fails
        self.redis, self.moto = (
            RedisServer(workdir=self._subdir("redis")),
            MotoServer(workdir=self._subdir("moto"), sqs=wiring.moto_variant(self.options.sqs)),
        )
        servers: list[Any] = [self.redis, self.moto]
        if self.options.sqs == "fauxqs":
            self.fauxqs = FauxqsServer(workdir=self._subdir("fauxqs"), region=REGION)
            servers.append(self.fauxqs)
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            started: list[Future[Any]] = [pool.submit(server.start) for server in servers]
        for future in started:
            future.result()  # re-raise a start failure
        timeout_s = self.options.startup_timeout_s
        self.mocks = {
            name: wait_mock(proc, ready, "optional" if name == "mock" else "required", timeout_s)
            for name, (proc, ready) in pending.items()
        }
        self._provision(certs_dir)
        self._start_pipeline()
        self._environment = self._describe()
        (self.state_dir / "environment.toml").write_text(self._environment.to_toml(), encoding="utf-8")

    def _prepare_state_dir(self) -> None:
        if self.options.state_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="callbacks-local-")
            self.state_dir = Path(self._tmp)
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def _subdir(self, name: str) -> Path:
        path = self.state_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def sqs_url(self) -> str:
        """Where SQS is served: fauxqs, or moto with the rest of AWS."""
        assert self.moto is not None
        return self.fauxqs.url if self.fauxqs is not None else self.moto.url

    def aws_env(self) -> dict[str, str]:
        """The AWS variables of every child: moto for AWS, plus fauxqs's endpoint for SQS alone."""
        assert self.moto is not None
        return {**self.moto.env(REGION), **(sqs_env_for(self.fauxqs.url) if self.fauxqs else {})}

    def _boto(self, service: str) -> Any:
        assert self.moto is not None
        return boto3.client(
            service, region_name=REGION, endpoint_url=self.sqs_url if service == "sqs" else self.moto.url,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip

    def _provision(self, certs_dir: Path) -> None:
        main, required = self.mocks["mock"], self.mocks["mock-required"]
        raw = load_fixture_configs(self.options.fixtures_dir)
        self.roles = wiring.roles_for(raw)  # from what each fixture is, before endpoints are rewritten
        self.configs = {cid: rewrite_config(doc, main, required) for cid, doc in raw.items()}
        app_ids = application_ids(self.configs, wiring.fixture_application_ids(self.options.fixtures_dir))
        clients = [self._boto(s) for s in ("s3", "sqs", "ssm")]
        try:
            provisioner = Provisioner(s3=clients[0], sqs=clients[1], ssm=clients[2], prefix=self.prefix)
            self.provisioned = provisioner.provision(self.configs, app_ids, certs_dir)
        finally:
            for client in clients:
                client.close()
        admins = {m.url: MockAdmin(m.admin_url) for m in self.mocks.values()}
        register_credentials(admins, self.configs, app_ids)

    def _start_pipeline(self) -> None:
        assert self.moto is not None
        assert self.redis is not None
        assert self.provisioned is not None
        env = wiring.pipeline_env(self.aws_env(), self.redis.url, self.provisioned, self.options)
        if self.options.with_router:
            argv = wiring.router_argv(self.provisioned, self.prefix, self.options)
            self.children["router"] = ManagedProcess(argv, log_path=self.state_dir / "router.log", env=env)
        if self.options.with_worker and self.provisioned.clients:
            for n, group in enumerate(wiring.worker_groups(self.provisioned.clients), start=1):
                argv = wiring.worker_argv(group, self.prefix, self.options)
                log_path = self.state_dir / "worker.log"  # shared: line-buffered appends, one EMF stream
                self.children[f"worker-{n}"] = ManagedProcess(argv, log_path=log_path, env=env)
        started = {n: p for n, p in self.children.items() if n == "router" or n.startswith("worker")}
        wiring.wait_started(started, STARTUP_GRACE_S)

    def _describe(self) -> Environment:
        assert self.provisioned is not None
        assert self.moto is not None
        assert self.redis is not None
        p = self.provisioned
        return Environment(
            name="local",
            region=REGION,
            clients=p.clients,
            inbound_queue_url=p.inbound_queue_url if self.options.with_router else None,
            inbound_dlq_url=p.inbound_dlq_url,
            aws_endpoint_url=self.moto.url,
            sqs_endpoint_url=self.fauxqs.url if self.fauxqs is not None else None,
            mock_url=self.mocks["mock"].url,
            mock_admin_url=self.mocks["mock"].admin_url,
            redis_url=self.redis.url,
            config_location=f"s3://{p.bucket}/{p.config_prefix}",
            metrics_log_path=str(self.state_dir / "worker.log") if self.options.with_worker else None,
            capabilities=CAPABILITIES - ({"router"} if not self.options.with_router else set()),
            roles=self.roles,
            extra=tuple(
                sorted(
                    {
                        "mtls_required_mock_url": self.mocks["mock-required"].url,
                        "mtls_required_mock_admin_url": self.mocks["mock-required"].admin_url,
                        "state_dir": str(self.state_dir),
                        "run_id": self.run_id,
                        "queue_prefix": self.prefix,
                        "router_log_path": str(self.state_dir / "router.log"),
                    }.items()
                )
            ),
        )

    def status_line(self) -> str:
        alive = {name: proc.alive() for name, proc in self.children.items()}
        parts = [f"{name}={'up' if ok else 'DOWN'}" for name, ok in alive.items()]
        clients = len(self.provisioned.clients) if self.provisioned else 0
        took = f"started in {self.started_in_s:.1f}s"
        return f"local stack {self.run_id}: {' '.join(parts)} clients={clients} {took}"

    def dead_children(self) -> list[str]:
        return [name for name, proc in self.children.items() if not proc.alive()]

    def stop(self) -> None:
        workers = [name for name in self.children if name.startswith("worker")]
        for wave in ((*workers, "router"), ("mock-required", "mock")):  # consumers first, then what they call
            procs = [p for p in (self.children.pop(name, None) for name in wave) if p is not None]
            for proc in procs:  # signal them all, then wait: they drain in parallel
                _signal_group(proc, signal.SIGTERM)
            for proc in procs:
                proc.close()
        for server in (self.fauxqs, self.moto, self.redis):
            if server is not None:
                server.stop()
        self.fauxqs, self.moto, self.redis = None, None, None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()


__all__ = ["FIXTURES_DIR", "REPO_ROOT", "LocalStack", "StackOptions", "new_run_id"]
