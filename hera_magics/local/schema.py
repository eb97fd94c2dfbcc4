"""Request bodies checked against Argo's own JSON schema before the engine reads them.

The Argo Server decodes a request into Go structs, so a field of the wrong type (``env[0].name:
7``, ``parallelism: "two"``, ``metadata.labels: []``) is refused with 400 before anything else
happens. The engine reads plain JSON instead; this module gives it the same guarantee with the
official schema (``argo_schema/schema.json``, Argo v4.0.5, shipped unchanged): every body of a
route that takes one is checked here first, and a violation becomes one message naming the field
(``workflow.spec.templates[0].script.env[0].name: Invalid value: 7: must be a string``).

Go's decoding accepts a little more than the schema states, and so does this check:

* ``null`` anywhere in an object means "not set" (Go leaves the field at its zero value): such
  keys are dropped from the body (``without_nulls``) before the check and before the engine
  sees it;
* ``IntOrString`` fields (``retryStrategy.limit``, a template's ``activeDeadlineSeconds``) take
  an integer or a string; a ``Quantity`` (``resources.limits.cpu``) a string or a number; Argo's
  ``AnyString`` (a parameter's ``value``, ``default``, ``enum`` and ``description``,
  ``valueFrom.default``) a string, a number or a boolean.

Unknown fields are not refused (Kubernetes prunes them), as the schema itself allows.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from importlib import resources
from typing import Any

SCHEMA_RESOURCE = "argo_schema/schema.json"
DEFINITION_PREFIX = "io.argoproj.workflow.v1alpha1."

# The request message of each API call that takes a body.
WORKFLOW_CREATE_REQUEST = DEFINITION_PREFIX + "WorkflowCreateRequest"
WORKFLOW_LINT_REQUEST = DEFINITION_PREFIX + "WorkflowLintRequest"
WORKFLOW_RETRY_REQUEST = DEFINITION_PREFIX + "WorkflowRetryRequest"
WORKFLOW_RESUBMIT_REQUEST = DEFINITION_PREFIX + "WorkflowResubmitRequest"
WORKFLOW_STOP_REQUEST = DEFINITION_PREFIX + "WorkflowStopRequest"
WORKFLOW_TERMINATE_REQUEST = DEFINITION_PREFIX + "WorkflowTerminateRequest"
WORKFLOW_SUSPEND_REQUEST = DEFINITION_PREFIX + "WorkflowSuspendRequest"
WORKFLOW_RESUME_REQUEST = DEFINITION_PREFIX + "WorkflowResumeRequest"
WORKFLOW_SET_REQUEST = DEFINITION_PREFIX + "WorkflowSetRequest"

_SCALAR = ["string", "number", "boolean"]
_WIDER_TYPES = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": ["integer", "string"],
    "io.k8s.apimachinery.pkg.api.resource.Quantity": ["string", "number"],
}
# (definition, property) of Go's AnyString; "enum" is a list of them.
_ANY_STRING_PROPERTIES = [
    (DEFINITION_PREFIX + "Parameter", "value"),
    (DEFINITION_PREFIX + "Parameter", "default"),
    (DEFINITION_PREFIX + "Parameter", "description"),
    (DEFINITION_PREFIX + "ValueFrom", "default"),
]
_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "object": "an object", "array": "a list", "null": "null"}


class SchemaViolation(ValueError):
    """A request body that Argo's schema refuses; the message names the field."""


@functools.lru_cache(maxsize=1)
def _definitions() -> dict[str, Any]:
    """The schema's definitions, with the widenings Go's decoding makes (see the module's help)."""
    text = resources.files(__package__).joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    definitions = json.loads(text)["definitions"]
    for name, types in _WIDER_TYPES.items():
        definitions[name] = {**definitions[name], "type": types}
    for name, field in _ANY_STRING_PROPERTIES:
        properties = definitions[name]["properties"]
        if field in properties:
            properties[field] = {**properties[field], "type": _SCALAR}
    enum = definitions[DEFINITION_PREFIX + "Parameter"]["properties"]["enum"]
    enum["items"] = {"type": _SCALAR}
    return definitions


def _import_jsonschema() -> Any:
    """``jsonschema``, imported without the optional ``rfc3987_syntax``.

    jsonschema imports every optional format checker it finds at import time, and
    rfc3987_syntax compiles some forty grammars then (3 s of CPU, which JupyterLab environments
    pay because jupyter-events installs it). These checks never look at formats, so the engine
    hides that one module while jsonschema imports (its ``iri`` format is then unchecked) and
    puts nothing in its way afterwards.
    """
    hidden = "rfc3987_syntax" not in sys.modules
    if hidden:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # "import" now raises ImportError
    try:
        import jsonschema
    finally:
        if hidden:
            del sys.modules["rfc3987_syntax"]
    return jsonschema


@functools.lru_cache(maxsize=None)
def _validator(definition: str) -> Any:
    jsonschema = _import_jsonschema()
    schema = {"$ref": f"#/definitions/{definition}", "definitions": _definitions()}
    return jsonschema.Draft202012Validator(schema)


def without_nulls(value: Any) -> Any:
    """``value`` with every ``null`` member of an object removed, as Go's decoding ignores them."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def checked_body(definition: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without its nulls, after checking it against the schema's ``definition``.

    Raises ``SchemaViolation`` naming the first field (in document order) that does not fit.
    """
    cleaned = without_nulls(copy.deepcopy(body))
    errors = list(_validator(definition).iter_errors(cleaned))
    if errors:
        first = min(errors, key=_document_order)
        raise SchemaViolation(_message(first))
    return cleaned


def _document_order(error: Any) -> tuple[Any, ...]:
    # Deepest-first would name a leaf of an unrelated branch; the shortest path first, then the
    # path itself, names the outermost wrong field, deterministically.
    return (len(error.absolute_path), [str(part) for part in error.absolute_path])


def field_path(parts: Any) -> str:
    """``["workflow", "spec", "templates", 0, "name"]`` -> ``workflow.spec.templates[0].name``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the request body"


def _message(error: Any) -> str:
    where = field_path(error.absolute_path)
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        wanted = " or ".join(_TYPE_NAMES.get(kind, kind) for kind in expected)
        return f"{where}: Invalid value: {_shown(error.instance)}: must be {wanted}"
    if error.validator == "required":
        missing = next((name for name in error.validator_value if name not in error.instance), "?")
        return f"{field_path([*error.absolute_path, missing])}: Required value"
    if error.validator == "const":
        return f"{where}: Unsupported value: {_shown(error.instance)}: must be {json.dumps(error.validator_value)}"
    return f"{where}: Invalid value: {_shown(error.instance)}: {error.message}"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = [
    "SchemaViolation",
    "WORKFLOW_CREATE_REQUEST",
    "WORKFLOW_LINT_REQUEST",
    "WORKFLOW_RESUBMIT_REQUEST",
    "WORKFLOW_RETRY_REQUEST",
    "WORKFLOW_STOP_REQUEST",
    "WORKFLOW_SUSPEND_REQUEST",
    "WORKFLOW_RESUME_REQUEST",
    "WORKFLOW_SET_REQUEST",
    "WORKFLOW_TERMINATE_REQUEST",
    "checked_body",
    "field_path",
    "without_nulls",
]
