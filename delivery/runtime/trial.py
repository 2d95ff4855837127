"""One trial delivery, exactly as the engine makes it: sign -> HTTPS (mTLS, pinning) -> classify -> decide.

``callbacks send`` uses this to show a client developer what their endpoint gets and what the engine would
do with the answer. Everything on the way is the engine's own code (``attempt.sign``, ``HttpsTransport``,
``classify``, ``backoff.decide``); only the gate, the queue and the retries are left out (this is the first
attempt of a fresh message, so a retryable failure shows as ``retry``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from delivery.attempt import sign
from delivery.backoff import decide
from delivery.classify import classify
from delivery.config.client import CallbackTarget
from delivery.envelope import Envelope
from delivery.errors import SigningError
from delivery.models import (
    Classification,
    HttpResult,
    Outcome,
    OutgoingRequest,
    ReceivedMessage,
    TransportFailure,
)
from delivery.stages import Routed
from delivery.transport.egress import EgressPolicy
from delivery.transport.https import HttpsTransport
from delivery.transport.material import TlsSettings
from delivery.transport.pinning import PeerTls, pin_matches
from delivery.transport.provider import TlsProvider

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
LOOPBACK_CIDRS = ("127.0.0.0/8", "::1/128")  # what ``callbacks send`` allows on top of ALLOWED_EGRESS_CIDRS
MIDPOINT_JITTER = 0.5  # the retry delay shown is the middle of the jitter range


@dataclass(frozen=True, slots=True)
class Trial:
    target: CallbackTarget
    envelope: Envelope
    application_id: str | None = None
    tls: TlsSettings | None = None  # client certificate / CA files
    timeout_s: float = 30.0
    egress: EgressPolicy = field(default_factory=lambda: trial_egress(None))  # SPEC P15: loopback allowed


@dataclass(frozen=True, slots=True)
class TrialReport:
    request: OutgoingRequest
    result: HttpResult | TransportFailure
    classification: Classification
    outcome: Outcome
    peer: PeerTls | None

    @property
    def pin_verdict(self) -> str:
        pins = self.request.spki_pins
        actual = self.peer.leaf_pin if self.peer else None
        if not pins:
            return "not pinned"
        if actual is None:
            return "not checked (no TLS connection)"
        return "matches" if pin_matches(actual, pins) else "does not match"


def trial_egress(allowed_text: str | None) -> EgressPolicy:
    """The policy of a trial: loopback plus ``ALLOWED_EGRESS_CIDRS`` (raises ``EgressPolicyError`` if bad)."""
    extra = EgressPolicy.from_text(allowed_text)
    return EgressPolicy(EgressPolicy.allowing(*LOOPBACK_CIDRS).allowed + extra.allowed)


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


def signed_request(trial: Trial, now_ms: int) -> OutgoingRequest:
    """The exact request the engine would send for this envelope and target."""
    target, signing = trial.target, trial.target.delivery.signing
    needs_app_id = signing.scheme == "reference" or signing.include_reference_header
    if needs_app_id and not trial.application_id:
        raise SigningError(
            f"target {target.target_id!r} signs with the reference scheme: give --application-id "
            "(the client's entry in the applications map)"
        )
    message = ReceivedMessage(
        message_id=str(uuid.uuid4()),
        receipt_handle="callbacks-send",
        body="",
        receive_count=1,
        first_receive_ms=now_ms,
        sent_ms=now_ms,
    )
    routed = Routed(message, trial.envelope, target)
    return sign(routed, trial.application_id or "", now_ms=now_ms, request_timeout_s=trial.timeout_s).request


async def run_trial(trial: Trial) -> TrialReport:
    """Sign and deliver once; classify the answer as the engine would on a first attempt."""
    now_ms = int(time.time() * 1000)
    request = signed_request(trial, now_ms)
    provider = TlsProvider(trial.tls) if trial.tls is not None else None
    transport = HttpsTransport(provider, egress=trial.egress, keep_peer_tls=True)
    try:
        result = await transport.send(request)
        peer = transport.peer_tls()
    finally:
        await transport.close()
    done_ms = int(time.time() * 1000)
    classification = classify(result, done_ms / 1000)
    outcome = decide(
        classification,
        receive_count=1,
        first_receive_ms=now_ms,
        now_ms=done_ms,
        max_retry_s=trial.target.delivery.max_retry_duration_seconds,
        rand=MIDPOINT_JITTER,
    )
    return TrialReport(request, result, classification, outcome, peer)


__all__ = [
    "LOOPBACK_CIDRS",
    "Trial",
    "TrialReport",
    "is_loopback",
    "run_trial",
    "signed_request",
    "trial_egress",
]
