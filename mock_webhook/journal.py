"""The request journal: recorded requests bounded in count *and* bytes; queries, waits, stats.

Appending is O(1) plus one check per pending waiter (and one eviction per record over a bound); records keep
raw bytes and turn into JSON only when someone asks. Waiters are futures resolved by ``append`` (event-driven,
no polling). The record itself (its shape, masking, the kept body) is in :mod:`mock_webhook.record`.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from mock_webhook.handshake import HandshakeRecord
from mock_webhook.record import RecordedRequest

DEFAULT_JOURNAL_SIZE = 10_000
DEFAULT_JOURNAL_BYTES = 64 * 1024 * 1024
DEFAULT_BODY_CAP_BYTES = 64 * 1024
KINDS = ("request", "handshake", "all")


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
        latency_ms = rec.latency_ms
        stats.latency_sum_ms += latency_ms
        if latency_ms > stats.latency_max_ms:
            stats.latency_max_ms = latency_ms
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
