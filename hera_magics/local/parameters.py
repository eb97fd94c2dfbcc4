"""Argo's parameters while a workflow runs: globals, template inputs, task references, DAG outputs.

Values are text, as in Argo. A template's inputs come from the caller's arguments, else the
input's ``value``, else its ``default`` (Argo's ``ProcessArgs`` in ``workflow/common/util.go`` of
argoproj/argo-workflows); inside a DAG, ``{{tasks.NAME.…}}`` reads another task's node. The list
of variables is Argo's ``docs/variables.md``. Create-time validation (``validation``) checks
references against the same names, so whatever it lets through resolves here.

Artifacts travel the same way. A reference to one (``{{tasks.NAME.outputs.artifacts.X}}``,
``{{steps.NAME.outputs.artifacts.X}}``, ``{{inputs.artifacts.X}}``) resolves to the artifact
itself, as JSON text, so every executor whose lookup reads nodes through ``task_field_value``
resolves an argument's ``from`` (``resolve_task_arguments``) and a DAG's output artifacts
(``dag_outputs``) alike; a declared artifact its node does not have resolves to ``""``, which
Argo reports as ``Unable to resolve`` (or skips, for an optional artifact) rather than waiting.
Create-time validation allows artifact references only in ``from``, so no JSON ever lands in a
parameter. A template's resolved inputs (``ResolvedInputs``) carry its input artifacts beside
the parameter values.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Callable, Mapping

from ..argo import ERROR, FAILED, OMITTED, SKIPPED, SUCCEEDED, node_template_name, pod_name
from .artifacts import has_location_or_key, in_argo_order
from .expression_language import EvaluationError, MissingVariable, UnsupportedExpression, evaluate, parse_expression
from .go_values import go_text
from .spec import execution_spec
from .templating import TAG_PATTERN, ExpressionTag, UnresolvedReference, parameter_text, substitute
from .wire import go_json

Lookup = Callable[[str], "str | None"]

WORKFLOW_VARIABLES = (
    "workflow.name", "workflow.namespace", "workflow.uid", "workflow.serviceAccountName",
    "workflow.creationTimestamp", "workflow.mainEntrypoint", "workflow.priority", "workflow.parameters",
    "workflow.parameters.json",
    "workflow.status", "workflow.duration",
)
"""The ``workflow.*`` variables with fixed names (labels, annotations and parameters add more)."""

WORKFLOW_FAILURES = "workflow.failures"
"""Set for the exit handler only (``spec.onExit``): the failed nodes, as Argo quotes them."""

TASK_REFERENCE = re.compile(r"tasks\.([a-zA-Z0-9][-a-zA-Z0-9]*)\.(.+)")
"""``tasks.NAME.FIELD``: group 1 is the task, group 2 what of it."""

TASK_NODE_FIELDS = ("status", "id", "startedAt", "finishedAt", "hostNodeName")
"""``tasks.NAME.<field>`` that every task has, whatever its template."""


ARTIFACT_FIELD = "outputs.artifacts."
"""``tasks.NAME.outputs.artifacts.X``: a node's output artifact (resolves to the artifact's JSON)."""
POD_LOCAL_VARIABLES = ("pod.name", "node.name", "retries")
"""Variables a pod template only has once its node exists (substituted by ``pod_launch``)."""


class ResolutionError(Exception):
    """A template's inputs could not be resolved (its node becomes Error with this message)."""


class ResolvedInputs(dict):  # type: ignore[type-arg]
    """A template's inputs once its arguments are applied: each parameter's value by name (the
    dict itself), and ``artifacts``, its input artifacts as Argo's ``ProcessArgs`` leaves them."""

    def __init__(self, values: Mapping[str, str] | None = None, artifacts: list[dict[str, Any]] | None = None) -> None:
        super().__init__(values or {})
        self.artifacts: list[dict[str, Any]] = list(artifacts or [])


def input_artifacts(inputs: Mapping[str, str]) -> list[dict[str, Any]]:
    """The input artifacts of resolved inputs (none for a plain mapping of values)."""
    return list(getattr(inputs, "artifacts", []) or [])


