"""State shared by the webhook and admin listeners: journal, credentials, fault scripts, connections."""

from __future__ import annotations

import itertools
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from mock_webhook.certs import CertBundle
from mock_webhook.clientcert import AlbCertVerifier, TlsVerdict, handshake_verdict
from mock_webhook.faults import FaultAction, FaultScript, ScriptRunner
from mock_webhook.handshake import HandshakeRecord
from mock_webhook.journal import DEFAULT_BODY_CAP_BYTES, DEFAULT_JOURNAL_BYTES, Journal
from mock_webhook.listener import HandshakeFailure
from mock_webhook.record import normalise_path
from mock_webhook.verify import Credentials

MTLS_MODES = ("off", "optional", "required")
WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class MockSettings:
    """How one mock instance behaves (frozen; per-path data changes live in ``MockState``)."""

    mtls: str = "optional"
    alb_passthrough: bool = False
    journal_size: int = 10_000
    credentials: Credentials = field(default_factory=Credentials)
    journal_max_bytes: int = DEFAULT_JOURNAL_BYTES  # the journal's memory bound, besides its count
    body_cap_bytes: int = DEFAULT_BODY_CAP_BYTES  # a longer body is journaled truncated (+ length, SHA-256)
    header_timeout_s: float = 10.0  # a request head must arrive within this of its first byte / the connect
    body_timeout_s: float = 30.0  # and its body within this once the head is in
    idle_timeout_s: float = 60.0  # a keep-alive connection with no request is closed after this
    max_connections: int = 1024  # connections over this are closed as soon as they are accepted

    def __post_init__(self) -> None:
        issues = []
        if self.mtls not in MTLS_MODES:
            issues.append(f"mtls: must be one of {', '.join(MTLS_MODES)}, got {self.mtls!r}")
        for name in ("journal_size", "journal_max_bytes", "body_cap_bytes", "max_connections"):
            if getattr(self, name) < 1:
                issues.append(f"{name}: must be >= 1")
        for name in ("header_timeout_s", "body_timeout_s", "idle_timeout_s"):
            if not getattr(self, name) > 0:
                issues.append(f"{name}: must be > 0")
        if issues:
            raise ValueError("; ".join(issues))


@dataclass(frozen=True, slots=True)
class Connection:
    connection_id: int
    tls: TlsVerdict


class MockState:
    def __init__(self, settings: MockSettings, certs: CertBundle) -> None:
        self.settings = settings
        self.certs = certs
        self.journal = Journal(settings.journal_size, settings.journal_max_bytes)
        self.refused_connections = 0  # over max_connections
        self.timed_out_connections = 0  # header or body too slow
        self.alb = AlbCertVerifier(certs.ca_cert) if settings.alb_passthrough else None
        self._credentials: dict[str, Credentials] = {}
        self._runners: dict[str, ScriptRunner] = {}
        self._connections: dict[object, Connection] = {}
        self._connection_ids = itertools.count(1)

    # -- credentials -------------------------------------------------------------------------------
    def credentials_for(self, path: str) -> Credentials:
        return self._credentials.get(path) or self._credentials.get(WILDCARD) or self.settings.credentials

    def set_credentials(self, path: str, creds: Credentials) -> None:
        self._credentials[normalise_path(path)] = creds

    def delete_credentials(self, path: str | None = None) -> None:
        if path is None:
            self._credentials.clear()
        else:
            self._credentials.pop(normalise_path(path), None)

    def credentials(self) -> dict[str, Credentials]:
        return dict(self._credentials)

    # -- fault scripts -----------------------------------------------------------------------------
    def set_script(self, path: str, script: FaultScript, now_s: float) -> None:
        self._runners[normalise_path(path)] = ScriptRunner(script, now_s)

    def delete_scripts(self, path: str | None = None) -> None:
        if path is None:
            self._runners.clear()
        else:
            self._runners.pop(normalise_path(path), None)

    def scripts(self) -> dict[str, FaultScript]:
        return {path: runner.script for path, runner in self._runners.items()}

    def next_fault(self, path: str, now_s: float) -> FaultAction | None:
        if not self._runners:
            return None
        runner = self._runners.get(path) or self._runners.get(WILDCARD)
        return runner.next_action(now_s) if runner is not None else None

    # -- failed handshakes -------------------------------------------------------------------------
    def handshake_failed(self, failure: HandshakeFailure) -> None:
        hello = failure.hello
        self.journal.append_handshake(
            HandshakeRecord(
                self.journal.next_seq(),
                time.time() * 1000,
                failure.peer,
                hello.sni if hello else None,
                hello.version_offered if hello else None,
                failure.client_cert_presented,
                failure.client_cert,
                failure.reason,
                failure.error,
            )
        )

    # -- connections -------------------------------------------------------------------------------
    def connection_opened(self, key: object, transport: Any) -> Connection:
        """Per-connection facts (id, handshake client certificate), computed once when it is accepted."""
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        conn = Connection(next(self._connection_ids), handshake_verdict(_peer_der(ssl_object)))
        self._connections[key] = conn
        return conn

    def connection_closed(self, key: object) -> None:
        self._connections.pop(key, None)

    def connection(self, key: object, transport: Any) -> Connection:
        """The facts of an open connection (``key`` is its aiohttp protocol object)."""
        conn = self._connections.get(key)
        return conn if conn is not None else self.connection_opened(key, transport)


def _peer_der(ssl_object: ssl.SSLObject | None) -> bytes | None:
    if ssl_object is None:
        return None
    return ssl_object.getpeercert(binary_form=True)
