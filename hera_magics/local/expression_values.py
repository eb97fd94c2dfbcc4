"""How Argo's expression language compares and names values (pure functions).

expr-lang runs in Go: numbers compare across ``int`` and ``float64``, a bool is never a
number, strings order by bytes, and anything else is an error naming the Go types.
"""

from __future__ import annotations

from typing import Any


class EvaluationError(ValueError):
    """An expression that fails when it runs (a wrong type, a bad index, a failed function)."""


def type_name(value: Any) -> str:
    """The Go type expr-lang would name in an error message."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def is_number(value: Any) -> bool:
    """True for ints and floats, false for bools (Go keeps them apart)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def equal_values(left: Any, right: Any) -> bool:
    """expr-lang's ``==``: numbers by value, the rest by type and value (deeply)."""
    if is_number(left) and is_number(right):
        return left == right
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(equal_values(a, b) for a, b in zip(left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(equal_values(left[key], right[key]) for key in left)
    if type(left) is not type(right):
        return False
    return bool(left == right)


def compare_values(operator: str, left: Any, right: Any) -> bool:
    """expr-lang's ``<``, ``<=``, ``>``, ``>=`` on two numbers or two strings."""
    if not ((is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str))):
        raise EvaluationError(f"invalid operation: {operator} (mismatched types {type_name(left)} and "
                              f"{type_name(right)})")
    if operator == "<":
        return bool(left < right)
    if operator == "<=":
        return bool(left <= right)
    if operator == ">":
        return bool(left > right)
    return bool(left >= right)


__all__ = ["EvaluationError", "compare_values", "equal_values", "is_number", "type_name"]
