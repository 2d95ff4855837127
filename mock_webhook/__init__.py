"""mock_webhook — an mTLS mock webhook with verification, fault scripts, a journal and an inbox page."""

from mock_webhook.certs import CertBundle, CertsError, spki_pin, spki_pin_of_pem
from mock_webhook.clientcert import TlsVerdict
from mock_webhook.faults import FaultScript, FaultScriptError, parse_script
from mock_webhook.journal import Journal, RequestFilter
from mock_webhook.record import RecordedRequest
from mock_webhook.server import Expectation, MockWebhook, WaitTimeout
from mock_webhook.verify import Credentials, SignatureVerdict

__all__ = [
    "CertBundle",
    "CertsError",
    "Credentials",
    "Expectation",
    "FaultScript",
    "FaultScriptError",
    "Journal",
    "MockWebhook",
    "RecordedRequest",
    "RequestFilter",
    "SignatureVerdict",
    "TlsVerdict",
    "WaitTimeout",
    "parse_script",
    "spki_pin",
    "spki_pin_of_pem",
]
