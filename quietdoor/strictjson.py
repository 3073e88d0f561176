"""JSON from outside, parsed with limits: size, depth, whole numbers only, no lone surrogates.

Everything the relay receives and everything the key tool decrypts or downloads
comes from someone who may be hostile. Python's json module accepts input that
later hurts: nesting deep enough to exhaust the stack, integers of thousands of
digits, NaN and Infinity, floats (is 1.0 the version 1?), duplicate keys (which
one wins?), and strings holding lone surrogates that cannot be written out as
UTF-8. This module refuses all of them with one error type, before any caller
sees the value. Depth counts from the top-level value, which is depth 1.
"""

from __future__ import annotations

import json
from typing import Any

from quietdoor.errors import QuietDoorError

MAX_DEPTH = 16
MAX_INT_DIGITS = 18  # every integer we use fits comfortably in 64 bits


class JSONError(QuietDoorError):
    """Text that is not JSON we accept; the message says which limit it broke."""


def loads(data: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON within limits; JSONError on anything outside them."""
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise JSONError(f"longer than {max_bytes} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JSONError("not UTF-8") from None
    else:
        text = data
        if len(text) > max_bytes:
            raise JSONError(f"longer than {max_bytes} characters")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise JSONError(f"not JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:
        # The C parser counts its own nesting and stops cleanly at the interpreter's limit.
        raise JSONError(f"nested deeper than {max_depth} levels") from None
    escapes = "\\u" in text
    # Fewer brackets than the depth limit cannot nest past it: most texts skip the walk.
    if escapes or text.count("{") + text.count("[") > max_depth:
        _check_shape(value, max_depth, escapes)
    return value


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONError(f"a number with more than {MAX_INT_DIGITS} digits")
    return int(text)


def _refuse_float(text: str) -> float:
    """Every number this project reads is whole; 1.0 and 1e2 are refused, not rounded."""
    raise JSONError(f"a number with a fraction or exponent ({text[:16]}): only whole numbers")


def _refuse_constant(name: str) -> Any:
    raise JSONError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise JSONError("an object names the same key twice")
    return result


_DECODER = json.JSONDecoder(
    parse_int=_parse_int,
    parse_float=_refuse_float,
    parse_constant=_refuse_constant,
    object_pairs_hook=_unique_keys,
)


def _check_shape(value: Any, max_depth: int, escapes: bool) -> None:
    """Refuse nesting beyond max_depth and lone surrogates (\\ud800), in keys and values.

    A lone surrogate can only come from a \\u escape (UTF-8 cannot encode one), so
    strings are looked at only when the text has an escape.
    """
    if escapes and isinstance(value, str):
        _valid_text(value)
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise JSONError(f"nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            if escapes:
                for key in item:
                    _valid_text(key)
        for inner in item.values() if isinstance(item, dict) else item:
            if isinstance(inner, dict | list):
                stack.append((inner, depth + 1))
            elif escapes and isinstance(inner, str):
                _valid_text(inner)


def _valid_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONError("a string holds a lone surrogate, which is not text") from None
