"""Argo's expression language: the subset of expr-lang the local engine runs (pure functions).

Argo evaluates ``{{=...}}`` tags, ``outputs.parameters[].valueFrom.expression``,
``retryStrategy.expression`` and ``workflowMetadata.labelsFrom`` with
``github.com/expr-lang/expr`` in an environment built from its flat variable map
(``util/expr/env/env.go`` ``GetFuncMap``: ``inputs.parameters.x`` becomes ``inputs`` →
``parameters`` → ``x``, every value a string) plus ``asInt``, ``asFloat``, ``jsonpath``,
``toJson`` and ``sprig``. This module parses that language at create (``parse_expression``:
anything outside the subset raises ``UnsupportedExpression`` naming the construct) and
evaluates the parsed form at run time against a ``Resolver`` (a function from a dotted variable
name to its value, or None). Python's ``eval`` is never used.

The subset (expr-lang's grammar and precedence):

* literals: ``'...'``, ``"..."``, backquoted strings, integers, floats, ``true``, ``false``,
  ``nil``, arrays ``[1, 2]``, maps ``{a: 1, 'b': 2}``;
* variables: ``a.b``, ``a['b']``, ``a["b"]``, ``a?.b``, indexing ``a[0]``, ``a[-1]``, slices
  ``a[1:3]``;
* operators: ``?:`` (nested, any spacing), ``??``, ``||``/``or``, ``&&``/``and``, ``==``,
  ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``, ``matches``, ``contains``,
  ``startsWith``, ``endsWith``, ``+`` (numbers, or strings joined), ``-``, ``*``, ``/``
  (always a float), ``%``, ``**``/``^``, unary ``-``, ``!``/``not``;
* functions: ``FUNCTIONS`` below, ``filter``/``map``/``all``/``any``/``none``/``one``/``count``
  with a ``{...}`` predicate over ``#`` (and ``#index``), and ``sprig.NAME(...)`` for the sprig
  functions in ``sprig_functions.SPRIG_FUNCTIONS``.

Not in the subset (refused at create): pipes ``|``, ranges ``..``, ``let``, variables
declared in predicates, method calls, and every other function (``now()``, ``duration()``,
``date()``, ``toJSON``, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .expression_functions import FUNCTIONS, PREDICATE_FUNCTIONS, call_function, call_predicate
from .expression_values import EvaluationError, compare_values, equal_values, type_name
from .sprig_functions import SPRIG_FUNCTIONS, call_sprig

Resolver = Callable[[str], Any]
"""A dotted variable name (``inputs.parameters.x``) -> its value, or None when it has none."""


class UnsupportedExpression(ValueError):
    """An expression outside the subset the local engine runs, or one that does not parse."""


class MissingVariable(LookupError):
    """The expression reads a variable that has no value here."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is missing")
        self.name = name


