"""Steps templates, one event at a time: a ``StepsRun`` per Steps node.

A steps template is a list of step groups run one after the other; the steps of a group run in
parallel. As Argo's ``executeSteps`` and ``executeStepGroup`` (``workflow/controller/steps.go``
in argoproj/argo-workflows, v4.0.5):

* the Steps node ``NAME`` has one ``StepGroup`` node per group reached, ``NAME[i]`` (display
  name ``[i]``); group 0 hangs below the Steps node, group i below the outbound nodes of group
  i-1's children (below group i-1 itself when it has none);
* a group is decided once, when it opens: every step's references resolve (``when`` first; a
  ``steps.*`` without a value makes the group wait, as Argo requeues it), loops expand into item
  steps ``step(INDEX:LABEL)`` (direct children of the group: steps have no TaskGroup node), a
  false ``when`` makes a ``Skipped`` node, an empty loop a ``Skipped`` node "Skipped, empty
  params", an invalid ``when`` errors the group; the rest start in order while ``parallelism``
  allows, each a child ``NAME[i].step`` of the group with the Steps node as its boundary;
* a step's exit hook (``onExit``, ``hooks.exit``) runs as ``<child>.onExit`` once the child
  completed, and the group waits for it;
* once every child (and exit hook) is fulfilled the group is assessed: a Failed or Error child
  that does not ``continueOn`` fails it ("child 'ID' failed") and with it the Steps node (with
  the group's message); else the steps' outputs join the scope (``steps.NAME.*``; a looped step's
  outputs aggregated as JSON lists) and the next group opens;
* after the last group the Steps node takes its outputs from the scope and Succeeds.

Template ``failFast: true`` (``checkParallelism``): after a failed child nothing new starts, and
once no pod of the Steps node is active, its last group and the Steps node fail with "template
has failed or errored children and failFast enabled". Work per event: the group's open children
are a set, so an event costs O(1) plus the nodes it creates.
"""

from __future__ import annotations

import json
import re
import sys
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ..argo import (
    ERROR,
    FAILED,
    FAILED_PHASES,
    MAX_RECURSION_DEPTH_MESSAGE,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    node_id,
)
from .dag_executor import EMPTY_PARAMS_MESSAGE, FAIL_FAST_MESSAGE, WaitForReference, enclosing_done, outputs_error
from .expansion import loop_items, plan_items, resolve, when_false_message
from .expressions import ContinueOn
from .loops import LoopError, aggregate_outputs
from .nodes import Node, add_child, is_fulfilled
from .parameters import (
    ARTIFACT_FIELD,
    ResolutionError,
    artifact_text,
    dag_outputs,
    input_variables,
    resolve_task_arguments,
)
from .spec import continue_on, exit_hook, task_loops
from .template_refs import scope_inside, template_key_of
from .templates import reference_of
from .templating import ExpressionTag, UnresolvedReference

if TYPE_CHECKING:
    from .reconcile import Operation
    from .runtime import WorkflowRuntime

STEP = "step"
EXIT = "exit"
STEP_REFERENCE = re.compile(r"steps\.([a-zA-Z0-9][-a-zA-Z0-9]*)\.(.+)")
"""``steps.NAME.FIELD``: group 1 is the step, group 2 what of it."""
_RESULT_REFERENCE = re.compile(r"steps\.([a-zA-Z0-9][-a-zA-Z0-9]*)\.outputs\.result"
                               r"|steps\[['\"]([a-zA-Z0-9][-a-zA-Z0-9]*)['\"]\]\.outputs\.result")
COMPLETED_PHASES = (SUCCEEDED, FAILED, ERROR)
"""Argo's ``NodePhase.Completed``: a step's exit hook runs after these (not after Skipped)."""


