"""The JSONPath of Argo's ``jsonpath(json, path)`` expression function (pure functions).

Argo queries with ``github.com/evilmonkeyinc/jsonpath``: a path that names one value
(``$.a``, ``$.a.b``, ``$[0].value``, ``$['a']``) gives that value; one that may name several
(``[*]``, ``.*``, slices ``[0:2]``, unions ``[0,1]``, filters ``[?(@.age > 42)]``) gives a list,
and what follows it applies to each element. A key or index that is not there is an error where
one value is named, and is left out where several are. Filters compare ``@``, ``@.key`` or
``@['key']`` with numbers, strings, ``true``/``false``/``null`` (``==``, ``!=``, ``<``, ``<=``,
``>``, ``>=``, ``=~``), join them with ``&&``/``||``/``!`` and parentheses, or test that a key
exists (``[?(@.name)]``). Recursive descent (``..``) and script expressions (``[(@.length-1)]``)
are not supported (``JsonPathError`` at parse).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Union


class JsonPathError(ValueError):
    """A path outside the supported subset, or a query that names nothing."""


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Index:
    index: int


@dataclass(frozen=True)
class Wildcard:
    pass


@dataclass(frozen=True)
class Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True)
class Union_:
    members: tuple[Union[Key, Index], ...]


@dataclass(frozen=True)
class Filter:
    test: Callable[[Any], bool]
    text: str


Segment = Union[Key, Index, Wildcard, Slice, Union_, Filter]
_MISSING = object()
_NAME = re.compile(r"[A-Za-z_$][-\w$]*")


def parse_jsonpath(path: str) -> tuple[Segment, ...]:
    """The segments of ``path``; raises ``JsonPathError`` for what is outside the subset."""
    text = path.strip()
    if not text.startswith("$"):
        raise JsonPathError(f"the path {path!r} must start with $")
    segments: list[Segment] = []
    position = 1
    while position < len(text):
        if text.startswith("..", position):
            raise JsonPathError(f"recursive descent '..' in {path!r} is not supported")
        if text[position] == ".":
            position += 1
            if position < len(text) and text[position] == "*":
                segments.append(Wildcard())
                position += 1
                continue
            match = _NAME.match(text, position)
            if not match:
                raise JsonPathError(f"expected a key after '.' at position {position} of {path!r}")
            segments.append(Key(match.group(0)))
            position = match.end()
        elif text[position] == "[":
            close = _closing_bracket(text, position, path)
            segments.append(_bracket(text[position + 1:close].strip(), path))
            position = close + 1
        else:
            raise JsonPathError(f"unexpected {text[position]!r} at position {position} of {path!r}")
    return tuple(segments)


def _closing_bracket(text: str, start: int, path: str) -> int:
    depth, quote = 0, ""
    for position in range(start, len(text)):
        character = text[position]
        if quote:
            if character == quote and text[position - 1] != "\\":
                quote = ""
        elif character in "'\"":
            quote = character
        elif character == "[":
            depth += 1
        elif character == "]":
            depth -= 1
            if depth == 0:
                return position
    raise JsonPathError(f"missing ']' in {path!r}")


def _bracket(inner: str, path: str) -> Segment:
    if inner == "*":
        return Wildcard()
    if inner.startswith("?"):
        body = inner[1:].strip()
        if not (body.startswith("(") and body.endswith(")")):
            raise JsonPathError(f"a filter must be written [?(...)] in {path!r}")
        return Filter(_FilterParser(body[1:-1], path).parse(), body)
    if inner.startswith("("):
        raise JsonPathError(f"script expressions [{inner}] in {path!r} are not supported")
    if ":" in inner and not inner.startswith(("'", '"')):
        parts = [part.strip() for part in inner.split(":")]
        if len(parts) > 3:
            raise JsonPathError(f"bad slice [{inner}] in {path!r}")
        try:
            numbers = [int(part) if part else None for part in parts] + [None] * (3 - len(parts))
        except ValueError:
            raise JsonPathError(f"bad slice [{inner}] in {path!r}") from None
        return Slice(numbers[0], numbers[1], numbers[2])
    members = [_member(part.strip(), path) for part in _split_union(inner)]
    return members[0] if len(members) == 1 else Union_(tuple(members))


def _split_union(inner: str) -> list[str]:
    parts, current, quote = [], "", ""
    for character in inner:
        if quote:
            quote = "" if character == quote else quote
        elif character in "'\"":
            quote = character
        elif character == ",":
            parts.append(current)
            current = ""
            continue
        current += character
    return parts + [current]


def _member(text: str, path: str) -> Union[Key, Index]:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return Key(text[1:-1])
    try:
        return Index(int(text))
    except ValueError:
        raise JsonPathError(f"[{text}] in {path!r} is neither a quoted key nor an index") from None


_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<op>&&|\|\||==|!=|<=|>=|=~|<|>|!|\(|\))"
    r"|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<current>@(?:\.[A-Za-z_$][-\w$]*|\[\s*(?:'[^']*'|\"[^\"]*\"|\d+)\s*\])*)"
    r"|(?P<word>true|false|null)"
    r"|(?P<regex>/(?:[^/\\]|\\.)*/))"
)


class _FilterParser:
    """or := and ('||' and)*; and := unary ('&&' unary)*; unary := '!' unary | comparison;
    comparison := operand (op operand)?; operand := '(' or ')' | @-path | literal."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.tokens: list[tuple[str, str]] = []
        position, text = 0, text.rstrip()
        while position < len(text):
            match = _FILTER_TOKEN.match(text, position)
            if not match or match.end() == position:
                raise JsonPathError(f"unsupported filter [?({text})] in {path!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise JsonPathError(f"the filter in {self.path!r} ends too early")
        self.index += 1
        return self.tokens[self.index - 1]

    def parse(self) -> Callable[[Any], bool]:
        test = self.parse_or()
        if self.peek() is not None:
            raise JsonPathError(f"unexpected {self.peek()[1]!r} in the filter of {self.path!r}")  # type: ignore[index]
        return lambda element: bool(_truthy(test(element)))

    def parse_or(self) -> Callable[[Any], Any]:
        left = self.parse_and()
        while self.peek() == ("op", "||"):
            self.take()
            right, previous = self.parse_and(), left
            left = (lambda a, b: lambda element: _truthy(a(element)) or _truthy(b(element)))(previous, right)
        return left

    def parse_and(self) -> Callable[[Any], Any]:
        left = self.parse_unary()
        while self.peek() == ("op", "&&"):
            self.take()
            right, previous = self.parse_unary(), left
            left = (lambda a, b: lambda element: _truthy(a(element)) and _truthy(b(element)))(previous, right)
        return left

    def parse_unary(self) -> Callable[[Any], Any]:
        if self.peek() == ("op", "!"):
            self.take()
            inner = self.parse_unary()
            return lambda element: not _truthy(inner(element))
        left = self.parse_operand()
        token = self.peek()
        if token and token[0] == "op" and token[1] in ("==", "!=", "<", "<=", ">", ">=", "=~"):
            self.take()
            right = self.parse_operand()
            return lambda element: _compare(left(element), token[1], right(element))
        return left

    def parse_operand(self) -> Callable[[Any], Any]:
        kind, text = self.take()
        if (kind, text) == ("op", "("):
            inner = self.parse_or()
            if self.take() != ("op", ")"):
                raise JsonPathError(f"missing ')' in the filter of {self.path!r}")
            return inner
        if kind == "current":
            steps = parse_jsonpath("$" + text[1:])
            return lambda element: _single(element, steps)
        if kind == "string":
            value: Any = re.sub(r"\\(.)", r"\1", text[1:-1])
        elif kind == "number":
            value = float(text)
        elif kind == "regex":
            value = re.compile(text[1:-1])
        elif kind == "word":
            value = {"true": True, "false": False, "null": None}[text]
        else:
            raise JsonPathError(f"unexpected {text!r} in the filter of {self.path!r}")
        return lambda element: value


def _truthy(value: Any) -> bool:
    return value is not _MISSING and value is not None and value is not False


def _single(element: Any, steps: tuple[Segment, ...]) -> Any:
    current = element
    for step in steps:
        if isinstance(step, Key) and isinstance(current, dict) and step.name in current:
            current = current[step.name]
        elif isinstance(step, Index) and isinstance(current, list) and -len(current) <= step.index < len(current):
            current = current[step.index]
        else:
            return _MISSING
    return current


def _compare(left: Any, operator: str, right: Any) -> bool:
    if left is _MISSING or right is _MISSING:
        return operator == "!="
    if operator == "=~":
        return isinstance(left, str) and isinstance(right, re.Pattern) and right.search(left) is not None
    if isinstance(left, bool) or isinstance(right, bool) or left is None or right is None:
        equal = left is right or (isinstance(left, bool) and isinstance(right, bool) and left == right)
        return equal if operator == "==" else (not equal if operator == "!=" else False)
    numbers = isinstance(left, (int, float)) and isinstance(right, (int, float))
    if not numbers and not (isinstance(left, str) and isinstance(right, str)):
        return operator == "!="
    return {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[operator]


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value[key] for key in sorted(value)]
    if isinstance(value, list):
        return list(value)
    return []


def _apply(step: Segment, value: Any, single: bool, path: str) -> tuple[list[Any], bool]:
    """The values ``step`` selects from ``value``, and whether it names one value."""
    if isinstance(step, Key):
        if isinstance(value, dict) and step.name in value:
            return [value[step.name]], True
        if single:
            raise JsonPathError(f"key '{step.name}' not found ({path})")
        return [], True
    if isinstance(step, Index):
        if isinstance(value, list) and -len(value) <= step.index < len(value):
            return [value[step.index]], True
        if single:
            raise JsonPathError(f"index [{step.index}] out of range ({path})")
        return [], True
    if isinstance(step, Wildcard):
        return _children(value), False
    if isinstance(step, Slice):
        if not isinstance(value, list):
            if single:
                raise JsonPathError(f"a slice needs a list ({path})")
            return [], False
        return value[slice(step.start, step.stop, step.step)], False
    if isinstance(step, Union_):
        found: list[Any] = []
        for member in step.members:
            found.extend(_apply(member, value, False, path)[0])
        return found, False
    return [element for element in _children(value) if step.test(element)], False


def query(path: str, document: Any) -> Any:
    """The value (or, past a wildcard, slice, union or filter, the list) ``path`` names."""
    segments = parse_jsonpath(path)
    values, single = [document], True
    for step in segments:
        selected: list[Any] = []
        step_single = True
        for value in values:
            found, names_one = _apply(step, value, single, path)
            selected.extend(found)
            step_single = names_one
        values, single = selected, single and step_single
    return values[0] if single else values


__all__ = ["JsonPathError", "parse_jsonpath", "query"]
