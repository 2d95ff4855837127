"""The webhook listener: one aiohttp handler for every path (HTTPS, optional/required mTLS, ALB header mode).

Per request: read the body, look up the connection's client-certificate verdict (computed once per
connection), check the API key and signatures, parse the body once, apply the path's fault script, answer
like the reference mock, and append one journal record. Nothing here blocks and nothing is parsed twice.
Limits (``mock_webhook.limits``): head and body read deadlines, idle timeout, connection cap; a body over
the cap is journaled truncated. In ALB mode a request carrying ``X-Amzn-Mtls-Clientcert`` more than once is
refused (400): which copy would a real ALB have set?
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import time
from typing import Any, NamedTuple

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from mock_webhook.clientcert import ALB_CERT_HEADER, AlbCertVerifier, TlsVerdict
from mock_webhook.faults import FaultAction
from mock_webhook.limits import GuardedHandler
from mock_webhook.record import kept_body, new_record, pack_headers
from mock_webhook.reference import (
    RECEIVED,
    UNAUTHORIZED,
    BodyFacts,
    inspect_body,
    message_body,
    reference_response,
)
from mock_webhook.state import MockState
from mock_webhook.verify import Credentials, SignatureVerdict, api_key_valid, verify_signatures
from mock_webhook.wire import json_response

JSON_HEADERS = {"Content-Type": "application/json"}
INTERNAL_ERROR = message_body("Internal server error")
DUPLICATE_ALB_HEADER = message_body(f"{ALB_CERT_HEADER} must appear at most once")
_SLOW_CHUNKS = 10


class Reply(NamedTuple):
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def decide(
    action: FaultAction | None,
    key_valid: bool | None,
    signature: SignatureVerdict,
    creds: Credentials,
    facts: BodyFacts,
    now_ms: float,
) -> Reply:
    """Pure: a scripted status wins; then API key / enforced signature (401); then the reference rules."""
    if action is not None and action.status is not None:
        return Reply(action.status, action.body or b"", action.headers)
    if key_valid is False or (creds.enforce and signature.valid is not True):
        return Reply(401, UNAUTHORIZED)
    status, body = reference_response(facts, now_ms)
    return Reply(status, body)


class WebhookHandler:
    """The low-level aiohttp handler (no router: every path is a callback path)."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self.journal = state.journal

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        """One coroutine per request (no inner frames on the usual path: this runs ~15,000 times a second)."""
        protocol = request.protocol
        guarded = protocol if isinstance(protocol, GuardedHandler) else None
        if guarded is not None:
            guarded.in_request = True  # GuardedHandler.head_received, inlined
            guarded.head_deadline = 0.0
        try:
            started_s = time.monotonic()
            now_s = time.time()
            state = self.state
            body = _body_at_hand(request)
            if body is None:
                body = await _read_body(request, guarded, state.settings.body_timeout_s)
            if body is None:
                return web.Response(status=408)  # not sent: the connection is gone
            path = sys.intern(request.path)  # one string per path across the journal's records
            headers = request.headers
            conn = state.connection(protocol, request.transport)
            creds = state.credentials_for(path)
            key_valid = api_key_valid(creds, headers.get(creds.api_key_header))
            signature = verify_signatures(creds, headers, body, now_s)
            facts = inspect_body(body)
            action = state.next_fault(path, started_s)
            if state.alb is None:
                tls, duplicate_alb = conn.tls, False
            else:
                tls, duplicate_alb = _alb_verdict(state.alb, headers)
            if action is None and not duplicate_alb and _plain_ok(key_valid, signature, creds, facts):
                reply = OK_REPLY  # decide()'s answer for a request that passes every check
            else:
                if action is not None and action.delay_s > 0:
                    await asyncio.sleep(action.delay_s)
                reply = decide(action, key_valid, signature, creds, facts, now_s * 1000)
                if duplicate_alb:
                    reply, action = Reply(400, DUPLICATE_ALB_HEADER), None
            reset = action is not None and action.reset
            cap = state.settings.body_cap_bytes
            kept, length, digest = (body, len(body), None) if len(body) <= cap else kept_body(body, cap)
            journal = self.journal
            journal.append(
                new_record(
                    journal.next_seq(),
                    now_s * 1000,
                    path,
                    request.method,
                    pack_headers(request.raw_headers),
                    kept,
                    None if digest is None else (facts.message_id, facts.correlation_id),
                    facts.callback_type,
                    conn.connection_id,
                    tls,
                    key_valid,
                    signature,
                    None if reset else reply.status,
                    None if reset else reply.body,
                    (time.monotonic() - started_s) * 1000,
                    None if action is None else action.label + (" reset" if reset else ""),
                    creds.api_key_header,  # lower-case already
                    -1 if digest is None else length,
                    digest,
                    None if action is None else action.detail,
                )
            )
            if action is None:
                return json_response(request, reply.status, reply.body)
            return await _faulty_response(request, reply, action)
        finally:
            if guarded is not None:
                guarded.in_request = False  # GuardedHandler.request_done, inlined


