"""Batched output lines (``delivery.observe.output``): held inside a scope, written in order with one write,
WARNING+ at once, bounded by size and age, flushed on the way out (also when raising); the lines are the
same bytes as unbuffered ones."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from delivery.observe import output
from delivery.observe.emf import EmfEmitter
from delivery.observe.logs import log
from tests.log_capture import CountingStream, json_lines_to

Stream = CountingStream


@pytest.fixture
def stream() -> Iterator[Stream]:
    with json_lines_to(Stream(), "test.output", propagate=False) as stream:
        yield stream


LOG = logging.getLogger("test.output")
# lines are held only on a thread running an event loop (the worker's, a Lambda invocation's): async tests


def test_outside_a_scope_every_line_is_written_at_once(stream: Stream) -> None:
    log(LOG, "info", "one", n=1)
    assert '"msg": "one"' in stream.getvalue()
    log(LOG, "info", "two", n=2)
    assert stream.writes == 2


async def test_inside_a_scope_lines_wait_for_flush_and_go_in_one_write_in_order(stream: Stream) -> None:
    with output.buffered():
        for i in range(50):
            log(LOG, "info", "Delivery succeeded", n=i)
        assert stream.getvalue() == ""
        output.flush()
        assert stream.writes == 1
        lines = stream.getvalue().splitlines()
        assert [line.endswith(f'"n": {i}}}') for i, line in enumerate(lines)] == [True] * 50
        output.flush()  # nothing held: no empty write
        assert stream.writes == 1


async def test_warnings_are_written_at_once_after_what_was_held(stream: Stream) -> None:
    with output.buffered():
        log(LOG, "info", "first")
        log(LOG, "warn", "second")
        msgs = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
        assert msgs == ["first", "second"]
        log(LOG, "error", "third")
        assert '"third"' in stream.getvalue()


async def test_the_scope_flushes_on_the_way_out_also_when_raising(stream: Stream) -> None:
    held: list[str] = []

    def crash() -> None:
        with output.buffered():
            log(LOG, "info", "before the crash")
            held.append(stream.getvalue())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        crash()
    assert held == [""]
    assert '"before the crash"' in stream.getvalue()


async def test_a_full_buffer_is_written_without_waiting_for_flush(stream: Stream) -> None:
    big = "x" * 1000
    with output.buffered():
        for _ in range(output.MAX_CHARS // 1000 + 1):
            log(LOG, "info", "big", pad=big)
        assert stream.writes == 1  # written once the held lines reached MAX_CHARS, not line by line
        assert output.MAX_CHARS <= len(stream.getvalue()) < output.MAX_CHARS + 1200


async def test_a_held_line_is_written_after_max_age_without_a_flush(
    stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "MAX_AGE_S", 0.05)
    with output.buffered():
        log(LOG, "info", "slow batch")
        assert stream.getvalue() == ""
        for _ in range(2000):  # the timer fires on this loop; no flush is called
            if stream.getvalue():
                break
            await asyncio.sleep(0.01)
        assert '"slow batch"' in stream.getvalue()


async def test_a_line_from_a_thread_without_a_loop_is_not_held(stream: Stream) -> None:
    with output.buffered():
        thread = threading.Thread(target=log, args=(LOG, "info", "from a thread"))
        thread.start()
        thread.join()
        assert '"from a thread"' in stream.getvalue()


async def test_buffered_lines_are_the_same_bytes_as_unbuffered(stream: Stream) -> None:
    record = logging.LogRecord("test.output", logging.INFO, __file__, 1, "same", None, None)
    record.fields = {"clientId": "c-1", "apiKey": "never", "nested": {"token": "t"}, "ünï": "cødé"}
    handler = LOG.handlers[0]
    handler.handle(record)
    plain = stream.getvalue()
    with output.buffered():
        handler.handle(record)
    assert stream.getvalue() == plain * 2
    assert "never" not in plain


async def test_emf_lines_are_held_in_a_scope_and_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    emitter = EmfEmitter("ns", {"Environment": "test"}, clock_ms=lambda: 1)
    emitter.emit({"DeliverySuccess": 1}, dimensions={"ClientId": "c"})
    plain = capsys.readouterr().out
    with output.buffered():
        emitter.emit({"DeliverySuccess": 1}, dimensions={"ClientId": "c"})
        emitter.emit({"DeliverySuccess": 1}, dimensions={"ClientId": "c"})
        assert output.STDOUT.held() == 2
    assert capsys.readouterr().out == plain * 2
