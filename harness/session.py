"""What the pytest fixtures do, kept out of the plugin module: opening the environment, publishers,
fault-script bookkeeping and the DLQ view."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from harness import events
from harness.environment import Environment
from harness.events import Published
from harness.local_stack import REPO_ROOT, LocalStack, StackOptions
from harness.mock_admin import MockAdmin
from harness.options import HarnessOptions
from harness.queues import QueueMessage
from harness.scenarios import Scenario


@contextlib.contextmanager
def open_environment(options: HarnessOptions, run_id: str) -> Iterator[Environment]:
    """The local stack (started here, stopped on exit) or the environment a TOML file describes."""
    if not options.is_local:
        path = options.environment_file(ENVIRONMENTS_DIR)
        if not path.is_file():
            raise FileNotFoundError(f"--callbacks-env {options.env!r}: {path} does not exist")
        yield Environment.from_toml(path)
        return
    state_dir = Path(options.state_dir) / run_id if options.state_dir else None
    stack_options = StackOptions(
        state_dir=state_dir, run_id=run_id, startup_timeout_s=options.startup_timeout_s, sqs=options.sqs
    )
    with LocalStack(stack_options) as stack:
        yield stack.environment


ENVIRONMENTS_DIR = REPO_ROOT / "fixtures" / "environments"

EVENT_BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "message": events.message_status_event,
    "channel": events.channel_status_event,
    "invalid": events.invalid_event,
}


def event_publisher(scenario: Scenario) -> Callable[..., list[Published]]:
    def go(
        client_id: str, status: str = "DELIVERED", *, kind: str = "message", count: int = 1,
        prefix: str = "evt", message_ids: Sequence[str] | None = None,
    ) -> list[Published]:  # fmt: skip
        ids = list(message_ids or [scenario.new_id(prefix) for _ in range(count)])
        build = EVENT_BUILDERS[kind]
        docs = [build(client_id, mid, status) if kind == "message" else build(client_id, mid) for mid in ids]
        return scenario.publish_events(docs)

    return go


def envelope_publisher(scenario: Scenario) -> Callable[..., list[Published]]:
    def go(
        client_id: str, target_id: str | None = None, *, count: int = 1, prefix: str = "msg",
        message_ids: Sequence[str] | None = None,
    ) -> list[Published]:  # fmt: skip
        ids = list(message_ids or [scenario.new_id(prefix) for _ in range(count)])
        return scenario.publish_envelopes(client_id, ids, target_id)

    return go


class ScriptTracking(MockAdmin):
    """A ``MockAdmin`` that remembers the paths it scripted and clears them in ``undo()``."""

    def __init__(self, admin: MockAdmin) -> None:
        super().__init__(admin.admin_url, request_timeout_s=admin.request_timeout_s)
        self.scripted: list[str] = []

    def script(self, path: str, steps: object) -> None:
        super().script(path, steps)
        self.scripted.append(path)

    def undo(self) -> None:
        for path in reversed(self.scripted):
            self.clear_faults(path)
        self.scripted.clear()


class DlqView:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def read(self, client_id: str) -> list[QueueMessage]:
        return self.scenario.dlq_read(client_id)

    def wait(self, client_id: str, message_ids: Sequence[str], timeout_s: float = 30) -> list[QueueMessage]:
        return self.scenario.dlq_wait(client_id, message_ids, timeout_s)

    def purge(self, client_id: str) -> int:
        """Delete this run's messages from the client's DLQ (other runs' messages stay)."""
        return self.scenario.queues.purge_run(self.scenario.env.client(client_id).dlq_url)

    def depth(self, client_id: str) -> tuple[int, int]:
        return self.scenario.queues.depth(self.scenario.env.client(client_id).dlq_url)
