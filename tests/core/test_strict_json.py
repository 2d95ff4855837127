"""JSON as receivers read it: NaN/Infinity refused (as JSON.parse does), deep nesting a clear error, at every
decoder of outside JSON (router events, stored client configs, management input)."""

from __future__ import annotations

from pathlib import Path

import pytest

from delivery.cli.main import main
from delivery.config.cache import parse_stored_config
from delivery.config.inputs import loads_unique as strict_json
from delivery.config.json_types import JsonRefused
from delivery.errors import ConfigInvalid
from delivery.router.events import Rejection
from delivery.router.validation import decode_event
from tests.router.builders import message_event

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": NaN}', "NaN is not valid JSON"),
        ("[Infinity]", "Infinity is not valid JSON"),
        ("-Infinity", "-Infinity is not valid JSON"),
        (DEEP, "JSON nested too deeply"),
    ],
)
def test_strict_json_refuses_what_json_parse_refuses(text: str, message: str) -> None:
    with pytest.raises(JsonRefused, match=f"^{message}$"):
        strict_json(text)


def test_strict_json_reads_ordinary_documents_and_bytes() -> None:
    assert strict_json(b'{"a": [1, 2.5, "\\ud800", null]}') == {"a": [1, 2.5, "\ud800", None]}


@pytest.mark.parametrize("body", ['{"specversion": NaN}', DEEP])
def test_router_rejects_such_events_as_invalid_json(body: str) -> None:
    rejection = decode_event(body)
    assert isinstance(rejection, Rejection)
    assert rejection.code == "INVALID_EVENT"
    assert "not valid JSON" in rejection.message


def test_router_accepts_the_same_event_without_the_constant() -> None:
    import json

    assert not isinstance(decode_event(json.dumps(message_event())), Rejection)


@pytest.mark.parametrize(
    "raw", [b'{"clientId": "c1", "targets": [], "subscriptions": [], "x": NaN}', DEEP.encode()]
)
def test_stored_configs_with_such_json_are_invalid_not_a_crash(raw: bytes) -> None:
    with pytest.raises(ConfigInvalid, match=r"^Invalid client config for 'c1': invalid JSON: "):
        parse_stored_config("c1", raw)


def test_management_input_with_nan_is_refused_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = '{"clientId": "c1", "subscriptions": [], "targets": [], "n": NaN}'
    assert main(["clients", "put", "--dir", str(tmp_path), "--json", doc]) == 1
    assert capsys.readouterr().err == "Error: failed to parse JSON input: NaN is not valid JSON\n"
    assert list(tmp_path.iterdir()) == []
