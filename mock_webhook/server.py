"""``MockWebhook``: both listeners in the running event loop, with a Python API for tests.

async with MockWebhook(mtls="required") as mock:
    mock.set_credentials("target-1", api_key="k", application_id="app")
    mock.expect("target-1").respond_with(status=503, times=2)
    ...  # deliver to mock.url_for("target-1")
    [rec] = await mock.wait_for(count=1, path="target-1", timeout_s=5)
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from mock_webhook.admin import make_admin_app
from mock_webhook.certs import CA_FILE, CertBundle
from mock_webhook.faults import FaultScript, parse_script
from mock_webhook.handshake import HandshakeRecord
from mock_webhook.journal import RequestFilter
from mock_webhook.listener import WatchedTlsSite
from mock_webhook.record import RecordedRequest, normalise_path
from mock_webhook.state import MockSettings, MockState
from mock_webhook.verify import Credentials
from mock_webhook.webhook import WebhookServer

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class WaitTimeout(TimeoutError):
    """``wait_for`` ran out of time; ``found`` holds the matching records seen so far."""

    def __init__(self, message: str, found: list[RecordedRequest]) -> None:
        super().__init__(message)
        self.found = found


class Expectation:
    """Builder appending steps to one path's fault script (pytest-httpserver style).

    Steps are added after the path's current script (its remaining position is reset).
    """

    def __init__(self, mock: MockWebhook, path: str) -> None:
        current = mock.state.scripts().get(normalise_path(path))
        source = json.loads(current.source) if current is not None else {}
        self._mock, self._path = mock, path
        self._steps: list[dict[str, Any]] = list(source.get("steps", []))
        self._rest = {key: value for key, value in source.items() if key != "steps"}  # seed, loop, rateLimit

    def _add(self, step: dict[str, Any]) -> Expectation:
        self._steps.append(step)
        self._mock.script(self._path, {**self._rest, "steps": self._steps})
        return self

    def respond_with(
        self,
        status: int,
        *,
        times: int | None = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Expectation:
        step: dict[str, Any] = {"status": status, "times": times, "headers": dict(headers or {})}
        return self._add(step if body is None else {**step, "body": body})

    def delay(self, delay_ms: float, *, times: int | None = 1) -> Expectation:
        return self._add({"delayMs": delay_ms, "times": times})

    def reset(self, *, times: int | None = 1) -> Expectation:
        return self._add({"reset": True, "times": times})


class MockWebhook:
    def __init__(
        self,
        *,
        mtls: str = "optional",
        alb_passthrough: bool = False,
        certs: CertBundle | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_port: int | None = 0,
        credentials: Credentials | None = None,
        journal_size: int = 10_000,
        faults: Mapping[str, FaultScript | Sequence[object] | Mapping[str, object]] | None = None,
        handshake_journal: bool = True,
        **limits: Any,  # MockSettings limits: journal_max_bytes, body_cap_bytes, *_timeout_s, max_connections
    ) -> None:
        self.handshake_journal = handshake_journal  # False: the loop's own (faster) TLS, failures unrecorded
        self.settings = MockSettings(
            mtls, alb_passthrough, journal_size, credentials or Credentials(), **limits
        )
        self.certs = (
            certs if isinstance(certs, CertBundle) else CertBundle.load(certs) if certs else CertBundle.mint()
        )
        self.ca_path = certs / CA_FILE if isinstance(certs, Path) else None
        self.state = MockState(self.settings, self.certs)
        self.host, self._port, self._admin_port = host, port, admin_port
        self._runners: list[web.BaseRunner] = []
        self.port = 0
        self.admin_port_bound: int | None = None
        self._info: dict[str, Any] = {}
        for path, script in (faults or {}).items():
            self.script(path, script)

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> MockWebhook:
        tls_mode = "off" if self.settings.alb_passthrough else self.settings.mtls
        ssl_ctx = self.certs.server_ssl_context(tls_mode)
        webhook = web.ServerRunner(WebhookServer(self.state))
        await webhook.setup()
        self._runners.append(webhook)
        site: web.TCPSite
        if self.handshake_journal:
            on_failure = self.state.handshake_failed
            site = WatchedTlsSite(webhook, self.host, self._port, context=ssl_ctx, on_failure=on_failure)
        else:
            site = web.TCPSite(webhook, self.host, self._port, ssl_context=ssl_ctx, reuse_address=True)
        await site.start()
        self.port = site.port
        if self._admin_port is not None:
            admin = web.AppRunner(make_admin_app(self.state, self._info), access_log=None)
            self.admin_port_bound = await self._serve(admin, "127.0.0.1", self._admin_port, None)
        self._info.update(self.info())
        return self

    async def _serve(
        self, runner: web.BaseRunner, host: str, port: int, ssl_ctx: ssl.SSLContext | None
    ) -> int:
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port, ssl_context=ssl_ctx, reuse_address=True)
        await site.start()
        return site.port

    async def close(self) -> None:
        while self._runners:
            await self._runners.pop().cleanup()

    async def __aenter__(self) -> MockWebhook:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- addresses and material --------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + normalise_path(path)

    @property
    def admin_url(self) -> str | None:
        return None if self.admin_port_bound is None else f"http://127.0.0.1:{self.admin_port_bound}"

    @property
    def ca_pem(self) -> bytes:
        return self.certs.ca_pem

    @property
    def server_pin(self) -> str:
        return self.certs.server_pin

    @property
    def client_cert_pem(self) -> bytes | None:
        return self.certs.client_cert_pem

    @property
    def client_key_pem(self) -> bytes | None:
        return self.certs.client_key_pem

    def client_ssl_context(self, *, with_client_cert: bool = True) -> ssl.SSLContext:
        return self.certs.client_ssl_context(with_client_cert=with_client_cert)

    def info(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "adminUrl": self.admin_url,
            "caPath": str(self.ca_path) if self.ca_path else None,
            "certsDir": str(self.ca_path.parent) if self.ca_path else None,
            "serverPin": self.server_pin,
            "mtls": self.settings.mtls,
            "albPassthrough": self.settings.alb_passthrough,
            "journalCapacity": self.settings.journal_size,
            "journalMaxBytes": self.settings.journal_max_bytes,
            "handshakeJournal": self.handshake_journal,
        }

    # -- behaviour ---------------------------------------------------------------------------------
    def script(self, path: str, steps: FaultScript | Sequence[object] | Mapping[str, object]) -> FaultScript:
        parsed = steps if isinstance(steps, FaultScript) else parse_script(steps)
        self.state.set_script(path, parsed, time.monotonic())
        return parsed

    def expect(self, path: str) -> Expectation:
        return Expectation(self, path)

    def clear_scripts(self, path: str | None = None) -> None:
        self.state.delete_scripts(path)

    def set_credentials(
        self,
        path: str,
        *,
        api_key: str | None = None,
        api_key_header: str = "x-api-key",
        application_id: str | None = None,
        webhook_secrets: Sequence[str] = (),
        enforce: bool = False,
        schemes: Sequence[str] = (),
    ) -> Credentials:
        creds = Credentials(
            api_key_header, api_key, application_id, tuple(webhook_secrets), enforce, schemes=tuple(schemes)
        )
        self.state.set_credentials(path, creds)
        return creds

    # -- journal -----------------------------------------------------------------------------------
    def requests(
        self,
        path: str | None = None,
        message_id: str | None = None,
        since_ms: float | None = None,
        limit: int | None = None,
    ) -> list[RecordedRequest]:
        flt = RequestFilter(normalise_path(path) if path else None, message_id, since_ms)
        return self.state.journal.query(flt, limit)

    async def wait_for(
        self,
        count: int = 1,
        *,
        path: str | None = None,
        message_id: str | None = None,
        since_ms: float | None = None,
        timeout_s: float = 10.0,
    ) -> list[RecordedRequest]:
        """Return the matching records once ``count`` exist; raise ``WaitTimeout`` after ``timeout_s``."""
        flt = RequestFilter(normalise_path(path) if path else None, message_id, since_ms)
        reached, found = await self.state.journal.wait(flt, count, timeout_s)
        if not reached:
            raise WaitTimeout(f"{len(found)} of {count} requests matching {flt} after {timeout_s}s", found)
        return found

    def assert_received(
        self, message_id: str, count: int = 1, *, path: str | None = None
    ) -> list[RecordedRequest]:
        """Raise ``AssertionError`` unless exactly ``count`` requests carried ``message_id``."""
        found = self.requests(path=path, message_id=message_id)
        if len(found) != count:
            statuses = [rec.response_status for rec in found]
            raise AssertionError(
                f"expected {count} request(s) for {message_id!r}, got {len(found)}: {statuses}"
            )
        return found

    def handshakes(self) -> list[HandshakeRecord]:
        """Failed TLS handshakes on the webhook port, oldest first."""
        found = self.state.journal.entries(RequestFilter(kind="handshake"))
        return [entry for entry in found if isinstance(entry, HandshakeRecord)]

    async def wait_for_handshakes(self, count: int = 1, *, timeout_s: float = 10.0) -> list[HandshakeRecord]:
        """The failed handshakes once ``count`` exist; ``WaitTimeout`` after ``timeout_s``."""
        reached, _ = await self.state.journal.wait_entries(RequestFilter(kind="handshake"), count, timeout_s)
        if not reached:
            raise WaitTimeout(f"{len(self.handshakes())} of {count} failed handshakes after {timeout_s}s", [])
        return self.handshakes()

    def clear(self) -> int:
        return self.state.journal.clear()

    def stats(self) -> dict[str, object]:
        return self.state.journal.stats()
