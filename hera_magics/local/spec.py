"""Reading a Workflow spec: template kinds, DAG task dependencies, ancestry (pure functions).

Shared by create-time validation and by the engine, so both read a spec the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .expressions import ContinueOn, DependsExpression, parse_depends, referenced_tasks

# Template kinds Argo knows, in the order its "template type unspecified" message lists them.
TEMPLATE_KINDS = ("container", "containerSet", "dag", "data", "http", "plugin", "resource", "script", "steps", "suspend")
POD_KINDS = ("container", "script")


def template_kinds(template: Mapping[str, Any]) -> list[str]:
    """The kinds a template declares (a valid template declares exactly one)."""
    return [kind for kind in TEMPLATE_KINDS if template.get(kind) is not None]


def template_kind(template: Mapping[str, Any]) -> str:
    kinds = template_kinds(template)
    return kinds[0] if kinds else ""


def is_pod_template(template: Mapping[str, Any]) -> bool:
    """Whether the template runs a pod (a container, a script or a container set)."""
    return template_kind(template) in (*POD_KINDS, "containerSet")


def templates_by_name(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {template.get("name", ""): template for template in spec.get("templates") or [] if isinstance(template, dict)}


STORED_SPEC = "storedWorkflowTemplateSpec"
"""``status.storedWorkflowTemplateSpec``: a ``workflowTemplateRef`` workflow's spec, merged."""


