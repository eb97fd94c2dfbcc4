"""The two small expression languages of a DAG task (pure functions).

``depends``: Argo's "enhanced depends logic". Operands are ``TASK.Result`` (``Succeeded``,
``Failed``, ``Errored``, ``Skipped``, ``Omitted``, ``Daemoned``) or a bare ``TASK``, which means
``(TASK.Succeeded || TASK.Skipped || TASK.Daemoned)`` — plus ``|| TASK.Failed`` / ``|| TASK.Errored``
when that task has ``continueOn``. Operators: ``&&``, ``||``, ``!`` and parentheses. The old
``dependencies: [A, B]`` list means ``A && B``.

``when``: evaluated after ``{{...}}`` substitution, like Argo's govaluate expressions:
comparisons (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``=~``, ``!~``), ``&&``, ``||``, ``!``,
parentheses, numbers, quoted strings, ``true``/``false``; any other bare word is a string, so
``heads == heads`` is true (the form Argo's own examples use).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Union

from ..argo import ERROR, FAILED, OMITTED, SKIPPED, SUCCEEDED

# Results a depends operand may name, and the node phase each one stands for.
TASK_RESULT_PHASES: dict[str, str | None] = {
    "Succeeded": SUCCEEDED,
    "Failed": FAILED,
    "Errored": ERROR,
    "Skipped": SKIPPED,
    "Omitted": OMITTED,
    "Daemoned": None,  # the local engine runs no daemons, so this is never true
}
# Only meaningful for withItems/withParam fan-out, which the local engine refuses.
FAN_OUT_RESULTS = ("AnySucceeded", "AllFailed")


class ExpressionError(ValueError):
    """A depends or when expression that cannot be parsed or evaluated."""


# ----------------------------------------------------------------------------------------------
# depends
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operand:
    """``task`` or ``task.Result`` (``result`` is None for a bare task name)."""

    task: str
    result: str | None = None


@dataclass(frozen=True)
class Not:
    operand: "DependsNode"


@dataclass(frozen=True)
class And:
    left: "DependsNode"
    right: "DependsNode"


@dataclass(frozen=True)
class Or:
    left: "DependsNode"
    right: "DependsNode"


DependsNode = Union[Operand, Not, And, Or]

_DEPENDS_TOKEN = re.compile(
    r"\s*(?:(?P<and>&&)|(?P<or>\|\|)|(?P<not>!)|(?P<open>\()|(?P<close>\))"
    r"|(?P<operand>[a-zA-Z0-9][-a-zA-Z0-9]*(?:\.[A-Za-z]+)?))"
)


def _depends_tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _DEPENDS_TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"unexpected character {text[position:].lstrip()[:1]!r} at position {position}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _DependsParser:
    """Recursive descent: or := and ('||' and)*; and := unary ('&&' unary)*; unary := '!' unary | atom."""

    def __init__(self, text: str) -> None:
        self.tokens = _depends_tokens(text)
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> DependsNode:
        if not self.tokens:
            raise ExpressionError("the expression is empty")
        node = self.parse_or()
        if self.index != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.index][1]!r}")
        return node

    def parse_or(self) -> DependsNode:
        node = self.parse_and()
        while self.peek() == "or":
            self.take()
            node = Or(node, self.parse_and())
        return node

    def parse_and(self) -> DependsNode:
        node = self.parse_unary()
        while self.peek() == "and":
            self.take()
            node = And(node, self.parse_unary())
        return node

    def parse_unary(self) -> DependsNode:
        kind = self.peek()
        if kind == "not":
            self.take()
            return Not(self.parse_unary())
        if kind == "open":
            self.take()
            node = self.parse_or()
            if self.peek() != "close":
                raise ExpressionError("missing ')'")
            self.take()
            return node
        if kind == "operand":
            _, text = self.take()
            task, _, result = text.partition(".")
            return Operand(task, result or None)
        if kind is None:
            raise ExpressionError("the expression ends too early")
        raise ExpressionError(f"unexpected {self.tokens[self.index][1]!r}")


def parse_depends(text: str) -> DependsNode:
    """Parse a ``depends`` expression; raises ``ExpressionError`` with what is wrong."""
    return _DependsParser(text).parse()


def operands(node: DependsNode) -> list[Operand]:
    """Every operand of the expression, left to right."""
    if isinstance(node, Operand):
        return [node]
    if isinstance(node, Not):
        return operands(node.operand)
    return operands(node.left) + operands(node.right)


def referenced_tasks(node: DependsNode) -> list[str]:
    """The task names the expression depends on, in first-mention order, without repeats."""
    seen: dict[str, None] = {}
    for operand in operands(node):
        seen.setdefault(operand.task, None)
    return list(seen)


def invalid_results(node: DependsNode) -> list[Operand]:
    """Operands naming a result Argo does not know (``A.Done``) — a create-time error."""
    known = set(TASK_RESULT_PHASES) | set(FAN_OUT_RESULTS)
    return [operand for operand in operands(node) if operand.result is not None and operand.result not in known]


@dataclass(frozen=True)
class ContinueOn:
    """A task's ``continueOn``: its failure (or error) also lets bare-name dependents run."""

    failed: bool = False
    error: bool = False

    def covers(self, phase: str | None) -> bool:
        """True when a task that ended in ``phase`` counts as continuing (``Failed`` or ``Error``)."""
        return (phase == FAILED and self.failed) or (phase == ERROR and self.error)


