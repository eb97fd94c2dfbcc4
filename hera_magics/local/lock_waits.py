"""A template's ``synchronization`` at run time: its node waits, Pending, until its mutexes are free.

As ``executeTemplate`` in ``workflow/controller/operator.go`` (argoproj/argo-workflows v4.0.5)
does it, after ``checkParallelism``: ``TryAcquire`` for the node (holder
``NAMESPACE/WORKFLOW/NODE-ID``); when a lock is not free the node is created Pending (its type
is its template's), with the waiting message and ``synchronizationStatus.waiting`` naming the
lock (``markNodeWaitingForLock``), and it is tried again on every reconcile; once the locks are
taken the same node goes on as the template's node (its ``startedAt`` kept, message and
``synchronizationStatus`` cleared). The lock is released when the node is fulfilled
(``WorkflowRuntime.node_changed``).

The workflow's own ``spec.synchronization`` is taken before anything runs
(``acquire_workflow_locks``): while waiting the workflow is ``Pending`` with the waiting message;
``Terminate`` ends such a workflow ``Failed`` (``releaseLocksForPendingShuttingdownWfs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..argo import FAILED, PENDING, node_id, rfc3339
from .nodes import Node, is_fulfilled
from .parameters import node_inputs
from .records import WorkflowRecord, mark_completed_labels
from .spec import is_pod_template, template_kind
from .synchronization import Mutexes, holder_key, lock_acquired, lock_keys, lock_waiting

if TYPE_CHECKING:
    from .reconcile import Operation

NODE_TYPES = {"dag": "DAG", "steps": "Steps", "suspend": "Suspend"}


def node_type_for(template: dict[str, Any]) -> str:
    """The type of the node a template makes (``wfutil.GetNodeType``)."""
    if is_pod_template(template):
        return "Retry" if template.get("retryStrategy") is not None else "Pod"
    return NODE_TYPES.get(template_kind(template), "Pod")


@dataclass
class LockWait:
    """A node waiting for its template's locks: tried again on every reconcile."""

    node_name: str
    reference: Any
    arguments: dict[str, Any]
    boundary_id: str | None
    display_name: str
    owner: tuple[Any, Any]
    depth: int
    on_exit: bool
    node_flag: dict[str, Any] | None
    done: bool = False

    def advance(self, operation: Operation) -> None:
        if self.done:
            return
        node = operation.nodes.by_name(self.node_name)
        if node is None or is_fulfilled(node) or not node.get("synchronizationStatus"):
            self.done = True
            return
        if operation.stopping(self.on_exit):
            # Stopped or past the deadline while waiting: it never runs (a Pod node is failed by the
            # stop's kill already; a DAG or Steps node is failed here, and leaves the lock's queue).
            record = operation.record
            template = operation.runtime.resolve(self.reference) or {}
            if operation.runtime.locks is not None:
                operation.runtime.locks.release(holder_key(record.namespace, record.name, node["id"]),
                                                lock_keys(template.get("synchronization"), record.namespace))
            node.pop("synchronizationStatus", None)
            operation.nodes.finish(node, FAILED, operation.stop_reason or "")
            self.done = True
            return
        operation.execute_template(self.node_name, self.reference, self.arguments, self.boundary_id,
                                   self.display_name, owner=self.owner, depth=self.depth, on_exit=self.on_exit,
                                   node_flag=self.node_flag, resume_waiting=True)

    def child_event(self, node: Node, key: Any, created: bool, fulfilled: bool) -> None:
        """Nothing: the node is its owner's, not this unit's."""


def acquire_node_locks(operation: Operation, wait: LockWait, template: dict[str, Any],
                       inputs: dict[str, str]) -> Node | None:
    """Take the template's locks for the node ``wait.node_name``: None when taken (the caller
    creates the node as usual), else its Pending node."""
    runtime = operation.runtime
    record = operation.record
    locks = lock_keys(template.get("synchronization"), record.namespace)
    identifier = node_id(record.name, wait.node_name)
    holder = holder_key(record.namespace, record.name, identifier)
    assert runtime.locks is not None
    taken, message, failed = runtime.locks.try_acquire(record.obj, holder, locks)
    if taken:
        runtime.held[identifier] = locks
        lock_acquired(record.status, holder, locks)
        runtime.changed = True
        waited = operation.nodes.by_name(wait.node_name)
        if waited is not None:
            operation.nodes.detach(waited)  # created again below, without message and synchronizationStatus
        return None
    node = operation.nodes.by_name(wait.node_name)
    if node is None:
        runtime.expect(wait.node_name, *wait.owner)
        node = operation.nodes.create(wait.node_name, node_type_for(template), template.get("name"),
                                      wait.boundary_id, wait.display_name, PENDING, message=message,
                                      inputs=node_inputs(template, inputs), node_flag=wait.node_flag)
        runtime.lock_waits.append(wait)
        runtime.register(wait)
    elif node.get("message") != message:
        node["message"] = message
        operation.nodes.changed(node)
    node["synchronizationStatus"] = {"waiting": failed}
    lock_waiting(record.status, runtime.locks, locks)
    runtime.changed = True
    return node


def acquire_workflow_locks(record: WorkflowRecord, mutexes: Mutexes | None, now: float) -> bool:
    """Take ``spec.synchronization``'s locks before the workflow runs; False while it waits
    (the workflow is then Pending with the waiting message, or Failed after ``Terminate``)."""
    synchronization = record.obj["spec"].get("synchronization")
    if not synchronization or mutexes is None:
        return True
    status = record.status
    if status.get("startedAt"):
        return True  # taken when the workflow started (restored from its status after a restart)
    locks = lock_keys(synchronization, record.namespace)
    holder = holder_key(record.namespace, record.name)
    if record.obj["spec"].get("shutdown") == "Terminate":
        mutexes.release_workflow(record.key)
        status.pop("synchronization", None)
        status.update(phase=FAILED, message="Stopped with strategy 'Terminate'", finishedAt=rfc3339(now))
        mark_completed_labels(record)
        return False
    taken, message, _ = mutexes.try_acquire(record.obj, holder, locks)
    if taken:
        lock_acquired(status, holder, locks)
        if str(status.get("message", "")).startswith("Waiting for "):
            status.pop("message")
        return True
    status["phase"] = PENDING
    status["message"] = message
    lock_waiting(status, mutexes, locks)
    mark_completed_labels(record)
    return False


__all__ = ["LockWait", "acquire_node_locks", "acquire_workflow_locks", "node_type_for"]
