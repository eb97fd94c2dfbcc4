"""``%argo_dag``: evaluate a DAG expression over registered tasks → a validated ``DagSpec``.

The expression (or cell) is ordinary Python evaluated in a namespace where every registered task
is a ``TaskHandle`` (``hera_magics.handles``). Handles build nodes (``train(lr=0.1)``), edges
(``a >> [b, c]``), output references (``b(x=a)``, ``b(x=a.result)``), maps (``.map(...)``),
conditions (``.when(...)``) and names (``.named("x")``), recording everything in a
``DagBuilder``. Nothing is built or submitted here (``hera_magics.compile`` makes the Hera
``Workflow``); ``validate`` checks the whole graph.

The same namespace can also understand Hera's own spelling — ``arguments={...}``,
``arguments=[Parameter(...)]``, ``t1: Task = hello_world()`` — so the body of a seed-style
``with DAG(...)`` block pastes in verbatim: the caller passes Hera's names in (``names=``), so
this module needs no Hera itself.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from .annotations import describe, fits
from .capture import TaskSpec, argo_name, check_argo_name, closest_names
from .conditions import Condition
from .errors import DagError, TaskDefinitionError
from .graph import find_cycle, topological_order
from .handles import (
    WORKFLOW_NAME,
    ArgoReference,
    NodeHandle,
    TaskHandle,
    materialise,
)
from .mapping import Loop
from .options import VolumeSpec
from .pod.contract import COLLECTED_PREFIX, FAILURES_PREFIX, FILE_MARKER, RETURN_PARAMETER
from .pod.datafiles import return_value_path
from .values import encode_value

__all__ = ["ArgoReference", "DagBuilder", "DagNode", "DagSpec", "encode_value", "evaluate", "validate"]

DAG_TEMPLATE_NAME = "hera-magics-dag"
EXIT_TEMPLATE_NAME = "hera-magics-exit"
# ``{{tasks.NAME.outputs.result}}`` / ``{{tasks.NAME.outputs.parameters[.P]}}`` inside argument values.
OUTPUT_REFERENCE = re.compile(
    r"\{\{\s*tasks\.([A-Za-z0-9-]+)\.outputs\.(result|parameters(?:\.([A-Za-z0-9_-]+))?)\s*\}\}")
# The exit handler's inputs that Argo fills: the workflow's phase and its failed nodes.
EXIT_STATUS_INPUT = "status"
EXIT_FAILURES_INPUT = "failures"
EXIT_ARGUMENTS = {EXIT_STATUS_INPUT: "{{workflow.status}}", EXIT_FAILURES_INPUT: FAILURES_PREFIX + "{{workflow.failures}}"}
# The name a DAG expression may use to mean a task when a notebook variable has the task's name.
TASKS_NAMESPACE = "tasks"


@dataclass
class DagNode:
    """A node while the DAG is built, then as checked: its task, arguments, edges, map and condition.

    ``needs_name``: a second call of a task without a name (an error unless ``.named()`` follows);
    ``used``: its output or an edge was taken, so it can no longer be renamed or mapped.
    """

    name: str  # the Argo task name (unique in the DAG)
    task: TaskSpec
    arguments: dict[str, str] = field(default_factory=dict)
    explicit_depends: list[str] = field(default_factory=list)
    loop: Loop | None = None
    when: Condition | None = None
    needs_name: bool = False
    used: bool = False

    def implied_depends(self) -> list[str]:
        """The nodes whose outputs the arguments, the map's list and the condition use, in order."""
        found: list[str] = []
        for value in self.arguments.values():
            sources = [match.group(1) for match in OUTPUT_REFERENCE.finditer(value)]
            sources.append(returned_file_source(value))
            found.extend(source for source in sources if source is not None and source not in found)
        if self.loop is not None and self.loop.source_node is not None and self.loop.source_node not in found:
            found.append(self.loop.source_node)
        if self.when is not None:
            found.extend(source for source in self.when.sources if source not in found)
        return found

    def depends(self) -> list[str]:
        ordered = list(self.explicit_depends)
        ordered.extend(name for name in self.implied_depends() if name not in ordered)
        return ordered


def returned_file_source(value: str) -> str | None:
    """The node whose return value on the data volume ``value`` refers to, or None."""
    try:
        decoded = json.loads(value)
    except ValueError:
        return None
    if not isinstance(decoded, dict) or list(decoded) != [FILE_MARKER] or not isinstance(decoded[FILE_MARKER], str):
        return None
    parts = decoded[FILE_MARKER].split("/")
    return parts[1] if len(parts) == 3 and decoded[FILE_MARKER] == return_value_path(WORKFLOW_NAME, parts[1]) else None


