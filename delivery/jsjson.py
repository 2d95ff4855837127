"""JSON text exactly as JavaScript's ``JSON.stringify`` writes it, for decoded JSON values (pure).

A reference receiver parses a callback body and may serialise it again (the reference signs a
re-serialisation, SPEC B.4), so the bytes we send must be the ones ``JSON.stringify`` would produce:
compact, insertion order, non-ASCII kept, ``/`` not escaped, and numbers formatted by ECMAScript
``Number::toString`` (ECMA-262 §6.1.6.1.20):

- ``1.0`` → ``1``, ``-0.0`` → ``0``, ``1e-07`` → ``1e-7``, ``1e21`` → ``1e+21``,
  ``1e20`` → ``100000000000000000000``;
- an integer beyond 2**53 is the nearest double, as ``JSON.parse`` reads it (``12345678901234567890`` →
  ``12345678901234567000``);
- ``NaN`` and ``±Infinity`` (e.g. ``1e400`` once parsed) → ``null``.

The shortest round-trip digits come from ``repr(float)`` (CPython's correctly rounded shortest repr, the
same digits ECMAScript asks for); only the layout rules differ, and they are applied here.
"""

from __future__ import annotations

import json.encoder
import math
from collections.abc import Callable
from typing import Any, Final

_SAFE_INTEGER: Final = 2**53
_LITERALS: Final = {None: "null", True: "true", False: "false"}
_string: Callable[[str], str] = json.encoder.encode_basestring  # JSON.stringify's escapes; non-ASCII kept


def _digits_and_point(text: str) -> tuple[str, int]:
    """``repr`` of a positive finite float → (significant digits without zeros at either end, n) such that
    value = 0.<digits> × 10**n, i.e. ECMAScript's s (as text) and n."""
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    return stripped.rstrip("0"), point


def js_number(value: float | int) -> str:
    """ECMAScript ``Number::toString(value)`` (radix 10); ``NaN``/``Infinity`` as JavaScript spells them."""
    if isinstance(value, int) and -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
        return str(int(value))
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf
    if math.isnan(number):
        return "NaN"
    if number == 0:
        return "0"
    if number < 0:
        return "-" + js_number(-number)
    if math.isinf(number):
        return "Infinity"
    s, n = _digits_and_point(repr(number))
    k = len(s)
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + s
    exponent = n - 1
    sign = "+" if exponent > 0 else "-"
    mantissa = s if k == 1 else s[0] + "." + s[1:]
    return f"{mantissa}e{sign}{abs(exponent)}"


def _json_number(value: float | int) -> str:
    text = js_number(value)
    return "null" if text in ("NaN", "Infinity", "-Infinity") else text


def stringify(value: Any) -> str:
    """``JSON.stringify(value)`` for a value decoded from JSON (dict, list, str, int, float, bool, None)."""
    parts: list[str] = []
    _write(value, parts.append)
    return "".join(parts)


def _write(value: Any, out: Callable[[str], None]) -> None:
    if isinstance(value, dict):
        out("{")
        for index, (key, item) in enumerate(value.items()):
            out("," + _string(key) + ":" if index else _string(key) + ":")
            _write(item, out)
        out("}")
    elif isinstance(value, (list, tuple)):
        out("[")
        for index, item in enumerate(value):
            if index:
                out(",")
            _write(item, out)
        out("]")
    else:
        out(_scalar(value))


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, bool):
        return _LITERALS[value]
    if isinstance(value, (int, float)):
        return _json_number(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


__all__ = ["js_number", "stringify"]
