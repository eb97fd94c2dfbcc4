"""Argo's ``{{...}}`` substitution and Go durations (pure functions).

Argo replaces every ``{{tag}}`` whose tag starts with one of its variable prefixes
(``inputs.``, ``tasks.``, ``workflow.``, ``pod.``, ...) in a single pass; values put in are never
substituted again. Tags with any other name (``{{x}}`` in a Python f-string, a Jinja snippet) are
left exactly as written, which is why Argo's validator skips them too. ``{{=expression}}`` tags
are evaluated in Argo's expression language (``expression_language``) against the same variables,
as ``util/template/expression_template.go`` does: a string result goes in as it is, anything else
as its JSON. Argo's validator does not look inside them, so neither does ``variables_in``.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Callable, Mapping

from .expression_language import (EvaluationError, Expression, MissingVariable, UnsupportedExpression, evaluate,
                                  parse_expression)
from .go_values import marshal_value

TAG_PATTERN = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)

# Tags with these prefixes are Argo variables: they must resolve, or validation fails.
VARIABLE_PREFIXES = (
    "inputs.",
    "outputs.",
    "pod.",
    "node.",
    "tasks.",
    "steps.",
    "workflow.",
    "item.",
    "lastRetry.",
    "cronworkflow.",
)
VARIABLE_NAMES = ("item", "retries")


class UnresolvedReference(LookupError):
    """A ``{{...}}`` Argo variable that has no value here."""

    def __init__(self, tag: str) -> None:
        super().__init__(f"failed to resolve {{{{{tag}}}}}")
        self.tag = tag


class ExpressionTag(ValueError):
    """A ``{{=...}}`` expression tag that cannot be parsed or evaluated."""

    def __init__(self, tag: str, reason: str) -> None:
        super().__init__(f"failed to evaluate expression {{{{{tag}}}}}: {reason}")
        self.tag = tag
        self.reason = reason


class _Deferred(Exception):
    """An expression reads a variable that is kept as written for later (a loop's ``item``)."""


@functools.lru_cache(maxsize=1024)
def parsed_tag(tag: str) -> Expression:
    """The parsed expression of a trimmed ``=...`` tag (cached: a loop evaluates it per item);
    raises ``UnsupportedExpression``."""
    return parse_expression(tag[1:])


def evaluate_tag(tag: str, lookup: Callable[[str], str | None]) -> str | None:
    """The text an ``=...`` tag becomes, or None when it reads a variable kept as written for
    later (``{{item}}`` before a loop is expanded). Raises ``UnresolvedReference`` for a variable
    without a value and ``ExpressionTag`` for an expression that fails."""
    def resolve(name: str) -> Any:
        value = lookup(name)
        if value == "{{" + name + "}}":
            raise _Deferred(name)
        return value

    try:
        result = evaluate(parsed_tag(tag), resolve)
    except _Deferred:
        return None
    except MissingVariable as error:
        raise UnresolvedReference(error.name) from None
    except (EvaluationError, UnsupportedExpression) as error:
        raise ExpressionTag(tag, str(error)) from None
    if result is None:
        raise ExpressionTag(tag, "the result is nil")
    if isinstance(result, str):
        return result
    try:
        return marshal_value(result)
    except ValueError as error:
        raise ExpressionTag(tag, str(error)) from None


def is_variable(tag: str) -> bool:
    """True when ``tag`` (already trimmed) names an Argo variable rather than custom text."""
    return tag in VARIABLE_NAMES or tag.startswith(VARIABLE_PREFIXES)


def variables_in(text: str) -> list[str]:
    """The Argo variables referenced in ``text`` (trimmed tags), in order, repeats kept.

    ``{{=...}}`` tags are not looked into, as Argo's validator does not (``expression_tags``).
    """
    found = []
    for match in TAG_PATTERN.finditer(text):
        tag = match.group(1).strip()
        if is_variable(tag):
            found.append(tag)
    return found


def expression_tags(text: str) -> list[str]:
    """The ``{{=...}}`` tags in ``text``, trimmed, with their ``=``."""
    return [tag for tag in (match.group(1).strip() for match in TAG_PATTERN.finditer(text)) if tag.startswith("=")]


def substitute(text: str, values: Mapping[str, str] | Callable[[str], str | None]) -> str:
    """Replace every Argo variable in ``text`` with its value, in one pass.

    ``values`` is a mapping or a function returning None for unknown names. An Argo variable
    without a value raises ``UnresolvedReference``; other tags stay as they are. ``{{=...}}``
    tags are evaluated (``evaluate_tag``) with the same values.
    """
    lookup = values.get if isinstance(values, Mapping) else values

    def replace(match: re.Match[str]) -> str:
        tag = match.group(1).strip()
        if tag.startswith("="):
            result = evaluate_tag(tag, lookup)
            return match.group(0) if result is None else result
        if not is_variable(tag):
            return match.group(0)
        value = lookup(tag)
        if value is None:
            raise UnresolvedReference(tag)
        return value

    return TAG_PATTERN.sub(replace, text)


def parameter_text(value: object) -> str:
    """A parameter value as the string Argo sees (JSON numbers and booleans become text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration (``90s``, ``1h30m``, ``1.5h``, ``300ms``); a bare number is seconds."""
    raw = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        return float(raw)
    if not raw:
        raise ValueError("the duration is empty")
    sign = 1.0
    if raw[0] in "+-":
        sign = -1.0 if raw[0] == "-" else 1.0
        raw = raw[1:]
    position, total = 0, 0.0
    while position < len(raw):
        match = _DURATION_PART.match(raw, position)
        if not match:
            raise ValueError(f"invalid duration {text!r}; use forms like 30s, 5m, 1h30m")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return sign * total
