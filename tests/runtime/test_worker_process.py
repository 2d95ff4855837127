"""`callbacks worker` as a real process: SIGTERM drains in-flight deliveries, settles them and exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from tests.runtime.conftest import Stack, envelope
from tests.runtime.receiver import Reply


async def test_sigterm_finishes_in_flight_deliveries_and_exits_zero(stack: Stack) -> None:
    target = stack.add_target()
    stack.receiver.script(f"/{target}", *[Reply(200, delay_s=1.0)] * 3)
    ids = ["m-term-0", "m-term-1", "m-term-2"]
    await stack.send(*(envelope(target, i) for i in ids))
    argv = [
        sys.executable,
        "-m",
        "delivery.cli.main",
        "worker",
        "--client",
        stack.client_id,
        "--queue-prefix",
        "callbacks-test",
        "--wait-s",
        "1",
    ]
    env = {**os.environ, **stack.env, "LOG_LEVEL": "WARNING"}
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        await stack.receiver.wait_started(1, timeout_s=20)
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
    assert proc.returncode == 0, err.decode()
    summary = json.loads(out.decode().strip().splitlines()[-1])
    delivered = {s.message_id for s in stack.receiver.requests(f"/{target}") if s.status == 200}
    assert delivered  # the in-flight deliveries were allowed to finish...
    assert summary["outcomes"].get("ack", 0) == len(delivered)  # ...and were settled (deleted)
    visible, hidden = await stack.depth()
    assert visible + hidden == len(ids) - len(delivered)  # nothing lost: the rest is still queued
    assert await stack.dlq_count() == 0
