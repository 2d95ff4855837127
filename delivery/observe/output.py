"""Buffered output lines (JSON log lines on stderr, EMF lines on stdout): one write per batch, not per line.

Outside a ``buffered()`` scope every line is written and flushed at once, as before. Inside one (the
long-running worker's ``run``, each Lambda invocation) lines are collected and written together:

- ``flush()`` writes everything held, in order, with one write per stream. The runtime calls it before it
  settles anything (``runtime.settle``: the lines that describe a delete, a visibility change or a dead
  letter are out before it happens, so a crash right after a settle loses none of them), after each batch,
  and the scope flushes on exit (return, raise, SIGTERM drain, ``--burst`` end).
- WARNING and above are written at once (``urgent``), after what was held (order is kept).
- Bounded: at most ``MAX_CHARS`` characters are held (then written: about one pipe buffer), and no line is
  held longer than ``MAX_AGE_S`` (a timer on the running event loop, armed when the first line comes in,
  checked again on every line, so a slow batch does not sit on its lines). A line from a thread without an
  event loop, with nothing held, is written at once.

The lines themselves are untouched: the formatters (``logs.JsonFormatter``, ``emf.EmfEmitter``) produce
them, scrubbed, exactly as in unbuffered mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TextIO

MAX_CHARS = 64 * 1024  # a Linux pipe's capacity: one write a reader takes in one go
MAX_AGE_S = 1.0  # how long a line may wait for its batch's flush (CloudWatch's own delivery is ~seconds)


class _Scope:
    depth = 0  # nested ``buffered()`` scopes (one per worker run / Lambda invocation)


_BUFFERS: weakref.WeakSet[LineBuffer] = weakref.WeakSet()


class LineBuffer:
    """Lines bound for one stream; written through unless a ``buffered()`` scope is open."""

    def __init__(self, stream: Callable[[], TextIO], clock_s: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock_s = clock_s
        self._lines: list[str] = []
        self._chars = 0
        self._since_s = 0.0  # when the oldest held line came in
        self._timer: asyncio.TimerHandle | None = None
        self._lock = threading.Lock()
        _BUFFERS.add(self)

    def add(self, line: str, *, urgent: bool = False) -> None:
        with self._lock:
            if _Scope.depth <= 0 or urgent:
                self._lines.append(line + "\n")
                self._write()
                return
            if not self._lines:
                self._since_s = self._clock_s()
                if not self._arm():
                    self._lines.append(line + "\n")
                    self._write()
                    return
            self._lines.append(line + "\n")
            self._chars += len(line) + 1
            if self._chars >= MAX_CHARS or self._clock_s() - self._since_s >= MAX_AGE_S:
                self._write()

    def flush(self) -> None:
        if self._lines:
            with self._lock:
                self._write()

    def held(self) -> int:
        """Lines waiting to be written (tests, diagnostics)."""
        return len(self._lines)

    def _arm(self) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._timer = loop.call_later(MAX_AGE_S, self.flush)
        return True

    def _write(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        text, self._lines, self._chars = "".join(self._lines), [], 0
        stream = self._stream()
        stream.write(text)
        stream.flush()


def flush() -> None:
    """Write every line held, on every stream (cheap when nothing is held). Never raises: a stream that
    cannot be written must not stop a settle (the lines are reported on the interpreter's stderr)."""
    for buffer in list(_BUFFERS):
        try:
            buffer.flush()
        except Exception as exc:
            print(f"output flush failed: {type(exc).__name__}: {exc}", file=sys.__stderr__)


@contextlib.contextmanager
def buffered() -> Iterator[None]:
    """Hold output lines until ``flush()`` (or a bound) while the block runs; flush on the way out."""
    _Scope.depth += 1
    try:
        yield
    finally:
        _Scope.depth -= 1
        flush()


STDOUT = LineBuffer(lambda: sys.stdout)  # EMF lines
