"""Suspend templates, and suspending and resuming a workflow or its suspend nodes.

As Argo v4.0.5 (argoproj/argo-workflows): ``executeSuspend`` and ``addRawOutputFields`` in
``workflow/controller/operator.go``, ``SuspendWorkflow``, ``ResumeWorkflow``,
``updateSuspendedNode``, ``SelectorMatchesNode`` and ``OverrideOutputParametersWithDefault`` in
``workflow/util/util.go``:

* a suspend template makes a ``Suspend`` node that stays ``Running`` until it is resumed, or
  until its ``duration`` (from the node's start) has passed; then it Succeeds and each output
  parameter with ``valueFrom.supplied`` takes its default (an input of the same name's default
  when it has none; with neither the node errs);
* a stop fails it ("Stopped with strategy 'Stop'"; not an exit handler's, except on
  ``Terminate``), the workflow deadline too ("Step exceeded its deadline");
* ``spec.suspend: true`` (``PUT .../suspend``) starts nothing new until it is resumed; pods
  already running go on; the workflow does not complete while suspended;
* ``PUT .../resume`` without a node selector clears ``spec.suspend`` and resumes every running
  Suspend node (outputs from their defaults); with ``nodeFieldSelector`` it resumes only the
  matching ones, as ``PUT .../set`` sets their phase, message and output parameters.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Mapping

from ..argo import ERROR, FAILED, RUNNING, SUCCEEDED, parse_rfc3339
from .nodes import Node, is_fulfilled
from .parameters import parameter_variables
from .selectors import SelectorError, parse_field_selector
from .templating import ExpressionTag, UnresolvedReference, parse_go_duration, substitute

if TYPE_CHECKING:
    from .reconcile import Operation

DEADLINE_MESSAGE = "Step exceeded its deadline"
SETTABLE_PHASES = (SUCCEEDED, FAILED, ERROR, "")


class SuspendError(ValueError):
    """A resume or set that cannot be done (the Argo Server answers 500 with this message)."""


def raw_outputs(template: Mapping[str, Any]) -> dict[str, Any] | None:
    """``addRawOutputFields``: the output parameters a suspend node waits to be given."""
    parameters = []
    inputs = {parameter.get("name"): parameter for parameter in (template.get("inputs") or {}).get("parameters") or []}
    for parameter in (template.get("outputs") or {}).get("parameters") or []:
        value_from = parameter.get("valueFrom") or {}
        if value_from.get("supplied") is None:
            continue
        entry = copy.deepcopy(parameter)
        if entry["valueFrom"].get("default") is None:
            default = (inputs.get(parameter.get("name")) or {}).get("default")
            if default is not None:
                entry["valueFrom"]["default"] = default
        parameters.append(entry)
    return {"parameters": parameters} if parameters else None


def override_with_defaults(node: Node) -> None:
    """``OverrideOutputParametersWithDefault``: each output still waiting takes its default."""
    for parameter in (node.get("outputs") or {}).get("parameters") or []:
        value_from = parameter.get("valueFrom")
        if not value_from or value_from.get("supplied") is None:
            continue
        if value_from.get("default") is None:
            raise SuspendError(f"raw output parameter '{parameter['name']}' has not been set and does not have a "
                               "default value")
        parameter["value"] = str(value_from["default"])
        del parameter["valueFrom"]


def suspend_duration(template: Mapping[str, Any], inputs: Mapping[str, str], global_values: Mapping[str, str]) -> float | None:
    """The template's ``suspend.duration`` in seconds (its variables substituted), or None."""
    duration = (template.get("suspend") or {}).get("duration")
    if duration in (None, ""):
        return None
    values = {**global_values, **parameter_variables(inputs)}
    try:
        text = substitute(str(duration), values)
    except (UnresolvedReference, ExpressionTag) as error:
        raise ValueError(str(error)) from None
    return parse_go_duration(text)


class SuspendRun:
    """One Suspend node while it is suspended (a unit of the runtime)."""

    def __init__(self, node: Node, duration: float | None, on_exit: bool) -> None:
        self.node = node
        self.duration = duration
        self.on_exit = on_exit

    def child_event(self, node: Node, key: Any, created: bool, fulfilled: bool) -> None:
        """A Suspend node has no children."""

    def advance(self, operation: Operation) -> None:
        node = self.node
        if is_fulfilled(node):
            return
        nodes = operation.nodes
        if operation.shutdown and (not self.on_exit or operation.shutdown == "Terminate"):
            nodes.finish(node, FAILED, f"Stopped with strategy '{operation.shutdown}'")
            return
        if operation.deadline_exceeded and not self.on_exit:
            nodes.finish(node, FAILED, DEADLINE_MESSAGE)
            return
        if self.duration is None:
            return
        due = parse_rfc3339(node["startedAt"]) + self.duration
        if operation.now < due:
            operation.runtime.schedule(self, due)
            return
        try:
            override_with_defaults(node)
        except SuspendError as error:
            nodes.finish(node, ERROR, str(error))
            return
        nodes.finish(node, SUCCEEDED)


