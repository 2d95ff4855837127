"""One JSON line from a value, as ``json.dumps(value, default=str, ...)`` writes it, without the
``JSONEncoder`` that ``json.dumps`` builds on every call with non-default arguments (log and EMF lines are
written thousands of times a second). Pure.

    dumps = line_encoder(ensure_ascii=False, check_circular=True)
    dumps({"msg": "é"}) == json.dumps({"msg": "é"}, default=str, ensure_ascii=False)
"""

from __future__ import annotations

import functools
import json
import json.encoder
from collections.abc import Callable
from typing import Any


def line_encoder(*, ensure_ascii: bool, check_circular: bool) -> Callable[[Any], str]:
    """``json.dumps(value, default=str, ensure_ascii=..., check_circular=...)`` with CPython's C encoder
    built once (with ``check_circular`` its markers are fresh per call, so a circular value still raises)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C accelerator
        return functools.partial(
            json.dumps, default=str, ensure_ascii=ensure_ascii, check_circular=check_circular
        )
    strings = json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    if not check_circular:
        encode = make(None, str, strings, None, ": ", ", ", False, False, True)
        return lambda value: "".join(encode(value, 0))

    def dumps(value: Any) -> str:
        return "".join(make({}, str, strings, None, ": ", ", ", False, False, True)(value, 0))

    return dumps
