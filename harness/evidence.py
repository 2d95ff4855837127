"""What the environment did see when a scenario's wait timed out.

``explained(scenario, ...)`` wraps a wait: on timeout the failure says, next to what was awaited, the mock's
last requests for those messages or that path (status, fault applied), the mock's active fault scripts and
the depth of the queues involved (the clients' DLQs, the queue awaited). Reading the evidence never
raises: a part that cannot be read says why.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Protocol

from harness.environment import Environment
from harness.mock_admin import JournalRecord, MockAdmin
from harness.queues import Queues
from harness.waits import WaitTimeout


class Observed(Protocol):
    """What evidence is read from (a ``Scenario``)."""

    env: Environment
    queues: Queues
    mock: MockAdmin


LAST_REQUESTS = 5


def _status(record: JournalRecord) -> int:
    response = record.get("response") or {}
    return int(response.get("status", 0)) if isinstance(response, dict) else 0


def request_lines(records: Sequence[JournalRecord], what: str) -> list[str]:
    """``mock saw 3 requests for <what>: 503 x3; last: ...`` (pure)."""
    if not records:
        return [f"mock saw no request for {what}"]
    counts = Counter(_status(r) for r in records)
    summary = ", ".join(f"{status} x{n}" for status, n in sorted(counts.items()))
    lines = [f"mock saw {len(records)} request(s) for {what}: {summary}; last {LAST_REQUESTS}:"]
    for record in records[-LAST_REQUESTS:]:
        fault = f" fault {json.dumps(record['fault'])}" if record.get("fault") else ""
        where = f"{record.get('path')} {record.get('messageId')}"
        lines.append(f"  #{record.get('seq')} {where} -> {_status(record)}{fault}")
    return lines


def fault_lines(scripts: dict[str, object]) -> list[str]:
    if not scripts:
        return ["no fault script active on the mock"]
    return [
        f"active fault script on {path}: {json.dumps(script)}" for path, script in sorted(scripts.items())
    ]


def mock_lines(mock: MockAdmin, message_ids: Collection[str], path: str | None) -> list[str]:
    wanted = set(message_ids)
    records = mock.requests(path=path)
    if wanted:
        records = [r for r in records if r.get("messageId") in wanted]
    what = f"{len(wanted)} awaited message(s)" if wanted else "any message"
    lines = request_lines(records, what + (f" on {path}" if path else ""))
    return lines + fault_lines(mock.faults())


def _safely(read: Callable[[], list[str]], what: str) -> list[str]:
    try:
        return read()
    except Exception as exc:  # evidence for a failure must not replace the failure
        return [f"could not read {what}: {type(exc).__name__}: {exc}"]


def evidence(
    scenario: Observed, message_ids: Collection[str] = (), path: str | None = None,
    clients: Sequence[str] = (), queue_urls: Sequence[str] = (),
) -> list[str]:  # fmt: skip
    lines = _safely(lambda: mock_lines(scenario.mock, message_ids, path), "the mock's journal")
    urls = [scenario.env.client(c).dlq_url for c in clients if c in scenario.env.client_ids]
    for url in dict.fromkeys([*urls, *queue_urls]):

        def depth(url: str = url) -> list[str]:
            visible, in_flight = scenario.queues.depth(url)
            return [f"queue {url.rsplit('/', 1)[-1]}: {visible} visible, {in_flight} in flight"]

        lines += _safely(depth, f"the depth of {url}")
    return lines


@contextlib.contextmanager
def explained(
    scenario: Observed, message_ids: Collection[str] = (), path: str | None = None,
    clients: Sequence[str] = (), queue_urls: Sequence[str] = (),
) -> Iterator[None]:  # fmt: skip
    """Re-raise a timed-out wait (any AssertionError) with what the environment did see."""
    try:
        yield
    except AssertionError as exc:
        seen = evidence(scenario, message_ids, path, clients, queue_urls)
        raise WaitTimeout("\n".join([str(exc), "what the environment saw:", *seen])) from None
