"""One reconcile of one workflow: walk it from its entrypoint and create the next nodes.

``status.nodes`` is the only execution state, so a reconcile can run at any time: after a pod
ended, after a stop, after a ``retry`` removed failed nodes, after the engine started again. It
walks the templates from ``spec.entrypoint`` (``Operation.execute_template``); a node that is
fulfilled is left alone, one that is missing is created if it may start now (dependencies,
parallelism, stop), and the kinds of template have their own modules: ``dag_executor`` for DAGs,
``retries`` for a ``retryStrategy``, and ``pod_launch`` plus ``pods`` for a pod. When the root
node is fulfilled and no pod is active, the workflow completes.

It runs with the table's lock held and asks for a later reconcile (``requeue_after``) when time
alone will change something (a deadline, a retry backoff). Argo's ``wfOperationCtx`` in
``workflow/controller/operator.go`` (argoproj/argo-workflows) is the model.
"""

from __future__ import annotations

import time
from typing import Any

from ..argo import (
    ERROR,
    FAILED,
    MAX_RECURSION_DEPTH_MESSAGE,
    OMITTED,
    PENDING,
    POD_NAME_FORMAT_ANNOTATION,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    WORKFLOW_DEADLINE_MESSAGE,
    rfc3339,
    shutdown_node_message,
    shutdown_workflow_message,
)
from .dag_executor import execute_dag
from .nodes import MAX_RECURSION_DEPTH, Node, NodeBook, is_fulfilled, update_progress, without_attempt_suffix
from .parameters import ResolutionError, node_inputs, resolve_inputs, workflow_globals
from .pod_launch import PodSettings, build_pod
from .pods import ActivePod, Pods
from .records import WorkflowRecord, mark_completed_labels
from .retries import execute_retry
from .runner import CommandNotFound
from .spec import result_referenced, template_kind, templates_by_name
from .templating import ExpressionTag, UnresolvedReference


def reconcile(record: WorkflowRecord, pods: Pods, settings: PodSettings) -> float | None:
    """Advance one workflow as far as it can go now (with the table's lock held).

    Returns the delay in seconds after which it should be reconciled again, or None.
    """
    now = time.time()
    if not record.status.get("phase"):
        _start_workflow(record, now)
    if record.deadline_base is None:
        record.deadline_base = now
    operation = Operation(pods, settings, record, now)
    operation.run()
    return operation.requeue_after


def _start_workflow(record: WorkflowRecord, now: float) -> None:
    status = record.status
    status["phase"] = RUNNING
    status["startedAt"] = rfc3339(now)
    status.setdefault("nodes", {})
    record.deadline_base = now
    record.obj["metadata"].setdefault("annotations", {})[POD_NAME_FORMAT_ANNOTATION] = "v2"
    mark_completed_labels(record)


