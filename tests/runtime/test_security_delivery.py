"""Security end to end through the real pipeline (moto SQS, real Redis gate, real HTTPS receiver).

- a receiver that echoes the API key back in a 401 does not get it into the DLQ, a log line or a metric;
- a target the egress policy refuses is dead-lettered with ``EGRESS_DENIED`` and the receiver sees nothing.
"""

from __future__ import annotations

import io
import json
import logging
import urllib.parse
from collections.abc import Iterator

import pytest

from delivery.observe.emf import EmfEmitter
from delivery.observe.logs import JsonFormatter
from delivery.observe.scrub import MASK
from delivery.runtime.resources import open_resources
from delivery.runtime.settings import Settings
from tests.runtime.conftest import API_KEY, APPLICATION_ID, Stack, envelope, wait_until
from tests.runtime.receiver import Reply


async def _dlq_has(stack: Stack, count: int) -> bool:
    return await stack.dlq_count() >= count


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level, old_handlers = root.level, root.handlers[:]
    root.handlers[:] = [handler]  # only ours: handlers other tests left behind may hold closed streams
    root.setLevel(logging.INFO)
    yield stream
    root.handlers[:] = old_handlers
    root.setLevel(old_level)


@pytest.mark.parametrize(
    "body",
    [
        f"invalid API key {API_KEY}",
        json.dumps({"message": f"invalid API key {API_KEY} for application {APPLICATION_ID}"}),
        f"key={urllib.parse.quote(API_KEY)}&hmac-key={APPLICATION_ID}.{API_KEY}",
    ],
    ids=["plain", "json-message", "url-encoded"],
)
async def test_an_echoed_api_key_never_reaches_the_dlq_logs_or_metrics(
    stack: Stack, log_lines: io.StringIO, body: str
) -> None:
    target = stack.add_target()
    stack.receiver.script(f"/{target}", Reply(status=401, body=body))
    await stack.send(envelope(target))
    emf: list[str] = []
    environ = dict(stack.env)
    settings = Settings.from_env(environ)
    emitter = EmfEmitter(settings.metrics_namespace, {"Environment": "test"}, write=emf.append)
    resources = open_resources(settings, environ, metrics_sink=emitter)
    async with stack.running(resources):
        await wait_until(lambda: _dlq_has(stack, 1))
    [seen] = stack.receiver.requests(f"/{target}")
    assert seen.headers["x-api-key"] == API_KEY  # the key did go where it belongs
    [dead] = await stack.dead_letters()
    attrs = dict(dead.attributes)
    assert attrs["ERROR_CODE"] == "HTTP_CLIENT_ERROR"
    assert MASK in attrs["ERROR_MESSAGE"]
    assert "invalid API key" in attrs["ERROR_MESSAGE"] or "key=" in attrs["ERROR_MESSAGE"]
    output = [attrs["ERROR_MESSAGE"], log_lines.getvalue(), *emf]
    assert emf  # metrics were written
    assert "Permanent delivery failure" in log_lines.getvalue()
    for text in output:
        assert API_KEY not in text
        assert urllib.parse.quote(API_KEY) not in text
        assert APPLICATION_ID not in text


async def test_a_refused_target_is_dead_lettered_with_egress_denied_and_gets_nothing(stack: Stack) -> None:
    target = stack.add_target()
    await stack.send(envelope(target))
    async with stack.running(stack.resources(ALLOWED_EGRESS_CIDRS="")):  # no allowance: 127.0.0.1 refused
        await wait_until(lambda: _dlq_has(stack, 1))
    [dead] = await stack.dead_letters()
    attrs = dict(dead.attributes)
    assert attrs["ERROR_CODE"] == "EGRESS_DENIED"
    assert "127.0.0.1 is loopback" in attrs["ERROR_MESSAGE"]
    assert "STATUS_CODE" not in attrs
    assert attrs["RETRY_ATTEMPTS"] == "1"  # permanent: no retry
    assert stack.receiver.started == 0  # not a single request reached the receiver
    assert await stack.depth() == (0, 0)