class DagBuilder:
    """Collects nodes and edges while the expression runs.

    ``parameter_type`` is Hera's ``Parameter`` when the caller provides Hera's names, so that
    ``arguments=[Parameter(...)]`` works.
    """

    def __init__(self, tasks: Mapping[str, TaskSpec], parameter_type: type | None = None) -> None:
        self.tasks = dict(tasks)
        self.parameter_type = parameter_type
        self.nodes: dict[str, DagNode] = {}
        # notebook values that travel as files on the data volume: path under .hera-magics -> value
        self.files: dict[str, Any] = {}
        self.submission = uuid.uuid4().hex[:12]
        # the node a bare task name stands for (made by a bare mention or a call without a name)
        self.default_node: dict[str, str] = {}

    def add_node(self, task: TaskSpec, node_name: str | None, *, bare: bool) -> str:
        """A node of ``task`` (its name): named, the task's default node, or one that must be ``.named()``."""
        needs_name = False
        if node_name is None:
            existing = self.default_node.get(task.name)
            if existing is not None and bare:
                return existing
            if existing is None:
                node_name = task.argo_name
                self.default_node[task.name] = node_name
            else:
                # A second call without a name: fine if .named(...) follows, else validate() says so.
                number = 2
                while f"{task.argo_name}-{number}" in self.nodes:
                    number += 1
                node_name, needs_name = f"{task.argo_name}-{number}", True
        else:
            _check_node_name(node_name)
        if node_name in self.nodes:
            raise DagError(
                f"two nodes are named {node_name!r}",
                hint="give each node of the same task a different name: task(...).named(\"...\")",
            )
        self.nodes[node_name] = DagNode(name=node_name, task=task, needs_name=needs_name)
        return node_name

    def rename(self, old: str, new: str) -> None:
        """``.named(new)``: only where the node is made, before its output or edges are used."""
        node = self.nodes[old]
        if not isinstance(new, str):
            raise DagError(f".named(...) takes text, not {type(new).__name__}")
        if node.used:
            raise DagError(f"name node {old!r} where you make it, before it is used",
                           hint=f"write {node.task.name}(...).named({new!r}) >> ...")
        _check_node_name(new)
        if new != old and new in self.nodes:
            raise DagError(f"two nodes are named {new!r}", hint="give each node its own name")
        del self.nodes[old]
        node.name, node.needs_name = new, False
        self.nodes[new] = node
        if self.default_node.get(node.task.name) == old:
            del self.default_node[node.task.name]  # a named node is not what the bare task name means

    def mark_used(self, name: str) -> None:
        self.nodes[name].used = True

    def add_edge(self, upstream: str, downstream: str) -> None:
        node = self.nodes[downstream]
        self.mark_used(upstream)
        self.mark_used(downstream)
        if upstream not in node.explicit_depends:
            node.explicit_depends.append(upstream)


def _check_node_name(name: str) -> None:
    if not isinstance(name, str):
        raise DagError(f"a node name is text, not {type(name).__name__}")
    try:
        check_argo_name(name, what="node name")
    except TaskDefinitionError as error:
        raise DagError(error.message, hint=error.hint) from None


@dataclass
class DagSpec:
    """A validated DAG: nodes in DAG order, each with its dependencies, the notebook values that
    travel as files on the data volume (written at submission), and the exit handler's node."""

    nodes: list[DagNode]
    files: dict[str, Any] = field(default_factory=dict)
    exit_node: DagNode | None = None

    @property
    def tasks(self) -> list[TaskSpec]:
        seen: dict[str, TaskSpec] = {}
        for node in self.nodes + ([self.exit_node] if self.exit_node else []):
            seen.setdefault(node.task.name, node.task)
        return list(seen.values())

    @property
    def keeps_going(self) -> bool:
        """Whether a map in the main DAG lets its failed items pass (``keep_going=True``, not in a template of its own)."""
        return any(node.loop is not None and node.loop.keep_going and not node.loop.wrapped for node in self.nodes)

    @property
    def collects(self) -> bool:
        """Whether some task takes a map's outputs or the workflow's failures (the pod decodes them)."""
        nodes = self.nodes + ([self.exit_node] if self.exit_node else [])
        return any(value.startswith((COLLECTED_PREFIX, FAILURES_PREFIX))
                   for node in nodes for value in node.arguments.values())

    def depends_text(self, node: DagNode) -> str | None:
        """Argo's ``depends`` of ``node``: its upstream nodes, all needed; a ``keep_going`` map counts
        as done also when items failed."""
        loops = {other.name: other.loop for other in self.nodes}
        parts = []
        for upstream in node.depends():
            loop = loops.get(upstream)
            if loop is not None and loop.keep_going and not loop.wrapped:
                parts.append(f"({upstream} || {upstream}.Failed || {upstream}.Errored)")
            else:
                parts.append(upstream)
        return " && ".join(parts) or None


