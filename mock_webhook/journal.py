"""The request journal: recorded requests bounded in count *and* bytes; queries, waits, stats.

Appending is O(1) plus one check per pending waiter (and one eviction per record over a bound); records keep
raw bytes and turn into JSON only when someone asks. Waiters are futures resolved by ``append`` (event-driven,
no polling). A body over the body cap is kept truncated, with its full length and SHA-256
(:func:`kept_body`). Credential-looking headers (any name with ``key``, ``token``, ``secret``, ``auth``,
``passw``, ``credential``, ``cookie`` or ``session`` in it, and the path's API-key header) are masked.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from mock_webhook.clientcert import TlsVerdict
from mock_webhook.handshake import HandshakeRecord
from mock_webhook.verify import SignatureVerdict

DEFAULT_JOURNAL_SIZE = 10_000
DEFAULT_JOURNAL_BYTES = 64 * 1024 * 1024
DEFAULT_BODY_CAP_BYTES = 64 * 1024
KINDS = ("request", "handshake", "all")
ALWAYS_MASKED = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})
CREDENTIAL_WORDS = ("key", "token", "secret", "auth", "passw", "credential", "cookie", "session")
_RECORD_OVERHEAD_BYTES = 512  # the fixed part of a record (tuple, verdicts, numbers), roughly


def credential_like(name: str) -> bool:
    """A header name that may carry a credential (lower-case ``name``)."""
    return name in ALWAYS_MASKED or any(word in name for word in CREDENTIAL_WORDS)


def kept_body(body: bytes, cap_bytes: int) -> tuple[bytes, int, str | None]:
    """(what the journal keeps, full length, SHA-256 hex when truncated else None)."""
    if len(body) <= cap_bytes:
        return body, len(body), None
    return body[:cap_bytes], len(body), hashlib.sha256(body).hexdigest()


def normalise_path(path: str) -> str:
    return path if path.startswith("/") or path == "*" else "/" + path


def mask(value: str) -> str:
    """A secret header value replaced by a short fingerprint (comparable in tests, never revealing)."""
    return "***sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


class RecordedRequest(NamedTuple):
    """One recorded request (immutable; a NamedTuple because it is built on the hot path)."""

    seq: int
    received_at_ms: float
    path: str
    method: str
    raw_headers: tuple[tuple[bytes, bytes], ...]
    body_bytes: bytes
    message_id: str | None
    correlation_id: str | None
    callback_type: str | None
    connection_id: int
    tls: TlsVerdict
    api_key_valid: bool | None
    signature: SignatureVerdict
    response_status: int | None
    response_body: bytes | None
    latency_ms: float
    fault: str | None = None
    masked_header: str = "x-api-key"
    body_length: int = -1  # the full body length when it was truncated (-1: body_bytes is the whole body)
    body_sha256: str | None = None  # SHA-256 of the full body when it was truncated
    fault_detail: str | None = None  # the fault step in words

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; API keys and anything credential-looking masked."""
        out: dict[str, str] = {}
        for raw_name, raw_value in self.raw_headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            masked = name == self.masked_header or credential_like(name)
            out[name] = mask(value) if masked else value
        return out

    @property
    def size_bytes(self) -> int:
        """What the record holds in memory, roughly: bodies, headers and a fixed overhead."""
        headers = sum(len(n) + len(v) for n, v in self.raw_headers)
        response = len(self.response_body) if self.response_body else 0
        return len(self.body_bytes) + headers + response + _RECORD_OVERHEAD_BYTES

    @property
    def kind(self) -> str:
        return "request"

    @property
    def body(self) -> str:
        return self.body_bytes.decode("utf-8", "replace")

    def to_json(self) -> dict[str, object]:
        """The journal record shape of CONTRACTS.md."""
        return {
            "kind": "request",
            "seq": self.seq,
            "receivedAtMs": self.received_at_ms,
            "path": self.path,
            "method": self.method,
            "headers": self.headers,
            "body": self.body,
            "bodyBytes": len(self.body_bytes) if self.body_length < 0 else self.body_length,
            "bodyTruncated": None
            if self.body_sha256 is None
            else {"keptBytes": len(self.body_bytes), "sha256": self.body_sha256},
            "messageId": self.message_id,
            "correlationId": self.correlation_id,
            "callbackType": self.callback_type,
            "connectionId": self.connection_id,
            "tls": self.tls.to_json(),
            "apiKeyValid": self.api_key_valid,
            "signature": self.signature.to_json(),
            "response": {
                "status": self.response_status,
                "body": None if self.response_body is None else self.response_body.decode("utf-8", "replace"),
            },
            "latencyMs": self.latency_ms,
            "fault": self.fault,
            "faultDetail": self.fault_detail,
        }


