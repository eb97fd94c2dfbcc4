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
FAN_OUT_RESULTS = ("AnySucceeded", "AllFailed")
"""Results about the items of a looped task (its TaskGroup node); false for any other node."""


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


# Postfix program: an Operand pushes its value; NOT pops one; AND/OR pop two and push one.
NOT, AND, OR = "!", "&&", "||"
_PRECEDENCE = {OR: 1, AND: 2}

Step = Union[Operand, str]


@dataclass(frozen=True)
class DependsExpression:
    """A parsed ``depends``: its operands in order, and a postfix program that evaluates it.

    Postfix (built with the shunting-yard algorithm) needs no recursion to parse or evaluate,
    so a task may depend on thousands of others.
    """

    text: str
    program: tuple[Step, ...]

    @property
    def operands(self) -> list[Operand]:
        return [step for step in self.program if isinstance(step, Operand)]


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


def parse_depends(text: str) -> DependsExpression:
    """Parse a ``depends`` expression; raises ``ExpressionError`` with what is wrong.

    Grammar: or := and ('||' and)*; and := unary ('&&' unary)*; unary := '!' unary | atom;
    atom := operand | '(' or ')'. Parsed with an explicit operator stack (shunting-yard).
    """
    tokens = _depends_tokens(text)
    if not tokens:
        raise ExpressionError("the expression is empty")
    program: list[Step] = []
    operators: list[str] = []  # "(", NOT, AND, OR
    expect_operand = True
    for kind, value in tokens:
        if expect_operand:
            if kind == "operand":
                task, _, result = value.partition(".")
                program.append(Operand(task, result or None))
                expect_operand = False
                while operators and operators[-1] == NOT:
                    program.append(operators.pop())
            elif kind == "not":
                operators.append(NOT)
            elif kind == "open":
                operators.append("(")
            else:
                raise ExpressionError(f"unexpected {value!r}")
            continue
        if kind in ("and", "or"):
            operator = AND if kind == "and" else OR
            while operators and operators[-1] in _PRECEDENCE and _PRECEDENCE[operators[-1]] >= _PRECEDENCE[operator]:
                program.append(operators.pop())
            operators.append(operator)
            expect_operand = True
        elif kind == "close":
            while operators and operators[-1] != "(":
                program.append(operators.pop())
            if not operators:
                raise ExpressionError("unexpected ')'")
            operators.pop()
            while operators and operators[-1] == NOT:
                program.append(operators.pop())
        else:
            raise ExpressionError(f"unexpected {value!r}")
    if expect_operand:
        raise ExpressionError("the expression ends too early")
    while operators:
        operator = operators.pop()
        if operator == "(":
            raise ExpressionError("missing ')'")
        program.append(operator)
    return DependsExpression(text, tuple(program))


def operands(expression: DependsExpression) -> list[Operand]:
    """Every operand of the expression, left to right."""
    return expression.operands


def referenced_tasks(expression: DependsExpression) -> list[str]:
    """The task names the expression depends on, in first-mention order, without repeats."""
    seen: dict[str, None] = {}
    for operand in expression.operands:
        seen.setdefault(operand.task, None)
    return list(seen)


def invalid_results(expression: DependsExpression) -> list[Operand]:
    """Operands naming a result Argo does not know (``A.Done``) — a create-time error."""
    known = set(TASK_RESULT_PHASES) | set(FAN_OUT_RESULTS)
    return [operand for operand in expression.operands
            if operand.result is not None and operand.result not in known]


@dataclass(frozen=True)
class ContinueOn:
    """A task's ``continueOn``: its failure (or error) also lets bare-name dependents run."""

    failed: bool = False
    error: bool = False

    def covers(self, phase: str | None) -> bool:
        """True when a task that ended in ``phase`` counts as continuing (``Failed`` or ``Error``)."""
        return (phase == FAILED and self.failed) or (phase == ERROR and self.error)


@dataclass(frozen=True)
class FanOut:
    """What ``AnySucceeded`` and ``AllFailed`` read: the phases of a TaskGroup's items."""

    any_succeeded: bool = False
    all_failed: bool = False


def operand_value(operand: Operand, phase: str | None, continue_on: ContinueOn | None = None,
                  fan_out: FanOut | None = None) -> bool:
    """One operand against its task's node phase (Argo's ``TaskResults`` in ``dag.go``).

    A bare name is ``(T.Succeeded || T.Skipped || T.Daemoned)``, widened by ``T.Failed`` /
    ``T.Errored`` when that task has ``continueOn`` (``expandDependency`` in
    ``workflow/common/ancestry.go``).
    """
    if operand.result is None:
        return phase in (SUCCEEDED, SKIPPED) or (continue_on or ContinueOn()).covers(phase)
    if operand.result == "AnySucceeded":
        return fan_out is not None and fan_out.any_succeeded
    if operand.result == "AllFailed":
        return fan_out is not None and fan_out.all_failed
    wanted = TASK_RESULT_PHASES.get(operand.result)
    return wanted is not None and phase == wanted


def evaluate_depends(
    expression: DependsExpression,
    phases: Mapping[str, str | None],
    continue_on: Mapping[str, ContinueOn] | None = None,
    fan_out: Mapping[str, FanOut] | None = None,
) -> bool:
    """Evaluate once every dependency is fulfilled; ``phases`` maps task name to node phase."""
    continue_on = continue_on or {}
    fan_out = fan_out or {}
    stack: list[bool] = []
    for step in expression.program:
        if isinstance(step, Operand):
            stack.append(operand_value(step, phases.get(step.task), continue_on.get(step.task),
                                       fan_out.get(step.task)))
        elif step == NOT:
            stack.append(not stack.pop())
        else:
            right, left = stack.pop(), stack.pop()
            stack.append((left and right) if step == AND else (left or right))
    return stack[0]


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