class Operation:
    """One pass over a workflow, like Argo's ``wfOperationCtx`` (runs with the table's lock held)."""

    def __init__(self, pods: Pods, settings: PodSettings, record: WorkflowRecord, now: float) -> None:
        self.pods = pods
        self.settings = settings
        self.record = record
        self.now = now
        self.spec = record.obj["spec"]
        self.nodes = NodeBook(record.name, record.nodes, now)
        self.templates = templates_by_name(self.spec)
        self.requeue_after: float | None = None
        self.shutdown = self.spec.get("shutdown")
        # Why nothing new may start (and running pods are killed), or None.
        self.stop_reason: str | None = shutdown_node_message(self.shutdown) if self.shutdown else None
        self.deadline_exceeded = False
        self._check_deadline()
        self.globals = workflow_globals(record.obj)

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

    def parallelism_reached(self, boundary_id: str | None) -> bool:
        """True when the workflow's or an enclosing DAG template's ``parallelism`` is used up."""
        limit = self.spec.get("parallelism")
        if limit is not None and int(limit) > 0 and self.nodes.active_pods_below(None) >= int(limit):
            return True
        current = boundary_id
        while current:
            boundary = self.nodes.get(current)
            if boundary is None:
                break
            template = self.templates.get(boundary.get("templateName", "")) or {}
            limit = template.get("parallelism")
            if limit is not None and int(limit) > 0 and self.nodes.active_pods_below(current) >= int(limit):
                return True
            current = boundary.get("boundaryID")
        return False

    # -- the walk -------------------------------------------------------------------------------

    def run(self) -> None:
        if self.stop_reason:
            for node in self.nodes.active_pods():
                self.pods.kill_node(self.record, node, self.stop_reason, self.now)
        name = self.record.name
        root = self.execute_template(name, self.spec["entrypoint"], self.spec.get("arguments") or {}, None, name,
                                     depth=0)
        update_progress(self.record.status)
        if self.pods.has_active(self.record.key):
            return
        if is_fulfilled(root):
            self.complete_workflow(root)
        elif root is None and self.stop_reason:
            # Stopped before its (pod) entrypoint could start: nothing will ever run.
            self.complete_workflow({"phase": FAILED, "message": self.stop_reason})

    def complete_workflow(self, root: Node) -> None:
        """The workflow's final phase and message, from its root node (or why it was stopped)."""
        status = self.record.status
        phase = root["phase"]
        if phase in (SKIPPED, OMITTED):
            phase = SUCCEEDED
        message = root.get("message")
        if self.shutdown:
            phase, message = FAILED, shutdown_workflow_message(self.shutdown)
        elif self.deadline_exceeded:
            phase, message = FAILED, WORKFLOW_DEADLINE_MESSAGE
        status["phase"] = phase
        status["finishedAt"] = rfc3339(self.now)
        if message:
            status["message"] = message
        else:
            status.pop("message", None)
        status["conditions"] = [{"type": "PodRunning", "status": "False"}, {"type": "Completed", "status": "True"}]
        mark_completed_labels(self.record)

    def execute_template(self, node_name: str, template_name: str, arguments: dict[str, Any],
                         boundary_id: str | None, display_name: str, *, depth: int) -> Node | None:
        """Create or advance the node ``node_name``; None when it cannot start yet (parallelism)."""
        existing = self.nodes.by_name(node_name)
        if is_fulfilled(existing):
            return existing
        template = self.templates[template_name]
        kind = template_kind(template)
        natural_type = "DAG" if kind == "dag" else ("Retry" if template.get("retryStrategy") is not None else "Pod")
        if depth > MAX_RECURSION_DEPTH:
            return existing or self.nodes.create(node_name, natural_type, template_name, boundary_id, display_name,
                                                 ERROR, message=MAX_RECURSION_DEPTH_MESSAGE)
        try:
            inputs = resolve_inputs(template, arguments, self.globals)
        except ResolutionError as error:
            if existing is not None:
                self.nodes.finish(existing, ERROR, str(error))
                return existing
            return self.nodes.create(node_name, natural_type, template_name, boundary_id, display_name, ERROR,
                                     message=str(error))
        if kind == "dag":
            return execute_dag(self, node_name, template, inputs, boundary_id, display_name, depth)
        if template.get("retryStrategy") is not None:
            return execute_retry(self, node_name, template, inputs, boundary_id, display_name)
        return self.execute_pod(node_name, template, inputs, boundary_id, display_name, retries=None)

    def execute_pod(self, node_name: str, template: dict[str, Any], inputs: dict[str, str],
                    boundary_id: str | None, display_name: str, *, retries: int | None) -> Node | None:
        """Create the Pod node ``node_name`` and start its pod; None when it may not start yet."""
        existing = self.nodes.by_name(node_name)
        if existing is not None:
            return existing
        if self.stop_reason or self.parallelism_reached(boundary_id):
            return None
        node = self.nodes.create(node_name, "Pod", template["name"], boundary_id, display_name, PENDING,
                                 inputs=node_inputs(template, inputs))
        node["progress"] = "0/1"
        node["hostNodeName"] = self.settings.host_name
        try:
            plan = build_pod(self.settings, self.record, self.globals, node, template, inputs,
                             retries=retries, capture_result=self._result_referenced(node))
        except (UnresolvedReference, ExpressionTag, CommandNotFound, ValueError) as error:
            self.nodes.finish(node, ERROR, str(error))
            self.schedule(0.01)
            return node
        self.pods.start(ActivePod(self.record.key, node["id"], plan))
        return node

    def _result_referenced(self, node: Node) -> bool:
        """Whether the pod's DAG reads its ``outputs.result`` (only then is stdout kept)."""
        boundary = self.nodes.get(node.get("boundaryID") or "")
        if boundary is None or boundary.get("type") != "DAG":
            return False
        dag_template = self.templates.get(boundary.get("templateName", "")) or {}
        return result_referenced(dag_template, without_attempt_suffix(node.get("displayName", "")))
