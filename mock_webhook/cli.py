"""``mock-webhook``: ``certs init DIR``, ``certs pin FILE.pem``, ``serve``.

``serve`` runs both listeners until Ctrl-C/SIGTERM and, with ``--ready-file``, writes
``{"url", "adminUrl", "caPath", "serverPin", "pid", ...}`` atomically once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mock_webhook.certs import SERVER_FILES, CertBundle, CertsError, spki_pin_of_pem
from mock_webhook.faults import FaultScriptError, parse_script
from mock_webhook.state import MTLS_MODES
from mock_webhook.verify import SCHEMES, Credentials

if TYPE_CHECKING:
    from mock_webhook.server import MockWebhook


class UsageError(Exception):
    """Bad command-line input (exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mock-webhook", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    certs = commands.add_parser("certs", help="create or inspect certificates")
    certs_commands = certs.add_subparsers(dest="certs_command", required=True)
    init = certs_commands.add_parser("init", help="new CA + server + client certificates in DIR")
    init.add_argument("directory", type=Path)
    init.add_argument("--host", action="append", default=[], help="extra server name (repeatable)")
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    init.set_defaults(handler=cmd_certs_init)
    pin = certs_commands.add_parser("pin", help="print base64(SHA-256(SPKI)) of a PEM certificate")
    pin.add_argument("file", type=Path)
    pin.set_defaults(handler=cmd_certs_pin)
    serve = commands.add_parser("serve", help="run the mock webhook")
    _add_serve_arguments(serve)
    serve.set_defaults(handler=cmd_serve)
    return parser


def _add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443, help="HTTPS port (0 = any free port)")
    serve.add_argument("--admin-port", type=int, default=8444, help="admin HTTP port on 127.0.0.1 (0 = any)")
    serve.add_argument(
        "--certs", type=Path, help="certificate directory (created if empty); default: temporary"
    )
    serve.add_argument("--mtls", choices=MTLS_MODES, default="optional")
    serve.add_argument("--alb-passthrough", action="store_true", help="read X-Amzn-Mtls-Clientcert instead")
    serve.add_argument("--api-key", help="global API key (default header x-api-key)")
    serve.add_argument("--api-key-header", default="x-api-key")
    serve.add_argument("--application-id", help="global applicationId for the reference signature")
    serve.add_argument("--webhook-secret", action="append", default=[], help="Standard Webhooks secret")
    serve.add_argument(
        "--enforce-signatures", action="store_true", help="401 unless every scheme the sender uses verifies"
    )
    serve.add_argument(
        "--signature-scheme",
        action="append",
        choices=SCHEMES,
        default=[],
        help="scheme(s) every request must carry (default: the ones each request sends)",
    )
    serve.add_argument("--journal", type=int, default=10_000, help="journal capacity (requests)")
    serve.add_argument(
        "--no-handshake-journal",
        action="store_true",
        help="do not record failed TLS handshakes (the event loop's own, faster TLS: for load runs)",
    )
    serve.add_argument("--faults", type=Path, help="JSON/YAML file: {path: fault script}")
    serve.add_argument("--ready-file", type=Path, help="write connection details here once listening")


def cmd_certs_init(args: argparse.Namespace) -> int:
    bundle = CertBundle.mint(args.host)
    written = bundle.write(args.directory, force=args.force)
    for path in written:
        print(f"wrote {path}")
    print(f"server SPKI pin: {bundle.server_pin}")
    return 0


def cmd_certs_pin(args: argparse.Namespace) -> int:
    try:
        print(spki_pin_of_pem(args.file.read_bytes()))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{args.file}: not a readable PEM certificate ({exc})") from exc
    return 0


def load_faults(path: Path) -> dict[str, Any]:
    """``{path: script}`` from JSON or YAML; every script validated before the server starts."""
    text = path.read_text()
    if path.suffix in {".yaml", ".yml"}:
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: must map paths to fault scripts")
    issues: list[str] = []
    for key, script in data.items():
        try:
            parse_script(script)
        except FaultScriptError as exc:
            issues.extend(f"{key}.{issue}" for issue in exc.issues)
    if issues:
        raise UsageError(f"{path}: " + "; ".join(issues))
    return data


def resolve_certs(directory: Path) -> CertBundle:
    """Load DIR's certificates, or mint a full set there when it holds none yet."""
    if all((directory / name).is_file() for name in SERVER_FILES):
        return CertBundle.load(directory)
    bundle = CertBundle.mint()
    bundle.write(directory)
    return bundle


def _write_ready_file(path: Path, info: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, path)


def _build_mock(args: argparse.Namespace, certs_dir: Path) -> MockWebhook:
    from mock_webhook.server import MockWebhook

    creds = Credentials(
        args.api_key_header,
        args.api_key,
        args.application_id,
        tuple(args.webhook_secret),
        args.enforce_signatures,
        schemes=tuple(args.signature_scheme),
    )
    return MockWebhook(
        mtls=args.mtls,
        alb_passthrough=args.alb_passthrough,
        certs=certs_dir,
        host=args.host,
        port=args.port,
        admin_port=args.admin_port,
        credentials=creds,
        journal_size=args.journal,
        faults=load_faults(args.faults) if args.faults else None,
        handshake_journal=not args.no_handshake_journal,
    )


def _announce(info: dict[str, Any], args: argparse.Namespace) -> None:
    alb = ", ALB passthrough" if args.alb_passthrough else ""
    print(f"webhook URL: {info['url']}  (mTLS {args.mtls}{alb})")
    print(f"admin URL:   {info['adminUrl']}  (inbox page at /)")
    print(f"CA:          {info['caPath']}")
    print(f"server pin:  {info['serverPin']}", flush=True)
    if args.ready_file:
        _write_ready_file(args.ready_file, info)


async def _serve(args: argparse.Namespace, certs_dir: Path) -> int:
    mock = _build_mock(args, certs_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with mock:
        _announce({**mock.info(), "pid": os.getpid()}, args)
        await stop.wait()
    print("mock-webhook stopped", flush=True)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        certs_dir = args.certs
        if certs_dir is None:
            certs_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mock-webhook-certs-")))
        resolve_certs(certs_dir)
        return _run(_serve(args, certs_dir))
    return 0  # unreachable; keeps mypy's return analysis simple


def _run(main: Any) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(main)  # type: ignore[no-any-return]
    return uvloop.run(main)  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (UsageError, CertsError, ValueError, OSError) as exc:
        print(f"mock-webhook: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
