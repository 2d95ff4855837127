"""The journal: filters, limits, event-driven waits, stats and bounded memory."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc

from mock_webhook.clientcert import NO_CERT
from mock_webhook.journal import Journal, RequestFilter
from mock_webhook.record import new_record, pack_headers, unpack_headers
from mock_webhook.verify import NO_SIGNATURE


def _record(
    journal: Journal, path: str = "/t1", message_id: str = "m", status: int = 200, at_ms: float = 0.0
):
    body = b'{"data":[{"type":"MessageStatus","attributes":{"messageId":"%s"}}]}' % message_id.encode()
    headers = (
        (b"Content-Type", b"application/json"),
        (b"X-Api-Key", b"secret"),
        (b"Authorization", b"Bearer x"),
    )
    return new_record(
        journal.next_seq(), at_ms, path, "POST", pack_headers(headers), body, (message_id, None),
        "MessageStatus", 1, NO_CERT, None, NO_SIGNATURE, status, b'{"message":"ok"}', 1.5, None, "x-api-key",
    )  # fmt: skip


def test_filters_and_limit() -> None:
    journal = Journal(100)
    for i in range(6):
        journal.append(_record(journal, path=f"/t{i % 2}", message_id=f"m{i}", at_ms=1000.0 * i))
    assert [r.message_id for r in journal.query(RequestFilter(path="/t1"))] == ["m1", "m3", "m5"]
    assert [r.message_id for r in journal.query(RequestFilter(message_id="m4"))] == ["m4"]
    assert [r.message_id for r in journal.query(RequestFilter(since_ms=3000.0))] == ["m3", "m4", "m5"]
    assert [r.seq for r in journal.query(RequestFilter(after_seq=4))] == [5, 6]
    assert [r.message_id for r in journal.query(RequestFilter(), limit=2)] == ["m4", "m5"]


def test_record_json_masks_secrets() -> None:
    journal = Journal(10)
    data = _record(journal).to_json()
    headers = data["headers"]
    assert isinstance(headers, dict)
    assert headers["content-type"] == "application/json"
    assert headers["x-api-key"].startswith("***sha256:")
    assert "secret" not in headers["x-api-key"]
    assert headers["authorization"].startswith("***")
    assert set(data) >= {
        "seq",
        "receivedAtMs",
        "path",
        "tls",
        "apiKeyValid",
        "signature",
        "response",
        "latencyMs",
    }


async def test_wait_is_resolved_by_append() -> None:
    journal = Journal(100)
    journal.append(_record(journal, path="/a"))
    waiter = asyncio.create_task(journal.wait(RequestFilter(path="/a"), 3, timeout_s=5))
    await asyncio.sleep(0)
    journal.append(_record(journal, path="/b"))
    journal.append(_record(journal, path="/a"))
    assert not waiter.done()
    started = time.monotonic()
    journal.append(_record(journal, path="/a"))
    reached, found = await waiter
    assert reached
    assert len(found) == 3
    assert time.monotonic() - started < 0.5


async def test_wait_times_out_with_what_it_found() -> None:
    journal = Journal(100)
    journal.append(_record(journal, message_id="x"))
    started = time.monotonic()
    reached, found = await journal.wait(RequestFilter(message_id="x"), 2, timeout_s=0.2)
    assert not reached
    assert len(found) == 1
    assert 0.15 <= time.monotonic() - started < 2


def test_stats_counts_by_path_and_status() -> None:
    journal = Journal(100)
    for status in (200, 200, 503):
        journal.append(_record(journal, path="/t1", status=status))
    journal.append(_record(journal, path="/t2", status=429))
    stats = journal.stats()
    assert stats["total"] == 4
    paths = stats["paths"]
    assert isinstance(paths, dict)
    assert paths["/t1"]["byStatus"] == {"200": 2, "503": 1}
    assert paths["/t2"]["byStatus"] == {"429": 1}
    assert stats["latencyMs"] == {"p50": 1.5, "p95": 1.5, "p99": 1.5, "max": 1.5}
    assert journal.clear() == 4
    assert journal.stats()["total"] == 0


def test_memory_stays_bounded_over_100k_requests() -> None:
    journal = Journal(1_000)
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(10_000):
            journal.append(_record(journal))
        after_10k, _ = tracemalloc.get_traced_memory()
        for _ in range(90_000):
            journal.append(_record(journal))
        gc.collect()
        after_100k, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(journal) == 1_000
    assert journal.total == 100_000
    assert after_100k < after_10k * 1.1 + 64 * 1024, (after_10k, after_100k)


def test_headers_are_kept_packed_and_come_back_unchanged() -> None:
    raw = ((b"Host", b"h:1"), (b"X-Empty", b""), (b"X-Api-Key", b"k"), (b"X-Api-Key", b"k2"))
    packed = pack_headers(raw)
    assert isinstance(packed, bytes)
    assert unpack_headers(packed) == raw
    assert unpack_headers(pack_headers(())) == ()
    journal = Journal(10)
    rec = _record(journal)
    assert rec.raw_headers == (
        (b"Content-Type", b"application/json"),
        (b"X-Api-Key", b"secret"),
        (b"Authorization", b"Bearer x"),
    )


def test_record_packs_numbers_headers_and_body_and_reads_ids_off_the_body() -> None:
    """A record keeps one bytes object for its numbers, headers and body; every field reads back exactly
    (an empty header value, a body with blank lines in it), and the ids come off the body when not kept."""
    item = b'{"type":"ChannelStatus","attributes":{"messageId":"m-7"},"meta":{"idempotencyKey":"k"}}'
    body = b'{"data":[%s]}\n\n' % item
    headers = ((b"X-Empty", b""), (b"X-Api-Key", b"s"))
    rec = new_record(
        123456789, 1.7e12 + 0.25, "/p", "POST", pack_headers(headers), body, None, "ChannelStatus", 1,
        NO_CERT, None, NO_SIGNATURE, 200, b"{}", 2.5,
    )  # fmt: skip
    assert (rec.seq, rec.received_at_ms, rec.latency_ms) == (123456789, 1.7e12 + 0.25, 2.5)
    assert rec.raw_headers == headers
    assert rec.body_bytes == body
    assert (rec.message_id, rec.correlation_id) == ("m-7", "k")
    kept = rec._replace(ids=("m-full", None))  # a truncated body keeps the ids it was read with
    assert (kept.message_id, kept.correlation_id) == ("m-full", None)
    assert rec.headers["x-empty"] == ""
    assert rec.size_bytes > len(body)