@dataclass(frozen=True, slots=True)
class RequestFilter:
    path: str | None = None
    message_id: str | None = None
    since_ms: float | None = None
    after_seq: int | None = None
    kind: str = "request"  # "request" | "handshake" | "all"

    def matches(self, rec: RecordedRequest | HandshakeRecord) -> bool:
        return (
            (self.kind == "all" or rec.kind == self.kind)
            and (self.path is None or rec.path == self.path)
            and (self.message_id is None or rec.message_id == self.message_id)
            and (self.since_ms is None or rec.received_at_ms >= self.since_ms)
            and (self.after_seq is None or rec.seq > self.after_seq)
        )


@dataclass(slots=True)
class _Waiter:
    flt: RequestFilter
    count: int
    seen: int
    future: asyncio.Future[None]


@dataclass(slots=True)
class _PathStats:
    by_status: Counter[int | None] = field(default_factory=Counter)
    total: int = 0
    latency_sum_ms: float = 0.0
    latency_max_ms: float = 0.0


class Journal:
    """At most ``maxlen`` records and about ``max_bytes`` bytes of them; the oldest go first."""

    def __init__(self, maxlen: int = DEFAULT_JOURNAL_SIZE, max_bytes: int = DEFAULT_JOURNAL_BYTES) -> None:
        self.maxlen = maxlen
        self.max_bytes = max_bytes
        self.bytes = 0
        self.evicted = 0
        self._records: deque[RecordedRequest] = deque()
        self._sizes: deque[int] = deque()  # size_bytes of each record, computed once
        self._waiters: list[_Waiter] = []
        self._stats: dict[str, _PathStats] = {}
        self._seq = 0
        self.total = 0
        self._handshakes: deque[HandshakeRecord] = deque(maxlen=maxlen)
        self._handshake_reasons: Counter[str] = Counter()
        self.handshake_total = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def __len__(self) -> int:
        return len(self._records)

    def append(self, rec: RecordedRequest) -> None:
        size = rec.size_bytes
        self._records.append(rec)
        self._sizes.append(size)
        self.bytes += size
        while len(self._records) > 1 and (len(self._records) > self.maxlen or self.bytes > self.max_bytes):
            self._records.popleft()
            self.bytes -= self._sizes.popleft()
            self.evicted += 1
        self.total += 1
        stats = self._stats.get(rec.path)
        if stats is None:
            stats = self._stats[rec.path] = _PathStats()
        stats.by_status[rec.response_status] += 1
        stats.total += 1
        stats.latency_sum_ms += rec.latency_ms
        stats.latency_max_ms = max(stats.latency_max_ms, rec.latency_ms)
        if self._waiters:
            self._notify(rec)

    def _notify(self, rec: RecordedRequest | HandshakeRecord) -> None:
        for waiter in self._waiters:
            if waiter.flt.matches(rec):
                waiter.seen += 1
                if waiter.seen >= waiter.count and not waiter.future.done():
                    waiter.future.set_result(None)

    def append_handshake(self, rec: HandshakeRecord) -> None:
        """A failed TLS handshake (kept beside the requests; shares their sequence numbers)."""
        self._handshakes.append(rec)
        self.handshake_total += 1
        self._handshake_reasons[reason_key(rec.reason)] += 1
        if self._waiters:
            self._notify(rec)

    def entries(
        self, flt: RequestFilter = RequestFilter(), limit: int | None = None
    ) -> list[RecordedRequest | HandshakeRecord]:
        """Requests and/or failed handshakes (``flt.kind``) in sequence order, oldest first."""
        if flt.kind == "request":
            return list(self.query(flt, limit))
        source: Iterable[RecordedRequest | HandshakeRecord] = self._handshakes
        if flt.kind == "all":
            source = heapq.merge(self._records, self._handshakes, key=_seq)
        found = [entry for entry in source if flt.matches(entry)]
        return found[-limit:] if limit is not None and limit >= 0 else found

    def query(self, flt: RequestFilter = RequestFilter(), limit: int | None = None) -> list[RecordedRequest]:
        """Matching records, oldest first; with ``limit``, the latest ``limit`` of them."""
        found = [rec for rec in self._records if flt.matches(rec)]
        return found[-limit:] if limit is not None and limit >= 0 else found

    def clear(self) -> int:
        cleared = len(self._records)
        self._records.clear()
        self._sizes.clear()
        self.bytes = 0
        self._stats.clear()
        self.total = 0
        self._handshakes.clear()
        self._handshake_reasons.clear()
        self.handshake_total = 0
        return cleared

    async def wait(
        self, flt: RequestFilter, count: int, timeout_s: float
    ) -> tuple[bool, list[RecordedRequest]]:
        """Wait until ``count`` matching records exist (or the timeout passes); returns (reached, records)."""
        await self._wait_until(flt, count, timeout_s)
        found = self.query(flt)
        return len(found) >= count, found

    async def wait_entries(
        self, flt: RequestFilter, count: int, timeout_s: float
    ) -> tuple[bool, list[RecordedRequest | HandshakeRecord]]:
        """``wait`` over requests and/or failed handshakes, as ``flt.kind`` says."""
        await self._wait_until(flt, count, timeout_s)
        found = self.entries(flt)
        return len(found) >= count, found

    async def _wait_until(self, flt: RequestFilter, count: int, timeout_s: float) -> None:
        seen = len(self.entries(flt))
        if seen < count:
            waiter = _Waiter(flt, count, seen, asyncio.get_running_loop().create_future())
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter.future, timeout_s)
            except TimeoutError:
                pass
            finally:
                self._waiters.remove(waiter)

    def stats(self) -> dict[str, object]:
        latencies = sorted(rec.latency_ms for rec in self._records)
        return {
            "total": self.total,
            "journalSize": len(self._records),
            "journalCapacity": self.maxlen,
            "journalBytes": self.bytes,
            "journalMaxBytes": self.max_bytes,
            "journalEvicted": self.evicted,
            "latencyMs": _percentiles(latencies),
            "paths": {
                path: {
                    "total": s.total,
                    "byStatus": {"reset" if k is None else str(k): n for k, n in s.by_status.items()},
                    "latencyMeanMs": s.latency_sum_ms / s.total if s.total else 0.0,
                    "latencyMaxMs": s.latency_max_ms,
                }
                for path, s in self._stats.items()
            },
            "handshakeFailures": {
                "total": self.handshake_total,
                "byReason": dict(self._handshake_reasons),
            },
        }


def _seq(entry: RecordedRequest | HandshakeRecord) -> int:
    return entry.seq


def reason_key(reason: str) -> str:
    """The reason without its particulars (dates, issuers, versions), to count failures by kind."""
    head = reason.split(":")[0].split(" (")[0]
    return head.split(" on 2")[0]  # "expired on 2026-..." -> "expired"


def _percentiles(sorted_ms: list[float]) -> dict[str, float | None]:
    if not sorted_ms:
        return {"p50": None, "p95": None, "p99": None, "max": None}

    def pick(q: float) -> float:
        return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]

    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "max": sorted_ms[-1]}
