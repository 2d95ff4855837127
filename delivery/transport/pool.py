"""Idle keep-alive connections per (aiohttp session, origin), driven by ``delivery.transport.wire``.

A session stands for one TLS identity, material version and pin set (``delivery.transport.https``), so a
connection is only ever reused for requests that would have opened it the same way. New connections come from
the session's connector (DNS, egress policy, TLS, SPKI pinning, its connection limit); the most recently used
idle one is taken first, and one idle longer than the keep-alive timeout, closed by the server, or holding
unexpected bytes is closed instead of reused. The connector counts the connections driven here (idle ones
too) against its limit, so when a session is at its limit a new connection first closes the session's
longest-idle one (which aiohttp's own pool would not have counted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
from yarl import URL

from delivery.transport.wire import WireConnection


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What the request line and the pools need from one endpoint URL (parsed once per URL)."""

    url: URL
    origin: str
    host_header: str
    target: str


def endpoint_of(url: str) -> Endpoint:
    parsed = URL(url)
    host = parsed.raw_host or ""
    host = f"[{host}]" if ":" in host else host
    port = parsed.port
    host_header = host if port in (None, 443) else f"{host}:{port}"
    return Endpoint(parsed, f"{host}:{port}", host_header, parsed.raw_path_qs or "/")


class WirePool:
    def __init__(self, keepalive_timeout_s: float) -> None:
        self._keepalive_timeout_s = keepalive_timeout_s
        self._endpoints: dict[str, Endpoint] = {}
        self._idle: dict[tuple[aiohttp.ClientSession, str], list[WireConnection]] = {}
        self._open: dict[WireConnection, aiohttp.ClientSession] = {}  # every driven connection, by session
        self._live: set[WireConnection] = set()  # not yet lost (a TLS close finishes asynchronously)

    def endpoint(self, url: str) -> Endpoint:
        found = self._endpoints.get(url)
        if found is None:
            found = endpoint_of(url)
            if len(self._endpoints) < 4096:
                self._endpoints[url] = found
        return found

    def checkout(self, session: aiohttp.ClientSession, origin: str) -> WireConnection | None:
        """The most recently used idle connection to ``origin`` that is still open and not expired."""
        idle = self._idle.get((session, origin))
        while idle:
            conn = idle.pop()
            if conn.usable and conn.loop.time() - conn.idle_since_s < self._keepalive_timeout_s:
                return conn
            self.discard(conn)
        return None

    def checkin(
        self, session: aiohttp.ClientSession, origin: str, conn: WireConnection, *, reusable: bool
    ) -> None:
        if not reusable or not conn.usable:
            self.discard(conn)
            return
        conn.idle_since_s = conn.loop.time()
        self._idle.setdefault((session, origin), []).append(conn)

    async def connect(
        self, session: aiohttp.ClientSession, endpoint: Endpoint, bounds: aiohttp.ClientTimeout
    ) -> WireConnection:
        """A new connection from the session's connector (DNS, egress, TLS, pinning happen there)."""
        connector = session.connector
        if connector is None:
            raise RuntimeError("session has no connector")
        if connector.limit:
            self._make_room(session, connector.limit)
        loop = asyncio.get_running_loop()
        req = aiohttp.ClientRequest("POST", endpoint.url, loop=loop, session=session)
        try:
            handle = await connector.connect(req, [], bounds)
        except TimeoutError as exc:  # the connect+handshake bound (a total deadline cancels instead)
            raise aiohttp.ConnectionTimeoutError(f"Connection timeout to host {endpoint.url}") from exc
        protocol = handle.protocol
        transport = protocol.transport if protocol is not None else None
        if transport is None:
            handle.close()
            raise aiohttp.ServerDisconnectedError("connection closed while opening")
        conn = WireConnection(handle, transport, loop)
        self._open[conn] = session
        self._live.add(conn)
        conn.lost.add_done_callback(lambda _: self._live.discard(conn))
        return conn

    def _make_room(self, session: aiohttp.ClientSession, limit: int) -> None:
        """At the session's limit, close its longest-idle connection (idle ones hold connector slots)."""
        for conn in [c for c in self._open if c.closed]:
            del self._open[conn]
        if sum(1 for s in self._open.values() if s is session) < limit:
            return
        lists = [idle for (owner, _origin), idle in self._idle.items() if owner is session and idle]
        if lists:
            oldest = min(lists, key=lambda idle: idle[0].idle_since_s)
            self.discard(oldest.pop(0))

    def discard(self, conn: WireConnection | None) -> None:
        if conn is not None:
            self._open.pop(conn, None)
            conn.close()

    def retire(self, sessions: Iterable[aiohttp.ClientSession]) -> None:
        """Close the idle connections of sessions no longer in use (their in-flight ones close after use)."""
        retired = set(sessions)
        for key in [k for k in self._idle if k[0] in retired]:
            for conn in self._idle.pop(key):
                self.discard(conn)

    async def close(self, wait_s: float = 2.0) -> None:
        """Close every connection and wait (bounded) until their TLS shutdowns are done."""
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()
        pending = [conn.lost for conn in self._live if not conn.lost.done()]
        if pending:
            await asyncio.wait(pending, timeout=wait_s)
