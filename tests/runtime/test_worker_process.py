"""`callbacks worker` as a real process: SIGTERM drains in-flight deliveries, settles them and exits 0."""

from __future__ import annotations

import json

from tests.runtime.conftest import Stack, envelope, worker_stopped_mid_delivery
from tests.runtime.receiver import Reply


async def test_sigterm_finishes_in_flight_deliveries_and_exits_zero(stack: Stack) -> None:
    target = stack.add_target()
    stack.receiver.script(f"/{target}", *[Reply(200, delay_s=1.0)] * 3)
    ids = ["m-term-0", "m-term-1", "m-term-2"]
    await stack.send(*(envelope(target, i) for i in ids))
    code, out, err = await worker_stopped_mid_delivery(stack, "WARNING")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    delivered = {s.message_id for s in stack.receiver.requests(f"/{target}") if s.status == 200}
    assert delivered  # the in-flight deliveries were allowed to finish...
    assert summary["outcomes"].get("ack", 0) == len(delivered)  # ...and were settled (deleted)
    visible, hidden = await stack.depth()
    assert visible + hidden == len(ids) - len(delivered)  # nothing lost: the rest is still queued
    assert await stack.dlq_count() == 0
