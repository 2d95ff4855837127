"""A small HTTPS webhook receiver for runtime tests: real TLS (trustme), real HTTP over loopback.

Per path, a script of responses is played in order (then 200). Every request is journaled with its
headers, body, arrival time and whether a client certificate was presented. ``wait_for`` waits on a
condition (no sleeps). ``hold(path)`` makes every response on a path wait until the returned event is set
(a slow webhook whose slowness the test controls).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import trustme
from aiohttp import web

HOLD_LIMIT_S = 20.0


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: str = '{"message":"Callback received"}'
    delay_s: float = 0.0


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    at_s: float
    client_cert: bool
    status: int

    @property
    def message_id(self) -> str | None:
        try:
            return str(json.loads(self.body)["data"][0]["attributes"]["messageId"])
        except (ValueError, KeyError, IndexError, TypeError):
            return None


@dataclass
class Receiver:
    ca: trustme.CA
    leaf: trustme.LeafCert
    scripts: dict[str, list[Reply]] = field(default_factory=lambda: defaultdict(list))
    seen: list[Seen] = field(default_factory=list)
    started: int = 0  # requests that arrived (answered or not yet)
    port: int = 0
    held: dict[str, tuple[asyncio.Event, float]] = field(default_factory=dict)  # path: (release, limit_s)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts[path].extend(replies)

    def hold(self, path: str, limit_s: float = HOLD_LIMIT_S) -> asyncio.Event:
        """Responses on ``path`` wait until the returned event is set (at most ``limit_s``)."""
        return self.held.setdefault(path, (asyncio.Event(), limit_s))[0]

    def requests(self, path: str | None = None) -> list[Seen]:
        return [s for s in self.seen if path is None or s.path == path]

    async def wait_for(self, count: int, path: str | None = None, timeout_s: float = 10.0) -> list[Seen]:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.requests(path)) >= count), timeout=timeout_s
            )
        return self.requests(path)

    async def wait_started(self, count: int, timeout_s: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.started >= count), timeout=timeout_s)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with self._changed:
            self.started += 1
            self._changed.notify_all()
        script = self.scripts.get(request.path)
        reply = script.pop(0) if script else Reply()
        held = self.held.get(request.path)
        if held is not None:  # never hang a test forever: a forgotten release still answers
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(held[0].wait(), timeout=held[1])
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)  # a slow webhook (the behaviour under test), not a wait
        transport = request.transport
        peer = transport.get_extra_info("peercert") if transport is not None else None
        seen = Seen(
            request.path,
            {k.lower(): v for k, v in request.headers.items()},
            body,
            time.monotonic(),
            bool(peer),
            reply.status,
        )
        async with self._changed:
            self.seen.append(seen)
            self._changed.notify_all()
        return web.Response(status=reply.status, text=reply.body, headers=dict(reply.headers))

    async def start(self) -> Receiver:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.leaf.configure_cert(ctx)
        self.ca.configure_trust(ctx)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        server: Any = site._server
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
