"""The usual answer (HTTP/1.1 keep-alive, a JSON body) written as one prebuilt piece of bytes.

aiohttp's ``Response`` builds a header dictionary, works out keep-alive, length and chunking, serialises
the head and writes head and body separately: most of a request's cost in aiohttp's own Python. For
the case that is nearly every request (HTTP/1.1, keep-alive, not HEAD, a status with a body) the mock
writes exactly the bytes aiohttp would have written (same headers, same order, same ``Date`` and
``Server``) in one go; everything else goes through ``web.Response``.
"""

from __future__ import annotations

from collections.abc import Generator

from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11
from aiohttp.web_response import REASON_PHRASES
from multidict import CIMultiDict, CIMultiDictProxy

_TAIL = f"\r\nServer: {SERVER_SOFTWARE}\r\n\r\n".encode()
_HEADS: dict[int, bytes] = {}  # status -> the head up to the Content-Length value
_NO_HEADERS = CIMultiDictProxy(CIMultiDict[str]())
_new_object = object.__new__
_NO_BODY_STATUSES = frozenset({204, 304})  # aiohttp sends these without a body (and without a length)


def _head(status: int, reason: str) -> bytes:
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: ".encode()
    if len(_HEADS) < 1000:  # statuses are 100-999: bounded anyway
        _HEADS[status] = head
    return head


class _Done:
    """An awaitable that is already complete: ``await DONE`` is None without creating a coroutine."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        return iter(())  # type: ignore[return-value]


DONE = _Done()


class PrebuiltResponse(web.StreamResponse):
    """A JSON response whose head and body go out in one write (HTTP/1.1 keep-alive only)."""

    _headers = _NO_HEADERS  # type: ignore[assignment]  # read-only and shared: the head goes out prebuilt

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status=status)
        self._payload = body

    @classmethod
    def quick(cls, status: int, body: bytes) -> PrebuiltResponse:
        """The same response without ``StreamResponse.__init__`` (its header dictionary and status checks):
        what aiohttp reads of it afterwards (``keep_alive``, ``status``, ``reason``) is set here."""
        response = _new_object(cls)
        response._state = {}
        response._status = status
        response._reason = REASON_PHRASES.get(status, "")
        response._payload = body
        return response

    def prepare(self, request: web.BaseRequest) -> _Done:  # type: ignore[override]
        """Writes everything now; returns an awaitable that is already done (no coroutine per request)."""
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("Cannot write to closing transport")
        self._req, self._keep_alive, self._eof_sent = request, True, True
        body = self._payload
        head = _HEADS.get(self.status) or _head(self.status, self.reason)
        length_date = b"%d\r\nDate: %s" % (len(body), rfc822_formatted_time().encode())
        transport.write(b"".join((head, length_date, _TAIL, body)))
        return DONE

    def write_eof(self, data: bytes = b"") -> _Done:  # type: ignore[override]
        return DONE  # everything went out in prepare


def json_response(request: web.BaseRequest, status: int, body: bytes) -> web.StreamResponse:
    """The prebuilt answer when the request allows it, else aiohttp's own ``Response``."""
    if (
        request.version == HttpVersion11
        and request.keep_alive
        and status >= 200
        and status not in _NO_BODY_STATUSES
        and request.method not in ("HEAD", "CONNECT")
    ):
        return PrebuiltResponse.quick(status, body)
    return web.Response(body=body, status=status, content_type="application/json")
