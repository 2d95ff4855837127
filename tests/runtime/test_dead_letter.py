"""DLQ attributes (P10) as a pure function, and what SQS would refuse in them."""

from __future__ import annotations

import hashlib
import json

from delivery.dead_letter import dead_letter_attributes, fit_dead_letter, offloaded, sqs_text, too_large
from delivery.models import Disposition, Outcome, ReceivedMessage
from delivery.queue.sqs_limits import MAX_MESSAGE_BYTES, message_bytes
from delivery.runtime.redrive import RedriveFilter

MESSAGE = ReceivedMessage("id", "rh", '{"targetId": "t-body"}', 4, 1_700_000_000_123, 1_700_000_000_000)


def test_every_attribute_is_present_and_bounded() -> None:
    outcome = Outcome(
        Disposition.DEAD_LETTER,
        "HTTP_CLIENT_ERROR",
        error_code="HTTP_CLIENT_ERROR",
        error_message="x" * 5000 + "\x00",
        status_code=422,
    )
    attrs = dict(dead_letter_attributes(outcome, MESSAGE, client_id="c", target_id="t"))
    assert attrs == {
        "ERROR_CODE": "HTTP_CLIENT_ERROR",
        "ERROR_MESSAGE": "x" * 1024,
        "STATUS_CODE": "422",
        "CLIENT_ID": "c",
        "TARGET_ID": "t",
        "RETRY_ATTEMPTS": "4",
        "FIRST_RECEIVED_AT": "2023-11-14T22:13:20.123Z",
    }


def test_no_response_means_no_status_and_a_message_is_always_there() -> None:
    outcome = Outcome(Disposition.DEAD_LETTER, "INVALID_MESSAGE", error_code="INVALID_MESSAGE")
    attrs = dict(dead_letter_attributes(outcome, MESSAGE, client_id="c", target_id=None))
    assert "STATUS_CODE" not in attrs
    assert attrs["ERROR_MESSAGE"] == "INVALID_MESSAGE"
    assert attrs["TARGET_ID"] == "unknown"


def test_characters_sqs_refuses_are_replaced() -> None:
    assert sqs_text("a\x00b\x1fc\td\u00e9\U0001f600") == "a\ufffdb\ufffdc\td\u00e9\U0001f600"


def test_redrive_filter_falls_back_to_the_body_for_reference_dead_letters() -> None:
    assert RedriveFilter(target_id="t-body").matches(MESSAGE)  # no attributes: the reference's DLQ messages
    assert not RedriveFilter(target_id="other").matches(MESSAGE)
    assert not RedriveFilter(error_code="HTTP_CLIENT_ERROR").matches(MESSAGE)


def _attrs(message: str = "boom") -> tuple[tuple[str, str], ...]:
    outcome = Outcome(Disposition.DEAD_LETTER, "HTTP_CLIENT_ERROR", error_code="HTTP_CLIENT_ERROR",
                      error_message=message, status_code=400)  # fmt: skip
    return dead_letter_attributes(outcome, MESSAGE, client_id="c", target_id="t")


def test_a_dead_letter_that_fits_is_unchanged() -> None:
    assert fit_dead_letter("{}", _attrs()) == ("{}", _attrs())


def test_error_message_is_trimmed_first_and_the_body_kept_whole() -> None:
    attrs = _attrs("é" * 1000)
    body = "b" * (MAX_MESSAGE_BYTES - message_bytes("", attrs) + 100)  # 100 bytes too many
    fitted_body, fitted = fit_dead_letter(body, attrs)
    assert fitted_body == body
    assert message_bytes(fitted_body, fitted) <= MAX_MESSAGE_BYTES
    message = dict(fitted)["ERROR_MESSAGE"]
    assert message.endswith("…[trimmed]")
    assert message.startswith("é" * 900)
    assert {k: v for k, v in fitted if k != "ERROR_MESSAGE"} == {
        k: v for k, v in attrs if k != "ERROR_MESSAGE"
    }


def test_a_body_too_large_alone_is_payload_too_large_with_its_attributes_and_digest() -> None:
    body = "x" * MAX_MESSAGE_BYTES
    fitted_body, fitted = fit_dead_letter(body, _attrs())
    doc = dict(fitted)
    assert message_bytes(fitted_body, fitted) <= MAX_MESSAGE_BYTES
    assert doc["ERROR_CODE"] == "PAYLOAD_TOO_LARGE"
    assert doc["ORIGINAL_ERROR_CODE"] == "HTTP_CLIENT_ERROR"
    assert doc["BODY_BYTES"] == str(MAX_MESSAGE_BYTES)
    assert doc["BODY_SHA256"] == hashlib.sha256(body.encode()).hexdigest()
    assert body.startswith(fitted_body)
    assert len(fitted_body) > MAX_MESSAGE_BYTES - 2048
    assert {"CLIENT_ID", "TARGET_ID", "STATUS_CODE", "RETRY_ATTEMPTS", "FIRST_RECEIVED_AT"} <= doc.keys()


def test_an_offloaded_body_becomes_a_pointer_with_its_location_size_and_digest() -> None:
    body = "x" * MAX_MESSAGE_BYTES
    assert too_large(body, _attrs())
    assert not too_large("x" * 1000, _attrs("m" * 1024))
    pointer, attrs = offloaded(body, _attrs(), "s3://b/dead-letter-bodies/c/id")
    doc = dict(attrs)
    assert json.loads(pointer) == {
        "payloadTooLarge": {
            "location": "s3://b/dead-letter-bodies/c/id",
            "bytes": MAX_MESSAGE_BYTES,
            "sha256": hashlib.sha256(body.encode()).hexdigest(),
        }
    }
    assert (doc["ERROR_CODE"], doc["ORIGINAL_ERROR_CODE"]) == ("PAYLOAD_TOO_LARGE", "HTTP_CLIENT_ERROR")
    assert doc["BODY_LOCATION"] == "s3://b/dead-letter-bodies/c/id"
    assert fit_dead_letter(pointer, attrs) == (pointer, attrs)