def inputs_of_node(node: Mapping[str, Any]) -> ResolvedInputs:
    """A node's resolved inputs as it recorded them (``node_inputs``): to carry on after a restart."""
    recorded = node.get("inputs") or {}
    values = {parameter["name"]: parameter.get("value", "") for parameter in recorded.get("parameters") or []}
    return ResolvedInputs(values, [dict(artifact) for artifact in recorded.get("artifacts") or []])


def artifact_text(artifact: Mapping[str, Any]) -> str:
    """The value an artifact reference resolves to: the artifact as JSON text."""
    return json.dumps(artifact, separators=(",", ":"), sort_keys=True)


def reference_tag(text: str) -> str:
    """The variable of a ``from`` such as ``{{tasks.a.outputs.artifacts.x}}`` (``tasks.a...``)."""
    match = TAG_PATTERN.fullmatch(text.strip())
    return match.group(1).strip() if match else text.strip()


def resolve_artifact_reference(text: str, lookup: Lookup) -> dict[str, Any] | None:
    """The artifact ``text`` (a ``from``) refers to, or None when there is none behind it."""
    value = lookup(reference_tag(text))
    if not value:
        return None
    try:
        artifact = json.loads(value)
    except ValueError:
        return None
    return artifact if isinstance(artifact, dict) else None


def workflow_globals(workflow: Mapping[str, Any]) -> dict[str, str]:
    """Every ``workflow.*`` variable of a workflow, its arguments substituted once."""
    metadata = workflow["metadata"]
    spec = execution_spec(workflow)
    values = {
        "workflow.name": metadata["name"],
        "workflow.namespace": metadata["namespace"],
        "workflow.uid": metadata.get("uid", ""),
        "workflow.serviceAccountName": spec.get("serviceAccountName") or "default",
        "workflow.creationTimestamp": metadata.get("creationTimestamp") or "",
        "workflow.mainEntrypoint": spec.get("entrypoint", ""),
        "workflow.priority": str(spec.get("priority", 0)),
    }
    for key, value in (metadata.get("labels") or {}).items():
        values[f"workflow.labels.{key}"] = value
    for key, value in (metadata.get("annotations") or {}).items():
        values[f"workflow.annotations.{key}"] = value
    parameters = []
    for parameter in (spec.get("arguments") or {}).get("parameters") or []:
        value = substitute(parameter_text(parameter.get("value", "")), values)
        parameters.append({"name": parameter["name"], "value": value})
    for parameter in parameters:
        values[f"workflow.parameters.{parameter['name']}"] = parameter["value"]
    values["workflow.parameters"] = json.dumps(parameters, separators=(",", ":"))
    # Argo's alias of workflow.parameters (docs/variables.md), read by examples/conditionals.yaml
    values.setdefault("workflow.parameters.json", values["workflow.parameters"])
    values["workflow.status"] = "Running"
    values["workflow.duration"] = "0.000000"
    return values


# Argo's workflow phase for each phase of the root node (``operate`` in operator.go).
_WORKFLOW_STATUS = {SKIPPED: SUCCEEDED, OMITTED: SUCCEEDED}


