"""Handlers of the management commands (``callbacks clients|subscriptions|targets|applications-map ...``).

Each handler: open the store, load the document, apply one pure edit from ``delivery.manage.edits``,
validate + save (``delivery.manage.persist.save_config``), print warnings and the result. Exit 0 or 1.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from delivery.config.inputs import DuplicateKeyError, config_size_problem, loads_unique
from delivery.errors import ConfigIssue, ConfigNotFound
from delivery.manage import edits
from delivery.manage.edits import Doc, Refusal
from delivery.manage.persist import (
    app_map_store,
    config_store,
    dump_json,
    guarded,
    report,
    report_write,
    require_config,
    save_config,
    update_config,
    validate,
    warn,
)
from delivery.transport.spki import spki_pin_of_pem

SCHEMA_MISMATCH = "JSON does not match expected config schema"  # the reference's clients-put words


def read_document(json_text: str | None, file_name: str | None) -> Any:
    if json_text is None and file_name is None:
        raise Refusal("one of --json or --file is required")
    if json_text is not None and file_name is not None:
        raise Refusal("--json and --file are mutually exclusive")
    if file_name is not None:
        if not file_name.strip().lower().endswith(".json"):
            raise Refusal(f"--file must be a .json path (got '{file_name}')")
        try:
            json_text = Path(file_name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise Refusal(f"cannot read {file_name}: {exc}") from exc
    text = json_text or ""
    too_big = config_size_problem(len(text.encode("utf-8", "surrogatepass")))
    if too_big is not None:
        raise Refusal(too_big)
    try:
        return loads_unique(text)
    except DuplicateKeyError as exc:
        lines = [str(ConfigIssue(path, "Duplicate key")) for path in exc.paths]
        raise Refusal("Config validation failed:\n" + "\n".join(lines)) from exc
    except ValueError as exc:
        raise Refusal(f"failed to parse JSON input: {exc}") from exc


def target_warnings_of(doc: Doc) -> list[str]:
    return [f"target {t['targetId']}: {w}" for t in doc["targets"] for w in edits.target_warnings(t)]


@guarded
def clients_put(args: argparse.Namespace) -> int:
    doc = read_document(args.json, args.file)
    config = validate(doc, heading=SCHEMA_MISMATCH)
    if args.client and args.client != config.client_id:
        raise Refusal(f"clientId in config ('{config.client_id}') does not match --client ('{args.client}')")
    with config_store(args) as store:
        stored = save_config(store, config.client_id, doc, dry_run=args.dry_run)
        warn(target_warnings_of(stored))
        report_write(args, store, f"Config written for client: {config.client_id}", stored)
    return 0


@guarded
def clients_get(args: argparse.Namespace) -> int:
    with config_store(args) as store:
        print(dump_json(require_config(store, args.client_id)), end="")
    return 0


@guarded
def clients_list(args: argparse.Namespace) -> int:
    with config_store(args) as store:
        ids = store.list_ids()
        report(args, ids, ids or [f"(no client configs in {store.describe()})"])
    return 0


def _edit(args: argparse.Namespace, create: bool, edit: Any, message: str, **extra: Any) -> int:
    """Load (or start) the client's document, apply ``edit(doc) -> warnings``, validate, save, report."""
    with config_store(args) as store:
        stored, warnings = update_config(store, args.client, edit, create=create, dry_run=args.dry_run)
        warn(warnings)
        report_write(args, store, message, stored, **extra)
    return 0


@guarded
def subscriptions_add(args: argparse.Namespace) -> int:
    subscription = edits.new_subscription(
        subscription_type=args.type,
        target_ids=args.target,
        subscription_id=args.subscription,
        message_statuses=args.message_statuses or (),
        channel_type=args.channel_type,
        channel_statuses=args.channel_statuses or (),
        supplier_statuses=args.supplier_statuses or (),
    )
    sid = subscription["subscriptionId"]

    def edit(doc: Doc) -> list[str]:
        return edits.add_subscription(doc, subscription)

    return _edit(args, True, edit, f"Subscription {sid} added for client {args.client}", subscriptionId=sid)


@guarded
def subscriptions_del(args: argparse.Namespace) -> int:
    def edit(doc: Doc) -> list[str]:
        return edits.delete_subscription(doc, args.subscription)

    return _edit(args, False, edit, f"Subscription {args.subscription} deleted for client {args.client}")


@guarded
def subscriptions_set_states(args: argparse.Namespace) -> int:
    def edit(doc: Doc) -> list[str]:
        return edits.set_states(
            doc,
            args.subscription,
            message_statuses=args.message_statuses,
            channel_statuses=args.channel_statuses,
            supplier_statuses=args.supplier_statuses,
        )

    return _edit(
        args, False, edit, f"Subscription {args.subscription} states updated for client {args.client}"
    )


def _subscription_line(sub: Doc) -> str:
    if sub["subscriptionType"] == "MessageStatus":
        states = ",".join(sub["messageStatuses"]) or "-"
    else:
        states = f"{sub['channelType']} channel={','.join(sub['channelStatuses']) or '-'}"
        states += f" supplier={','.join(sub['supplierStatuses']) or '-'}"
    return f"{sub['subscriptionId']}  {sub['subscriptionType']}  {states}  -> {', '.join(sub['targetIds'])}"