def evaluate_depends(
    node: DependsNode,
    phases: Mapping[str, str | None],
    continue_on: Mapping[str, ContinueOn] | None = None,
) -> bool:
    """Evaluate once every dependency is fulfilled; ``phases`` maps task name to node phase."""
    continue_on = continue_on or {}
    if isinstance(node, Operand):
        phase = phases.get(node.task)
        if node.result is None:
            # A bare name: Succeeded, Skipped or Daemoned, widened by that task's continueOn.
            options = continue_on.get(node.task, ContinueOn())
            return phase in (SUCCEEDED, SKIPPED) or options.covers(phase)
        wanted = TASK_RESULT_PHASES.get(node.result)
        return wanted is not None and phase == wanted
    if isinstance(node, Not):
        return not evaluate_depends(node.operand, phases, continue_on)
    if isinstance(node, And):
        return evaluate_depends(node.left, phases, continue_on) and evaluate_depends(node.right, phases, continue_on)
    return evaluate_depends(node.left, phases, continue_on) or evaluate_depends(node.right, phases, continue_on)


# ----------------------------------------------------------------------------------------------
# when
# ----------------------------------------------------------------------------------------------

_WHEN_TOKEN = re.compile(
    r"\s*(?:(?P<op>&&|\|\||==|!=|<=|>=|=~|!~|<|>|!|\(|\))"
    r"|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<word>[^\s()!=<>&|'\"]+))"
)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

WhenValue = Union[str, float, bool]


def _when_tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _WHEN_TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"unexpected character {text[position:].lstrip()[:1]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _WhenParser:
    """or := and ('||' and)*; and := not ('&&' not)*; not := '!' not | comparison;
    comparison := atom (op atom)?; atom := '(' or ')' | string | word."""

    COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "=~", "!~")

    def __init__(self, text: str) -> None:
        self.tokens = _when_tokens(text)
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> WhenValue:
        if not self.tokens:
            raise ExpressionError("the expression is empty")
        value = self.parse_or()
        if self.index != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.index][1]!r}")
        return value

    def parse_or(self) -> WhenValue:
        value = self.parse_and()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.parse_and()
            value = _truth(value) or _truth(right)
        return value

    def parse_and(self) -> WhenValue:
        value = self.parse_not()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.parse_not()
            value = _truth(value) and _truth(right)
        return value

    def parse_not(self) -> WhenValue:
        if self.peek() == ("op", "!"):
            self.take()
            return not _truth(self.parse_not())
        return self.parse_comparison()

    def parse_comparison(self) -> WhenValue:
        left = self.parse_atom()
        token = self.peek()
        if token and token[0] == "op" and token[1] in self.COMPARISONS:
            self.take()
            right = self.parse_atom()
            return _compare(left, token[1], right)
        return left

    def parse_atom(self) -> WhenValue:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        kind, text = self.take()
        if (kind, text) == ("op", "("):
            value = self.parse_or()
            if self.peek() != ("op", ")"):
                raise ExpressionError("missing ')'")
            self.take()
            return value
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "word":
            if text == "true":
                return True
            if text == "false":
                return False
            return float(text) if _NUMBER.match(text) else text
        raise ExpressionError(f"unexpected {text!r}")


def _truth(value: WhenValue) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ExpressionError(f"{value!r} is not a boolean")


def _as_number(value: WhenValue) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    return float(value) if _NUMBER.match(value) else None


def _compare(left: WhenValue, operator: str, right: WhenValue) -> bool:
    if operator in ("=~", "!~"):
        try:
            found = re.search(str(right), _text(left)) is not None
        except re.error as error:
            raise ExpressionError(f"bad regular expression {right!r}: {error}") from None
        return found if operator == "=~" else not found
    left_number, right_number = _as_number(left), _as_number(right)
    if left_number is not None and right_number is not None:
        a: object = left_number
        b: object = right_number
    else:
        a, b = _text(left), _text(right)
    if operator == "==":
        return a == b
    if operator == "!=":
        return a != b
    if (left_number is None) != (right_number is None):
        raise ExpressionError(f"cannot order {left!r} and {right!r}: one is a number, the other is not")
    if operator == "<":
        return a < b  # type: ignore[operator]
    if operator == "<=":
        return a <= b  # type: ignore[operator]
    if operator == ">":
        return a > b  # type: ignore[operator]
    return a >= b  # type: ignore[operator]


def _text(value: WhenValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, "g")
    return value


def evaluate_when(text: str) -> bool:
    """Evaluate a substituted ``when`` expression; raises ``ExpressionError`` if it is not boolean."""
    return _truth(_WhenParser(text).parse())
