"""HTTPS delivery over pooled keep-alive connections (SPEC B.3, D, G.3, P3, P4, P11).

``await HttpsTransport(tls).send(request)`` posts ``request.body`` (the exact signed bytes) with
``request.headers`` and returns an :class:`HttpResult` for any HTTP answer, or a :class:`TransportFailure`
(never an exception) when there is none: TLS verification, pinning, refused, reset, DNS, timeouts.

Pools: one ``aiohttp`` session per (TLS identity, material version, pin set); inside it, keep-alive
connections per origin. A pinned target never shares a pool with an unpinned one, and every new connection
of a pinned pool has its leaf SPKI checked before the request is written (``delivery.transport.pinning``).
Each attempt has a total deadline (``timeout_s``) and a connect+handshake timeout (``connect_timeout_s``);
redirects are never followed; the response body is read only as far as needed (an excerpt for non-2xx,
a bounded drain so the connection can be reused). A POST whose *reused* connection turns out to be closed
by the server before any response byte is sent once more on a fresh connection (keep-alive race).

Egress (SPEC P15): ``egress`` (default: deny every non-public address) is checked on the URL before
anything else (userinfo, IP literals, numeric forms, loopback names) and by the connector on every new
connection after DNS resolution; a refusal is a permanent ``EGRESS_DENIED`` failure and sends no byte.

Requests travel on connections the pool's connector opened (so the checks above apply to each) and are
then driven directly (``delivery.transport.wire``): one write, one parsed answer, no aiohttp request objects.

Missing or unreadable TLS material raises :class:`~delivery.transport.material.TlsMaterialError` (not a
network problem: the caller requeues, SPEC P9).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp.abc import AbstractResolver

from delivery.models import HttpResult, OutgoingRequest, TlsIdentity, TransportFailure
from delivery.transport.contexts import ContextEntry, SslContexts
from delivery.transport.egress import EGRESS_DENIED, EgressPolicy
from delivery.transport.material import MISSING_S3_MESSAGE, TlsMaterial, TlsMaterialError
from delivery.transport.pinning import CONNECTION_NOTE, ConnectionNote, PeerTls, PinnedConnector
from delivery.transport.pool import WirePool
from delivery.transport.provider import TlsProvider
from delivery.transport.tls_errors import Phase, failure, failure_from_exception
from delivery.transport.wire import WireConnection, request_head

EXCERPT_BYTES = 4096
DRAIN_LIMIT_BYTES = 65_536
_NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)
PoolKey = tuple[TlsIdentity, int, tuple[str, ...]]
FastKey = tuple[bool, tuple[str, ...]]


class HttpsTransport:
    """Pooled HTTPS client; ``tls`` supplies client certificates/CA, ``extra_ca_pem`` extra trust."""

    def __init__(
        self,
        tls: TlsProvider | None = None,
        *,
        extra_ca_pem: str | None = None,
        max_connections_per_pool: int = 100,
        max_connections_per_origin: int = 0,
        keepalive_timeout_s: float = 15.0,
        excerpt_bytes: int = EXCERPT_BYTES,
        egress: EgressPolicy | None = None,
        resolver: AbstractResolver | None = None,
        keep_peer_tls: bool = False,
    ) -> None:
        self._resolver = resolver
        self._tls = tls
        self._egress = egress if egress is not None else EgressPolicy()
        self._url_problems: dict[str, str | None] = {}
        self._keep_peer = keep_peer_tls
        replace = bool(tls and tls.settings.ca_replaces_system_trust)
        self._contexts = SslContexts(extra_ca_pem=extra_ca_pem or "", replace_system_trust=replace)
        self._limit = max_connections_per_pool
        self._limit_per_origin = max_connections_per_origin
        self._keepalive_timeout_s = keepalive_timeout_s
        self._excerpt_bytes = excerpt_bytes
        self._sessions: dict[PoolKey, aiohttp.ClientSession] = {}
        self._fast: dict[FastKey, tuple[TlsMaterial | None, aiohttp.ClientSession]] = {}
        self._retired: list[aiohttp.ClientSession] = []
        self._timeouts: dict[tuple[float, float], aiohttp.ClientTimeout] = {}
        self._wire = WirePool(keepalive_timeout_s)
        self._has_client_source = bool(tls and tls.settings.has_client_source)
        self._has_ca_source = bool(tls and tls.settings.has_ca_source)
        self._closed = False

    async def send(self, request: OutgoingRequest) -> HttpResult | TransportFailure:
        started_s = time.perf_counter()
        if not request.url.startswith(("https://", "HTTPS://")):
            message = f"only https:// endpoints are allowed (API keys are never sent in clear): {request.url}"
            return failure("EINVALIDURL", message, 0.0)
        problem = self._url_problem(request.url)
        if problem is not None:
            return failure(EGRESS_DENIED, f"egress denied: {problem}", 0.0)
        session = self._cached_session(request) or await self._session_for(request)
        result, phase = await self._attempt(session, request, started_s, request.timeout_s)
        if phase is not None and _stale_connection(result, phase):
            remaining_s = request.timeout_s - (time.perf_counter() - started_s)
            if remaining_s > 0:
                result, _ = await self._attempt(session, request, started_s, remaining_s)
        return result

    def _url_problem(self, url: str) -> str | None:
        if url in self._url_problems:
            return self._url_problems[url]
        problem = self._egress.url_problem(url)
        if len(self._url_problems) < 4096:
            self._url_problems[url] = problem
        return problem

    async def close(self) -> None:
        self._closed = True
        await self._wire.close()
        sessions = [*self._sessions.values(), *self._retired]
        self._sessions.clear()
        self._fast.clear()
        self._retired.clear()
        for session in sessions:
            await session.close()

    def peer_tls(self) -> PeerTls | None:
        """What the last new connection negotiated (only with ``keep_peer_tls=True``; one pool in use)."""
        for session in self._sessions.values():
            connector = session.connector
            if isinstance(connector, PinnedConnector) and connector.last_peer is not None:
                return connector.last_peer
        return None

    @property
    def pool_count(self) -> int:
        return len(self._sessions)

    def _cached_session(self, request: OutgoingRequest) -> aiohttp.ClientSession | None:
        """The hot path: the pool used last time for this (mtls, pins), if its material is still current."""
        hit = self._fast.get((request.mtls, request.spki_pins))
        if hit is None or self._closed:
            return None
        if self._tls is not None and (request.mtls or self._has_ca_source):
            return hit[1] if hit[0] is not None and hit[0] is self._tls.fresh_material() else None
        return hit[1]

    async def _session_for(self, request: OutgoingRequest) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("HttpsTransport is closed")
        material = await self._material_for(request)
        fast_key: FastKey = (request.mtls, request.spki_pins)
        entry = self._contexts.get(material, present_client_cert=request.mtls)
        pins = tuple(sorted({pin.strip() for pin in request.spki_pins if pin.strip()}))
        if request.spki_pins and not pins:
            pins = ("<empty pin>",)  # pinning was asked for: fail closed rather than skip the check
        key: PoolKey = (entry.identity, entry.version, pins)
        session = self._sessions.get(key)
        if session is None:
            self._retire_older(entry)
            session = self._sessions[key] = self._new_session(entry, pins)
        self._fast[fast_key] = (material, session)
        return session

    async def _material_for(self, request: OutgoingRequest) -> TlsMaterial | None:
        if request.mtls and not self._has_client_source:
            raise TlsMaterialError(
                f"{MISSING_S3_MESSAGE} (or MTLS_CERT_SECRET_ARN, or MTLS_CERT_FILE and MTLS_KEY_FILE): "
                f"target '{request.target_id}' has mtls.enabled"
            )
        if self._tls is not None and (request.mtls or self._has_ca_source):
            return await self._tls.material()
        return None

    def _retire_older(self, entry: ContextEntry) -> None:
        """Sessions built on an older context of the same identity: stop using them (closed at close())."""
        for key in [k for k in self._sessions if k[0] == entry.identity and k[1] != entry.version]:
            self._retired.append(self._sessions.pop(key))
        self._wire.retire(self._retired)
        self._fast = {k: v for k, v in self._fast.items() if v[1] not in self._retired}

    def _new_session(self, entry: ContextEntry, pins: tuple[str, ...]) -> aiohttp.ClientSession:
        connector = PinnedConnector(
            spki_pins=pins,
            egress=self._egress,
            resolver=self._resolver,
            keep_peer=self._keep_peer,
            ssl=entry.context,
            limit=self._limit,
            limit_per_host=self._limit_per_origin,
            keepalive_timeout=self._keepalive_timeout_s,
        )
        return aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
        )

    def _timeout(self, total_s: float, connect_s: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get((total_s, connect_s))
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=total_s, sock_connect=connect_s)
            if len(self._timeouts) < 256:
                self._timeouts[(total_s, connect_s)] = timeout
        return timeout

    async def _attempt(
        self, session: aiohttp.ClientSession, request: OutgoingRequest, started_s: float, budget_s: float
    ) -> tuple[HttpResult | TransportFailure, Phase | None]:
        """One POST; the phase is returned only with a failure (it says whether a retry can help)."""
        try:
            endpoint = self._wire.endpoint(request.url)
            head = request_head(
                "POST", endpoint.target, endpoint.host_header, request.headers, len(request.body)
            )
        except ValueError as exc:  # a URL or header the request line cannot carry: nothing was sent
            return failure("EINVALIDURL", f"invalid URL: {exc}", _elapsed_ms(started_s)), None
        note = ConnectionNote()
        token = CONNECTION_NOTE.set(note)
        conn: WireConnection | None = None
        started = False
        try:
            async with asyncio.timeout(budget_s):
                conn = self._wire.checkout(session, endpoint.origin)
                if conn is None:
                    bounds = self._timeout(budget_s, request.connect_timeout_s)
                    conn = await self._wire.connect(session, endpoint, bounds)
                response = await conn.exchange(
                    head + request.body, keep_bytes=self._excerpt_bytes, limit_bytes=DRAIN_LIMIT_BYTES
                )
            started = True
            reusable = response.complete and not self._closed and session not in self._retired
            self._wire.checkin(session, endpoint.origin, conn, reusable=reusable)
            kept = response.kept if not 200 <= response.status < 300 else b""
            result = HttpResult(
                status=response.status,
                retry_after=response.retry_after,
                body_excerpt=kept.decode("utf-8", "replace") if kept else "",
                elapsed_ms=_elapsed_ms(started_s),
                new_connection=note.new_connection,
            )
            return result, None
        except Exception as exc:  # network, TLS, pinning, egress, timeouts, malformed answers
            self._wire.discard(conn)
            started = started or (conn is not None and conn.response_started)
            phase = Phase(note.new_connection, started, request.connect_timeout_s, request.timeout_s)
            return failure_from_exception(exc, phase, _elapsed_ms(started_s)), phase
        except BaseException:  # cancelled mid-exchange: the connection's state is unknown
            self._wire.discard(conn)
            raise
        finally:
            CONNECTION_NOTE.reset(token)


def _stale_connection(result: HttpResult | TransportFailure, phase: Phase) -> bool:
    return (
        isinstance(result, TransportFailure)
        and result.code == "ECONNRESET"
        and not phase.new_connection
        and not phase.response_started
    )


def _elapsed_ms(started_s: float) -> float:
    return (time.perf_counter() - started_s) * 1000
