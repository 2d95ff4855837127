"""The worker batches its output lines and never settles a record before the lines describing it are written:
checked at the moment of each settle call (in process, real pipeline and SQS), and with a real
``callbacks worker`` process killed with SIGKILL right after its batch was settled."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from delivery import lambda_handler
from delivery.models import ReceivedMessage
from delivery.observe import output
from delivery.observe.emf import EmfEmitter
from delivery.observe.logs import LineHandler
from delivery.queue.sqs import SqsQueue
from delivery.runtime.worker import Worker
from delivery.stages import Decided
from tests.log_capture import CountingStream, json_lines_to
from tests.runtime.conftest import Stack, envelope, wait_until, worker_stopped_mid_delivery
from tests.runtime.receiver import Reply

OUTCOME_LINES = {
    "Delivery succeeded",
    "Transient delivery failure — requeuing",
    "Permanent delivery failure — sending to DLQ",
}


class Stream(CountingStream):
    def outcomes(self) -> set[str]:
        """Correlation ids with an outcome line written so far."""
        lines = [json.loads(line) for line in self.getvalue().splitlines()]
        return {line["correlationId"] for line in lines if line["msg"] in OUTCOME_LINES}


def stack_client(queue: SqsQueue) -> object:
    return queue._client


class Watched(SqsQueue):
    """The real SQS queue, noting at each settle call which records' outcome lines were already written."""

    def __init__(self, queue: SqsQueue, stream: Stream, ids: dict[str, str]) -> None:
        super().__init__(queue.queue_url, stack_client(queue))
        self.stream, self.ids = stream, ids  # body -> correlation id
        self.settled: list[tuple[str, bool]] = []  # (correlation id, its line was out when settled)

    def _note(self, messages: Sequence[ReceivedMessage]) -> None:
        written = self.stream.outcomes()
        self.settled += [(self.ids[m.body], self.ids[m.body] in written) for m in messages]

    async def delete(self, messages: Sequence[ReceivedMessage]) -> list[str]:
        self._note(messages)
        return await super().delete(messages)

    async def change_visibility(self, items: Sequence[tuple[ReceivedMessage, float]]) -> list[str]:
        self._note([m for m, _ in items])
        return await super().change_visibility(items)


@pytest.fixture
def stream() -> Iterator[Stream]:
    stream = Stream()
    with json_lines_to(stream):
        yield stream


async def test_lines_are_written_before_their_records_are_settled(stack: Stack, stream: Stream) -> None:
    ok, flaky, bad = stack.add_target(), stack.add_target(), stack.add_target()
    stack.receiver.script(f"/{flaky}", Reply(500))
    stack.receiver.script(f"/{bad}", Reply(403))
    ids = {
        envelope(t, f"m-{n}-{i}"): f"m-{n}-{i}" for n, t in enumerate((ok, ok, flaky, bad)) for i in range(5)
    }
    await stack.send(*ids)
    queue = Watched(stack.queue, stream, ids)
    resources = stack.resources(LOG_LEVEL="INFO")
    consumer = resources.consumer_for(stack.client_id, queue, stack.dlq)
    async with stack.running_worker(Worker([consumer], wait_s=1, batch_size=10, max_batch=20), resources):
        await wait_until(lambda: _settled(queue, len(ids)))
    assert {cid for cid, _ in queue.settled} == set(ids.values())
    assert [cid for cid, out in queue.settled if not out] == []  # every line was out before its settle
    lines = stream.getvalue().count("\n")
    assert stream.writes < lines / 4  # and the lines were batched, not written one by one


async def _settled(queue: Watched, count: int) -> bool:
    return len({cid for cid, _ in queue.settled}) >= count


async def test_a_worker_killed_right_after_settling_has_written_the_lines(
    stack: Stack, tmp_path: Path
) -> None:
    target = stack.add_target()
    ids = [f"m-kill-{i}" for i in range(30)]
    await stack.send(*(envelope(target, i) for i in ids))
    argv = [sys.executable, "-m", "delivery.cli.main", "worker", "--client", stack.client_id,
            "--queue-prefix", "callbacks-test", "--wait-s", "1"]  # fmt: skip
    env = {**os.environ, **stack.env, "LOG_LEVEL": "INFO"}
    err_path = tmp_path / "worker.err"
    with err_path.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=err
        )
        try:
            await wait_until(lambda: _all_settled(stack), timeout_s=60)
            proc.send_signal(signal.SIGKILL)  # no drain, no exit handlers
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
    lines = [json.loads(line) for line in err_path.read_text().splitlines() if line.startswith("{")]
    succeeded = {line.get("correlationId") for line in lines if line["msg"] == "Delivery succeeded"}
    assert succeeded == set(ids)


async def _all_settled(stack: Stack) -> bool:
    return await stack.depth() == (0, 0)


class Exploding:
    """A processor (the ``BatchProcessor`` seam) that logs, emits a metric, then fails: a bug's path."""

    def __init__(self) -> None:
        self.held: list[int] = []

    async def process(self, messages: Sequence[ReceivedMessage], progress: object = None) -> list[Decided]:
        logging.getLogger("delivery.test").info("about to fail")
        EmfEmitter("callbacks-test", {"Environment": "test"}).emit({"DeliveryAttempt": 1})
        handlers = [h for h in logging.getLogger().handlers if isinstance(h, LineHandler)]
        self.held += [output.STDOUT.held(), *(h.lines.held() for h in handlers)]
        raise RuntimeError("processor bug")


def test_the_lambda_handler_writes_held_lines_when_it_raises(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in {**stack.env, "LOG_LEVEL": "INFO"}.items():
        monkeypatch.setenv(key, value)
    try:
        assert lambda_handler.handler({"Records": []}, None) == {"batchItemFailures": []}  # cold start
        state = lambda_handler._STATE
        assert state is not None
        exploding = Exploding()
        state.consumer = dataclasses.replace(state.consumer, processor=exploding)
        capsys.readouterr()
        with pytest.raises(RuntimeError, match="processor bug"):
            lambda_handler.handler({"Records": []}, None)
        out, err = capsys.readouterr()
    finally:
        lambda_handler.reset()
    assert exploding.held == [1, 1]  # held while the invocation ran...
    assert '"DeliveryAttempt": 1' in out  # ...and written when it raised
    assert '"msg": "about to fail"' in err


async def test_sigterm_drain_writes_every_line_before_the_summary(stack: Stack) -> None:
    target = stack.add_target()
    stack.receiver.script(f"/{target}", *[Reply(200, delay_s=1.0)] * 3)
    ids = ["m-drain-0", "m-drain-1", "m-drain-2"]
    await stack.send(*(envelope(target, i) for i in ids))
    code, out, err = await worker_stopped_mid_delivery(stack, "INFO")
    assert code == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    delivered = {s.message_id for s in stack.receiver.requests(f"/{target}") if s.status == 200}
    succeeded = {line.get("correlationId") for line in lines if line["msg"] == "Delivery succeeded"}
    assert delivered
    assert succeeded == delivered
    assert [line["msg"] for line in lines][-1] == "Worker stopped"
    *metrics, summary = out.splitlines()
    assert sum(json.loads(m).get("DeliverySuccess", 0) for m in metrics) == len(delivered)
    assert json.loads(summary)["outcomes"]["ack"] == len(delivered)
