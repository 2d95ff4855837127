"""The mock stays bounded: journal bytes, body cap, head/body/idle timeouts, connection cap, masking.

Every timing test waits on a condition (the server closing the connection) with a generous ceiling, never
on a sleep; the timeouts under test are set short.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl

import aiohttp
import pytest

from mock_webhook import CertBundle, MockWebhook
from mock_webhook.record import mask
from tests.mock_webhook.conftest import callback_body

CLOSE_CEILING_S = 15.0  # only reached when the server fails to close the connection


async def _open(mock: MockWebhook, bundle: CertBundle) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    ctx = bundle.client_ssl_context(with_client_cert=False)
    return await asyncio.open_connection("127.0.0.1", mock.port, ssl=ctx, server_hostname="localhost")


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True once the server closes the connection (EOF or reset)."""
    try:
        while await asyncio.wait_for(reader.read(65536), CLOSE_CEILING_S):
            pass
    except (ConnectionError, ssl.SSLError):
        return True
    except TimeoutError:
        return False
    return True


async def _status_of_response(reader: asyncio.StreamReader) -> bytes:
    """Read one whole response (head and Content-Length body); returns its status line."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CLOSE_CEILING_S)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    await asyncio.wait_for(reader.readexactly(length), CLOSE_CEILING_S)
    return head.split(b"\r\n", 1)[0]


def _request(path: str, body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def test_slowloris_connections_are_closed_after_the_header_timeout(bundle: CertBundle) -> None:
    async with MockWebhook(mtls="off", certs=bundle, header_timeout_s=0.5, idle_timeout_s=60) as mock:
        opened = [await _open(mock, bundle) for _ in range(20)]
        for i, (_, writer) in enumerate(opened):
            if i % 2:  # half send a partial head, half send nothing at all
                writer.write(b"POST /slow HTTP/1.1\r\nHost: localhost\r\nX-Dribble: ")
                await writer.drain()
        closed = await asyncio.gather(*(_closed_by_server(reader) for reader, _ in opened))
        assert all(closed)
        assert mock.state.timed_out_connections == 20
        assert mock.requests() == []
        for _, writer in opened:
            writer.close()


async def test_dribbling_bytes_does_not_extend_the_deadline(bundle: CertBundle) -> None:
    async with MockWebhook(mtls="off", certs=bundle, header_timeout_s=0.5) as mock:
        reader, writer = await _open(mock, bundle)
        closing = asyncio.ensure_future(_closed_by_server(reader))
        for byte in b"POST /slow HTTP/1.1\r\nHost: localhost\r\nX-Dribble: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":
            if closing.done():
                break
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except (ConnectionError, ssl.SSLError):
                break
            await asyncio.sleep(0.05)  # the client's pace, not a wait for the server
        assert await closing


async def test_a_normal_request_and_kept_alive_connection_are_unaffected(bundle: CertBundle) -> None:
    async with MockWebhook(mtls="off", certs=bundle, header_timeout_s=0.5, idle_timeout_s=60) as mock:
        reader, writer = await _open(mock, bundle)
        for n in range(2):
            writer.write(_request(f"/ok{n}", callback_body(f"m-{n}")))
            await writer.drain()
            assert (await _status_of_response(reader)).startswith(b"HTTP/1.1 200")
            await mock.wait_for(n + 1, timeout_s=CLOSE_CEILING_S)
        assert mock.state.timed_out_connections == 0
        writer.close()


async def test_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout(bundle: CertBundle) -> None:
    async with MockWebhook(mtls="off", certs=bundle, header_timeout_s=30, idle_timeout_s=0.5) as mock:
        reader, writer = await _open(mock, bundle)
        writer.write(_request("/idle", callback_body()))
        await writer.drain()
        assert (await _status_of_response(reader)).startswith(b"HTTP/1.1 200")
        assert await _closed_by_server(reader)
        writer.close()


async def test_a_body_that_never_completes_is_cut_off(bundle: CertBundle) -> None:
    async with MockWebhook(mtls="off", certs=bundle, body_timeout_s=0.5) as mock:
        reader, writer = await _open(mock, bundle)
        writer.write(_request("/body", b"x" * 100)[:-90])  # head complete, 10 of 100 body bytes
        await writer.drain()
        assert await _closed_by_server(reader)
        assert mock.state.timed_out_connections == 1
        writer.close()


async def test_connections_over_the_cap_are_closed_at_once(bundle: CertBundle) -> None:
    async with MockWebhook(mtls="off", certs=bundle, max_connections=2, header_timeout_s=30) as mock:
        kept = [await _open(mock, bundle) for _ in range(2)]
        extra_reader, extra_writer = await _open(mock, bundle)
        assert await _closed_by_server(extra_reader)
        assert mock.state.refused_connections == 1
        reader, writer = kept[0]
        writer.write(_request("/still-open", callback_body()))
        await writer.drain()
        assert (await _status_of_response(reader)).startswith(b"HTTP/1.1 200")
        for _, w in [*kept, (extra_reader, extra_writer)]:
            w.close()


async def test_journal_is_bounded_in_bytes_and_big_bodies_are_kept_truncated(
    bundle: CertBundle, session: aiohttp.ClientSession
) -> None:
    body = json.dumps({"pad": "x" * 1_000_000}).encode()  # 1 MB, as in the issue
    digest = hashlib.sha256(body).hexdigest()
    async with MockWebhook(
        mtls="off", certs=bundle, body_cap_bytes=4096, journal_max_bytes=64 * 1024
    ) as mock:
        ctx = bundle.client_ssl_context(with_client_cert=False)
        for _ in range(40):
            async with session.post(mock.url_for("big"), data=body, ssl=ctx) as resp:
                assert (
                    resp.status == 400
                )  # not a callback: the reference rules answer, the journal still records
        records = mock.requests()
        journal = mock.state.journal
        assert journal.total == 40
        assert journal.bytes <= 64 * 1024
        assert len(records) < 40
        assert journal.evicted == 40 - len(records)
        last = records[-1].to_json()
    assert len(records[-1].body_bytes) == 4096
    assert last["bodyBytes"] == len(body)
    assert last["bodyTruncated"] == {"keptBytes": 4096, "sha256": digest}
    assert mock.stats()["journalBytes"] == journal.bytes


async def test_a_small_body_is_kept_whole(mock: MockWebhook, session: aiohttp.ClientSession) -> None:
    body = callback_body()
    async with session.post(mock.url_for("small"), data=body, ssl=mock.client_ssl_context()) as resp:
        assert resp.status == 200
    [rec] = mock.requests()
    assert rec.body_bytes == body
    assert rec.to_json()["bodyTruncated"] is None
    assert rec.to_json()["bodyBytes"] == len(body)


@pytest.mark.parametrize(
    "header",
    ["X-Custom-Token", "X-Partner-Auth", "Api-Key", "X-Client-Secret", "X-Session-Id", "X-Password"],
)
async def test_credential_looking_headers_are_masked_in_journal_and_inbox_feed(
    mock: MockWebhook, session: aiohttp.ClientSession, header: str
) -> None:
    secret = "hunter2-credential-value"
    headers = {header: secret, "X-Request-Note": "visible"}
    ctx = mock.client_ssl_context()
    async with session.post(mock.url_for("nocreds"), data=callback_body(), headers=headers, ssl=ctx):
        pass
    async with session.get(f"{mock.admin_url}/requests") as resp:  # what the inbox page renders
        feed = await resp.text()
    [rec] = mock.requests()
    assert rec.headers[header.lower()] == mask(secret)
    assert rec.headers["x-request-note"] == "visible"
    assert secret not in feed
    assert mask(secret) in feed


async def test_a_custom_api_key_header_is_masked_whatever_its_case(
    mock: MockWebhook, session: aiohttp.ClientSession
) -> None:
    mock.set_credentials("p", api_key="k-123456", api_key_header="X-Partner-Id")
    headers = {"X-Partner-Id": "k-123456"}
    async with session.post(
        mock.url_for("p"), data=callback_body(), headers=headers, ssl=mock.client_ssl_context()
    ):
        pass
    [rec] = mock.requests()
    assert rec.headers["x-partner-id"] == mask("k-123456")


def test_limit_flags_are_checked_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    from mock_webhook.cli import build_parser, main

    args = build_parser().parse_args(["serve"])
    defaults = (args.journal_bytes, args.body_cap, args.header_timeout, args.body_timeout, args.idle_timeout)
    assert defaults == (64 * 1024 * 1024, 64 * 1024, 10.0, 30.0, 60.0)
    assert args.max_connections == 1024
    bad = ["serve", "--port", "0", "--admin-port", "0", "--header-timeout", "0", "--max-connections", "0"]
    assert main(bad) == 2
    err = capsys.readouterr().err.strip()
    assert err == "mock-webhook: error: --max-connections: must be >= 1; --header-timeout: must be > 0"
