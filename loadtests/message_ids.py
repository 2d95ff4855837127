"""Load-test message ids: each carries its run id and publish time, so the journal alone gives latency.

Shape: ``<prefix>-<runId>-<publishEpochMs>-<seq>``. The prefix is ``load`` for an ordinary message, or a
reference forced-status prefix the mock webhook understands (SPEC M.5, P14): ``force-500`` answers 500
forever, ``force-429-until-<epochMs>`` answers 429 until that time and normally afterwards. The run id
(hex, no dashes) keeps concurrent runs against one shared mock apart.

Pure: no Locust, no I/O.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

LOAD_PREFIX = "load"
_FORCED = re.compile(r"^force-(?P<status>\d{3})(?:-until-(?P<until>\d+))?$")
_RUN_ID = re.compile(r"^[0-9a-f]{4,32}$")


def new_run_id() -> str:
    return secrets.token_hex(4)


def forced_prefix(status: int, until_ms: int | None = None) -> str:
    """The mock's forced-status prefix: ``force-<status>`` or ``force-<status>-until-<epochMs>``."""
    if not 100 <= status <= 599:
        raise ValueError(f"forced status must be an HTTP status code, got {status}")
    return f"force-{status}" if until_ms is None else f"force-{status}-until-{until_ms}"


def make_message_id(prefix: str, run_id: str, publish_ms: int, seq: int) -> str:
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run id must be 4-32 lower-case hex characters, got {run_id!r}")
    return f"{prefix}-{run_id}-{publish_ms}-{seq}"


@dataclass(frozen=True, slots=True)
class ParsedId:
    prefix: str
    run_id: str
    publish_ms: int
    seq: int
    forced_status: int | None = None  # None: an ordinary message
    forced_until_ms: int | None = None  # set for the timed form

    @property
    def deliverable(self) -> bool:
        """Expected to reach the webhook with a 2xx eventually (ordinary or timed-forced)."""
        return self.forced_status is None or self.forced_until_ms is not None


def parse_message_id(message_id: object) -> ParsedId | None:
    """The parts of a load-test id, or None for anything else (other runs' traffic, scenario tests)."""
    if not isinstance(message_id, str):
        return None
    parts = message_id.rsplit("-", 3)
    if len(parts) != 4:
        return None
    prefix, run_id, publish_ms, seq = parts
    if not (_RUN_ID.match(run_id) and publish_ms.isdigit() and seq.isdigit()):
        return None
    if prefix == LOAD_PREFIX:
        return ParsedId(prefix, run_id, int(publish_ms), int(seq))
    forced = _FORCED.match(prefix)
    if forced is None:
        return None
    until = forced.group("until")
    return ParsedId(
        prefix, run_id, int(publish_ms), int(seq), int(forced.group("status")), int(until) if until else None
    )