def step_groups(template: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
    """The groups of a steps template, each a list of steps (Argo's ``ParallelSteps``).

    A group is written as a list of steps, or (as Argo also reads it) as ``{"steps": [...]}``.
    """
    groups = []
    for group in template.get("steps") or []:
        steps = group.get("steps") if isinstance(group, dict) else group
        groups.append([step for step in steps or [] if isinstance(step, dict)])
    return groups


@dataclass(frozen=True)
class StepsPlan:
    """A steps template read once: its groups and its options (one per template, not per node)."""

    template: Mapping[str, Any]
    groups: list[list[dict[str, Any]]]
    template_fail_fast: bool
    parallelism: int | None
    result_steps: frozenset[str]


def steps_plan(template: Mapping[str, Any]) -> StepsPlan:
    """Read a steps template into a ``StepsPlan``."""
    parallelism = template.get("parallelism")
    text = json.dumps(template)
    return StepsPlan(
        template=template,
        groups=step_groups(template),
        template_fail_fast=template.get("failFast") is True,
        parallelism=int(parallelism) if parallelism is not None and int(parallelism) > 0 else None,
        result_steps=frozenset(first or second for first, second in _RESULT_REFERENCE.findall(text)),
    )


@dataclass
class Entry:
    """A node of the open group: a step (or one item of a looped step) and how it goes."""

    name: str
    display_name: str
    step: dict[str, Any]
    arguments: dict[str, Any]
    phase: str | None = None  # Skipped or Error when it does not run
    message: str | None = None


class StepsRun:
    """One Steps node while it runs (see the module docstring)."""

    def __init__(self, operation: Operation, node: Node, template: dict[str, Any], inputs: dict[str, str],
                 depth: int, on_exit: bool) -> None:
        self.runtime: WorkflowRuntime = operation.runtime
        self.node = node
        self.template = template
        self.plan = self.runtime.steps_plan(template)
        self.depth = depth
        self.on_exit = on_exit
        self.input_values = input_variables(inputs)
        self.scope: dict[str, str] = {}
        self.index = 0
        self.group_node: Node | None = None
        self.decided = False
        self.pending: deque[Entry] = deque()
        self.entries: dict[str, Entry] = {}  # the created children of the open group, by node id
        self.open: set[str] = set()  # those children (and exit hooks) not fulfilled
        self.exits_due: deque[str] = deque()  # children whose exit hook is to start

    @property
    def identifier(self) -> str:
        return self.node["id"]

    @property
    def scope_inside(self) -> str:
        """The ``templateScope`` of the step groups (the scope the steps template names others in)."""
        return scope_inside(template_key_of(self.node), self.runtime.nodes.local_scope)

    def group_name(self, index: int) -> str:
        return f"{self.node['name']}[{index}]"

    # -- rebuilding after a restart -------------------------------------------------------------------

    def scan(self, operation: Operation) -> list[tuple[Node, Any]]:
        """Find the open group from the nodes that exist (none for a new Steps node), rebuild the
        scope of the groups before it, and return its unfulfilled children to adopt."""
        nodes = self.runtime.nodes
        for index in range(len(self.plan.groups)):
            group = nodes.by_name(self.group_name(index))
            if group is None:
                break
            self.index, self.group_node = index, group
            if group.get("phase") == SUCCEEDED:
                self._add_group_outputs(index, group)
                self.index, self.group_node = index + 1, None
                continue
            if is_fulfilled(group):  # it failed, and the Steps node had not been told yet
                self._set_outbound()
                nodes.finish(self.node, FAILED, group.get("message"))
                return []
            break
        if self.group_node is None:
            return []
        return self._decide(operation)

    # -- events ---------------------------------------------------------------------------------------

    def child_event(self, node: Node, key: Any, created: bool, fulfilled: bool) -> None:
        kind, index = key
        if index != self.index:
            return
        identifier = node["id"]
        if created and not fulfilled:
            self.open.add(identifier)
        if not fulfilled:
            return
        self.open.discard(identifier)
        entry = self.entries.get(identifier)
        if kind == STEP and entry is not None and node.get("phase") in COMPLETED_PHASES \
                and exit_hook(entry.step, self._workflow_arguments()) is not None:
            self.exits_due.append(identifier)

    def _workflow_arguments(self) -> Mapping[str, Any]:
        return self.runtime.spec.get("arguments") or {}

    # -- advancing ------------------------------------------------------------------------------------

    def advance(self, operation: Operation) -> None:
        if is_fulfilled(self.node) or enclosing_done(self.runtime, self.node):
            return
        stopping = operation.stopping(self.on_exit)
        if not stopping and self._fail_fast_tripped(operation):
            return
        while not is_fulfilled(self.node):
            if self.group_node is None:
                if self.index >= len(self.plan.groups):
                    self._succeed(operation)
                    return
                if stopping:
                    self._finish(FAILED)
                    return
                self._open_group()
            if not self.decided:
                if stopping:
                    self._stop_group()
                    return
                self._decide(operation)  # a new group: no node of it exists yet, none to adopt
                if not self.decided or is_fulfilled(self.node):
                    return
            if not stopping:
                if not self._start_pending(operation) or not self._start_exits(operation):
                    return
            if self.open:
                return
            if self.pending or self.exits_due:
                if stopping:
                    self._stop_group()
                return
            self._close_group()

    def _fail_fast_tripped(self, operation: Operation) -> bool:
        """Template-level ``failFast`` (``checkParallelism``): after a failed child nothing starts;
        once none of its pods is active, its last group and the Steps node fail."""
        counters = self.runtime.counters
        if not self.plan.template_fail_fast or counters.unsuccessful_children[self.identifier] == 0:
            return False
        if counters.active_pods[self.identifier] == 0:
            if self.group_node is not None and not is_fulfilled(self.group_node):
                self.runtime.nodes.finish(self.group_node, FAILED, FAIL_FAST_MESSAGE)
            self._set_outbound()
            self.runtime.nodes.finish(self.node, FAILED, FAIL_FAST_MESSAGE)
        return True

    def _open_group(self) -> None:
        """Create the next StepGroup node and hang it below the previous group's outbound nodes."""
        nodes = self.runtime.nodes
        name = self.group_name(self.index)
        group = nodes.by_name(name)
        if group is None:
            group = nodes.create(name, "StepGroup", None, self.identifier, f"[{self.index}]", RUNNING,
                                 node_flag={}, template_scope=self.scope_inside)
        if self.index == 0:
            add_child(self.node, group["id"])
        else:
            previous = nodes.by_name(self.group_name(self.index - 1)) or {}
            children = previous.get("children") or []
            if not children:
                add_child(previous, group["id"])
            for child in children:
                for outbound in nodes.outbound_nodes(child):
                    parent = nodes.get(outbound)
                    if parent is not None:
                        add_child(parent, group["id"])
        self.group_node = group
        self.decided = False
        self.entries = {}
        self.open = set()
        self.pending = deque()
        self.exits_due = deque()

    def _stop_group(self) -> None:
        """Stopping with steps of the group never started: the group and the Steps node fail."""
        if self.open:
            return
        if self.group_node is not None and not is_fulfilled(self.group_node):
            self.runtime.nodes.finish(self.group_node, FAILED)
        self._finish(FAILED)

    # -- deciding the open group ---------------------------------------------------------------------

    def _decide(self, operation: Operation) -> list[tuple[Node, Any]]:
        """Resolve, expand and sort the group's steps (``resolveReferences``, ``expandStepGroup``,
        the ``when`` loop); existing nodes (after a restart) are adopted. Returns the unfulfilled
        ones to adopt."""
        group = self.group_node
        assert group is not None
        steps = self.plan.groups[self.index]
        resolutions = []
        try:
            for step in steps:
                resolutions.append(resolve(step, self._strict_lookup))
        except WaitForReference as waiting:
            print(f"{self.runtime.record.name}: step group {group['name']} waits for {{{{{waiting}}}}}, which "
                  "has no value; Argo v4.0.5 requeues it until the workflow is stopped", file=sys.stderr)
            return []
        except ResolutionError as error:
            self._group_error(f"failed to resolve references: {error}")
            return []
        entries: list[Entry] = []
        try:
            for step, resolution in zip(steps, resolutions):
                name = step["name"]
                if not task_loops(step):
                    entry = Entry(f"{group['name']}.{name}", name, step, resolution.arguments)
                    if resolution.proceed is False:
                        entry.phase, entry.message = SKIPPED, when_false_message(str(resolution.when))
                    entries.append(entry)
                    continue
                items = loop_items(resolution)
                if not items:
                    entries.append(Entry(f"{group['name']}.{name}", name, step, {}, SKIPPED, EMPTY_PARAMS_MESSAGE))
                    continue
                for item in plan_items(group["name"], name, resolution, items, self.lookup):
                    entries.append(Entry(item.name, item.display_name, step, item.arguments, item.phase, item.message))
        except (ResolutionError, LoopError) as error:
            self._group_error(str(error))
            return []
        self.decided = True
        return self._sort_entries(entries)

    def _sort_entries(self, entries: list[Entry]) -> list[tuple[Node, Any]]:
        nodes = self.runtime.nodes
        adopt: list[tuple[Node, Any]] = []
        key = (STEP, self.index)
        arguments = self._workflow_arguments()
        for entry in entries:
            existing = nodes.by_name(entry.name)
            if existing is None and entry.phase == ERROR:
                # An invalid when of an item: the node errors, and so does the group (the steps
                # after it are not created).
                self._not_run(entry)
                self._group_error(entry.message or "")
                return adopt
            if existing is None and entry.phase is not None:
                self._not_run(entry)
                continue
            if existing is None:
                self.pending.append(entry)
                continue
            self.runtime.owners[existing["id"]] = (self, key)
            self.entries[existing["id"]] = entry
            if not is_fulfilled(existing):
                self.open.add(existing["id"])
                adopt.append((existing, key))
            elif existing.get("phase") in COMPLETED_PHASES and exit_hook(entry.step, arguments) is not None:
                exit_node = nodes.by_name(existing["name"] + ".onExit")
                if exit_node is None:
                    self.exits_due.append(existing["id"])
                else:
                    self.runtime.owners[exit_node["id"]] = (self, (EXIT, self.index))
                    if not is_fulfilled(exit_node):
                        self.open.add(exit_node["id"])
                        adopt.append((exit_node, (EXIT, self.index)))
        return adopt

    def _not_run(self, entry: Entry) -> None:
        """A Skipped node for a step that does not run (``when`` false, empty loop, invalid ``when``)."""
        self.runtime.expect(entry.name, self, (STEP, self.index))
        node = self.runtime.nodes.create(entry.name, "Skipped", entry.step.get("template"), self.identifier,
                                         entry.display_name, entry.phase or SKIPPED, message=entry.message,
                                         node_flag={})
        assert self.group_node is not None
        add_child(self.group_node, node["id"])

    def _group_error(self, message: str) -> None:
        """The group errs (``markNodeError``) and the Steps node fails with its message."""
        assert self.group_node is not None
        self.decided = True
        self.pending.clear()
        self.runtime.nodes.finish(self.group_node, ERROR, message)
        self._set_outbound()
        self.runtime.nodes.finish(self.node, FAILED, message)

    # -- starting ---------------------------------------------------------------------------------------

    def _start_pending(self, operation: Operation) -> bool:
        """Create the group's children in order while nothing holds them back; False when held."""
        assert self.group_node is not None
        while self.pending:
            entry = self.pending[0]
            template = reference_of(entry.step)
            # Known before it exists, so an exit hook is found even for a child fulfilled at once.
            self.entries[node_id(self.runtime.record.name, entry.name)] = entry
            created = operation.execute_template(entry.name, template, entry.arguments, self.identifier,
                                                 entry.display_name, owner=(self, (STEP, self.index)),
                                                 depth=self.depth + 1, on_exit=self.on_exit)
            if created is None:
                operation.hold(self)
                return False
            self.pending.popleft()
            add_child(self.group_node, created["id"])
            if created["type"] == "Skipped" and created.get("phase") == ERROR \
                    and created.get("message") != MAX_RECURSION_DEPTH_MESSAGE:
                self._group_error(f"step group deemed errored due to child {entry.name} error: "
                                  f"{created.get('message', '')}")
                return False
        return True

    def _start_exits(self, operation: Operation) -> bool:
        """Start the exit hooks of the children that completed (``runOnExitNode``); False when held."""
        while self.exits_due:
            child = self.runtime.nodes.get(self.exits_due[0])
            entry = self.entries.get(self.exits_due[0])
            if child is None or entry is None:
                self.exits_due.popleft()
                continue
            hook = exit_hook(entry.step, self._workflow_arguments()) or {}
            try:
                arguments = self._exit_arguments(hook.get("arguments") or {}, entry, child)
            except (UnresolvedReference, ExpressionTag) as error:
                self.exits_due.popleft()
                self._group_error(str(error))
                return False
            name = child["name"] + ".onExit"
            created = operation.execute_template(name, hook["template"], arguments, self.identifier,
                                                 f"{entry.display_name}.onExit", owner=(self, (EXIT, self.index)),
                                                 depth=self.depth + 1, on_exit=True, node_flag={"hooked": True})
            if created is None:
                operation.hold(self)
                return False
            self.exits_due.popleft()
            add_child(child, created["id"])
        return True

    def _exit_arguments(self, arguments: Mapping[str, Any], entry: Entry, child: Node) -> dict[str, Any]:
        """``resolveExitTmplArgument``: the hook's arguments, with the step's output parameters
        (``steps.NAME.outputs.parameters.P``, NAME as the expanded step is called) in scope."""
        if not arguments:
            return {}
        outputs = self._outputs_of(child)
        values = {f"steps.{entry.display_name}.outputs.parameters.{parameter['name']}": str(parameter.get("value", ""))
                  for parameter in (outputs or {}).get("parameters") or []}
        values.update({f"steps.{entry.display_name}.{ARTIFACT_FIELD}{artifact['name']}": artifact_text(artifact)
                       for artifact in (outputs or {}).get("artifacts") or []})
        return resolve_task_arguments({"arguments": arguments},
                                      lambda tag: values.get(tag, self.lookup(tag)))

    def _outputs_of(self, node: Node) -> dict[str, Any] | None:
        """A node's outputs; a Retry node's are its last attempt's (``possiblyGetRetryChildNode``)."""
        if node["type"] == "Retry" and node.get("children"):
            last = self.runtime.nodes.get(node["children"][-1])
            if last is not None:
                return last.get("outputs")
        return node.get("outputs")

    # -- closing the group and the Steps node --------------------------------------------------------

    def _close_group(self) -> None:
        """All children fulfilled: the group fails on a failed child without ``continueOn``, else
        its steps' outputs join the scope and the next group opens."""
        group = self.group_node
        assert group is not None
        nodes = self.runtime.nodes
        for identifier in group.get("children") or []:
            child = nodes.get(identifier)
            entry = self.entries.get(identifier)
            if child is None or child.get("phase") not in FAILED_PHASES:
                continue
            if entry is not None and _continues(continue_on(entry.step), child["phase"]):
                continue
            message = f"child '{identifier}' failed"
            nodes.finish(group, FAILED, message)
            self._set_outbound()
            nodes.finish(self.node, FAILED, message)
            return
        nodes.finish(group, SUCCEEDED)
        try:
            self._add_group_outputs(self.index, group)
        except LoopError as error:
            self._set_outbound()
            nodes.finish(self.node, ERROR, str(error))
            return
        self.index += 1
        self.group_node = None

    def _add_group_outputs(self, index: int, group: Node) -> None:
        """``steps.NAME.*`` of each step of the group (a looped step's outputs aggregated from its
        items; its id, status and times are the group's, as Argo's ``buildLocalScope``)."""
        nodes = self.runtime.nodes
        children = [nodes.get(identifier) for identifier in group.get("children") or []]
        for step in self.plan.groups[index]:
            name = step["name"]
            prefix = f"steps.{name}"
            node = nodes.by_name(f"{group['name']}.{name}")
            if node is not None:
                self._add_node_scope(prefix, node)
                continue
            items = [child for child in children if child is not None and child["type"] != "Skipped"
                     and child["name"].startswith(f"{group['name']}.{name}(")
                     and not (child.get("nodeFlag") or {}).get("hooked")]
            if items:
                for key, value in aggregate_outputs(items).items():
                    self.scope[f"{prefix}.{key}"] = value
            self._add_node_scope(prefix, group)

    def _add_node_scope(self, prefix: str, node: Node) -> None:
        if node["type"] == "Retry" and node.get("children"):
            node = self.runtime.nodes.get(node["children"][-1]) or node
        scope = self.scope
        scope[f"{prefix}.id"] = node["id"]
        for field in ("startedAt", "finishedAt"):
            if node.get(field):
                scope[f"{prefix}.{field}"] = node[field]
        if node.get("phase"):
            scope[f"{prefix}.status"] = node["phase"]
        if node.get("hostNodeName"):
            scope[f"{prefix}.hostNodeName"] = node["hostNodeName"]
        outputs = node.get("outputs") or {}
        if outputs.get("result") is not None:
            scope[f"{prefix}.outputs.result"] = outputs["result"]
        if outputs.get("exitCode") is not None:
            scope[f"{prefix}.exitCode"] = outputs["exitCode"]
        for parameter in outputs.get("parameters") or []:
            if "value" in parameter:
                scope[f"{prefix}.outputs.parameters.{parameter['name']}"] = str(parameter["value"])
        for artifact in outputs.get("artifacts") or []:
            scope[f"{prefix}.{ARTIFACT_FIELD}{artifact['name']}"] = artifact_text(artifact)

    def _set_outbound(self) -> None:
        """``updateOutboundNodes``: the outbound nodes of the last group's children."""
        nodes = self.runtime.nodes
        last = None
        for index in range(len(self.plan.groups) - 1, -1, -1):
            last = nodes.by_name(self.group_name(index))
            if last is not None:
                break
        if last is None:
            return
        self.node["outboundNodes"] = [outbound for child in last.get("children") or []
                                      for outbound in nodes.outbound_nodes(child)]

    def _succeed(self, operation: Operation) -> None:
        self._set_outbound()
        nodes = self.runtime.nodes
        try:
            outputs = dag_outputs(self.template, self.lookup)
        except UnresolvedReference as error:
            nodes.finish(self.node, ERROR, outputs_error(self.runtime, self.node, error.tag))
            return
        except ExpressionTag as error:
            nodes.finish(self.node, ERROR, str(error))
            return
        if outputs:
            self.node["outputs"] = outputs
        nodes.finish(self.node, SUCCEEDED)

    def _finish(self, phase: str) -> None:
        self._set_outbound()
        self.runtime.nodes.finish(self.node, phase)

    # -- references -----------------------------------------------------------------------------------

    def lookup(self, tag: str) -> str | None:
        """A variable's value inside this template: globals, its inputs, then ``steps.*``."""
        if tag in self.runtime.globals:
            return self.runtime.globals[tag]
        if tag in self.input_values:
            return self.input_values[tag]
        return self.scope.get(tag)

    def _strict_lookup(self, tag: str) -> str | None:
        """Argo's ``ReplaceStrict(..., ["steps", "tasks"])``: a ``steps.*`` without a value waits."""
        value = self.lookup(tag)
        if value is None and (tag.startswith("steps.") or tag.startswith("tasks.")):
            if f".{ARTIFACT_FIELD}" in tag:
                # An artifact is resolved from the scope, not waited for: a step without it is
                # "Unable to resolve" (``wfScope.resolveArtifact``).
                return ""
            raise WaitForReference(tag)
        return value


def _continues(options: ContinueOn, phase: str) -> bool:
    return options.covers(phase)


__all__ = ["COMPLETED_PHASES", "EXIT", "STEP", "STEP_REFERENCE", "StepsPlan", "StepsRun", "exit_hook",
           "step_groups", "steps_plan"]
