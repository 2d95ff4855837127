"""The webhook listener over real HTTPS: reference rules, API keys, signatures, fault scripts."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time

import aiohttp
import pytest
from standardwebhooks import Webhook

from mock_webhook import CertBundle, Credentials, MockWebhook
from tests.mock_webhook.conftest import API_KEY, APP_ID, callback_body, reference_headers

SECRET = "whsec_" + base64.b64encode(b"mock-webhook-test-secret").decode()


async def _post(session: aiohttp.ClientSession, mock: MockWebhook, path: str, body: bytes, headers=None):
    ctx = mock.client_ssl_context()
    async with session.post(mock.url_for(path), data=body, headers=headers or {}, ssl=ctx) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def test_reference_success_records_everything(mock: MockWebhook, session) -> None:
    mock.set_credentials("t1", api_key=API_KEY, application_id=APP_ID)
    body = callback_body("msg-ok", idempotency_key="idem-ok")
    status, _, resp = await _post(session, mock, "t1", body, reference_headers(body))
    [rec] = await mock.wait_for(1, path="t1", timeout_s=5)
    assert (status, resp) == (200, b'{"message":"Callback received"}')
    assert rec.body_bytes == body
    assert (rec.message_id, rec.correlation_id, rec.callback_type) == ("msg-ok", "idem-ok", "MessageStatus")
    assert rec.api_key_valid is True
    assert (rec.signature.scheme, rec.signature.valid) == ("reference", True)
    assert (rec.response_status, rec.response_body) == (200, resp)
    assert API_KEY not in json.dumps(rec.to_json())


async def test_wrong_api_key_is_401_and_signature_still_recorded(mock: MockWebhook, session) -> None:
    mock.set_credentials("t1", api_key=API_KEY, application_id=APP_ID)
    body = callback_body()
    status, _, resp = await _post(session, mock, "t1", body, reference_headers(body, api_key="wrong"))
    [rec] = mock.requests()
    assert (status, resp) == (401, b'{"message":"Unauthorized"}')
    assert rec.api_key_valid is False
    assert rec.signature.valid is False  # signed with the wrong key


async def test_global_credentials_and_unconfigured_paths(bundle: CertBundle, session) -> None:
    async with MockWebhook(
        certs=bundle, credentials=Credentials(api_key=API_KEY, application_id=APP_ID)
    ) as mock:
        body = callback_body()
        assert (await _post(session, mock, "any", body, reference_headers(body)))[0] == 200
        assert (await _post(session, mock, "any", body, {"x-api-key": "nope"}))[0] == 401
    async with MockWebhook(certs=bundle) as open_mock:  # nothing configured: recorded, not enforced
        assert (await _post(session, open_mock, "any", body, {"x-api-key": "whatever"}))[0] == 200
        [rec] = open_mock.requests()
        assert rec.api_key_valid is None
        assert rec.headers["x-api-key"].startswith("***sha256:")


@pytest.mark.parametrize("case", ["valid", "invalid", "missing"])
async def test_reference_signature_verdicts(mock: MockWebhook, session, case: str) -> None:
    mock.set_credentials("t1", api_key=API_KEY, application_id=APP_ID)
    body = callback_body()
    headers = reference_headers(body)
    if case == "invalid":
        headers["x-hmac-sha256-signature"] = reference_headers(body + b" ")["x-hmac-sha256-signature"]
    if case == "missing":
        del headers["x-hmac-sha256-signature"]
    status, _, _ = await _post(session, mock, "t1", body, headers)
    [rec] = mock.requests()
    assert status == 200  # not enforced
    assert rec.signature.valid is {"valid": True, "invalid": False, "missing": False}[case]


@pytest.mark.parametrize("case", ["valid", "invalid", "missing"])
async def test_standard_webhooks_verdicts_and_enforcement(mock: MockWebhook, session, case: str) -> None:
    mock.set_credentials("sw", webhook_secrets=[SECRET], enforce=True)
    body = callback_body()
    stamp = dt.datetime.fromtimestamp(int(time.time()), dt.UTC)
    headers = {"webhook-id": "evt-1", "webhook-timestamp": str(int(stamp.timestamp()))}
    headers["webhook-signature"] = Webhook(SECRET).sign("evt-1", stamp, body.decode())
    if case == "invalid":
        headers["webhook-signature"] = Webhook(SECRET).sign("evt-1", stamp, "tampered")
    if case == "missing":
        headers = {}
    status, _, _ = await _post(session, mock, "sw", body, headers)
    [rec] = mock.requests()
    assert rec.signature.scheme == "standard-webhooks"
    assert rec.signature.valid is (case == "valid")
    assert status == (200 if case == "valid" else 401)


async def test_forced_statuses_from_message_id(mock: MockWebhook, session) -> None:
    forced = callback_body("force-503-abc")
    assert (await _post(session, mock, "t", forced))[::2] == (503, b'{"message":"Forced status 503"}')
    future_ms = int(time.time() * 1000) + 60_000
    assert (await _post(session, mock, "t", callback_body(f"force-429-until-{future_ms}-x")))[0] == 429
    past_ms = int(time.time() * 1000) - 1
    assert (await _post(session, mock, "t", callback_body(f"force-429-until-{past_ms}-x")))[0] == 200
    assert (await _post(session, mock, "t", b"nope"))[::2] == (400, b'{"message":"Invalid JSON body"}')


async def test_scripted_status_sequence_with_retry_after(mock: MockWebhook, session) -> None:
    mock.expect("t1").respond_with(503, times=2)
    mock.expect("t1").respond_with(429, headers={"Retry-After": "7"})  # appended to the same script
    results = [await _post(session, mock, "t1", callback_body()) for _ in range(4)]
    assert [r[0] for r in results] == [503, 503, 429, 200]
    assert results[2][1]["Retry-After"] == "7"
    assert [r.fault for r in mock.requests()] == ["step 0", "step 0", "step 1", None]
    assert [r.response_status for r in mock.assert_received("msg-1", 4, path="t1")] == [503, 503, 429, 200]
    with pytest.raises(AssertionError, match="expected 1 request"):
        mock.assert_received("msg-1", 1)
    assert (await _post(session, mock, "other-path", callback_body()))[0] == 200


async def test_delay_step(mock: MockWebhook, session) -> None:
    mock.script("slow", [{"delayMs": 300}])
    started = time.monotonic()
    status, _, _ = await _post(session, mock, "slow", callback_body())
    assert status == 200
    assert time.monotonic() - started >= 0.3
    assert mock.requests()[0].latency_ms >= 300


async def test_connection_reset_step(mock: MockWebhook, session) -> None:
    mock.expect("r").reset()
    with pytest.raises(aiohttp.ClientError):
        await _post(session, mock, "r", callback_body())
    [rec] = mock.requests()
    assert (rec.response_status, rec.fault) == (None, "step 0 reset")
    assert (await _post(session, mock, "r", callback_body()))[0] == 200  # the script is used up


async def test_slow_body_step(mock: MockWebhook, session) -> None:
    mock.script("trickle", [{"slowBodyMs": 400, "status": 200, "body": {"message": "x" * 50}}])
    ctx = mock.client_ssl_context()
    async with session.post(mock.url_for("trickle"), data=callback_body(), ssl=ctx) as resp:
        headers_at = time.monotonic()
        body = await resp.read()
        body_at = time.monotonic()
    assert json.loads(body) == {"message": "x" * 50}
    assert body_at - headers_at >= 0.3


async def test_seeded_probability_over_http_is_reproducible(bundle: CertBundle, session) -> None:
    script = {"steps": [{"status": 500, "probability": 0.5, "times": None}], "seed": 1234}
    runs = []
    for _ in range(2):
        async with MockWebhook(certs=bundle, faults={"p": script}) as mock:
            runs.append([(await _post(session, mock, "p", callback_body()))[0] for _ in range(20)])
    assert runs[0] == runs[1]
    assert {200, 500} == set(runs[0])


async def test_rate_limit_emulation(mock: MockWebhook, session) -> None:
    mock.script("rl", {"rateLimit": {"perSecond": 3, "retryAfterS": 2}})
    results = [await _post(session, mock, "rl", callback_body()) for _ in range(12)]
    statuses = [r[0] for r in results]
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses
    limited = next(r for r in results if r[0] == 429)
    assert limited[1]["Retry-After"] == "2"
    assert json.loads(limited[2]) == {"message": "Too Many Requests"}
