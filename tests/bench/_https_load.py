"""A small, fast HTTPS/1.1 load client (keep-alive, fixed concurrency, bounded time) and a bare server.

The same client drives the mock and the bare aiohttp baseline, so the ratio compares servers only. It is a
raw asyncio protocol (no aiohttp client) so that the client is not the bottleneck on a 2-core machine.
Run as a script, it serves the bare baseline: ``python _https_load.py CERTS_DIR READY_FILE``.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LoadResult:
    completed: int
    ok: int
    elapsed_s: float

    @property
    def rps(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s else 0.0


class _Connection(asyncio.Protocol):
    def __init__(self, requests: list[bytes], offset: int, deadline: float, done: asyncio.Future[None]):
        self.requests, self.index, self.deadline, self.done = requests, offset, deadline, done
        self.buffer = b""
        self.completed = self.ok = 0
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's SSL transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.index = (self.index + 1) % len(self.requests)
        self.transport.write(self.requests[self.index])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            start = head.find(b"content-length:")
            length = int(head[start + 15 : head.find(b"\r\n", start) if b"\r\n" in head[start:] else None])
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            self.completed += 1
            self.ok += head[9:12] == b"200"
            self.buffer = self.buffer[total:]
            if time.monotonic() >= self.deadline:
                self._finish()
                return
            self._send()

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)
        if not self.closed.done():
            self.closed.set_result(None)


async def run_load(
    host: str, port: int, ssl_ctx: ssl.SSLContext, requests: list[bytes], concurrency: int, duration_s: float
) -> LoadResult:
    loop = asyncio.get_running_loop()
    connections: list[_Connection] = []
    futures: list[asyncio.Future[None]] = []
    started = time.monotonic()
    deadline = started + duration_s
    for i in range(concurrency):
        fut: asyncio.Future[None] = loop.create_future()
        _, proto = await loop.create_connection(
            lambda i=i, fut=fut: _Connection(requests, i, deadline, fut), host, port, ssl=ssl_ctx
        )
        connections.append(proto)
        futures.append(fut)
    await asyncio.wait_for(asyncio.gather(*futures), duration_s + 10)
    elapsed = time.monotonic() - started
    try:
        await asyncio.wait_for(asyncio.gather(*(c.closed for c in connections)), 5)
    except TimeoutError:
        for c in connections:
            if c.transport is not None:
                c.transport.abort()
    return LoadResult(sum(c.completed for c in connections), sum(c.ok for c in connections), elapsed)


def build_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _write_ready(ready_file: str, data: dict[str, int]) -> None:
    Path(ready_file + ".tmp").write_text(json.dumps(data))
    os.replace(ready_file + ".tmp", ready_file)


async def _serve_bare(certs_dir: str, ready_file: str) -> None:
    from aiohttp import web

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(f"{certs_dir}/server-cert.pem", f"{certs_dir}/server-key.pem")
    ctx.load_verify_locations(f"{certs_dir}/ca.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=b'{"message":"Callback received"}', content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    _write_ready(ready_file, {"port": site.port, "pid": os.getpid()})
    await asyncio.Event().wait()


if __name__ == "__main__":
    import uvloop

    uvloop.run(_serve_bare(sys.argv[1], sys.argv[2]))
