"""The two expression languages of a DAG task, ``depends`` and ``when``, as tables of cases."""

from __future__ import annotations

import pytest

from hera_magics.local.expressions import (
    ContinueOn,
    ExpressionError,
    evaluate_depends,
    evaluate_when,
    parse_depends,
    referenced_tasks,
)


# ---------------------------------------------------------------------------------------------
# depends


S, F, E, K, O = "Succeeded", "Failed", "Error", "Skipped", "Omitted"


@pytest.mark.parametrize(
    ("expression", "phases", "expected"),
    [
        ("A", {"A": S}, True),
        ("A", {"A": K}, True),
        ("A", {"A": F}, False),
        ("A", {"A": O}, False),
        ("A.Succeeded", {"A": K}, False),
        ("A.Failed", {"A": F}, True),
        ("A.Errored", {"A": E}, True),
        ("A.Errored", {"A": F}, False),
        ("A.Skipped", {"A": K}, True),
        ("A.Omitted", {"A": O}, True),
        ("A.Daemoned", {"A": S}, False),
        ("A && B", {"A": S, "B": F}, False),
        ("A || B", {"A": S, "B": F}, True),
        ("!A.Failed", {"A": S}, True),
        ("!(A.Failed || B.Failed)", {"A": S, "B": F}, False),
        ("(A.Succeeded || A.Failed) && B", {"A": F, "B": S}, True),
        ("A && B || C.Failed", {"A": F, "B": S, "C": F}, True),
        ("train-model.Succeeded && load-data", {"train-model": S, "load-data": S}, True),
        ("  A   &&   B  ", {"A": S, "B": S}, True),
    ],
)
def test_depends_expressions(expression, phases, expected):
    assert evaluate_depends(parse_depends(expression), phases) is expected


def test_bare_name_widens_with_continue_on():
    node = parse_depends("A")
    assert evaluate_depends(node, {"A": F}, {"A": ContinueOn(failed=True)})
    assert not evaluate_depends(node, {"A": E}, {"A": ContinueOn(failed=True)})
    assert evaluate_depends(node, {"A": E}, {"A": ContinueOn(error=True)})


def test_referenced_tasks_in_order_without_repeats():
    assert referenced_tasks(parse_depends("b && (a.Failed || b.Succeeded) && c-d")) == ["b", "a", "c-d"]


@pytest.mark.parametrize("expression", ["", "A &&", "(A", "A B", "A & B", "&& A", "A.)"])
def test_bad_depends_expressions_are_refused(expression):
    with pytest.raises(ExpressionError):
        parse_depends(expression)


# ---------------------------------------------------------------------------------------------
# when


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("heads == heads", True),
        ("heads == tails", False),
        ("'a b' == 'a b'", True),
        ('"x" != "y"', True),
        ("5 > 3", True),
        ("10 < 9", False),
        ("2.5 >= 2.50", True),
        ("10 > 9", True),  # numbers compare as numbers, not text
        ("true", True),
        ("false || true", True),
        ("!(1 == 1)", False),
        ("abc =~ '^a'", True),
        ("abc !~ 'b$'", True),
        ("(1 == 1) && (a != b)", True),
    ],
)
def test_when_expressions(expression, expected):
    assert evaluate_when(expression) is expected


@pytest.mark.parametrize("expression", ["", "hello", "1 ==", "(1 == 1", "a < 1"])
def test_bad_when_expressions_are_refused(expression):
    with pytest.raises(ExpressionError):
        evaluate_when(expression)
