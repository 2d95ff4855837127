"""``callbacks clients|subscriptions|targets|applications-map ...``: manage client configs (SPEC H.2, P13).

Stores: ``--dir DIR`` (one ``<clientId>.json`` per client) or ``--bucket B [--prefix P]`` (S3), falling
back to CLIENT_SUBSCRIPTION_CONFIG_BUCKET / _PREFIX (or CLIENT_SUBSCRIPTION_CONFIG_DIR). Applications map:
``--app-map-file F`` or ``--parameter NAME`` (SSM), falling back to APPLICATIONS_MAP_PARAMETER (or
APPLICATIONS_MAP_FILE). Every write validates the whole config and supports ``--dry-run``.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

_STATES_HELP = "space-separated values; validated against the config schema"


def _number(text: str) -> int | float:
    """An int when the value is whole (so ``5`` stays ``5`` in the JSON), else a float."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return int(value) if value.is_integer() else value


def _id(text: str) -> str:
    """A client/target/subscription id argument: the safe id set (``delivery.config.inputs``)."""
    from delivery.config.inputs import id_problem

    problem = id_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def _common(app_map: bool = False) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("storage")
    if app_map:
        group.add_argument("--app-map-file", metavar="FILE", help="applications map as a local JSON file")
        group.add_argument(
            "--parameter", metavar="NAME", help="SSM parameter (env APPLICATIONS_MAP_PARAMETER)"
        )
    else:
        group.add_argument("--dir", metavar="DIR", help="local directory of <clientId>.json files")
        group.add_argument("--bucket", help="S3 bucket (env CLIENT_SUBSCRIPTION_CONFIG_BUCKET)")
        group.add_argument("--prefix", help="S3 key prefix (default client_subscriptions/)")
    parent.add_argument("--output", choices=("text", "json"), default="text", help="output format")
    return parent


def _writes() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--dry-run", action="store_true", help="validate and print the result; write nothing")
    return parent


def _group(sub: Any, name: str, help_text: str) -> Any:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")


def _leaf(group: Any, name: str, help_text: str, handler: str, parents: list[argparse.ArgumentParser]) -> Any:
    parser = group.add_parser(name, help=help_text, description=help_text, parents=parents)
    parser.set_defaults(handler=_lazy(handler))
    return parser


