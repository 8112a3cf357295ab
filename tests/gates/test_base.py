"""Thresholds at their boundaries, bands, gates on a confidence bound, slices, and what reaches the evidence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gates.base import Outcome, Slice, Threshold, table
from gates.bootstrap import Interval

NON_NUMBERS = [None, math.nan, math.inf, -math.inf, np.float32("nan"), "1.0"]


@pytest.mark.parametrize(("op", "below", "at", "above"), [
    (">=", False, True, True), (">", False, False, True), ("<=", True, True, False), ("<", True, False, False),
    ("==", False, True, False),
])
def test_each_comparator_at_its_boundary(op, below, at, above):
    t = Threshold(op, 1.0)
    assert (t.check(1.0 - 1e-12), t.check(1.0), t.check(1.0 + 1e-12)) == (below, at, above)
    assert t.check(np.int64(1)) is at and t.check(np.float32(1.0)) is at  # numpy scalars are numbers too
    for v in NON_NUMBERS:
        assert t.check(v) is False
    assert str(t) == f"{op} 1"


def test_a_band_holds_both_ends_inclusive():
    band = Threshold.band(0.8, 1.2)
    assert [band.check(v) for v in (0.8 - 1e-12, 0.8, 1.0, 1.2, 1.2 + 1e-12)] == [False, True, True, True, False]
    for v in NON_NUMBERS:
        assert band.check(v) is False
    assert band.op == "between" and band.limit == (0.8, 1.2) and str(band) == "in [0.8, 1.2]"
    assert Threshold("between", [1, 1]).check(1) and not Threshold("between", [1, 1]).check(1.0000001)


@pytest.mark.parametrize(("args", "message"), [
    (("=>", 1.0), "unknown comparator"),
    ((">", 1.0, "middle"), "held on one of value, lower, upper"),
    (("between", (1.2, 0.8)), "lower ≤ upper"),
    (("between", 1.0), "a band needs"),
    (("between", (0.0, math.nan)), "a band needs"),
    (("between", (0.0, 1.0, 2.0)), "a band needs"),
    ((">", (0.0, 1.0)), "one finite limit"),
    ((">", math.nan), "one finite limit"),
    ((">", math.inf), "one finite limit"),
])
def test_malformed_thresholds_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        Threshold(*args)


def test_held_to_the_value():
    out = Outcome.held_to(2.0, Threshold(">=", 2.0))
    assert out.passed and out.value == 2.0 and out.threshold == 2.0 and out.comparator == ">="
    assert out.message == "2 meets >= 2" and "interval" not in out.details and "slices" not in out.details
    miss = Outcome.held_to(None, Threshold(">=", 2.0))
    assert not miss.passed and miss.message == "n/a misses >= 2"
    assert Outcome.held_to(1.0, Threshold(">", 0), message="own words").message == "own words"
    band = Outcome.held_to(1.3, Threshold.band(0.8, 1.2))
    assert not band.passed and band.threshold == [0.8, 1.2] and band.comparator == "between"
    assert band.message == "1.3 misses in [0.8, 1.2]"


def test_a_gate_on_the_lower_bound_of_its_interval():
    skill = Threshold(">", 0.0, on="lower")
    sure = Outcome.held_to(0.12, skill, interval={"lower": 0.03, "upper": 0.2, "level": 0.95})
    assert sure.passed and sure.details["interval"] == {"lower": 0.03, "upper": 0.2, "level": 0.95}
    assert sure.message == "0.12 [0.03, 0.2] at 95%: lower bound 0.03 meets > 0"
    unsure = Outcome.held_to(0.12, skill, interval=Interval(0.12, -0.01, 0.2, 0.95))  # a bootstrap Interval too
    assert not unsure.passed and "lower bound -0.01 misses" in unsure.message
    at_zero = Outcome.held_to(0.12, skill, interval={"lower": 0.0, "upper": 0.2, "level": 0.9})
    assert not at_zero.passed  # "> 0" means strictly above
    no_ci = Outcome.held_to(0.12, skill)
    assert not no_ci.passed and "n/a (no interval)" in no_ci.message  # a bound gate without an interval fails
    upper = Outcome.held_to(5.0, Threshold("<", 6.0, on="upper"), interval={"lower": 4, "upper": 6, "level": 0.9})
    assert not upper.passed and "upper bound 6" in upper.message
    plain = Outcome.held_to(0.12, Threshold(">", 0.1), interval={"lower": -5, "upper": 5, "level": 0.5})
    assert plain.passed  # held on the value, the interval only shown


@pytest.mark.parametrize("interval", [
    {"lower": 1.0, "upper": 0.0, "level": 0.95}, {"lower": 0.0, "upper": 1.0, "level": 1.0},
    {"lower": 0.0, "upper": 1.0, "level": 0.0}, {"lower": 0.0, "upper": math.nan, "level": 0.9},
    {"lower": 0.0, "upper": 1.0}, {"lower": True, "upper": 1.0, "level": 0.9},
])
def test_malformed_intervals_are_refused(interval):
    with pytest.raises(ValueError, match="an interval needs"):
        Outcome.held_to(0.5, Threshold(">", 0), interval=interval)


def test_slices_are_held_to_the_gates_threshold_and_stored():
    out = Outcome.held_to(0.9, Threshold(">=", 0.5), slices=(
        Slice("+6 h", 0.95), Slice("+24 h", 0.5), Slice("+48 h", 0.49), Slice("storms", None),
        Slice("given", 0.1, passed=True)))
    assert [s.passed for s in out.slices] == [True, True, False, False, True]
    assert out.details["slices"][2] == {"name": "+48 h", "value": 0.49, "passed": False, "interval": None}
    bound = Outcome.held_to(0.3, Threshold(">", 0, on="lower"), interval={"lower": 0.1, "upper": 0.5, "level": 0.9},
                            slices=(Slice("a", 0.3, interval={"lower": -0.1, "upper": 0.6, "level": 0.9}),
                                    Slice("b", 0.3), Slice("c", -0.3, interval={"lower": 0.1, "upper": 0.6,
                                                                                  "level": 0.9})))
    assert [s.passed for s in bound.slices] == [False, True, True]  # each slice held on its own bound if it has one
    direct = Outcome(1.0, True, slices=(Slice("x", 2),), details={"keep": 1})
    assert direct.details == {"keep": 1, "slices": [{"name": "x", "value": 2, "passed": None, "interval": None}]}


def test_table_keeps_column_order():
    assert table([{"b": 1, "a": 2}, {"a": 3}], ["b", "a"], "t") == {"title": "t", "columns": ["b", "a"],
                                                                    "rows": [[1, 2], [None, 3]]}


def test_values_that_are_not_numbers_never_pass():
    t = Threshold(">", 0.0)
    assert not t.check([1.0]) and not t.check(object()) and not t.check(1j)  # float() raises: not a pass
    assert Threshold.band(0, 1, on="lower").on == "lower" and Threshold.band(0, 1).on == "value"
    with pytest.raises(ValueError, match=r"use one of >=, >, <=, <, ==, between"):
        Threshold("~", 1)


def test_interval_edges_and_sources():
    point = Outcome.held_to(0.5, Threshold(">", 0), interval={"lower": 0.5, "upper": 0.5, "level": 0.9})
    assert point.details["interval"] == {"lower": 0.5, "upper": 0.5, "level": 0.9}  # a zero-width interval is one

    class Partial:
        lower, upper = 0.0, 1.0

    with pytest.raises(ValueError, match="an interval needs finite lower, upper and level"):
        Outcome.held_to(0.5, Threshold(">", 0), interval=Partial())
    no_ci = Outcome.held_to(None, Threshold(">", 0, on="lower"))
    assert no_ci.message == "n/a: lower bound n/a (no interval) misses > 0"


def test_slices_keep_their_interval_and_a_value_gate_ignores_it():
    ci = {"lower": -0.1, "upper": 0.6, "level": 0.9}
    out = Outcome.held_to(0.3, Threshold(">", 0), slices=(Slice("a", 0.3, interval=ci),))
    assert out.slices[0].passed is True  # held on the value: the slice's interval is only shown
    assert out.slices[0].interval == ci and out.details["slices"][0]["interval"] == ci
    assert table([{"a": 1}], ["a"])["title"] == ""
