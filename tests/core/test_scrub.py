"""Secret scrubbing (``delivery.observe.scrub``): the one function, its forms and its property."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.config.client import parse_client_config
from delivery.dead_letter import dead_letter_attributes
from delivery.models import Disposition, Outcome, ReceivedMessage
from delivery.observe.emf import EmfEmitter
from delivery.observe.logs import JsonFormatter
from delivery.observe.scrub import (
    MASK,
    MIN_DANGLING_CHARS,
    KnownSecrets,
    _mask_dangling,
    _mask_dangling_scan,
    _matcher,
    scrub,
    secret_forms,
)
from delivery.signing import delivery_secrets

# secrets are header values / base64 / env values: no NUL (a control character the input rules refuse)
SECRET = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=6)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@given(SECRET, TEXT, TEXT, st.integers(min_value=0, max_value=3))
def test_no_secret_survives_in_any_position(secret: str, before: str, after: str, copies: int) -> None:
    text = before + (secret + after) * copies + secret
    out = scrub(text, [secret])
    # the mask itself may contain the secret's characters; what is left between masks must not
    assert all(secret not in part for part in out.split(MASK))


@given(st.lists(SECRET, min_size=1, max_size=4), TEXT)
def test_several_secrets_at_once_and_their_encodings(secrets: list[str], filler: str) -> None:
    text = filler.join([*secrets, *(json.dumps(s) for s in secrets), *(quote(s, safe="") for s in secrets)])
    out = scrub(text, secrets)
    for secret in secrets:
        assert all(secret not in part for part in out.split(MASK))


@given(TEXT)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    assert scrub(text, []) == text
    assert scrub(text.replace("zzsecretzz", ""), ["zzsecretzz"]) == text.replace("zzsecretzz", "")


def test_values_too_short_to_be_secrets_are_left_alone() -> None:
    assert scrub("invalid API key k-1 for app", ["k-1", "app", "k"]) == "invalid API key k-1 for app"


def test_a_secret_cut_off_at_the_end_is_masked() -> None:
    assert scrub("invalid API key runtime-secr", ["runtime-secret-key"]) == f"invalid API key {MASK}"
    assert scrub("ends with abc", ["abcdef"]) == "ends with abc"  # under 4 characters: ordinary text


def test_standard_webhooks_secret_with_and_without_prefix() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert scrub(f"bad {secret} / MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", [secret]) == f"bad {MASK} / {MASK}"


def test_delivery_secrets_lists_api_keys_and_resolved_signing_secrets() -> None:
    config = parse_client_config(
        {
            "clientId": "c",
            "subscriptions": [],
            "targets": [
                {
                    "targetId": "t",
                    "type": "API",
                    "invocationEndpoint": "https://hooks.example/t",
                    "invocationMethod": "POST",
                    "invocationRateLimit": 1,
                    "apiKey": {"headerName": "x-api-key", "headerValue": "key-value-1"},
                    "delivery": {
                        "signing": {
                            "scheme": "standard-webhooks",
                            "secrets": ["env:SIGNING_SECRET", "whsec_b2xkLXNlY3JldA==", "env:UNSET_ONE"],
                        }
                    },
                }
            ],
        }
    )
    secrets = delivery_secrets(config.targets, {"SIGNING_SECRET": "whsec_ZnJvbS1lbnY="})
    assert secrets == ("key-value-1", "whsec_ZnJvbS1lbnY=", "whsec_b2xkLXNlY3JldA==")


def test_dlq_error_message_is_scrubbed_before_it_is_cut() -> None:
    outcome = Outcome(
        Disposition.DEAD_LETTER,
        "HTTP_CLIENT_ERROR",
        error_code="HTTP_CLIENT_ERROR",
        error_message="x" * 1015 + "secret-api-key-0123",
        status_code=401,
    )
    message = ReceivedMessage("id", "rh", "{}", 1, 1, 1)
    attrs = dict(
        dead_letter_attributes(
            outcome, message, client_id="c", target_id="t", secrets=frozenset({"secret-api-key-0123"})
        )
    )
    assert "secret" not in attrs["ERROR_MESSAGE"]
    assert len(attrs["ERROR_MESSAGE"]) == 1024


def test_log_lines_and_emf_lines_go_through_the_registry() -> None:
    known = KnownSecrets()
    known.add(["k-0123456789"])
    assert known.scrub_value({"msg": "got k-0123456789", "n": [1, "k-0123456789"]}) == {
        "msg": f"got {MASK}",
        "n": [1, MASK],
    }
    from delivery.observe.scrub import KNOWN_SECRETS

    KNOWN_SECRETS.add(["log-secret-4242"])
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "echo log-secret-4242", None, None)
    record.fields = {"errorMessage": "invalid key log-secret-4242"}
    line = JsonFormatter().format(record)
    assert "log-secret-4242" not in line
    assert json.loads(line)["errorMessage"] == f"invalid key {MASK}"
    lines: list[str] = []
    EmfEmitter("ns", {"Environment": "t"}, write=lines.append).emit(
        {"DeliveryFailure": 1}, properties={"reason": "log-secret-4242"}
    )
    assert "log-secret-4242" not in lines[0]


def test_the_registry_is_bounded_and_keeps_the_newest() -> None:
    from delivery.observe import scrub as module

    known = KnownSecrets()
    known.add(f"secret-{i:05d}" for i in range(module.MAX_KNOWN_SECRETS + 10))
    assert len(known.values) == module.MAX_KNOWN_SECRETS
    assert "secret-00000" not in known.values
    assert f"secret-{module.MAX_KNOWN_SECRETS + 9:05d}" in known.values


MANY = [f"filler-secret-{i:04d}" for i in range(100)]  # > REGEX_MAX_FORMS forms: the head-index path


@given(SECRET, TEXT, TEXT)
def test_the_head_index_path_gives_the_same_guarantee(secret: str, before: str, after: str) -> None:
    text = before + secret + after + MANY[7] + secret
    out = scrub(text, [secret, *MANY])
    assert all(secret not in part and MANY[7] not in part for part in out.split(MASK))


def test_prometheus_labels_are_scrubbed() -> None:
    from delivery.observe.prometheus import escape_label
    from delivery.observe.scrub import KNOWN_SECRETS

    KNOWN_SECRETS.add(["label-secret-777"])
    assert escape_label('target "label-secret-777"') == 'target \\"[Redacted]\\"'


def test_known_secrets_remembers_clean_texts_but_never_hides_a_secret_added_later() -> None:
    known = KnownSecrets()
    known.add(["first-secret-value"])
    text = "token second-secret-value here"
    assert known.scrub(text) == text  # remembered as clean for this set of secrets
    assert known.scrub_value({"k": [text]}) == {"k": [text]}
    known.add(["second-secret-value"])
    assert known.scrub(text) == "token [Redacted] here"
    assert known.scrub_value({"k": [text]}) == {"k": ["token [Redacted] here"]}
    assert known.scrub("abc") == "abc"


@given(st.lists(SECRET, min_size=1, max_size=4), TEXT, st.integers(min_value=0, max_value=60))
def test_the_dangling_regex_cuts_where_the_scan_cuts(secrets: list[str], before: str, cut: int) -> None:
    """The one-regex check for a secret's beginning at the end of a text (few secrets) masks from the same
    position as the character-by-character scan it replaced (kept for many secrets)."""
    matcher = _matcher(frozenset(secrets))
    for form in sorted({f for s in secrets for f in secret_forms(s)}):
        text = before + form[: max(cut, 1)]
        first = max(len(text) - matcher.longest + 1, 0)
        assert _mask_dangling(text, matcher) == _mask_dangling_scan(text, matcher, first)


@pytest.mark.parametrize("length", [64, 65, 300, 5000])
def test_long_secrets_compile_and_are_masked_whole_or_cut(length: int) -> None:
    """A long value (or its 3x-longer percent-encoded form) must not overflow the regex compiler's stack
    (one nested group per character did, for a 300-character form); the cut-off end is still masked."""
    secret = "".join(chr(0x21 + i % 90) for i in range(length))
    forms = sorted(secret_forms(secret), key=len)
    assert scrub(f"key {forms[-1]} end", [secret]) == f"key {MASK} end"
    for form in forms:
        for keep in (MIN_DANGLING_CHARS, length // 2, len(form) - 1):
            assert scrub(f"body: {form[:keep]}", [secret, "short-one"]) == f"body: {MASK}"


@given(
    st.lists(st.one_of(SECRET, st.text(min_size=60, max_size=200)), min_size=1, max_size=3),
    TEXT,
    st.integers(min_value=0, max_value=600),
)
def test_the_dangling_regex_and_the_long_form_scan_cut_where_the_scan_cuts(
    secrets: list[str], before: str, cut: int
) -> None:
    matcher = _matcher(frozenset(secrets))
    for form in sorted({f for s in secrets for f in secret_forms(s)}):
        text = before + form[: max(cut, 1)]
        first = max(len(text) - matcher.longest + 1, 0)
        assert _mask_dangling(text, matcher) == _mask_dangling_scan(text, matcher, first)
