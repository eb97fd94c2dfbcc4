"""DAG execution, one event at a time: a ``DagRun`` per DAG node.

A ``DagRun`` keeps, for its DAG node, what Argo's ``executeDAG`` recomputes on every pass
(``workflow/controller/dag.go`` in argoproj/argo-workflows, v4.0.5):

* the tasks that run: the targets (``dag.target``, resolved with the DAG's inputs and the
  workflow's parameters, else the leaves) and everything they depend on;
* per task, how many of its dependencies are not fulfilled yet; when a task node is fulfilled
  its dependents' counts go down (the ``DagPlan``'s dependents index) and a task whose count
  reaches 0 joins ``ready``;
* ``ready`` tasks are decided once (``evaluate``): ``depends`` false makes an ``Omitted`` node
  (``evaluateDependsLogic``); then their references resolve (``resolveDependencyReferences``),
  ``when`` false makes a ``Skipped`` node, a loop becomes a ``TaskGroup`` node with one node per
  item (``expandTask``, ``loops``); what remains to start joins ``starts``;
* ``starts`` begin in order while ``parallelism`` allows (``checkParallelism``); a held-back DAG
  waits in the runtime until a count under it goes down;
* ``open`` counts task nodes not fulfilled; when it is 0 and nothing is left to start, the DAG's
  phase is assessed (``assessDAGPhase``), its outbound nodes and outputs are set.

``failFast`` as the controller has it: ``dag.failFast`` (default true) only lets a DAG whose
target branch failed be marked failed while another target could not be created; dependents
that accept the failure and independent branches still run. The template-level ``failFast:
true`` stops the DAG from starting anything after a child (Pod or DAG) failed, and fails it
with "template has failed or errored children and failFast enabled" once its own pods are done.
"""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass
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
from .expansion import PlannedItem, Resolution, loop_items, plan_items, resolve
from .expressions import FanOut, evaluate_depends
from .loops import LoopError, aggregate_outputs
from .nodes import Node, is_fulfilled
from .parameters import (
    ResolutionError,
    dag_outputs,
    input_variables,
    task_field_value,
    task_reference,
)
from .spec import task_loops
from .templating import ExpressionTag, UnresolvedReference, substitute

if TYPE_CHECKING:
    from .reconcile import Operation
    from .runtime import WorkflowRuntime

FAIL_FAST_MESSAGE = "template has failed or errored children and failFast enabled"
EMPTY_PARAMS_MESSAGE = "Skipped, empty params"
TASK = "task"
ITEM = "item"


class WaitForReference(Exception):
    """A ``tasks.*`` reference has no value yet: Argo requeues the task (``ErrRequeue``)."""


@dataclass
class Start:
    """A node to create once ``parallelism`` allows: a task, or one item of a looped task."""

    name: str
    template: str
    arguments: dict[str, Any]
    display_name: str
    key: tuple[str, str]
    task: str


@dataclass
class Group:
    """A looped task's ``TaskGroup`` node and its items."""

    node: Node
    item_ids: list[str]
    fulfilled: int = 0
    running: int = 0  # items created and not fulfilled
    aggregated: dict[str, str] | None = None






