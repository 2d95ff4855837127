"""Input rules (``delivery.config.inputs``): one table of ids, header names and values, sizes and duplicate
keys, and the same rule seen through the config schema, the CLI and the router."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from delivery.cli.main import main
from delivery.config.client import ConfigValidationError, parse_client_config
from delivery.config.inputs import (
    MAX_CONFIG_BYTES,
    DuplicateKeyError,
    header_name_problem,
    header_value_problem,
    id_problem,
    loads_unique,
)
from delivery.router.validation import decode_event
from delivery.router.vocabulary import ErrorCode
from tests.router.builders import message_event

ROOT = Path(__file__).resolve().parents[2]
PLAIN = json.loads((ROOT / "fixtures" / "clients" / "mock-client-plain.json").read_text())

BAD_IDS = [
    "",
    "a b",
    "a\nb",
    "line\r\nInjected: yes",
    "-rf",
    "_leading",
    ".hidden",
    "..",
    "../etc/passwd",
    "a/b",
    "a\\b",
    "abc\u202edef",  # RTL override
    "caf\u00e9",
    "a.b",
    "a" * 65,
    "x\x00y",
]
GOOD_IDS = ["a", "acme-health", "A_1-b", "0", "a" * 64, "6f1c5d7e-3b0a-4c1e-9a57-0d6c0f4b2b11"]


@pytest.mark.parametrize("value", BAD_IDS)
def test_bad_ids(value: str) -> None:
    assert id_problem(value) is not None


@pytest.mark.parametrize("value", GOOD_IDS)
def test_good_ids(value: str) -> None:
    assert id_problem(value) is None


def test_an_id_problem_shows_the_value_escaped_and_cut() -> None:
    problem = id_problem("ab\u202ecd\n" + "x" * 100) or ""
    assert "\u202e" not in problem
    assert "\n" not in problem
    assert "\\u202e" in problem
    assert "(106 characters)" in problem


@pytest.mark.parametrize(
    ("name", "ok"),
    [("x-api-key", True), ("X_Custom.Auth~1", True), ("bad name", False), ("x:y", False), ("", False),
     ("é", False), ("x" * 256, True), ("x" * 257, False), ("a\r\nb", False)],
)  # fmt: skip
def test_header_names_are_rfc9110_tokens(name: str, ok: bool) -> None:
    assert (header_name_problem(name) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("k-123", True), ("Bearer abc", True), ("a\tb", True), ("a\r\nX-Injected: 1", False), ("a\nb", False),
     ("a\x00b", False), ("a\x7fb", False), (" lead", False), ("trail ", False), ("k" * 4096, True),
     ("k" * 4097, False)],
)  # fmt: skip
def test_header_values_have_no_control_characters_and_a_cap(value: str, ok: bool) -> None:
    assert (header_value_problem(value) is None) is ok


def test_duplicate_keys_are_named_by_path() -> None:
    text = (
        '{"clientId": "a", "clientId": "b", '
        '"targets": [{}, {"apiKey": {"headerValue": 1, "headerValue": 2}}]}'
    )
    with pytest.raises(DuplicateKeyError) as raised:
        loads_unique(text)
    assert raised.value.paths == (("clientId",), ("targets", 1, "apiKey", "headerValue"))
    assert str(raised.value) == "clientId: duplicate key; targets[1].apiKey.headerValue: duplicate key"
    assert loads_unique('{"a": {"b": [1, {"c": 2}]}}') == {"a": {"b": [1, {"c": 2}]}}
    assert type(loads_unique('{"a": {}}')["a"]) is dict


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(PLAIN)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("clientId",), "client\nid"),
        (("clientId",), "-client"),
        (("targets", 0, "targetId"), "t 1"),
        (("subscriptions", 0, "subscriptionId"), "s\u202e1"),
        (("targets", 0, "apiKey", "headerName"), "x" * 10_000),
        (("targets", 0, "apiKey", "headerName"), "x api key"),
        (("targets", 0, "apiKey", "headerValue"), "key\r\nX-Evil: 1"),
        (("targets", 0, "apiKey", "headerValue"), "k" * 20_000_000),
    ],
)
def test_the_schema_applies_the_rules_with_the_path(path: tuple[Any, ...], value: Any) -> None:
    with pytest.raises(ConfigValidationError) as raised:
        parse_client_config(_with(path, value))
    assert [issue.path for issue in raised.value.issues][:1] == [path]
    assert value not in str(raised.value) or len(value) < 20  # a long value (an API key) is never echoed


def test_cli_validate_names_duplicate_keys_and_refuses_oversized_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dup = tmp_path / "dup.json"
    dup.write_text('{"clientId": "a", "clientId": "b", "subscriptions": [], "targets": []}')
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**PLAIN, "pad": "x" * MAX_CONFIG_BYTES}))
    assert main(["config", "validate", str(dup), str(big)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{dup}: clientId: Duplicate key"
    assert out[1].startswith(f"{big}: config is ")
    assert out[1].endswith("the limit is 1048576 (1 MiB)")


def test_router_rejects_bad_client_ids_and_duplicate_keys() -> None:
    rejected = decode_event(json.dumps(message_event(clientId="client\u202ea")))
    assert getattr(rejected, "code", None) is ErrorCode.INVALID_EVENT
    body = json.dumps(message_event())
    twice = body.replace('"clientId": "client-a"', '"clientId": "client-a", "clientId": "client-b"')
    assert twice != body
    result = decode_event(twice)
    assert getattr(result, "code", None) is ErrorCode.INVALID_EVENT
    assert [str(i) for i in getattr(result, "issues", ())] == ["data.clientId: duplicate key"]
