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


@pytest.mark.parametrize("text", ["ionis@production\n", "ionis\n@3", "ionis@3\n", "ionis@beef\n"])
def test_a_trailing_newline_is_not_a_valid_name(text):
    """``$`` matches before a final newline; names are matched to their very end."""
    with pytest.raises(InvalidInput):
        parse_ref(text)


@pytest.mark.parametrize("alias", ["production\n", "staging\r", "prod\tuction"])
def test_aliases_with_control_characters_are_refused(alias):
    with pytest.raises(InvalidInput):
        check_alias(alias)


@pytest.mark.parametrize("text", ["a\nionis@99   abc   production", "\x1b[2J", "tab\there", "bell\x07", "del\x7f",
                                  "c1\x85", "bidi\u202eoverride", "zero\u200bwidth", "line\u2028sep", "bom\ufeff"])
def test_check_text_refuses_each_control_character(text):
    from registry.naming import check_text

    with pytest.raises(InvalidInput, match="contains the control character"):
        check_text(text, "the version name")


@pytest.mark.parametrize("text", ["", "IonisGate V22-γ (KI7MT)", "incident 4711: V21 outage", "Ωmega", "a—b"])
def test_check_text_keeps_printable_text(text):
    from registry.naming import check_text

    assert check_text(text, "reason") == text
