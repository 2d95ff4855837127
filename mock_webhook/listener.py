"""The webhook port's TLS layer: asyncio's own TLS protocol, plus a record and a real alert for every failure.

asyncio (and uvloop) drop a connection whose handshake fails without sending the TLS alert
OpenSSL produced, and tell nobody. ``WatchedTls`` is asyncio's ``SSLProtocol`` with three additions:

- it keeps the first bytes the client sent (ClientHello: SNI, versions offered; TLS 1.2 client certificate);
- on failure it sends OpenSSL's alert, half-closes, drains what the client still sends, then closes (a close
  with unread data would turn into a TCP reset that can overtake the alert), and reports a
  ``HandshakeFailure``;
- plain HTTP on the TLS port gets a plain-text ``400`` saying to use https:// (what nginx does).

A connection that closes before sending anything (a port probe) is not a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from asyncio import sslproto
from collections.abc import Callable
from typing import Any, NamedTuple

from aiohttp import web

from mock_webhook.handshake import (
    PLAIN_HTTP_REASON,
    PLAIN_HTTP_REPLY,
    ClientCert,
    ClientHello,
    cert_presented,
    client_certificate,
    explain,
    looks_like_http,
    parse_client_hello,
)

PREFIX_LIMIT = 65_536
DRAIN_S = 2.0
HANDSHAKE_TIMEOUT_S = 30


class HandshakeFailure(NamedTuple):
    peer: str
    hello: ClientHello | None
    client_cert_presented: bool | None
    client_cert: ClientCert | None
    reason: str
    error: str


OnFailure = Callable[[HandshakeFailure], None]


def _peer(transport: asyncio.BaseTransport | None) -> str:
    name = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(name, tuple) and len(name) >= 2:
        host = f"[{name[0]}]" if ":" in str(name[0]) else str(name[0])
        return f"{host}:{name[1]}"
    return "unknown"


_WRAPPED = sslproto.SSLProtocolState.WRAPPED
_AGAIN = (ssl.SSLWantReadError, ssl.SSLSyscallError)  # what asyncio's SSLProtocol treats as "not yet"


class WatchedTls(sslproto.SSLProtocol):
    # SSLProtocol's own state, which typeshed does not describe (read by the fast paths below)
    _state: sslproto.SSLProtocolState
    _sslobj: ssl.SSLObject
    _incoming: ssl.MemoryBIO
    _outgoing: ssl.MemoryBIO
    _ssl_buffer_view: memoryview
    _app_reading_paused: bool
    _app_writing_paused: bool
    _ssl_reading_paused: bool
    _ssl_writing_paused: bool

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        app_protocol: asyncio.BaseProtocol,
        context: ssl.SSLContext,
        on_failure: OnFailure,
        draining: set[asyncio.Transport] | None = None,
    ) -> None:
        no_waiter: Any = None
        super().__init__(
            loop,
            app_protocol,
            context,
            no_waiter,
            server_side=True,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S,
        )
        self._prefix = bytearray()
        self._on_failure = on_failure
        self._failed = False
        self._raw: asyncio.Transport | None = None
        self._draining = draining if draining is not None else set()  # the site closes these when it stops

    @property
    def _me(self) -> Any:
        """``self`` for the private ``SSLProtocol`` attributes typeshed does not describe."""
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._raw = transport  # type: ignore[assignment]
        super().connection_made(transport)

    def buffer_updated(self, nbytes: int) -> None:
        if (
            self._state is _WRAPPED
            and not self._app_reading_paused
            and not self._ssl_reading_paused
            and not self._write_backlog
        ):
            self._read_wrapped(nbytes)
            return
        if self._failed:
            return  # draining after a failure
        if self._me._state == sslproto.SSLProtocolState.DO_HANDSHAKE and len(self._prefix) < PREFIX_LIMIT:
            self._prefix += self._me._ssl_buffer_view[:nbytes]
            if looks_like_http(bytes(self._prefix[:4])):
                self._plain_http()
                return
        super().buffer_updated(nbytes)

    def _read_wrapped(self, nbytes: int) -> None:
        """asyncio's read path for an established connection, without its per-call overhead: the usual
        record (one request) goes straight to the app; anything else continues in asyncio's own loop."""
        self._incoming.write(self._ssl_buffer_view[:nbytes])
        tls = self._sslobj._sslobj  # type: ignore[attr-defined]  # the C object: SSLObject's methods only wrap it
        try:
            chunk = tls.read(self.max_size)
        except _AGAIN:
            chunk = None  # part of a record: wait for the rest
        except Exception as exc:
            self._fatal_error(exc, "Fatal error on SSL protocol")
            return
        try:
            if chunk:
                self._app_protocol.data_received(chunk)  # type: ignore[attr-defined]
                if not self._incoming.pending and not tls.pending():  # the usual case: done
                    if self._write_backlog:
                        self._me._do_write()
                    elif self._outgoing.pending:
                        self._me._process_outgoing()
                    return
            elif chunk is not None:  # close_notify: what asyncio does with it
                self._me._call_eof_received()
                self._start_shutdown()
            self._me._do_read()  # more records, part of one, or the shutdown: asyncio's own loop
        except Exception as exc:
            self._fatal_error(exc, "Fatal error on SSL protocol")

    def _write_appdata(self, list_of_data: Any) -> None:
        """asyncio's write path for an established connection, without its per-call overhead; anything
        unusual (a partial write, paused writing, a backlog) goes through asyncio's own path."""
        if (
            self._state is not _WRAPPED
            or self._write_backlog
            or self._ssl_writing_paused
            or self._app_writing_paused
        ):
            super()._write_appdata(list_of_data)
            return
        pieces = list(list_of_data)
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)  # head and body: one TLS record
        try:
            count = self._sslobj._sslobj.write(data)  # type: ignore[attr-defined]  # the C object
        except _AGAIN:
            count = 0
        except Exception as exc:
            self._fatal_error(exc, "Fatal error on SSL protocol")
            return
        if count < len(data):
            super()._write_appdata([data[count:]])
            return
        encrypted = self._outgoing.read()
        if encrypted and self._raw is not None:
            self._raw.write(encrypted)

    def _plain_http(self) -> None:
        self._fail(PLAIN_HTTP_REASON, "plain HTTP request on the TLS port", None, PLAIN_HTTP_REPLY)

    def _on_handshake_complete(self, handshake_exc: BaseException | None) -> None:
        if handshake_exc is None:
            self._prefix = bytearray()
            super()._on_handshake_complete(None)
            return
        if isinstance(handshake_exc, type):  # asyncio passes the class on EOF during the handshake
            if not self._prefix:  # a port probe: connected and left without a word
                super()._on_handshake_complete(handshake_exc)
                return
            handshake_exc = handshake_exc("the client closed the connection during the handshake")
        self._handshake_failed(handshake_exc)

    def _check_handshake_timeout(self) -> None:
        if self._me._state == sslproto.SSLProtocolState.DO_HANDSHAKE and self._prefix:
            self._handshake_failed(TimeoutError(f"no complete handshake in {HANDSHAKE_TIMEOUT_S:g}s"))
            return
        super()._check_handshake_timeout()

    def _handshake_failed(self, exc: BaseException) -> None:
        stream = bytes(self._prefix)
        hello, cert = parse_client_hello(stream), client_certificate(stream)
        alert = self._me._outgoing.read()  # the alert OpenSSL wrote (asyncio would drop it)
        self._fail(explain(exc, hello, cert), str(exc), exc, alert, hello, cert)

    def _fail(
        self,
        reason: str,
        error: str,
        exc: BaseException | None,
        reply: bytes,
        hello: ClientHello | None = None,
        cert: ClientCert | None = None,
    ) -> None:
        self._failed = True
        me = self._me
        if me._handshake_timeout_handle is not None:
            me._handshake_timeout_handle.cancel()
            me._handshake_timeout_handle = None
        me._set_state(sslproto.SSLProtocolState.UNWRAPPED)
        presented = None if exc is None else cert_presented(exc, cert)
        self._on_failure(HandshakeFailure(_peer(self._raw), hello, presented, cert, reason, error))
        raw = self._raw
        if raw is None or raw.is_closing():
            return
        if reply:
            raw.write(reply)
        with contextlib.suppress(OSError, RuntimeError, NotImplementedError):
            raw.write_eof()
        self._draining.add(raw)
        self._loop.call_later(DRAIN_S, self._close_raw)

    def _close_raw(self) -> None:
        raw = self._raw
        if raw is not None:
            self._draining.discard(raw)
            raw.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._failed and self._prefix and self._me._state == sslproto.SSLProtocolState.DO_HANDSHAKE:
            self._handshake_failed(ConnectionResetError("the connection was reset during the handshake"))
        super().connection_lost(exc)

    def eof_received(self) -> None:
        if self._failed:
            self._close_raw()
            return
        super().eof_received()


class WatchedTlsSite(web.TCPSite):
    """``TCPSite`` whose connections go through ``WatchedTls`` (the TLS context is ours, not the loop's)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        context: ssl.SSLContext,
        on_failure: OnFailure,
    ) -> None:
        super().__init__(runner, host, port, ssl_context=context, reuse_address=True)
        self._context, self._report = context, on_failure
        self._draining: set[asyncio.Transport] = set()

    async def start(self) -> None:
        self._runner._reg_site(self)
        loop = asyncio.get_running_loop()
        server: Any = self._runner.server
        assert server is not None

        def factory() -> WatchedTls:
            return WatchedTls(loop, server(), self._context, self._report, self._draining)

        self._server = await loop.create_server(
            factory, self._host, self._port, backlog=self._backlog, reuse_address=True
        )
        self._bound_port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await super().stop()
        while self._draining:  # failed handshakes still draining: close them with the site
            self._draining.pop().close()
