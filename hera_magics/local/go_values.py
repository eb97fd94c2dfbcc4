"""Values as Go prints them (pure functions): ``json.Marshal`` and ``fmt.Sprint``.

Argo's expressions run in Go, so what they produce reaches a task as Go writes it: an
``{{=...}}`` tag puts in its result's JSON (a string as it is), an output parameter's
``valueFrom.expression`` keeps ``fmt.Sprint`` of its result. Numbers are the difference that
shows: Go writes the float 43 as ``43`` and 1234567.0 as ``1.234567e+06`` under ``%v``.
"""

from __future__ import annotations

import math
from typing import Any

_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                 "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_string(text: str) -> str:
    parts = []
    for character in text:
        if character in _JSON_ESCAPES:
            parts.append(_JSON_ESCAPES[character])
        elif ord(character) < 0x20:
            parts.append(f"\\u{ord(character):04x}")
        else:
            parts.append(character)
    return '"' + "".join(parts) + '"'


def _shortest_digits(number: float) -> tuple[str, int]:
    """The shortest decimal digits of ``number`` (positive, finite) and its decimal exponent."""
    shortest = repr(number)
    if "e" in shortest or "E" in shortest:
        mantissa, _, exponent = shortest.partition("e")
        digits = mantissa.replace(".", "").lstrip("0") or "0"
        return digits.rstrip("0") or "0", int(exponent)
    whole, _, fraction = shortest.partition(".")
    fraction = fraction.rstrip("0")
    digits = (whole + fraction).lstrip("0")
    if whole.strip("0"):
        point = len(whole.lstrip("0"))
    else:
        point = -(len(fraction) - len(fraction.lstrip("0")))
    return digits.rstrip("0") or "0", point - 1


def _exponent_form(digits: str, exponent: int, minimum_exponent_digits: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exponent < 0 else "+"
    return f"{mantissa}e{sign}{abs(exponent):0{minimum_exponent_digits}d}"


def _plain_form(digits: str, exponent: int) -> str:
    if exponent < 0:
        return "0." + "0" * (-exponent - 1) + digits
    if len(digits) <= exponent + 1:
        return digits + "0" * (exponent + 1 - len(digits))
    return digits[:exponent + 1] + "." + digits[exponent + 1:]


def go_float_json(number: float) -> str:
    """A float64 as ``encoding/json`` writes it (``1e-7``, ``43``, ``1e+21``)."""
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"json: unsupported value: {number}")
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    digits, exponent = _shortest_digits(abs(number))
    if abs(number) < 1e-6 or abs(number) >= 1e21:
        return sign + _exponent_form(digits, exponent, 1)
    return sign + _plain_form(digits, exponent)


def go_float_text(number: float) -> str:
    """A float64 as ``fmt.Sprint`` writes it (``%v``: shortest ``%g``, exponent from 1e+06)."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    digits, exponent = _shortest_digits(abs(number))
    if exponent < -4 or exponent >= 6:
        return sign + _exponent_form(digits, exponent, 2)
    return sign + _plain_form(digits, exponent)


def marshal_value(value: Any) -> str:
    """``json.Marshal`` of a Go value made of maps, slices and scalars: map keys sorted, no
    spaces, ``<``, ``>``, ``&`` escaped, numbers as Go writes float64s. (``wire.go_json``
    writes records, whose fields keep their order.)"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float_json(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "{" + ",".join(f"{_json_string(str(key))}:{marshal_value(item)}" for key, item in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(marshal_value(item) for item in value) + "]"
    raise ValueError(f"json: unsupported type {type(value).__name__}")


def go_text(value: Any) -> str:
    """``fmt.Sprint`` of a value: ``<nil>``, ``true``, ``35.8``, ``[a b]``, ``map[a:1]``."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float_text(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_text(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "map[" + " ".join(f"{key}:{go_text(item)}" for key, item in items) + "]"
    return str(value)


__all__ = ["go_float_json", "go_float_text", "marshal_value", "go_text"]
