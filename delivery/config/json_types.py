"""JSON as JavaScript reads it (pure): type names for error messages (``received number``), and the
refusals of ``delivery.config.inputs.loads_unique``, the decoder of every JSON document we accept from
outside: ``NaN``, ``Infinity`` and ``-Infinity`` are invalid JSON (as ``JSON.parse`` says), and nesting too
deep for the decoder is a ``ValueError`` (never a ``RecursionError``).
"""

from __future__ import annotations

from typing import Any


class JsonRefused(ValueError):
    """Not JSON as a receiver would accept it (``NaN``/``Infinity``, or nested too deeply)."""


def reject_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not valid JSON")


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
