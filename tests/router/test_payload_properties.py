"""Property tests: the hand-built JSON strings equal what ``json.dumps`` produces; links round-trip."""

from __future__ import annotations

import json
from urllib.parse import unquote

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
