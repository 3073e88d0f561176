"""quietdoor.strictjson: JSON from outside, parsed within limits."""

from __future__ import annotations

import pytest

from quietdoor.strictjson import JSONError, loads


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"[" * 17 + b"]" * 17, "nested deeper than 16"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (b'{"a":' * 17 + b"1" + b"}" * 17, "nested deeper than 16"),
        (b'[{"a":' * 9 + b"1" + b"}]" * 9, "nested deeper than 16"),
        (b"1" * 19, "more than 18 digits"),
        (b"-" + b"1" * 19, "more than 18 digits"),
        (b"1e400", "only whole numbers"),
        (b"1." + b"0" * 40, "only whole numbers"),
        (b'{"v":1.0}', "only whole numbers"),
        (b"1e2", "only whole numbers"),
        (b"-0.5", "only whole numbers"),
        (b"NaN", "NaN is not a JSON number"),
        (b"-Infinity", "-Infinity is not a JSON number"),
        (b'{"a":1,"a":2}', "same key twice"),
        (b'"\\udc00"', "lone surrogate"),
        (b'{"\\ud800":1}', "lone surrogate"),
        (b"\xff", "not UTF-8"),
        (b"{", "not JSON"),
        (b"x" * 101, "longer than 100 bytes"),
    ],
)
def test_outside_the_limits_is_refused(text: bytes, problem: str) -> None:
    with pytest.raises(JSONError, match=problem):
        loads(text, max_bytes=100 if len(text) == 101 else 1_000_000)


def test_within_the_limits_parses_as_json() -> None:
    text = '{"a":[1,-2,0,"ñ 🙂",true,null],"b":{"c":"\\ud83d\\ude42"}}'
    assert loads(text, max_bytes=1000) == {
        "a": [1, -2, 0, "ñ 🙂", True, None],
        "b": {"c": "🙂"},
    }
    assert loads(b"[" * 16 + b"]" * 16, max_bytes=100) == [[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]
    # Brackets inside strings are not nesting.
    assert loads('[["{[{[{[{[{[{[{[{["]]', max_bytes=100) == [["{[{[{[{[{[{[{[{["]]
