"""JSON as JavaScript reads it (pure): type names for error messages (``received number``), and
``strict_json``, the decoder of every JSON document we accept from outside.

``strict_json`` refuses ``NaN``, ``Infinity`` and ``-Infinity`` (invalid JSON, as ``JSON.parse`` says) and
turns nesting too deep for the decoder into a ``ValueError`` (never a ``RecursionError``).
"""

from __future__ import annotations

import json
from typing import Any


class JsonRefused(ValueError):
    """Not JSON as a receiver would accept it (``NaN``/``Infinity``, or nested too deeply)."""


def _reject_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def strict_json(text: str | bytes) -> Any:
    """``json.loads`` that refuses ``NaN``/``Infinity`` and deep nesting with a ``ValueError``."""
    try:
        return _DECODER.decode(text.decode("utf-8") if isinstance(text, bytes) else text)
    except RecursionError:
        raise JsonRefused("JSON nested too deeply") from None


def json_type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__