OK_REPLY = Reply(200, RECEIVED)


def _plain_ok(
    key_valid: bool | None, signature: SignatureVerdict, creds: Credentials, facts: BodyFacts
) -> bool:
    """True when ``decide`` (no fault step) answers 200 ``Callback received``: no key or signature
    failure, a valid body, no ``force-`` messageId."""
    if (
        key_valid is False
        or (creds.enforce and signature.valid is not True)
        or facts.error_status is not None
    ):
        return False
    message_id = facts.message_id
    return message_id is None or not message_id.startswith("force-")


def _alb_verdict(alb: AlbCertVerifier, headers: Any) -> tuple[TlsVerdict, bool]:
    """ALB mode: the verdict on the forwarded certificate header (refused when it appears twice)."""
    alb_headers = headers.getall(ALB_CERT_HEADER, [])
    if len(alb_headers) > 1:
        detail = f"{ALB_CERT_HEADER} appeared {len(alb_headers)} times; refused"
        return TlsVerdict(True, False, detail=detail), True
    return alb.verdict(alb_headers[0] if alb_headers else None), False


def _body_at_hand(request: web.BaseRequest) -> bytes | None:
    """The body when it came with the head (the usual case: no timer, no read loop), else None."""
    content = request.content
    limit = request.client_max_size
    if content.is_eof() and (not limit or content.total_bytes <= limit):
        return content.read_nowait()
    return None


async def _read_body(
    request: web.BaseRequest, guarded: GuardedHandler | None, timeout_s: float
) -> bytes | None:
    """The whole body, or None when it did not arrive within ``timeout_s`` (the connection is closed).
    A body over aiohttp's size limit raises its own 413."""
    if request.content.is_eof():
        return await request.read()
    try:
        async with asyncio.timeout(timeout_s):
            return await request.read()
    except TimeoutError:
        if guarded is not None:
            guarded.body_too_slow()
        return None


class WebhookServer(web.Server):
    """aiohttp's low-level server plus connection bookkeeping (client-certificate verdict per connection)."""

    def __init__(self, state: MockState) -> None:
        super().__init__(
            WebhookHandler(state), access_log=None, keepalive_timeout=state.settings.idle_timeout_s
        )
        self.state = state

    def __call__(self) -> RequestHandler:
        return GuardedHandler(self, state=self.state, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self.state.connection_opened(handler, transport)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self.state.connection_closed(handler)


async def _faulty_response(request: web.BaseRequest, reply: Reply, action: FaultAction) -> web.StreamResponse:
    if action.reset:
        return _reset_connection(request)
    if action.slow_body_s > 0:
        return await _slow_response(request, reply, action.slow_body_s)
    response = web.Response(body=reply.body, status=reply.status, content_type="application/json")
    for name, value in reply.headers:
        response.headers[name] = value
    return response


def _reset_connection(request: web.BaseRequest) -> web.StreamResponse:
    """Abort with a TCP RST (SO_LINGER 0) and no response bytes."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=500)  # never sent: the transport is gone


async def _slow_response(request: web.BaseRequest, reply: Reply, duration_s: float) -> web.StreamResponse:
    """Send headers at once, then the body in pieces spread over ``duration_s``."""
    response = web.StreamResponse(status=reply.status, headers=JSON_HEADERS)
    for name, value in reply.headers:
        response.headers[name] = value
    response.content_length = len(reply.body)
    await response.prepare(request)
    size = max(1, -(-len(reply.body) // _SLOW_CHUNKS))
    chunks = [reply.body[i : i + size] for i in range(0, len(reply.body), size)] or [b""]
    for chunk in chunks:
        await asyncio.sleep(duration_s / len(chunks))
        await response.write(chunk)
    await response.write_eof()
    return response