def execution_spec(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """The spec a workflow runs: its own, or for a ``workflowTemplateRef`` the merged spec Argo
    keeps in ``status.storedWorkflowTemplateSpec`` (``setExecWorkflow`` in operator.go)."""
    stored = (workflow.get("status") or {}).get(STORED_SPEC)
    return stored if isinstance(stored, dict) else workflow["spec"]


# What the API changes in a running workflow's own spec (stop, terminate, suspend, resume, retry).
LIVE_SPEC_FIELDS = ("shutdown", "suspend")


def sync_stored_spec(workflow: Mapping[str, Any]) -> None:
    """Carry ``spec.shutdown`` and ``spec.suspend`` into the stored spec of a
    ``workflowTemplateRef`` workflow, in place (Argo's ``needsStoredWfSpecUpdate`` re-merges the
    spec when they differ), so a stop or suspend reaches the spec the workflow runs."""
    stored = (workflow.get("status") or {}).get(STORED_SPEC)
    if not isinstance(stored, dict):
        return
    own = workflow.get("spec") or {}
    for key in LIVE_SPEC_FIELDS:
        if own.get(key) is None:
            stored.pop(key, None)
        else:
            stored[key] = own[key]


def task_depends_text(task: Mapping[str, Any]) -> str:
    """The task's ``depends``, or its ``dependencies`` joined with ``&&``; "" for a root task."""
    if task.get("depends"):
        return str(task["depends"])
    dependencies = task.get("dependencies") or []
    return " && ".join(str(name) for name in dependencies)


def task_depends(task: Mapping[str, Any]) -> DependsExpression | None:
    """The parsed dependency expression of a task, or None for a root task."""
    text = task_depends_text(task)
    return parse_depends(text) if text.strip() else None


def task_dependencies(task: Mapping[str, Any]) -> list[str]:
    """The names of the tasks this task waits for."""
    node = task_depends(task)
    return referenced_tasks(node) if node is not None else []


def continue_on(task: Mapping[str, Any]) -> ContinueOn:
    options = task.get("continueOn") or {}
    return ContinueOn(failed=bool(options.get("failed")), error=bool(options.get("error")))


def dag_tasks(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [task for task in (template.get("dag") or {}).get("tasks") or [] if isinstance(task, dict)]


def dag_targets(template: Mapping[str, Any]) -> list[str]:
    """``dag.target`` (space-separated), else the leaves (tasks no other task depends on), sorted
    by name as Argo's ``findLeafTaskNames`` sorts them."""
    dag = template.get("dag") or {}
    if dag.get("target"):
        return str(dag["target"]).split()
    tasks = dag_tasks(template)
    depended_on = {name for task in tasks for name in task_dependencies(task)}
    return sorted(task["name"] for task in tasks if task.get("name") not in depended_on)


def dag_fail_fast(template: Mapping[str, Any]) -> bool:
    """``dag.failFast`` defaults to true."""
    value = (template.get("dag") or {}).get("failFast")
    return True if value is None else bool(value)


def template_fail_fast(template: Mapping[str, Any]) -> bool:
    """The template-level ``failFast`` (Argo's ``Template.IsFailFast``): true only when set true."""
    return template.get("failFast") is True


def ancestors(task_name: str, dependencies: Mapping[str, Iterable[str]]) -> set[str]:
    """Every task ``task_name`` transitively depends on."""
    seen: set[str] = set()
    stack = list(dependencies.get(task_name, ()))
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(dependencies.get(name, ()))
    return seen


def exit_hook(step: Mapping[str, Any], workflow_arguments: Mapping[str, Any]) -> dict[str, Any] | None:
    """A step's or DAG task's exit hook (``GetExitHook``): ``onExit`` runs its template with the workflow's
    arguments, ``hooks.exit`` its template with its own arguments; None without one."""
    if step.get("onExit"):
        return {"template": step["onExit"], "arguments": dict(workflow_arguments or {})}
    hook = (step.get("hooks") or {}).get("exit")
    return dict(hook) if isinstance(hook, dict) and hook.get("template") else None


LOOP_FIELDS = ("withItems", "withParam", "withSequence")


def task_loops(task: Mapping[str, Any]) -> bool:
    """Argo's ``DAGTask.ShouldExpand``: the task has ``withItems``, ``withParam`` or ``withSequence``."""
    return bool(task.get("withItems")) or bool(task.get("withParam")) or task.get("withSequence") is not None


_RESULT_REFERENCE = re.compile(r"tasks\.([a-zA-Z0-9][-a-zA-Z0-9]*)\.outputs\.result"
                               r"|tasks\[['\"]([a-zA-Z0-9][-a-zA-Z0-9]*)['\"]\]\.outputs\.result")


def result_referenced_tasks(dag_template: Mapping[str, Any]) -> frozenset[str]:
    """The tasks whose ``outputs.result`` the DAG template mentions anywhere.

    Argo keeps a pod's stdout as ``outputs.result`` only for those (``includeScriptOutput`` and
    ``hasOutputResultRef`` in ``workflow/controller/operator.go``); read once per template.
    """
    text = json.dumps(dag_template)
    return frozenset(first or second for first, second in _RESULT_REFERENCE.findall(text))


@dataclass(frozen=True)
class DagPlan:
    """A DAG template read once: its tasks, their dependencies both ways, and its options.

    The engine keeps one per DAG template (not per DAG node), so reading a spec costs nothing
    per event.
    """

    template: Mapping[str, Any]
    tasks: dict[str, dict[str, Any]]
    dependencies: dict[str, tuple[str, ...]]
    dependents: dict[str, tuple[str, ...]]
    expressions: dict[str, DependsExpression | None]
    continue_on: dict[str, ContinueOn]
    fail_fast: bool
    template_fail_fast: bool
    parallelism: int | None
    leaves: tuple[str, ...]
    result_tasks: frozenset[str]
    _relevant: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    def relevant(self, targets: Iterable[str]) -> frozenset[str]:
        """The targets and every task they depend on: the tasks that run (Argo visits the
        DAG from its targets, ``executeDAGTask``)."""
        key = " ".join(targets)
        if key not in self._relevant:
            wanted: set[str] = set()
            stack = [target for target in targets if target in self.tasks]
            while stack:
                name = stack.pop()
                if name not in wanted:
                    wanted.add(name)
                    stack.extend(self.dependencies[name])
            self._relevant[key] = frozenset(wanted)
        return self._relevant[key]


def dag_plan(template: Mapping[str, Any]) -> DagPlan:
    """Read a DAG template into a ``DagPlan``."""
    tasks = {task["name"]: task for task in dag_tasks(template)}
    expressions = {name: task_depends(task) for name, task in tasks.items()}
    dependencies = {name: tuple(referenced_tasks(expression)) if expression is not None else ()
                    for name, expression in expressions.items()}
    dependents: dict[str, list[str]] = {name: [] for name in tasks}
    for name, names in dependencies.items():
        for dependency in names:
            dependents[dependency].append(name)
    parallelism = template.get("parallelism")
    return DagPlan(
        template=template,
        tasks=tasks,
        dependencies=dependencies,
        dependents={name: tuple(names) for name, names in dependents.items()},
        expressions=expressions,
        continue_on={name: continue_on(task) for name, task in tasks.items()},
        fail_fast=dag_fail_fast(template),
        template_fail_fast=template_fail_fast(template),
        parallelism=int(parallelism) if parallelism is not None and int(parallelism) > 0 else None,
        leaves=tuple(sorted(name for name, names in dependents.items() if not names)),
        result_tasks=result_referenced_tasks(template),
    )


__all__ = [
    "LOOP_FIELDS",
    "POD_KINDS",
    "DagPlan",
    "TEMPLATE_KINDS",
    "ancestors",
    "continue_on",
    "dag_fail_fast",
    "dag_plan",
    "dag_targets",
    "dag_tasks",
    "exit_hook",
    "is_pod_template",
    "result_referenced_tasks",
    "sync_stored_spec",
    "task_dependencies",
    "task_depends",
    "task_depends_text",
    "task_loops",
    "template_kind",
    "template_kinds",
    "template_fail_fast",
    "templates_by_name",
]
