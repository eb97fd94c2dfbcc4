"""Simple annotations of a task's parameters and return value, read from the cell and checked at build time.

A task cell is never run in the notebook, so its annotations are read from its syntax tree:
``int``, ``float``, ``bool``, ``str``, ``list``, ``dict`` (also ``List[int]``, ``typing.Dict``,
``'int'`` written as a string, ``Optional[X]`` and ``X | None``). Anything else (``Path``,
``np.ndarray``, a ``Union`` of several types) is not checked. ``%argo_dag`` checks the values it
passes (literals and notebook values) against them before anything is sent, so ``"42"`` into
``n: int`` is a message in the notebook, not a surprise in the pod.

No IPython, no Hera.
"""

from __future__ import annotations

import ast
import numbers
from typing import Any, Iterable

SIMPLE_KINDS = ("int", "float", "bool", "str", "list", "dict")
NONE = "None"
_ALIASES = {"List": "list", "Dict": "dict", "Sequence": "list", "Mapping": "dict", "Tuple": "list", "tuple": "list"}


def annotation_kinds(annotation: ast.expr | None) -> tuple[str, ...]:
    """The kinds an annotation accepts (``("int", "None")`` for ``Optional[int]``); ``()``: not checked."""
    if annotation is None:
        return ()
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            return annotation_kinds(ast.parse(annotation.value, mode="eval").body)
        except SyntaxError:
            return ()
    if isinstance(annotation, ast.Constant) and annotation.value is None:
        return (NONE,)
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _union(annotation_kinds(annotation.left), annotation_kinds(annotation.right))
    if isinstance(annotation, ast.Subscript):
        outer = _plain_name(annotation.value)
        if outer == "Optional":
            inner = annotation_kinds(annotation.slice)
            return _union(inner, (NONE,))
        if outer == "Union":
            members = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
            found = [annotation_kinds(member) for member in members]
            if any(not kinds for kinds in found):
                return ()
            return tuple(dict.fromkeys(kind for kinds in found for kind in kinds))
        name = _ALIASES.get(outer or "", outer)
        return (name,) if name in ("list", "dict") else ()
    name = _plain_name(annotation)
    name = _ALIASES.get(name or "", name)
    return (name,) if name in SIMPLE_KINDS else ()


def _union(left: tuple[str, ...], right: tuple[str, ...]) -> tuple[str, ...]:
    if not left or not right:
        return ()  # one side is something we do not check: do not check the union either
    return tuple(dict.fromkeys(left + right))


def _plain_name(node: ast.expr) -> str | None:
    """``int`` for ``int``, ``List`` for ``typing.List``, None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("typing", "builtins"):
        return node.attr
    return None


def fits(value: Any, kinds: Iterable[str]) -> bool:
    """Whether a Python value meets an annotation's kinds (an empty ``kinds`` accepts anything).

    ``float`` accepts integers too (as Python's typing does); ``bool`` is not an ``int`` here,
    since ``True`` for a count is a mistake.
    """
    kinds = tuple(kinds)
    if not kinds:
        return True
    return any(_fits_one(value, kind) for kind in kinds)


def _fits_one(value: Any, kind: str) -> bool:
    if kind == NONE:
        return value is None
    if isinstance(value, bool):
        return kind == "bool"
    if kind == "int":
        return isinstance(value, numbers.Integral)
    if kind == "float":
        return isinstance(value, numbers.Real)
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, (list, tuple))
    if kind == "dict":
        return isinstance(value, dict)
    return False  # "bool": a bool was handled above


def kinds_meet(produced: Iterable[str], accepted: Iterable[str]) -> bool:
    """Whether a value of the ``produced`` kinds may meet the ``accepted`` ones (unknown: yes)."""
    produced, accepted = tuple(produced), tuple(accepted)
    if not produced or not accepted:
        return True
    widened = set(produced) | ({"float"} if "int" in produced else set())
    return bool(widened & set(accepted))


def describe(kinds: Iterable[str]) -> str:
    """``int``, ``int | None``: the kinds as the user would write them."""
    return " | ".join(kinds)


def describe_value(value: Any, *, limit: int = 40) -> str:
    """A value as a message shows it: its type and a short repr (``a str ('42')``)."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    kind = "None" if value is None else type(value).__name__
    article = "" if value is None else ("an " if kind[:1].lower() in "aeiou" else "a ")
    return f"{article}{kind} ({text})" if value is not None else "None"
