"""The ``sprig.NAME(...)`` functions of Argo's expression language the engine runs (pure).

Argo puts Masterminds sprig's ``GenericFuncMap`` in the expression environment as ``sprig``
(without ``env`` and ``expandenv``). Sprig converts loosely, as ``spf13/cast`` does: a number
or a numeric string becomes an int64, anything else 0; the arithmetic functions return int64.
``sprig.date(layout, value)`` formats a Unix time (a number) with a Go layout (``2006-01-02``);
given anything else (Argo's ``workflow.creationTimestamp`` is a string) it formats the time now,
as sprig does.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from datetime import datetime
from typing import Any, Callable

from .expression_values import EvaluationError, is_number
from .go_values import marshal_value, go_text


def cast_int(value: Any) -> int:
    """``cast.ToInt64``: numbers truncated, numeric strings parsed (``0x``, ``0o``, ``.0``), else 0."""
    if isinstance(value, bool):
        return int(value)
    if is_number(value):
        return int(value)
    if isinstance(value, str):
        text = re.sub(r"\.0*$", "", value) if re.fullmatch(r"[+-]?\d+\.0*", value) else value
        try:
            return int(text, 0)
        except ValueError:
            return 0
    return 0


def cast_float(value: Any) -> float:
    """``cast.ToFloat64``: numbers, numeric strings, else 0."""
    if isinstance(value, bool):
        return float(value)
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else go_text(value)


def _empty(value: Any) -> bool:
    return value is None or value is False or value == 0 and not isinstance(value, bool) \
        or (isinstance(value, (str, list, dict)) and len(value) == 0)


def _base64_decode(text: Any) -> str:
    try:
        return base64.b64decode(_text(text), validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError) as error:
        return f"illegal base64 data: {error}"


_GO_LAYOUT = re.compile(r"2006|January|Jan|Monday|Mon|MST|Z07:00|-07:00|-0700|01|02|_2|15|03|04|05|06|PM|pm|1|2|3|4|5")
_LAYOUT_PARTS: dict[str, Callable[[datetime], str]] = {
    "2006": lambda moment: f"{moment.year:04d}", "06": lambda moment: f"{moment.year % 100:02d}",
    "January": lambda moment: moment.strftime("%B"), "Jan": lambda moment: moment.strftime("%b"),
    "Monday": lambda moment: moment.strftime("%A"), "Mon": lambda moment: moment.strftime("%a"),
    "01": lambda moment: f"{moment.month:02d}", "1": lambda moment: str(moment.month),
    "02": lambda moment: f"{moment.day:02d}", "2": lambda moment: str(moment.day),
    "_2": lambda moment: f"{moment.day:2d}",
    "15": lambda moment: f"{moment.hour:02d}", "03": lambda moment: f"{(moment.hour % 12) or 12:02d}",
    "3": lambda moment: str((moment.hour % 12) or 12),
    "04": lambda moment: f"{moment.minute:02d}", "4": lambda moment: str(moment.minute),
    "05": lambda moment: f"{moment.second:02d}", "5": lambda moment: str(moment.second),
    "PM": lambda moment: "PM" if moment.hour >= 12 else "AM", "pm": lambda moment: "pm" if moment.hour >= 12 else "am",
    "MST": lambda moment: moment.strftime("%Z") or "UTC",
    "Z07:00": lambda moment: "Z" if not moment.utcoffset() else moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:],
    "-07:00": lambda moment: moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:],
    "-0700": lambda moment: moment.strftime("%z"),
}


def go_format_time(layout: str, moment: datetime) -> str:
    """Format ``moment`` with a Go reference-time layout (``2006-01-02T15:04:05Z07:00``)."""
    return _GO_LAYOUT.sub(lambda match: _LAYOUT_PARTS[match.group(0)](moment), layout)


def _date(layout: Any, value: Any) -> str:
    if is_number(value):
        moment = datetime.fromtimestamp(int(value)).astimezone()
    else:
        moment = datetime.fromtimestamp(time.time()).astimezone()
    return go_format_time(_text(layout), moment)


def _numbers(name: str, arguments: list[Any], least: int) -> list[int]:
    if len(arguments) < least:
        raise EvaluationError(f"sprig.{name} needs at least {least} argument{'s' if least > 1 else ''}")
    return [cast_int(argument) for argument in arguments]


def _exactly(name: str, arguments: list[Any], count: int) -> list[Any]:
    if len(arguments) != count:
        raise EvaluationError(f"sprig.{name} takes {count} argument{'s' if count > 1 else ''}")
    return arguments


def _divide(arguments: list[Any]) -> int:
    left, right = _numbers("div", _exactly("div", arguments, 2), 2)
    if right == 0:
        raise EvaluationError("sprig.div: integer divide by zero")
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


def _modulo(arguments: list[Any]) -> int:
    left, right = _numbers("mod", _exactly("mod", arguments, 2), 2)
    if right == 0:
        raise EvaluationError("sprig.mod: integer divide by zero")
    return left - right * int(left / right)


def _product(arguments: list[Any]) -> int:
    result = 1
    for number in _numbers("mul", arguments, 1):
        result *= number
    return result


def _default(arguments: list[Any]) -> Any:
    if not arguments:
        raise EvaluationError("sprig.default needs a default value")
    given = arguments[1:]
    return arguments[0] if not given or _empty(given[0]) else given[0]


SPRIG_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "add": lambda arguments: sum(_numbers("add", arguments, 0)),
    "add1": lambda arguments: cast_int(_exactly("add1", arguments, 1)[0]) + 1,
    "sub": lambda arguments: (lambda a, b: a - b)(*_numbers("sub", _exactly("sub", arguments, 2), 2)),
    "mul": _product,
    "div": _divide,
    "mod": _modulo,
    "max": lambda arguments: max(_numbers("max", arguments, 1)),
    "min": lambda arguments: min(_numbers("min", arguments, 1)),
    "atoi": lambda arguments: (lambda text: int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else 0)(
        _text(_exactly("atoi", arguments, 1)[0])),
    "int": lambda arguments: cast_int(_exactly("int", arguments, 1)[0]),
    "int64": lambda arguments: cast_int(_exactly("int64", arguments, 1)[0]),
    "float64": lambda arguments: cast_float(_exactly("float64", arguments, 1)[0]),
    "toString": lambda arguments: _text(_exactly("toString", arguments, 1)[0]),
    "upper": lambda arguments: _text(_exactly("upper", arguments, 1)[0]).upper(),
    "lower": lambda arguments: _text(_exactly("lower", arguments, 1)[0]).lower(),
    "trim": lambda arguments: _text(_exactly("trim", arguments, 1)[0]).strip(),
    "trimPrefix": lambda arguments: (lambda prefix, text: _text(text).removeprefix(_text(prefix)))(
        *_exactly("trimPrefix", arguments, 2)),
    "trimSuffix": lambda arguments: (lambda suffix, text: _text(text).removesuffix(_text(suffix)))(
        *_exactly("trimSuffix", arguments, 2)),
    "replace": lambda arguments: (lambda old, new, text: _text(text).replace(_text(old), _text(new)))(
        *_exactly("replace", arguments, 3)),
    "contains": lambda arguments: (lambda part, text: _text(part) in _text(text))(*_exactly("contains", arguments, 2)),
    "hasPrefix": lambda arguments: (lambda prefix, text: _text(text).startswith(_text(prefix)))(
        *_exactly("hasPrefix", arguments, 2)),
    "hasSuffix": lambda arguments: (lambda suffix, text: _text(text).endswith(_text(suffix)))(
        *_exactly("hasSuffix", arguments, 2)),
    "b64enc": lambda arguments: base64.b64encode(_text(_exactly("b64enc", arguments, 1)[0]).encode()).decode(),
    "b64dec": lambda arguments: _base64_decode(_exactly("b64dec", arguments, 1)[0]),
    "quote": lambda arguments: " ".join(marshal_value(_text(argument)) for argument in arguments if argument is not None),
    "squote": lambda arguments: " ".join(f"'{_text(argument)}'" for argument in arguments if argument is not None),
    "default": _default,
    "empty": lambda arguments: _empty(_exactly("empty", arguments, 1)[0]),
    "toJson": lambda arguments: marshal_value(_exactly("toJson", arguments, 1)[0]),
    "date": lambda arguments: _date(*_exactly("date", arguments, 2)),
    "repeat": lambda arguments: _text(_exactly("repeat", arguments, 2)[1]) * cast_int(arguments[0]),
}
"""Sprig functions by name: each takes the evaluated arguments."""


def call_sprig(name: str, arguments: list[Any]) -> Any:
    """Run ``sprig.NAME`` on already evaluated arguments."""
    return SPRIG_FUNCTIONS[name](arguments)


__all__ = ["SPRIG_FUNCTIONS", "call_sprig", "cast_float", "cast_int", "go_format_time"]
