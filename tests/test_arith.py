"""`${…}`: integer arithmetic, comparisons (1 or 0), min and max, against Python's own meaning
of the same text (the test may use `eval` on text it made; cnncalc never does)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.arith import ExpressionError, evaluate

ENV = {"a": 7, "b": -3, "in_channels": 16}


def _leaf():
    return st.one_of(st.integers(0, 40).map(str), st.sampled_from(sorted(ENV)))


def _expressions():
    def extend(inner):
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "//"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})")
        compare = st.tuples(inner, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                            inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        call = st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})")
        return st.one_of(binary, compare, call, inner.map(lambda e: f"-{e}"))
    return st.recursive(_leaf(), extend, max_leaves=8)


@settings(max_examples=300)
@given(_expressions())
def test_expressions_mean_what_python_means(text):
    try:
        expected = int(eval(text, {"min": min, "max": max}, dict(ENV)))   # noqa: S307
    except ZeroDivisionError:
        with pytest.raises(ExpressionError, match="division by zero"):
            evaluate(text, ENV)
        return
    assert evaluate(text, ENV) == expected


@pytest.mark.parametrize("text, value", [
    ("a != 1", 1), ("a == 7", 1), ("in_channels // 4", 4), ("min(a, b)", -3),
    ("max(8, in_channels // 4)", 8), ("(a > b) * 10", 10), ("a <= 6", 0),
    ("min(max(a, 1), 2)", 2), ("-a >= b", 0),
])
def test_comparisons_give_one_or_zero_and_min_max_take_two(text, value):
    assert evaluate(text, ENV) == value


@pytest.mark.parametrize("text, message", [
    ("a < b < 3", "chained comparison"),
    ("min(a)", "`min` takes two values"),
    ("max(a, b, 1)", "`max` takes two values"),
    ("a = 1", "write `==` to compare"),
    ("a ! 1", "unexpected '! 1'"),
    ("a < ", "ends too early"),
    ("a, b", "unexpected ','"),
])
def test_bad_expressions_say_what_is_wrong(text, message):
    with pytest.raises(ExpressionError, match=message):
        evaluate(text, ENV)
