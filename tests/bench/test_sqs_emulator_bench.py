"""The local stack's SQS emulators side by side: fauxqs vs moto with O(1) deletes (``moto-fast``).

Each round, for each emulator in turn (interleaved, so both see the same machine load): publish a backlog
(``SendMessageBatch`` of 10), then drain it with ``DRAINERS`` concurrent loops of ``ReceiveMessage`` (10)
+ ``DeleteMessageBatch``, all over ``AsyncSqsClient`` (the worker's SQS client). Measured per emulator:
drain messages/s (wall clock) and the emulator process's CPU per message (``/proc/<pid>/stat``, less
sensitive to a shared machine than rates). Medians of ``ROUNDS`` rounds. Target: fauxqs spends less
server CPU per drained message than moto-fast (issue 18 measured 1,804 vs 656 drained/s).
Run: ``.venv/bin/pytest tests/bench/test_sqs_emulator_bench.py -m bench -p no:xdist -s``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from botocore.credentials import Credentials

from delivery.queue.sqs_wire import AsyncSqsClient
from harness.fauxqs_server import FauxqsServer
from harness.moto_server import MotoServer

pytestmark = pytest.mark.bench

BACKLOG = 2000
DRAINERS = 8
ROUNDS = 3
PADDING = "x" * 400


@dataclass(frozen=True, slots=True)
class Round:
    send_per_s: float
    drain_per_s: float
    send_cpu_us: float  # emulator CPU per message sent
    drain_cpu_us: float  # emulator CPU per message received + deleted


def cpu_s(pid: int) -> float:
    """utime + stime of one process (all its threads), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _timed(pid: int, work: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    cpu, wall = cpu_s(pid), time.perf_counter()
    await work()
    return time.perf_counter() - wall, cpu_s(pid) - cpu


async def _round(url: str, pid: int) -> Round:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    client = AsyncSqsClient(url, "eu-west-2", Credentials("testing", "testing"), session)
    try:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        queue = (
            await client.call("CreateQueue", {"QueueName": name, "Attributes": {"VisibilityTimeout": "60"}})
        )["QueueUrl"]

        async def send() -> None:
            async def batch(start: int) -> None:
                entries = [{"Id": str(i), "MessageBody": f"{i} {PADDING}"} for i in range(start, start + 10)]
                reply = await client.send_message_batch(QueueUrl=queue, Entries=entries)
                assert not reply.get("Failed"), reply

            for chunk in range(0, BACKLOG, 10 * DRAINERS):
                await asyncio.gather(
                    *(batch(s) for s in range(chunk, min(chunk + 10 * DRAINERS, BACKLOG), 10))
                )

        seen: set[str] = set()  # bodies: a send retried after a lost reply is a second copy (at least once)

        async def drain_loop() -> None:
            while len(seen) < BACKLOG:
                reply = await client.receive_message(
                    QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0
                )
                messages = reply.get("Messages", [])
                if not messages:
                    continue
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                ]
                done = await client.delete_message_batch(QueueUrl=queue, Entries=entries)
                assert not done.get("Failed"), done
                seen.update(m["Body"] for m in messages)

        async def drain() -> None:
            await asyncio.wait_for(asyncio.gather(*(drain_loop() for _ in range(DRAINERS))), timeout=120)

        send_s, send_cpu = await _timed(pid, send)
        drain_s, drain_cpu = await _timed(pid, drain)
        assert len(seen) == BACKLOG  # none lost
        await client.call("DeleteQueue", {"QueueUrl": queue})
        return Round(BACKLOG / send_s, BACKLOG / drain_s, send_cpu * 1e6 / BACKLOG, drain_cpu * 1e6 / BACKLOG)
    finally:
        await session.close()


def _median(rounds: list[Round], field: str) -> float:
    return statistics.median(getattr(r, field) for r in rounds)


def test_fauxqs_drains_for_less_server_cpu_than_moto_fast() -> None:
    results: dict[str, list[Round]] = {"fauxqs": [], "moto-fast": []}
    with FauxqsServer() as fauxqs, MotoServer(sqs="moto-fast") as moto:
        servers = {"fauxqs": fauxqs, "moto-fast": moto}
        for _ in range(ROUNDS):
            for name, server in servers.items():
                assert server.process is not None
                results[name].append(asyncio.run(_round(server.url, server.process.pid)))
    for name, rounds in results.items():
        print(
            f"\n{name:>9}: drain {_median(rounds, 'drain_per_s'):7.0f} msg/s, "
            f"{_median(rounds, 'drain_cpu_us'):6.0f} us server CPU/msg (receive+delete); "
            f"send {_median(rounds, 'send_per_s'):7.0f} msg/s, "
            f"{_median(rounds, 'send_cpu_us'):6.0f} us CPU/msg"
        )
    ratio = _median(results["moto-fast"], "drain_cpu_us") / _median(results["fauxqs"], "drain_cpu_us")
    print(f"moto-fast / fauxqs server CPU per drained message: {ratio:.1f}x")
    assert ratio > 1.0