def evaluate(code: str, tasks: Mapping[str, TaskSpec], notebook: Mapping[str, Any] | None = None, *,
             names: Mapping[str, Any] | None = None, on_exit: str | None = None) -> DagSpec:
    """Run a DAG expression or cell and return the validated ``DagSpec``.

    ``notebook`` holds the notebook's variables; ``names`` more names the expression may use,
    above the notebook's (``compile.hera_names()``: Hera's ``Parameter`` and ``Task``).
    ``on_exit`` names the exit handler: a task (``notify``) or a call (``notify(channel="ml")``).
    """
    if not code.strip():
        raise DagError("no DAG given", hint="for example: %argo_dag prepare >> train(lr=0.1) >> report")
    if not tasks:
        raise DagError("no tasks are registered yet", hint="define tasks with %%argo_task cells first")
    builder = _run(code, tasks, notebook, names, filename="<argo_dag>")
    spec = validate(builder)
    if on_exit is not None:
        spec.exit_node = _exit_node(on_exit, tasks, notebook, names)
    return spec


def _run(code: str, tasks: Mapping[str, TaskSpec], notebook: Mapping[str, Any] | None,
         names: Mapping[str, Any] | None, *, filename: str) -> DagBuilder:
    """Execute the expression (or cell) with the tasks as handles; the builder holds what it made."""
    names = dict(names or {})
    builder = DagBuilder(tasks, names.get("Parameter"))
    try:
        tree = ast.parse(code, filename, "exec")
    except SyntaxError as error:
        raise DagError(f"syntax error on line {error.lineno}: {error.msg}", hint=(error.text or "").strip() or None) from None
    notebook = dict(notebook or {})
    _check_no_clash(tree, tasks, notebook)
    namespace: dict[str, Any] = {}
    if TASKS_NAMESPACE not in tasks and TASKS_NAMESPACE not in notebook:
        namespace[TASKS_NAMESPACE] = _Tasks(builder, tasks)
    namespace.update(notebook)
    namespace.update(names)
    namespace.update({name: TaskHandle(builder, spec) for name, spec in tasks.items()})
    namespace[MATERIALISE] = materialise
    compiled = compile(ast.fix_missing_locations(_MaterialiseStatements().visit(tree)), filename, "exec")
    try:
        exec(compiled, namespace)
    except DagError:
        raise
    except NameError as error:
        raise _unknown_name(getattr(error, "name", None) or str(error), tasks) from None
    except Exception as error:  # the user's expression raised: report it where it happened
        line = _error_line(error, filename)
        raise DagError(f"{'line ' + str(line) + ': ' if line else ''}{type(error).__name__}: {error}") from None
    return builder


class _Tasks:
    """``tasks.data``: the task ``data``, whatever notebook variable is also called ``data``."""

    def __init__(self, builder: DagBuilder, tasks: Mapping[str, TaskSpec]) -> None:
        self._builder, self._tasks = builder, tasks

    def __getattr__(self, name: str) -> TaskHandle:
        if name.startswith("_") or name not in self._tasks:
            raise _unknown_name(name, self._tasks)
        return TaskHandle(self._builder, self._tasks[name])


def _check_no_clash(tree: ast.Module, tasks: Mapping[str, TaskSpec], notebook: Mapping[str, Any]) -> None:
    """A name the expression reads that is a task *and* a notebook value is ambiguous: refuse it.

    Functions, classes and modules do not count (a task's function is often also defined in the
    notebook to try it out, and such a value could not be passed anyway).
    """
    assigned = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)) or node.id in assigned:
            continue
        name = node.id
        if name not in tasks or name not in notebook:
            continue
        value = notebook[name]
        if callable(value) or inspect.ismodule(value) or isinstance(value, (TaskHandle, NodeHandle)):
            continue
        shown = repr(value)
        shown = shown if len(shown) <= 30 else shown[:29] + "…"
        explicit = (f"write tasks.{name} for the task's output" if TASKS_NAMESPACE not in tasks
                    and TASKS_NAMESPACE not in notebook else f"rename the task (%%argo_task {name}_task)")
        raise DagError(
            f"line {node.lineno}: `{name}` is both a task and a notebook variable ({type(value).__name__} {shown}); "
            "it is not clear which one you mean",
            hint=f"{explicit}, or rename the notebook variable (e.g. {name}_value = {name}; del {name}) to pass its value",
        )


