"""Secret scrubbing: the one function every ``ERROR_MESSAGE``, log line and metric goes through. Pure.

``scrub(text, secrets)`` replaces every occurrence of every secret with ``[Redacted]``: the raw value and the
forms a receiver is likely to echo it in (JSON-escaped, percent-encoded, a ``whsec_`` secret without its
prefix), and a secret's beginning left dangling at the end of the text (a body excerpt cut mid-secret).
Values under ``MIN_SECRET_CHARS`` characters are not scrubbed (they would garble every message; real keys
are far longer).
Field-name redaction (``delivery.observe.logs``) hides what is *labelled* secret; this hides the known
*values* wherever they turn up, e.g. a receiver answering ``401 invalid API key <key>``.

The secrets are what the process delivers with: API key values, application ids (the reference HMAC key is
``<applicationId>.<apiKey>``), Standard Webhooks secrets and ``env:`` references once resolved. The pipeline
registers them in :data:`KNOWN_SECRETS` as it loads each config; log and metric writers scrub with it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[Redacted]"
MIN_SECRET_CHARS = 6  # shorter values are not scrubbed: masking every "k" or "app" would garble all output
REGEX_MAX_FORMS = 256  # up to this many forms one alternation regex is fastest; beyond, the head index
HEAD_CHARS = 4  # secrets are indexed by this many leading characters
MIN_DANGLING_CHARS = HEAD_CHARS  # a cut-off secret is masked when at least this much of it ends the text
DANGLING_REGEX_MAX_CHARS = 64  # longer forms are scanned: the regex nests one group per character, and the
# stdlib's regex parser and compiler recurse per nesting level (a 300-character form overflows the stack)
CACHE_TEXTS = 4096  # scrubbed texts remembered (see ``KnownSecrets``)
CACHE_TEXT_CHARS = 512  # longer texts (error messages, bodies) are scrubbed every time
MAX_KNOWN_SECRETS = 4096  # the registry keeps the newest values (a worker serves a bounded set of targets)
_WHSEC = "whsec_"


def secret_forms(secret: str) -> frozenset[str]:
    """The value and the encodings it is commonly echoed back in."""
    forms = {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}
    if secret.startswith(_WHSEC) and len(secret) > len(_WHSEC):
        forms.add(secret.removeprefix(_WHSEC))
    return frozenset(form for form in forms if form)


@dataclass(frozen=True, slots=True)
class _Matcher:
    """Forms indexed by their first ``HEAD_CHARS`` characters (longest first): one dict lookup per text
    position, whatever the number of secrets; forms shorter than that go through one small regex."""

    by_head: dict[str, tuple[str, ...]]
    short: re.Pattern[str] | None
    longest: int
    pattern: re.Pattern[str] | None  # every form in one regex, when there are few (faster in C)
    dangling: re.Pattern[str] | None  # a form's beginning ending the text, when there are few
    dangling_long: dict[str, tuple[str, ...]]  # the forms ``dangling`` leaves to the scan, by head


@functools.lru_cache(maxsize=64)
def _matcher(secrets: frozenset[str]) -> _Matcher:
    long_enough = (s for s in secrets if len(s) >= MIN_SECRET_CHARS)
    forms = sorted({f for s in long_enough for f in secret_forms(s)}, key=lambda f: (-len(f), f))
    by_head: dict[str, list[str]] = {}
    for form in forms:
        if len(form) >= HEAD_CHARS:
            by_head.setdefault(form[:HEAD_CHARS], []).append(form)
    shorts = [f for f in forms if len(f) < HEAD_CHARS]
    short = re.compile("|".join(re.escape(f) for f in shorts)) if shorts else None
    longest = max((len(f) for f in forms), default=0)
    few = re.compile("|".join(re.escape(f) for f in forms)) if 0 < len(forms) <= REGEX_MAX_FORMS else None
    heads = [f for f in forms if len(f) >= MIN_DANGLING_CHARS]
    in_regex = [f for f in heads if len(f) <= DANGLING_REGEX_MAX_CHARS] if few is not None else []
    dangling = re.compile("(?:" + "|".join(map(_prefix_pattern, in_regex)) + r")\Z") if in_regex else None
    scanned: dict[str, list[str]] = {}
    for form in heads if dangling is None else [f for f in heads if len(f) > DANGLING_REGEX_MAX_CHARS]:
        scanned.setdefault(form[:HEAD_CHARS], []).append(form)
    by_head_t = {k: tuple(v) for k, v in by_head.items()}
    return _Matcher(by_head_t, short, longest, few, dangling, {k: tuple(v) for k, v in scanned.items()})


def _prefix_pattern(form: str) -> str:
    """A regex matching any prefix of ``form`` at least ``MIN_DANGLING_CHARS`` long: ``abcd(?:e(?:f)?)?``."""
    tail = ""
    for char in reversed(form[MIN_DANGLING_CHARS:]):
        tail = f"(?:{re.escape(char)}{tail})?"
    return re.escape(form[:MIN_DANGLING_CHARS]) + tail


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every known secret (in any of its forms) replaced by ``[Redacted]``."""
    matcher = _matcher(secrets if isinstance(secrets, frozenset) else frozenset(secrets))
    if not text or not matcher.longest:
        return text
    if matcher.pattern is not None:
        return _mask_dangling(matcher.pattern.sub(MASK, text), matcher)
    text = _mask_dangling(_replace_long(text, matcher.by_head), matcher)
    return matcher.short.sub(MASK, text) if matcher.short is not None else text


