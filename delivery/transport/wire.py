"""HTTP/1.1 exchanges driven directly on keep-alive TLS connections that aiohttp opened (the hot path).

aiohttp's connector still opens every connection (DNS, egress policy, TCP, TLS with our context, SPKI
pinning: ``delivery.transport.pinning``), so everything that can go wrong before the first byte keeps its
mapping. Once open, the connection is driven here: the request is written as one buffer (request line,
``Host``, the signed headers, ``Content-Length``, the exact body) and one response is parsed from what
arrives (``parse_response``). This skips aiohttp's per-request machinery (request/response objects, header
multidicts, payload writers, a task per request), which costs about twice what the exchange itself does.

The parser accepts what an HTTP/1.1 server may answer to a POST: interim 1xx answers (skipped), a body
framed by ``Content-Length``, ``chunked``, or the end of the connection, and none for 204/304. Heads are
bounded (``MAX_HEAD_BYTES``) and a body is read only up to ``limit_bytes``: a connection whose answer was not
read to its end, that said ``Connection: close``, or that spoke HTTP/1.0 is closed, never reused. Anything
malformed raises ``WireProtocolError`` (``EPROTO``) and closes the connection.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Any

MAX_HEAD_BYTES = 65_536
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) (\d{3})(?: [^\r\n]*)?")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:;[^\r\n]*)?")
_FORBIDDEN = re.compile(r"[\r\n\x00]")
_DIGITS = re.compile(r"[0-9]{1,18}")


def _version() -> str:
    try:
        return metadata.version("enhanced-callbacks")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0"


# who is calling, for the receiver's logs and firewalls (many refuse requests without one); a target's own
# ``User-Agent`` header (e.g. its API-key header) replaces it
USER_AGENT = "enhanced-callbacks/" + _version()


class WireProtocolError(Exception):
    """The server's answer is not valid HTTP/1.1 (or is beyond our bounds)."""


class ServerDisconnected(ConnectionResetError):
    """The server closed the connection before its answer was complete."""


@dataclass(frozen=True, slots=True)
class WireResponse:
    status: int
    retry_after: str | None
    kept: bytes  # the first ``keep_bytes`` of the body
    complete: bool  # the whole answer was read: the connection may carry the next request
    consumed: int  # bytes of the buffer this answer used


