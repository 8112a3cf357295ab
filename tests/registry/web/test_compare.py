"""Better or worse in the sense of each gate's comparator; non-numbers and unknown comparators are n/a."""

from __future__ import annotations

import math

import pytest

from registry.web.compare import MAX_COMPARED, compare, direction


@pytest.mark.parametrize(("comparator", "value", "base", "expected"), [
    (">=", 2, 1, "better"), (">", 2, 1, "better"), (">=", 1, 2, "worse"), ("<=", 1, 2, "better"),
    ("<", 2, 1, "worse"), ("<=", 1.5, 1.5, "same"), (">=", 1, 1.0, "same"), ("==", 1, 2, "n/a"), ("", 1, 2, "n/a"),
    (">=", None, 1, "n/a"), (">=", 1, None, "n/a"), (">=", math.nan, 1, "n/a"), ("<=", math.inf, 1, "n/a"),
    (">=", True, 0, "n/a"), (">=", "NaN", 1, "n/a")])
def test_direction(comparator: str, value: object, base: object, expected: str) -> None:
    assert direction(comparator, value, base) == expected


def test_compare_takes_two_to_the_maximum(app) -> None:  # type: ignore[no-untyped-def]
    from registry.errors import InvalidInput

    for refs in (["toy@1"], [f"toy@{i}" for i in range(MAX_COMPARED + 1)]):
        with pytest.raises(InvalidInput):
            compare(app, refs)
