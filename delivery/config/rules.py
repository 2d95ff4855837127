"""Validation rules behind ``client_config``: field types with the reference (Zod-style) messages, the
cross-field checks of SPEC A.1/A.3, and the translation of pydantic errors into ``ConfigIssue``s.

The cross-field checks run on the raw document, so they are reported even when other parts of the
document are malformed (every problem is listed at once).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, PlainValidator, StrictBool, StrictStr, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from delivery.config.inputs import (
    MAX_SECRET_REF_CHARS,
    header_name_problem,
    header_value_problem,
    id_problem,
)
from delivery.config.json_types import json_type_name
from delivery.errors import ConfigIssue, PathItem

SPKI_HASH_RE = re.compile(r"^[A-Za-z0-9+/]{43}=$")
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
SECRET_REF_RE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|whsec_[A-Za-z0-9+/]+={0,2})$")
SUBSCRIPTION_TAGS = ("MessageStatus", "ChannelStatus")


def _number(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError(
            "number_type", "Expected number, received {received}", {"received": json_type_name(value)}
        )
    if not math.isfinite(value):
        raise PydanticCustomError("number_finite", "Number must be finite")
    return value


def bounded(*, gt: float | None = None, ge: float | None = None, le: float | None = None) -> AfterValidator:
    """Range check with the reference messages (``Number must be greater than 0``...)."""

    def check(value: int | float) -> int | float:
        if gt is not None and not value > gt:
            raise PydanticCustomError("too_small", f"Number must be greater than {gt:g}")
        if ge is not None and not value >= ge:
            raise PydanticCustomError("too_small", f"Number must be greater than or equal to {ge:g}")
        if le is not None and not value <= le:
            raise PydanticCustomError("too_big", f"Number must be less than or equal to {le:g}")
        return value

    return AfterValidator(check)


def _matches(pattern: re.Pattern[str], kind: str, message: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise PydanticCustomError(kind, message)
        return value

    return AfterValidator(check)


def _rule(kind: str, problem_of: Callable[[str], str | None]) -> AfterValidator:
    """An input rule of ``delivery.config.inputs`` as a schema check (its message, capitalised)."""

    def check(value: str) -> str:
        problem = problem_of(value)
        if problem is not None:
            raise PydanticCustomError(kind, problem[:1].upper() + problem[1:])
        return value

    return AfterValidator(check)


def _https(value: str) -> str:
    try:
        parts = urlsplit(value)
        ok = parts.scheme.lower() == "https" and bool(parts.hostname)
        _ = parts.port  # raises ValueError for a non-numeric / out-of-range port
    except ValueError:
        ok = False
    if not ok:
        raise PydanticCustomError("https_url", "Expected HTTPS URL")
    return value


def https_url() -> AfterValidator:
    return AfterValidator(_https)


Number = Annotated[int | float, PlainValidator(_number)]
Text = StrictStr
StrictBoolean = StrictBool
NonEmptyStr = Annotated[StrictStr, Field(min_length=1)]
SpkiHash = Annotated[StrictStr, _matches(SPKI_HASH_RE, "spki_hash", "Invalid SPKI hash")]
HeaderName = Annotated[
    StrictStr,
    _matches(HEADER_NAME_RE, "header_name", "Expected a non-empty HTTP header name"),
    _rule("header_name", header_name_problem),
]
HeaderValue = Annotated[StrictStr, Field(min_length=1), _rule("header_value", header_value_problem)]
Id = Annotated[StrictStr, Field(min_length=1), _rule("id", id_problem)]
SecretRef = Annotated[
    StrictStr,
    Field(max_length=MAX_SECRET_REF_CHARS),
    _matches(SECRET_REF_RE, "secret_ref", "Expected env:<VARIABLE> or whsec_<base64> secret"),
]

_EXPECTED = {
    "string_type": "string",
    "bool_type": "boolean",
    "int_type": "number",
    "float_type": "number",
    "list_type": "array",
    "tuple_type": "array",
    "model_type": "object",
    "model_attributes_type": "object",
    "dict_type": "object",
}


def _message(err: ErrorDetails) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "missing":
        return "Required"
    if kind in _EXPECTED:
        return f"Expected {_EXPECTED[kind]}, received {json_type_name(value)}"
    if kind == "extra_forbidden":
        return "Unrecognized key"
    if kind == "string_too_short":
        return f"String must contain at least {ctx.get('min_length')} character(s)"
    if kind == "string_too_long":
        return f"String must contain at most {ctx.get('max_length')} character(s)"
    if kind == "too_short":
        return f"Array must contain at least {ctx.get('min_length')} element(s)"
    if kind == "literal_error":
        return f"Invalid enum value. Expected {ctx.get('expected')}, received {value!r}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return "Invalid discriminator value. Expected 'MessageStatus' | 'ChannelStatus'"
    return err["msg"]


def _path(err: ErrorDetails) -> tuple[PathItem, ...]:
    loc = list(err["loc"])
    # discriminated unions add the tag to the location: subscriptions.0.MessageStatus.x -> subscriptions.0.x
    if len(loc) > 2 and loc[0] == "subscriptions" and loc[2] in SUBSCRIPTION_TAGS:
        del loc[2]
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc.append("subscriptionType")
    return tuple(loc)


def issues_from_pydantic(exc: ValidationError) -> Iterator[ConfigIssue]:
    for err in exc.errors(include_url=False):
        yield ConfigIssue(_path(err), _message(err))


def _items(doc: object, key: str) -> list[tuple[int, dict[str, Any]]]:
    value = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _duplicates(doc: object, key: str, id_field: str) -> Iterator[ConfigIssue]:
    seen: set[str] = set()
    for i, item in _items(doc, key):
        value = item.get(id_field)
        if isinstance(value, str):
            if value in seen:
                yield ConfigIssue((key, i, id_field), f"Expected {id_field} to be unique")
            seen.add(value)


def _dangling_target_ids(doc: object) -> Iterator[ConfigIssue]:
    known = {t.get("targetId") for _, t in _items(doc, "targets")}
    for i, sub in _items(doc, "subscriptions"):
        target_ids = sub.get("targetIds")
        for j, target_id in enumerate(target_ids if isinstance(target_ids, list) else []):
            if isinstance(target_id, str) and target_id not in known:
                path = ("subscriptions", i, "targetIds", j)
                yield ConfigIssue(path, f'targetId "{target_id}" not found in targets')


def _sub(obj: object, *keys: str) -> dict[str, Any]:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else {}


def _target_refinements(doc: object) -> Iterator[ConfigIssue]:
    for i, target in _items(doc, "targets"):
        pinning = _sub(target, "delivery", "mtls", "certPinning")
        if pinning.get("enabled") is True and pinning.get("spkiHash") is None:
            pin_path: tuple[PathItem, ...] = ("targets", i, "delivery", "mtls", "certPinning", "spkiHash")
            yield ConfigIssue(pin_path, "spkiHash is required when certPinning is enabled")
        signing = _sub(target, "delivery", "signing")
        if signing.get("scheme") == "standard-webhooks" and not signing.get("secrets"):
            path = ("targets", i, "delivery", "signing", "secrets")
            yield ConfigIssue(path, "At least one secret is required for standard-webhooks signing")


UrlCheck = Callable[[str], str | None]  # a URL -> why it is refused, or None (e.g. the egress policy)


def endpoint_issues(doc: object, url_check: UrlCheck) -> Iterator[ConfigIssue]:
    """Each target's ``invocationEndpoint`` through ``url_check`` (the egress policy, SPEC P15)."""
    for i, target in _items(doc, "targets"):
        url = target.get("invocationEndpoint")
        problem = url_check(url) if isinstance(url, str) else None
        if problem is not None:
            yield ConfigIssue(("targets", i, "invocationEndpoint"), problem)


def cross_field_issues(doc: object) -> Iterator[ConfigIssue]:
    """SPEC A.1 uniqueness/reference rules and the A.3/P2 refinements, on the raw document."""
    yield from _duplicates(doc, "subscriptions", "subscriptionId")
    yield from _duplicates(doc, "targets", "targetId")
    yield from _dangling_target_ids(doc)
    yield from _target_refinements(doc)
