"""The prebuilt answer (HTTP/1.1 keep-alive) is byte for byte what aiohttp's own ``Response`` sends."""

from __future__ import annotations

import asyncio
import re

import pytest

from mock_webhook import MockWebhook
from tests.mock_webhook.conftest import API_KEY, APP_ID, callback_body, reference_headers


async def _raw_exchange(mock: MockWebhook, requests: list[bytes]) -> list[bytes]:
    """Send each request on one TLS connection and read its whole answer (they all carry a length)."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", mock.port, ssl=mock.client_ssl_context(), server_hostname="localhost"
    )
    answers = []
    try:
        for request in requests:
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
            answers.append(head + await asyncio.wait_for(reader.readexactly(length), 10))
    finally:
        writer.close()
    return answers


def _request(version: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST /wire HTTP/{version}", "Host: localhost", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _normalised(answer: bytes) -> bytes:
    """Without what legitimately differs: the version in the status line, the date, keep-alive for 1.0."""
    answer = re.sub(rb"^HTTP/1\.[01] ", b"HTTP/1.x ", answer)
    answer = re.sub(rb"Date: [^\r]*\r\n", b"Date: D\r\n", answer)
    return answer.replace(b"Connection: keep-alive\r\n", b"")


@pytest.mark.parametrize(
    ("message_id", "api_key", "status"),
    [("msg-1", API_KEY, 200), ("msg-1", "wrong", 401), ("force-503-x", API_KEY, 503)],
)
async def test_prebuilt_answer_matches_aiohttp(
    mock: MockWebhook, message_id: str, api_key: str, status: int
) -> None:
    mock.set_credentials("wire", api_key=API_KEY, application_id=APP_ID)
    body = callback_body(message_id)
    headers = reference_headers(body, api_key=api_key)
    fast, slow = await _raw_exchange(
        mock,
        [
            _request("1.1", body, headers),  # the prebuilt answer
            _request("1.0", body, {**headers, "Connection": "keep-alive"}),  # aiohttp's Response
        ],
    )
    assert fast.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Connection:" not in fast
    assert _normalised(fast) == _normalised(slow)
    assert [rec.response_status for rec in mock.requests(path="wire")] == [status, status]
