"""Input rules shared by the CLI, the config schema and the router. Pure (stdlib only).

Ids (``clientId``, ``targetId``, ``subscriptionId``): 1-64 characters from ``A-Z a-z 0-9 _ -``, starting
with a letter or digit. Why: a client id becomes a file name (``<dir>/<clientId>.json``), an S3 key and part
of SQS queue names (``<prefix>-<clientId>-delivery-queue``: SQS allows only letters, digits, ``-`` and ``_``,
80 characters in all); target ids become Redis keys, metric dimensions and log fields. This set cannot
express a path (``/``, ``..``), an option (leading ``-``), a hidden file, whitespace, control or bidi
characters (e.g. U+202E), and 64 leaves room in a queue name for a prefix.

Header names: an RFC 9110 ``token`` (``!#$%&'*+-.^_`|~``, digits, letters), at most 256 characters.
Header values (the API key): no control characters (CR, LF, NUL, DEL, ... — tab is allowed inside), no
leading or trailing whitespace (HTTP strips it, so the receiver would see another value), at most 4096
characters. A signing-secret entry: at most 1024 characters. A config document: at most 1 MiB.

JSON documents are decoded with :func:`loads_unique`, which refuses duplicate object keys and names each by
its path (``targets[0].apiKey.headerValue``) instead of silently keeping the last one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final

from delivery.config.json_types import JsonRefused, reject_constant

MAX_ID_CHARS: Final = 64
MAX_HEADER_NAME_CHARS: Final = 256
MAX_HEADER_VALUE_CHARS: Final = 4096
MAX_SECRET_REF_CHARS: Final = 1024
MAX_CONFIG_BYTES: Final = 1_048_576

ID_RE: Final = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_-]{{0,{MAX_ID_CHARS - 1}}}")
TOKEN_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
ID_RULE: Final = f"1-{MAX_ID_CHARS} characters from A-Z a-z 0-9 _ -, starting with a letter or digit"


def id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid id, or None."""
    if ID_RE.fullmatch(value):
        return None
    return f"must be {ID_RULE} (got {_shown(value)})"


def header_name_problem(value: str) -> str | None:
    if len(value) > MAX_HEADER_NAME_CHARS:
        return f"must be at most {MAX_HEADER_NAME_CHARS} characters (got {len(value)})"
    if not TOKEN_RE.fullmatch(value):
        return "must be an HTTP header name (RFC 9110 token: letters, digits and !#$%&'*+-.^_`|~)"
    return None


def header_value_problem(value: str) -> str | None:
    """A header value: never echoed (it is usually a secret), only what is wrong with it."""
    if len(value) > MAX_HEADER_VALUE_CHARS:
        return f"must be at most {MAX_HEADER_VALUE_CHARS} characters (got {len(value)})"
    if _CONTROL.search(value):
        return "must not contain control characters (CR, LF, NUL, ...)"
    if value != value.strip(" \t"):
        return "must not start or end with whitespace"
    return None


def _shown(value: str) -> str:
    """The value for an error message: escaped (no raw control/bidi characters) and cut."""
    text = json.dumps(value[:MAX_ID_CHARS], ensure_ascii=True)
    return text if len(value) <= MAX_ID_CHARS else f'{text[:-1]}..." ({len(value)} characters)'


JsonPath = tuple[str | int, ...]


def path_text(path: JsonPath) -> str:
    """``("targets", 0, "apiKey")`` -> ``targets[0].apiKey``."""
    text = ""
    for part in path:
        text = f"{text}[{part}]" if isinstance(part, int) else (f"{text}.{part}" if text else part)
    return text or "(root)"


class DuplicateKeyError(ValueError):
    """A JSON object repeats a key; ``paths`` names every repeated key."""

    def __init__(self, paths: list[JsonPath]) -> None:
        self.paths = tuple(paths)
        super().__init__("; ".join(f"{path_text(p)}: duplicate key" for p in paths))


class _Pairs(dict[str, Any]):
    """A decoded object that remembers which keys were repeated."""

    __slots__ = ("repeated",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.repeated: tuple[str, ...] = ()
        if len(self) != len(pairs):
            seen: set[str] = set()
            again: list[str] = []
            for key, _ in pairs:
                if key in seen:
                    again.append(key)
                seen.add(key)
            self.repeated = tuple(dict.fromkeys(again))


def _duplicates(value: Any, path: JsonPath = ()) -> Iterator[JsonPath]:
    if isinstance(value, dict):
        yield from ((*path, key) for key in getattr(value, "repeated", ()))
        for key, item in value.items():
            yield from _duplicates(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _duplicates(item, (*path, index))


def loads_unique(text: str | bytes | bytearray) -> Any:
    """``strict_json`` that also raises :class:`DuplicateKeyError` (every path) when an object repeats a key.

    ``json.JSONDecodeError`` propagates as from ``json.loads``; ``NaN``/``Infinity`` and nesting too deep
    raise ``JsonRefused``; objects come back as plain ``dict``s."""
    if not isinstance(text, str):
        text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
    try:
        return _UNIQUE.decode(text)  # the common case: plain dicts, no bookkeeping
    except _Repeated:
        raise DuplicateKeyError(list(_duplicates(_REMEMBERING.decode(text)))) from None
    except RecursionError:
        raise JsonRefused("JSON nested too deeply") from None


class _Repeated(Exception):
    """Raised by the fast hook on the first repeated key; the slow pass then names them all."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Repeated
    return obj


# built once (json.loads(**kw) builds one a call); NaN/Infinity refused as JSON.parse does
_UNIQUE = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=reject_constant)
_REMEMBERING = json.JSONDecoder(object_pairs_hook=_Pairs, parse_constant=reject_constant)


def config_size_problem(size_bytes: int) -> str | None:
    if size_bytes > MAX_CONFIG_BYTES:
        return f"config is {size_bytes} bytes; the limit is {MAX_CONFIG_BYTES} (1 MiB)"
    return None


__all__ = [
    "ID_RULE",
    "MAX_CONFIG_BYTES",
    "MAX_HEADER_NAME_CHARS",
    "MAX_HEADER_VALUE_CHARS",
    "MAX_ID_CHARS",
    "MAX_SECRET_REF_CHARS",
    "DuplicateKeyError",
    "config_size_problem",
    "header_name_problem",
    "header_value_problem",
    "id_problem",
    "loads_unique",
    "path_text",
]
