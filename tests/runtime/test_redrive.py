"""Redrive: DLQ -> delivery queue with filters, dry run, limit, and a full round trip through the pipeline."""

from __future__ import annotations

import asyncio

import pytest

from delivery.cli.main import main
from delivery.queue.seam import OutgoingMessage
from delivery.queue.sqs import SqsQueue
from delivery.runtime.redrive import RedriveFilter, redrive
from tests.runtime.conftest import Stack, envelope, wait_until
from tests.runtime.receiver import Reply


async def _dead(stack: Stack, target: str, code: str, message_id: str) -> str:
    body = envelope(target, message_id)
    attrs = {"ERROR_CODE": code, "TARGET_ID": target, "CLIENT_ID": stack.client_id}
    assert await stack.dlq.send([OutgoingMessage(body, attrs)]) == []
    return body


async def test_dry_run_changes_nothing_and_filters_select(stack: Stack) -> None:
    a, b = "target-a", "target-b"
    bodies = [
        await _dead(stack, a, "HTTP_CLIENT_ERROR", "m1"),
        await _dead(stack, a, "RETRY_WINDOW_EXHAUSTED", "m2"),
        await _dead(stack, b, "HTTP_CLIENT_ERROR", "m3"),
    ]
    dry = await redrive(stack.dlq, stack.queue, selector=RedriveFilter(target_id=a), dry_run=True)
    assert (dry.scanned, dry.matched, dry.moved, dry.skipped) == (3, 2, 0, 1)
    assert await stack.dlq.depth() == (3, 0)  # every message visible again
    assert await stack.depth() == (0, 0)

    moved = await redrive(
        stack.dlq, stack.queue, selector=RedriveFilter(target_id=a, error_code="HTTP_CLIENT_ERROR")
    )
    assert (moved.matched, moved.moved, moved.failed) == (1, 1, 0)
    [back] = await stack.queue.receive(10, wait_s=0)
    assert back.body == bodies[0]  # body verbatim, DLQ attributes not carried over
    assert back.attributes == ()
    assert await stack.dlq.depth() == (2, 0)

    limited = await redrive(stack.dlq, stack.queue, limit=1)
    assert (limited.matched, limited.moved) == (1, 1)
    assert await stack.dlq.depth() == (1, 0)


async def test_round_trip_through_the_cli(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    target = stack.add_target()
    stack.receiver.script(f"/{target}", Reply(400))
    await stack.send(envelope(target, "m-round"))
    async with stack.running(stack.resources()):
        await wait_until(lambda: _dlq_count_is(stack, 1))
    prefix = "callbacks-test"
    args = ["redrive", "--client", stack.client_id, "--queue-prefix", prefix]
    assert await asyncio.to_thread(main, [*args, "--dry-run", "--error-code", "HTTP_CLIENT_ERROR"]) == 0
    assert "would move 1" in capsys.readouterr().out
    assert await stack.dlq_count() == 1
    assert await stack.depth() == (0, 0)
    assert await asyncio.to_thread(main, [*args, "--target", target]) == 0
    assert "moved 1" in capsys.readouterr().out
    assert await stack.dlq_count() == 0
    async with stack.running(stack.resources()):
        await stack.receiver.wait_for(2, f"/{target}")
        await wait_until(lambda: _queue_empty(stack))
    assert [s.status for s in stack.receiver.requests(f"/{target}")] == [400, 200]
    assert await stack.dlq_count() == 0


async def _dlq_count_is(stack: Stack, count: int) -> bool:
    return await stack.dlq_count() == count


async def _queue_empty(stack: Stack) -> bool:
    return await stack.depth() == (0, 0)


async def test_a_send_to_a_missing_queue_moves_nothing_and_keeps_every_copy(stack: Stack) -> None:
    await _dead(stack, "target-a", "HTTP_CLIENT_ERROR", "m-kept")
    gone = SqsQueue(stack.queue.queue_url.rsplit("/", 1)[0] + "/no-such-queue", stack.sqs)
    report = await redrive(stack.dlq, gone)
    assert (report.matched, report.moved, report.failed) == (1, 0, 1)
    said = " ".join(report.lines)
    assert "QueueDoesNotExist" in said or "NonExistentQueue" in said, said
    assert await stack.dlq.depth() == (1, 0)  # still there, and visible again (not hidden by the scan)
