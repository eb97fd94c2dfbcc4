"""Create-time checks of a steps template and a suspend template.

As Argo's validator (``validateSteps``, ``addOutputsToScope``, ``addItemsToScope`` in
``workflow/validate/validate.go``, argoproj/argo-workflows v4.0.5): step names are unique in
the template; each step's references may name the template's inputs, the workflow's globals,
its own ``{{item...}}`` and the ``steps.NAME.*`` of the steps before it (in order, so a later
step of the same group too, as Argo allows); a step's exit hook may read its own outputs. A
step's argument artifacts (``from: {{steps.NAME.outputs.artifacts.X}}``) and the template's
output artifacts name the same steps (``validate_artifacts``); a step may run a WorkflowTemplate's
template (``templateRef``, ``template_refs``).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from . import spec as specs
from .templating import parse_go_duration
from .validate_artifacts import check_dag_output_artifacts, check_task_artifacts
from .validation_context import (
    ValidationContext,
    check_inputs_supplied,
    check_name,
    check_references,
    fail,
    is_set,
    validate_arguments,
)
from .validation_flow import exit_hook_of, item_names, referenced_template, validate_loop

REFUSED_STEP_FIELDS = {
}
# Kinds whose steps offer outputs.result and exitCode (Argo's Template.HasOutput).
RESULT_KINDS = ("container", "containerSet", "script", "data", "http", "plugin")
STEP_NODE_FIELDS = ("id", "startedAt", "finishedAt", "hostNodeName", "status")


class StepScope:
    """The ``steps.NAME.*`` a step may read: what the steps before it offer."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def add_status(self, step_name: str) -> None:
        self.names.add(f"steps.{step_name}.status")

    def add_outputs(self, step_name: str, template: Mapping[str, Any], aggregate: bool) -> None:
        """``addOutputsToScope``: ids and times, then the outputs its template declares."""
        prefix = f"steps.{step_name}"
        self.names.update(f"{prefix}.{field}" for field in STEP_NODE_FIELDS if field != "status")
        kind = specs.template_kind(template)
        if kind in RESULT_KINDS:
            self.names.update((f"{prefix}.outputs.result", f"{prefix}.exitCode"))
        for parameter in (template.get("outputs") or {}).get("parameters") or []:
            self.names.add(f"{prefix}.outputs.parameters.{parameter.get('name')}")
        if aggregate:
            self.names.add(f"{prefix}.outputs.parameters")
            if kind in ("script", "containerSet"):
                self.names.update((f"{prefix}.outputs.result", f"{prefix}.exitCode"))

    def allows(self, tag: str) -> bool:
        return tag in self.names


def validate_steps(template: dict[str, Any], where: str, context: ValidationContext, input_names: set[str]) -> None:
    """A steps template: groups of steps, each step's template, references, loops and hooks."""
    groups = template.get("steps")
    if not isinstance(groups, list) or not groups:
        raise fail(f"{where}.steps must be a list of step groups")

    def inputs_allowed(tag: str) -> bool:
        if context.is_global(tag) or tag == "inputs.parameters":
            return True
        return tag.startswith("inputs.parameters.") and tag[len("inputs.parameters."):] in input_names

    scope = StepScope()
    seen: dict[str, dict[str, Any]] = {}
    for index, group in enumerate(groups):
        steps = group.get("steps") if isinstance(group, dict) else group
        if not isinstance(steps, list):
            raise fail(f"{where}.steps[{index}] must be a list of steps")
        for step in steps:
            if not isinstance(step, dict):
                raise fail(f"{where}.steps[{index}] must be a list of steps")
            _validate_step(step, index, where, context, scope, seen, inputs_allowed, template)

    for parameter in (template.get("outputs") or {}).get("parameters") or []:
        reference = (parameter.get("valueFrom") or {}).get("parameter")
        check_references(reference, f"{where}.outputs.parameters.{parameter['name']}.valueFrom.parameter",
                         lambda tag: inputs_allowed(tag) or scope.allows(tag))
    check_dag_output_artifacts(template, where, seen, prefix="steps")


def _validate_step(step: dict[str, Any], index: int, where: str, context: ValidationContext, scope: StepScope,
                   seen: dict[str, dict[str, Any]], inputs_allowed: Callable[[str], bool],
                   steps_template: Mapping[str, Any]) -> None:
    """One step; ``seen`` holds the templates of the steps before it, by step name."""
    if not step.get("name"):
        raise fail(f"{where}.steps[{index}].name is required")
    name = check_name(step.get("name"), f"{where}.steps[{index}]")
    if name in seen:
        raise fail(f"{where}.steps[{index}].name '{name}' is not unique")
    field = f"{where}.steps[{index}].{name}"
    for key, message in REFUSED_STEP_FIELDS.items():
        if is_set(step.get(key)):
            raise fail(f"{field}.{key}: {message}")
    template = _step_template(step, field, context)
    check_task_artifacts(step, field, steps_template, seen, seen.__contains__, prefix="steps")
    seen[name] = template
    scope.add_status(name)
    items = item_names(step)

    def allowed(tag: str) -> bool:
        return inputs_allowed(tag) or scope.allows(tag) or (items is not None and items(tag))

    validate_loop(step, field, allowed)
    hook = exit_hook_of(step, field, context)
    if hook is not None:
        scope.add_outputs(name, template, aggregate=False)
    validate_arguments(step.get("arguments") or {}, f"{field}.arguments", globals_only=False, context=context,
                       allowed=allowed)
    check_references(step.get("when"), f"{field}.when", allowed)
    check_inputs_supplied(template, step.get("arguments") or {}, field)
    if hook is not None:
        validate_arguments(hook.get("arguments") or {}, f"{field}.hooks.exit.arguments", globals_only=False,
                           context=context, allowed=allowed)
        check_inputs_supplied(context.templates[hook["template"]],
                              hook.get("arguments") or context.spec.get("arguments") or {}, f"{field}.hooks.exit")
    scope.add_outputs(name, template, aggregate=bool(step.get("withItems") or step.get("withParam")))


def _step_template(step: Mapping[str, Any], field: str, context: ValidationContext) -> dict[str, Any]:
    return referenced_template(step, field, context, "{field} template name '{name}' undefined")


def validate_suspend(template: Mapping[str, Any], where: str) -> None:
    """``suspend: {}`` waits to be resumed; ``duration`` is seconds or a Go duration."""
    suspend = template.get("suspend")
    if not isinstance(suspend, dict):
        raise fail(f"{where}.suspend must be an object")
    duration = suspend.get("duration")
    if duration in (None, "") or (isinstance(duration, str) and "{{" in duration):
        return
    try:
        parse_go_duration(str(duration))
    except ValueError as error:
        raise fail(f"{where}.suspend.duration: {error}") from None


__all__ = ["REFUSED_STEP_FIELDS", "StepScope", "validate_steps", "validate_suspend"]
