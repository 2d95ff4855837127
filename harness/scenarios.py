"""Scenario helpers: publish into an environment and observe what the webhook and the queues saw.

``Scenario`` bundles an ``Environment`` with the run id, the SQS helper and the mock's admin client. The
pytest fixtures are thin views of it; ``callbacks demo`` uses it directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness import events
from harness.children import console_script
from harness.configs import RawConfig, load_configs, target_ids
from harness.environment import Environment
from harness.events import Published
from harness.evidence import explained
from harness.mock_admin import JournalRecord, MockAdmin, callback_path
from harness.queues import QueueMessage, Queues
from harness.waits import eventually


@dataclass
class Scenario:
    env: Environment
    run_id: str
    queues: Queues
    mock: MockAdmin
    timeout_scale: float = 1.0
    _configs: dict[str, RawConfig] = field(default_factory=dict)

    @classmethod
    def open(cls, env: Environment, run_id: str, timeout_scale: float = 1.0) -> Scenario:
        if not env.mock_admin_url:
            raise ValueError(f"environment {env.name!r} has no mock_admin_url")
        return cls(env, run_id, Queues(env, run_id), MockAdmin(env.mock_admin_url), timeout_scale)

    def close(self) -> None:
        self.queues.close()

    def t(self, timeout_s: float) -> float:
        return timeout_s * self.timeout_scale

    # --- configs -------------------------------------------------------------------------------------
    def config(self, client_id: str) -> RawConfig:
        if not self._configs:
            self._configs = load_configs(self.env)
        if client_id not in self._configs:
            raise KeyError(f"no config for client {client_id!r} at {self.env.config_location}")
        return self._configs[client_id]

    def targets(self, client_id: str) -> list[str]:
        return target_ids(self.config(client_id))

    # --- publishing ----------------------------------------------------------------------------------
    def publish_events(self, docs: Sequence[dict[str, Any]]) -> list[Published]:
        """Status events onto the inbound queue (the router's input)."""
        if not self.env.inbound_queue_url:
            raise ValueError(f"environment {self.env.name!r} has no inbound queue")
        url = self.env.inbound_queue_url
        ids = self.queues.send(url, [json.dumps(d) for d in docs])
        return [
            Published(str(d["data"]["messageId"]), sid, url, client_id=str(d["data"]["clientId"]))
            for d, sid in zip(docs, ids, strict=True)
        ]

    def publish_envelopes(
        self, client_id: str, message_ids: Sequence[str], target_id: str | None = None
    ) -> list[Published]:
        """Delivery envelopes straight onto the client's delivery queue (one per message id)."""
        tid = target_id or self.targets(client_id)[0]
        url = self.env.client(client_id).delivery_queue_url
        bodies = [json.dumps(events.envelope(mid, tid)) for mid in message_ids]
        sqs_ids = self.queues.send(url, bodies)
        return [
            Published(mid, sid, url, tid, client_id) for mid, sid in zip(message_ids, sqs_ids, strict=True)
        ]

    def new_id(self, prefix: str = "msg") -> str:
        return events.message_id(prefix, self.run_id)

    def failing_until_ids(self, status: int, count: int, healthy_after_s: float) -> list[str]:
        """Message ids the mock answers with ``status`` for the next ``healthy_after_s``, then 200."""
        until_ms = int(time.time() * 1000 + healthy_after_s * 1000)
        return [events.timed_force_id(status, until_ms, self.run_id) for _ in range(count)]

    # --- observing the webhook -----------------------------------------------------------------------
    def callbacks(self, message_id: str, target_id: str | None = None) -> list[JournalRecord]:
        path = callback_path(target_id) if target_id else None
        return self.mock.requests(message_id=message_id, path=path)

    def wait_callbacks(
        self,
        count: int,
        *,
        message_id: str | None = None,
        target_id: str | None = None,
        timeout_s: float = 30,
    ) -> list[JournalRecord]:
        path = callback_path(target_id) if target_id else None
        with explained(self, [message_id] if message_id else (), path):
            return self.mock.expect(count, message_id=message_id, path=path, timeout_s=self.t(timeout_s))

    def wait_all_delivered(
        self, published: Sequence[Published], timeout_s: float = 30
    ) -> list[JournalRecord]:
        """Every published message answered 2xx at least once; returns those successful requests."""
        wanted = {p.message_id for p in published}

        def delivered() -> list[JournalRecord] | None:
            ok = [r for r in self.run_records() if r.get("messageId") in wanted and _status(r) < 300]
            return ok if {r["messageId"] for r in ok} >= wanted else None

        clients = sorted({p.client_id for p in published if p.client_id})
        with explained(self, wanted, clients=clients):
            found = eventually(
                delivered, self.t(timeout_s), what=f"{len(wanted)} deliveries", max_interval_s=0.5
            )
        assert found is not None
        return found

    def last_request_ms(self, target_id: str) -> float:
        """When the mock last received a request on the target's path (0 when never)."""
        records = self.mock.requests(path=callback_path(target_id))
        return max((float(r["receivedAtMs"]) for r in records), default=0.0)

    def run_records(self) -> list[JournalRecord]:
        """Every request the mock journaled for this run's messages (any test, any status)."""
        return [r for r in self.mock.requests() if self.run_id in str(r.get("messageId") or "")]

    # --- queues --------------------------------------------------------------------------------------
    def dlq_wait(
        self, client_id: str, message_ids: Sequence[str], timeout_s: float = 30
    ) -> list[QueueMessage]:
        url = self.env.client(client_id).dlq_url
        with explained(self, message_ids, clients=[client_id]):
            return self.queues.wait_for(url, message_ids, self.t(timeout_s), what="DLQ messages")

    def dlq_read(self, client_id: str) -> list[QueueMessage]:
        """This run's messages in the client's DLQ (left in place)."""
        url = self.env.client(client_id).dlq_url
        return [m for m in self.queues.peek(url) if self.run_id in (m.message_id or "")]

    def inbound_dlq_wait(self, message_ids: Sequence[str], timeout_s: float = 30) -> list[QueueMessage]:
        if not self.env.inbound_dlq_url:
            raise ValueError(f"environment {self.env.name!r} has no inbound DLQ")
        with explained(self, message_ids, queue_urls=[self.env.inbound_dlq_url]):
            return self.queues.wait_for(
                self.env.inbound_dlq_url, message_ids, self.t(timeout_s), what="inbound DLQ"
            )

    def wait_queue_drained(self, queue_url: str | None, timeout_s: float = 30) -> None:
        """Wait until the queue holds nothing, visible or in flight (SQS's approximate counts)."""
        if queue_url is None:
            raise ValueError("no queue URL")
        with explained(self, queue_urls=[queue_url]):
            eventually(
                lambda: self.queues.depth(queue_url) == (0, 0), self.t(timeout_s), what=f"{queue_url} drained"
            )

    def redrive_inbound(self, message_ids: Sequence[str]) -> int:
        """Move events from the inbound DLQ back to the inbound queue (reference redrive, SPEC F / K.7)."""
        if not (self.env.inbound_dlq_url and self.env.inbound_queue_url):
            raise ValueError(f"environment {self.env.name!r} has no inbound queue and DLQ")
        return self.queues.move(self.env.inbound_dlq_url, self.env.inbound_queue_url, message_ids)

    # --- operations ----------------------------------------------------------------------------------
    def redrive(
        self, client_id: str, *extra_args: str, queue_url: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``callbacks redrive`` for one client, as an operator runs it (returns the finished process).

        ``queue_url`` replaces the client's delivery queue as the destination (e.g. one that does not exist).
        """
        queues = self.env.client(client_id)
        argv = [
            *console_script("callbacks"), "redrive", "--client", client_id, "--dlq-url", queues.dlq_url,
            "--queue-url", queue_url or queues.delivery_queue_url, *extra_args,
        ]  # fmt: skip
        env = dict(os.environ)
        if self.env.aws_endpoint_url:
            for key in [k for k in env if k.startswith("AWS_ENDPOINT_URL")]:
                del env[key]  # only this environment's endpoints (no stale service-specific one)
            env.update(
                self.env.aws_env(),  # AWS_ENDPOINT_URL, and AWS_ENDPOINT_URL_SQS when SQS is served apart
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",  # moto's fake credentials
                AWS_DEFAULT_REGION=self.env.region,
                AWS_REGION=self.env.region,
            )
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def _status(record: JournalRecord) -> int:
    response = record.get("response") or {}
    return int(response.get("status", 0)) if isinstance(response, dict) else 0


def statuses(records: Sequence[JournalRecord]) -> list[int]:
    return [_status(r) for r in records]