class DagRun:
    """One DAG node while it runs (see the module docstring)."""

    def __init__(self, operation: Operation, node: Node, template: dict[str, Any], inputs: dict[str, str],
                 depth: int, on_exit: bool) -> None:
        self.runtime: WorkflowRuntime = operation.runtime
        self.node = node
        self.template = template
        self.plan = self.runtime.plan(template)
        self.depth = depth
        self.on_exit = on_exit
        self.input_values = input_variables(inputs)
        self.targets = self._targets()
        self.relevant = self.plan.relevant(self.targets)
        self.unmet: dict[str, int] = {}
        self.ready: deque[str] = deque()
        self.starts: deque[Start] = deque()
        self.open = 0
        self.failures = 0
        self.groups: dict[str, Group] = {}
        self.completed_groups: deque[str] = deque()
        self.parked: list[str] = []

    @property
    def identifier(self) -> str:
        return self.node["id"]

    def _targets(self) -> list[str]:
        target = (self.template.get("dag") or {}).get("target")
        if not target:
            return list(self.plan.leaves)
        try:
            names = substitute(str(target), self._lookup_plain).split()
        except (UnresolvedReference, ExpressionTag) as error:
            raise ResolutionError(str(error)) from None
        for name in names:
            if name not in self.plan.tasks:
                raise ResolutionError(f"target {name} does not exist")
        return names

    def _lookup_plain(self, tag: str) -> str | None:
        return self.runtime.globals.get(tag, self.input_values.get(tag))

    # -- building the bookkeeping ---------------------------------------------------------------------

    def scan(self, operation: Operation) -> list[tuple[Node, Any]]:
        """Count unmet dependencies and find the ready tasks from the nodes that exist (all of
        them absent for a new DAG). Returns the unfulfilled nodes to adopt (after a restart)."""
        adopt: list[tuple[Node, Any]] = []
        for name in self.plan.tasks:
            if name not in self.relevant:
                continue
            dependencies = self.plan.dependencies[name]
            self.unmet[name] = sum(1 for dependency in dependencies if not is_fulfilled(self.task_node(dependency)))
            existing = self.task_node(name)
            if existing is None:
                if self.unmet[name] == 0:
                    self.ready.append(name)
                continue
            self.runtime.owners[existing["id"]] = (self, (TASK, name))
            if existing.get("phase") in FAILED_PHASES:
                self.failures += 1
            if is_fulfilled(existing):
                continue
            self.open += 1
            if existing["type"] == "TaskGroup":
                self._adopt_group(operation, name, existing, adopt)
            else:
                adopt.append((existing, name))
        return adopt

    def _adopt_group(self, operation: Operation, name: str, group_node: Node, adopt: list[tuple[Node, Any]]) -> None:
        """A TaskGroup that was running: expand its task again and continue with its items."""
        try:
            resolution = self._resolve(name)
            items = loop_items(resolution)
            planned = plan_items(self.node['name'], name, resolution, items, self.lookup)
        except (ResolutionError, WaitForReference, LoopError):
            planned = []
        group = Group(group_node, [node_id(self.runtime.record.name, item.name) for item in planned])
        self.groups[name] = group
        group_node["children"] = list(group.item_ids)
        for item in planned:
            existing = self.runtime.nodes.by_name(item.name)
            self.runtime.expect(item.name, self, (ITEM, name))
            if existing is None:
                self._item_node(name, item)
            elif is_fulfilled(existing):
                group.fulfilled += 1
            else:
                group.running += 1
                adopt.append((existing, (ITEM, name)))
        if group.item_ids and group.fulfilled == len(group.item_ids):
            self.completed_groups.append(name)

    # -- events ---------------------------------------------------------------------------------------

    def child_event(self, node: Node, key: Any, created: bool, fulfilled: bool) -> None:
        kind, name = key
        if kind == ITEM:
            group = self.groups[name]
            if created and not fulfilled:
                group.running += 1
            if fulfilled:
                group.running -= 0 if created else 1
                group.fulfilled += 1
                if group.fulfilled == len(group.item_ids):
                    self.completed_groups.append(name)
            return
        if created and not fulfilled:
            self.open += 1
        if not fulfilled:
            return
        if not created:
            self.open -= 1
        if node.get("phase") in FAILED_PHASES:
            self.failures += 1
        for dependent in self.plan.dependents[name]:
            if dependent in self.unmet:
                self.unmet[dependent] -= 1
                if self.unmet[dependent] == 0:
                    self.ready.append(dependent)

    # -- advancing ----------------------------------------------------------------------------------------

    def advance(self, operation: Operation) -> None:
        if is_fulfilled(self.node) or enclosing_done(self.runtime, self.node):
            return
        stopping = operation.stopping(self.on_exit)
        if not stopping and self._fail_fast_tripped(operation):
            return
        while self.completed_groups:
            self._complete_group(self.completed_groups.popleft())
        if stopping:
            # Nothing new starts, but a task whose depends cannot hold is still recorded Omitted.
            while self.ready:
                name = self.ready.popleft()
                if self.task_node(name) is None and not self._depends_met(name):
                    self._not_run(name, self.plan.tasks[name], OMITTED, OMITTED_MESSAGE)
        else:
            while self.ready:
                self._evaluate(operation, self.ready.popleft())
            while self.completed_groups:
                self._complete_group(self.completed_groups.popleft())
            self._start_pending(operation)
        self._maybe_complete(operation, stopping)

    def _fail_fast_tripped(self, operation: Operation) -> bool:
        """Template-level ``failFast`` (``checkParallelism``): after a failed child nothing starts,
        and the DAG fails once none of its own pods is active."""
        counters = self.runtime.counters
        if not self.plan.template_fail_fast or counters.unsuccessful_children[self.identifier] == 0:
            return False
        if counters.active_pods[self.identifier] == 0:
            operation.nodes.finish(self.node, FAILED, FAIL_FAST_MESSAGE)
        return True

    def _start_pending(self, operation: Operation) -> None:
        """Create the nodes in ``starts``, in order, while nothing holds them back."""
        while self.starts:
            start = self.starts[0]
            created = operation.execute_template(start.name, start.template, start.arguments, self.identifier,
                                                 start.display_name, owner=(self, start.key), depth=self.depth + 1,
                                                 on_exit=self.on_exit)
            if created is None:
                operation.hold(self)
                return
            self.starts.popleft()
            if start.key[0] == TASK:
                self._connect(start.task, created)

    # -- deciding one ready task ----------------------------------------------------------------------------

    def task_node(self, task_name: str) -> Node | None:
        return self.runtime.nodes.by_name(f"{self.node['name']}.{task_name}")

    def _evaluate(self, operation: Operation, name: str) -> None:
        """A task whose dependencies are all fulfilled: Omitted, Skipped, Error, or to start."""
        if self.task_node(name) is not None:
            return
        task = self.plan.tasks[name]
        if not self._depends_met(name):
            self._not_run(name, task, OMITTED, OMITTED_MESSAGE)
            return
        try:
            resolution = self._resolve(name)
            if not task_loops(task):
                if resolution.proceed is False:
                    self._not_run(name, task, SKIPPED, f"when '{resolution.when}' evaluated false")
                else:
                    self.starts.append(Start(f"{self.node['name']}.{name}", task["template"], resolution.arguments,
                                             name, (TASK, name), name))
                return
            self._expand(name, task, resolution)
        except WaitForReference as waiting:
            # Argo v4.0.5 requeues such a task for ever (ErrRequeue): it never runs, the DAG waits.
            self.parked.append(name)
            print(f"{self.runtime.record.name}: task {name} waits for {{{{{waiting}}}}}, which has no value; "
                  "Argo v4.0.5 requeues it until the workflow is stopped", file=sys.stderr)
        except (ResolutionError, LoopError) as error:
            self._not_run(name, task, ERROR, str(error))

    def _depends_met(self, name: str) -> bool:
        expression = self.plan.expressions[name]
        if expression is None:
            return True
        phases: dict[str, str | None] = {}
        fan_out: dict[str, FanOut] = {}
        for dependency in self.plan.dependencies[name]:
            node = self.task_node(dependency)
            phases[dependency] = (node or {}).get("phase")
            if node is not None and node["type"] == "TaskGroup":
                fan_out[dependency] = self._fan_out(node)
        return evaluate_depends(expression, phases, self.plan.continue_on, fan_out)

    def _fan_out(self, group_node: Node) -> FanOut:
        """``AnySucceeded``/``AllFailed`` over a TaskGroup's items (``evaluateDependsLogic``)."""
        phases = [(self.runtime.nodes.get(child) or {}).get("phase") for child in group_node.get("children") or []]
        return FanOut(any_succeeded=SUCCEEDED in phases,
                      all_failed=bool(phases) and all(phase == FAILED for phase in phases))

    def _not_run(self, name: str, task: dict[str, Any], phase: str, message: str) -> None:
        """A node for a task that will not run: Omitted, Skipped, or Error before it started."""
        node_name = f"{self.node['name']}.{name}"
        self.runtime.expect(node_name, self, (TASK, name))
        node = self.runtime.nodes.create(node_name, "Skipped", task["template"], self.identifier, name, phase,
                                         message=message)
        self._connect(name, node)

    def _connect(self, name: str, child: Node) -> None:
        """Hang a task's node below its dependencies' outbound nodes (a root task: below the DAG)."""
        nodes = self.runtime.nodes
        dependencies = self.plan.dependencies[name]
        if not dependencies:
            _append_child(self.node, child["id"])
            return
        for dependency in dependencies:
            dependency_node = self.task_node(dependency)
            if dependency_node is None:
                continue
            for outbound in nodes.outbound_nodes(dependency_node["id"]):
                parent = nodes.get(outbound)
                if parent is not None:
                    _append_child(parent, child["id"])

    # -- references ---------------------------------------------------------------------------------------

    def lookup(self, tag: str, *, skipped_defaults: bool = True) -> str | None:
        """A variable's value inside this DAG: globals, its inputs, then ``tasks.*``."""
        if tag in self.runtime.globals:
            return self.runtime.globals[tag]
        if tag in self.input_values:
            return self.input_values[tag]
        reference = task_reference(tag)
        if reference is None:
            return None
        task_name, task_field = reference
        node = self.task_node(task_name)
        if node is None or task_name not in self.plan.tasks:
            return None
        template = self.runtime.templates.get(self.plan.tasks[task_name]["template"])
        aggregated = self._aggregated(task_name, node) if node["type"] == "TaskGroup" else None
        return task_field_value(task_field, node, template, aggregated=aggregated, skipped_defaults=skipped_defaults)

    def _aggregated(self, task_name: str, group_node: Node) -> dict[str, str]:
        """A looped task's aggregated outputs, computed once (raises ``LoopError`` as Argo does
        when an item's result is not JSON)."""
        group = self.groups.get(task_name)
        if group is not None and group.aggregated is not None:
            return group.aggregated
        items = [self.runtime.nodes.get(child) for child in group_node.get("children") or []]
        aggregated = aggregate_outputs(item for item in items if item is not None)
        if group is not None and is_fulfilled(group_node):
            group.aggregated = aggregated
        return aggregated

    def _strict_lookup(self, tag: str) -> str | None:
        """Argo's ``ReplaceStrict(..., ["tasks", "steps"])``: a ``tasks.*`` without a value waits."""
        value = self.lookup(tag)
        if value is None and tag.startswith("tasks."):
            raise WaitForReference(tag)
        return value

    def _resolve(self, name: str) -> Resolution:
        """``resolveDependencyReferences``: ``when`` first (a false one ends here), then the arguments."""
        for dependency in self.plan.dependencies[name]:
            node = self.task_node(dependency)
            if node is not None and node["type"] == "TaskGroup":
                self._aggregated(dependency, node)  # the error Argo's scope building raises
        return resolve(self.plan.tasks[name], self._strict_lookup)

    # -- loops ------------------------------------------------------------------------------------------------

    def _expand(self, name: str, task: dict[str, Any], resolution: Resolution) -> None:
        """A looped task: a TaskGroup node whose children are its items (Skipped when there are none)."""
        items = loop_items(resolution)
        if not items:
            self._not_run(name, task, SKIPPED, EMPTY_PARAMS_MESSAGE)
            return
        planned = plan_items(self.node['name'], name, resolution, items, self.lookup)
        group_name = f"{self.node['name']}.{name}"
        self.runtime.expect(group_name, self, (TASK, name))
        group_node = self.runtime.nodes.create(group_name, "TaskGroup", task["template"], self.identifier, name,
                                               RUNNING)
        self._connect(name, group_node)
        group = Group(group_node, [])
        self.groups[name] = group
        # As Argo does, each item is a child of the group before it is created (in item order).
        for item in planned:
            identifier = self.runtime.expect(item.name, self, (ITEM, name))
            group.item_ids.append(identifier)
            _append_child(group_node, identifier)
        for item in planned:
            self._item_node(name, item)

    def _item_node(self, name: str, item: PlannedItem) -> None:
        """Queue an item to start, or create its Skipped (``when`` false) or Error node."""
        task = self.plan.tasks[name]
        if item.phase is None:
            self.starts.append(Start(item.name, task["template"], item.arguments, item.display_name,
                                     (ITEM, name), name))
            return
        self.runtime.nodes.create(item.name, "Skipped", task["template"], self.identifier, item.display_name,
                                  item.phase, message=item.message)

    def _complete_group(self, name: str) -> None:
        """All items fulfilled: the TaskGroup takes the phase of the last failed item, else Succeeded."""
        group = self.groups[name]
        if is_fulfilled(group.node):
            return
        phase = SUCCEEDED
        for identifier in group.item_ids:
            item = self.runtime.nodes.get(identifier)
            if item is not None and item.get("phase") in FAILED_PHASES:
                phase = item["phase"]
        self.runtime.nodes.finish(group.node, phase)

    # -- completing the DAG ---------------------------------------------------------------------------------

    def _maybe_complete(self, operation: Operation, stopping: bool) -> None:
        """Complete the DAG once none of its task nodes is open and nothing is left to start.

        When stopping, a TaskGroup whose remaining items never started does not hold the DAG
        (Argo fails the DAG and leaves such a group Running)."""
        if is_fulfilled(self.node) or self.completed_groups:
            return
        open_nodes = self.open
        if stopping:
            open_nodes -= sum(1 for group in self.groups.values()
                              if group.running == 0 and not is_fulfilled(group.node))
        if open_nodes > 0:
            return
        if not stopping:
            if self.ready:
                return
            if self.starts or self.parked:
                # Held back or waiting for a reference: only dag.failFast with a failed target
                # ends the DAG now (assessDAGPhase skips targets without a node).
                if not (self.plan.fail_fast and self.failures and self.assess() in FAILED_PHASES):
                    return
        self._complete(operation, stopping)

    def _complete(self, operation: Operation, stopping: bool) -> None:
        nodes = self.runtime.nodes
        self.node["outboundNodes"] = [outbound for target in self.targets if self.task_node(target) is not None
                                      for outbound in nodes.outbound_nodes(self.task_node(target)["id"])]
        if stopping:
            nodes.finish(self.node, FAILED)
            return
        phase = self.assess()
        if phase == SUCCEEDED:
            try:
                outputs = dag_outputs(self.template, lambda tag: self.lookup(tag, skipped_defaults=False))
            except UnresolvedReference as error:
                nodes.finish(self.node, ERROR, outputs_error(self.runtime, self.node, error.tag))
                return
            except (ExpressionTag, LoopError) as error:
                nodes.finish(self.node, ERROR, str(error))
                return
            if outputs:
                self.node["outputs"] = outputs
        nodes.finish(self.node, phase)

    def assess(self) -> str:
        """Argo's ``assessDAGPhase``: each target's branch phase (a node that never ran inherits
        the phase above it); a failed branch fails the DAG unless the target continues on it."""
        target_ids = {node_id(self.runtime.record.name, f"{self.node['name']}.{target}"): target
                      for target in self.targets}
        branches = _branch_phases(self.runtime, self.node, target_ids)
        result = SUCCEEDED
        for identifier, target in target_ids.items():
            phase = branches[identifier]
            if not phase:
                result = RUNNING
                if not self.plan.fail_fast:
                    break
            elif phase in FAILED_PHASES:
                if self.plan.continue_on[target].covers(phase):
                    continue
                result = phase
                if self.plan.fail_fast:
                    break
        return result


