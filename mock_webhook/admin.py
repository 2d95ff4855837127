"""The admin listener (plain HTTP, loopback only): journal, wait, stats, fault scripts, credentials, inbox.

Routes (JSON unless noted)::

    GET    /health                      {"status": "ok", ...}
    GET    /info                        urls, server pin, mTLS mode
    GET    /requests?path=&messageId=&since=&afterSeq=&limit=&kind=request|handshake|all
    GET    /requests/wait?count=N&timeout=S&path=&messageId=&since=&afterSeq=&kind=
                                        200 reached / 408 timeout
    DELETE /requests
    GET    /stats
    GET    /faults            PUT /faults/<path>      DELETE /faults[/<path>]
    GET    /credentials       PUT /credentials/<path>  DELETE /credentials[/<path>]
    GET    /                  inbox page (static/index.html)

``since`` is epoch milliseconds (``receivedAtMs >= since``); ``afterSeq`` is a journal sequence number
(``seq > afterSeq``). ``limit`` keeps the latest N matches; records are always oldest first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from aiohttp import web

from mock_webhook.faults import FaultScriptError, parse_script
from mock_webhook.handshake import HandshakeRecord
from mock_webhook.journal import KINDS, RequestFilter
from mock_webhook.record import RecordedRequest, normalise_path
from mock_webhook.state import MockState
from mock_webhook.verify import DEFAULT_TOLERANCE_S, SCHEMES, Credentials

ADMIN_STATE = web.AppKey("admin_state", MockState)
ADMIN_INFO = web.AppKey("admin_info", dict[str, Any])
MAX_WAIT_S = 300.0
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


class BadRequest(ValueError):
    def __init__(self, issues: list[str]) -> None:
        super().__init__("; ".join(issues))
        self.issues = issues


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


def _float(query: Mapping[str, str], name: str, issues: list[str]) -> float | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        issues.append(f"{name}: must be a number, got {raw!r}")
        return None


def parse_filter(query: Mapping[str, str]) -> tuple[RequestFilter, list[str]]:
    issues: list[str] = []
    since = _float(query, "since", issues)
    after = _float(query, "afterSeq", issues)
    path = query.get("path")
    kind = query.get("kind") or "request"
    if kind not in KINDS:
        issues.append(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
        kind = "request"
    flt = RequestFilter(
        kind=kind,
        path=normalise_path(path) if path else None,
        message_id=query.get("messageId") or None,
        since_ms=since,
        after_seq=None if after is None else int(after),
    )
    return flt, issues


def parse_credentials(data: object) -> Credentials:
    """``{"apiKeyHeader", "apiKey", "applicationId", "webhookSecrets", "enforce", "toleranceS"}``."""
    if not isinstance(data, dict):
        raise BadRequest(["<credentials>: must be an object"])
    issues = [f"{k}: unknown field" for k in data if k not in _CREDENTIAL_FIELDS]
    for name in ("apiKeyHeader", "apiKey", "applicationId"):
        if data.get(name) is not None and not isinstance(data[name], str):
            issues.append(f"{name}: must be a string")
    secrets = data.get("webhookSecrets", [])
    if not isinstance(secrets, list) or not all(isinstance(s, str) for s in secrets):
        issues.append("webhookSecrets: must be a list of strings")
        secrets = []
    schemes = data.get("schemes", [])
    if not isinstance(schemes, list) or any(s not in SCHEMES for s in schemes):
        issues.append(f"schemes: must be a list of {', '.join(SCHEMES)}")
        schemes = []
    tolerance = data.get("toleranceS", DEFAULT_TOLERANCE_S)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
        issues.append("toleranceS: must be an integer >= 0")
    if issues:
        raise BadRequest(issues)
    try:
        return Credentials(
            api_key_header=data.get("apiKeyHeader") or "x-api-key",
            api_key=data.get("apiKey"),
            application_id=data.get("applicationId"),
            webhook_secrets=tuple(secrets),
            enforce=bool(data.get("enforce", False)),
            tolerance_s=tolerance,
            schemes=tuple(schemes),
        )
    except ValueError as exc:
        raise BadRequest([f"webhookSecrets: {exc}"]) from exc


_CREDENTIAL_FIELDS = frozenset(
    {"apiKeyHeader", "apiKey", "applicationId", "webhookSecrets", "enforce", "toleranceS", "schemes"}
)


def _records(records: Sequence[RecordedRequest | HandshakeRecord]) -> list[dict[str, object]]:
    return [rec.to_json() for rec in records]


async def _body_json(request: web.Request) -> object:
    text = await request.text()
    try:
        return json.loads(text) if text else {}
    except ValueError as exc:
        raise BadRequest([f"<body>: invalid JSON ({exc})"]) from exc


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except (BadRequest, FaultScriptError) as exc:
        return _json({"error": str(exc), "issues": exc.issues}, status=400)
    return response


async def health(request: web.Request) -> web.Response:
    state = request.app[ADMIN_STATE]
    return _json({"status": "ok", "journalSize": len(state.journal), "total": state.journal.total})


async def info(request: web.Request) -> web.Response:
    return _json(request.app[ADMIN_INFO])


async def list_requests(request: web.Request) -> web.Response:
    flt, issues = parse_filter(request.query)
    limit = _float(request.query, "limit", issues)
    if issues:
        raise BadRequest(issues)
    found = request.app[ADMIN_STATE].journal.entries(flt, None if limit is None else int(limit))
    return _json({"count": len(found), "requests": _records(found)})


async def wait_requests(request: web.Request) -> web.Response:
    flt, issues = parse_filter(request.query)
    count = _float(request.query, "count", issues)
    timeout_s = _float(request.query, "timeout", issues)
    if issues:
        raise BadRequest(issues)
    wanted = 1 if count is None else int(count)
    timeout_s = min(MAX_WAIT_S, 10.0 if timeout_s is None else timeout_s)
    started_s = time.monotonic()
    reached, found = await request.app[ADMIN_STATE].journal.wait_entries(flt, wanted, timeout_s)
    body = {
        "reached": reached,
        "status": "reached" if reached else "timeout",
        "wanted": wanted,
        "count": len(found),
        "waitedS": round(time.monotonic() - started_s, 3),
        "requests": _records(found),
    }
    return _json(body, status=200 if reached else 408)


async def clear_requests(request: web.Request) -> web.Response:
    return _json({"cleared": request.app[ADMIN_STATE].journal.clear()})


async def stats(request: web.Request) -> web.Response:
    return _json(request.app[ADMIN_STATE].journal.stats())


async def list_faults(request: web.Request) -> web.Response:
    scripts = request.app[ADMIN_STATE].scripts()
    return _json({path: json.loads(script.source) for path, script in scripts.items()})


async def put_fault(request: web.Request) -> web.Response:
    script = parse_script(await _body_json(request))
    path = normalise_path(request.match_info["path"])
    request.app[ADMIN_STATE].set_script(path, script, time.monotonic())
    return _json({"path": path, "script": json.loads(script.source)})


async def delete_faults(request: web.Request) -> web.Response:
    path = request.match_info.get("path")
    request.app[ADMIN_STATE].delete_scripts(path)
    return _json({"deleted": path or "all"})


async def list_credentials(request: web.Request) -> web.Response:
    state = request.app[ADMIN_STATE]
    return _json({path: creds.to_json() for path, creds in state.credentials().items()})


async def put_credentials(request: web.Request) -> web.Response:
    creds = parse_credentials(await _body_json(request))
    path = normalise_path(request.match_info["path"])
    request.app[ADMIN_STATE].set_credentials(path, creds)
    return _json({"path": path, "credentials": creds.to_json()})


async def delete_credentials(request: web.Request) -> web.Response:
    path = request.match_info.get("path")
    request.app[ADMIN_STATE].delete_credentials(path)
    return _json({"deleted": path or "all"})


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info.get("name") or "index.html"
    suffix = name[name.rfind(".") :] if "." in name else ""
    resource = resources.files("mock_webhook").joinpath("static", name)
    if "/" in name or suffix not in STATIC_TYPES or not resource.is_file():
        raise web.HTTPNotFound()
    return web.Response(body=resource.read_bytes(), content_type=STATIC_TYPES[suffix])


def make_admin_app(state: MockState, info_data: dict[str, Any]) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[ADMIN_STATE] = state
    app[ADMIN_INFO] = info_data
    app.router.add_get("/health", health)
    app.router.add_get("/info", info)
    app.router.add_get("/requests", list_requests)
    app.router.add_get("/requests/wait", wait_requests)
    app.router.add_delete("/requests", clear_requests)
    app.router.add_get("/stats", stats)
    app.router.add_get("/faults", list_faults)
    app.router.add_put("/faults/{path:.+}", put_fault)
    app.router.add_delete("/faults", delete_faults)
    app.router.add_delete("/faults/{path:.+}", delete_faults)
    app.router.add_get("/credentials", list_credentials)
    app.router.add_put("/credentials/{path:.+}", put_credentials)
    app.router.add_delete("/credentials", delete_credentials)
    app.router.add_delete("/credentials/{path:.+}", delete_credentials)
    app.router.add_get("/", static_file)
    app.router.add_get("/static/{name}", static_file)
    return app
