"""AsyncSqsClient: errors as boto3 raises them, retries of throttling and 5xx (real HTTP on loopback)."""

from __future__ import annotations

import boto3
import pytest
from aiohttp import ClientSession, web
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from delivery.queue.sqs_wire import AsyncSqsClient, error_code
from harness.processes import LOOPBACK


async def test_missing_queue_raises_the_error_code_boto3_raises(aws_env: dict[str, str]) -> None:
    with pytest.raises(ClientError) as boto_error:
        boto3.client("sqs").get_queue_url(QueueName="no-such-queue-here")
    async with ClientSession() as session:
        client = AsyncSqsClient.from_environment(session)
        with pytest.raises(ClientError) as wire_error:
            await client.get_queue_url(QueueName="no-such-queue-here")
    assert wire_error.value.response["Error"]["Code"] == boto_error.value.response["Error"]["Code"]


def test_error_code_prefers_the_query_compatible_code() -> None:
    headers = {"x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"}
    assert error_code(400, headers, {"__type": "com.amazonaws.sqs#QueueDoesNotExist"}) == (
        "AWS.SimpleQueueService.NonExistentQueue"
    )
    assert error_code(400, {}, {"__type": "com.amazonaws.sqs#QueueDoesNotExist"}) == "QueueDoesNotExist"
    assert error_code(502, {}, {}) == "HTTP502"


async def _serve(replies: list[tuple[int, dict[str, object]]], seen: list[dict[str, str]]) -> web.AppRunner:
    async def handle(request: web.Request) -> web.Response:
        seen.append({"target": request.headers["X-Amz-Target"], "auth": request.headers["Authorization"]})
        status, body = replies.pop(0)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, 0).start()
    return runner


async def test_throttling_and_5xx_are_retried_then_signed_request_succeeds() -> None:
    replies = [(400, {"__type": "ThrottlingException"}), (503, {}), (200, {"Messages": []})]
    seen: list[dict[str, str]] = []
    runner = await _serve(replies, seen)
    port = runner.addresses[0][1]
    try:
        async with ClientSession() as session:
            client = AsyncSqsClient(
                f"http://{LOOPBACK}:{port}", "eu-west-2", Credentials("AK", "SK"), session
            )
            assert await client.receive_message(QueueUrl="q", WaitTimeSeconds=0) == {"Messages": []}
    finally:
        await runner.cleanup()
    assert [s["target"] for s in seen] == ["AmazonSQS.ReceiveMessage"] * 3
    assert all(s["auth"].startswith("AWS4-HMAC-SHA256 Credential=AK/") for s in seen)


async def test_a_client_error_is_not_retried() -> None:
    seen: list[dict[str, str]] = []
    runner = await _serve([(400, {"__type": "com.amazonaws.sqs#InvalidAddress", "message": "bad"})], seen)
    port = runner.addresses[0][1]
    try:
        async with ClientSession() as session:
            client = AsyncSqsClient(
                f"http://{LOOPBACK}:{port}", "eu-west-2", Credentials("AK", "SK"), session
            )
            with pytest.raises(ClientError, match="InvalidAddress"):
                await client.send_message_batch(QueueUrl="q", Entries=[])
    finally:
        await runner.cleanup()
    assert len(seen) == 1
