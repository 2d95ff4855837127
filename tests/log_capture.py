"""Capturing the engine's JSON log lines in tests: a stream that counts its writes, and a handler installed
on a logger for the length of a ``with`` block (level and handlers restored afterwards)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, TypeVar

from delivery.observe.logs import JsonFormatter, LineHandler

S = TypeVar("S", bound=TextIO)


class CountingStream(io.StringIO):
    """A text stream that counts its writes (the OS boundary: one write here is one ``write`` syscall)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@contextmanager
def json_lines_to(
    stream: S,
    logger_name: str = "delivery",
    *,
    handler: type[logging.StreamHandler] = LineHandler,  # type: ignore[type-arg]
    propagate: bool = True,
) -> Iterator[S]:
    """``logger_name``'s records at INFO, as the engine's JSON lines, written to ``stream`` while the
    block runs."""
    installed = handler(stream)
    installed.setFormatter(JsonFormatter())
    logger = logging.getLogger(logger_name)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(installed)
    logger.setLevel(logging.INFO)
    logger.propagate = propagate
    try:
        yield stream
    finally:
        logger.removeHandler(installed)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
