"""DAG execution: start every task whose dependencies allow it, then assess the finished DAG.

One call advances one DAG node as far as it can go now. It sweeps the tasks in their declared
order, again and again while a sweep changed something (a task that was omitted, skipped or
finished at once may let others start). For each task without a node yet:

1. readiness: every task it depends on has a fulfilled node;
2. ``depends``: the expression over those nodes' phases holds, else the task is ``Omitted``;
3. fail-fast and stop: after an unforgiven failure (``failFast``, the default) or a stop no new
   task starts;
4. arguments and ``when``: substituted from globals, the DAG's inputs and other tasks' nodes;
   ``when`` false makes the task ``Skipped``, an unresolvable one makes it ``Error``;
5. the task's template runs (``Operation.execute_template``) and its node is connected to the
   nodes of the tasks it depends on (their outbound nodes), or to the DAG node for a root task.

When every task node is fulfilled and no pod below the DAG is still active, the DAG's phase is
assessed from its targets' branches and its output parameters are resolved. Argo's
``executeDAG``, ``executeDAGTask`` and ``assessDAGPhase`` in ``workflow/controller/dag.go``
(argoproj/argo-workflows) are the model; the deliberate difference in ``failFast`` is described
in ``hera_magics.local``'s docstring.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from ..argo import (
    ERROR,
    FAILED,
    FAILED_PHASES,
    FINAL_PHASES,
    OMITTED,
    OMITTED_MESSAGE,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    node_id,
)
from .expressions import ContinueOn, ExpressionError, evaluate_depends, evaluate_when
from .nodes import Node, NodeBook, add_child, is_fulfilled
from .parameters import (
    ResolutionError,
    dag_outputs,
    input_variables,
    node_inputs,
    resolve_task_arguments,
    task_value,
)
from .spec import continue_on, dag_fail_fast, dag_targets, dag_tasks, task_dependencies, task_depends
from .templating import ExpressionTag, UnresolvedReference, substitute

if TYPE_CHECKING:
    from .reconcile import Operation


def execute_dag(operation: Operation, node_name: str, template: dict[str, Any], inputs: dict[str, str],
                boundary_id: str | None, display_name: str, depth: int) -> Node:
    """Create or advance the DAG node ``node_name`` (it is always created at once)."""
    node = operation.nodes.by_name(node_name)
    if node is None:
        node = operation.nodes.create(node_name, "DAG", template["name"], boundary_id, display_name, RUNNING,
                                      inputs=node_inputs(template, inputs))
    if is_fulfilled(node):
        return node
    dag = _DagPass(operation, node, template, inputs, depth)
    dag.start_tasks()
    dag.complete()
    return node


class _DagPass:
    """One DAG node during one reconcile: its tasks as the spec declares them, and their nodes."""

    def __init__(self, operation: Operation, node: Node, template: dict[str, Any], inputs: dict[str, str],
                 depth: int) -> None:
        self.operation = operation
        self.nodes = operation.nodes
        self.node = node
        self.template = template
        self.depth = depth
        self.tasks = dag_tasks(template)
        self.dependencies = {task["name"]: task_dependencies(task) for task in self.tasks}
        self.expressions = {task["name"]: task_depends(task) for task in self.tasks}
        self.continue_on = {task["name"]: continue_on(task) for task in self.tasks}
        self.fail_fast = dag_fail_fast(template)
        self.input_values = input_variables(inputs)
        # Set when a task could not start for want of parallelism: the DAG is not done.
        self.blocked = False

    def task_node(self, task_name: str) -> Node | None:
        return self.nodes.by_name(f"{self.node['name']}.{task_name}")

    def lookup(self, tag: str) -> str | None:
        """A variable's value inside this DAG: globals, then its inputs, then ``tasks.*``."""
        if tag in self.operation.globals:
            return self.operation.globals[tag]
        if tag in self.input_values:
            return self.input_values[tag]
        return task_value(tag, self.task_node)

    # -- starting tasks -------------------------------------------------------------------------

    def start_tasks(self) -> None:
        """Sweep the tasks until a sweep changes nothing."""
        while self._sweep():
            pass

    def _sweep(self) -> bool:
        failed_fast = self._failed_fast()
        progressed = False
        for task in self.tasks:
            if self._visit(task, failed_fast):
                progressed = True
        return progressed

    def _failed_fast(self) -> bool:
        """True when fail-fast applies and a task failed without ``continueOn`` forgiving it."""
        if not self.fail_fast:
            return False
        for task in self.tasks:
            phase = (self.task_node(task["name"]) or {}).get("phase")
            if phase in FAILED_PHASES and not _continues(self.continue_on[task["name"]], phase):
                return True
        return False

    def _visit(self, task: dict[str, Any], failed_fast: bool) -> bool:
        """Advance one task; True when that changed something another task may depend on."""
        existing = self.task_node(task["name"])
        if is_fulfilled(existing) or (existing is not None and existing["type"] == "Pod"):
            return False  # done, or its own thread finishes it
        if existing is None:
            phases = self._dependency_phases(task["name"])
            if phases is None:
                return False
            if not self._depends_met(task["name"], phases):
                self._record_not_run(task, OMITTED, OMITTED_MESSAGE)
                return True
            if self.operation.stop_reason or failed_fast:
                return False
        try:
            arguments, run, when = self._resolve(task)
        except ResolutionError as error:
            self._task_error(task, existing, str(error))
            return True
        if existing is None and not run:
            self._record_not_run(task, SKIPPED, f"when '{when}' evaluated false")
            return True
        return self._execute(task, existing, arguments)

    def _dependency_phases(self, task_name: str) -> dict[str, str] | None:
        """The phase of each task ``task_name`` depends on; None until all are fulfilled."""
        phases = {}
        for dependency in self.dependencies[task_name]:
            dependency_node = self.task_node(dependency)
            if not is_fulfilled(dependency_node):
                return None
            phases[dependency] = dependency_node["phase"]
        return phases

    def _depends_met(self, task_name: str, phases: dict[str, str]) -> bool:
        expression = self.expressions[task_name]
        return expression is None or evaluate_depends(expression, phases, self.continue_on)

    def _resolve(self, task: dict[str, Any]) -> tuple[dict[str, Any], bool, str | None]:
        """(arguments, whether ``when`` lets the task run, the substituted ``when``)."""
        when = None
        try:
            arguments = resolve_task_arguments(task, self.lookup)
            when = substitute(task["when"], self.lookup) if task.get("when") else None
            run = evaluate_when(when) if when is not None else True
        except (UnresolvedReference, ExpressionTag) as error:
            raise ResolutionError(str(error)) from None
        except ExpressionError as error:
            raise ResolutionError(f"Invalid 'when' expression '{when}': {error}") from None
        return arguments, run, when

    def _execute(self, task: dict[str, Any], existing: Node | None, arguments: dict[str, Any]) -> bool:
        child = self.operation.execute_template(f"{self.node['name']}.{task['name']}", task["template"],
                                                arguments, self.node["id"], task["name"], depth=self.depth + 1)
        if child is None:
            self.blocked = True
            return False
        if existing is None:
            self._connect(task["name"], child)
            return True
        return is_fulfilled(child)

    def _record_not_run(self, task: dict[str, Any], phase: str, message: str) -> None:
        """A node for a task that will not run: Omitted, Skipped, or Error before it started."""
        node = self.nodes.create(f"{self.node['name']}.{task['name']}", "Skipped", task["template"],
                                 self.node["id"], task["name"], phase, message=message)
        self._connect(task["name"], node)

    def _task_error(self, task: dict[str, Any], existing: Node | None, message: str) -> None:
        if existing is not None:
            self.nodes.finish(existing, ERROR, message)
        else:
            self._record_not_run(task, ERROR, message)

    def _connect(self, task_name: str, child: Node) -> None:
        """Hang a task's node below the nodes of its dependencies (a root task: below the DAG)."""
        if not self.dependencies[task_name]:
            add_child(self.node, child["id"])
            return
        for dependency in self.dependencies[task_name]:
            dependency_node = self.task_node(dependency)
            if dependency_node is None:
                continue
            for outbound in self.nodes.outbound_nodes(dependency_node["id"]):
                add_child(self.nodes.nodes[outbound], child["id"])

    # -- completing the DAG ---------------------------------------------------------------------

    def complete(self) -> None:
        """Finish the DAG node once every task is settled: outbound nodes, phase, outputs."""
        task_nodes = {task["name"]: self.task_node(task["name"]) for task in self.tasks}
        if self.blocked or any(child is not None and not is_fulfilled(child) for child in task_nodes.values()):
            return
        operation = self.operation
        if operation.pods.has_active(operation.record.key) and self.nodes.active_pods_below(self.node["id"]):
            return
        targets = dag_targets(self.template)
        self.node["outboundNodes"] = [outbound for target in targets if task_nodes.get(target)
                                      for outbound in self.nodes.outbound_nodes(task_nodes[target]["id"])]
        if operation.stop_reason:
            self.nodes.finish(self.node, FAILED)
            return
        phase = assess_dag_phase(self.nodes, self.node, targets, task_nodes, self.continue_on, self.fail_fast)
        if phase == SUCCEEDED:
            try:
                outputs = dag_outputs(self.template, self.lookup)
            except (UnresolvedReference, ExpressionTag) as error:
                self.nodes.finish(self.node, ERROR, str(error))
                return
            if outputs:
                self.node["outputs"] = outputs
        self.nodes.finish(self.node, phase)


