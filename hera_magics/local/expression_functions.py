"""The functions of Argo's expression language the local engine runs (pure functions).

Argo's environment (``util/expr/env/env.go`` ``GetFuncMap``) adds ``asInt`` and ``asFloat``
(expr-lang's ``int`` and ``float``), ``jsonpath(json, path)`` and ``toJson(value)`` to
expr-lang's builtins; of those builtins the engine runs ``int``, ``float``, ``string``, ``len``,
``upper``, ``lower``, ``trim``, ``trimPrefix``, ``trimSuffix``, ``split``, ``join``, ``abs``,
``keys``, ``values``, and the predicates ``filter``, ``map``, ``all``, ``any``, ``none``,
``one``, ``count``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from . import jsonpath
from .expression_values import EvaluationError, is_number, type_name
from .go_values import marshal_value, go_text


def as_int(value: Any) -> int:
    """expr-lang's ``int`` (Argo's ``asInt``): a number truncated, or a string of digits."""
    if isinstance(value, bool) or value is None:
        raise EvaluationError(f"invalid operation: int({type_name(value)})")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            if not re.fullmatch(r"[+-]?[0-9]+", value):
                raise ValueError(value)
            return int(value)
        except ValueError:
            raise EvaluationError(f'invalid operation: int("{value}")') from None
    raise EvaluationError(f"invalid operation: int({type_name(value)})")


def as_float(value: Any) -> float:
    """expr-lang's ``float`` (Argo's ``asFloat``): a number, or a string Go's ParseFloat reads."""
    if isinstance(value, bool) or value is None:
        raise EvaluationError(f"invalid operation: float({type_name(value)})")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            if value.strip() != value or "_" in value:
                raise ValueError(value)
            return float(value)
        except ValueError:
            raise EvaluationError(f'invalid operation: float("{value}")') from None
    raise EvaluationError(f"invalid operation: float({type_name(value)})")


def to_json(value: Any) -> str:
    """Argo's ``toJson``: Go's ``json.Marshal`` of the value."""
    try:
        return marshal_value(value)
    except ValueError as error:
        raise EvaluationError(str(error)) from None


def json_path(document: Any, path: Any) -> Any:
    """Argo's ``jsonpath(json, path)``: parse the JSON text, then query it (numbers are floats)."""
    if not isinstance(document, str) or not isinstance(path, str):
        raise EvaluationError(f"jsonpath needs two strings, not {type_name(document)} and {type_name(path)}")
    try:
        parsed = json.loads(document, parse_int=float)
    except ValueError as error:
        raise EvaluationError(f"jsonpath: the value is not JSON: {error}") from None
    try:
        return jsonpath.query(path, parsed)
    except jsonpath.JsonPathError as error:
        raise EvaluationError(f"jsonpath: {error}") from None


def _length(value: Any) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value.encode()) if isinstance(value, str) else len(value)
    raise EvaluationError(f"invalid argument for len (type {type_name(value)})")


def _strings(name: str, arguments: list[Any], count: int) -> list[str]:
    if len(arguments) != count or not all(isinstance(argument, str) for argument in arguments):
        raise EvaluationError(f"{name} needs {count} string argument{'s' if count > 1 else ''}")
    return arguments


def _absolute(value: Any) -> Any:
    if not is_number(value):
        raise EvaluationError(f"invalid argument for abs (type {type_name(value)})")
    return abs(value)


def _join(arguments: list[Any]) -> str:
    if not arguments or not isinstance(arguments[0], list):
        raise EvaluationError("join needs a list of strings")
    separator = arguments[1] if len(arguments) > 1 else ""
    if not isinstance(separator, str) or not all(isinstance(item, str) for item in arguments[0]):
        raise EvaluationError("join needs a list of strings and a string")
    return separator.join(arguments[0])


def _split(arguments: list[str]) -> list[str]:
    text, separator = arguments
    return list(text) if separator == "" else text.split(separator)


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EvaluationError(f"invalid argument for {name} (type {type_name(value)})")
    return value


def _one(name: str, arguments: list[Any]) -> Any:
    if len(arguments) != 1:
        raise EvaluationError(f"{name}() takes exactly one argument ({len(arguments)} given)")
    return arguments[0]


FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "asInt": lambda arguments: as_int(_one("asInt", arguments)),
    "int": lambda arguments: as_int(_one("int", arguments)),
    "asFloat": lambda arguments: as_float(_one("asFloat", arguments)),
    "float": lambda arguments: as_float(_one("float", arguments)),
    "string": lambda arguments: go_text(_one("string", arguments)),
    "toJson": lambda arguments: to_json(_one("toJson", arguments)),
    "jsonpath": lambda arguments: json_path(*arguments) if len(arguments) == 2 else _arity("jsonpath", 2),
    "len": lambda arguments: _length(_one("len", arguments)),
    "upper": lambda arguments: _strings("upper", arguments, 1)[0].upper(),
    "lower": lambda arguments: _strings("lower", arguments, 1)[0].lower(),
    "trim": lambda arguments: _strings("trim", arguments, 1)[0].strip(" \t\n\r\v\f"),
    "trimPrefix": lambda arguments: _strings("trimPrefix", arguments, 2)[0].removeprefix(arguments[1]),
    "trimSuffix": lambda arguments: _strings("trimSuffix", arguments, 2)[0].removesuffix(arguments[1]),
    "split": lambda arguments: _split(_strings("split", arguments, 2)),
    "join": _join,
    "abs": lambda arguments: _absolute(_one("abs", arguments)),
    "keys": lambda arguments: sorted(_mapping("keys", _one("keys", arguments))),
    "values": lambda arguments: [value for _, value in sorted(_mapping("values", _one("values", arguments)).items())],
}
"""Functions by name: each takes the evaluated arguments."""


def _arity(name: str, count: int) -> Any:
    raise EvaluationError(f"{name}() takes exactly {count} arguments")


PREDICATE_FUNCTIONS = ("filter", "map", "all", "any", "none", "one", "count")
"""Functions whose second argument is a predicate ``{...}`` run for each element as ``#``."""


def _truth(function: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise EvaluationError(f"predicate of {function} must return a bool, not {type_name(value)}")
    return value


def call_function(name: str, arguments: list[Any]) -> Any:
    """Run the function ``name`` on already evaluated arguments."""
    return FUNCTIONS[name](arguments)


def call_predicate(function: str, collection: list[Any], run: Callable[[Any, int], Any]) -> Any:
    """Run a predicate function; ``run(element, index)`` evaluates the predicate for one element."""
    if function == "map":
        return [run(element, index) for index, element in enumerate(collection)]
    if function == "filter":
        return [element for index, element in enumerate(collection) if _truth(function, run(element, index))]
    results = (_truth(function, run(element, index)) for index, element in enumerate(collection))
    if function == "all":
        return all(results)
    if function == "any":
        return any(results)
    if function == "none":
        return not any(results)
    matched = sum(1 for result in results if result)
    return matched == 1 if function == "one" else matched


__all__ = ["FUNCTIONS", "PREDICATE_FUNCTIONS", "as_float", "as_int", "call_function", "call_predicate",
           "json_path", "to_json"]
