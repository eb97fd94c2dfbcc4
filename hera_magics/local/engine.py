"""The local engine's controller: it keeps Workflow objects and runs them like Argo would.

Design, in the spirit of Argo's own controller:

* ``status.nodes`` is the only execution state. A *reconcile* walks the workflow from its
  entrypoint, looks at the nodes that exist, and creates the next ones (``_Operation``). It
  is idempotent, so it can run after every event, after a ``retry`` that removed failed nodes,
  and after an engine restart.
* Reconciles run on one controller thread, fed by a queue; everything that changes a
  workflow holds one engine lock, so HTTP readers always see a consistent object.
* A Pod node runs on its own thread: it waits for one of ``workers`` process slots (the node
  stays Pending meanwhile), starts the process tree (``runner.PodProcess``), waits, and writes
  the outcome into the node. Stop, terminate and deadlines kill the tree with ``os.killpg``.
* Every workflow is saved as JSON after each change, and each node has its own folder with its
  log and its private file-system root (``HERA_MAGICS_PATH_PREFIX``).
"""

from __future__ import annotations

import copy
import getpass
import heapq
import itertools
import json
import os
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from . import spec as specs
from .expressions import ExpressionError, evaluate_depends, evaluate_when
from ..argo import (
    ERROR,
    EXECUTABLE_NODE_TYPES as EXECUTABLE_TYPES,
    FAILED,
    FAILED_PHASES as FAILED_OR_ERROR,
    FINAL_PHASES as COMPLETED,
    FULFILLED_PHASES as FULFILLED,
    LABEL_COMPLETED,
    LABEL_CREATOR,
    LABEL_PHASE,
    OMITTED,
    OMITTED_MESSAGE,
    PENDING,
    POD_NAME_FORMAT_ANNOTATION as ANNOTATION_POD_NAME_FORMAT,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    node_id,
    parse_rfc3339,
    pod_name,
    rfc3339,
)
from .naming import dns_friendly, generated_name
from .runner import CommandNotFound, PodLaunch, PodOutcome, PodProcess, kill_stale_group, resolve_argv
from .selectors import Requirement, field_value, labels_match
from .store import WorkflowStore
from .templating import ExpressionTag, UnresolvedReference, parameter_text, parse_duration, substitute
from .validation import WorkflowInvalid, validate_workflow
from .wire import INTERNAL, ApiError, already_exists, bad_request, not_found


METADATA_ORDER = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation",
                  "creationTimestamp", "labels", "annotations")

# Messages, word for word as Argo writes them.
NO_MORE_RETRIES = "No more retries left"
MAX_DURATION_EXCEEDED = "Max duration limit exceeded"
WORKFLOW_DEADLINE_MESSAGE = "Step exceeded its deadline"
MAX_DEPTH_MESSAGE = "Maximum recursion depth exceeded. See https://argo-workflows.readthedocs.io/en/latest/scaling/#maximum-recursion-depth"
# Ours: what a node that was running when the engine stopped says.
ENGINE_STOPPED_MESSAGE = "the local engine stopped while this task ran"

MAX_RECURSION_DEPTH = 100
PATH_PREFIX_VARIABLE = "HERA_MAGICS_PATH_PREFIX"
NODE_MARKER_VARIABLE = "HERA_MAGICS_NODE"


def shutdown_node_message(strategy: str) -> str:
    # Argo's format string has two spaces here; clients match it, so keep them.
    return f"workflow shutdown with strategy:  {strategy}"


def shutdown_workflow_message(strategy: str) -> str:
    return f"Stopped with strategy '{strategy}'"


def is_fulfilled(node: dict[str, Any] | None) -> bool:
    return node is not None and node.get("phase") in FULFILLED


# ----------------------------------------------------------------------------------------------
# Small concurrency helpers
# ----------------------------------------------------------------------------------------------


class SlotPool:
    """``size`` process slots handed out first come, first served; waiting can be cancelled."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._condition = threading.Condition()
        self._waiting: deque[object] = deque()

    def acquire(self, cancelled: threading.Event) -> bool:
        ticket = object()
        with self._condition:
            self._waiting.append(ticket)
            try:
                while True:
                    if cancelled.is_set():
                        return False
                    if self._free > 0 and self._waiting[0] is ticket:
                        self._free -= 1
                        return True
                    self._condition.wait(0.2)
            finally:
                self._waiting.remove(ticket)
                self._condition.notify_all()

    def release(self) -> None:
        with self._condition:
            self._free += 1
            self._condition.notify_all()


class ReconcileQueue:
    """Workflow keys to reconcile, each at most once in the queue, some after a delay."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._ready: dict[tuple[str, str], None] = {}
        self._delayed: list[tuple[float, int, tuple[str, str]]] = []
        self._sequence = itertools.count()

    def add(self, key: tuple[str, str], delay: float = 0.0) -> None:
        with self._condition:
            if delay > 0:
                heapq.heappush(self._delayed, (time.monotonic() + delay, next(self._sequence), key))
            else:
                self._ready[key] = None
            self._condition.notify_all()

    def get(self, stopping: threading.Event) -> tuple[str, str] | None:
        with self._condition:
            while not stopping.is_set():
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    _, _, key = heapq.heappop(self._delayed)
                    self._ready[key] = None
                if self._ready:
                    key = next(iter(self._ready))
                    del self._ready[key]
                    return key
                timeout = self._delayed[0][0] - now if self._delayed else 0.5
                self._condition.wait(min(max(timeout, 0.01), 0.5))
            return None


# ----------------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------------


@dataclass
class WorkflowRecord:
    """One workflow the engine knows, with what is not part of the Workflow object."""

    namespace: str
    name: str
    obj: dict[str, Any]
    # When the workflow (re)started running: activeDeadlineSeconds counts from here.
    deadline_base: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def status(self) -> dict[str, Any]:
        return self.obj.setdefault("status", {})

    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        return self.status.setdefault("nodes", {})

    @property
    def completed(self) -> bool:
        return self.status.get("phase") in COMPLETED


@dataclass
class ActivePod:
    """A Pod node between creation and its final phase."""

    key: tuple[str, str]
    node_id: str
    launch: PodLaunch
    prepare: Callable[[], None]
    output_parameters: list[dict[str, Any]]
    cancelled: threading.Event = field(default_factory=threading.Event)
    process: PodProcess | None = None
    thread: threading.Thread | None = None


@dataclass
class LogLine:
    timestamp: str
    content: str
    pod_name: str


# ----------------------------------------------------------------------------------------------
# The engine
# ----------------------------------------------------------------------------------------------


