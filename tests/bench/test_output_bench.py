"""Benchmark: the worker's CPU per delivery with INFO logs and EMF lines written to a pipe, line by line
(as before ``delivery.observe.output``) vs batched (one write per stream per flush).

The engine of ``test_pipeline_bench`` (burst worker, in-memory queue, mTLS + SPKI pin + HMAC + gate, batches
of up to 50) with ``logs.configure``'s handler at INFO and the EMF emitter's default stdout writer, both on
a pipe drained by a child process (``cat``), as a worker's stderr/stdout are under a supervisor or Lambda.
Paired, interleaved rounds in one run; the median of the per-pair ratios of CPU µs per delivery.
Target: batched <= 0.95 x line-by-line CPU per delivery. About 30 s.
Run: ``.venv/bin/pytest tests/bench/test_output_bench.py -m bench -p no:xdist -s``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

import pytest
import uvloop

from delivery.observe import logs, output
from delivery.observe.emf import EmfEmitter
from delivery.queue.memory import InMemoryQueue
from delivery.runtime.resources import Resources, open_resources
from delivery.runtime.settings import Settings
from delivery.runtime.worker import freeze_startup_objects
from harness.redis_server import RedisServer
from tests.bench.test_pipeline_bench import _drain, _memory_queue, _write_config, engine_environ
from tests.bench.transport_baseline import bench_peer

ROUNDS = 9
BACKLOG = 3000


@contextlib.contextmanager
def _pipe_output() -> Iterator[TextIO]:
    """stdout and the root log handler on a pipe that a child process drains."""
    read_fd, write_fd = os.pipe()
    drain = subprocess.Popen(["cat"], stdin=read_fd, stdout=subprocess.DEVNULL)
    os.close(read_fd)
    stream = os.fdopen(write_fd, "w", encoding="utf-8")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logs.configure("INFO", stream)
        with contextlib.redirect_stdout(stream):
            yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        stream.close()
        drain.wait(timeout=30)


@contextlib.contextmanager
def _line_by_line() -> Iterator[None]:
    """The worker without its ``output.buffered()`` scope: every line written (and flushed) on its own."""
    scope = output.buffered
    output.buffered = contextlib.nullcontext  # type: ignore[assignment]
    try:
        yield
    finally:
        output.buffered = scope


def _resources(environ: Mapping[str, str]) -> Resources:
    sink = EmfEmitter("bench", {"Environment": "bench"})  # the default writer: stdout
    return open_resources(Settings.from_env(environ), environ, metrics_sink=sink)


async def _bench(redis_url: str) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory(prefix="output-bench-") as tmp:
        root = Path(tmp)
        async with bench_peer() as peer:
            target_id = _write_config(root, peer)
            environ = engine_environ(root, peer, redis_url)
            resources = _resources(environ)
            try:
                with _pipe_output():
                    await _drain(resources, await _memory_queue(target_id, 300), InMemoryQueue())  # warm-up
                    freeze_startup_objects()
                    line_by_line, batched = [], []
                    for _round in range(ROUNDS):  # interleaved: other load on the machine hits both alike
                        with _line_by_line():
                            queue = await _memory_queue(target_id, BACKLOG)
                            line_by_line.append((await _drain(resources, queue, InMemoryQueue())).cpu_us)
                        queue = await _memory_queue(target_id, BACKLOG)
                        batched.append((await _drain(resources, queue, InMemoryQueue())).cpu_us)
                return line_by_line, batched
            finally:
                await resources.close()


@pytest.mark.bench
def test_batched_output_costs_less_cpu_per_delivery() -> None:
    with RedisServer() as redis:
        line_by_line, batched = uvloop.run(_bench(redis.url))
    before, after = statistics.median(line_by_line), statistics.median(batched)
    ratio = statistics.median(b / a for a, b in zip(line_by_line, batched, strict=True))
    print(f"\noutput benchmark (INFO logs + EMF on a pipe; {ROUNDS} paired rounds of {BACKLOG} deliveries)")
    print(f"  line by line  {before:6.0f} us CPU/delivery  (rounds: {[round(x) for x in line_by_line]})")
    print(f"  batched       {after:6.0f} us CPU/delivery  (rounds: {[round(x) for x in batched]})")
    print(f"  batched / line by line = {ratio:.2f}  (median of paired rounds; target <= 0.95)")
    assert ratio <= 0.95
