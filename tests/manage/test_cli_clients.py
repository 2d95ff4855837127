"""`callbacks clients put|get|list` against a local directory and against S3 (moto)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.manage.helpers import Cli, sample_config


def test_put_from_file_then_get_and_list(cli: Cli, tmp_path: Path) -> None:
    doc = sample_config("acme-health")
    path = tmp_path / "acme.json"
    path.write_text(json.dumps(doc))

    put = cli("clients", "put", "--file", str(path))
    assert put.rc == 0, put.err
    assert "Config written for client: acme-health" in put.out
    assert cli.stored("acme-health") == doc

    got = cli("clients", "get", "acme-health")
    assert got.rc == 0
    assert got.json() == doc

    cli.put(sample_config("beta"))
    listed = cli("clients", "list")
    assert listed.out.split() == ["acme-health", "beta"]
    assert cli("clients", "list", "--output", "json").json() == ["acme-health", "beta"]


def test_put_json_with_matching_client(cli: Cli) -> None:
    doc = sample_config("c1")
    result = cli("clients", "put", "--json", json.dumps(doc), "--client", "c1", "--output", "json")
    assert result.rc == 0, result.err
    body = result.json()
    assert body["dryRun"] is False
    assert body["config"] == doc
    assert cli.stored("c1") == doc


def test_put_strips_unknown_keys_like_the_reference(cli: Cli) -> None:
    doc = sample_config("c1", extraTopLevel="x")
    assert cli("clients", "put", "--json", json.dumps(doc)).rc == 0
    assert cli.stored("c1") == sample_config("c1")


def test_put_refuses_mismatched_client_id(cli: Cli) -> None:
    result = cli("clients", "put", "--json", json.dumps(sample_config("c1")), "--client", "other")
    assert result.rc == 1
    assert "clientId in config ('c1') does not match --client ('other')" in result.err
    assert cli.snapshot() == {}


def test_put_refuses_bad_json(cli: Cli) -> None:
    result = cli("clients", "put", "--json", '{"clientId": ')
    assert result.rc == 1
    assert result.err.startswith("Error: failed to parse JSON input")
    assert cli.snapshot() == {}


def test_put_lists_every_schema_problem_with_its_path(cli: Cli) -> None:
    doc = sample_config("c1")
    doc["targets"][0]["invocationEndpoint"] = "http://plain.example"
    doc["targets"][0]["delivery"]["mtls"]["certPinning"] = {"enabled": True}
    doc["subscriptions"][1]["targetIds"] = ["missing-target"]
    result = cli("clients", "put", "--json", json.dumps(doc))
    assert result.rc == 1
    lines = result.err.splitlines()
    assert lines[0] == "Error: JSON does not match expected config schema"  # the reference's words
    assert "targets.0.invocationEndpoint: Expected HTTPS URL" in lines
    assert (
        "targets.0.delivery.mtls.certPinning.spkiHash: spkiHash is required when certPinning is enabled"
        in lines
    )
    assert 'subscriptions.1.targetIds.0: targetId "missing-target" not found in targets' in lines
    assert cli.snapshot() == {}


def test_put_refuses_missing_file_and_wrong_extension(cli: Cli, tmp_path: Path) -> None:
    missing = cli("clients", "put", "--file", str(tmp_path / "nope.json"))
    assert missing.rc == 1
    assert "cannot read" in missing.err
    assert "nope.json" in missing.err

    other = tmp_path / "config.yaml"
    other.write_text(json.dumps(sample_config("c1")))
    wrong = cli("clients", "put", "--file", str(other))
    assert wrong.rc == 1
    assert "--file must be a .json path" in wrong.err
    assert cli.snapshot() == {}


def test_put_dry_run_prints_config_and_writes_nothing(cli: Cli) -> None:
    doc = sample_config("c1")
    result = cli("clients", "put", "--json", json.dumps(doc), "--dry-run")
    assert result.rc == 0, result.err
    assert result.out.startswith("Dry run, nothing written to ")
    assert json.loads(result.out.split("Resulting config:\n", 1)[1]) == doc
    assert cli.snapshot() == {}


def test_put_warns_about_targets_without_mtls(cli: Cli) -> None:
    doc = sample_config("c1")
    doc["targets"][0]["delivery"]["mtls"] = {"enabled": False}
    result = cli("clients", "put", "--json", json.dumps(doc))
    assert result.rc == 0
    assert "WARNING: target 7d3c1f0e-2b1a-4c55-9d0e-1a2b3c4d5e6f: mTLS is disabled" in result.err


def test_get_missing_client_is_an_error(cli: Cli) -> None:
    result = cli("clients", "get", "ghost")
    assert result.rc == 1
    assert "No configuration found for client 'ghost'" in result.err


def test_get_reports_a_stored_config_that_no_longer_validates(cli: Cli) -> None:
    cli.store.write("broken", b'{"clientId": "broken", "subscriptions": [], "targets": [{"type": "API"}]}')
    result = cli("clients", "get", "broken")
    assert result.rc == 1
    assert "Invalid client config for 'broken':" in result.err
    assert "targets.0.targetId: Required" in result.err


def test_list_empty_store(cli: Cli) -> None:
    result = cli("clients", "list")
    assert result.rc == 0
    assert "(no client configs in" in result.out
    assert cli("clients", "list", "--output", "json").json() == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ((), "Error: one of --json or --file is required"),
        (("--json", "{}", "--file", "config.json"), "Error: --json and --file are mutually exclusive"),
    ],
)
def test_put_needs_exactly_one_source_in_the_references_words(
    cli: Cli, source: tuple[str, ...], message: str
) -> None:
    result = cli("clients", "put", *source)
    assert (result.rc, result.err.splitlines()) == (1, [message])
    assert cli.snapshot() == {}


def test_put_of_a_non_config_says_so_then_lists_each_problem(cli: Cli) -> None:
    result = cli("clients", "put", "--json", json.dumps({"not": "a valid config"}))
    assert result.rc == 1
    assert result.err.splitlines() == [
        "Error: JSON does not match expected config schema",
        "clientId: Required",
        "subscriptions: Required",
        "targets: Required",
    ]
