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
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
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
        "--journal-bytes", type=int, default=64 * 1024 * 1024, help="journal memory bound (default 64 MiB)"
    )
    serve.add_argument(
        "--body-cap",
        type=int,
        default=64 * 1024,
        help="journal bodies over this many bytes truncated (64 KiB)",
    )
    serve.add_argument("--header-timeout", type=float, default=10.0, help="seconds for a request head (10)")
    serve.add_argument("--body-timeout", type=float, default=30.0, help="seconds for a request body (30)")
    serve.add_argument("--idle-timeout", type=float, default=60.0, help="idle keep-alive seconds (60)")
    serve.add_argument("--max-connections", type=int, default=1024, help="open connections cap (1024)")
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


def _parse_faults(path: Path) -> object:
    """The document of a faults file; a missing or malformed file is one ``UsageError`` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"--faults {path}: file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--faults {path}: cannot read it ({exc})") from None
    if path.suffix in {".yaml", ".yml"}:
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise UsageError(f"--faults {path}: not valid YAML ({where}{problem})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--faults {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "YAML files need a .yaml or .yml name"
        ) from None


def load_faults(path: Path) -> dict[str, Any]:
    """``{path: script}`` from JSON or YAML; every script validated before the server starts."""
    data = _parse_faults(path)
    if not isinstance(data, dict):
        raise UsageError(f"--faults {path}: must map paths to fault scripts")
    issues: list[str] = []
    for key, script in data.items():
        try:
            parse_script(script)
        except FaultScriptError as exc:
            issues.extend(f"{key}.{issue}" for issue in exc.issues)
    if issues:
        raise UsageError(f"--faults {path}: " + "; ".join(issues))
    return data


def resolve_certs(directory: Path) -> CertBundle:
    """Load DIR's certificates, or mint a full set there when it holds none yet."""
    from mock_webhook.cert_checks import check_files, partial_set_problem

    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--certs {directory}: not a directory")
    problem = partial_set_problem(directory)
    if problem is not None:
        raise UsageError(problem)
    if all((directory / name).is_file() for name in SERVER_FILES):
        check_files(directory)
        return CertBundle.load(directory)
    bundle = CertBundle.mint()
    bundle.write(directory)
    return bundle


def _write_ready_file(path: Path, info: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, path)


FLAG_OF_SETTING = {
    "journal_size": "--journal",
    "journal_max_bytes": "--journal-bytes",
    "body_cap_bytes": "--body-cap",
    "header_timeout_s": "--header-timeout",
    "body_timeout_s": "--body-timeout",
    "idle_timeout_s": "--idle-timeout",
    "max_connections": "--max-connections",
}


def _build_mock(args: argparse.Namespace, certs_dir: Path) -> MockWebhook:
    try:
        return _mock_from(args, certs_dir)
    except ValueError as exc:
        message = str(exc)
        for setting, flag in FLAG_OF_SETTING.items():
            message = message.replace(f"{setting}:", f"{flag}:")
        raise UsageError(message) from None


def _mock_from(args: argparse.Namespace, certs_dir: Path) -> MockWebhook:
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
        journal_max_bytes=args.journal_bytes,
        body_cap_bytes=args.body_cap,
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
        idle_timeout_s=args.idle_timeout,
        max_connections=args.max_connections,
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
    given = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in given  # accepted anywhere: show the traceback of an unexpected error
    args = build_parser().parse_args([a for a in given if a != "--debug"])
    try:
        return int(args.handler(args))
    except (UsageError, CertsError, ValueError, OSError) as exc:
        if debug:
            raise
        print(f"mock-webhook: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except Exception as exc:  # the edge: one line unless --debug
        if debug:
            raise
        print(f"mock-webhook: error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)  # fmt: skip
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
