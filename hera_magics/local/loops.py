"""Argo's loops over a DAG task: items, their node names and values, and aggregated outputs.

A task with ``withItems``, ``withParam`` (a JSON list, known only when its reference resolves)
or ``withSequence`` runs once per item. Each item is a node ``task(INDEX:LABEL)`` below a
``TaskGroup`` node ``task``; inside the task ``{{item}}`` (and ``{{item.KEY}}`` for an object)
is the item. Downstream, ``tasks.task.outputs.result`` and ``tasks.task.outputs.parameters.P``
are JSON lists of the items' values in item order, from the items that Succeeded only.

The models, in ``workflow/controller/`` of argoproj/argo-workflows (v4.0.5): ``expandTask``
(``dag.go``), ``processItem``, ``generateNodeName``, ``expandSequence``,
``processAggregateNodeOutputs`` and ``aggregatedJSONValueList`` (``operator.go``), and
``pkg/apis/workflow/v1alpha1/item.go`` for how an item prints. Values keep the JSON text they
came in (``RawNumber``), as Go's ``json.RawMessage`` does, so ``1.50`` stays ``1.50``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping

from ..argo import SUCCEEDED
from .wire import go_json


class RawNumber(str):
    """A JSON number kept as the text it was written with (Go keeps items as raw JSON)."""


class LoopError(ValueError):
    """A loop that cannot be expanded (its node becomes Error with this message)."""


@dataclass(frozen=True)
class LoopItem:
    """One item of a loop: its node-name suffix and the ``item`` variables it defines."""

    index: int
    label: str
    variables: dict[str, str]

    def node_suffix(self) -> str:
        """``(INDEX:LABEL)``, as ``generateNodeName`` writes it (parentheses dropped from the label)."""
        return f"({self.index}:{self.label.replace('(', '').replace(')', '')})"


# -- JSON as Go writes it ----------------------------------------------------------------------


def go_float(value: float) -> str:
    """A float64 as Go's ``encoding/json`` writes it: shortest digits, an exponent only below
    1e-6 or from 1e21 on (``1e-7``, ``1e+21``), and no ``.0`` on whole numbers."""
    if value != value or value in (float("inf"), float("-inf")):
        raise LoopError(f"json: unsupported value: {value}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = repr(value).partition("e")
        number = int(exponent)
        sign = "-" if number < 0 else "+"
        digits = str(abs(number)) if number < 0 else f"{number:02d}"
        return f"{mantissa}e{sign}{digits}"
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def raw_json(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON of a decoded value, numbers as they were written (``RawNumber``)."""
    if isinstance(value, RawNumber):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_json(value)
    if isinstance(value, list):
        return "[" + ",".join(raw_json(element, sort_keys=sort_keys) for element in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value) if sort_keys else list(value)
        return "{" + ",".join(f"{go_json(str(key))}:{raw_json(value[key], sort_keys=sort_keys)}"
                              for key in keys) + "}"
    raise LoopError(f"json: unsupported type: {type(value).__name__}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def load_raw(text: str) -> Any:
    """Decode JSON keeping numbers as ``RawNumber``; ``ValueError`` with Go's wording when invalid."""
    try:
        return json.loads(text, parse_float=RawNumber, parse_int=RawNumber, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ValueError(go_json_error(text, error)) from None


def go_json_error(text: str, error: json.JSONDecodeError) -> str:
    """Go's ``encoding/json`` message for the usual ways a text is not JSON."""
    if not text.strip():
        return "unexpected end of JSON input"
    position = min(error.pos, len(text))
    if position >= len(text):
        return "unexpected end of JSON input"
    character = text[position]
    for word in ("null", "true", "false"):
        if character == word[0]:
            for offset, expected in enumerate(word):
                if position + offset >= len(text):
                    return "unexpected end of JSON input"
                if text[position + offset] != expected:
                    return f"invalid character '{text[position + offset]}' in literal {word} (expecting '{expected}')"
    if error.msg.startswith("Extra data"):
        return f"invalid character '{character}' after top-level value"
    if error.msg.startswith("Expecting value"):
        return f"invalid character '{character}' looking for beginning of value"
    return f"invalid character '{character}' in JSON input"


# -- items ------------------------------------------------------------------------------------------


def _fix(text: str) -> str:
    """Argo's ``jsonutil.Fix``: undo Go's HTML escaping."""
    return text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")


def item_text(item: Any) -> str:
    """``Item.String()``: the item's JSON, a string without its quotes (escapes kept)."""
    text = raw_json(item)
    if text.startswith('"'):
        text = text[1:-1]
    return _fix(text)


def loop_item(index: int, item: Any) -> LoopItem:
    """``processItem``: the label and the ``item`` variables of one item."""
    if isinstance(item, (RawNumber, bool, int, float)):
        text = item_text(item)
        return LoopItem(index, text, {"item": text})
    if isinstance(item, list):
        label = "[" + " ".join(item_text(element) for element in item) + "]"
        return LoopItem(index, label, {"item": raw_json(item)})
    if isinstance(item, dict):
        variables = {f"item.{key}": item_text(value) for key, value in item.items()}
        variables["item"] = raw_json(item, sort_keys=True)
        label = ",".join(sorted(f"{key}:{item_text(value)}" for key, value in item.items()))
        return LoopItem(index, label, variables)
    # A string (or null, which Go reads as the empty string).
    value = "" if item is None else str(item)
    return LoopItem(index, item_text(item), {"item": value})


def param_items(text: str) -> list[Any]:
    """``withParam``'s value as a list of items; ``LoopError`` in Argo's words otherwise."""
    try:
        value = load_raw(text)
    except ValueError as error:
        raise LoopError(f"withParam value could not be parsed as a JSON list: {text.strip()}: {error}") from None
    if not isinstance(value, list):
        kind = {dict: "object", str: "string", bool: "bool"}.get(type(value), "number")
        raise LoopError(f"withParam value could not be parsed as a JSON list: {text.strip()}: "
                        f"json: cannot unmarshal {kind} into Go value of type []v1alpha1.Item")
    return value


_GO_INTEGER_VERB = re.compile(r"%([-+# 0]*\d*)([dvxXobc])")


def _go_format(format_text: str, number: int) -> str:
    """Go's ``fmt.Sprintf(format, i)`` for one integer (the verbs a sequence format uses)."""
    def replace(match: re.Match[str]) -> str:
        flags, verb = match.groups()
        if verb == "b":
            return format(number, f"{flags.replace('#', '')}b")
        if verb == "c":
            return chr(number)
        return ("%" + flags + ("d" if verb == "v" else verb)) % number

    return _GO_INTEGER_VERB.sub(replace, format_text.replace("%%", "\0")).replace("\0", "%")


def _atoi(value: Any) -> int:
    text = str(value).strip() if not isinstance(value, bool) else str(value)
    if not re.fullmatch(r"[+-]?\d+", text):
        raise LoopError(f'strconv.Atoi: parsing "{value}": invalid syntax')
    return int(text)


def sequence_items(sequence: Mapping[str, Any]) -> list[Any]:
    """``expandSequence``: ``count`` or ``start``..``end`` (either direction), each formatted."""
    start = _atoi(sequence["start"]) if sequence.get("start") not in (None, "") else 0
    if sequence.get("end") not in (None, ""):
        end = _atoi(sequence["end"])
    elif sequence.get("count") not in (None, ""):
        count = _atoi(sequence["count"])
        if count == 0:
            return []
        end = start + count - 1
    else:
        raise LoopError("neither end nor count was specified in withSequence")
    format_text = sequence.get("format") or "%d"
    step = 1 if start <= end else -1
    return [_go_format(format_text, number) for number in range(start, end + step, step)]


# -- aggregated outputs -------------------------------------------------------------------------------

_LOOP_INDEX = re.compile(r"\((\d+)(?::[^()]*)?\)$")


def loop_index(node_name: str) -> int:
    """The item index in a node name ``task(INDEX:LABEL)`` (``parseLoopIndex``)."""
    position = node_name.rfind("(")
    head = node_name[position + 1:].split(":", 1)[0].rstrip(")")
    return int(head) if head.isdigit() else 0


def aggregated_json_value_list(values: list[str]) -> str:
    """``aggregatedJSONValueList``: a JSON list of the values; when every value is itself a JSON
    object or list, of those (re-encoded as Go does), else of the values as strings."""
    decoded = []
    for value in values:
        try:
            parsed = json.loads(value)
        except ValueError:
            break
        if not isinstance(parsed, (dict, list)):
            break
        decoded.append(parsed)
    else:
        return raw_json(decoded, sort_keys=True)
    return raw_json(list(values))


def aggregate_outputs(items: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """What a looped task offers downstream, from its item nodes (any order):

    ``outputs.result`` (the JSON list of the results, each decoded as JSON), ``outputs.parameters``
    (a list of ``{name: value}`` objects) and ``outputs.parameters.NAME`` (``aggregated_json_value_list``).
    Only items that Succeeded count, in item order. ``LoopError`` when a result is not JSON
    (Argo's ``processAggregateNodeOutputs`` fails there too).
    """
    ordered = sorted((node for node in items if not (node.get("nodeFlag") or {}).get("retried")),
                     key=lambda node: loop_index(node.get("name", "")))
    parameter_list: list[dict[str, str]] = []
    values_by_name: dict[str, list[str]] = {}
    results: list[Any] = []
    for node in ordered:
        outputs = node.get("outputs")
        if not outputs or node.get("phase") != SUCCEEDED:
            continue
        if outputs.get("parameters"):
            entry = {}
            for parameter in outputs["parameters"]:
                value = str(parameter.get("value", ""))
                entry[parameter["name"]] = value
                values_by_name.setdefault(parameter["name"], []).append(value)
            parameter_list.append(entry)
        if outputs.get("result") is not None:
            try:
                results.append(load_raw(outputs["result"]))
            except ValueError as error:
                raise LoopError(str(error)) from None
    aggregated = {
        "outputs.result": raw_json(results),
        "outputs.parameters": raw_json(parameter_list, sort_keys=True),
    }
    for name, values in values_by_name.items():
        aggregated[f"outputs.parameters.{name}"] = aggregated_json_value_list(values)
    return aggregated


__all__ = [
    "LoopError",
    "LoopItem",
    "RawNumber",
    "aggregate_outputs",
    "aggregated_json_value_list",
    "go_float",
    "item_text",
    "load_raw",
    "loop_index",
    "loop_item",
    "param_items",
    "raw_json",
    "sequence_items",
]