def _unknown_name(missing: str, tasks: Mapping[str, TaskSpec]) -> DagError:
    suggestions = closest_names(missing, tasks)
    dashed = [name for name in tasks if argo_name(name).startswith(missing + "-")]
    if dashed:
        # hello-world reads as hello minus world
        return DagError(f"unknown name `{missing}`: in %argo_dag a '-' is a minus sign",
                        hint=f"write task names as in the notebook: {dashed[0]}")
    if suggestions:
        return DagError(f"unknown task `{missing}`; did you mean {' or '.join(f'`{s}`' for s in suggestions)}?",
                        hint=f"registered tasks: {', '.join(sorted(tasks))} (see %argo_tasks)")
    return DagError(
        f"`{missing}` is neither a registered task nor a notebook variable",
        hint=f"registered tasks: {', '.join(sorted(tasks))} (see %argo_tasks); define variables before %argo_dag",
    )


MATERIALISE = "__hera_magics_materialise__"


class _MaterialiseStatements(ast.NodeTransformer):
    """A task mentioned on its own (``a``, ``[a, b]``) is a node: wrap each expression statement."""

    def visit_Expr(self, node: ast.Expr) -> ast.Expr:
        call = ast.Call(func=ast.Name(id=MATERIALISE, ctx=ast.Load()), args=[node.value], keywords=[])
        return ast.copy_location(ast.Expr(value=ast.copy_location(call, node.value)), node)

    # statements inside functions or loops are the user's own business
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return node


def _error_line(error: BaseException, filename: str) -> int | None:
    trace = error.__traceback__
    line = None
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == filename:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


# ---------------------------------------------------------------------------------------------
# the exit handler


def _exit_node(expression: str, tasks: Mapping[str, TaskSpec], notebook: Mapping[str, Any] | None,
               names: Mapping[str, Any] | None) -> DagNode:
    """The node of ``--on-exit``: one task, its ``status``/``failures`` inputs filled by Argo."""
    builder = _run(expression, tasks, notebook, names, filename="<on_exit>")
    if len(builder.nodes) != 1:
        raise DagError(f"--on-exit {expression}: the exit handler is one task",
                       hint="write --on-exit TASK or --on-exit 'TASK(x=1)'; it cannot take other tasks' outputs")
    node = next(iter(builder.nodes.values()))
    if node.loop is not None or node.when is not None:
        raise DagError(f"--on-exit {expression}: the exit handler always runs, once; it cannot be mapped or conditional")
    if node.task.kind == "shell" and EXIT_FAILURES_INPUT in [spec.name for spec in node.task.inputs]:
        raise DagError(f"--on-exit {node.task.name}: a --shell task cannot take the workflow's failures",
                       hint="take them in a Python task")
    for key, value in EXIT_ARGUMENTS.items():
        spec = node.task.input_named(key)
        if spec is None:
            continue
        if key in node.arguments:
            raise DagError(f"--on-exit {expression}: {key} is given by Argo when the workflow ends; do not pass it")
        sample = "Failed" if key == EXIT_STATUS_INPUT else []
        if not fits(sample, spec.kinds):
            raise DagError(f"--on-exit {node.task.name}: input {key!r} is annotated {describe(spec.kinds)}, but it "
                           f"receives {'the phase as text' if key == EXIT_STATUS_INPUT else 'a list of failed nodes'}",
                           hint=f"annotate it {'str' if key == EXIT_STATUS_INPUT else 'list'}, or leave it unannotated")
        node.arguments[key] = value
    return validate(builder).nodes[0]


# ---------------------------------------------------------------------------------------------
# checks


