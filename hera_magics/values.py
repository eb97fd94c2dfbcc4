"""How a value from the notebook travels to a task as an Argo parameter, checked before anything is sent.

Strings travel as they are and everything else as JSON (the pod decodes JSON when it parses,
see ``pod/runtime.py``). Before that, a value is checked against the input's simple annotation
(``annotations``), must be JSON (a module, a function or a DataFrame cannot be a parameter), must
fit one environment variable (``contract.LARGEST_VALUE_BYTES``), and, if it contains Argo's
``{{``, travels base64-encoded so Argo does not substitute it.

No IPython, no Hera.
"""

from __future__ import annotations

import base64
import inspect
import json
from typing import Any

from .annotations import describe, describe_value, fits
from .capture import TaskSpec
from .errors import DagError
from .pod.contract import ENCODED_PREFIX, LARGEST_VALUE_BYTES


def encode_value(value: Any) -> str:
    """How a notebook value travels as an Argo parameter: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        message, hint = unpassable(value)
        raise DagError(message, hint=hint) from None


def unpassable(value: Any) -> tuple[str, str]:
    """(message, hint) for a value that is not JSON, naming what to do instead."""
    if inspect.ismodule(value):
        return (f"a module ({value.__name__}) cannot be passed to a task",
                f"import it inside the task's cell instead: import {value.__name__}")
    if inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value):
        kind = "class" if inspect.isclass(value) else "function"
        name = getattr(value, "__name__", kind)
        return (f"a {kind} ({name}) cannot be passed to a task",
                f"define or import {name} inside the task's cell (only that cell is shipped to the pod)")
    return (f"a value of type {type(value).__name__} cannot be passed as a task argument",
            "arguments travel as JSON: pass numbers, strings, lists or dicts (or a path to a file)")


def check_annotation(value: Any, task: TaskSpec, key: str, *, node: str, what: str = "the value") -> None:
    """Refuse ``value`` for input ``key`` of ``task`` when the input's simple annotation excludes it."""
    spec = task.input_named(key)
    if spec is None or fits(value, spec.kinds):
        return
    hint = f"pass {describe(spec.kinds)}"
    if isinstance(value, str) and any(kind in spec.kinds for kind in ("int", "float")):
        hint = f"pass a number without quotes, e.g. {key}={value.strip()!s}" if _is_number(value) else hint
    if value is None and "str" in spec.kinds:
        hint += " (None would arrive as the text 'null')"
    raise DagError(
        f"node {node!r}: input {key!r} of `{task.name}` is annotated {describe(spec.kinds)}, but {what} is "
        f"{describe_value(value)}",
        hint=hint + ", or change the annotation",
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parameter_text(value: Any, task: TaskSpec, key: str, *, node: str) -> str:
    """The Argo parameter text of a notebook value (or literal) for input ``key``, every check made."""
    try:
        text = encode_value(value)
    except DagError as error:
        hint = error.hint
        if task.kind != "shell" and not inspect.ismodule(value) and not callable(value):
            hint = (hint or "") + f"; or give {task.name} --data-volume to pass any Python object as a file"
        raise DagError(f"{task.name}({key}=...): {error.message}", hint=hint) from None
    check_annotation(value, task, key, node=node)
    size = len(text.encode("utf-8"))
    if size > LARGEST_VALUE_BYTES:
        raise DagError(
            f"{task.name}({key}=...): the value is {size // 1024} KiB, too large for an Argo parameter "
            f"(at most {LARGEST_VALUE_BYTES // 1024} KiB)",
            hint=f"give {task.name} --data-volume to pass large values as files, or pass a path to the data",
        )
    if "{{" in text:
        if task.kind == "shell":
            raise DagError(
                f"{task.name}({key}=...): the value contains '{{{{', which Argo would substitute",
                hint="a --shell task receives values as they are; pass it to a Python task instead",
            )
        # The pod's runtime decodes it, so the user's braces arrive untouched.
        return ENCODED_PREFIX + base64.b64encode(text.encode("utf-8")).decode("ascii")
    return text


def item_value(value: Any, task: TaskSpec, key: str, *, node: str, index: int, zipped: bool) -> Any:
    """One item of a ``withItems`` list: the value itself when Argo hands it over intact, else encoded text.

    Argo gives a task ``{{item}}`` exactly for a string item and as JSON for other values, but
    ``{{item.key}}`` of a zipped item shows a string's JSON escapes (``\\"``); such strings, and
    strings with Argo's braces, travel encoded like any other such value (``parameter_text``).
    """
    check_annotation(value, task, key, node=node, what=f"item {index} of the list")
    text = parameter_text(value, task, key, node=node)
    if not isinstance(value, str):
        return value
    if text != value:
        return text  # encoded: braces
    escaped = json.dumps(value, ensure_ascii=False)[1:-1] != value or "\u2028" in value or "\u2029" in value
    if zipped and escaped:
        if task.kind == "shell":
            raise DagError(f"{task.name}({key}=...): item {index} has quotes, backslashes or control characters, "
                           "which a zipped map hands a --shell task escaped", hint="map it alone, or use a Python task")
        return ENCODED_PREFIX + base64.b64encode(value.encode("utf-8")).decode("ascii")
    return value
