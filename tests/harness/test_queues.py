"""Queue helpers against moto's server: peeking leaves messages in place; purging a run spares others."""

from __future__ import annotations

import json
import uuid

import pytest

from harness import events
from harness.environment import ClientQueues, Environment
from harness.queues import Queues, aws_client


@pytest.fixture
def queues(moto_server):
    env = Environment("moto", "eu-west-2", (ClientQueues("c", "", ""),), aws_endpoint_url=moto_server.url)
    sqs = aws_client(env, "sqs")
    url = sqs.create_queue(QueueName=f"harness-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.close()
    mine, theirs = Queues(env, "run1"), Queues(env, "run2")
    yield mine, theirs, url
    mine.close()
    theirs.close()


def test_peek_returns_messages_without_taking_them(queues) -> None:
    mine, _, url = queues
    ids = [events.message_id("m", "run1") for _ in range(12)]
    mine.send(url, [json.dumps(events.envelope(i, "t")) for i in ids])
    first = mine.peek(url, rounds=10)
    assert {m.message_id for m in first} == set(ids)
    assert all(m.attribute(events.RUN_ID_ATTRIBUTE) == "run1" for m in first)
    assert {m.message_id for m in mine.find(url, ids[:3])} == set(ids[:3])
    assert mine.depth(url)[0] == 12


def test_purge_run_deletes_only_this_runs_messages(queues) -> None:
    mine, theirs, url = queues
    mine.send(url, [json.dumps(events.envelope(events.message_id("m", "run1"), "t")) for _ in range(3)])
    theirs.send(url, [json.dumps(events.envelope(events.message_id("m", "run2"), "t")) for _ in range(2)])
    assert mine.purge_run(url) == 3
    left = theirs.peek(url)
    assert len(left) == 2
    assert all("run2" in (m.message_id or "") for m in left)


def test_move_sends_then_deletes_only_the_wanted_messages(queues) -> None:
    mine, _, url = queues
    target = mine.sqs.create_queue(QueueName=f"harness-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    ids = [events.message_id("m", "run1") for _ in range(3)]
    mine.send(url, [json.dumps(events.envelope(i, "t")) for i in ids])
    assert mine.move(url, target, ids[:2]) == 2
    assert {m.message_id for m in mine.peek(target)} == set(ids[:2])
    assert {m.message_id for m in mine.peek(url)} == {ids[2]}