def request_head(
    method: str, target: str, host: str, headers: tuple[tuple[str, str], ...], length: int
) -> bytes:
    """Request line and headers; a CR, LF or NUL in any of them is refused (no header injection)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    if not any(name.lower() == "user-agent" for name, _ in headers):
        lines.append(f"User-Agent: {USER_AGENT}")
    for name, value in headers:
        if _FORBIDDEN.search(name) or _FORBIDDEN.search(value) or ":" in name or not name.strip():
            raise ValueError(f"invalid header {name!r}")
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {length}")
    for text in lines[:2]:
        if _FORBIDDEN.search(text):
            raise ValueError("invalid request target")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _head(buffer: bytearray, start: int) -> tuple[int, bool, dict[str, str], int] | None:
    """(status, HTTP/1.1, headers with lower-case names, offset after the head) or None if incomplete."""
    end = buffer.find(b"\r\n\r\n", start)
    if end < 0:
        if len(buffer) - start > MAX_HEAD_BYTES:
            raise WireProtocolError("response head too large")
        return None
    if end - start > MAX_HEAD_BYTES:
        raise WireProtocolError("response head too large")
    lines = bytes(buffer[start:end]).split(b"\r\n")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise WireProtocolError(f"bad status line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise WireProtocolError(f"bad header line {line[:80]!r}")
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        if key in ("content-length", "transfer-encoding") and headers.get(key, text) != text:
            raise WireProtocolError(f"conflicting {key} headers")
        headers.setdefault(key, text)
    return int(match.group(2)), match.group(1) == b"1", headers, end + 4


def _chunked(buffer: bytearray, start: int, limit: int) -> tuple[bytes, int, bool] | None:
    """(body, offset after it, whole body read) or None if more bytes are needed."""
    body = bytearray()
    pos = start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return (bytes(body), pos, False) if len(body) >= limit else None
        match = _CHUNK_SIZE.fullmatch(bytes(buffer[pos:line_end]).strip())
        if match is None:
            raise WireProtocolError("bad chunk size line")
        size = int(match.group(1), 16)
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            if buffer[line_end : line_end + 4] == b"\r\n\r\n":
                return bytes(body), line_end + 4, True
            if trailer_end < 0:
                return None
            return bytes(body), trailer_end + 4, True
        data_start = line_end + 2
        if len(buffer) < data_start + size + 2:
            have = buffer[data_start : data_start + size]
            return (bytes(body + have), len(buffer), False) if len(body) + len(have) >= limit else None
        if buffer[data_start + size : data_start + size + 2] != b"\r\n":
            raise WireProtocolError("chunk not followed by CRLF")
        body += buffer[data_start : data_start + size]
        pos = data_start + size + 2
        if len(body) >= limit:
            return bytes(body), pos, False


def parse_response(
    buffer: bytearray, *, keep_bytes: int, limit_bytes: int, at_eof: bool
) -> WireResponse | None:
    """One final answer from the start of ``buffer``, or None while more bytes are needed."""
    head = _final_head(buffer, at_eof)
    if head is None:
        return None
    status, http11, headers, body_start = head
    reusable = http11 and "close" not in headers.get("connection", "").lower()
    if "transfer-encoding" in headers and "content-length" in headers:
        reusable = (
            False  # RFC 9112 6.3: chunked wins, and a client closes the connection after such an answer
        )
    retry_after = headers.get("retry-after")
    if status in (204, 304):
        return WireResponse(status, retry_after, b"", reusable, body_start)
    body = _body(buffer, headers, body_start, keep_bytes, limit_bytes)
    if body is None:
        if at_eof and ("transfer-encoding" in headers or "content-length" in headers):
            raise ServerDisconnected("Server disconnected")
        if not at_eof:
            return None
        body = bytes(buffer[body_start : body_start + keep_bytes]), len(buffer), False  # ended by the close
    kept, end, whole = body
    return WireResponse(status, retry_after, kept[:keep_bytes], whole and reusable, end)


def _final_head(buffer: bytearray, at_eof: bool) -> tuple[int, bool, dict[str, str], int] | None:
    start = 0
    while True:
        head = _head(buffer, start)
        if head is None:
            if at_eof:
                raise ServerDisconnected("Server disconnected")
            return None
        status = head[0]
        if status == 101:
            raise WireProtocolError("unexpected 101 Switching Protocols")
        if status >= 200:
            return head
        start = head[3]  # an interim answer (100 Continue, 103 Early Hints): the real one follows


def _body(
    buffer: bytearray, headers: dict[str, str], start: int, keep_bytes: int, limit_bytes: int
) -> tuple[bytes, int, bool] | None:
    """(kept bytes, offset after what was read, whole body read), or None while more bytes are needed
    (an unframed body: until the connection ends or ``limit_bytes`` arrived)."""
    encoding = headers.get("transfer-encoding", "").lower()
    if encoding:
        if encoding.rsplit(",", 1)[-1].strip() != "chunked":
            raise WireProtocolError(f"unsupported transfer-encoding {encoding!r}")
        return _chunked(buffer, start, limit_bytes)
    have = len(buffer) - start
    length_text = headers.get("content-length")
    if length_text is None:
        return None if have < limit_bytes else (bytes(buffer[start : start + keep_bytes]), len(buffer), False)
    if not _DIGITS.fullmatch(length_text):  # str.isdigit() would take "²" (latin-1) and int() then fail
        raise WireProtocolError(f"bad content-length {length_text!r}")
    length = int(length_text)
    if have >= length:
        return bytes(buffer[start : start + min(length, keep_bytes)]), start + length, True
    if have >= limit_bytes:  # longer than we read: the connection is closed after
        return bytes(buffer[start : start + keep_bytes]), len(buffer), False
    return None


class WireConnection(asyncio.Protocol):
    """One open TLS connection taken over from aiohttp (``handle``: its aiohttp ``Connection``, closed with
    it so the connector's limit accounting stays right)."""

    def __init__(self, handle: Any, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.handle = handle
        self.transport = transport
        self.loop = loop
        self.buffer = bytearray()
        self.closed = False
        self.idle_since_s = loop.time()
        self.response_started = False
        self._waiter: asyncio.Future[WireResponse] | None = None
        self._keep = 0
        self._limit = 0
        self._eof = False
        self.lost: asyncio.Future[None] = loop.create_future()  # done once the transport is gone
        transport.set_protocol(self)

    @property
    def usable(self) -> bool:
        return not self.closed and not self.buffer and not self.transport.is_closing()

    async def exchange(self, data: bytes, *, keep_bytes: int, limit_bytes: int) -> WireResponse:
        self.response_started = False
        self._keep, self._limit = keep_bytes, limit_bytes
        waiter: asyncio.Future[WireResponse] = self.loop.create_future()
        self._waiter = waiter
        try:
            self.transport.write(data)
            if self.buffer or self._eof:  # bytes that came before the request (a stale connection)
                self._parse()
            return await waiter
        finally:
            self._waiter = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self._waiter is not None:
            self._parse()

    def eof_received(self) -> bool:
        self._eof = True
        if self._waiter is not None:
            self._parse()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._eof = True
        if not self.lost.done():
            self.lost.set_result(None)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            try:
                self._parse()
            finally:
                if not waiter.done():
                    waiter.set_exception(exc or ServerDisconnected("Server disconnected"))
        self.close()

    def close(self) -> None:
        self.closed = True
        handle, self.handle = self.handle, None
        if handle is not None:
            handle.close()  # closes the transport and frees the connector's slot
        self.transport.close()

    def _parse(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            if not self.response_started and self.buffer.find(b"\r\n\r\n") >= 0:
                self.response_started = True
            response = parse_response(
                self.buffer, keep_bytes=self._keep, limit_bytes=self._limit, at_eof=self._eof
            )
        except (WireProtocolError, ServerDisconnected) as exc:
            waiter.set_exception(exc)
            return
        except Exception as exc:  # a parser slip on hostile bytes is that server's protocol error, not ours
            waiter.set_exception(WireProtocolError(f"unparseable answer ({type(exc).__name__}: {exc})"))
            return
        if response is not None:
            del self.buffer[: response.consumed]
            waiter.set_result(response)


__all__ = [
    "MAX_HEAD_BYTES",
    "ServerDisconnected",
    "WireConnection",
    "WireProtocolError",
    "WireResponse",
    "parse_response",
    "request_head",
]
