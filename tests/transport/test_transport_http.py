"""HTTP behaviour of HttpsTransport over real loopback TLS: deadlines, redirects, 429, pooling, bytes sent."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time

import pytest
import trustme

from delivery.models import HttpResult, TransportFailure
from delivery.transport.https import EXCERPT_BYTES, HttpsTransport
from delivery.transport.material import TlsMaterialError
from harness.processes import free_port
from tests.transport.conftest import ServeFn
from tests.transport.peers import request, server_context


async def test_connection_refused(transport: HttpsTransport) -> None:
    result = await transport.send(request(f"https://127.0.0.1:{free_port()}/ok"))
    assert isinstance(result, TransportFailure)
    assert (result.code, result.permanent) == ("ECONNREFUSED", False)


async def test_server_that_accepts_then_hangs_hits_the_deadline(
    serve: ServeFn, transport: HttpsTransport, tls_server_cert
) -> None:
    peer = await serve(server_context(tls_server_cert))
    started = time.perf_counter()
    result = await transport.send(request(peer.url("hang"), timeout_s=0.5))
    elapsed_s = time.perf_counter() - started
    assert isinstance(result, TransportFailure)
    assert (result.code, result.permanent) == ("ETIMEDOUT", False)
    assert "0.5s" in result.message
    assert 0.45 <= elapsed_s < 3.0
    assert len(peer.seen) == 1  # the request did arrive; the answer never came


async def test_connect_timeout_covers_a_handshake_that_never_happens(transport: HttpsTransport) -> None:
    """A listening socket that never accepts: TCP completes in the kernel, the TLS handshake never does."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        result = await transport.send(request(f"https://127.0.0.1:{port}/ok", connect_timeout_s=0.3))
    assert isinstance(result, TransportFailure)
    assert result.code == "ETIMEDOUT"
    assert "connect timed out after 0.3s" in result.message


async def test_redirect_is_not_followed(serve: ServeFn, transport: HttpsTransport, tls_server_cert) -> None:
    peer = await serve(server_context(tls_server_cert))
    result = await transport.send(request(peer.url("status/302")))
    assert isinstance(result, HttpResult)
    assert result.status == 302
    assert [s.path for s in peer.seen] == ["/status/302"]


async def test_429_keeps_the_raw_retry_after(
    serve: ServeFn, transport: HttpsTransport, tls_server_cert
) -> None:
    peer = await serve(server_context(tls_server_cert))
    result = await transport.send(request(peer.url("status/429")))
    assert isinstance(result, HttpResult)
    assert (result.status, result.retry_after) == (429, "7")


async def test_error_body_excerpt_is_bounded(
    serve: ServeFn, transport: HttpsTransport, tls_server_cert
) -> None:
    peer = await serve(server_context(tls_server_cert))
    result = await transport.send(request(peer.url("status/400")))
    assert isinstance(result, HttpResult)
    assert result.status == 400
    assert result.body_excerpt.startswith('{"message": "nope"}')
    assert len(result.body_excerpt) == EXCERPT_BYTES
    after = await transport.send(request(peer.url()))  # the rest was drained: the connection is reused
    assert isinstance(after, HttpResult)
    assert not after.new_connection


async def test_exact_body_bytes_and_headers_are_sent(
    serve: ServeFn, transport: HttpsTransport, tls_server_cert
) -> None:
    peer = await serve(server_context(tls_server_cert))
    body = '{"data":[{"note":"café ✓","n":1.0}]}'.encode()
    headers = (
        ("Content-Type", "application/json"),
        ("x-hmac-sha256-signature", "ab" * 32),
        ("x-api-key", "k1"),
    )
    result = await transport.send(request(peer.url(), body=body, headers=headers))
    assert isinstance(result, HttpResult)
    seen = peer.seen[0]
    assert seen.body == body
    for name, value in headers:
        assert seen.headers[name] == value
    assert seen.headers["Content-Length"] == str(len(body))


async def test_connection_reuse_sequential_and_concurrent(
    serve: ServeFn, transport: HttpsTransport, tls_server_cert
) -> None:
    peer = await serve(server_context(tls_server_cert))
    results = [await transport.send(request(peer.url())) for _ in range(20)]
    assert all(isinstance(r, HttpResult) and r.status == 200 for r in results)
    assert [r.new_connection for r in results if isinstance(r, HttpResult)] == [True] + [False] * 19
    assert len(peer.seen) == 20
    assert len(peer.peers) == 1  # 20 requests over one TLS connection
    for _ in range(5):
        batch = await asyncio.gather(*(transport.send(request(peer.url())) for _ in range(8)))
        assert all(isinstance(r, HttpResult) and r.status == 200 for r in batch)
    assert len(peer.seen) == 60
    assert len(peer.peers) <= 8  # concurrent sends open at most one connection each, then reuse them


async def test_mtls_target_without_client_material_raises_a_clear_error(transport: HttpsTransport) -> None:
    with pytest.raises(TlsMaterialError) as err:
        await transport.send(request("https://127.0.0.1:1/ok", mtls=True, target_id="t-9"))
    assert "MTLS_CERT_S3_BUCKET and MTLS_CERT_S3_KEY are required" in str(err.value)
    assert "'t-9'" in str(err.value)


async def _keepalive_then_close_server(ca: trustme.CA) -> tuple[asyncio.Server, list[int]]:
    """Raw TLS server: the first connection answers one request, then closes on the next one without a
    response (the keep-alive race); later connections answer everything. Returns (server, requests/conn)."""
    leaf = ca.issue_cert("127.0.0.1")
    ctx = server_context(leaf)
    served: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = len(served)
        served.append(0)
        try:
            while await _read_request(reader):
                if index == 0 and served[index] == 1:
                    break
                served[index] += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    return server, served


async def _read_request(reader: asyncio.StreamReader) -> bool:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        return False
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    await reader.readexactly(length)
    return True


async def test_reused_connection_closed_by_server_is_retried_once_on_a_fresh_one(
    transport: HttpsTransport, tls_ca: trustme.CA
) -> None:
    server, served = await _keepalive_then_close_server(tls_ca)
    port = server.sockets[0].getsockname()[1]
    try:
        first = await transport.send(request(f"https://127.0.0.1:{port}/ok"))
        second = await transport.send(request(f"https://127.0.0.1:{port}/ok"))
    finally:
        server.close()
        await server.wait_closed()
    assert isinstance(first, HttpResult)
    assert isinstance(second, HttpResult), second
    assert (first.status, second.status, second.new_connection) == (200, 200, True)
    assert served == [1, 1]


async def test_plain_http_endpoint_is_refused_permanently(transport: HttpsTransport) -> None:
    with socket.socket() as listener:  # something is listening: we still never send the request there
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        result = await transport.send(request(f"http://127.0.0.1:{listener.getsockname()[1]}/ok"))
    assert isinstance(result, TransportFailure)
    assert (result.code, result.permanent) == ("EINVALIDURL", True)
