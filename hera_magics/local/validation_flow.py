"""Create-time checks of a workflow's flow: DAG tasks, their dependencies, loops and references.

Each task may use the DAG's inputs and the outputs of the tasks it (transitively) depends on,
as Argo's validator allows (``validateDAG`` and ``resolveAllVariables`` in
``workflow/validate/validate.go``, argoproj/argo-workflows).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Collection, Mapping

from ..graph import find_cycle
from . import spec as specs
from .expressions import ExpressionError, invalid_results, operands
from .parameters import TASK_NODE_FIELDS, TASK_REFERENCE
from .template_refs import task_template_reference
from .templates import with_defaults
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

REFUSED_TASK_FIELDS = {
}


def _task_output_allowed(tag: str, task_templates: Mapping[str, Mapping[str, Any]],
                         reachable: Callable[[str], bool], looped: Collection[str] = ()) -> bool:
    """``tasks.T.…`` references a DAG task may use: T must be ``reachable`` (an ancestor).

    A looped task (``withItems``/``withParam``) also offers ``outputs.parameters``, the list of
    its items' output parameters (Argo's ``addOutputsToScope`` with ``aggregate``)."""
    match = TASK_REFERENCE.fullmatch(tag)
    if not match:
        return False
    task_name, rest = match.groups()
    if task_name not in task_templates or not reachable(task_name):
        return False
    template = task_templates.get(task_name) or {}
    pod = specs.is_pod_template(template)
    if rest in TASK_NODE_FIELDS:
        return True
    if rest in ("outputs.result", "outputs.exitCode"):
        return pod
    if rest == "outputs.parameters":
        return task_name in looped
    if rest.startswith("outputs.parameters."):
        declared = {parameter.get("name") for parameter in (template.get("outputs") or {}).get("parameters") or []}
        return rest[len("outputs.parameters."):] in declared
    return False


def _ancestor_test(task_name: str, dependencies: Mapping[str, list[str]]) -> Callable[[str], bool]:
    """Whether a task is an ancestor of ``task_name``; the ancestors are found on first use only."""
    found: list[set[str]] = []

    def test(other: str) -> bool:
        if not found:
            found.append(specs.ancestors(task_name, dependencies))
        return other in found[0]
    return test


def item_names(task: Mapping[str, Any]) -> Callable[[str], bool] | None:
    """Which ``{{item...}}`` a looped task may use (Argo's ``addItemsToScope``); None if it does not loop."""
    items = task.get("withItems")
    if items:
        names: set[str] = set()
        for item in items:
            if isinstance(item, dict):
                names.update(f"item.{key}" for key in item)
            elif isinstance(item, list):
                names.update(f"item.[{index}]" for index in range(len(item)))
            else:
                names.add("item")
        return names.__contains__
    if task.get("withParam") or task.get("withSequence") is not None:
        return lambda tag: tag == "item" or tag.startswith("item.")
    return None


def validate_loop(task: Mapping[str, Any], field: str, allowed: Callable[[str], bool]) -> None:
    """``withItems``, ``withParam`` or ``withSequence``: one of them, well formed."""
    given = [key for key in specs.LOOP_FIELDS if task.get(key) not in (None, "", [])]
    if len(given) > 1:
        raise fail(f"{field} only one of withItems, withParam, withSequence can be specified")
    if task.get("withItems") is not None and not isinstance(task["withItems"], list):
        raise fail(f"{field}.withItems must be a list")
    if task.get("withParam") is not None:
        if not isinstance(task["withParam"], str):
            raise fail(f"{field}.withParam must be a string (a JSON list, or a reference to one)")
        check_references(task["withParam"], f"{field}.withParam", allowed)
    sequence = task.get("withSequence")
    if sequence is not None:
        if not isinstance(sequence, dict):
            raise fail(f"{field}.withSequence must be an object")
        if sequence.get("count") is not None and sequence.get("end") is not None:
            raise fail(f"{field} only one of count or end can be defined in withSequence")
        for key in ("count", "start", "end"):
            value = sequence.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise fail(f"{field}.withSequence.{key} must be an integer")
            check_references(str(value), f"{field}.withSequence.{key}", allowed)
            if isinstance(value, str) and "{{" not in value and not re.fullmatch(r"\s*[+-]?\d+\s*", value):
                raise fail(f"{field}.withSequence.{key} must be an integer, got {value!r}")
        if sequence.get("format") is not None and not isinstance(sequence["format"], str):
            raise fail(f"{field}.withSequence.format must be a string")


def validate_dag(template: dict[str, Any], where: str, context: ValidationContext, input_names: set[str]) -> None:
    dag = template.get("dag")
    if not isinstance(dag, dict):
        raise fail(f"{where}.dag must be an object")
    tasks = dag.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise fail(f"{where} must have at least one task")
    if dag.get("failFast") is not None and not isinstance(dag["failFast"], bool):
        raise fail(f"{where}.dag.failFast must be true or false")

    names = _task_names(tasks, where)
    task_templates: dict[str, dict[str, Any]] = {}
    dependencies: dict[str, list[str]] = {}
    for task in tasks:
        field = f"{where}.tasks.{task['name']}"
        task_templates[task["name"]] = _task_template(task, field, context)
        dependencies[task["name"]] = _task_dependencies(task, field, names)

    target = dag.get("target")
    if target:
        check_references(str(target), f"{where}.dag.target",
                          lambda tag: context.is_global(tag) or tag.startswith("inputs.parameters."))
        for target_name in str(target).split():
            if "{{" in target_name:
                continue  # resolved when the DAG runs (Argo's validator skips it too)
            if target_name not in names:
                raise fail(f"{where}.dag.target: task '{target_name}' is not defined")

    cycle = find_cycle(dependencies)
    if cycle:
        raise fail(f"{where}.tasks dependency cycle detected: {' -> '.join(cycle)}")
    _validate_dag_references(template, tasks, where, context, input_names, task_templates, dependencies)


def _task_names(tasks: list[Any], where: str) -> list[str]:
    """The tasks' names, each checked and unique."""
    names: list[str] = []
    for index, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise fail(f"{where}.tasks[{index}] must be an object")
        task_name = check_name(task.get("name"), f"{where}.tasks[{index}]")
        if task_name in names:
            raise fail(f"{where}.tasks.{task_name}: task name '{task_name}' is not unique")
        names.append(task_name)
    return names


def _task_template(task: Mapping[str, Any], field: str, context: ValidationContext) -> dict[str, Any]:
    """The template a task runs (after refusing the task fields the engine cannot honour)."""
    for key, message in REFUSED_TASK_FIELDS.items():
        if is_set(task.get(key)):
            raise fail(f"{field}.{key}: {message}")
    return referenced_template(task, field, context, "{field}.template '{name}' is not defined")


def referenced_template(holder: Mapping[str, Any], field: str, context: ValidationContext,
                        undefined: str) -> dict[str, Any]:
    """The template a task or step runs: its ``inline`` one, its ``templateRef``, or the named one
    (``undefined`` is Argo's message when the name is not a template: it words it differently for
    DAG tasks and steps)."""
    inline = inline_template(holder, field, context)
    if inline is not None:
        return inline
    if holder.get("templateRef") is not None:
        return task_template_reference(holder, field, context.template_getter)
    name = holder.get("template")
    if not name:
        raise fail(f"{field}.template is required")
    if name not in context.templates:
        raise fail(undefined.format(field=field, name=name))
    return context.templates[name]


def inline_template(holder: Mapping[str, Any], field: str, context: ValidationContext) -> dict[str, Any] | None:
    """A task's or step's ``inline`` template, checked as a template of its own (with the
    workflow's ``templateDefaults``, as the controller runs it); None without one."""
    inline = holder.get("inline")
    if inline is None:
        return None
    if not isinstance(inline, dict):
        raise fail(f"{field}.inline must be a template")
    if holder.get("template"):
        raise fail(f"{field}: only one of template and inline may be specified")
    from .validation_templates import validate_template  # a template may hold DAGs: the modules call each other

    template = with_defaults(inline, context.spec.get("templateDefaults"))
    validate_template(template, context, where=f"{field}.inline")
    return template


def exit_hook_of(step: Mapping[str, Any], field: str, context: ValidationContext) -> dict[str, Any] | None:
    """A step's or DAG task's exit hook (``onExit``, or ``hooks.exit``); other hooks and hook expressions
    need Argo's expression language and are refused."""
    hooks = step.get("hooks") or {}
    if not isinstance(hooks, dict):
        raise fail(f"{field}.hooks must be an object")
    for hook_name, hook in hooks.items():
        if hook_name != "exit":
            raise fail(f"{field}.hooks.{hook_name}: lifecycle hooks other than exit need Argo's expression "
                       "language, which the local engine does not have")
        if not isinstance(hook, dict) or not hook.get("template"):
            raise fail(f"{field}.hooks.exit.template is required")
        for key in ("expression", "templateRef"):
            if is_set(hook.get(key)):
                raise fail(f"{field}.hooks.exit.{key} is not supported by the local engine")
    on_exit = step.get("onExit")
    if on_exit:
        if on_exit not in context.templates:
            raise fail(f"{field}.onExit: template name '{on_exit}' undefined")
        return {"template": on_exit, "arguments": context.spec.get("arguments") or {}}
    hook = hooks.get("exit")
    if hook is None:
        return None
    if hook["template"] not in context.templates:
        raise fail(f"{field}.hooks.exit.template: template name '{hook['template']}' undefined")
    return dict(hook)


def _task_dependencies(task: Mapping[str, Any], field: str, names: list[str]) -> list[str]:
    """The names in the task's ``depends``/``dependencies``, in first-mention order, each checked."""
    if task.get("depends") and task.get("dependencies"):
        raise fail(f"{field}: cannot use both 'depends' and 'dependencies' in the same task")
    for dependency in task.get("dependencies") or []:
        if dependency not in names:
            raise fail(f"{field} dependency '{dependency}' not defined")
    try:
        expression = specs.task_depends(task)
    except ExpressionError as error:
        raise fail(f"{field}.depends: invalid expression '{specs.task_depends_text(task)}': {error}") from None
    dependencies: list[str] = []
    if expression is None:
        return dependencies
    for operand in invalid_results(expression):
        raise fail(f"{field}.depends: task result '{operand.result}' for task '{operand.task}' is invalid")
    for operand in operands(expression):
        if operand.task not in names:
            raise fail(f"{field} dependency '{operand.task}' not defined")
        if operand.task not in dependencies:
            dependencies.append(operand.task)
    return dependencies


def _validate_dag_references(template: Mapping[str, Any], tasks: list[dict[str, Any]], where: str,
                             context: ValidationContext, input_names: set[str],
                             task_templates: Mapping[str, Mapping[str, Any]],
                             dependencies: Mapping[str, list[str]]) -> None:
    """Each task may use the DAG's inputs and the tasks it (transitively) depends on."""

    def inputs_allowed(tag: str) -> bool:
        if context.is_global(tag) or tag == "inputs.parameters":
            return True
        return tag.startswith("inputs.parameters.") and tag[len("inputs.parameters."):] in input_names

    looped = {task["name"] for task in tasks if task.get("withItems") or task.get("withParam")}
    for task in tasks:
        task_name = task["name"]
        field = f"{where}.tasks.{task_name}"
        reachable = _ancestor_test(task_name, dependencies)

        def allowed(tag: str, reachable: Callable[[str], bool] = reachable) -> bool:
            return inputs_allowed(tag) or _task_output_allowed(tag, task_templates, reachable, looped)

        validate_loop(task, field, allowed)
        items = item_names(task)

        def allowed_here(tag: str, items: Callable[[str], bool] | None = items,
                         allowed: Callable[[str], bool] = allowed) -> bool:
            return allowed(tag) or (items is not None and items(tag))

        validate_arguments(task.get("arguments") or {}, f"{field}.arguments", globals_only=False,
                            context=context, allowed=allowed_here)
        check_references(task.get("when"), f"{field}.when", allowed_here)
        check_inputs_supplied(task_templates[task_name], task.get("arguments") or {}, field)
        check_task_artifacts(task, field, template, task_templates, reachable)
        hook = exit_hook_of(task, field, context)
        if hook is not None:
            # The hook runs once the task completed: the task's own outputs are in its scope too.
            def hook_allowed(tag: str, task_name: str = task_name, reachable: Callable[[str], bool] = reachable) -> bool:
                return inputs_allowed(tag) or _task_output_allowed(
                    tag, task_templates, lambda name: name == task_name or reachable(name), looped)

            validate_arguments(hook.get("arguments") or {}, f"{field}.hooks.exit.arguments", globals_only=False,
                               context=context, allowed=hook_allowed)
            check_inputs_supplied(context.templates[hook["template"]], hook.get("arguments") or {},
                                  f"{field}.hooks.exit")

    for parameter in (template.get("outputs") or {}).get("parameters") or []:
        reference = (parameter.get("valueFrom") or {}).get("parameter")
        check_references(
            reference, f"{where}.outputs.parameters.{parameter['name']}.valueFrom.parameter",
            lambda tag: inputs_allowed(tag) or _task_output_allowed(tag, task_templates, lambda name: True, looped),
        )
    check_dag_output_artifacts(template, where, task_templates)


__all__ = ["REFUSED_TASK_FIELDS", "exit_hook_of", "inline_template", "item_names", "validate_dag", "validate_loop"]
