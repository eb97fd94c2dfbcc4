"""Reading a Workflow spec: template kinds, DAG task dependencies, ancestry (pure functions).

Shared by create-time validation and by the engine, so both read a spec the same way.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from .expressions import ContinueOn, DependsNode, parse_depends, referenced_tasks

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
    return template_kind(template) in POD_KINDS


def templates_by_name(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {template.get("name", ""): template for template in spec.get("templates") or [] if isinstance(template, dict)}


def task_depends_text(task: Mapping[str, Any]) -> str:
    """The task's ``depends``, or its ``dependencies`` joined with ``&&``; "" for a root task."""
    if task.get("depends"):
        return str(task["depends"])
    dependencies = task.get("dependencies") or []
    return " && ".join(str(name) for name in dependencies)


def task_depends(task: Mapping[str, Any]) -> DependsNode | None:
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
    """``dag.target`` (space-separated), else the leaves: tasks no other task depends on."""
    dag = template.get("dag") or {}
    if dag.get("target"):
        return str(dag["target"]).split()
    tasks = dag_tasks(template)
    depended_on = {name for task in tasks for name in task_dependencies(task)}
    return [task["name"] for task in tasks if task.get("name") not in depended_on]


def dag_fail_fast(template: Mapping[str, Any]) -> bool:
    """``dag.failFast`` defaults to true."""
    value = (template.get("dag") or {}).get("failFast")
    return True if value is None else bool(value)


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


def result_referenced(dag_template: Mapping[str, Any], task_name: str) -> bool:
    """Argo captures a task's stdout as ``outputs.result`` only when its DAG mentions it."""
    text = json.dumps(dag_template)
    return f"tasks.{task_name}.outputs.result" in text


__all__ = [
    "POD_KINDS",
    "TEMPLATE_KINDS",
    "ancestors",
    "continue_on",
    "dag_fail_fast",
    "dag_targets",
    "dag_tasks",
    "is_pod_template",
    "result_referenced",
    "task_dependencies",
    "task_depends",
    "task_depends_text",
    "template_kind",
    "template_kinds",
    "templates_by_name",
]
