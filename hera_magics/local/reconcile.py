"""One reconcile of one workflow: take in what changed, advance what it wakes, finish when done.

``status.nodes`` is the only execution state, and a ``WorkflowRuntime`` (``runtime``) is what
the engine derives from it to act on events without walking the workflow. A reconcile
(``Operation.run``):

1. observes the nodes pod threads changed (their owners' bookkeeping moves, owners are queued);
2. on a stop or a passed deadline, kills the active pods once and queues every unit;
3. advances the queued units (a DAG starts its ready tasks, a Retry node its next attempt, the
   workflow its root or exit handler) until none is left, then the units whose ``parallelism``
   freed up, then the units whose timer is due;
4. completes the workflow when its root (and exit handler) are fulfilled and no pod is active.

The first reconcile of a workflow (a new one, or after an engine restart or a ``retry``) builds
the runtime from ``status.nodes`` (``_adopt``), so the walk is restartable. Argo's
``wfOperationCtx`` in ``workflow/controller/operator.go`` (argoproj/argo-workflows) is the model:
``executeTemplate`` and ``checkParallelism`` are ``Operation.execute_template`` and
``Operation.held_back``.
"""

from __future__ import annotations

import time
from typing import Any

from ..argo import (
    ERROR,
    MAX_RECURSION_DEPTH_MESSAGE,
    PENDING,
    POD_NAME_FORMAT_ANNOTATION,
    RUNNING,
    SUCCEEDED,
    WORKFLOW_DEADLINE_MESSAGE,
    rfc3339,
    shutdown_node_message,
)
from .container_sets import create_container_nodes
from .counters import WORKFLOW
from .dag_executor import DagRun
from .exit_handler import WorkflowRun, complete_workflow
from .nodes import MAX_RECURSION_DEPTH, Node, NodeBook, is_fulfilled, task_name_of
from .parameters import ResolutionError, input_variables, inputs_of_node, node_inputs, resolve_inputs
from .pod_launch import PodSettings, build_pod
from .pods import ActivePod, Pods
from .records import WorkflowRecord, mark_completed_labels
from .retries import RetryRun
from .runner import CommandNotFound
from .runtime import Unit, WorkflowRuntime
from .lock_waits import LockWait, acquire_node_locks, acquire_workflow_locks
from .memoization import MemoCache, memoization_status
from .spec import sync_stored_spec, template_kind
from .steps_executor import EXIT, StepsRun
from .suspend import SuspendRun, raw_outputs, suspend_duration
from .synchronization import Mutexes
from .template_refs import template_key_of
from .templates import template_name_of
from .templating import ExpressionTag, UnresolvedReference, parse_go_duration, substitute

FAIL_FAST_HOLD = "failFast:"
"""Prefix of the hold key of a DAG whose template ``failFast`` stopped it: nothing frees it."""
STOPPED = "stopped"
"""The hold key when the workflow is stopping: nothing frees it (every unit is queued once)."""


def reconcile(record: WorkflowRecord, runtime: WorkflowRuntime | None, pods: Pods,
              settings: PodSettings, locks: Mutexes | None = None,
              memos: MemoCache | None = None) -> tuple[WorkflowRuntime | None, float | None]:
    """Advance one workflow as far as it can go now (with the table's lock held).

    Returns its runtime (built when ``runtime`` is None; None while the workflow waits for its
    ``spec.synchronization`` locks, when only its status changed) and the delay in seconds after
    which it should be reconciled again, or None. ``locks`` are the engine's mutexes, ``memos``
    its memoization entries.
    """
    now = time.time()
    if runtime is None and not acquire_workflow_locks(record, locks, now):
        return None, None
    if not record.status.get("phase") or (record.status["phase"] == PENDING and not record.status.get("startedAt")):
        _start_workflow(record, now)
    if record.deadline_base is None:
        record.deadline_base = now
    fresh = runtime is None
    if runtime is None:
        runtime = WorkflowRuntime(record)
        runtime.locks = locks
        runtime.memos = memos
        runtime.release_fulfilled_holders()
    operation = Operation(pods, settings, runtime, now)
    if fresh:
        operation.adopt()
    operation.run()
    return runtime, operation.requeue_after


def _start_workflow(record: WorkflowRecord, now: float) -> None:
    status = record.status
    status["phase"] = RUNNING
    status["startedAt"] = rfc3339(now)
    status.setdefault("nodes", {})
    record.deadline_base = now
    record.obj["metadata"].setdefault("annotations", {})[POD_NAME_FORMAT_ANNOTATION] = "v2"
    mark_completed_labels(record)