@guarded
def subscriptions_list(args: argparse.Namespace) -> int:
    with config_store(args) as store:
        subs = require_config(store, args.client)["subscriptions"]
        report(args, subs, [_subscription_line(s) for s in subs] or ["(no subscriptions)"])
    return 0


def _masked(target: Doc) -> Doc:
    api_key = {**target["apiKey"], "headerValue": "****"}
    return {**target, "apiKey": api_key}


def _target_line(target: Doc) -> str:
    mtls = (target.get("delivery") or {}).get("mtls") or {}
    pinning = mtls.get("certPinning") or {}
    flags = (
        f"mtls={'on' if mtls.get('enabled') else 'off'} pinning={'on' if pinning.get('enabled') else 'off'}"
    )
    pin = f" spkiHash={pinning['spkiHash']}" if pinning.get("spkiHash") else ""
    rate = target["invocationRateLimit"]
    return f"{target['targetId']}  {target['invocationEndpoint']}  rate={rate}/s  {flags}{pin}"


@guarded
def targets_list(args: argparse.Namespace) -> int:
    with config_store(args) as store:
        targets = require_config(store, args.client)["targets"]
        report(args, [_masked(t) for t in targets], [_target_line(t) for t in targets] or ["(no targets)"])
    return 0


def api_key_of(args: argparse.Namespace) -> str:
    """``--api-key`` or ``--api-key-env VAR`` (keeps the key out of shell history and ``ps``)."""
    if args.api_key is not None:
        return str(args.api_key)
    value = os.environ.get(args.api_key_env, "")
    if not value:
        raise Refusal(f"environment variable {args.api_key_env} is not set or empty")
    return value


@guarded
def targets_add(args: argparse.Namespace) -> int:
    target = edits.new_target(
        endpoint=args.endpoint,
        api_key=api_key_of(args),
        rate_limit=args.rate_limit,
        target_id=args.target,
        api_key_header=args.api_key_header,
        max_retry_s=args.max_retry_seconds,
        mtls=args.mtls,
        pinning=args.pinning,
        spki_hash=args.spki_hash,
    )
    tid = target["targetId"]

    def edit(doc: Doc) -> list[str]:
        return edits.add_target(doc, target)

    return _edit(args, True, edit, f"Target {tid} added for client {args.client}", targetId=tid)


@guarded
def targets_del(args: argparse.Namespace) -> int:
    def edit(doc: Doc) -> list[str]:
        return edits.delete_target(doc, args.target)

    return _edit(args, False, edit, f"Target {args.target} deleted for client {args.client}")


@guarded
def targets_set_mtls(args: argparse.Namespace) -> int:
    def edit(doc: Doc) -> list[str]:
        return edits.set_mtls(doc, args.target, args.enable)

    state = "enabled" if args.enable else "disabled"
    return _edit(args, False, edit, f"mTLS {state} for target {args.target}")


@guarded
def targets_set_pinning(args: argparse.Namespace) -> int:
    def edit(doc: Doc) -> list[str]:
        return edits.set_pinning(doc, args.target, args.enable)

    state = "enabled" if args.enable else "disabled"
    return _edit(args, False, edit, f"Certificate pinning {state} for target {args.target}")


def read_pin(pem_path: str) -> str:
    try:
        pem = Path(pem_path).read_bytes()
    except OSError as exc:
        raise Refusal(f"cannot read certificate {pem_path}: {exc}") from exc
    try:
        return spki_pin_of_pem(pem)
    except ValueError as exc:
        raise Refusal(f"{pem_path} is not a readable PEM certificate: {exc}") from exc


@guarded
def targets_set_certificate(args: argparse.Namespace) -> int:
    pin = read_pin(args.pem)
    if args.output != "json":
        print(f"Extracted SPKI hash: {pin}")

    def edit(doc: Doc) -> list[str]:
        return edits.set_certificate_pin(doc, args.target, pin)

    return _edit(args, False, edit, f"Certificate SPKI hash stored for target {args.target}", spkiHash=pin)


@guarded
def applications_map_add(args: argparse.Namespace) -> int:
    with app_map_store(args) as store:
        if args.dry_run:
            try:
                mapping = store.read()
            except ConfigNotFound:
                mapping = {}
            mapping[args.client] = args.application
        else:
            mapping = store.update(args.client, args.application)
        message = f"applicationId {args.application} mapped for client {args.client}"
        prefix = f"Dry run: nothing written to {store.describe()}. " if args.dry_run else ""
        report(args, {"message": message, "dryRun": args.dry_run, "map": mapping}, [prefix + message])
    return 0


@guarded
def applications_map_get(args: argparse.Namespace) -> int:
    with app_map_store(args) as store:
        mapping = store.read()
        if args.client is None:
            report(args, mapping, [f"{c}  {a}" for c, a in sorted(mapping.items())] or ["(empty map)"])
            return 0
        if args.client not in mapping:
            raise Refusal(f"No applicationId found for clientId '{args.client}' in {store.describe()}")
        report(args, {"clientId": args.client, "applicationId": mapping[args.client]}, [mapping[args.client]])
    return 0
