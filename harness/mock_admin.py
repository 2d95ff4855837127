"""A small synchronous client for the mock webhook's admin HTTP API (CONTRACTS.md "mock_webhook").

Works against the local mock child process and against a deployed mock alike: journal queries, wait-for-N
(server-side long poll), fault scripts, per-path credentials, stats.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any

JournalRecord = dict[str, Any]


class MockAdminError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class WaitResult:
    reached: bool
    requests: list[JournalRecord]


def callback_path(target_id: str) -> str:
    return "/" + target_id.lstrip("/")


class MockAdmin:
    def __init__(self, admin_url: str, *, request_timeout_s: float = 10.0) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.request_timeout_s = request_timeout_s

    def _call(
        self, method: str, path: str, body: object | None = None, *, timeout_s: float | None = None,
        ok: tuple[int, ...] = (200, 201, 204),
    ) -> tuple[int, Any]:  # fmt: skip
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.admin_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout_s or self.request_timeout_s) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
            exc.close()
        except OSError as exc:
            raise MockAdminError(f"{method} {self.admin_url}{path}: {exc}") from exc
        if status not in ok:
            raise MockAdminError(f"{method} {path} -> {status}: {raw[:500]!r}")
        return status, (json.loads(raw) if raw.strip() else None)

    def health(self) -> bool:
        try:
            self._call("GET", "/health", timeout_s=1)
            return True
        except MockAdminError:
            return False

    def requests(
        self, *, path: str | None = None, message_id: str | None = None, since: float | None = None,
        after_seq: int | None = None, limit: int | None = None,
    ) -> list[JournalRecord]:  # fmt: skip
        query = _query(path=path, messageId=message_id, since=since, afterSeq=after_seq, limit=limit)
        _, doc = self._call("GET", "/requests" + query)
        return _records(doc)

    def wait_for(
        self, count: int, *, path: str | None = None, message_id: str | None = None,
        since: float | None = None, after_seq: int | None = None, timeout_s: float = 30.0,
    ) -> WaitResult:  # fmt: skip
        """Server-side wait until ``count`` matching requests exist (reached=False on timeout)."""
        query = _query(
            count=count, timeout=timeout_s, path=path, messageId=message_id, since=since, afterSeq=after_seq
        )
        status, doc = self._call("GET", "/requests/wait" + query, timeout_s=timeout_s + 10, ok=(200, 408))
        return WaitResult(status == 200, _records(doc))

    def expect(self, count: int, **filters: Any) -> list[JournalRecord]:
        """``wait_for`` that fails the test (AssertionError) when the count is not reached."""
        result = self.wait_for(count, **filters)
        if not result.reached:
            raise AssertionError(
                f"mock received {len(result.requests)} of {count} requests matching {filters}"
                + self._seen(result.requests)
            )
        return result.requests

    def _seen(self, records: list[JournalRecord]) -> str:
        """``; statuses 503 x2; fault scripts {...}``: what a failed expectation did find."""
        statuses = Counter(int((r.get("response") or {}).get("status") or 0) for r in records)
        seen = ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items())) or "none"
        try:
            scripts = json.dumps(self.faults() or "none")
        except MockAdminError as exc:
            scripts = f"unknown ({exc})"
        return f"; statuses {seen}; active fault scripts {scripts}"

    def clear(self) -> None:
        self._call("DELETE", "/requests")

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "/stats")[1] or {})

    def faults(self) -> dict[str, Any]:
        """Active fault scripts: callback path -> script."""
        return dict(self._call("GET", "/faults")[1] or {})

    def script(self, path: str, steps: object) -> None:
        """Install a fault script on a callback path (JSON as the mock defines it)."""
        self._call("PUT", "/faults" + callback_path(path), steps)

    def clear_faults(self, path: str | None = None) -> None:
        self._call("DELETE", "/faults" + (callback_path(path) if path else ""), ok=(200, 204, 404))

    def set_credentials(
        self, path: str, *, api_key_header: str, api_key: str, application_id: str,
        webhook_secrets: list[str] | None = None, enforce: bool = False,
    ) -> None:  # fmt: skip
        body = {
            "apiKeyHeader": api_key_header,
            "apiKey": api_key,
            "applicationId": application_id,
            "webhookSecrets": webhook_secrets or [],
            "enforce": enforce,
        }
        self._call("PUT", "/credentials" + callback_path(path), body)


def _query(**params: object) -> str:
    clean = {k: str(v) for k, v in params.items() if v is not None}
    return ("?" + urllib.parse.urlencode(clean)) if clean else ""


def _records(doc: Any) -> list[JournalRecord]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("requests", "items", "records"):
            if isinstance(doc.get(key), list):
                return list(doc[key])
    return []