def is_active_suspend_node(node: Mapping[str, Any]) -> bool:
    """``IsActiveSuspendNode``: a Suspend node still Running."""
    return node.get("type") == "Suspend" and node.get("phase") == RUNNING


def node_fields(node: Mapping[str, Any]) -> dict[str, str]:
    """The fields a ``nodeFieldSelector`` may name (``SelectorMatchesNode``)."""
    fields = {
        "displayName": node.get("displayName", ""),
        "templateName": node.get("templateName", ""),
        "phase": node.get("phase", ""),
        "name": node.get("name", ""),
        "id": node.get("id", ""),
    }
    for parameter in (node.get("inputs") or {}).get("parameters") or []:
        fields[f"inputs.parameters.{parameter['name']}.value"] = str(parameter.get("value", ""))
    return fields


def selector_matches(selector: list[tuple[str, str, str]], node: Mapping[str, Any]) -> bool:
    fields = node_fields(node)
    return all((fields.get(field, "") == value) == (operator == "=") for field, operator, value in selector)


def parse_node_selector(text: str) -> list[tuple[str, str, str]]:
    try:
        return parse_field_selector(text)
    except SelectorError as error:
        raise SuspendError(str(error)) from None


def resume_all(nodes: Mapping[str, Node], now: str) -> list[Node]:
    """``ResumeWorkflow`` without a selector: every running Suspend node Succeeds (outputs from
    their defaults). Raises ``SuspendError`` (and changes nothing) when an output has no value."""
    active = [node for node in nodes.values() if is_active_suspend_node(node)]
    for node in active:
        for parameter in (node.get("outputs") or {}).get("parameters") or []:
            value_from = parameter.get("valueFrom") or {}
            if value_from.get("supplied") is not None and value_from.get("default") is None:
                raise SuspendError(f"raw output parameter '{parameter['name']}' has not been set and does not "
                                   "have a default value")
    for node in active:
        override_with_defaults(node)
        node["phase"] = SUCCEEDED
        node["finishedAt"] = now
    return active


def set_suspended_nodes(nodes: Mapping[str, Node], selector_text: str, *, phase: str = "", message: str = "",
                        output_parameters: Mapping[str, str] | None = None, now: str) -> list[Node]:
    """``updateSuspendedNode``: the running Suspend nodes ``selector_text`` matches take ``phase``,
    ``message`` and ``output_parameters``. Raises ``SuspendError`` (nothing changed) when none
    matches or an output parameter cannot be set."""
    selector = parse_node_selector(selector_text)
    matching = [node for node in nodes.values() if is_active_suspend_node(node) and selector_matches(selector, node)]
    for node in matching:
        for name in output_parameters or {}:
            if node.get("outputs") is None:
                raise SuspendError("cannot set output parameters because node is not expecting any raw parameters")
            parameter = next((item for item in node["outputs"].get("parameters") or [] if item.get("name") == name),
                             None)
            if parameter is None:
                raise SuspendError(f"node is not expecting output parameter '{name}'")
            if (parameter.get("valueFrom") or {}).get("supplied") is None:
                raise SuspendError(f"cannot set output parameter '{name}' because it does not use valueFrom.raw or "
                                   "it was already set")
    changed = []
    for node in matching:
        updated = False
        if phase:
            node["phase"] = phase
            node["finishedAt"] = now
            updated = True
        if message:
            node["message"] = message
            updated = True
        for name, value in (output_parameters or {}).items():
            for parameter in node["outputs"]["parameters"]:
                if parameter.get("name") == name:
                    parameter["value"] = str(value)
                    parameter.pop("valueFrom", None)
                    updated = True
        if updated:
            changed.append(node)
    if not changed:
        raise SuspendError(f"currently, set only targets suspend nodes: no suspend nodes matching nodeFieldSelector: "
                           f"{selector_text}")
    return changed


__all__ = [
    "DEADLINE_MESSAGE",
    "SETTABLE_PHASES",
    "SuspendError",
    "SuspendRun",
    "is_active_suspend_node",
    "override_with_defaults",
    "raw_outputs",
    "resume_all",
    "selector_matches",
    "set_suspended_nodes",
    "suspend_duration",
]
