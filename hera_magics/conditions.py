"""``.when(...)`` conditions of ``%argo_dag``: Python comparisons of task results → Argo's ``when``.

In a DAG expression, ``evaluate > 0.9`` compares ``evaluate``'s return value with a literal and
makes a ``Condition``; ``&``, ``|`` and ``~`` combine them (``and``, ``or`` and ``not`` cannot be
overloaded in Python, so they are refused with a message). The condition becomes Argo's ``when``
text, which the controller evaluates after substituting the results (govaluate syntax)::

    (evaluate > 0.9) & ~(check == "skip")
    →  ({{tasks.evaluate.outputs.parameters.return}} > 0.9) && !({{tasks.check.outputs.parameters.return}} == "skip")

A function task's return value is JSON, so after substitution a string arrives with its quotes
and a number or ``true`` as it is: literals are written as JSON too. What a task printed
(``.result``) is bare text, so it is quoted when compared with a string.

No IPython, no Hera.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from .annotations import describe, kinds_meet
from .errors import DagError

OPERATORS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
ORDERING = ("<", "<=", ">", ">=")

COMBINE_HINT = ("combine conditions with & (and), | (or) and ~ (not), each comparison in parentheses: "
                ".when((evaluate > 0.9) & (size < 100))")


@dataclass(frozen=True)
class Operand:
    """One side of a comparison: Argo text, the nodes it reads, and what it is.

    ``kind``: ``"value"`` (a return value, JSON), ``"printed"`` (stdout, bare text) or
    ``"literal"``; ``kinds`` are the simple kinds known of it (a literal's own, a task's return
    annotation), for a message before anything is sent.
    """

    text: str
    sources: tuple[str, ...]
    kind: str
    label: str
    kinds: tuple[str, ...] = ()


class Condition:
    """A comparison (or a combination of them) made in a DAG expression, for ``.when(...)``."""

    def __init__(self, expression: str, sources: tuple[str, ...]) -> None:
        self.expression = expression
        self.sources = sources

    def __and__(self, other: Any) -> Condition:
        return Condition(f"{self._grouped()} && {_condition(other, '&')._grouped()}",
                         _joined(self.sources, _condition(other, "&").sources))

    def __or__(self, other: Any) -> Condition:
        return Condition(f"{self._grouped()} || {_condition(other, '|')._grouped()}",
                         _joined(self.sources, _condition(other, "|").sources))

    def __rand__(self, other: Any) -> Condition:
        return _condition(other, "&") & self

    def __ror__(self, other: Any) -> Condition:
        return _condition(other, "|") | self

    def __invert__(self) -> Condition:
        return Condition(f"!{self._grouped()}", self.sources)

    def __bool__(self) -> bool:
        raise DagError("a condition is not True or False while the DAG is built (it is decided when the "
                       "workflow runs)", hint=COMBINE_HINT + "; and write 0.5 < x < 0.9 as (x > 0.5) & (x < 0.9)")

    def _grouped(self) -> str:
        return f"({self.expression})"

    def __repr__(self) -> str:
        return f"<condition {self.expression}>"


def _condition(value: Any, operator: str) -> Condition:
    if isinstance(value, Condition):
        return value
    if hasattr(value, "_operand"):  # a task or node on its own: it returned true
        return truth_of(value._operand())
    raise DagError(f"`{operator}` combines conditions, not a {type(value).__name__}", hint=COMBINE_HINT)


def _joined(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(first + second))


def literal_operand(value: Any) -> Operand:
    """A literal of a comparison: a number, a string or a bool, written as JSON."""
    if isinstance(value, bool):
        return Operand("true" if value else "false", (), "literal", repr(value), ("bool",))
    if isinstance(value, (int, float)) and not (isinstance(value, float) and not math.isfinite(value)):
        return Operand(json.dumps(value), (), "literal", repr(value), ("int",) if isinstance(value, int) else ("float",))
    if isinstance(value, str):
        if "{{" in value:
            raise DagError(f"the condition's text {value!r} contains '{{{{', which Argo would substitute")
        return Operand(json.dumps(value), (), "literal", repr(value), ("str",))
    raise DagError(
        f"a condition compares a task's result with a number, a string or True/False, not with "
        f"{'None' if value is None else 'a ' + type(value).__name__}",
        hint="for example .when(evaluate > 0.9) or .when(check == \"ok\")",
    )


def compare(left: Operand, operator: str, right: Operand) -> Condition:
    """``left <operator> right`` as a ``Condition`` (at least one side is a task's result)."""
    if left.kind == "literal" and right.kind == "literal":
        raise DagError(f"{left.label} {operator} {right.label} compares two literals; compare a task's result")
    for mine, other in ((left, right), (right, left)):
        if other.kind == "literal" and mine.kinds and not (
                kinds_meet(mine.kinds, other.kinds) or (other.kinds == ("int",) and "float" in mine.kinds)):
            raise DagError(
                f"{mine.label} returns {describe(mine.kinds)}, which is never {operator} {other.label} in Argo's "
                "comparison", hint="compare with a value of the same kind")
        if operator in ORDERING and mine.kinds and not kinds_meet(mine.kinds, ("int", "float", "str")):
            raise DagError(f"{mine.label} returns {describe(mine.kinds)}; {operator} needs a number",
                           hint="return the number itself (e.g. the accuracy) and compare that")
    return Condition(f"{_side(left, right)} {OPERATORS[operator]} {_side(right, left)}",
                     _joined(left.sources, right.sources))


def _side(operand: Operand, other: Operand) -> str:
    """What one side looks like in Argo's ``when``: printed text is quoted next to a string literal."""
    if operand.kind == "printed" and other.kind == "literal" and other.kinds == ("str",):
        return f'"{operand.text}"'
    return operand.text


def truth_of(operand: Operand) -> Condition:
    """``.when(check)``: the task returned (or printed) true."""
    if operand.kinds and "bool" not in operand.kinds:
        raise DagError(f".when({operand.label}): {operand.label} returns {describe(operand.kinds)}, not True/False",
                       hint=f"compare it: .when({operand.label} > 0.9)")
    return compare(operand, "==", literal_operand(True))
