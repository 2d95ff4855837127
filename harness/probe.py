"""Is the environment up? Each endpoint it names is tried once, briefly; the first one down is named.

Used by the pytest plugin when a scenario fails: a stack that went down is reported once, by name, and the
remaining scenarios fail fast with that reason instead of thousands of lines of connection errors.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

from harness.environment import Environment

Check = tuple[str, str, Callable[[str, float], str | None]]  # (what, url, check(url, timeout_s))


def tcp_problem(url: str, timeout_s: float) -> str | None:
    """None when something accepts a TCP connection at the URL's host and port."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return None
    default_port = 443 if parts.scheme in ("https", "rediss") else 6379 if "redis" in parts.scheme else 80
    host, port = parts.hostname or "localhost", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"no answer at {host}:{port} ({exc.strerror or type(exc).__name__})"


def http_problem(url: str, timeout_s: float) -> str | None:
    """None when ``GET url/health`` answers with any HTTP status."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout_s):
            return None
    except urllib.error.HTTPError as exc:
        exc.close()
        return None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"no answer at {url} ({getattr(reason, 'strerror', None) or reason})"


def checks_for(env: Environment) -> list[Check]:
    checks: list[Check] = []
    if env.mock_admin_url:
        checks.append(("mock webhook admin (mock_admin_url)", env.mock_admin_url, http_problem))
    if env.mock_url:
        checks.append(("mock webhook (mock_url)", env.mock_url, tcp_problem))
    if env.aws_endpoint_url:
        checks.append(("AWS endpoint (aws_endpoint_url)", env.aws_endpoint_url, tcp_problem))
    if env.sqs_endpoint_url:
        checks.append(("SQS endpoint (sqs_endpoint_url)", env.sqs_endpoint_url, tcp_problem))
    if env.redis_url:
        checks.append(("Redis/Valkey (redis_url)", env.redis_url, tcp_problem))
    return checks


def down_reason(env: Environment, timeout_s: float = 2.0) -> str | None:
    """``"environment 'local' is down: mock webhook admin (mock_admin_url) ..."`` or None when all answer."""
    for what, url, check in checks_for(env):
        problem = check(url, timeout_s)
        if problem is not None:
            hint = "is it running, and reachable from here?"
            return f"environment {env.name!r} is down: {what} {problem} ({hint})"
    return None
