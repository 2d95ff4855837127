"""moto's server with an SQS backend that costs O(1) per delete and visibility change.

moto 5 finds a message by receipt handle with a Python loop over every message of the queue (building a
list of each message's handles), so deleting a 2,000-message backlog in batches of 10 costs millions of
steps and the local stack measured the emulator rather than the engine. This module keeps moto's own
semantics (handles of earlier receives stay valid for a delete, a deleted handle deletes again quietly,
the 12 h visibility limit, redrive, attributes) and changes only how a message is found:

- every receipt handle moto issues is recorded in a dict handle -> message when it is issued;
- a delete or visibility change looks the handle up there and checks the message is still on that queue;
- the clock is ``time.time()`` (moto builds two datetimes per reading) and is read once per pass over a
  queue, not twice per message;
- the retention check of each received message reads the queue's retention period instead of computing
  every queue attribute (three passes over the queue per message), and GetQueueAttributes computes the
  attributes once, not twice per name asked;
- a send (which reads one queue setting through every attribute) skips the message counts;
- the list of moto's service folders (read from disk on every request to route it) is read once.

Run as ``python -m harness.moto_sqs_patch -H 127.0.0.1 -p PORT`` (the arguments of ``moto.server``).
"""

from __future__ import annotations

import datetime
import sys
import threading
import time
from typing import Any

from moto import backends
from moto.core import utils as moto_utils
from moto.server import main as moto_main
from moto.sqs import models
from moto.sqs.exceptions import InvalidAttributeName, InvalidParameterValue, ReceiptHandleIsInvalid

MAX_TOTAL_VISIBILITY_MS = 43_200 * 1000

# Every receipt handle moto issued for a message still on some queue (entries go when it is deleted).
_HANDLES: dict[str, Any] = {}

_original_mark_received = models.Message.mark_received
_original_get_queue_attributes = models.SQSBackend.get_queue_attributes
_original_send_message = models.SQSBackend.send_message
_sending = threading.local()  # set while a send runs: it reads no message count


def _unix_time(dt: datetime.datetime | None = None) -> float:
    return time.time() if dt is None else moto_utils.unix_time(dt)


def _unix_time_millis(dt: datetime.datetime | None = None) -> float:
    return time.time() * 1000.0 if dt is None else moto_utils.unix_time_millis(dt)


def _mark_received(self: Any, visibility_timeout: int | None = None) -> None:
    _original_mark_received(self, visibility_timeout)
    _HANDLES[self.receipt_handle] = self


def _on_queue(queue: Any, receipt_handle: str) -> Any:
    """The message of ``queue`` that ever had ``receipt_handle``, or None."""
    message = _HANDLES.get(receipt_handle)
    # Message has no __eq__: list membership and removal compare identity, in C
    if message is None or message not in queue._messages:
        return None
    return message


def _delete_message(self: Any, receipt_handle: str) -> None:
    if receipt_handle in self.deleted_messages:
        return  # already deleted: SQS accepts it again
    message = _on_queue(self, receipt_handle)
    if message is None:
        raise ReceiptHandleIsInvalid()
    self.pending_messages.discard(message)
    handles = [h for h in message.all_receipt_handles if h is not None]
    self.deleted_messages.update(handles)
    self._messages.remove(message)
    for handle in handles:
        _HANDLES.pop(handle, None)


def _change_message_visibility(
    self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    queue = self.get_queue(queue_name)
    message = _on_queue(queue, receipt_handle)
    if message is None:
        raise ReceiptHandleIsInvalid
    given_ms = _unix_time_millis() + int(visibility_timeout) * 1000
    if given_ms - message.sent_timestamp > MAX_TOTAL_VISIBILITY_MS:
        raise InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
            "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )
    message.change_visibility(visibility_timeout)
    if message.visible and message in queue.pending_messages:
        queue.pending_messages.remove(message)


def _visible_messages(self: Any) -> list[Any]:
    now = time.time() * 1000.0
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _count_delayed(self: Any) -> int:
    if getattr(_sending, "active", False):
        return 0
    now = time.time() * 1000.0
    return sum(1 for m in self._messages if now < m.delayed_until)


def _count_not_visible(self: Any) -> int:
    if getattr(_sending, "active", False):
        return 0
    now = time.time() * 1000.0
    return sum(1 for m in self._messages if not now > m.visible_at)


def _count_visible(self: Any) -> int:
    return 0 if getattr(_sending, "active", False) else len(self.messages)


def _send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
    _sending.active = True
    try:
        return _original_send_message(self, *args, **kwargs)
    finally:
        _sending.active = False


def _retained(self: Any, queue_name: str, message: Any) -> bool:
    retention_s = int(self.get_queue(queue_name).message_retention_period)
    return bool(retention_s + message.sent_timestamp / 1000 > time.time())


def _get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
    if not attribute_names or "All" in attribute_names:
        return _original_get_queue_attributes(self, queue_name, attribute_names)
    _original_get_queue_attributes(self, queue_name, [])  # the queue exists (or moto's error)
    queue = self.get_queue(queue_name)
    valid = {"All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES}
    invalid = next((name for name in attribute_names if name not in valid), None)
    if invalid is not None:
        raise InvalidAttributeName(invalid)
    everything = queue.attributes
    return {n: everything[n] for n in attribute_names if everything.get(n) is not None}


def apply() -> None:
    """Patch moto's SQS models in this process (idempotent)."""
    modules = tuple(backends.list_of_moto_modules())
    setattr(backends, "list_of_moto_modules", lambda: modules)  # noqa: B010
    models.Message.mark_received = _mark_received  # type: ignore[method-assign]
    models.Queue.delete_message = _delete_message  # type: ignore[method-assign]
    models.Queue.messages = property(_visible_messages)  # type: ignore[assignment,method-assign]
    models.Queue.approximate_number_of_messages_delayed = property(_count_delayed)  # type: ignore[assignment,method-assign]
    models.Queue.approximate_number_of_messages_not_visible = property(_count_not_visible)  # type: ignore[assignment,method-assign]
    models.Queue.approximate_number_of_messages = property(_count_visible)  # type: ignore[assignment,method-assign]
    models.SQSBackend.send_message = _send_message  # type: ignore[method-assign]
    models.SQSBackend.change_message_visibility = _change_message_visibility  # type: ignore[method-assign]
    models.SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
    models.SQSBackend.get_queue_attributes = _get_queue_attributes  # type: ignore[method-assign]
    setattr(models, "unix_time", _unix_time)  # noqa: B010 (the names moto's SQS models imported)
    setattr(models, "unix_time_millis", _unix_time_millis)  # noqa: B010


def main(argv: list[str] | None = None) -> None:
    apply()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
