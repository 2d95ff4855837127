"""Reusable transport benchmark pieces: an mTLS bench peer (child process) and bounded client loops.

For a same-run "bare keep-alive" figure next to another benchmark::

    from tests.bench.transport_baseline import bare_keepalive_baseline   # under pytest
    rps = await bare_keepalive_baseline(duration_s=3.0, concurrency=32)

or, against your own server: ``await bare_keepalive_rps(url, ssl_context)``. Everything is bounded in time
(``duration_s``) and binds to 127.0.0.1 only. Requests carry a reference HMAC signature over the exact body.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import trustme

from delivery.signing import reference_signature
from delivery.transport.spki import spki_pin_of_pem
from harness.processes import ManagedProcess

SERVER_SCRIPT = Path(__file__).with_name("transport_bench_server.py")
APPLICATION_ID = "bench-app"
API_KEY = "bench-api-key"


@dataclass(frozen=True)
class BenchPeer:
    """A running mTLS peer and the client material to reach it."""

    url: str
    ca_file: Path
    client_cert_file: Path
    client_key_file: Path
    server_pin: str

    def client_ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.client_cert_file, self.client_key_file)
        return ctx


@dataclass(frozen=True)
class LoopResult:
    ok: int
    errors: int
    elapsed_s: float
    cpu_s: float = 0.0  # CPU time of this (client) process; the bench server is another process

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        done = self.ok + self.errors
        return self.cpu_s * 1e6 / done if done else 0.0


def signed_request(i: int) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """A callback-shaped body and the headers the engine sends (reference scheme, exact bytes signed)."""
    body = json.dumps(
        {
            "data": [
                {
                    "type": "MessageStatus",
                    "attributes": {"messageId": f"bench-{i}", "messageStatus": "delivered"},
                }
            ]
        },
        separators=(",", ":"),
    ).encode()
    headers = (
        ("Content-Type", "application/json"),
        ("x-hmac-sha256-signature", reference_signature(APPLICATION_ID, API_KEY, body)),
        ("x-api-key", API_KEY),
    )
    return body, headers


@asynccontextmanager
async def bench_peer(workdir: Path | None = None) -> AsyncIterator[BenchPeer]:
    """Start the mTLS bench server in a child process (its own core); stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="transport-bench-") as tmp:
        root = workdir or Path(tmp)
        ca = trustme.CA()
        server = ca.issue_cert("127.0.0.1", "localhost")
        client = ca.issue_cert("bench-client@example.org")
        ca.cert_pem.write_to_path(str(root / "ca.pem"))
        server.private_key_and_cert_chain_pem.write_to_path(str(root / "server.pem"))
        client.cert_chain_pems[0].write_to_path(str(root / "client.pem"))
        client.private_key_pem.write_to_path(str(root / "client.key"))
        ready = root / "ready.json"
        argv = [sys.executable, str(SERVER_SCRIPT), str(root), str(ready)]
        process = ManagedProcess(argv, log_path=root / "server.log")
        try:
            await asyncio.to_thread(process.wait_ready, ready.exists, 20.0, "transport bench server")
            port = json.loads(ready.read_text())["port"]
            yield BenchPeer(
                url=f"https://127.0.0.1:{port}/bench-target",
                ca_file=root / "ca.pem",
                client_cert_file=root / "client.pem",
                client_key_file=root / "client.key",
                server_pin=spki_pin_of_pem(server.cert_chain_pems[0].bytes()),
            )
        finally:
            process.close()


async def run_for(
    send: Callable[[int], Awaitable[bool]], *, duration_s: float, concurrency: int
) -> LoopResult:
    """``concurrency`` workers call ``send(i)`` until ``duration_s`` has passed; counts True/False results."""
    counts = [0, 0]
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + duration_s

    async def worker(offset: int) -> None:
        i = offset
        while time.perf_counter() < deadline:
            counts[0 if await send(i) else 1] += 1
            i += concurrency

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return LoopResult(counts[0], counts[1], time.perf_counter() - started, time.process_time() - cpu_started)


def aiohttp_sender(session: aiohttp.ClientSession, url: str) -> Callable[[int], Awaitable[bool]]:
    """A bare aiohttp POST of a signed request (what the transport does, minus everything else)."""
    prepared = [signed_request(i) for i in range(64)]

    async def send(i: int) -> bool:
        body, headers = prepared[i % len(prepared)]
        try:
            async with session.post(url, data=body, headers=list(headers), allow_redirects=False) as response:
                await response.read()
                return response.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    return send


@asynccontextmanager
async def bare_session(
    ssl_context: ssl.SSLContext, *, concurrency: int, keep_alive: bool = True
) -> AsyncIterator[aiohttp.ClientSession]:
    """Keep-alive session (or, with ``keep_alive=False``, a new TCP+TLS connection per request)."""
    connector = aiohttp.TCPConnector(ssl=ssl_context, limit=concurrency, force_close=not keep_alive)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def bare_keepalive_rps(
    url: str, ssl_context: ssl.SSLContext, *, duration_s: float = 3.0, concurrency: int = 32
) -> float:
    """Deliveries/s of a bare aiohttp keep-alive POST loop against ``url``."""
    async with bare_session(ssl_context, concurrency=concurrency) as session:
        result = await run_for(aiohttp_sender(session, url), duration_s=duration_s, concurrency=concurrency)
    return result.rps


async def bare_keepalive_baseline(duration_s: float = 3.0, concurrency: int = 32) -> float:
    """Start a bench peer, measure the bare keep-alive mTLS POST loop, stop the peer; returns req/s."""
    async with bench_peer() as peer:
        return await bare_keepalive_rps(
            peer.url, peer.client_ssl_context(), duration_s=duration_s, concurrency=concurrency
        )