class Operation:
    """One reconcile of a workflow, like Argo's ``wfOperationCtx`` (runs with the table's lock held)."""

    def __init__(self, pods: Pods, settings: PodSettings, runtime: WorkflowRuntime, now: float) -> None:
        self.pods = pods
        self.settings = settings
        self.runtime = runtime
        self.record = runtime.record
        self.now = now
        runtime.nodes.now = now
        sync_stored_spec(self.record.obj)
        self.spec = runtime.spec
        self.requeue_after: float | None = None
        self.shutdown = self.spec.get("shutdown")
        # Why nothing new may start (and running pods are killed), or None.
        self.stop_reason: str | None = shutdown_node_message(self.shutdown) if self.shutdown else None
        self.deadline_exceeded = False
        self._check_deadline()
        self.globals = runtime.globals
        started = self.record.status.get("startedAt")
        self.globals["workflow.duration"] = f"{max(now - (self.record.deadline_base or now), 0.0):.6f}" \
            if started else "0.000000"
        # Why the last execute_template/start_pod returned None.
        self.held_by = WORKFLOW

    @property
    def nodes(self) -> NodeBook:
        return self.runtime.nodes

    @property
    def templates(self) -> dict[str, dict[str, Any]]:
        return self.runtime.templates

    def _check_deadline(self) -> None:
        deadline = self.spec.get("activeDeadlineSeconds")
        if deadline is None or self.record.deadline_base is None:
            return
        remaining = self.record.deadline_base + int(deadline) - self.now
        if remaining <= 0:
            self.deadline_exceeded = True
            self.stop_reason = self.stop_reason or WORKFLOW_DEADLINE_MESSAGE
        else:
            self.schedule(remaining)

    def schedule(self, delay: float) -> None:
        """Reconcile again after ``delay`` seconds (the earliest request wins)."""
        delay = max(delay, 0.01)
        if self.requeue_after is None or delay < self.requeue_after:
            self.requeue_after = delay

    def stopping(self, on_exit: bool = False) -> bool:
        """True when nothing new may start: stopped or past the deadline. An exit handler still
        runs after ``Stop`` and the deadline, not after ``Terminate`` (``ShouldExecute``)."""
        if not self.stop_reason:
            return False
        return not on_exit or self.shutdown == "Terminate"

    # -- the loop -------------------------------------------------------------------------------------

    def run(self) -> None:
        runtime = self.runtime
        runtime.take_pending_changes()
        if self.stop_reason and runtime.stop_handled != self.stop_reason:
            self._kill_active_pods()
            runtime.stop_handled = self.stop_reason
            for unit in runtime.units:
                runtime.enqueue(unit)
        if self.spec.get("suspend"):
            self._while_suspended()
            return
        if runtime.suspended:
            # Resumed: whatever happened meanwhile is looked at again.
            runtime.suspended = False
            for unit in runtime.units:
                runtime.enqueue(unit)
        if runtime.root_unit is not None:
            runtime.enqueue(runtime.root_unit)
        for waiting in runtime.lock_waits:
            runtime.enqueue(waiting)  # a lock may have been freed (the engine woke this workflow)
        runtime.lock_waits = [waiting for waiting in runtime.lock_waits if not getattr(waiting, "done", False)]
        while True:
            unit = runtime.next_unit()
            if unit is not None:
                unit.advance(self)
                continue
            if runtime.wake_freed() or runtime.wake_due(self.now):
                continue
            break
        due = runtime.next_timer()
        if due is not None:
            self.schedule(due - self.now)
        self._maybe_complete()

    def _while_suspended(self) -> None:
        """``spec.suspend``: nothing new starts and the workflow does not complete (Argo's
        ``operate`` returns after pod reconciliation); a stop or the deadline still fails the
        Suspend nodes (``failNodesWithoutCreatedPodsAfterDeadlineOrShutdown``)."""
        self.runtime.suspended = True
        if self.stop_reason:
            for unit in self.runtime.units:
                if isinstance(unit, SuspendRun):
                    unit.advance(self)

    def _kill_active_pods(self) -> None:
        """Stop every active pod (an exit handler's only on ``Terminate``)."""
        exit_name = f"{self.record.name}.onExit"
        for identifier in list(self.runtime.counters.active_pod_ids):
            node = self.nodes.get(identifier)
            if node is None or node.get("phase") not in (PENDING, RUNNING):
                continue
            if self.shutdown != "Terminate" and node["name"].startswith(exit_name):
                continue
            self.pods.kill_node(self.record, node, self.stop_reason or "", self.now)
            self.nodes.changed(node)

    def _maybe_complete(self) -> None:
        root_unit = self.runtime.root_unit
        if not isinstance(root_unit, WorkflowRun) or not root_unit.done(self):
            return
        if self.runtime.counters.workflow_active_pods() or self.pods.has_active(self.record.key):
            return
        complete_workflow(self, root_unit)

    def hold(self, unit: Unit) -> None:
        """``unit`` could not create a node: wake it when what held it back frees up."""
        if self.held_by != STOPPED and not self.held_by.startswith(FAIL_FAST_HOLD):
            self.runtime.wait(unit, self.held_by)

    # -- creating nodes ---------------------------------------------------------------------------------

    def held_back(self, boundary_id: str | None, *, new_child: bool = True) -> str | None:
        """Argo's ``checkParallelism`` for a node about to be created: what holds it back, or None.

        The workflow's ``parallelism`` counts its active pods; the enclosing DAG's or steps
        template's ``failFast`` stops it after a failed child; that template's ``parallelism``
        counts its active children (Pod, DAG and Steps nodes directly in it, ``node_counters.go``).
        """
        counters = self.runtime.counters
        limit = self.spec.get("parallelism")
        if limit is not None and int(limit) > 0 and counters.workflow_active_pods() >= int(limit):
            return WORKFLOW
        if not boundary_id or not new_child:
            return None
        boundary = self.nodes.get(boundary_id)
        template = self.runtime.template_of(boundary) or {}
        plan = self.runtime.boundary_plan(template)
        if plan is None:
            return None
        if plan.template_fail_fast and counters.unsuccessful_children[boundary_id] > 0:
            return FAIL_FAST_HOLD + boundary_id
        if plan.parallelism is not None and counters.active_children[boundary_id] >= plan.parallelism:
            return boundary_id
        return None

    def execute_template(self, node_name: str, reference: Any, arguments: dict[str, Any],
                         boundary_id: str | None, display_name: str, *, owner: tuple[Unit, Any], depth: int,
                         on_exit: bool = False, node_flag: dict[str, Any] | None = None,
                         resume_waiting: bool = False) -> Node | None:
        """Create the node ``node_name`` for a template (Argo's ``executeTemplate``) and the unit
        that runs it; None when ``parallelism`` (or a stop) holds it back. ``reference`` is a
        template's name or an inline template (``templates``); ``resume_waiting`` tries again for
        a node waiting for its ``synchronization`` locks (``lock_waits``)."""
        existing = self.nodes.by_name(node_name)
        if existing is not None and not resume_waiting:
            return existing
        template = self.runtime.resolve(reference)
        assert template is not None, "validation makes sure every reference resolves"
        template_name = template_name_of(reference)
        kind = template_kind(template)
        runtime = self.runtime
        runtime.expect(node_name, *owner)
        if depth > MAX_RECURSION_DEPTH:
            return self.nodes.create(node_name, "Skipped", template_name, boundary_id, display_name, ERROR,
                                     message=MAX_RECURSION_DEPTH_MESSAGE)
        try:
            inputs = resolve_inputs(template, arguments, self.globals)
        except ResolutionError as error:
            return self.nodes.create(node_name, "Skipped", template_name, boundary_id, display_name, ERROR,
                                     message=str(error))
        if self.stopping(on_exit):
            self.held_by = STOPPED
            return None
        held = self.held_back(boundary_id, new_child=not resume_waiting)
        if held is not None:
            self.held_by = held
            return None
        if template.get("synchronization") and self.runtime.locks is not None:
            wait = LockWait(node_name, reference, arguments, boundary_id, display_name, owner, depth, on_exit,
                            node_flag)
            waiting = acquire_node_locks(self, wait, template, inputs)
            if waiting is not None:
                return waiting
        memoization = None
        if template.get("memoize") and self.runtime.memos is not None:
            try:
                cached, memoization = self._memoized(node_name, template, inputs, boundary_id, display_name, node_flag)
            except (UnresolvedReference, ExpressionTag, ValueError) as error:
                return self.nodes.create(node_name, "Skipped", template_name, boundary_id, display_name, ERROR,
                                         message=str(error))
            if cached is not None:
                return cached
        if kind == "dag":
            return self._start_dag(node_name, template, inputs, boundary_id, display_name, depth, on_exit, node_flag)
        if kind == "steps":
            return self._start_steps(node_name, template, inputs, boundary_id, display_name, depth, on_exit,
                                     node_flag)
        if kind == "suspend":
            return self._start_suspend(node_name, template, inputs, boundary_id, display_name, on_exit, node_flag)
        if template.get("retryStrategy") is not None:
            node = self.nodes.create(node_name, "Retry", template.get("name"), boundary_id, display_name, RUNNING,
                                     inputs=node_inputs(template, inputs), node_flag=node_flag)
            runtime.register(RetryRun(node, template, inputs, boundary_id, display_name, on_exit))
            return node
        return self.start_pod(node_name, template, inputs, boundary_id, display_name, retries=None,
                              on_exit=on_exit, node_flag=node_flag, checked=True, memoization=memoization)

    def _memoized(self, node_name: str, template: dict[str, Any], inputs: dict[str, str], boundary_id: str | None,
                  display_name: str, node_flag: dict[str, Any] | None) -> tuple[Node | None, dict[str, Any]]:
        """``memoize`` (``memoization``): the node made from a cache hit (None on a miss), and the
        node's ``memoizationStatus``."""
        memoize = template["memoize"]
        key = substitute(str(memoize.get("key", "")), {**self.globals, **input_variables(inputs)})
        max_age = parse_go_duration(substitute(str(memoize["maxAge"]), self.globals)) if memoize.get("maxAge") else None
        status = memoization_status(memoize, key, False)
        assert self.runtime.memos is not None
        outputs = self.runtime.memos.load(self.record.namespace, status["cacheName"], key, max_age, self.now)
        if outputs is None:
            return None, status
        node = self.nodes.create(node_name, "Pod", template.get("name"), boundary_id, display_name, SUCCEEDED,
                                 inputs=node_inputs(template, inputs), node_flag=node_flag)
        node["outputs"] = outputs
        node["memoizationStatus"] = memoization_status(memoize, key, True)
        return node, status

    def _start_dag(self, node_name: str, template: dict[str, Any], inputs: dict[str, str], boundary_id: str | None,
                   display_name: str, depth: int, on_exit: bool, node_flag: dict[str, Any] | None) -> Node:
        node = self.nodes.create(node_name, "DAG", template.get("name"), boundary_id, display_name, RUNNING,
                                 inputs=node_inputs(template, inputs), node_flag=node_flag)
        try:
            run = DagRun(self, node, template, inputs, depth, on_exit)
        except ResolutionError as error:
            self.nodes.finish(node, ERROR, str(error))
            return node
        run.scan(self)
        self.runtime.register(run)
        return node

    def _start_steps(self, node_name: str, template: dict[str, Any], inputs: dict[str, str], boundary_id: str | None,
                     display_name: str, depth: int, on_exit: bool, node_flag: dict[str, Any] | None) -> Node:
        node = self.nodes.create(node_name, "Steps", template.get("name"), boundary_id, display_name, RUNNING,
                                 inputs=node_inputs(template, inputs), node_flag=node_flag)
        run = StepsRun(self, node, template, inputs, depth, on_exit)
        run.scan(self)
        self.runtime.register(run)
        return node

    def _start_suspend(self, node_name: str, template: dict[str, Any], inputs: dict[str, str], boundary_id: str | None,
                       display_name: str, on_exit: bool, node_flag: dict[str, Any] | None) -> Node:
        """A Suspend node: Running until resumed or its duration passed (``executeSuspend``)."""
        node = self.nodes.create(node_name, "Suspend", template.get("name"), boundary_id, display_name, RUNNING,
                                 inputs=node_inputs(template, inputs), node_flag=node_flag)
        outputs = raw_outputs(template)
        if outputs:
            node["outputs"] = outputs
        try:
            duration = suspend_duration(template, inputs, self.globals)
        except ValueError as error:
            self.nodes.finish(node, ERROR, str(error))
            return node
        self.runtime.register(SuspendRun(node, duration, on_exit))
        return node

    def start_pod(self, node_name: str, template: dict[str, Any], inputs: dict[str, str], boundary_id: str | None,
                  display_name: str, *, retries: int | None, on_exit: bool = False,
                  node_flag: dict[str, Any] | None = None, checked: bool = False,
                  memoization: dict[str, Any] | None = None) -> Node | None:
        """Create the Pod node ``node_name`` and start its pod; None when it may not start yet.

        A retry's next attempt is held back by the workflow's ``parallelism`` only (Argo checks
        the template's when it creates the Retry node)."""
        existing = self.nodes.by_name(node_name)
        if existing is not None:
            return existing
        if not checked:
            if self.stopping(on_exit):
                self.held_by = STOPPED
                return None
            held = self.held_back(boundary_id, new_child=False)
            if held is not None:
                self.held_by = held
                return None
        if retries is not None:
            node_flag = {**(node_flag or {}), "retried": True}
        node = self.nodes.create(node_name, "Pod", template.get("name"), boundary_id, display_name, PENDING,
                                 inputs=node_inputs(template, inputs), node_flag=node_flag)
        node["progress"] = "0/1"
        node["hostNodeName"] = self.settings.host_name
        if memoization is not None:
            node["memoizationStatus"] = memoization
        if template.get("containerSet") is not None:
            create_container_nodes(self.nodes, node, template, node_flag)
        try:
            plan = build_pod(self.settings, self.record, self.globals, node, template, inputs,
                             retries=retries, capture_result=self._result_referenced(node))
        except (UnresolvedReference, ExpressionTag, CommandNotFound, ValueError) as error:
            self.nodes.finish(node, ERROR, str(error))
            return node
        self.pods.start(ActivePod(self.record.key, node["id"], plan))
        return node

    def _result_referenced(self, node: Node) -> bool:
        """Whether the pod's DAG or steps template reads its task's or step's ``outputs.result``
        (only then is stdout kept: ``includeScriptOutput``)."""
        boundary = self.nodes.get(node.get("boundaryID") or "")
        if boundary is None or boundary.get("type") not in ("DAG", "Steps"):
            return False
        template = self.runtime.template_of(boundary) or {}
        if boundary["type"] == "DAG":
            return task_name_of(node["name"]) in self.runtime.plan(template).result_tasks
        return task_name_of(node["name"]) in self.runtime.steps_plan(template).result_steps

    # -- rebuilding from status.nodes -------------------------------------------------------------------

    def adopt(self) -> None:
        """Build the runtime's units from the nodes that exist (a new workflow has none)."""
        runtime = self.runtime
        workflow_run = WorkflowRun()
        runtime.root_unit = workflow_run
        runtime.units.append(workflow_run)
        stack: list[tuple[Node, tuple[Unit, Any], int, bool]] = []
        root = self.nodes.by_name(self.record.name)
        if root is not None:
            stack.append((root, (workflow_run, "root"), 0, False))
        exit_node = self.nodes.by_name(f"{self.record.name}.onExit")
        if exit_node is not None:
            stack.append((exit_node, (workflow_run, "exit"), 0, True))
        while stack:
            node, owner, depth, on_exit = stack.pop()
            runtime.owners[node["id"]] = owner
            if is_fulfilled(node):
                continue
            template = self.runtime.template_of(node)
            if template is None:
                continue
            inputs = inputs_of_node(node)
            if node.get("synchronizationStatus"):
                # Still waiting for its template's locks: it waits again.
                arguments = {"parameters": [{"name": key, "value": value} for key, value in inputs.items()]}
                reference = template_key_of(node) if node.get("templateName") or node.get("templateRef") else template
                wait = LockWait(node["name"], reference, arguments, node.get("boundaryID"),
                                node.get("displayName", ""), owner, depth, on_exit, node.get("nodeFlag"))
                runtime.lock_waits.append(wait)
                runtime.register(wait)
                continue
            if node["type"] == "DAG":
                try:
                    run = DagRun(self, node, template, inputs, depth, on_exit)
                except ResolutionError as error:
                    self.nodes.finish(node, ERROR, str(error))
                    continue
                for child, key in run.scan(self):
                    stack.append((child, (run, key if isinstance(key, tuple) else ("task", key)), depth + 1, on_exit))
                runtime.register(run)
            elif node["type"] == "Steps":
                steps = StepsRun(self, node, template, inputs, depth, on_exit)
                for child, key in steps.scan(self):
                    stack.append((child, (steps, key), depth + 1, on_exit or key[0] == EXIT))
                runtime.register(steps)
            elif node["type"] == "Suspend":
                try:
                    duration = suspend_duration(template, inputs, self.globals)
                except ValueError as error:
                    self.nodes.finish(node, ERROR, str(error))
                    continue
                runtime.register(SuspendRun(node, duration, on_exit))
            elif node["type"] == "Retry":
                unit = RetryRun(node, template, inputs, node.get("boundaryID"), node.get("displayName", ""), on_exit)
                for child in node.get("children") or []:
                    runtime.owners[child] = (unit, "attempt")
                runtime.register(unit)