# --- tokens ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>0[xX][0-9a-fA-F_]+|(?:\d[\d_]*)?\.\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*(?:[eE][+-]?\d+)?)"
    r"|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`)"
    r"|(?P<pointer>#[A-Za-z_]\w*|#)"
    r"|(?P<name>[A-Za-z_$][\w$]*)"
    r"|(?P<operator>\?\?|\?\.|\.\.|\*\*|==|!=|<=|>=|&&|\|\||[-+*/%^<>!?:.,()\[\]{}|=;])",
)
_WORD_OPERATORS = {"and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith"}
_REFUSED_WORDS = {"let": "variables (let)"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, pointer, name, operator, end
    text: str
    position: int


def _unquote(text: str) -> str:
    if text[0] == "`":
        return text[1:-1]
    body, out, index = text[1:-1], [], 0
    while index < len(body):
        character = body[index]
        if character == "\\" and index + 1 < len(body):
            following = body[index + 1]
            if following == "u" and re.match(r"[0-9a-fA-F]{4}", body[index + 2:index + 6]):
                out.append(chr(int(body[index + 2:index + 6], 16)))
                index += 6
                continue
            out.append(_ESCAPES.get(following, "\\" + following))
            index += 2
            continue
        out.append(character)
        index += 1
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``; raises ``UnsupportedExpression`` at a character it cannot read."""
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise UnsupportedExpression(f"unexpected character {text[position]!r} at position {position}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(0), position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# --- syntax tree -------------------------------------------------------------------------------
# Nodes are tuples whose first item names the kind; small and immutable, so a parsed expression
# can be kept with the workflow and evaluated many times.

Node = tuple

_BINARY_PRECEDENCE = {
    "||": 10, "or": 10, "&&": 15, "and": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, "<=": 20, ">=": 20, "in": 20, "matches": 20,
    "contains": 20, "startsWith": 20, "endsWith": 20,
    "+": 30, "-": 30, "*": 60, "/": 60, "%": 60, "**": 100, "^": 100, "??": 500,
}
_RIGHT_ASSOCIATIVE = {"**", "^"}
_UNARY_PRECEDENCE = {"not": 50, "!": 50, "-": 90, "+": 90}
_ALIASES = {"or": "||", "and": "&&", "not": "!", "^": "**"}


class _Parser:
    """expr-lang's precedence climbing (``parser/parser.go``), over the subset."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.in_predicate = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def is_operator(self, text: str) -> bool:
        token = self.current
        return token.kind in ("operator", "name") and token.text == text

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        if not self.is_operator(text):
            found = self.current.text or "the end"
            raise UnsupportedExpression(f"expected {text!r} but found {found!r} at position {self.current.position}")
        self.advance()

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise UnsupportedExpression("the expression is empty")
        node = self.expression(0)
        if self.current.kind != "end":
            raise UnsupportedExpression(self._unexpected())
        return node

    def _unexpected(self) -> str:
        token = self.current
        if token.text == "|":
            return "pipes (|) are not supported"
        if token.text == "..":
            return "ranges (..) are not supported"
        if token.text in ("=", ";"):
            return f"{token.text!r} is not supported"
        return f"unexpected {token.text!r} at position {token.position}"

    def binary_operator(self) -> str | None:
        token = self.current
        if token.kind == "operator" and token.text in _BINARY_PRECEDENCE:
            return token.text
        if token.kind == "name" and token.text in _WORD_OPERATORS - {"not"}:
            return token.text
        if token.kind == "name" and token.text == "not" and self.tokens[self.index + 1].text == "in":
            return "not in"
        return None

    def expression(self, precedence: int) -> Node:
        node = self.unary()
        while True:
            operator = self.binary_operator()
            if operator is None:
                break
            operator_precedence = _BINARY_PRECEDENCE["in" if operator == "not in" else operator]
            if operator_precedence < precedence:
                break
            self.advance()
            if operator == "not in":
                self.advance()
            next_precedence = operator_precedence if operator in _RIGHT_ASSOCIATIVE else operator_precedence + 1
            right = self.expression(next_precedence)
            if operator == "not in":
                node = ("unary", "!", ("binary", "in", node, right))
            else:
                node = ("binary", _ALIASES.get(operator, operator), node, right)
        if precedence == 0 and self.is_operator("?"):
            node = self.conditional(node)
        return node

    def conditional(self, condition: Node) -> Node:
        self.advance()
        if self.is_operator(":"):  # a ?: b
            self.advance()
            return ("elvis", condition, self.expression(0))
        when_true = self.expression(0)
        self.expect(":")
        return ("ternary", condition, when_true, self.expression(0))

    def unary(self) -> Node:
        token = self.current
        if token.kind in ("operator", "name") and token.text in _UNARY_PRECEDENCE \
                and not (token.text == "not" and self.tokens[self.index + 1].text == "in"):
            self.advance()
            operand = self.expression(_UNARY_PRECEDENCE[token.text])
            return ("unary", _ALIASES.get(token.text, token.text), operand)
        return self.postfix(self.primary())

    def primary(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            text = token.text.replace("_", "")
            if text.lower().startswith("0x"):
                return ("literal", int(text, 16))
            return ("literal", float(text) if any(mark in text for mark in ".eE") else int(text))
        if token.kind == "string":
            return ("literal", _unquote(token.text))
        if token.kind == "pointer":
            if not self.in_predicate:
                raise UnsupportedExpression(f"{token.text} is only allowed inside a predicate {{...}}")
            if token.text not in ("#", "#index"):
                raise UnsupportedExpression(f"{token.text} is not supported (only # and #index)")
            return ("pointer", token.text)
        if token.kind == "name":
            return self.name(token)
        if token.text == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if token.text == "[":
            return ("array", tuple(self.sequence("]")))
        if token.text == "{":
            return self.map_literal()
        if token.text == ".":
            if self.in_predicate and self.current.kind == "name":
                return ("member", ("pointer", "#"), ("literal", self.advance().text), False)
            raise UnsupportedExpression(f"unexpected '.' at position {token.position}")
        raise UnsupportedExpression(f"unexpected {token.text or 'end of expression'!r} at position {token.position}")

    def name(self, token: Token) -> Node:
        word = token.text
        if word in ("true", "false"):
            return ("literal", word == "true")
        if word == "nil":
            return ("literal", None)
        if word in _REFUSED_WORDS:
            raise UnsupportedExpression(f"{_REFUSED_WORDS[word]} are not supported")
        if word == "sprig" and self.is_operator("."):
            return self.sprig_call()
        if not self.is_operator("("):
            return ("variable", word)
        self.advance()
        if word in PREDICATE_FUNCTIONS:
            collection = self.expression(0)
            self.expect(",")
            predicate = self.predicate()
            self.expect(")")
            return ("predicate", word, collection, predicate)
        if word not in FUNCTIONS:
            raise UnsupportedExpression(f"the function {word}() is not supported by the local engine")
        return ("call", word, tuple(self.sequence(")")))

    def sprig_call(self) -> Node:
        self.advance()
        function = self.advance()
        if function.kind != "name" or not self.is_operator("("):
            raise UnsupportedExpression("sprig is only supported as sprig.NAME(...)")
        if function.text not in SPRIG_FUNCTIONS:
            raise UnsupportedExpression(f"the function sprig.{function.text}() is not supported by the local engine")
        self.advance()
        return ("sprig", function.text, tuple(self.sequence(")")))

    def predicate(self) -> Node:
        self.expect("{")
        self.in_predicate += 1
        body = self.expression(0)
        self.in_predicate -= 1
        self.expect("}")
        return body

    def sequence(self, closing: str) -> list[Node]:
        items: list[Node] = []
        while not self.is_operator(closing):
            items.append(self.expression(0))
            if not self.is_operator(closing):
                self.expect(",")
        self.advance()
        return items

    def map_literal(self) -> Node:
        pairs: list[tuple[Node, Node]] = []
        while not self.is_operator("}"):
            key = self.advance()
            if key.kind in ("name", "number"):
                key_node: Node = ("literal", key.text)
            elif key.kind == "string":
                key_node = ("literal", _unquote(key.text))
            elif key.text == "(":
                key_node = self.expression(0)
                self.expect(")")
            else:
                raise UnsupportedExpression(f"unexpected {key.text!r} as a map key at position {key.position}")
            self.expect(":")
            pairs.append((key_node, self.expression(0)))
            if not self.is_operator("}"):
                self.expect(",")
        self.advance()
        return ("map", tuple(pairs))

    def postfix(self, node: Node) -> Node:
        while True:
            if self.is_operator(".") or self.is_operator("?."):
                optional = self.advance().text == "?."
                if self.is_operator("["):
                    continue
                member = self.advance()
                if member.kind != "name":
                    raise UnsupportedExpression(f"expected a name after '.' at position {member.position}")
                if self.is_operator("("):
                    raise UnsupportedExpression(f"method calls (.{member.text}()) are not supported")
                node = ("member", node, ("literal", member.text), optional)
            elif self.is_operator("["):
                self.advance()
                node = self.index_or_slice(node)
            elif self.is_operator("("):
                raise UnsupportedExpression("only named functions can be called")
            else:
                return node

    def index_or_slice(self, node: Node) -> Node:
        start: Node | None = None
        if not self.is_operator(":"):
            start = self.expression(0)
            if self.is_operator("]"):
                self.advance()
                return ("member", node, start, False)
        self.expect(":")
        stop = None if self.is_operator("]") else self.expression(0)
        self.expect("]")
        return ("slice", node, start, stop)


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its text and syntax tree."""

    text: str
    tree: Node


def parse_expression(text: str) -> Expression:
    """Parse ``text``; raises ``UnsupportedExpression`` saying what is not supported or wrong."""
    return Expression(text, _Parser(text).parse())


# --- evaluation ------------------------------------------------------------------------------


class _Evaluator:
    def __init__(self, resolve: Resolver) -> None:
        self.resolve = resolve
        self.pointers: list[tuple[Any, int]] = []

    def value(self, node: Node, guarded: bool = False) -> Any:
        """A node's value; ``guarded`` (the left of ``??``): a variable without a value is nil."""
        if node[0] in ("variable", "member"):
            return self.variable(node, guarded)
        return self.evaluate(node)

    def variable(self, node: Node, guarded: bool) -> Any:
        """A variable with its member chain (``tasks['a'].outputs.result``, ``item.x[0]``).

        Argo's environment nests its flat names (``tasks.a.outputs.result``), so the longest
        name the chain spells that has a value is read whole, and the rest of the chain indexes
        into that value. Only that name and shorter ones are asked for: a strict lookup (one
        that waits for ``tasks.*``) is never asked for a name the expression does not spell.
        """
        chain: list[tuple[Any, bool]] = []  # (key, optional) from the root outwards
        while node[0] == "member":
            chain.append((self.value(node[2]), node[3]))
            node = node[1]
        if node[0] != "variable":
            return self._index_chain(self.evaluate(node), list(reversed(chain)), guarded)
        chain.reverse()
        spelled = [node[1]]
        for key, _ in chain:
            if not isinstance(key, str):
                break
            spelled.append(key)
        for length in range(len(spelled), 0, -1):
            found = self.resolve(".".join(spelled[:length]))
            if found is not None:
                return self._index_chain(found, chain[length - 1:], guarded)
        if guarded or any(optional for _, optional in chain):
            return None
        raise MissingVariable(".".join(spelled))

    @staticmethod
    def _index_chain(value: Any, chain: list[tuple[Any, bool]], guarded: bool) -> Any:
        for key, optional in chain:
            if value is None and (optional or guarded):
                return None
            value = _index(value, key)
        return value

    def evaluate(self, node: Node) -> Any:  # noqa: C901 - one branch a node kind, flat and short
        kind = node[0]
        if kind == "literal":
            return node[1]
        if kind == "pointer":
            if not self.pointers:
                raise EvaluationError(f"{node[1]} outside a predicate")
            element, position = self.pointers[-1]
            return position if node[1] == "#index" else element
        if kind == "array":
            return [self.value(item) for item in node[1]]
        if kind == "map":
            return {_map_key(self.value(key)): self.value(item) for key, item in node[1]}
        if kind == "slice":
            return _slice(self.value(node[1]), None if node[2] is None else self.value(node[2]),
                          None if node[3] is None else self.value(node[3]))
        if kind == "unary":
            return _unary(node[1], self.value(node[2]))
        if kind == "binary":
            return self.binary(node[1], node[2], node[3])
        if kind == "ternary":
            condition = self.value(node[1])
            if not isinstance(condition, bool):
                raise EvaluationError(f"non-bool expression (type {type_name(condition)}) used as condition")
            return self.value(node[2] if condition else node[3])
        if kind == "elvis":
            left = self.value(node[1], guarded=True)
            return left if left not in (None, False, "", 0) else self.value(node[2])
        if kind == "call":
            return call_function(node[1], [self.value(argument) for argument in node[2]])
        if kind == "sprig":
            return call_sprig(node[1], [self.value(argument) for argument in node[2]])
        if kind == "predicate":
            return self.predicate(node[1], self.value(node[2]), node[3])
        raise EvaluationError(f"unknown node {kind}")

    def predicate(self, function: str, collection: Any, body: Node) -> Any:
        if not isinstance(collection, list):
            raise EvaluationError(f"cannot iterate over {type_name(collection)}")

        def run(element: Any, position: int) -> Any:
            self.pointers.append((element, position))
            try:
                return self.value(body)
            finally:
                self.pointers.pop()

        return call_predicate(function, collection, run)

    def binary(self, operator: str, left_node: Node, right_node: Node) -> Any:
        if operator == "??":
            left = self.value(left_node, guarded=True)
            return left if left is not None else self.value(right_node)
        left = self.value(left_node)
        if operator in ("&&", "||"):
            if not isinstance(left, bool):
                raise EvaluationError(f"invalid operation: {operator} on {type_name(left)}")
            if (operator == "&&" and not left) or (operator == "||" and left):
                return left
            right = self.value(right_node)
            if not isinstance(right, bool):
                raise EvaluationError(f"invalid operation: {operator} on {type_name(right)}")
            return right
        return binary_operation(operator, left, self.value(right_node))


def _map_key(key: Any) -> str:
    if not isinstance(key, str):
        raise EvaluationError(f"a map key must be a string, not {type_name(key)}")
    return key


def _index(base: Any, key: Any) -> Any:
    if isinstance(base, dict):
        if not isinstance(key, str):
            raise EvaluationError(f"cannot use {type_name(key)} as a map key")
        return base.get(key)
    if isinstance(base, (list, str)):
        if isinstance(key, bool) or not isinstance(key, (int, float)) or int(key) != key:
            raise EvaluationError(f"cannot index {type_name(base)} with {type_name(key)}")
        position = int(key)
        if position < 0:
            position += len(base)
        if not 0 <= position < len(base):
            raise EvaluationError(f"index out of range: {int(key)} (array length is {len(base)})")
        return base[position]
    raise EvaluationError(f"cannot fetch {key!r} from {type_name(base)}")


def _slice(base: Any, start: Any, stop: Any) -> Any:
    if not isinstance(base, (list, str)):
        raise EvaluationError(f"cannot slice {type_name(base)}")
    for bound in (start, stop):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
            raise EvaluationError(f"a slice bound must be an integer, not {type_name(bound)}")
    return base[start:stop]


def _unary(operator: str, operand: Any) -> Any:
    if operator == "!":
        if not isinstance(operand, bool):
            raise EvaluationError(f"invalid operation: ! on {type_name(operand)}")
        return not operand
    if isinstance(operand, bool) or not isinstance(operand, (int, float)):
        raise EvaluationError(f"invalid operation: {operator} on {type_name(operand)}")
    return -operand if operator == "-" else operand


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _go_modulo(left: int, right: int) -> int:
    quotient = abs(left) // abs(right)
    if (left < 0) != (right < 0):
        quotient = -quotient
    return left - right * quotient


def binary_operation(operator: str, left: Any, right: Any) -> Any:
    """One of expr-lang's binary operators (not ``&&``, ``||``, ``??``) on two values."""
    if operator == "==":
        return equal_values(left, right)
    if operator == "!=":
        return not equal_values(left, right)
    if operator in ("<", "<=", ">", ">="):
        return compare_values(operator, left, right)
    if operator == "in":
        if isinstance(right, list):
            return any(equal_values(left, item) for item in right)
        if isinstance(right, dict):
            return isinstance(left, str) and left in right
        raise EvaluationError(f"invalid operation: in {type_name(right)}")
    if operator in ("matches", "contains", "startsWith", "endsWith"):
        if not isinstance(left, str) or not isinstance(right, str):
            raise EvaluationError(f"invalid operation: {operator} ({type_name(left)} and {type_name(right)})")
        if operator == "matches":
            try:
                return re.search(right, left) is not None
            except re.error as error:
                raise EvaluationError(f"bad regular expression {right!r}: {error}") from None
        return {"contains": right in left, "startsWith": left.startswith(right),
                "endsWith": left.endswith(right)}[operator]
    if operator == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if operator == "+" and isinstance(left, list) and isinstance(right, list):
        return left + right
    if not _is_number(left) or not _is_number(right):
        raise EvaluationError(f"invalid operation: {operator} (mismatched types {type_name(left)} and "
                              f"{type_name(right)})")
    both_integers = isinstance(left, int) and isinstance(right, int)
    if operator == "/":
        if right == 0:
            return float("inf") if left > 0 else float("-inf") if left < 0 else float("nan")
        return float(left) / float(right)
    if operator == "%":
        if not both_integers:
            raise EvaluationError(f"invalid operation: % (mismatched types {type_name(left)} and {type_name(right)})")
        if right == 0:
            raise EvaluationError("integer divide by zero")
        return _go_modulo(left, right)
    if operator == "**":
        return float(left) ** float(right)
    result = {"+": left + right, "-": left - right, "*": left * right}[operator]
    return result if both_integers else float(result)


def evaluate(expression: Expression, resolve: Resolver) -> Any:
    """The value of ``expression``; raises ``MissingVariable`` or ``EvaluationError``."""
    try:
        return _Evaluator(resolve).value(expression.tree)
    except RecursionError:
        raise EvaluationError("the expression nests too deeply") from None


def evaluate_bool(expression: Expression, resolve: Resolver) -> bool:
    """The value of an expression that must be a boolean (Argo's ``argoexpr.EvalBool``)."""
    result = evaluate(expression, resolve)
    if not isinstance(result, bool):
        raise EvaluationError(f"unable to cast expression result '{result}' to bool")
    return result


def variables(expression: Expression) -> list[str]:
    """The variable paths the expression reads (``inputs.parameters.x``), in order, no repeats."""
    found: dict[str, None] = {}

    def path(node: Node) -> str | None:
        if node[0] == "variable":
            return node[1]
        if node[0] == "member" and node[2][0] == "literal" and isinstance(node[2][1], str):
            base = path(node[1])
            return f"{base}.{node[2][1]}" if base else None
        return None

    def walk(node: Any) -> None:
        if isinstance(node, tuple) and node and isinstance(node[0], str):
            named = path(node)
            if named:
                found.setdefault(named, None)
                return
        if isinstance(node, (tuple, list)):
            for child in node:
                walk(child)

    walk(expression.tree)
    return list(found)


__all__ = ["EvaluationError", "Expression", "MissingVariable", "Resolver", "UnsupportedExpression",
           "binary_operation", "evaluate", "evaluate_bool", "parse_expression", "tokenize", "variables"]
