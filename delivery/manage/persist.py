"""I/O for the management CLI: choosing a store from flags/env, load -> edit -> validate -> save, output.

Every edit goes through ``update_config``: read the document with its version, apply the edit (a pure
function of the document), validate, and write only if the stored version is unchanged (``write_if``). A
lost race re-reads and re-applies the edit, up to ``EDIT_ATTEMPTS`` times, then fails with a clear conflict
error and writes nothing. A whole-document put (``clients put``) replaces whatever is stored.

Every write goes through ``save_config``: the whole document is re-validated with ``parse_client_config``
(``Config validation failed:`` + one ``path: message`` line per issue) and nothing is written on failure or
with ``--dry-run``. Warnings go to stderr as ``WARNING: ...``; results go to stdout (text, or JSON with
``--output json``). Errors print ``Error: ...`` to stderr and the command exits 1; deleting a target or
subscription that does not exist only warns (exit 0), as the reference.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from delivery.config.client import ClientConfig, parse_client_config
from delivery.config.store import (
    AppMapStore,
    ConfigStore,
    LocalAppMapStore,
    LocalDirStore,
    S3ConfigStore,
    SsmAppMapStore,
    parse_stored_config,
)
from delivery.errors import ConfigConflict, ConfigError, ConfigValidationError
from delivery.manage.edits import AlreadyAbsent, Doc, Refusal, empty_config

Handler = Callable[[argparse.Namespace], int]


def config_store_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> ConfigStore:
    """``--dir`` or ``--bucket [--prefix]``, falling back to the CLIENT_SUBSCRIPTION_CONFIG_* variables."""
    if args.dir:
        return LocalDirStore(args.dir)
    bucket = args.bucket or environ.get("CLIENT_SUBSCRIPTION_CONFIG_BUCKET")
    if bucket:
        prefix = args.prefix or environ.get("CLIENT_SUBSCRIPTION_CONFIG_PREFIX") or "client_subscriptions/"
        return S3ConfigStore(bucket, prefix)
    if environ.get("CLIENT_SUBSCRIPTION_CONFIG_DIR"):
        return LocalDirStore(environ["CLIENT_SUBSCRIPTION_CONFIG_DIR"])
    raise Refusal(
        "no config store: pass --dir DIR or --bucket BUCKET (or set CLIENT_SUBSCRIPTION_CONFIG_BUCKET)"
    )


def app_map_store_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> AppMapStore:
    """``--app-map-file`` or ``--parameter``, falling back to APPLICATIONS_MAP_PARAMETER / _FILE."""
    if args.app_map_file:
        return LocalAppMapStore(args.app_map_file)
    parameter = args.parameter or environ.get("APPLICATIONS_MAP_PARAMETER")
    if parameter:
        return SsmAppMapStore(parameter)
    if environ.get("APPLICATIONS_MAP_FILE"):
        return LocalAppMapStore(environ["APPLICATIONS_MAP_FILE"])
    raise Refusal(
        "no applications map: pass --app-map-file FILE or --parameter NAME "
        "(or set APPLICATIONS_MAP_PARAMETER)"
    )


@contextmanager
def opened(store: Any) -> Iterator[Any]:
    try:
        yield store
    finally:
        store.close()


@contextmanager
def config_store(args: argparse.Namespace) -> Iterator[ConfigStore]:
    with opened(config_store_from_args(args, os.environ)) as store:
        yield store


@contextmanager
def app_map_store(args: argparse.Namespace) -> Iterator[AppMapStore]:
    with opened(app_map_store_from_args(args, os.environ)) as store:
        yield store


def load_config(store: ConfigStore, client_id: str) -> Doc | None:
    raw = store.read(client_id)
    return None if raw is None else parse_stored_config(client_id, raw).to_json_dict()


def require_config(store: ConfigStore, client_id: str) -> Doc:
    doc = load_config(store, client_id)
    if doc is None:
        raise Refusal(f"No configuration found for client '{client_id}'")
    return doc


def egress_check() -> Callable[[str], str | None]:
    """The egress policy a write is checked against (SPEC P15: ``ALLOWED_EGRESS_CIDRS``, as the worker)."""
    from delivery.transport.egress import ALLOWED_EGRESS_CIDRS, EgressPolicy, EgressPolicyError

    try:
        return EgressPolicy.from_text(os.environ.get(ALLOWED_EGRESS_CIDRS)).url_problem
    except EgressPolicyError as exc:
        raise Refusal(f"{exc}; expected comma-separated CIDRs such as 127.0.0.0/8") from None


def validate(doc: object, heading: str = "Config validation failed:") -> ClientConfig:
    """The parsed config, or a Refusal: ``heading`` then one ``path: message`` line per problem."""
    try:
        return parse_client_config(doc, url_check=egress_check())
    except ConfigValidationError as exc:
        raise Refusal(heading + "\n" + "\n".join(str(i) for i in exc.issues)) from exc


def checked(doc: Doc, client_id: str) -> Doc:
    """The validated document as it will be stored (its ``clientId`` must be ``client_id``)."""
    config = validate(doc)
    if config.client_id != client_id:
        raise Refusal(f"clientId in config ('{config.client_id}') does not match --client ('{client_id}')")
    return config.to_json_dict()


def save_config(store: ConfigStore, client_id: str, doc: Doc, *, dry_run: bool) -> Doc:
    """Validate the whole document, then write it (unless ``dry_run``); returns the stored JSON dict."""
    stored = checked(doc, client_id)
    if not dry_run:
        store.write(client_id, dump_json(stored).encode())
    return stored


EDIT_ATTEMPTS = 8
Edit = Callable[[Doc], list[str]]  # changes the document in place; returns warnings


def update_config(
    store: ConfigStore, client_id: str, edit: Edit, *, create: bool, dry_run: bool
) -> tuple[Doc, list[str]]:
    """Read (with version) -> ``edit`` -> validate -> conditional write, retried on a lost race."""
    for _ in range(EDIT_ATTEMPTS):
        current = store.read_versioned(client_id)
        if current.data is None and not create:
            raise Refusal(f"No configuration found for client '{client_id}'")
        doc = (
            empty_config(client_id)
            if current.data is None
            else parse_stored_config(client_id, current.data).to_json_dict()
        )
        warnings = edit(doc)
        stored = checked(doc, client_id)
        if dry_run:
            return stored, warnings
        try:
            store.write_if(client_id, dump_json(stored).encode(), current.version)
        except ConfigConflict:
            continue
        return stored, warnings
    raise Refusal(
        f"config for client '{client_id}' in {store.describe()} kept changing while this edit was applied "
        f"({EDIT_ATTEMPTS} attempts); nothing written, run the command again"
    )


def dump_json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def warn(warnings: Sequence[str]) -> None:
    for warning in warnings:
        print(f"WARNING: {warning}", file=sys.stderr)


def report_write(
    args: argparse.Namespace, store: ConfigStore, message: str, stored: Doc, **extra: Any
) -> None:
    """Text: the message (+ the resulting JSON on --dry-run). JSON: one object with everything."""
    if args.output == "json":
        print(dump_json({"message": message, "dryRun": args.dry_run, **extra, "config": stored}), end="")
        return
    if args.dry_run:
        print(f"Dry run, nothing written to {store.describe()}: {message}. Resulting config:")
        print(dump_json(stored), end="")
    else:
        print(message)


def report(args: argparse.Namespace, json_value: object, text_lines: Sequence[str]) -> None:
    if args.output == "json":
        print(dump_json(json_value), end="")
    else:
        for line in text_lines:
            print(line)


def guarded(handler: Handler) -> Handler:
    """Turns refusals and store/config errors into ``Error: ...`` on stderr and exit status 1; a delete of
    something already absent into ``WARNING: ...`` and exit status 0."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except AlreadyAbsent as exc:
            warn([str(exc)])
            return 0
        except (Refusal, ConfigError) as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 1

    return run