def workflow_status(root_phase: str) -> str:
    """``{{workflow.status}}`` once the root node is done: its phase, Skipped/Omitted as Succeeded."""
    return _WORKFLOW_STATUS.get(root_phase, root_phase)


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote``: double quotes, backslash escapes, printable Unicode kept."""
    escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v", "\\": "\\\\", '"': '\\"'}
    out = []
    for character in text:
        if character in escapes:
            out.append(escapes[character])
        elif character.isprintable():
            out.append(character)
        elif ord(character) < 0x80:
            out.append(f"\\x{ord(character):02x}")
        elif ord(character) < 0x10000:
            out.append(f"\\u{ord(character):04x}")
        else:
            out.append(f"\\U{ord(character):08x}")
    return '"' + "".join(out) + '"'


def workflow_failures(workflow_name: str, nodes: Mapping[str, Mapping[str, Any]]) -> str:
    """``{{workflow.failures}}``: every Failed or Error node, as Argo's ``operate`` writes it.

    A JSON list of ``{displayName, message, templateName, phase, podName, finishedAt}`` (``null``
    when there are none), then quoted with Go's ``strconv.Quote`` - the value handed to the exit
    handler is that quoted text, outer quotes and backslashes included.
    """
    failures = []
    for node in nodes.values():
        if node.get("phase") not in (FAILED, ERROR):
            continue
        template = node_template_name(node)
        failures.append({
            "displayName": node.get("displayName", ""),
            "message": node.get("message", ""),
            "templateName": template,
            "phase": node["phase"],
            "podName": pod_name(workflow_name, node["name"], template or None),
            "finishedAt": node.get("finishedAt"),
        })
    return go_quote(go_json(failures or None))


def parameter_variables(inputs: Mapping[str, str]) -> dict[str, str]:
    """``inputs.parameters.NAME`` for each resolved input."""
    return {f"inputs.parameters.{name}": value for name, value in inputs.items()}


def input_variables(inputs: Mapping[str, str]) -> dict[str, str]:
    """``parameter_variables`` plus ``inputs.parameters``, all of them as a JSON list, and each
    input artifact as ``inputs.artifacts.NAME`` (its JSON, for a DAG's ``from``)."""
    values = parameter_variables(inputs)
    values["inputs.parameters"] = json.dumps([{"name": name, "value": value} for name, value in inputs.items()],
                                             separators=(",", ":"))
    for artifact in input_artifacts(inputs):
        values[f"inputs.artifacts.{artifact['name']}"] = artifact_text(artifact)
    return values


def resolve_inputs(template: Mapping[str, Any], arguments: Mapping[str, Any],
                   global_values: Mapping[str, str]) -> ResolvedInputs:
    """Argo's ProcessArgs: argument value, else the input's value, else its default; each input
    artifact from the argument of its name (keeping the template's path and mode), else the
    template's own (raw data, a key), else it must be optional."""
    given = {parameter.get("name"): parameter.get("value")
             for parameter in arguments.get("parameters") or [] if isinstance(parameter, dict)}
    values: dict[str, str] = {}
    for parameter in (template.get("inputs") or {}).get("parameters") or []:
        name = parameter["name"]
        value = parameter.get("value")
        if value is None:
            value = parameter.get("default")
        if name in given and given[name] is not None:
            value = given[name]
        if value is None:
            raise ResolutionError(f"inputs.parameters.{name} was not supplied")
        values[name] = _input_text(parameter, value, global_values)
    return ResolvedInputs(values, _resolve_input_artifacts(template, arguments, {**global_values,
                                                                                  **input_variables(values)}))


def _resolve_input_artifacts(template: Mapping[str, Any], arguments: Mapping[str, Any],
                             values: Mapping[str, str]) -> list[dict[str, Any]]:
    given = {artifact.get("name"): artifact for artifact in arguments.get("artifacts") or [] if isinstance(artifact, dict)}
    resolved = []
    for declared in (template.get("inputs") or {}).get("artifacts") or []:
        name = declared["name"]
        argument = given.get(name)
        if not declared.get("optional") and not has_location_or_key(declared):
            if argument is None:
                raise ResolutionError(f"inputs.artifacts.{name} was not supplied")
            if not has_location_or_key(argument):
                raise ResolutionError(f"inputs.artifacts.{name} missing location information")
        artifact = copy.deepcopy(dict(argument if argument is not None else declared))
        if argument is not None:
            for key in ("path", "mode", "recurseMode"):
                artifact.pop(key, None)
                if declared.get(key) is not None:
                    artifact[key] = declared[key]
        resolved.append(in_argo_order(_substituted(artifact, values)))
    return resolved


def substitute_strings(value: Any, lookup: Lookup | Mapping[str, str]) -> Any:
    """Every string in ``value`` (dicts and lists of strings, such as an artifact) substituted."""
    if isinstance(value, str):
        return substitute(value, lookup)
    if isinstance(value, dict):
        return {key: substitute_strings(item, lookup) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_strings(item, lookup) for item in value]
    return value


def _substituted(value: Any, values: Mapping[str, str]) -> Any:
    """``value`` with the variables known before its pod exists substituted; a pod's own
    (``pod.name``, ...) are left for ``pod_launch``."""
    def lookup(tag: str) -> str | None:
        if tag in values:
            return values[tag]
        return "{{" + tag + "}}" if tag in POD_LOCAL_VARIABLES or tag.startswith("outputs.") else None
    try:
        return substitute_strings(value, lookup)
    except (UnresolvedReference, ExpressionTag) as error:
        raise ResolutionError(str(error)) from None


def _input_text(parameter: Mapping[str, Any], value: Any, global_values: Mapping[str, str]) -> str:
    text = parameter_text(value)
    try:
        text = substitute(text, global_values)
    except (UnresolvedReference, ExpressionTag) as error:
        raise ResolutionError(str(error)) from None
    enum = parameter.get("enum")
    if enum and text not in [parameter_text(item) for item in enum]:
        raise ResolutionError(f"inputs.parameters.{parameter['name']}: value '{text}' is not in the enum "
                              f"{', '.join(parameter_text(item) for item in enum)}")
    return text


def node_inputs(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any] | None:
    """A node's ``inputs`` field: each declared parameter with its default and resolved value,
    and its input artifacts as resolved."""
    parameters = []
    for parameter in (template.get("inputs") or {}).get("parameters") or []:
        entry: dict[str, Any] = {"name": parameter["name"]}
        if parameter.get("default") is not None:
            entry["default"] = parameter_text(parameter["default"])
        if parameter["name"] in values:
            entry["value"] = values[parameter["name"]]
        parameters.append(entry)
    inputs: dict[str, Any] = {}
    if parameters:
        inputs["parameters"] = parameters
    artifacts = input_artifacts(values)
    if artifacts:
        inputs["artifacts"] = copy.deepcopy(artifacts)
    return inputs or None


def resolve_task_arguments(task: Mapping[str, Any], lookup: Lookup) -> dict[str, Any]:
    """A DAG task's (or step's) ``arguments`` with every parameter value substituted and every
    artifact's ``from`` replaced by the artifact it names (``resolveDependencyReferences``): an
    optional one with nothing behind it is left out, another raises ``ResolutionError``."""
    arguments = copy.deepcopy(task.get("arguments") or {})
    for parameter in arguments.get("parameters") or []:
        if parameter.get("value") is not None:
            parameter["value"] = substitute(parameter_text(parameter["value"]), lookup)
    if arguments.get("artifacts"):
        arguments["artifacts"] = _resolve_argument_artifacts(arguments["artifacts"], lookup)
    return arguments


def _resolve_argument_artifacts(artifacts: list[dict[str, Any]], lookup: Lookup) -> list[dict[str, Any]]:
    resolved = []
    for artifact in artifacts:
        if not artifact.get("from"):
            # A key or raw data may use variables (a loop's {{item}} in a key, map-reduce.yaml).
            resolved.append(substitute_strings(artifact, lookup))
            continue
        found = resolve_artifact_reference(artifact["from"], lookup)
        if found is None:
            if artifact.get("optional"):
                continue
            raise ResolutionError(f'Unable to resolve: "{reference_tag(artifact["from"])}"')
        found["name"] = artifact["name"]
        resolved.append(in_argo_order(found))
    return resolved


def task_reference(tag: str) -> tuple[str, str] | None:
    """``tasks.NAME.FIELD`` -> (NAME, FIELD); None for any other variable."""
    match = TASK_REFERENCE.fullmatch(tag)
    return (match.group(1), match.group(2)) if match else None


def task_field_value(field: str, node: Mapping[str, Any], template: Mapping[str, Any] | None, *,
                     aggregated: Mapping[str, str] | None = None, skipped_defaults: bool = True) -> str | None:
    """The value of ``tasks.NAME.FIELD`` from that task's node; None when it has none.

    ``aggregated``: a looped task's outputs (``loops.aggregate_outputs``). A task that was
    Skipped or Omitted has no outputs; as in Argo v4.0.5 (``buildLocalScopeFromTask`` in
    ``dag.go``) each output parameter its template declares reads as ``""`` in other tasks'
    arguments (``skipped_defaults``), while ``outputs.result`` stays unresolved unless the
    template declares ``outputs.result`` - and so do both in a DAG's own outputs.
    """
    if field == "status":
        return node.get("phase")
    if field == "id":
        return node["id"]
    if field in ("startedAt", "finishedAt"):
        return node.get(field) or ""
    if field == "hostNodeName":
        return node.get("hostNodeName")
    if field.startswith(ARTIFACT_FIELD):
        return _output_artifact(node, field[len(ARTIFACT_FIELD):])
    if aggregated is not None and field in aggregated:
        return aggregated[field]
    outputs = node.get("outputs")
    if outputs is None and node.get("phase") in (SKIPPED, OMITTED):
        return _skipped_output(field, template or {}) if skipped_defaults else None
    outputs = outputs or {}
    if field == "outputs.result":
        return outputs.get("result")
    if field == "outputs.exitCode":
        return outputs.get("exitCode")
    if field.startswith("outputs.parameters."):
        wanted = field[len("outputs.parameters."):]
        for parameter in outputs.get("parameters") or []:
            if parameter.get("name") == wanted and "value" in parameter:
                return parameter["value"]
    return None


def _output_artifact(node: Mapping[str, Any], name: str) -> str:
    """A node's output artifact as JSON; "" when the node has none of that name (Argo then
    reports ``Unable to resolve`` instead of waiting: ``ReplaceStrict`` lets artifacts through)."""
    for artifact in (node.get("outputs") or {}).get("artifacts") or []:
        if artifact.get("name") == name:
            return artifact_text(artifact)
    return ""


def _skipped_output(field: str, template: Mapping[str, Any]) -> str | None:
    declared = template.get("outputs") or {}
    if field.startswith("outputs.parameters."):
        wanted = field[len("outputs.parameters."):]
        if any(parameter.get("name") == wanted for parameter in declared.get("parameters") or []):
            return ""
    if field == "outputs.result" and declared.get("result") is not None:
        return ""
    return None


class OutputExpressionError(ExpressionTag):
    """An output parameter's ``valueFrom.expression`` failed, or gave nil."""

    def __init__(self, text: str, reason: str) -> None:
        ValueError.__init__(self, f"failed to evaluate expression \"{text}\": {reason}")
        self.tag = "=" + text
        self.reason = reason


def output_expression_value(text: str, lookup: Lookup) -> str:
    """``valueFrom.expression`` of a steps or DAG template's output (Argo's ``resolveParameter``
    in ``workflow/controller/scope.go``): evaluated against the template's variables, and kept
    as Go's ``fmt.Sprint`` of the result. Raises ``OutputExpressionError`` when it fails, reads a
    variable without a value (a skipped task's output, unless after ``??``) or gives nil."""
    try:
        result = evaluate(parse_expression(text), lookup)
    except MissingVariable as error:
        raise OutputExpressionError(text, str(error)) from None
    except (EvaluationError, UnsupportedExpression) as error:
        raise OutputExpressionError(text, str(error)) from None
    if result is None:
        raise OutputExpressionError(text, "the result is nil")
    return go_text(result)


def dag_outputs(template: Mapping[str, Any], lookup: Lookup) -> dict[str, Any] | None:
    """A finished DAG's ``outputs``: each ``valueFrom.parameter`` substituted (or
    ``valueFrom.expression`` evaluated), else its default, and each output artifact's ``from``
    resolved (an optional one without a value left out).

    As Argo's ``getTemplateOutputsFromScope`` (operator.go): the parameters keep their other
    fields and lose ``valueFrom``; an artifact is the one it names, under the output's name.
    Raises ``UnresolvedReference`` or ``OutputExpressionError`` when there is no value.
    """
    parameters = []
    for parameter in (template.get("outputs") or {}).get("parameters") or []:
        value_from = parameter.get("valueFrom") or {}
        try:
            if value_from.get("expression"):
                value = output_expression_value(str(value_from["expression"]), lookup)
            else:
                value = substitute(value_from["parameter"], lookup)
        except (UnresolvedReference, OutputExpressionError):
            if value_from.get("default") is None:
                raise
            value = parameter_text(value_from["default"])
        entry = {key: item for key, item in parameter.items() if key != "valueFrom"}
        entry["value"] = value
        parameters.append(entry)
    outputs: dict[str, Any] = {"parameters": parameters} if parameters else {}
    artifacts = []
    for declared in (template.get("outputs") or {}).get("artifacts") or []:
        if not declared.get("from"):
            continue
        artifact = resolve_artifact_reference(declared["from"], lookup)
        if artifact is None:
            if declared.get("optional"):
                continue
            raise UnresolvedReference(reference_tag(declared["from"]))
        artifact["name"] = declared["name"]
        artifacts.append(in_argo_order(artifact))
    if (template.get("outputs") or {}).get("artifacts"):
        outputs["artifacts"] = artifacts
    return outputs or None
