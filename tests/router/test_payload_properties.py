"""Property tests: the hand-built JSON strings equal what ``json.dumps`` produces; links round-trip."""

from __future__ import annotations

import json
import string
from urllib.parse import quote, unquote

from hypothesis import given
from hypothesis import strategies as st

from delivery.router.payload import envelope_body, message_link

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # no lone surrogates


@given(
    sub=text,
    target=text,
    payload=st.dictionaries(text, st.one_of(text, st.integers(), st.none()), max_size=4),
)
def test_envelope_body_is_the_json_of_the_envelope(sub: str, target: str, payload: dict[str, object]) -> None:
    payload_json = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    body = envelope_body(payload_json, sub, target)
    expected = {"payload": payload, "subscriptionId": sub, "targetId": target}
    assert body == json.dumps(expected, separators=(",", ":"), ensure_ascii=False)


@given(message_id=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40))
def test_message_link_is_one_encoded_segment(message_id: str) -> None:
    link = message_link("https://api.example.org/v1", message_id)
    prefix, _, segment = link.rpartition("/")
    assert prefix == "https://api.example.org/v1/messages"
    assert unquote(segment) == message_id


@given(
    message_id=st.from_regex(r"[A-Za-z0-9_.~-]{1,20}", fullmatch=True)
    | st.text(st.sampled_from(string.printable), min_size=1, max_size=20)
    | st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
)
def test_message_link_encodes_exactly_as_quote(message_id: str) -> None:
    """The shortcut for ids with nothing to encode gives what ``quote`` gives."""
    assert message_link("/v1", message_id) == "/v1/messages/" + quote(message_id, safe="")


@given(sub=text, target=text)
def test_envelope_endings_are_remembered_without_changing_a_byte(sub: str, target: str) -> None:
    first = envelope_body('{"data":[]}', sub, target)
    assert envelope_body('{"data":[]}', sub, target) == first  # the second one comes from memory
    assert json.loads(first) == {"payload": {"data": []}, "subscriptionId": sub, "targetId": target}