def enclosing_done(runtime: WorkflowRuntime, node: Node) -> bool:
    """An enclosing DAG or Steps node already finished (its template failFast): Argo never visits
    ``node`` again, so it starts nothing more (its running pods still end)."""
    boundary = node.get("boundaryID")
    while boundary:
        enclosing = runtime.nodes.get(boundary)
        if enclosing is None:
            return False
        if is_fulfilled(enclosing):
            return True
        boundary = enclosing.get("boundaryID")
    return False


def outputs_error(runtime: WorkflowRuntime, node: Node, tag: str) -> str:
    """How Argo reports a DAG's or steps template's output without a value (the error the
    template's execution returns)."""
    unresolved = f'Unable to resolve: "{tag}"'
    if not node.get("boundaryID") and node["name"] == runtime.record.name:
        return f"error in entry template execution: {unresolved}"
    return f"task '{node['name']}' errored: {unresolved}"


def _branch_phases(runtime: WorkflowRuntime, dag_node: Node, target_ids: dict[str, str]) -> dict[str, str]:
    """The phase each target's branch reached ("" when never reached), walking ``children``
    breadth first from the DAG node; a node that never ran inherits the phase above it."""
    nodes = runtime.nodes
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
        queue.extend((next_id, phase) for next_id in _following(runtime, child))
    return branches


def _following(runtime: WorkflowRuntime, node: Node) -> list[str]:
    """The nodes after ``node``: a Retry node's are its attempts' children."""
    if node["type"] == "Retry":
        return [grandchild for attempt in node.get("children") or []
                for grandchild in (runtime.nodes.get(attempt) or {}).get("children") or []]
    return node.get("children") or []


def _append_child(parent: Node, child_id: str) -> None:
    """Add a child that is new to ``parent`` (a node is connected once, when it is created: no
    search through a fan-out's thousands of children)."""
    parent.setdefault("children", []).append(child_id)

