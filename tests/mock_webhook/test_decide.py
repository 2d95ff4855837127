"""The handler's shortcut for the usual request (``_plain_ok`` -> 200 ``Callback received``) agrees with
``decide`` on every combination of API-key verdict, signature verdict, enforcement and body facts."""

from __future__ import annotations

import itertools

from mock_webhook.faults import FaultAction
from mock_webhook.reference import RECEIVED, BodyFacts
from mock_webhook.verify import NO_SIGNATURE, REFERENCE_OK, Credentials, SignatureVerdict
from mock_webhook.webhook import OK_REPLY, Reply, _plain_ok, decide

BAD_SIGNATURE = SignatureVerdict("reference", False, "does not match")
FACTS = (
    BodyFacts(None, None, "msg-1", "idem-1", "MessageStatus"),
    BodyFacts(None, None, "force-503-x", None, "MessageStatus"),
    BodyFacts(None, None, "force-503-until-1-x", None, "ChannelStatus"),  # expired: 200
    BodyFacts(None, None, "force-xyz", None, "MessageStatus"),  # not a force pattern: 200
    BodyFacts(400, "Invalid JSON body"),
    BodyFacts(500, "Internal server error"),
)


def test_shortcut_agrees_with_decide() -> None:
    shortcuts = 0
    for key_valid, signature, enforce, facts in itertools.product(
        (None, True, False), (NO_SIGNATURE, REFERENCE_OK, BAD_SIGNATURE), (False, True), FACTS
    ):
        creds = Credentials(api_key="k", application_id="a", enforce=enforce)
        decided = decide(None, key_valid, signature, creds, facts, now_ms=1_000.0)
        if _plain_ok(key_valid, signature, creds, facts):
            shortcuts += 1
            assert decided == OK_REPLY == Reply(200, RECEIVED), (key_valid, signature, enforce, facts)
        else:
            assert decided != OK_REPLY or facts.message_id in ("force-503-until-1-x", "force-xyz")
    assert shortcuts > 0


def test_the_answer_follows_the_readme_order() -> None:
    """README "What a request goes through": a scripted status wins over the 401; a fault step without a
    status (a delay) leaves the 401; then the reference rules."""
    creds = Credentials(api_key="k", application_id="a", enforce=True)
    outage = FaultAction("step 1", status=503, body=b"down")
    delay_only = FaultAction("step 1", delay_s=0.5)
    facts = FACTS[0]
    assert decide(outage, False, BAD_SIGNATURE, creds, facts, now_ms=1_000.0) == Reply(503, b"down")
    assert decide(delay_only, False, REFERENCE_OK, creds, facts, now_ms=1_000.0).status == 401
    assert decide(None, True, BAD_SIGNATURE, creds, facts, now_ms=1_000.0).status == 401
    assert decide(None, True, REFERENCE_OK, creds, FACTS[1], now_ms=1_000.0).status == 503  # force-503
