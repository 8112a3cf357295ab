"""gates.suite: a suite's options — parsed by type, named canonically, unknown or malformed ones refused."""

from __future__ import annotations

import pytest

from gates.suite import GateSuite, format_option, parse_option, split_suite_name
from registry.errors import InvalidInput

OPTIONS = (("bar", 0.5), ("count", 10), ("flag", False), ("since", "2015-01-01T17:00:00"))
built: list[dict[str, object]] = []


def build(**kw: object) -> GateSuite:
    built.append(kw)
    return GateSuite("s", "3", "fam", (), f"bar {kw['bar']}", options=OPTIONS, build=build)


BASE = build(**dict(OPTIONS))


def test_changed_options_build_a_suite_named_by_them_sorted() -> None:
    built.clear()
    suite = BASE.configured({"count": "12", "bar": "0.25"})
    assert built == [{"bar": 0.25, "count": 12, "flag": False, "since": "2015-01-01T17:00:00"}]
    assert suite.name == "s[bar=0.25,count=12]" and suite.version == "3" and suite.description == \
        "bar 0.25 (options: bar=0.25,count=12)"
    assert suite.options == OPTIONS and suite.build is build  # it can be configured again from its name


def test_defaults_given_explicitly_are_the_plain_suite() -> None:
    built.clear()
    assert BASE.configured({"bar": "0.50", "count": "10", "flag": "false"}) is BASE
    assert BASE.configured({}) is BASE and built == []
    assert BASE.configured({"bar": "0.5", "flag": "true"}).name == "s[flag=true]"  # only the changed one


def test_int_option_given_where_default_is_float_is_the_same_value() -> None:
    assert BASE.configured({"bar": "1"}).name == "s[bar=1.0]"


@pytest.mark.parametrize(("key", "text", "msg"), [
    ("bar", "nan", "not a finite float"), ("bar", "inf", "not a finite float"), ("bar", "-inf", "not a finite"),
    ("bar", "x", "not a finite float"), ("count", "1.5", "not a finite int"), ("flag", "True", "not a finite bool"),
    ("flag", "1", "not a finite bool"), ("since", "a b", "letters, digits"), ("since", "x" * 65, "letters, digits"),
    ("since", "é", "letters, digits"),
])
def test_values_of_the_wrong_type_are_refused_naming_the_option(key: str, text: str, msg: str) -> None:
    with pytest.raises(InvalidInput, match=f"suite 's': option {key}=.*{msg}"):
        BASE.configured({key: text})


def test_text_values_keep_their_characters() -> None:
    assert parse_option("s", "since", "x" * 64, "") == "x" * 64
    assert parse_option("s", "since", "2016-01-01T00:00:00+00:00", "") == "2016-01-01T00:00:00+00:00"
    assert parse_option("s", "count", "-3", 1) == -3 and parse_option("s", "flag", "true", False) is True


def test_unknown_options_list_the_known_ones_with_their_defaults() -> None:
    with pytest.raises(InvalidInput, match=r"suite 's' has no option 'nope' \(options: bar \(default 0.5\), count "
                                           r"\(default 10\), flag \(default false\), since"):
        BASE.configured({"nope": "1"})
    plain = GateSuite("p", "1", "fam", ())
    with pytest.raises(InvalidInput, match=r"has no option 'a' \(options: none\)"):
        plain.configured({"a": "1"})
    assert plain.configured({}) is plain


def test_options_need_a_build_function() -> None:
    with pytest.raises(ValueError, match="options but no build"):
        GateSuite("p", "1", "fam", (), options=(("a", 1),))


@pytest.mark.parametrize(("name", "expected"), [
    ("release", ("release", {})),
    ("release[]", ("release", {})),
    ("release[a=1]", ("release", {"a": "1"})),
    ("release[ a = 1 , b=x,]", ("release", {"a": "1", "b": "x"})),
])
def test_split_suite_name(name: str, expected: tuple[str, dict[str, str]]) -> None:
    assert split_suite_name(name) == expected


@pytest.mark.parametrize(("name", "msg"), [
    ("release[a=1", "is not NAME or NAME"), ("release]", "is not NAME"), ("release[a=1]x", "is not NAME"),
    ("[a=1]", "is not NAME"), ("release[a[b]=1]", "is not NAME"), ("release[a]", "'a' is not option=value"),
    ("release[=1]", "is not option=value"), ("release[a=]", "is not option=value"),
    ("release[a=1,a=2]", "option 'a' given twice"),
])
def test_malformed_suite_names_are_refused(name: str, msg: str) -> None:
    with pytest.raises(InvalidInput, match=msg):
        split_suite_name(name)


def test_format_option() -> None:
    assert [format_option(v) for v in (True, False, 3, 0.1, 1e-7, "t")] == ["true", "false", "3", "0.1", "1e-07", "t"]