def _lazy(name: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from delivery.manage import commands as manage_commands

        handler = getattr(manage_commands, name)
        return int(handler(args))

    return run


def _client_target(parser: Any) -> None:
    parser.add_argument("--client", type=_id, required=True, help="client id")
    parser.add_argument("--target", type=_id, required=True, help="target id")


def _register_clients(sub: Any, read: list[Any], write: list[Any]) -> None:
    clients = _group(sub, "clients", "client configs: put, get, list")
    put = _leaf(clients, "put", "write a full client config (validated)", "clients_put", write)
    # exactly one of them; checked by the handler, which answers in the reference's words (exit 1)
    put.add_argument("--json", help="the config as a JSON string (or --file)")
    put.add_argument("--file", metavar="F.json", help="a .json file holding the config (or --json)")
    put.add_argument("--client", type=_id, help="expected clientId (must match the document)")
    get = _leaf(clients, "get", "print one client config", "clients_get", read)
    get.add_argument("client_id", metavar="CLIENT_ID", type=_id)
    _leaf(clients, "list", "list client ids", "clients_list", read)


def _states(parser: Any) -> None:
    parser.add_argument("--message-statuses", nargs="+", metavar="STATUS", help=_STATES_HELP)
    parser.add_argument("--channel-statuses", nargs="+", metavar="STATUS", help=_STATES_HELP)
    parser.add_argument("--supplier-statuses", nargs="+", metavar="STATUS", help=_STATES_HELP)


def _register_subscriptions(sub: Any, read: list[Any], write: list[Any]) -> None:
    subs = _group(sub, "subscriptions", "subscriptions: add, del, list, set-states")
    add = _leaf(subs, "add", "add a subscription", "subscriptions_add", write)
    add.add_argument("--client", type=_id, required=True)
    add.add_argument("--type", required=True, choices=("MessageStatus", "ChannelStatus"))
    add.add_argument("--target", type=_id, action="append", required=True, help="target id (repeatable)")
    add.add_argument("--subscription", type=_id, help="subscription id (default: a new UUID v4)")
    add.add_argument("--channel-type", help="NHSAPP, EMAIL, SMS or LETTER (ChannelStatus)")
    _states(add)
    delete = _leaf(subs, "del", "delete a subscription", "subscriptions_del", write)
    delete.add_argument("--client", type=_id, required=True)
    delete.add_argument("--subscription", type=_id, required=True)
    listing = _leaf(subs, "list", "list a client's subscriptions", "subscriptions_list", read)
    listing.add_argument("--client", type=_id, required=True)
    states = _leaf(subs, "set-states", "replace a subscription's states", "subscriptions_set_states", write)
    states.add_argument("--client", type=_id, required=True)
    states.add_argument("--subscription", type=_id, required=True)
    _states(states)


def _register_targets(sub: Any, read: list[Any], write: list[Any]) -> None:
    targets = _group(
        sub, "targets", "callback targets: add, del, list, set-mtls, set-pinning, set-certificate"
    )
    add = _leaf(targets, "add", "add a callback target", "targets_add", write)
    add.add_argument("--client", type=_id, required=True)
    add.add_argument("--target", type=_id, help="target id (default: a new UUID v4)")
    add.add_argument("--endpoint", required=True, help="https:// invocation endpoint")
    key = add.add_mutually_exclusive_group(required=True)
    key.add_argument("--api-key", help="API key header value")
    key.add_argument("--api-key-env", metavar="VAR", help="read the API key from this environment variable")
    add.add_argument("--api-key-header", default="x-api-key", help="API key header name (default x-api-key)")
    add.add_argument("--rate-limit", type=_number, required=True, help="requests per second")
    add.add_argument("--max-retry-seconds", type=_number, help="retry window (default 7200, max 43200)")
    add.add_argument("--mtls", action="store_true", help="enable mTLS")
    add.add_argument("--pinning", action="store_true", help="enable certificate pinning (needs --spki-hash)")
    add.add_argument("--spki-hash", help="base64 SHA-256 of the server's SPKI")
    _client_target(_leaf(targets, "del", "delete a target no subscription uses", "targets_del", write))
    _leaf(targets, "list", "list a client's targets", "targets_list", read).add_argument(
        "--client", required=True
    )
    for name, what in (("set-mtls", "mTLS"), ("set-pinning", "certificate pinning")):
        leaf = _leaf(targets, name, f"enable or disable {what}", f"targets_{name.replace('-', '_')}", write)
        _client_target(leaf)
        leaf.add_argument("--enable", action=argparse.BooleanOptionalAction, required=True)
    cert = _leaf(
        targets,
        "set-certificate",
        "store the SPKI pin of a PEM certificate",
        "targets_set_certificate",
        write,
    )
    _client_target(cert)
    cert.add_argument("--pem", required=True, metavar="FILE", help="PEM certificate of the webhook server")


def _register_app_map(sub: Any) -> None:
    common = _common(app_map=True)
    group = _group(sub, "applications-map", "clientId -> applicationId map: add, get")
    add = _leaf(
        group, "add", "map a client to its applicationId", "applications_map_add", [common, _writes()]
    )
    add.add_argument("--client", type=_id, required=True)
    add.add_argument("--application", required=True, help="applicationId")
    get = _leaf(
        group, "get", "print the map, or one client's applicationId", "applications_map_get", [common]
    )
    get.add_argument("--client", type=_id, help="print only this client's applicationId")


def register(subparsers: Any) -> None:
    common = _common()
    read, write = [common], [common, _writes()]
    _register_clients(subparsers, read, write)
    _register_subscriptions(subparsers, read, write)
    _register_targets(subparsers, read, write)
    _register_app_map(subparsers)
