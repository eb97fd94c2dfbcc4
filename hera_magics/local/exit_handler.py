"""The workflow as a whole: its root node, its exit handler (``spec.onExit``) and its final phase.

As Argo's ``operate`` (``workflow/controller/operator.go`` in argoproj/argo-workflows, v4.0.5):
once the root node is fulfilled, the exit handler runs as the node ``<workflow>.onExit`` (no
boundary, display name = node name, ``nodeFlag: {hooked: true}``) with the workflow's
arguments, whatever the root's phase; it also runs after ``Stop`` and the workflow deadline,
not after ``Terminate``. It may read ``{{workflow.status}}`` (the root's phase, Skipped and
Omitted as Succeeded) and ``{{workflow.failures}}`` (``parameters.workflow_failures``). The
workflow completes when both are fulfilled: with the root's phase and message, except that a
Succeeded root with a failed exit handler makes the workflow Failed (or Error) with the exit
handler's message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..argo import FAILED, FAILED_PHASES, OMITTED, SKIPPED, SUCCEEDED, WORKFLOW_DEADLINE_MESSAGE, rfc3339
from ..argo import shutdown_workflow_message
from .nodes import Node, is_fulfilled
from .parameters import WORKFLOW_FAILURES, workflow_failures, workflow_status
from .records import mark_completed_labels

if TYPE_CHECKING:
    from .reconcile import Operation

EXIT_NODE_SUFFIX = ".onExit"
"""Argo's ``GenerateOnExitNodeName``: the exit handler's node is ``<workflow>.onExit``."""


class WorkflowRun:
    """The unit that owns the root node and the exit handler's node."""

    def child_event(self, node: Node, key: Any, created: bool, fulfilled: bool) -> None:
        """The root or the exit handler changed; ``advance`` decides (the runtime queues this unit)."""

    def advance(self, operation: Operation) -> None:
        name = operation.record.name
        spec = operation.spec
        root = operation.nodes.by_name(name)
        if root is None:
            if operation.stopping():
                return
            root = operation.execute_template(name, spec["entrypoint"], spec.get("arguments") or {}, None, name,
                                              owner=(self, "root"), depth=0)
            if root is None:
                operation.hold(self)
                return
        if not is_fulfilled(root) or not self._exit_runs(operation):
            return
        exit_name = name + EXIT_NODE_SUFFIX
        if operation.nodes.by_name(exit_name) is not None:
            return
        operation.globals["workflow.status"] = workflow_status(root["phase"])
        operation.globals[WORKFLOW_FAILURES] = workflow_failures(name, operation.nodes.nodes)
        exit_node = operation.execute_template(exit_name, spec["onExit"], spec.get("arguments") or {}, None,
                                               exit_name, owner=(self, "exit"), depth=0, on_exit=True,
                                               node_flag={"hooked": True})
        if exit_node is None:
            operation.hold(self)

    @staticmethod
    def _exit_runs(operation: Operation) -> bool:
        return bool(operation.spec.get("onExit")) and operation.shutdown != "Terminate"

    def done(self, operation: Operation) -> bool:
        """True when the root (and the exit handler, if it runs) are fulfilled."""
        root = operation.nodes.by_name(operation.record.name)
        if root is None:
            return bool(operation.stop_reason)  # stopped before the entrypoint could start
        if not is_fulfilled(root):
            return False
        if not self._exit_runs(operation):
            return True
        return is_fulfilled(operation.nodes.by_name(operation.record.name + EXIT_NODE_SUFFIX))


def complete_workflow(operation: Operation, run: WorkflowRun) -> None:
    """The workflow's final phase and message, from its root node, exit handler and stop."""
    record = operation.record
    status = record.status
    root = operation.nodes.by_name(record.name)
    exit_node = operation.nodes.by_name(record.name + EXIT_NODE_SUFFIX)
    if root is None:
        phase, message = FAILED, operation.stop_reason
    else:
        phase, message = root["phase"], root.get("message")
    if phase in (SKIPPED, OMITTED):
        phase = SUCCEEDED
    if operation.shutdown:
        phase, message = FAILED, shutdown_workflow_message(operation.shutdown)
    elif operation.deadline_exceeded:
        phase, message = FAILED, WORKFLOW_DEADLINE_MESSAGE
    elif phase == SUCCEEDED and exit_node is not None and exit_node.get("phase") in FAILED_PHASES:
        phase, message = exit_node["phase"], exit_node.get("message")
    status["phase"] = phase
    status["finishedAt"] = rfc3339(operation.now)
    if message:
        status["message"] = message
    else:
        status.pop("message", None)
    status["conditions"] = [{"type": "PodRunning", "status": "False"}, {"type": "Completed", "status": "True"}]
    mark_completed_labels(record)
    operation.runtime.changed = True
