"""The driven HTTP/1.1 exchange (``delivery.transport.wire``): the response parser on its own, then the
transport against a scripted raw TLS server on 127.0.0.1 that answers what aiohttp servers never do
(chunked bodies, interim 1xx, ``Connection: close``, garbage), checking reuse connection by connection."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable
from importlib import metadata

import pytest
import trustme

from delivery.models import HttpResult, TransportFailure
from delivery.transport.https import HttpsTransport
from delivery.transport.wire import (
    ServerDisconnected,
    WireProtocolError,
    WireResponse,
    parse_response,
    request_head,
)
from tests.transport.conftest import LOOPBACK
from tests.transport.peers import request, server_context


def parse(raw: bytes, *, keep: int = 4096, limit: int = 65_536, eof: bool = False) -> WireResponse | None:
    return parse_response(bytearray(raw), keep_bytes=keep, limit_bytes=limit, at_eof=eof)


def answer(raw: bytes, *, keep: int = 4096, eof: bool = False) -> WireResponse:
    response = parse(raw, keep=keep, eof=eof)
    assert response is not None
    return response


def test_content_length_answer_is_complete_and_reusable() -> None:
    raw = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\nX: y\r\n\r\nnope!HTTP/1.1"
    response = answer(raw)
    assert (response.status, response.kept, response.complete) == (400, b"nope!", True)
    assert response.consumed == len(raw) - len(b"HTTP/1.1")


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nno",  # body still arriving
        b"HTTP/1.1 200 OK\r\nContent-Len",  # head still arriving
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",  # no last chunk yet
        b"HTTP/1.1 200 OK\r\n\r\nunframed",  # ends with the connection
    ],
)
def test_incomplete_answers_wait_for_more(raw: bytes) -> None:
    assert parse(raw) is None


def test_chunked_with_extensions_and_trailers() -> None:
    raw = (
        b"HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"
    )
    response = answer(raw)
    assert (response.status, response.retry_after, response.kept, response.complete) == (
        429,
        "7",
        b"abcde",
        True,
    )
    assert response.consumed == len(raw)


def test_interim_answers_are_skipped_and_204_has_no_body() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    response = answer(raw)
    assert (response.status, response.kept, response.complete) == (204, b"", True)


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 70_000,  # longer than we read
        # both framings (RFC 9112 6.3): chunked is read, and the connection is not trusted after it
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ],
)
def test_answers_after_which_the_connection_is_not_reused(raw: bytes) -> None:
    response = answer(raw, keep=10)
    assert response.complete is False
    assert len(response.kept) <= 10


def test_unframed_body_ends_with_the_connection() -> None:
    response = answer(b"HTTP/1.1 500 Oops\r\n\r\nbroken", eof=True)
    assert (response.status, response.kept, response.complete) == (500, b"broken", False)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"SMTP ready\r\n\r\n", WireProtocolError),
        (b"HTTP/1.1 20 OK\r\n\r\n", WireProtocolError),
        (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", WireProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", WireProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", WireProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\nab", WireProtocolError),  # latin-1 "2"
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", WireProtocolError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", WireProtocolError),
        (b"HTTP/1.1 101 Switching\r\n\r\n", WireProtocolError),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000, WireProtocolError),
    ],
)
def test_malformed_answers_are_protocol_errors(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
)
def test_a_connection_that_ends_mid_answer_is_a_disconnect(raw: bytes) -> None:
    with pytest.raises(ServerDisconnected):
        parse(raw, eof=True)


@pytest.mark.parametrize("bad", ["a\r\nInjected: 1", "a\nb", "a\x00"])
def test_request_head_refuses_header_injection(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid header"):
        request_head("POST", "/", "h", (("X-Api-Key", bad),), 0)
    with pytest.raises(ValueError, match="invalid header"):
        request_head("POST", "/", "h", ((bad, "v"),), 0)


def test_request_head_layout() -> None:
    head = request_head("POST", "/p?q=1", "example.org:8443", (("Content-Type", "application/json"),), 12)
    agent = f"User-Agent: enhanced-callbacks/{metadata.version('enhanced-callbacks')}\r\n".encode()
    assert head == (
        b"POST /p?q=1 HTTP/1.1\r\nHost: example.org:8443\r\n"
        + agent
        + b"Content-Type: application/json\r\nContent-Length: 12\r\n\r\n"
    )


def test_a_target_user_agent_header_replaces_ours() -> None:
    head = request_head("POST", "/", "h", (("user-agent", "partner-gateway/2"),), 0)
    assert head.count(b"User-Agent") + head.count(b"user-agent") == 1
    assert b"user-agent: partner-gateway/2\r\n" in head


# --- against a scripted raw TLS server --------------------------------------------------------------

ANSWERS = {
    "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    "/interim-429": (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Slow down\r\nRetry-After: 9\r\nContent-Length: 0\r\n\r\n"
    ),
    "/close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    "/chunked-400": (
        b'HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{"a":1\r\n1\r\n}\r\n0\r\n\r\n'
    ),
    "/garbage": b"HELLO THERE\r\n\r\n",
}


class Scripted:
    """Accepted connections, and the path of each request each one carried."""

    def __init__(self) -> None:
        self.connections: list[list[str]] = []
        self.port = 0


async def _handle(script: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    seen: list[str] = []
    script.connections.append(seen)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            length = next(int(x.split(":")[1]) for x in lines if x.lower().startswith("content-length:"))
            await reader.readexactly(length)
            seen.append(path)
            writer.write(ANSWERS[path])
            await writer.drain()
            if path in ("/close", "/garbage"):
                break
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def scripted(tls_server_cert: trustme.LeafCert) -> AsyncIterator[Scripted]:
    script = Scripted()

    def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> Awaitable[None]:
        return _handle(script, r, w)

    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_context(tls_server_cert))
    script.port = server.sockets[0].getsockname()[1]
    async with server:
        yield script


def _url(script: Scripted, path: str) -> str:
    return f"https://127.0.0.1:{script.port}{path}"


async def test_chunked_answers_keep_the_connection(scripted: Scripted, transport: HttpsTransport) -> None:
    first = await transport.send(request(_url(scripted, "/chunked")))
    second = await transport.send(request(_url(scripted, "/chunked-400")))
    assert isinstance(first, HttpResult)
    assert isinstance(second, HttpResult)
    assert (first.status, first.new_connection) == (200, True)
    assert (second.status, second.body_excerpt, second.new_connection) == (400, '{"a":1}', False)
    assert scripted.connections == [["/chunked", "/chunked-400"]]


async def test_interim_answer_then_429(scripted: Scripted, transport: HttpsTransport) -> None:
    result = await transport.send(request(_url(scripted, "/interim-429")))
    assert isinstance(result, HttpResult)
    assert (result.status, result.retry_after) == (429, "9")


async def test_connection_close_is_honoured(scripted: Scripted, transport: HttpsTransport) -> None:
    results = [await transport.send(request(_url(scripted, path))) for path in ("/close", "/chunked")]
    assert [(r.status, r.new_connection) for r in results if isinstance(r, HttpResult)] == [
        (200, True),
        (200, True),
    ]
    assert scripted.connections == [["/close"], ["/chunked"]]


async def test_garbage_is_a_protocol_error_and_the_connection_is_dropped(
    scripted: Scripted, transport: HttpsTransport
) -> None:
    bad = await transport.send(request(_url(scripted, "/garbage")))
    assert isinstance(bad, TransportFailure)
    assert (bad.code, bad.permanent) == ("EPROTO", False)
    assert "invalid HTTP response" in bad.message
    good = await transport.send(request(_url(scripted, "/chunked")))
    assert isinstance(good, HttpResult)
    assert good.new_connection
    assert scripted.connections == [["/garbage"], ["/chunked"]]


async def test_an_idle_connection_gives_way_when_the_pool_is_at_its_limit(
    scripted: Scripted, tls_ca: trustme.CA, tls_server_cert: trustme.LeafCert
) -> None:
    """Driven connections hold connector slots even when idle: a new origin at the limit closes the
    longest-idle one instead of waiting for a slot that never frees."""
    other = Scripted()
    server = await asyncio.start_server(
        lambda r, w: _handle(other, r, w), "127.0.0.1", 0, ssl=server_context(tls_server_cert)
    )
    other.port = server.sockets[0].getsockname()[1]
    transport = HttpsTransport(
        extra_ca_pem=tls_ca.cert_pem.bytes().decode(), egress=LOOPBACK, max_connections_per_pool=1
    )
    try:
        async with server:
            first = await transport.send(request(_url(scripted, "/chunked")))
            second = await transport.send(request(_url(other, "/chunked"), timeout_s=3.0))
            third = await transport.send(request(_url(scripted, "/chunked"), timeout_s=3.0))
    finally:
        await transport.close()
    assert [r.status if isinstance(r, HttpResult) else r for r in (first, second, third)] == [200, 200, 200]
    assert scripted.connections == [["/chunked"], ["/chunked"]]  # its idle connection made way for `other`
    assert other.connections == [["/chunked"]]