def assess_dag_phase(nodes: NodeBook, dag_node: Node, targets: list[str], task_nodes: dict[str, Node | None],
                     continue_on: dict[str, ContinueOn], fail_fast: bool) -> str:
    """Argo's ``assessDAGPhase``: each target's branch phase, Omitted nodes inheriting failure."""
    target_ids = {node_id(nodes.workflow_name, f"{dag_node['name']}.{target}"): target for target in targets}
    branches = _branch_phases(nodes, dag_node, target_ids)
    result = SUCCEEDED
    missing = False
    for identifier, target in target_ids.items():
        phase = branches[identifier]
        if not phase:
            missing = True
            continue
        if phase in FAILED_PHASES:
            if _continues(continue_on.get(target), phase):
                continue
            result = phase
            if fail_fast:
                break
    if result == SUCCEEDED and missing:
        # A target never started: fail-fast stopped scheduling after a failure.
        failures = [child["phase"] for child in task_nodes.values()
                    if child is not None and child.get("phase") in FAILED_PHASES]
        result = failures[0] if failures else FAILED
    return result


def _branch_phases(nodes: NodeBook, dag_node: Node, target_ids: dict[str, str]) -> dict[str, str]:
    """The phase each target's branch reached ("" when never reached), walking ``children``
    breadth first from the DAG node; a node that never ran inherits the phase above it."""
    branches: dict[str, str] = {identifier: "" for identifier in target_ids}
    queue = deque((child, SUCCEEDED) for child in dag_node.get("children") or [])
    seen: set[tuple[str, str]] = set()
    while queue:
        current, inherited = queue.popleft()
        if (current, inherited) in seen:
            continue
        seen.add((current, inherited))
        child = nodes.get(current)
        if child is None:
            continue
        phase = child["phase"] if child.get("phase") in FINAL_PHASES else inherited
        if current in branches and branches[current] not in FAILED_PHASES:
            branches[current] = phase
        queue.extend((next_id, phase) for next_id in _following(nodes, child))
    return branches


def _following(nodes: NodeBook, node: Node) -> list[str]:
    """The nodes after ``node``: a Retry node's are its attempts' children."""
    if node["type"] == "Retry":
        return [grandchild for attempt in node.get("children") or []
                for grandchild in (nodes.get(attempt) or {}).get("children") or []]
    return node.get("children") or []


def _continues(options: ContinueOn | None, phase: str) -> bool:
    return options is not None and options.covers(phase)
