"""Structured JSON logs (one line per event) with secret redaction.

Shape: ``{"level": "INFO", "timestamp": ISO-8601, "msg": ..., **fields}``. Field names in ``SECRET_FIELDS``
(anywhere in nested dicts) are replaced by ``[Redacted]`` so API keys, signing keys and private keys never
reach a log line; then every known secret *value* is masked wherever it appears (``delivery.observe.scrub``).
Use ``log(logger, "info", "Delivery succeeded", clientId=..., targetId=...)``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from delivery.observe.encode import line_encoder
from delivery.observe.output import LineBuffer
from delivery.observe.scrub import KNOWN_SECRETS

SECRET_FIELDS = frozenset(
    {
        "apikey",
        "headervalue",
        "api_key",
        "x-api-key",
        "authorization",
        "password",
        "secret",
        "secrets",
        "privatekey",
        "private_key",
        "key_pem",
        "token",
        "signingkey",
        "signing_key",
        # reference redaction list (SPEC I.2)
        "messagereference",
        "channelstatusdescription",
        "messagestatusdescription",
    }
)
REDACTED = "[Redacted]"


_PLAIN = frozenset({str, int, float, bool, type(None)})  # returned as they are, without the ABC checks


def redact(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Mapping):
        return {k: (REDACTED if str(k).lower() in SECRET_FIELDS else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


_dumps = line_encoder(ensure_ascii=False, check_circular=True)  # fields are caller data: a cycle must raise


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "level": record.levelname,
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            doc.update(redact(fields))
        if record.exc_info and record.exc_info[0] is not None:
            doc["err"] = {"type": record.exc_info[0].__name__, "message": str(record.exc_info[1])}
        return _dumps(KNOWN_SECRETS.scrub_value(doc))


def log(logger: logging.Logger, level: str, msg: str, /, **fields: Any) -> None:
    logger.log(logging.getLevelName(level.upper()), msg, extra={"fields": fields})


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A ``StreamHandler`` whose lines go through a ``LineBuffer``: written at once outside an
    ``output.buffered()`` scope, batched inside one; WARNING and above are never held."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self.lines = LineBuffer(lambda: self.stream)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.add(self.format(record), urgent=record.levelno >= logging.WARNING)
        except RecursionError:  # as logging.StreamHandler does
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        self.lines.flush()
        super().flush()


def configure(level: str = "INFO", stream: Any = None) -> None:
    """Install the JSON formatter on the root logger (edges only: CLI main, Lambda handler); lines are
    batched inside ``output.buffered()`` scopes (the worker, each Lambda invocation). The records skip
    what our lines never show (caller, thread and process: the logging HOWTO's "Optimization"), about
    a fifth of a line's cost."""
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = LineHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for replaced in root.handlers:
        with contextlib.suppress(Exception):  # nothing a replaced handler held is lost (if it can write)
            replaced.flush()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
