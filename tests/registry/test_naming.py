"""Names: FAMILY@VERSION references and aliases."""

from __future__ import annotations

import pytest

from registry.errors import InvalidInput
from registry.naming import check_alias, parse_ref


@pytest.mark.parametrize(("text", "number", "hashy"), [
    ("ionis@3", 3, False), ("ionis@production", None, False), ("ionis@9F2C01", None, True), ("ionis@1234", 1234, True),
])
def test_parse(text, number, hashy):
    ref = parse_ref(text)
    assert ref.family == "ionis" and ref.number == number and ref.could_be_hash is hashy


@pytest.mark.parametrize("text", ["ionis", "ionis@", "@3", "Ionis@3", "ionis@²", "ionis@pro duction", "io nis@1"])
def test_malformed_references(text):
    with pytest.raises(InvalidInput):
        parse_ref(text)


@pytest.mark.parametrize("alias", ["production", "staging-2", "v22_gamma"])
def test_good_aliases(alias):
    assert check_alias(alias) == alias


@pytest.mark.parametrize("alias", ["Production", "2nd", "beef", "d176", "a b", ""])
def test_aliases_that_could_be_misread_are_refused(alias):
    with pytest.raises(InvalidInput):
        check_alias(alias)
