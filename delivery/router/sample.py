"""A callback payload from a sample document (pure): what ``callbacks send`` delivers.

The document may be

- a status event (CloudEvent, as in ``fixtures/events/``): transformed exactly as the router does
  (``build_callback``), so the payload and its idempotency key are the ones a client would receive;
- a delivery-queue envelope ``{"payload", "subscriptionId", "targetId"}``: its payload;
- a callback payload ``{"data": [...]}``: used as it is.

Each is checked as the engine checks a queue message (``decode_envelope``): a payload the engine would
dead-letter as poison is refused here with the same reason.
"""

from __future__ import annotations

import json
from typing import Any

from delivery.envelope import Envelope, decode_envelope
from delivery.errors import PoisonMessage
from delivery.router.events import Rejection
from delivery.router.payload import build_callback, envelope_body
from delivery.router.validation import validate_event
from delivery.router.vocabulary import DEFAULT_MESSAGE_ROOT_URI


class SampleError(ValueError):
    """The sample document cannot become a callback (the message says why)."""


def _payload_json(doc: dict[str, Any], root_uri: str) -> str:
    if "specversion" in doc:
        event = validate_event(doc)
        if isinstance(event, Rejection):
            raise SampleError(f"the status event is not valid: {event.message}")
        return build_callback(event, root_uri).payload_json
    if "payload" in doc:
        return json.dumps(doc["payload"], separators=(",", ":"), ensure_ascii=False)
    if "data" in doc:
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    raise SampleError("expected a status event (specversion), an envelope (payload) or a callback (data)")


def sample_envelope(
    text: str,
    target_id: str,
    *,
    subscription_id: str = "callbacks-send",
    root_uri: str = DEFAULT_MESSAGE_ROOT_URI,
) -> Envelope:
    """The envelope the router would put on the delivery queue for ``text`` and ``target_id``."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise SampleError(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise SampleError("expected a JSON object")
    body = envelope_body(_payload_json(doc, root_uri), subscription_id, target_id)
    try:
        return decode_envelope(body)
    except PoisonMessage as exc:
        raise SampleError(f"the engine would dead-letter this payload: {exc}") from None


__all__ = ["SampleError", "sample_envelope"]
