"""The catalogue of planted engine defects for ``make mutate`` (see tests/mutate/runner.py).

Each mutant is one realistic bug: a search text that must occur exactly once in one engine file, its
replacement, and the scenario files expected to catch it (run in that order, first failure wins). A catalogue
entry whose search text no longer matches fails loudly (tests/mutate/test_runner.py checks every entry against
the current tree), so a refactor cannot turn a mutant into a silent no-op.
"""

from __future__ import annotations

from dataclasses import dataclass

FAILURES = "tests/integration/test_failures.py"
GATE = "tests/integration/test_gate.py"
TLS = "tests/integration/test_tls.py"
ISOLATION = "tests/integration/test_isolation.py"
OBSERVABILITY = "tests/integration/test_observability.py"
ROUTING = "tests/integration/test_routing.py"


@dataclass(frozen=True, slots=True)
class Mutant:
    name: str
    area: str
    path: str  # relative to the repository root
    search: str
    replace: str
    tests: tuple[str, ...]
    why: str


CATALOGUE: tuple[Mutant, ...] = (
    Mutant(
        "pin-always-matches", "pinning", "delivery/transport/pinning.py",
        "found |= hmac.compare_digest(actual.encode(), pin.strip().encode())", "found = True",
        (TLS,), "every SPKI pin compares equal",
    ),
    Mutant(
        "pin-never-checked", "pinning", "delivery/transport/pinning.py",
        "        if self.spki_pins:\n            self._check(proto)",
        "        if False:\n            self._check(proto)",
        (TLS,), "the pin check is skipped on new connections",
    ),
    Mutant(
        "4xx-is-transient", "classification", "delivery/classify.py",
        'Classification(ResultKind.PERMANENT, "HTTP_CLIENT_ERROR", status, message)',
        'Classification(ResultKind.TRANSIENT, "HTTP_CLIENT_ERROR", status, message)',
        (FAILURES,), "a permanent 4xx is retried",
    ),
    Mutant(
        "5xx-is-permanent", "classification", "delivery/classify.py",
        'Classification(ResultKind.TRANSIENT, "HTTP_SERVER_ERROR", status, message)',
        'Classification(ResultKind.PERMANENT, "HTTP_SERVER_ERROR", status, message)',
        (FAILURES,), "a 5xx is dead-lettered on the first attempt",
    ),
    Mutant(
        "error-message-raw-body", "classification", "delivery/classify.py",
        '        message = parsed["message"]', "        message = body",
        (FAILURES,), "ERROR_MESSAGE is the raw body, not its message field",
    ),
    Mutant(
        "retry-after-dropped", "backoff/Retry-After", "delivery/classify.py",
        "status, message, retry_after_s=retry_after_s", "status, message, retry_after_s=None",
        (FAILURES,), "the 429's Retry-After header is not parsed",
    ),
    Mutant(
        "retry-after-ignored", "backoff/Retry-After", "delivery/backoff.py",
        "if classification.kind is ResultKind.RATE_LIMITED and retry_after_s is not None "
        "and retry_after_s > 0:",
        "if False:", (FAILURES,), "a 429 waits the normal backoff",
    ),
    Mutant(
        "retry-after-halved", "backoff/Retry-After", "delivery/backoff.py",
        "return max(1, math.ceil(retry_after_s))", "return max(1, math.ceil(retry_after_s / 2))",
        (FAILURES,), "Retry-After taken as half its value",
    ),
    Mutant(
        "retry-window-in-seconds", "retry window", "delivery/backoff.py",
        "return now_ms - first_receive_ms >= max_retry_s * 1000",
        "return now_ms - first_receive_ms >= max_retry_s * 1000 * 1000",
        (FAILURES,), "the window is compared in the wrong unit: it never ends",
    ),
    Mutant(
        "gate-refills-twice-as-fast", "gate scripts", "delivery/gate/lua/admit.lua",
        "level = tokens + (now - refilled_at) * effective / 1000",
        "level = tokens + (now - refilled_at) * 2 * effective / 1000",
        (GATE,), "the token bucket refills at twice the rate",
    ),
    Mutant(
        "gate-bucket-over-capacity", "gate scripts", "delivery/gate/lua/admit.lua",
        "level = math.min(capacity, level)", "level = math.min(capacity * 2, level)",
        (GATE,), "the bucket holds twice its burst",
    ),
    Mutant(
        "breaker-never-opens", "gate scripts", "delivery/gate/lua/record.lua",
        "failed / attempts > threshold then", "failed / attempts > threshold + 1 then",
        (GATE,), "the failure ratio can never pass the threshold",
    ),
    Mutant(
        "breaker-no-cooldown", "gate scripts", "delivery/gate/lua/admit.lua",
        "  if now <= half_open_at then", "  if now <= switched_at then",
        (GATE,), "an open breaker lets the probe through at once",
    ),
    Mutant(
        "breaker-probe-never-closes", "gate scripts", "delivery/gate/lua/record.lua",
        "if half_open and successes > 0 then", "if half_open and successes > 1 then",
        (GATE,), "one successful probe does not close the breaker",
    ),
    Mutant(
        "breaker-shared-by-targets", "isolation", "delivery/gate/scripts.py",
        'return f"{self.key_prefix}{{{target_id}}}"', 'return f"{self.key_prefix}{{shared}}"',
        (GATE,), "every target shares one gate key",
    ),
    Mutant(
        "signature-wrong-key", "signing", "delivery/signing.py",
        'key = f"{application_id}.{api_key}".encode()', 'key = f"{application_id}:{api_key}".encode()',
        (OBSERVABILITY,), "the HMAC key joins its parts with the wrong separator",
    ),
    Mutant(
        "api-key-not-sent", "API key", "delivery/signing.py",
        "        (api_key.header_name, api_key.header_value),\n", "",
        (OBSERVABILITY,), "the target's API-key header is left out",
    ),
    Mutant(
        "dlq-no-attributes", "DLQ attributes", "delivery/runtime/settle.py",
        "    return OutgoingMessage(body, dict(attributes))", "    return OutgoingMessage(body)",
        (FAILURES,), "dead letters are sent without their P10 attributes",
    ),
    Mutant(
        "dlq-client-id-is-target", "DLQ attributes", "delivery/dead_letter.py",
        '"CLIENT_ID": client_id,', '"CLIENT_ID": target_id or UNKNOWN_TARGET,',
        (FAILURES,), "CLIENT_ID carries the target id",
    ),
    Mutant(
        "dlq-first-received-in-seconds", "DLQ attributes", "delivery/dead_letter.py",
        "iso_ms(message.first_receive_ms or message.sent_ms)",
        "iso_ms((message.first_receive_ms or message.sent_ms) // 1000)",
        (FAILURES,), "FIRST_RECEIVED_AT is computed from seconds taken as milliseconds",
    ),
    Mutant(
        "dlq-retry-attempts-off-by-one", "DLQ attributes", "delivery/dead_letter.py",
        '"RETRY_ATTEMPTS": str(message.receive_count)', '"RETRY_ATTEMPTS": str(message.receive_count - 1)',
        (FAILURES,), "RETRY_ATTEMPTS counts retries, not receives",
    ),
    Mutant(
        "dlq-status-code-dropped", "DLQ attributes", "delivery/dead_letter.py",
        "    if outcome.status_code is not None:\n        attributes", "    if False:\n        attributes",
        (FAILURES,), "STATUS_CODE is never set",
    ),
    Mutant(
        "settle-keeps-dead-letters", "settle", "delivery/runtime/settle.py",
        "await _delete([d.message for d in acks + sent], queue)",
        "await _delete([d.message for d in acks], queue)",
        (FAILURES,), "a dead-lettered message is not deleted from its delivery queue (it comes back)",
    ),
    Mutant(
        "redrive-never-deletes", "redrive", "delivery/runtime/redrive.py",
        "not_deleted = set(await dlq.delete(sent)) if sent else set()", "not_deleted: set[str] = set()",
        (FAILURES,), "the DLQ copy of a redriven message stays (hidden, then a duplicate)",
    ),
    Mutant(
        "redrive-deletes-before-send", "redrive", "delivery/runtime/redrive.py",
        "        sent = await _send(_sendable(due, report), queue, report) if due else []",
        "        await dlq.delete(list(due))\n"
        "        sent = await _send(_sendable(due, report), queue, report) if due else []",
        (FAILURES,), "the DLQ copy is deleted before its send succeeded (lost when the send fails)",
    ),
    Mutant(
        "router-first-target-only", "router fan-out", "delivery/router/matching.py",
        "        for target_id in rule.target_ids:", "        for target_id in rule.target_ids[:1]:",
        (ROUTING,), "a subscription delivers to its first target only",
    ),
    Mutant(
        "unknown-target-requeued", "isolation", "delivery/routing.py",
        "return Decided(message, poison(missing), target_id, correlation_id)",
        "return Decided(message, infrastructure_retry(CONFIG_UNAVAILABLE, missing, receive_count=1, "
        "rand=rand), target_id, correlation_id)",
        (ISOLATION,), "an unknown target is retried as if the config were unavailable",
    ),
)  # fmt: skip