def validate(builder: DagBuilder) -> DagSpec:
    """Check names, inputs, references and cycles before anything is sent."""
    nodes = builder.nodes
    if not nodes:
        raise DagError("the expression made no tasks", hint="name at least one task: %argo_dag my_task")
    for node in nodes.values():
        task = node.task
        if node.needs_name:
            raise DagError(
                f"`{task.name}` is already a node of this DAG; a task is one node unless you name the others",
                hint=f'give this call its own node name: {task.name}(...).named("{task.argo_name}-2")'
                + ("" if task.input_named("name") else f' (or {task.name}(..., name="{task.argo_name}-2"))')
                + f"; or call {task.name}(...) before mentioning `{task.name}` bare",
            )
        _check_inputs(node)
        for key, value in node.arguments.items():
            _check_references(node, key, value, nodes)
        for upstream in node.explicit_depends:
            if upstream == node.name:
                raise DagError(f"node {node.name!r} depends on itself")
        for source in node.implied_depends():
            if source not in nodes:
                raise DagError(f"node {node.name!r} uses {source!r}, which is not a node of this DAG",
                               hint=f"nodes: {', '.join(nodes)}")
    _check_cycles(nodes)
    # Show tasks in the order work flows (Argo does not care; people reading YAML do).
    return DagSpec(nodes=[nodes[name] for name in dag_order(DagSpec(nodes=list(nodes.values())))],
                   files=dict(builder.files))


def _check_inputs(node: DagNode) -> None:
    task = node.task
    for key in node.arguments:
        if task.input_named(key) is None:
            suggestions = closest_names(key, [spec.name for spec in task.inputs])
            raise DagError(
                f"node {node.name!r}: task `{task.name}` has no input {key!r}"
                + (f"; did you mean {suggestions[0]!r}?" if suggestions else ""),
                hint=f"inputs of {task.name}: {task.inputs_text()}",
            )
    for spec in task.inputs:
        if spec.required and spec.name not in node.arguments:
            raise DagError(
                f"node {node.name!r}: required input {spec.name!r} of `{task.name}` is not given",
                hint=f"pass it: {task.name}({spec.name}=...)",
            )


def _check_references(node: DagNode, key: str, value: str, nodes: Mapping[str, DagNode]) -> None:
    for match in OUTPUT_REFERENCE.finditer(value):
        source, outputs, parameter = match.group(1), match.group(2), match.group(3)
        if source not in nodes:
            raise DagError(
                f"node {node.name!r}: input {key!r} uses the output of {source!r}, which is not a node of this DAG",
                hint=f"nodes: {', '.join(nodes)}",
            )
        if source == node.name:
            raise DagError(f"node {node.name!r}: input {key!r} uses its own output")
        producer = nodes[source]
        if outputs == "parameters" and producer.loop is None:
            raise DagError(f"node {node.name!r}: input {key!r} uses the collected outputs of {source!r}, "
                           "which is not a map")
        if parameter is not None and not (parameter == RETURN_PARAMETER and producer.task.has_return):
            raise DagError(
                f"node {node.name!r}: input {key!r} uses output parameter {parameter!r} of {source!r}, "
                "which it does not have",
                hint=f"use {source}.result for what it prints",
            )


def _check_cycles(nodes: Mapping[str, DagNode]) -> None:
    cycle = find_cycle({name: node.depends() for name, node in nodes.items()})
    if cycle:
        raise DagError(
            f"the DAG has a cycle: {' >> '.join(cycle)}",
            hint="a task cannot (indirectly) wait for itself; remove one of these edges",
        )


# ---------------------------------------------------------------------------------------------
# what the workflow needs besides its templates


def data_volume_of(dag: DagSpec, *, namespace: str | None, username: str | None) -> VolumeSpec | None:
    """The one (resolved) data volume the workflow's --data-volume tasks share, or None."""
    found: dict[tuple[str, str | None], VolumeSpec] = {}
    users: dict[tuple[str, str | None], str] = {}
    for task in dag.tasks:
        if task.options.data_volume is None:
            continue
        try:
            volume = task.options.data_volume.resolved(namespace=namespace, username=username)
        except TaskDefinitionError as error:
            raise DagError(f"task {task.name}: {error.message}", hint=error.hint) from None
        key = (volume.claim, volume.sub_path)
        found.setdefault(key, volume)
        users.setdefault(key, task.name)
    if len(found) > 1:
        described = ", ".join(f"{users[key]} uses {key[0]}/{key[1] or ''}" for key in found)
        raise DagError(f"the tasks of one workflow must share one data volume: {described}",
                       hint="give every task the same --data-volume")
    return next(iter(found.values()), None)


def dag_order(dag: DagSpec) -> list[str]:
    """Node names in an order where each comes after everything it depends on; among the ready
    ones, the order they were made in, so the result is stable."""
    position = {node.name: index for index, node in enumerate(dag.nodes)}
    return topological_order({node.name: node.depends() for node in dag.nodes}, key=position.__getitem__)