class Engine:
    """Workflows in, processes out: the part of Argo's controller the local engine needs."""

    def __init__(self, state_dir: Path, *, workers: int, volumes: dict[str, Path] | None = None,
                 python: str | None = None, base_environment: dict[str, str] | None = None) -> None:
        self.store = WorkflowStore(state_dir)
        self.workers = workers
        self.volumes = dict(volumes or {})
        self.python = python
        self.base_environment = dict(os.environ if base_environment is None else base_environment)
        self.user = getpass.getuser()
        self.host_name = socket.gethostname()
        self._lock = threading.RLock()
        self._workflows: dict[tuple[str, str], WorkflowRecord] = {}
        self._active: dict[tuple[tuple[str, str], str], ActivePod] = {}
        self._slots = SlotPool(workers)
        self._queue = ReconcileQueue()
        self._stopping = threading.Event()
        self._resource_version = itertools.count(1)
        self._controller: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Load saved workflows and start the controller thread."""
        self._load()
        self._controller = threading.Thread(target=self._control_loop, name="controller", daemon=True)
        self._controller.start()

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Kill every running process tree, record it in the nodes, and stop the controller."""
        # First, so that nothing new starts while the running trees are being killed.
        self._stopping.set()
        with self._lock:
            actives = list(self._active.values())
            for active in actives:
                if active.process is not None:
                    active.process.kill(ENGINE_STOPPED_MESSAGE)
                else:
                    active.cancelled.set()
        deadline = time.monotonic() + grace_seconds
        for active in actives:
            if active.thread is not None:
                active.thread.join(max(0.0, deadline - time.monotonic()))
        if self._controller is not None:
            self._controller.join(2.0)
        with self._lock:
            for record in self._workflows.values():
                self._save(record)

    def _load(self) -> None:
        highest = 0
        now = time.time()
        for workflow in self.store.load_all():
            metadata = workflow.get("metadata") or {}
            namespace, name = metadata.get("namespace"), metadata.get("name")
            if not namespace or not name:
                continue
            record = WorkflowRecord(namespace, name, workflow)
            try:
                highest = max(highest, int(metadata.get("resourceVersion") or 0))
            except ValueError:
                pass
            if not record.completed:
                started = record.status.get("startedAt")
                record.deadline_base = parse_rfc3339(started) if started else None
                for node in record.nodes.values():
                    if node.get("type") == "Pod" and node.get("phase") in (PENDING, RUNNING):
                        self._kill_leftover(record, node)
                        node["phase"] = ERROR
                        node["message"] = ENGINE_STOPPED_MESSAGE
                        node["finishedAt"] = rfc3339(now)
                self._queue.add(record.key)
            self._workflows[record.key] = record
        self._resource_version = itertools.count(highest + 1)

    def _kill_leftover(self, record: WorkflowRecord, node: dict[str, Any]) -> None:
        pid_file = self.store.node_dir(record.namespace, record.name, node["id"]) / "pid"
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            return
        kill_stale_group(pid, f"{NODE_MARKER_VARIABLE}={record.namespace}/{node['id']}")

    def _control_loop(self) -> None:
        while not self._stopping.is_set():
            key = self._queue.get(self._stopping)
            if key is None:
                continue
            with self._lock:
                record = self._workflows.get(key)
                if record is not None:
                    try:
                        self._reconcile(record)
                    except Exception as error:  # a bug must not stop every other workflow
                        self._fail_on_bug(record, error)

    def _fail_on_bug(self, record: WorkflowRecord, error: Exception) -> None:
        import traceback

        traceback.print_exc()
        status = record.status
        if record.completed:
            return
        status["phase"] = ERROR
        status["message"] = f"the local engine failed: {type(error).__name__}: {error}"
        status["finishedAt"] = rfc3339()
        self._mark_completed_labels(record)
        self._commit(record)

    # -- bookkeeping ---------------------------------------------------------------------------

    def _commit(self, record: WorkflowRecord) -> None:
        """Record a change: new resourceVersion, saved to disk."""
        metadata = record.obj["metadata"]
        metadata["resourceVersion"] = str(next(self._resource_version))
        # Kubernetes' key order, so the JSON reads like a real server's.
        ordered = {key: metadata[key] for key in METADATA_ORDER if key in metadata}
        ordered.update((key, value) for key, value in metadata.items() if key not in ordered)
        record.obj["metadata"] = ordered
        self._save(record)

    def _save(self, record: WorkflowRecord) -> None:
        self.store.save(record.namespace, record.name, record.obj)

    def _mark_completed_labels(self, record: WorkflowRecord) -> None:
        labels = record.obj["metadata"].setdefault("labels", {})
        labels[LABEL_PHASE] = record.status.get("phase", "")
        labels[LABEL_COMPLETED] = "true" if record.completed else "false"

    def _record(self, namespace: str, name: str) -> WorkflowRecord:
        if name == "@latest":
            candidates = [record for record in self._workflows.values() if record.namespace == namespace]
            if not candidates:
                raise not_found(name)
            return max(candidates, key=lambda record: (record.obj["metadata"].get("creationTimestamp") or "",
                                                       int(record.obj["metadata"].get("resourceVersion") or 0)))
        record = self._workflows.get((namespace, name))
        if record is None:
            raise not_found(name)
        return record

    # -- API: create, read, delete ------------------------------------------------------------

    def create(self, namespace: str, request: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/v1/workflows/{namespace}``: validate, name, store, start."""
        workflow = request.get("workflow") if isinstance(request, dict) else None
        if not isinstance(workflow, dict):
            raise bad_request("workflow is required")
        workflow = copy.deepcopy(workflow)
        metadata = workflow.get("metadata")
        if not isinstance(metadata, dict):
            raise bad_request("metadata is required")
        given_namespace = metadata.get("namespace")
        if given_namespace and given_namespace != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        metadata["namespace"] = namespace
        try:
            validate_workflow(workflow, volume_claims=self.volumes.keys(),
                              executable_exists=self._executable_exists)
        except WorkflowInvalid as error:
            raise bad_request(str(error)) from None
        labels = metadata.setdefault("labels", {})
        labels[LABEL_CREATOR] = dns_friendly(self.user) or "local"

        dry_run = bool(request.get("serverDryRun")) or bool((request.get("createOptions") or {}).get("dryRun"))
        with self._lock:
            name = metadata.get("name")
            if not name:
                for _ in range(100):
                    name = generated_name(metadata["generateName"])
                    if (namespace, name) not in self._workflows:
                        break
            if (namespace, name) in self._workflows:
                raise already_exists(name)
            metadata["name"] = name
            metadata["uid"] = str(uuid.uuid4())
            metadata["generation"] = 1
            metadata["creationTimestamp"] = rfc3339()
            stored = {
                "metadata": metadata,
                "spec": workflow.get("spec") or {},
                "status": {"startedAt": None, "finishedAt": None},
            }
            if dry_run:
                return copy.deepcopy(stored)
            record = WorkflowRecord(namespace, name, stored)
            self._workflows[record.key] = record
            self._commit(record)
            self._queue.add(record.key)
            return copy.deepcopy(record.obj)

    def lint(self, namespace: str, request: dict[str, Any]) -> dict[str, Any]:
        """``POST .../lint``: validation only; an invalid spec is a 500 code 2, as on Argo."""
        workflow = request.get("workflow") if isinstance(request, dict) else None
        if not isinstance(workflow, dict):
            raise ApiError(2, "unable to get a workflow")
        workflow = copy.deepcopy(workflow)
        workflow.setdefault("metadata", {}).setdefault("namespace", namespace)
        try:
            validate_workflow(workflow, volume_claims=self.volumes.keys(), executable_exists=self._executable_exists)
        except WorkflowInvalid as error:
            raise ApiError(2, str(error)) from None
        workflow["metadata"].setdefault("labels", {})[LABEL_CREATOR] = dns_friendly(self.user) or "local"
        return workflow

    def _executable_exists(self, word: str) -> bool:
        try:
            resolve_argv([word], self.python)
            return True
        except CommandNotFound:
            return False

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._record(namespace, name).obj)

    def list(self, namespace: str | None, *, label_selector: list[Requirement] | None = None,
             field_selector: list[tuple[str, str, str]] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            records = [record for record in self._workflows.values() if not namespace or record.namespace == namespace]
            items = []
            for record in records:
                metadata = record.obj["metadata"]
                if label_selector and not labels_match(label_selector, metadata.get("labels")):
                    continue
                if field_selector and not all(
                    (str(field_value(record.obj, path) or "") == value) == (operator == "=")
                    for path, operator, value in field_selector
                ):
                    continue
                items.append(copy.deepcopy(record.obj))
        # Newest first, as the Argo UI and CLI show them.
        items.sort(key=lambda item: (item["metadata"].get("creationTimestamp") or "",
                                     int(item["metadata"].get("resourceVersion") or 0)), reverse=True)
        return items

    def delete(self, namespace: str, name: str) -> None:
        with self._lock:
            record = self._record(namespace, name)
            del self._workflows[record.key]
            actives = [active for active in self._active.values() if active.key == record.key]
            for active in actives:
                active.cancelled.set()
                if active.process is not None:
                    active.process.kill("pod deleted")
        for active in actives:
            if active.thread is not None:
                active.thread.join(10.0)
        self.store.delete(namespace, name)

    # -- API: actions ---------------------------------------------------------------------------

    def shutdown(self, namespace: str, name: str, strategy: str) -> dict[str, Any]:
        """``PUT .../stop`` (``Stop``) and ``.../terminate`` (``Terminate``)."""
        with self._lock:
            record = self._record(namespace, name)
            if record.completed:
                raise ApiError(INTERNAL, f'cannot shutdown a completed workflow: workflow: "{record.name}", '
                                         f'namespace: "{record.namespace}"')
            record.obj["spec"]["shutdown"] = strategy
            self._commit(record)
            self._reconcile(record)
            return copy.deepcopy(record.obj)

    def retry(self, namespace: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """``PUT .../retry``: reset failed nodes and run the same workflow again."""
        with self._lock:
            record = self._record(namespace, name)
            phase = record.status.get("phase") or ""
            if request.get("restartSuccessful") or request.get("nodeFieldSelector"):
                raise bad_request("restartSuccessful and nodeFieldSelector are not supported by the local engine")
            if phase == SUCCEEDED:
                raise bad_request("To retry a succeeded workflow, set the options restartSuccessful and nodeFieldSelector")
            if phase not in FAILED_OR_ERROR:
                raise bad_request(f"Cannot retry a workflow in phase {phase}")
            for parameter in request.get("parameters") or []:
                key, separator, value = str(parameter).partition("=")
                if not separator:
                    raise bad_request(f"parameter {parameter!r} must be key=value")
                self._set_argument(record, key, value)
            self._reset_for_retry(record)
            self._commit(record)
            self._queue.add(record.key)
            return copy.deepcopy(record.obj)

    def resubmit(self, namespace: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """``PUT .../resubmit``: a new workflow from the same spec."""
        with self._lock:
            record = self._record(namespace, name)
            if request.get("memoized"):
                raise bad_request("memoized resubmit is not supported by the local engine")
            metadata = record.obj["metadata"]
            spec = copy.deepcopy(record.obj["spec"])
            spec.pop("shutdown", None)
            labels = {key: value for key, value in (metadata.get("labels") or {}).items()
                      if not key.startswith("workflows.argoproj.io/")}
            labels["workflows.argoproj.io/resubmitted-from-workflow"] = record.name
            new_metadata = {"generateName": metadata.get("generateName") or f"{record.name}-", "labels": labels}
            if metadata.get("annotations"):
                new_metadata["annotations"] = {key: value for key, value in metadata["annotations"].items()
                                               if key != ANNOTATION_POD_NAME_FORMAT}
            workflow = {"metadata": new_metadata, "spec": spec}
            for parameter in request.get("parameters") or []:
                key, _, value = str(parameter).partition("=")
                for argument in (spec.get("arguments") or {}).get("parameters") or []:
                    if argument.get("name") == key:
                        argument["value"] = value
        return self.create(namespace, {"workflow": workflow})

    def _set_argument(self, record: WorkflowRecord, key: str, value: str) -> None:
        arguments = record.obj["spec"].setdefault("arguments", {}).setdefault("parameters", [])
        for argument in arguments:
            if argument.get("name") == key:
                argument["value"] = value
                return
        raise bad_request(f"parameter {key!r} is not an argument of this workflow")

    def _reset_for_retry(self, record: WorkflowRecord) -> None:
        """Remove failed work so the next reconcile runs it again; keep what succeeded.

        Failed/Errored/Omitted leaf nodes and failed Retry nodes (with their attempts) go, and
        so does everything that hangs below them through ``children``; failed DAG nodes are
        reset to Running. As Argo does, the removed pods' logs go too.
        """
        nodes = record.nodes
        removed: set[str] = set()

        def remove_below(start: str) -> None:
            stack = [start]
            while stack:
                current = stack.pop()
                if current in removed or current not in nodes:
                    continue
                removed.add(current)
                stack.extend(nodes[current].get("children") or [])

        for node in list(nodes.values()):
            if node["type"] in ("Pod", "Skipped", "Retry") and node.get("phase") in (FAILED, ERROR, OMITTED):
                if node["type"] == "Pod" and self._is_attempt(record, node):
                    continue  # attempts go with their Retry node
                remove_below(node["id"])
        # A Retry node's attempts hang below it; a DAG's tasks below the DAG. Keep succeeded
        # tasks of failed DAGs: only the DAG node itself is reset.
        for node_key in list(nodes):
            node = nodes[node_key]
            if node_key in removed:
                continue
            if node["type"] == "DAG" and node.get("phase") in (FAILED, ERROR):
                node["phase"] = RUNNING
                node["finishedAt"] = None
                node.pop("message", None)
                node.pop("outboundNodes", None)
        for node_key in removed:
            self.store.delete_node(record.namespace, record.name, node_key)
            nodes.pop(node_key, None)
        for node in nodes.values():
            if node.get("children"):
                node["children"] = [child for child in node["children"] if child not in removed]
                if not node["children"]:
                    del node["children"]
        status = record.status
        status["phase"] = RUNNING
        status["finishedAt"] = None
        status.pop("message", None)
        record.obj["spec"].pop("shutdown", None)
        record.deadline_base = time.time()
        self._mark_completed_labels(record)

    @staticmethod
    def _is_attempt(record: WorkflowRecord, node: dict[str, Any]) -> bool:
        return bool(re.search(r"\(\d+\)$", node["name"])) and any(
            parent.get("type") == "Retry" and node["id"] in (parent.get("children") or [])
            for parent in record.nodes.values()
        )

    # -- reconcile ------------------------------------------------------------------------------

    def _reconcile(self, record: WorkflowRecord) -> None:
        """Advance one workflow as far as it can go now (called with the lock held)."""
        if record.completed:
            return
        before = json.dumps(record.obj, sort_keys=True)
        now = time.time()
        status = record.status
        if not status.get("phase"):
            status["phase"] = RUNNING
            status["startedAt"] = rfc3339(now)
            status.setdefault("nodes", {})
            record.deadline_base = now
            record.obj["metadata"].setdefault("annotations", {})[ANNOTATION_POD_NAME_FORMAT] = "v2"
            self._mark_completed_labels(record)
        if record.deadline_base is None:
            record.deadline_base = now
        operation = _Operation(self, record, now)
        operation.run()
        if json.dumps(record.obj, sort_keys=True) != before:
            self._commit(record)
        if operation.requeue_after is not None:
            self._queue.add(record.key, operation.requeue_after)

    # -- pods -------------------------------------------------------------------------------------

    def _start_pod(self, active: ActivePod) -> None:
        self._active[(active.key, active.node_id)] = active
        thread = threading.Thread(target=self._run_pod, args=(active,), daemon=True,
                                  name=f"pod-{active.node_id}")
        active.thread = thread
        thread.start()

    def _run_pod(self, active: ActivePod) -> None:
        if not self._slots.acquire(active.cancelled):
            return
        try:
            try:
                active.prepare()
            except OSError as error:
                self._finish_without_process(active, f"failed to prepare the pod: {error}")
                return
            with self._lock:
                record = self._workflows.get(active.key)
                if record is None or active.cancelled.is_set() or self._stopping.is_set():
                    # Deleted, stopped, or the engine is going down: the node stays Pending
                    # (marked as interrupted when the engine starts again).
                    self._active.pop((active.key, active.node_id), None)
                    return
                node = record.nodes.get(active.node_id)
                if node is None or node.get("phase") != PENDING:
                    self._active.pop((active.key, active.node_id), None)
                    return
                process = PodProcess(active.launch)
                try:
                    process.start()
                except OSError as error:
                    self._active.pop((active.key, active.node_id), None)
                    node.update(phase=ERROR, message=f"failed to start: {error}", finishedAt=rfc3339())
                    self._commit(record)
                    self._queue.add(record.key)
                    return
                active.process = process
                node["phase"] = RUNNING
                # The local engine reports when the process started, not when the node was
                # created: with few workers a node may wait Pending for a process slot.
                node["startedAt"] = rfc3339(process.started_at)
                try:
                    (self.store.node_dir(record.namespace, record.name, node["id"]) / "pid").write_text(str(process.pid))
                except OSError:
                    pass
                self._commit(record)
            outcome = process.wait()
            try:
                (self.store.node_dir(active.key[0], active.key[1], active.node_id) / "pid").unlink()
            except OSError:
                pass
            parameters, output_error = self._collect_output_parameters(active, outcome)
            with self._lock:
                self._active.pop((active.key, active.node_id), None)
                record = self._workflows.get(active.key)
                if record is None:
                    return
                node = record.nodes.get(active.node_id)
                if node is None:
                    return
                self._apply_outcome(node, outcome, parameters, output_error)
                self._commit(record)
                self._queue.add(record.key)
        finally:
            self._slots.release()

    def _finish_without_process(self, active: ActivePod, message: str) -> None:
        with self._lock:
            self._active.pop((active.key, active.node_id), None)
            record = self._workflows.get(active.key)
            if record is None:
                return
            node = record.nodes.get(active.node_id)
            if node is not None and node.get("phase") == PENDING:
                node.update(phase=ERROR, message=message, finishedAt=rfc3339())
                self._commit(record)
            self._queue.add(record.key)

    def _collect_output_parameters(self, active: ActivePod, outcome: PodOutcome) -> tuple[list[dict[str, Any]], str | None]:
        """Read each output parameter from ``<prefix><path>``; a missing file is an error on success."""
        parameters = []
        error = None
        for declared in active.output_parameters:
            local_path = Path(declared["localPath"])
            entry = {"name": declared["name"], "valueFrom": declared["valueFrom"]}
            try:
                text = local_path.read_text(encoding="utf-8", errors="replace")
                # Argo trims one trailing newline "for user convenience".
                entry["value"] = text[:-1] if text.endswith("\n") else text
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as problem:
                default = declared["valueFrom"].get("default")
                if default is not None:
                    entry["value"] = parameter_text(default)
                elif error is None and outcome.exit_code == 0 and outcome.kill_message is None:
                    reason = "is a directory" if isinstance(problem, IsADirectoryError) else "no such file or directory"
                    error = f"failed to save outputs: open {declared['path']}: {reason}"
            parameters.append(entry)
        return parameters, error

    @staticmethod
    def _apply_outcome(node: dict[str, Any], outcome: PodOutcome, parameters: list[dict[str, Any]],
                       output_error: str | None) -> None:
        node["finishedAt"] = rfc3339(outcome.finished_at)
        outputs: dict[str, Any] = {}
        if parameters:
            outputs["parameters"] = parameters
        if outcome.result is not None:
            outputs["result"] = outcome.result
        if outcome.exit_code is not None:
            outputs["exitCode"] = str(outcome.exit_code)
        if outputs:
            node["outputs"] = outputs
        if outcome.kill_message is not None:
            node["phase"] = ERROR if outcome.kill_message in (ENGINE_STOPPED_MESSAGE, "pod deleted") else FAILED
            node["message"] = outcome.kill_message
        elif outcome.exit_code:
            node["phase"] = FAILED
            node["message"] = f"main: Error (exit code {outcome.exit_code})"
        elif output_error:
            node["phase"] = ERROR
            node["message"] = output_error
        else:
            node["phase"] = SUCCEEDED
            node.pop("message", None)
        node["progress"] = "1/1" if node["phase"] == SUCCEEDED else "0/1"

    def _kill_node(self, record: WorkflowRecord, node: dict[str, Any], message: str, now: float) -> None:
        """Stop one Pod node: kill its process tree, or cancel it while it waits for a slot."""
        active = self._active.get((record.key, node["id"]))
        if active is not None and active.process is not None:
            active.process.kill(message)
            return
        if active is not None:
            active.cancelled.set()
            self._active.pop((record.key, node["id"]), None)
        if node.get("phase") in (PENDING, RUNNING):
            node.update(phase=FAILED, message=message, finishedAt=rfc3339(now))

    def has_active_pods(self, key: tuple[str, str]) -> bool:
        return any(active.key == key for active in self._active.values())

    # -- logs ---------------------------------------------------------------------------------------

    def logs(self, namespace: str, name: str, *, pod: str | None = None, container: str | None = None,
             follow: bool = False, grep: re.Pattern[str] | None = None, tail_lines: int | None = None,
             since_seconds: float | None = None, poll_seconds: float = 0.25) -> Iterator[LogLine | None]:
        """Log lines of a workflow's pods, merged by time; ``None`` marks an idle moment in a follow.

        As on Argo, only the ``main`` container has logs: without ``container=main`` there are
        no lines (the real server skips its multi-container pods the same way).
        """
        with self._lock:
            self._record(namespace, name)  # 404 before the stream starts
        if container != "main":
            return
        offsets: dict[str, int] = {}
        partial: dict[str, bytes] = {}
        since = time.time() - since_seconds if since_seconds else None
        first_pass = True
        while True:
            with self._lock:
                record = self._workflows.get((namespace, name))
                if record is None:
                    return
                finished = record.completed and not self.has_active_pods(record.key)
                pods = self._started_pods(record)
            batch: list[LogLine] = []
            for node_key, name_of_pod in pods:
                if pod and name_of_pod != pod:
                    continue
                path = self.store.log_path(namespace, name, node_key)
                lines = self._read_new_lines(path, node_key, offsets, partial)
                parsed = [self._parse_line(line, name_of_pod) for line in lines]
                if first_pass and tail_lines is not None:
                    parsed = parsed[-tail_lines:] if tail_lines > 0 else []
                batch.extend(parsed)
            batch.sort(key=lambda line: line.timestamp)
            for line in batch:
                if since is not None and line.timestamp and parse_rfc3339(line.timestamp) < since:
                    continue
                if grep is not None and not grep.search(line.content):
                    continue
                yield line
            first_pass = False
            if not follow or finished:
                return
            if not batch:
                yield None
            time.sleep(poll_seconds)

    def _started_pods(self, record: WorkflowRecord) -> list[tuple[str, str]]:
        pods = []
        for node in sorted(record.nodes.values(), key=lambda node: node.get("startedAt") or ""):
            if node.get("type") == "Pod" and node.get("phase") != PENDING:
                pods.append((node["id"], pod_name(record.name, node["name"], node.get("templateName"))))
        return pods

    @staticmethod
    def _read_new_lines(path: Path, key: str, offsets: dict[str, int], partial: dict[str, bytes]) -> list[str]:
        try:
            with open(path, "rb") as file:
                file.seek(offsets.get(key, 0))
                data = file.read()
        except OSError:
            return []
        offsets[key] = offsets.get(key, 0) + len(data)
        data = partial.pop(key, b"") + data
        *complete, rest = data.split(b"\n")
        if rest:
            partial[key] = rest
        return [line.decode("utf-8", errors="replace") for line in complete]

    @staticmethod
    def _parse_line(line: str, name_of_pod: str) -> LogLine:
        timestamp, _, content = line.partition(" ")
        return LogLine(timestamp, content, name_of_pod)


# ----------------------------------------------------------------------------------------------
# One reconcile of one workflow
# ----------------------------------------------------------------------------------------------


class _TaskResolutionError(Exception):
    """A task's arguments or ``when`` could not be resolved (the task node becomes Error)."""


class _Operation:
    """One pass over a workflow, like Argo's ``wfOperationCtx`` (runs with the engine lock held)."""

    def __init__(self, engine: Engine, record: WorkflowRecord, now: float) -> None:
        self.engine = engine
        self.record = record
        self.now = now
        self.workflow = record.obj
        self.name = record.name
        self.namespace = record.namespace
        self.spec = self.workflow["spec"]
        self.nodes = record.nodes
        self.templates = specs.templates_by_name(self.spec)
        self.requeue_after: float | None = None
        self.stop_reason: str | None = None
        self.shutdown = self.spec.get("shutdown")
        if self.shutdown:
            self.stop_reason = shutdown_node_message(self.shutdown)
        self.deadline_exceeded = False
        deadline = self.spec.get("activeDeadlineSeconds")
        if deadline is not None and record.deadline_base is not None:
            remaining = record.deadline_base + int(deadline) - now
            if remaining <= 0:
                self.deadline_exceeded = True
                self.stop_reason = self.stop_reason or WORKFLOW_DEADLINE_MESSAGE
            else:
                self.schedule(remaining)
        self._globals = self._global_values()
        self._by_name = {node["name"]: node for node in self.nodes.values()}

    # -- helpers ----------------------------------------------------------------------------------

    def schedule(self, delay: float) -> None:
        """Reconcile again after ``delay`` seconds (the earliest request wins)."""
        delay = max(delay, 0.01)
        if self.requeue_after is None or delay < self.requeue_after:
            self.requeue_after = delay

    def node_by_name(self, name: str) -> dict[str, Any] | None:
        return self._by_name.get(name)

    def _global_values(self) -> dict[str, str]:
        metadata = self.workflow["metadata"]
        values = {
            "workflow.name": self.name,
            "workflow.namespace": self.namespace,
            "workflow.uid": metadata.get("uid", ""),
            "workflow.serviceAccountName": self.spec.get("serviceAccountName") or "default",
            "workflow.creationTimestamp": metadata.get("creationTimestamp") or "",
            "workflow.mainEntrypoint": self.spec.get("entrypoint", ""),
            "workflow.priority": str(self.spec.get("priority", 0)),
        }
        for key, value in (metadata.get("labels") or {}).items():
            values[f"workflow.labels.{key}"] = value
        for key, value in (metadata.get("annotations") or {}).items():
            values[f"workflow.annotations.{key}"] = value
        parameters = []
        for parameter in (self.spec.get("arguments") or {}).get("parameters") or []:
            value = substitute(parameter_text(parameter.get("value", "")), values)
            parameters.append({"name": parameter["name"], "value": value})
        for parameter in parameters:
            values[f"workflow.parameters.{parameter['name']}"] = parameter["value"]
        values["workflow.parameters"] = json.dumps(parameters, separators=(",", ":"))
        return values

    def init_node(self, name: str, node_type: str, template_name: str | None, boundary_id: str | None,
                  display_name: str, phase: str, *, message: str | None = None,
                  inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        identifier = node_id(self.name, name)
        node: dict[str, Any] = {
            "id": identifier,
            "name": name,
            "displayName": display_name,
            "type": node_type,
        }
        if template_name:
            node["templateName"] = template_name
            node["templateScope"] = f"local/{self.name}"
        node["phase"] = phase
        if boundary_id:
            node["boundaryID"] = boundary_id
        started = rfc3339(self.now)
        node["startedAt"] = started
        node["finishedAt"] = started if phase in FULFILLED else None
        if message:
            node["message"] = message
        if inputs:
            node["inputs"] = inputs
        self.nodes[identifier] = node
        self._by_name[name] = node
        return node

    def finish_node(self, node: dict[str, Any], phase: str, message: str | None = None) -> None:
        node["phase"] = phase
        node["finishedAt"] = rfc3339(self.now)
        if message:
            node["message"] = message

    def add_child(self, parent: dict[str, Any], child_id: str) -> None:
        children = parent.setdefault("children", [])
        if child_id not in children:
            children.append(child_id)

    def outbound_nodes(self, identifier: str) -> list[str]:
        """Argo's ``getOutboundNodes``: where a dependent task hangs in the node graph."""
        node = self.nodes.get(identifier)
        if node is None:
            return []
        if node["type"] in ("Pod", "Skipped", "Suspend", "HTTP", "Plugin"):
            return [identifier]
        if node["type"] == "Retry":
            children = node.get("children") or []
            return [children[-1]] if children else []
        outbound: list[str] = []
        for child in node.get("outboundNodes") or []:
            outbound.extend(self.outbound_nodes(child))
        return outbound

    def active_pods_below(self, boundary_id: str | None) -> int:
        """Pending or Running pods of the workflow (``None``) or inside one DAG node."""
        count = 0
        for node in self.nodes.values():
            if node["type"] != "Pod" or node.get("phase") not in (PENDING, RUNNING):
                continue
            if boundary_id is None:
                count += 1
                continue
            current = node.get("boundaryID")
            seen = 0
            while current and seen < MAX_RECURSION_DEPTH + 2:
                if current == boundary_id:
                    count += 1
                    break
                current = (self.nodes.get(current) or {}).get("boundaryID")
                seen += 1
        return count

    def parallelism_reached(self, boundary_id: str | None) -> bool:
        limit = self.spec.get("parallelism")
        if limit is not None and int(limit) > 0 and self.active_pods_below(None) >= int(limit):
            return True
        current = boundary_id
        while current:
            boundary = self.nodes.get(current)
            if boundary is None:
                break
            template = self.templates.get(boundary.get("templateName", "")) or {}
            limit = template.get("parallelism")
            if limit is not None and int(limit) > 0 and self.active_pods_below(current) >= int(limit):
                return True
            current = boundary.get("boundaryID")
        return False

    # -- the walk ---------------------------------------------------------------------------------

    def run(self) -> None:
        if self.stop_reason:
            for node in list(self.nodes.values()):
                if node["type"] == "Pod" and node.get("phase") in (PENDING, RUNNING):
                    self.engine._kill_node(self.record, node, self.stop_reason, self.now)
        entrypoint = self.spec["entrypoint"]
        root = self.execute_template(self.name, entrypoint, self.spec.get("arguments") or {}, None, self.name,
                                     depth=0)
        self.update_progress()
        if self.engine.has_active_pods(self.record.key):
            return
        if is_fulfilled(root):
            self.complete_workflow(root)
        elif root is None and self.stop_reason:
            # Stopped before its (pod) entrypoint could start: nothing will ever run.
            self.complete_workflow({"phase": FAILED, "message": self.stop_reason})

    def complete_workflow(self, root: dict[str, Any]) -> None:
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
        self.engine._mark_completed_labels(self.record)

    def update_progress(self) -> None:
        """``done/total`` over Pod nodes: a Pod's own, a container node's over its descendants."""

        def own(node: dict[str, Any]) -> tuple[int, int]:
            return (1 if node.get("phase") == SUCCEEDED else 0, 1)

        for node in self.nodes.values():
            if node["type"] in EXECUTABLE_TYPES:
                done, total = own(node)
                node["progress"] = f"{done}/{total}"
        for node in self.nodes.values():
            if node["type"] in EXECUTABLE_TYPES:
                continue
            done = total = 0
            seen: set[str] = set()
            stack = list(node.get("children") or [])
            while stack:
                child_id = stack.pop()
                if child_id in seen or child_id not in self.nodes:
                    continue
                seen.add(child_id)
                child = self.nodes[child_id]
                if child["type"] in EXECUTABLE_TYPES:
                    child_done, child_total = own(child)
                    done, total = done + child_done, total + child_total
                stack.extend(child.get("children") or [])
            if total:
                node["progress"] = f"{done}/{total}"
            else:
                node.pop("progress", None)
        done = sum(own(node)[0] for node in self.nodes.values() if node["type"] in EXECUTABLE_TYPES)
        total = sum(1 for node in self.nodes.values() if node["type"] in EXECUTABLE_TYPES)
        self.record.status["progress"] = f"{done}/{total}"
        running = any(node.get("phase") == RUNNING for node in self.nodes.values() if node["type"] == "Pod")
        if not self.record.completed:
            self.record.status["conditions"] = [{"type": "PodRunning", "status": "True" if running else "False"}]

    def resolve_inputs(self, template: dict[str, Any], arguments: dict[str, Any]) -> dict[str, str]:
        """Argo's ProcessArgs: argument value, else the input's value, else its default."""
        given = {parameter.get("name"): parameter.get("value")
                 for parameter in arguments.get("parameters") or [] if isinstance(parameter, dict)}
        values: dict[str, str] = {}
        for parameter in (template.get("inputs") or {}).get("parameters") or []:
            name = parameter["name"]
            value = parameter.get("value")
            if value is None:
                value = parameter.get("default")
            if name in given and given[name] is not None:
                value = given[name]
            if value is None:
                raise _TaskResolutionError(f"inputs.parameters.{name} was not supplied")
            text = parameter_text(value)
            try:
                text = substitute(text, self._globals)
            except (UnresolvedReference, ExpressionTag) as error:
                raise _TaskResolutionError(str(error)) from None
            enum = parameter.get("enum")
            if enum and text not in [parameter_text(item) for item in enum]:
                raise _TaskResolutionError(f"inputs.parameters.{name}: value '{text}' is not in the enum "
                                           f"{', '.join(parameter_text(item) for item in enum)}")
            values[name] = text
        return values

    @staticmethod
    def node_inputs(template: dict[str, Any], values: dict[str, str]) -> dict[str, Any] | None:
        parameters = []
        for parameter in (template.get("inputs") or {}).get("parameters") or []:
            entry: dict[str, Any] = {"name": parameter["name"]}
            if parameter.get("default") is not None:
                entry["default"] = parameter_text(parameter["default"])
            if parameter["name"] in values:
                entry["value"] = values[parameter["name"]]
            parameters.append(entry)
        return {"parameters": parameters} if parameters else None

    def execute_template(self, node_name: str, template_name: str, arguments: dict[str, Any],
                         boundary_id: str | None, display_name: str, *, depth: int) -> dict[str, Any] | None:
        """Create or advance the node ``node_name``; None when it cannot start yet (parallelism)."""
        existing = self.node_by_name(node_name)
        if is_fulfilled(existing):
            return existing
        template = self.templates[template_name]
        kind = specs.template_kind(template)
        natural_type = "DAG" if kind == "dag" else ("Retry" if template.get("retryStrategy") is not None else "Pod")
        if depth > MAX_RECURSION_DEPTH:
            return existing or self.init_node(node_name, natural_type, template_name, boundary_id, display_name,
                                              ERROR, message=MAX_DEPTH_MESSAGE)
        try:
            inputs = self.resolve_inputs(template, arguments)
        except _TaskResolutionError as error:
            if existing is not None:
                self.finish_node(existing, ERROR, str(error))
                return existing
            return self.init_node(node_name, natural_type, template_name, boundary_id, display_name, ERROR,
                                  message=str(error))
        if kind == "dag":
            return self.execute_dag(node_name, template, inputs, boundary_id, display_name, depth)
        if template.get("retryStrategy") is not None:
            return self.execute_retry(node_name, template, inputs, boundary_id, display_name)
        return self.execute_pod(node_name, template, inputs, boundary_id, display_name, retries=None)

    # -- pods ---------------------------------------------------------------------------------------

    def execute_pod(self, node_name: str, template: dict[str, Any], inputs: dict[str, str],
                    boundary_id: str | None, display_name: str, *, retries: int | None) -> dict[str, Any] | None:
        existing = self.node_by_name(node_name)
        if existing is not None:
            return existing
        if self.stop_reason or self.parallelism_reached(boundary_id):
            return None
        template_name = template["name"]
        node = self.init_node(node_name, "Pod", template_name, boundary_id, display_name, PENDING,
                              inputs=self.node_inputs(template, inputs))
        node["progress"] = "0/1"
        node["hostNodeName"] = self.engine.host_name
        try:
            active = self.build_pod(node, template, inputs, retries)
        except (UnresolvedReference, ExpressionTag, CommandNotFound, ValueError) as error:
            self.finish_node(node, ERROR, str(error))
            self.schedule(0.01)
            return node
        self.engine._start_pod(active)
        return node

    def build_pod(self, node: dict[str, Any], template: dict[str, Any], inputs: dict[str, str],
                  retries: int | None) -> ActivePod:
        """Resolve a pod template into a process launch (Argo's substitution, our paths)."""
        kind = specs.template_kind(template)
        container = template[kind]
        the_pod_name = pod_name(self.name, node["name"], template["name"])
        node_dir = self.engine.store.node_dir(self.namespace, self.name, node["id"])
        prefix = node_dir / "fs"

        base: dict[str, str] = dict(self._globals)
        for name, value in inputs.items():
            base[f"inputs.parameters.{name}"] = value
        base["inputs.parameters"] = json.dumps([{"name": name, "value": value} for name, value in inputs.items()],
                                               separators=(",", ":"))
        base["pod.name"] = the_pod_name
        base["node.name"] = node["name"]
        base["retries"] = str(retries or 0)

        output_parameters = []
        for parameter in (template.get("outputs") or {}).get("parameters") or []:
            value_from = dict(parameter.get("valueFrom") or {})
            path = substitute(value_from["path"], base)
            value_from["path"] = path
            output_parameters.append({
                "name": parameter["name"], "path": path, "valueFrom": value_from,
                "localPath": str(prefix) + path,
            })
        values = dict(base)
        for parameter in output_parameters:
            values[f"outputs.parameters.{parameter['name']}.path"] = parameter["localPath"]

        command = [substitute(word, values) for word in container.get("command") or []]
        args = [substitute(parameter_text(word), values) for word in container.get("args") or []]
        argv = resolve_argv(command, self.engine.python)
        script_path: Path | None = None
        source: str | None = None
        if kind == "script":
            source = substitute(container["source"], values)
            script_path = prefix / "argo" / "staging" / "script"
            argv.append(str(script_path))
        argv.extend(args)

        environment = dict(self.engine.base_environment)
        environment.update({
            PATH_PREFIX_VARIABLE: str(prefix),
            NODE_MARKER_VARIABLE: f"{self.namespace}/{node['id']}",
            "ARGO_POD_NAME": the_pod_name,
            "ARGO_NODE_ID": node["id"],
            "ARGO_WORKFLOW_NAME": self.name,
            "ARGO_WORKFLOW_UID": self.workflow["metadata"].get("uid", ""),
            "ARGO_CONTAINER_NAME": "main",
        })
        for variable in container.get("env") or []:
            environment[variable["name"]] = substitute(parameter_text(variable.get("value", "")), values)

        working_directory = container.get("workingDir")
        cwd = Path(str(prefix) + substitute(working_directory, values)) if working_directory else prefix

        deadlines = []
        if template.get("activeDeadlineSeconds") is not None:
            deadlines.append(float(substitute(str(template["activeDeadlineSeconds"]), values)))
        if template.get("timeout") is not None:
            timeout = template["timeout"]
            deadlines.append(float(timeout) if isinstance(timeout, (int, float)) else parse_duration(substitute(timeout, values)))

        mounts = self.volume_mounts(template, container, prefix)
        boundary = self.nodes.get(node.get("boundaryID") or "")
        capture = False
        if boundary is not None and boundary.get("type") == "DAG":
            dag_template = self.templates.get(boundary.get("templateName", "")) or {}
            task_name = node.get("displayName", "")
            task_name = re.sub(r"\(\d+\)$", "", task_name)
            capture = specs.result_referenced(dag_template, task_name)

        def prepare() -> None:
            (prefix / "tmp").mkdir(parents=True, exist_ok=True)
            cwd.mkdir(parents=True, exist_ok=True)
            for mount_path, target in mounts:
                mount_path.parent.mkdir(parents=True, exist_ok=True)
                if target is None:
                    mount_path.mkdir(parents=True, exist_ok=True)
                elif not mount_path.exists():
                    target.mkdir(parents=True, exist_ok=True)
                    mount_path.symlink_to(target, target_is_directory=True)
            if script_path is not None and source is not None:
                script_path.parent.mkdir(parents=True, exist_ok=True)
                script_path.write_text(source, encoding="utf-8")

        launch = PodLaunch(
            argv=argv,
            env=environment,
            cwd=cwd,
            log_path=self.engine.store.log_path(self.namespace, self.name, node["id"]),
            capture_result=capture,
            deadline_seconds=min(deadlines) if deadlines else None,
        )
        return ActivePod(self.record.key, node["id"], launch, prepare, output_parameters)

    def volume_mounts(self, template: dict[str, Any], container: dict[str, Any], prefix: Path) -> list[tuple[Path, Path | None]]:
        """(local mount path, folder it links to or None for a fresh empty folder) per mount."""
        volumes = {volume["name"]: volume for volume in (self.spec.get("volumes") or []) + (template.get("volumes") or [])}
        mounts = []
        for mount in container.get("volumeMounts") or []:
            volume = volumes[mount["name"]]
            local = Path(str(prefix) + mount["mountPath"])
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim is None:
                mounts.append((local, None))
                continue
            target = self.engine.volumes[claim]
            if mount.get("subPath"):
                target = target / mount["subPath"]
            mounts.append((local, target))
        return mounts

    # -- retries ------------------------------------------------------------------------------------

    def execute_retry(self, node_name: str, template: dict[str, Any], inputs: dict[str, str],
                      boundary_id: str | None, display_name: str) -> dict[str, Any] | None:
        node = self.node_by_name(node_name)
        if node is None:
            if self.stop_reason or self.parallelism_reached(boundary_id):
                return None
            node = self.init_node(node_name, "Retry", template["name"], boundary_id, display_name, RUNNING,
                                  inputs=self.node_inputs(template, inputs))
        if is_fulfilled(node):
            return node
        children = [self.nodes[child] for child in node.get("children") or [] if child in self.nodes]
        last = children[-1] if children else None
        strategy = template.get("retryStrategy") or {}
        if last is not None:
            if not is_fulfilled(last):
                return node
            if last.get("outputs"):
                node["outputs"] = copy.deepcopy(last["outputs"])
            if last["phase"] == SUCCEEDED:
                node.pop("message", None)
                self.finish_node(node, SUCCEEDED)
                return node
            if self.stop_reason or not retry_allowed(strategy.get("retryPolicy"), last["phase"]):
                self.finish_node(node, last["phase"], last.get("message"))
                return node
            limit = strategy.get("limit")
            values = {**self._globals, **{f"inputs.parameters.{key}": value for key, value in inputs.items()}}
            if limit is not None and len(children) > int(substitute(str(limit), values)):
                self.finish_node(node, last["phase"], NO_MORE_RETRIES)
                return node
            backoff = strategy.get("backoff") or {}
            if backoff:
                maximum = backoff.get("maxDuration")
                if maximum is not None and node.get("startedAt"):
                    elapsed = self.now - parse_rfc3339(node["startedAt"])
                    if elapsed > _seconds(maximum):
                        self.finish_node(node, last["phase"], MAX_DURATION_EXCEEDED)
                        return node
                delay = backoff_delay(backoff, len(children))
                due = parse_rfc3339(last["finishedAt"]) + delay if last.get("finishedAt") else self.now
                if self.now < due:
                    self.schedule(due - self.now)
                    return node
        elif self.stop_reason:
            self.finish_node(node, FAILED, self.stop_reason)
            return node
        attempt_index = len(children)
        attempt = self.execute_pod(f"{node_name}({attempt_index})", template, inputs, boundary_id,
                                   f"{display_name}({attempt_index})", retries=attempt_index)
        if attempt is not None:
            self.add_child(node, attempt["id"])
            if is_fulfilled(attempt):
                self.schedule(0.01)
        return node

    # -- DAGs -----------------------------------------------------------------------------------------

    def execute_dag(self, node_name: str, template: dict[str, Any], inputs: dict[str, str],
                    boundary_id: str | None, display_name: str, depth: int) -> dict[str, Any]:
        node = self.node_by_name(node_name)
        if node is None:
            node = self.init_node(node_name, "DAG", template["name"], boundary_id, display_name, RUNNING,
                                  inputs=self.node_inputs(template, inputs))
        if is_fulfilled(node):
            return node
        tasks = specs.dag_tasks(template)
        dependencies = {task["name"]: specs.task_dependencies(task) for task in tasks}
        expressions = {task["name"]: specs.task_depends(task) for task in tasks}
        continue_on = {task["name"]: specs.continue_on(task) for task in tasks}
        fail_fast = specs.dag_fail_fast(template)
        input_values = {f"inputs.parameters.{key}": value for key, value in inputs.items()}
        input_values["inputs.parameters"] = json.dumps([{"name": key, "value": value} for key, value in inputs.items()],
                                                       separators=(",", ":"))

        def task_node(task_name: str) -> dict[str, Any] | None:
            return self.node_by_name(f"{node_name}.{task_name}")

        def lookup(tag: str) -> str | None:
            if tag in self._globals:
                return self._globals[tag]
            if tag in input_values:
                return input_values[tag]
            return self.task_value(tag, task_node)

        def connect(task_name: str, child: dict[str, Any]) -> None:
            if not dependencies[task_name]:
                self.add_child(node, child["id"])
                return
            for dependency in dependencies[task_name]:
                dependency_node = task_node(dependency)
                if dependency_node is None:
                    continue
                for outbound in self.outbound_nodes(dependency_node["id"]):
                    self.add_child(self.nodes[outbound], child["id"])

        blocked = False
        progressed = True
        while progressed:
            progressed = False
            failed_fast = fail_fast and any(
                (task_node(task["name"]) or {}).get("phase") in FAILED_OR_ERROR
                and not _continues_on(continue_on[task["name"]], task_node(task["name"])["phase"])
                for task in tasks
            )
            for task in tasks:
                task_name = task["name"]
                existing = task_node(task_name)
                if is_fulfilled(existing):
                    continue
                if existing is not None and existing["type"] == "Pod":
                    continue  # its own thread finishes it
                if existing is None:
                    dependency_nodes = [task_node(dependency) for dependency in dependencies[task_name]]
                    if not all(is_fulfilled(dependency_node) for dependency_node in dependency_nodes):
                        continue
                    expression = expressions[task_name]
                    if expression is not None:
                        phases = {dependency: dependency_node["phase"]
                                  for dependency, dependency_node in zip(dependencies[task_name], dependency_nodes)}
                        if not evaluate_depends(expression, phases, continue_on):
                            omitted = self.init_node(f"{node_name}.{task_name}", "Skipped", task["template"], node["id"],
                                                     task_name, OMITTED, message=OMITTED_MESSAGE)
                            connect(task_name, omitted)
                            progressed = True
                            continue
                    if self.stop_reason or failed_fast:
                        continue
                try:
                    arguments = self.resolve_task_arguments(task, lookup)
                    when = substitute(task["when"], lookup) if task.get("when") else None
                    run = evaluate_when(when) if when is not None else True
                except (UnresolvedReference, ExpressionTag) as error:
                    self._task_error(task, node, node_name, existing, str(error), connect)
                    progressed = True
                    continue
                except ExpressionError as error:
                    self._task_error(task, node, node_name, existing, f"Invalid 'when' expression '{when}': {error}",
                                     connect)
                    progressed = True
                    continue
                if existing is None and not run:
                    skipped = self.init_node(f"{node_name}.{task_name}", "Skipped", task["template"], node["id"],
                                             task_name, SKIPPED, message=f"when '{when}' evaluated false")
                    connect(task_name, skipped)
                    progressed = True
                    continue
                was_fulfilled = is_fulfilled(existing)
                child = self.execute_template(f"{node_name}.{task_name}", task["template"], arguments, node["id"],
                                              task_name, depth=depth + 1)
                if child is None:
                    blocked = True
                    continue
                if existing is None:
                    connect(task_name, child)
                    progressed = True
                elif is_fulfilled(child) and not was_fulfilled:
                    progressed = True

        task_nodes = {task["name"]: task_node(task["name"]) for task in tasks}
        if blocked or any(child is not None and not is_fulfilled(child) for child in task_nodes.values()):
            return node
        if self.engine.has_active_pods(self.record.key) and self.active_pods_below(node["id"]):
            return node
        targets = specs.dag_targets(template)
        node["outboundNodes"] = [outbound for target in targets if task_nodes.get(target)
                                 for outbound in self.outbound_nodes(task_nodes[target]["id"])]
        if self.stop_reason:
            self.finish_node(node, FAILED)
            return node
        phase = self.assess_dag(node, template, targets, task_nodes, continue_on, fail_fast)
        if phase == SUCCEEDED:
            try:
                outputs = self.dag_outputs(template, lookup)
            except (UnresolvedReference, ExpressionTag) as error:
                self.finish_node(node, ERROR, str(error))
                return node
            if outputs:
                node["outputs"] = outputs
        self.finish_node(node, phase)
        return node

    def _task_error(self, task: dict[str, Any], dag_node: dict[str, Any], dag_name: str,
                    existing: dict[str, Any] | None, message: str, connect: Callable[[str, dict[str, Any]], None]) -> None:
        if existing is not None:
            self.finish_node(existing, ERROR, message)
            return
        errored = self.init_node(f"{dag_name}.{task['name']}", "Skipped", task["template"], dag_node["id"],
                                 task["name"], ERROR, message=message)
        connect(task["name"], errored)

    def resolve_task_arguments(self, task: dict[str, Any], lookup: Callable[[str], str | None]) -> dict[str, Any]:
        arguments = copy.deepcopy(task.get("arguments") or {})
        for parameter in arguments.get("parameters") or []:
            if parameter.get("value") is not None:
                parameter["value"] = substitute(parameter_text(parameter["value"]), lookup)
        return arguments

    def task_value(self, tag: str, task_node: Callable[[str], dict[str, Any] | None]) -> str | None:
        """The value of ``tasks.NAME.…`` from that task's node."""
        match = re.fullmatch(r"tasks\.([a-zA-Z0-9][-a-zA-Z0-9]*)\.(.+)", tag)
        if not match:
            return None
        node = task_node(match.group(1))
        if node is None:
            return None
        rest = match.group(2)
        if rest == "status":
            return node.get("phase")
        if rest == "id":
            return node["id"]
        if rest in ("startedAt", "finishedAt"):
            return node.get(rest) or ""
        skipped = node.get("phase") in (SKIPPED, OMITTED)
        outputs = node.get("outputs") or {}
        if rest == "outputs.result":
            return "" if skipped else outputs.get("result")
        if rest == "outputs.exitCode":
            return "" if skipped else outputs.get("exitCode")
        if rest.startswith("outputs.parameters."):
            if skipped:
                return ""
            wanted = rest[len("outputs.parameters."):]
            for parameter in outputs.get("parameters") or []:
                if parameter.get("name") == wanted and "value" in parameter:
                    return parameter["value"]
        return None

    def assess_dag(self, node: dict[str, Any], template: dict[str, Any], targets: list[str],
                   task_nodes: dict[str, dict[str, Any] | None], continue_on: dict[str, Any], fail_fast: bool) -> str:
        """Argo's ``assessDAGPhase``: each target's branch phase, Omitted nodes inheriting failure."""
        target_ids = {node_id(self.name, f"{node['name']}.{target}"): target for target in targets}
        branch: dict[str, str] = {identifier: "" for identifier in target_ids}
        queue = deque((child, SUCCEEDED) for child in node.get("children") or [])
        seen: set[tuple[str, str]] = set()
        while queue:
            current, inherited = queue.popleft()
            if (current, inherited) in seen:
                continue
            seen.add((current, inherited))
            child = self.nodes.get(current)
            if child is None:
                continue
            phase = child["phase"] if child.get("phase") in COMPLETED else inherited
            if current in branch and branch[current] not in FAILED_OR_ERROR:
                branch[current] = phase
            if child["type"] == "Retry":
                following = [grandchild for attempt in child.get("children") or []
                             for grandchild in (self.nodes.get(attempt) or {}).get("children") or []]
            else:
                following = child.get("children") or []
            queue.extend((next_id, phase) for next_id in following)
        result = SUCCEEDED
        missing = False
        for identifier, target in target_ids.items():
            phase = branch[identifier]
            if not phase:
                missing = True
                continue
            if phase in FAILED_OR_ERROR:
                if _continues_on(continue_on.get(target), phase):
                    continue
                result = phase
                if fail_fast:
                    break
        if result == SUCCEEDED and missing:
            # A target never started: fail-fast stopped scheduling after a failure.
            failures = [child["phase"] for child in task_nodes.values()
                        if child is not None and child.get("phase") in FAILED_OR_ERROR]
            result = failures[0] if failures else FAILED
        return result

    def dag_outputs(self, template: dict[str, Any], lookup: Callable[[str], str | None]) -> dict[str, Any] | None:
        parameters = []
        for parameter in (template.get("outputs") or {}).get("parameters") or []:
            value_from = parameter.get("valueFrom") or {}
            try:
                value = substitute(value_from["parameter"], lookup)
            except UnresolvedReference:
                if value_from.get("default") is None:
                    raise
                value = parameter_text(value_from["default"])
            parameters.append({"name": parameter["name"], "value": value, "valueFrom": value_from})
        return {"parameters": parameters} if parameters else None


def retry_allowed(policy: str | None, phase: str) -> bool:
    """Whether ``retryPolicy`` retries an attempt that ended in ``phase`` (default OnFailure)."""
    policy = policy or "OnFailure"
    if policy == "Always":
        return phase in (FAILED, ERROR)
    if policy == "OnError":
        return phase == ERROR
    if policy == "OnTransientError":
        return False  # the local engine has no transient (Kubernetes) errors to retry
    return phase == FAILED


def _continues_on(options: Any, phase: str) -> bool:
    if options is None:
        return False
    return (phase == FAILED and options.failed) or (phase == ERROR and options.error)


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    return parse_duration(str(value))


def backoff_delay(backoff: dict[str, Any], attempts_done: int) -> float:
    """Argo's retry backoff: ``duration * factor^(attempt-1)``, capped by ``cap``."""
    if backoff.get("duration") is None:
        return 0.0
    delay = _seconds(backoff["duration"])
    factor = float(backoff.get("factor") or 1)
    delay *= factor ** max(attempts_done - 1, 0)
    if backoff.get("cap") is not None:
        delay = min(delay, _seconds(backoff["cap"]))
    return delay
