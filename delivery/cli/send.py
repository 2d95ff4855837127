"""``callbacks send``: sign and deliver one callback exactly as the engine would, and say what happened.

    callbacks send --config CLIENT.json --target TARGET_ID [--application-id APP]
    callbacks send --url URL --api-key KEY [--application-id APP] [--webhook-secret whsec_...]
    ... [--client-cert F --client-key F] [--ca F] [--pin SPKI] [--event NAME | --payload FILE] [--curl]

Prints the request (API key masked), the TLS facts (protocol, server SPKI, pin verdict), the response and
the engine's classification (delivered / retry / DLQ with its code). ``--curl`` prints the equivalent curl
command instead of sending. Exit 0 when delivered, 1 when not, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

EVENTS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "events"
DEFAULT_EVENT = "message-status-delivered"
MASKED_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key"})


def register(subparsers: Any) -> None:
    send = subparsers.add_parser("send", help="sign and deliver one test callback, as the engine would")
    where = send.add_argument_group("target (a client config, or flags)")
    where.add_argument("--config", type=Path, help="client config JSON file")
    where.add_argument("--target", help="target id in --config")
    where.add_argument("--url", help="invocation endpoint (https://...)")
    where.add_argument("--api-key", help="API key value")
    where.add_argument("--api-key-header", default="x-api-key")
    where.add_argument("--application-id", help="applicationId: signs with the reference scheme")
    where.add_argument("--webhook-secret", action="append", default=[], help="whsec_...: Standard Webhooks")
    where.add_argument("--pin", action="append", default=[], help="server SPKI pin (base64 SHA-256)")
    tls = send.add_argument_group("TLS material")
    tls.add_argument("--client-cert", type=Path, help="client certificate PEM (mTLS)")
    tls.add_argument("--client-key", type=Path, help="client private key PEM (or inside --client-cert)")
    tls.add_argument("--ca", type=Path, help="extra CA PEM to trust (added to the system store)")
    body = send.add_argument_group("payload")
    body.add_argument("--event", default=DEFAULT_EVENT, help=f"sample in fixtures/events/ ({DEFAULT_EVENT})")
    body.add_argument("--payload", type=Path, help="status event, envelope or callback payload JSON file")
    send.add_argument("--timeout", type=float, default=30.0, help="seconds for the whole attempt")
    send.add_argument("--curl", action="store_true", help="print the equivalent curl command, do not send")
    send.set_defaults(handler=run_send)


class UsageError(Exception):
    """A user mistake: one line naming the setting and the fix."""


def mask(value: str) -> str:
    return "***sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def shown_headers(headers: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return [(name, mask(value) if name.lower() in MASKED_HEADERS else value) for name, value in headers]


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {path}: cannot read it ({exc.__class__.__name__})") from None


def _payload_text(args: argparse.Namespace) -> str:
    if args.payload is not None:
        return _read(args.payload, "--payload")
    path = EVENTS_DIR / f"{args.event}.json"
    if not path.is_file():
        raise UsageError(f"--event {args.event}: no {path}; use --payload FILE")
    return path.read_text(encoding="utf-8")


def _target(args: argparse.Namespace) -> Any:
    from delivery.config.adhoc import TargetFlags, target_from_flags, target_in
    from delivery.config.client import parse_client_config
    from delivery.errors import ConfigValidationError

    if args.config is not None:
        if not args.target:
            raise UsageError("--config needs --target TARGET_ID")
        try:
            document = json.loads(_read(args.config, "--config"))
        except ValueError as exc:
            raise UsageError(f"--config {args.config}: not valid JSON ({exc})") from None
        return target_in(parse_client_config(document), args.target)
    if not args.url or not args.api_key:
        raise UsageError("give --config FILE --target ID, or --url URL --api-key KEY")
    flags = TargetFlags(
        url=args.url,
        api_key=args.api_key,
        api_key_header=args.api_key_header,
        application_id=args.application_id,
        webhook_secrets=tuple(args.webhook_secret),
        mtls=args.client_cert is not None,
        pins=tuple(args.pin),
    )
    try:
        return target_from_flags(flags)
    except ConfigValidationError as exc:
        raise UsageError("; ".join(_flag_issue(str(issue)) for issue in exc.issues)) from None


FLAG_OF_FIELD = (
    ("invocationEndpoint", "--url"),
    ("apiKey.headerValue", "--api-key"),
    ("apiKey.headerName", "--api-key-header"),
    ("certPinning", "--pin"),
    ("signing.secrets", "--webhook-secret"),
)


def _flag_issue(issue: str) -> str:
    """A config-path issue of a flag-built target, named by its flag (``--url: Expected HTTPS URL``)."""
    path, _, message = issue.partition(": ")
    flag = next((flag for field, flag in FLAG_OF_FIELD if field in path), path)
    return f"{flag}: {message}"


def _trial(args: argparse.Namespace) -> Any:
    from delivery.router.sample import SampleError, sample_envelope
    from delivery.runtime.trial import Trial, trial_egress
    from delivery.transport.egress import ALLOWED_EGRESS_CIDRS, EgressPolicyError
    from delivery.transport.material import TlsSettings

    target = _target(args)
    try:
        egress = trial_egress(os.environ.get(ALLOWED_EGRESS_CIDRS))
    except EgressPolicyError as exc:
        raise UsageError(f"{exc}; give comma-separated CIDRs such as 10.0.0.0/8") from None
    if args.client_key is not None and args.client_cert is None:
        raise UsageError("--client-key needs --client-cert")
    files = (args.client_cert, args.client_key, args.ca)
    tls = None
    if any(files):
        cert, key, ca = (str(f) if f else None for f in files)
        tls = TlsSettings(cert_file=cert, key_file=key, ca_file=ca)
    source = f"--payload {args.payload}" if args.payload is not None else f"--event {args.event}"
    try:
        envelope = sample_envelope(_payload_text(args), target.target_id)
    except SampleError as exc:
        raise UsageError(f"{source}: {exc}") from None
    return Trial(target, envelope, args.application_id, tls, args.timeout, egress)


def curl_command(request: Any, args: argparse.Namespace) -> str:
    """The curl line that sends the same bytes (API key read from $CALLBACKS_API_KEY, never printed)."""
    words = ["curl --silent --show-error --request POST", shlex.quote(request.url)]
    for name, value in request.headers:
        if name.lower() in MASKED_HEADERS:  # a header name is a token: safe inside double quotes
            words.append(f'--header "{name}: $CALLBACKS_API_KEY"')
        else:
            words.append("--header " + shlex.quote(f"{name}: {value}"))
    for flag, path in (("--cacert", args.ca), ("--cert", args.client_cert), ("--key", args.client_key)):
        if path is not None:
            words.append(f"{flag} {shlex.quote(str(path))}")
    words += ["--pinnedpubkey " + shlex.quote(f"sha256//{pin}") for pin in request.spki_pins]
    words.append("--data-binary " + shlex.quote(request.body.decode("utf-8")))
    return " ".join(words)


def _verdict(outcome: Any) -> str:
    if outcome.disposition == "ack":
        return "delivered"
    if outcome.disposition == "retry":
        return f"retry in {outcome.delay_s}s ({outcome.reason})"
    return f"DLQ {outcome.error_code}: {outcome.error_message or ''}".rstrip(": ")


def print_report(report: Any, out: TextIO) -> None:
    from delivery.models import HttpResult

    request, result, peer = report.request, report.result, report.peer
    print(f"request:\n  POST {request.url}", file=out)
    for name, value in shown_headers(request.headers):
        print(f"  {name}: {value}", file=out)
    print(f"  body ({len(request.body)} bytes): {request.body.decode('utf-8')}", file=out)
    print("tls:", file=out)
    if peer is not None:
        print(f"  protocol: {peer.protocol} ({peer.cipher})", file=out)
        print(f"  server SPKI: {peer.leaf_pin}", file=out)
    print(f"  client certificate: {'presented (mTLS)' if request.mtls else 'none'}", file=out)
    print(f"  pin: {report.pin_verdict}", file=out)
    print("response:", file=out)
    if isinstance(result, HttpResult):
        print(f"  status: {result.status} ({result.elapsed_ms:.0f} ms)", file=out)
        if result.body_excerpt:
            print(f"  body: {result.body_excerpt}", file=out)
    else:
        print(f"  none: {result.code}: {result.message}", file=out)
    print(f"engine: {_verdict(report.outcome)}", file=out)


def send(args: argparse.Namespace, out: TextIO) -> int:
    from delivery.runtime.trial import is_loopback, run_trial, signed_request

    trial = _trial(args)
    request = signed_request(trial, _now_ms())  # a signing problem is a usage error, before anything is sent
    if args.curl:
        print(curl_command(request, args), file=out)
        return 0
    if is_loopback(trial.target.invocation_endpoint):
        print(
            "egress: loopback allowed (callbacks send always allows 127.0.0.0/8 / ::1 / localhost;"
            " other private ranges only through ALLOWED_EGRESS_CIDRS)",
            file=out,
        )
    report = asyncio.run(run_trial(trial))
    print_report(report, out)
    return 0 if report.outcome.disposition == "ack" else 1


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def run_send(args: argparse.Namespace) -> int:
    from delivery.errors import DeliveryError

    try:
        return send(args, sys.stdout)
    except (UsageError, DeliveryError) as exc:
        print(f"callbacks send: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc: Exception) -> str:
    issues = getattr(exc, "issues", None)
    if issues:
        return "; ".join(str(issue) for issue in issues)
    return str(exc).replace("\n", "; ")


__all__ = ["curl_command", "mask", "register", "run_send", "send", "shown_headers"]