def _replace_long(text: str, by_head: dict[str, tuple[str, ...]]) -> str:
    if not by_head:
        return text
    parts: list[str] = []
    start = i = 0
    while i <= len(text) - HEAD_CHARS:
        found = next((f for f in by_head.get(text[i : i + HEAD_CHARS], ()) if text.startswith(f, i)), None)
        if found is None:
            i += 1
            continue
        parts += [text[start:i], MASK]
        i = start = i + len(found)
    return "".join([*parts, text[start:]]) if parts else text


def _mask_dangling(text: str, matcher: _Matcher) -> str:
    """Mask a secret's beginning at the very end of ``text`` (what a byte cap leaves of it)."""
    first = max(len(text) - matcher.longest + 1, 0)
    end = len(text) - MIN_DANGLING_CHARS + 1
    if matcher.dangling is not None:  # one C scan for the short forms; the same leftmost start as the scan
        found = matcher.dangling.search(text, first)
        if found is not None:
            end = found.start()
    cut = _dangling_start(text, matcher.dangling_long, first, end) if matcher.dangling_long else None
    if cut is None and end < len(text) - MIN_DANGLING_CHARS + 1:
        cut = end
    return text if cut is None else text[:cut] + MASK


def _dangling_start(text: str, by_head: dict[str, tuple[str, ...]], first: int, end: int) -> int | None:
    """The leftmost ``i`` in ``[first, end)`` where ``text[i:]`` begins one of the forms (the loop)."""
    for i in range(first, end):
        tail = text[i:]
        if any(f.startswith(tail) for f in by_head.get(tail[:HEAD_CHARS], ())):
            return i
    return None


def _mask_dangling_scan(text: str, matcher: _Matcher, first: int) -> str:
    """The reference: every form scanned position by position (what the regex path must agree with)."""
    cut = _dangling_start(text, matcher.by_head, first, len(text) - MIN_DANGLING_CHARS + 1)
    return text if cut is None else text[:cut] + MASK


_SCALARS = frozenset({int, float, bool, type(None)})


def scrub_value(value: Any, secrets: frozenset[str]) -> Any:
    """``scrub`` applied to every string inside ``value`` (mappings, lists, tuples), keys included."""
    return _each_string(value, lambda text: scrub(text, secrets))


def _each_string(value: Any, fn: Callable[[str], str]) -> Any:
    kind = type(value)
    if kind is str:
        return fn(value)
    if kind is dict:  # the common case (a log line's or a metric's fields), its strings scrubbed inline
        return {
            (fn(k) if type(k) is str else _each_string(k, fn)): (
                fn(v) if type(v) is str else v if type(v) in _SCALARS else _each_string(v, fn)
            )
            for k, v in value.items()
        }
    if kind in _SCALARS:
        return value
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, Mapping):
        return {_each_string(k, fn): _each_string(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_each_string(v, fn) for v in value]
    return value


class KnownSecrets:
    """The secret values this process holds; ``scrub(text)`` masks them. Safe to share between threads:
    the value set is replaced, never mutated, so a reader always sees a whole set."""

    def __init__(self) -> None:
        self._order: dict[str, None] = {}
        self.values: frozenset[str] = frozenset()
        # texts already scrubbed against ``values`` (metric names, ids, log messages repeat line after line):
        # a cache hit costs one dict lookup however many secrets are known; replaced when ``values`` changes
        self._done: tuple[frozenset[str], dict[str, str]] = (self.values, {})

    def add(self, values: Iterable[str]) -> None:
        fresh = [v for v in values if v and v not in self._order]
        if not fresh:
            return
        order = dict(self._order)
        order.update(dict.fromkeys(fresh))
        while len(order) > MAX_KNOWN_SECRETS:
            del order[next(iter(order))]
        self._order = order
        self.values = frozenset(order)

    def scrub(self, text: str) -> str:
        values = self.values
        if not values or len(text) < MIN_DANGLING_CHARS:
            return text
        held, done = self._done
        if held is not values:
            done = {}
            self._done = (values, done)
        clean = done.get(text)
        if clean is None:
            clean = scrub(text, values)
            if len(text) <= CACHE_TEXT_CHARS:
                if len(done) >= CACHE_TEXTS:
                    done.clear()
                done[text] = clean
        return clean

    def scrub_value(self, value: Any) -> Any:
        return _each_string(value, self.scrub) if self.values else value

    def clear(self) -> None:
        self._order, self.values = {}, frozenset()


KNOWN_SECRETS = KnownSecrets()

__all__ = ["KNOWN_SECRETS", "MASK", "KnownSecrets", "scrub", "scrub_value", "secret_forms"]
