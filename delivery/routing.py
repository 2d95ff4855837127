"""Route each received message (pure): decode -> find its target -> retry-window check (P6, before admission).

Yields a ``Routed`` record ready for the gate, or an early ``Decided``: poison body, unknown target, window
exhausted, or "config unavailable" (requeued; the default window still bounds it). ``group_by_target`` keeps
targets in order of first appearance and records in arrival order (SPEC J).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from delivery.backoff import decide_expired, window_exhausted
from delivery.config.client import DEFAULT_MAX_RETRY_DURATION_S, CallbackTarget, ClientConfig
from delivery.envelope import decode_envelope
from delivery.errors import ConfigError, PoisonMessage, TargetNotFound
from delivery.models import ReceivedMessage
from delivery.stages import Decided, Routed, TargetBatch
from delivery.verdicts import CONFIG_UNAVAILABLE, infrastructure_retry, poison


def route(
    message: ReceivedMessage, config: ClientConfig | ConfigError, *, now_ms: int, rand: float
) -> Routed | Decided:
    try:
        envelope = decode_envelope(message.body)
    except PoisonMessage as exc:
        return Decided(message, poison(exc))
    target_id, correlation_id = envelope.target_id, envelope.correlation_id
    if isinstance(config, ConfigError):
        if window_exhausted(now_ms, message.first_receive_ms, DEFAULT_MAX_RETRY_DURATION_S):
            return Decided(message, decide_expired(DEFAULT_MAX_RETRY_DURATION_S), target_id, correlation_id)
        retry = infrastructure_retry(
            CONFIG_UNAVAILABLE, config, receive_count=message.receive_count, rand=rand
        )
        return Decided(message, retry, target_id, correlation_id)
    target = config.target(envelope.target_id)
    if target is None:
        missing = TargetNotFound(
            f"Target '{envelope.target_id}' not found in config for client '{config.client_id}'"
        )
        return Decided(message, poison(missing), target_id, correlation_id)
    max_retry_s = target.delivery.max_retry_duration_seconds
    if window_exhausted(now_ms, message.first_receive_ms, max_retry_s):
        return Decided(message, decide_expired(max_retry_s), target_id, correlation_id)
    return Routed(message, envelope, target)


def group_by_target(records: Iterable[Routed]) -> list[TargetBatch]:
    groups: dict[str, list[Routed]] = {}
    targets: dict[str, CallbackTarget] = {}
    for record in records:
        groups.setdefault(record.target_id, []).append(record)
        targets.setdefault(record.target_id, record.target)
    return [TargetBatch(targets[tid], tuple(group)) for tid, group in groups.items()]


def split(items: Sequence[Routed | Decided]) -> tuple[list[Routed], list[Decided]]:
    routed = [i for i in items if isinstance(i, Routed)]
    decided = [i for i in items if isinstance(i, Decided)]
    return routed, decided
