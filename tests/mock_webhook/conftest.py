"""Fixtures for the mock webhook tests: one minted certificate set per session, a mock per test."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from mock_webhook import CertBundle, MockWebhook

API_KEY, APP_ID = "test-api-key", "test-app-id"


def callback_body(message_id: str = "msg-1", *, idempotency_key: str = "idem-1") -> bytes:
    item = {
        "type": "MessageStatus",
        "attributes": {"messageId": message_id, "messageStatus": "delivered", "channels": []},
        "links": {"message": f"/v1/message-batches/messages/{message_id}"},
        "meta": {"idempotencyKey": idempotency_key},
    }
    return json.dumps({"data": [item]}, separators=(",", ":")).encode()


def reference_headers(body: bytes, api_key: str = API_KEY, app_id: str = APP_ID) -> dict[str, str]:
    sig = hmac.new(f"{app_id}.{api_key}".encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-api-key": api_key, "x-hmac-sha256-signature": sig}


@pytest.fixture(scope="session")
def bundle() -> CertBundle:
    return CertBundle.mint()


@pytest.fixture(scope="session")
def foreign_bundle() -> CertBundle:
    """Certificates from a different CA (must never be accepted)."""
    return CertBundle.mint()


@pytest.fixture
async def mock(bundle: CertBundle) -> AsyncIterator[MockWebhook]:
    async with MockWebhook(mtls="optional", certs=bundle) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
