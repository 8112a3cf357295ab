"""Malformed JSON handed in by users is one usage error, never an internal one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.errors import InvalidCheckpoint, InvalidInput
from registry.json_input import MAX_DEPTH, parse_json, read_json, read_json_object


@pytest.mark.parametrize(("text", "why"), [
    ('{"a": ' + "9" * 5000 + "}", "an integer of 5000 digits"),
    ('{"a": ' + "9" * 41 + "}", "an integer of 41 digits"),
    ("[" * 200_000 + "]" * 200_000, "nested 200000 levels deep"),
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"nested {MAX_DEPTH + 1} levels deep"),
    ('{"a": NaN}', "NaN is not a JSON number"),
    ('{"a": -Infinity}', "-Infinity is not a JSON number"),
    ('{"a": 1e400}', "1e400 overflows a float"),
    ('{"a": 1, "a": 2}', "key 'a' appears twice"),
    ("{not json", "not valid JSON"),
])
def test_malformed_json_is_one_clear_usage_error(text, why):
    with pytest.raises(InvalidInput, match=why) as err:
        parse_json(text, "config c.json")
    assert "\n" not in str(err.value) and str(err.value).startswith("config c.json: ")


def test_limits_are_boundaries_not_approximations():
    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, "x") is not None
    assert parse_json('{"a": ' + "9" * 40 + "}", "x") == {"a": int("9" * 40)}
    assert parse_json('{"a": -' + "9" * 40 + "}", "x") == {"a": -int("9" * 40)}
    assert parse_json('{"s": "[[[[' + "[" * 100 + '"}', "x")["s"].startswith("[[[")  # brackets inside strings
    assert parse_json('{"s": "quote \\" [[[", "t": 1e308}', "x") == {"s": 'quote " [[[', "t": 1e308}


@given(st.recursive(st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=False,
                                                                                          allow_infinity=False)
                    | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                    max_leaves=12))
def test_ordinary_json_reads_as_json_does(value):
    import json

    assert parse_json(json.dumps(value), "x") == value


def test_files_errors_are_raised_as_the_callers_kind(tmp_path):
    big = tmp_path / "meta.json"
    big.write_text('{"pad": "' + "x" * 2000 + '"}')
    with pytest.raises(InvalidCheckpoint, match=r"meta meta.json: 2,011 bytes, more than the 1,000 accepted"):
        read_json(big, "meta", max_bytes=1000, error=InvalidCheckpoint)
    assert read_json(big, "meta", max_bytes=2011)["pad"] == "x" * 2000
    bad = tmp_path / "latin.json"
    bad.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(InvalidInput, match="not UTF-8 text"):
        read_json(bad, "config")
    with pytest.raises(InvalidInput, match="cannot be read"):
        read_json(tmp_path / "missing.json", "config")
    arr = tmp_path / "list.json"
    arr.write_text('["model"]')
    with pytest.raises(InvalidInput, match="expected a JSON object, not list"):
        read_json_object(arr, "config")
