"""Pod lifecycle: a Pod node from creation to its final phase, each on its own thread.

A reconcile creates a Pod node (``Pending``) and hands its ``PodPlan`` to ``Pods.start``. It
waits in line for one of the ``--workers`` process slots (the node stays ``Pending``); then its
own thread prepares the node's folders, loads its input artifacts, starts the process tree
(``runner.PodProcess``) and marks the node ``Running``, waits, reads the output parameters from
their files, saves the output artifacts (``pod_artifacts``) and writes the outcome into the node;
then the workflow is reconciled again. Stop, terminate, deadlines and delete kill the tree
(``kill_node``) or cancel a pod still waiting for a slot.

Every change to a node happens while the thread holds the table's lock, as in the rest of the
engine; waiting for the slot and for the process happens without it.
"""

from __future__ import annotations

import contextlib
import errno
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..argo import ERROR, FAILED, PENDING, RUNNING, SUCCEEDED, rfc3339
from .artifacts import ArtifactError
from .container_sets import NOT_ENDED_MESSAGE, ContainerSetProcess, apply_container_outcomes
from .pod_launch import PodPlan
from .queues import ReconcileQueue, SlotPool
from .records import WorkflowKey, WorkflowRecord, WorkflowTable
from .runner import PodLaunch, PodOutcome, PodProcess, kill_stale_group, node_marker
from .store import WorkflowStore
from .templating import parameter_text

# Ours: what a node that was running when the engine stopped says.
ENGINE_STOPPED_MESSAGE = "the local engine stopped while this task ran"
POD_DELETED_MESSAGE = "pod deleted"
# Kills that are the engine's doing rather than the task's: the node is an Error, not a failure.
_ENGINE_KILLS = (ENGINE_STOPPED_MESSAGE, POD_DELETED_MESSAGE)
PID_FILE_NAME = "pid"


@dataclass
class ActivePod:
    """A Pod node between creation and its final phase."""

    key: WorkflowKey
    node_id: str
    plan: PodPlan
    cancelled: threading.Event = field(default_factory=threading.Event)
    process: PodProcess | ContainerSetProcess | None = None
    thread: threading.Thread | None = None


class Pods:
    """The pods of every workflow that have not finished yet, and the process slots they share."""

    def __init__(self, table: WorkflowTable, queue: ReconcileQueue, workers: int,
                 stopping: threading.Event, notify: Callable[[WorkflowKey, str], None] | None = None) -> None:
        self.table = table
        self.queue = queue
        self.stopping = stopping
        # Told (lock held) the workflow and node id of every node a pod thread changed.
        self.notify = notify or (lambda key, node_id: None)
        self._slots: SlotPool[ActivePod] = SlotPool(workers, self._launch, lambda active: active.cancelled.is_set())
        self._active: dict[tuple[WorkflowKey, str], ActivePod] = {}

    # -- asked by the reconcile (with the table's lock held) -----------------------------------------

    def start(self, active: ActivePod) -> None:
        """Run the pod when one of the process slots is free (its node stays Pending until then)."""
        self._active[(active.key, active.node_id)] = active
        self._slots.submit(active)

    def _launch(self, active: ActivePod) -> None:
        """The pod got a slot: its own thread runs it and gives the slot back."""
        thread = threading.Thread(target=self._run, args=(active,), daemon=True, name=f"pod-{active.node_id}")
        active.thread = thread
        thread.start()

    def has_active(self, key: WorkflowKey) -> bool:
        """True while any pod of the workflow ``key`` has not written its outcome."""
        return any(active.key == key for active in self._active.values())

    def kill_node(self, record: WorkflowRecord, node: dict[str, Any], message: str, now: float) -> None:
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

    # -- asked by the engine ----------------------------------------------------------------------

    def cancel_workflow(self, key: WorkflowKey) -> list[ActivePod]:
        """Kill every pod of a deleted workflow (lock held); join the returned ones without it."""
        actives = [active for active in self._active.values() if active.key == key]
        for active in actives:
            active.cancelled.set()
            if active.process is not None:
                active.process.kill(POD_DELETED_MESSAGE)
        return actives

    def kill_all(self) -> list[ActivePod]:
        """Kill every running tree and cancel every waiting pod (engine stop, lock held)."""
        actives = list(self._active.values())
        for active in actives:
            if active.process is not None:
                active.process.kill(ENGINE_STOPPED_MESSAGE)
            else:
                active.cancelled.set()
        return actives

    # -- the pod's own thread -----------------------------------------------------------------------

    def _run(self, active: ActivePod) -> None:
        try:
            plan = active.plan
            try:
                plan.folders.prepare()
                if plan.artifacts is not None:
                    plan.artifacts.load_inputs()
            except ArtifactError as error:
                self._finish_without_process(active, str(error))
                return
            except OSError as error:
                self._finish_without_process(active, f"failed to prepare the pod: {error}")
                return
            for name, launch in active.plan.init_launches:
                init_process = self._start_process(active, launch, main=False)
                if init_process is None:
                    return
                ended = init_process.wait()
                if ended.kill_message is not None or ended.exit_code:
                    # The pod fails before main runs: no exit code of main, the init container's reason.
                    message = ended.kill_message or f"{name}: Error (exit code {ended.exit_code})"
                    failed = PodOutcome(exit_code=None, result=None, kill_message=message,
                                        started_at=ended.started_at, finished_at=ended.finished_at)
                    self._record_outcome(active, failed, [], None)
                    return
            process = self._start_process(active)
            if process is None:
                return
            outcome = process.wait()
            with contextlib.suppress(OSError):
                self._pid_file(active.key, active.node_id).unlink()
            parameters, output_error = collect_output_parameters(plan.output_parameters, outcome)
            artifacts: list[dict[str, Any]] = []
            if plan.artifacts is not None:
                succeeded = outcome.kill_message is None and (
                    outcome.exit_code == 0 if outcome.containers is None  # a container set: every container
                    else all(code == 0 for code in outcome.containers.values()))
                artifacts, artifact_error = plan.artifacts.save_outputs(succeeded)
                output_error = output_error or artifact_error
            self._record_outcome(active, outcome, parameters, output_error, artifacts)
        finally:
            self._slots.release()

    def _start_process(self, active: ActivePod, launch: PodLaunch | None = None, *,
                       main: bool = True) -> PodProcess | None:
        """Start the process (the main container's, else an init container's ``launch``) and,
        for main, mark the node Running; None when the pod must not run (any more). While init
        containers run the node stays Pending, as the pod does."""
        with self.table.lock:
            record = self.table.get(active.key)
            if record is None or active.cancelled.is_set() or self.stopping.is_set():
                # Deleted, stopped, or the engine is going down: the node stays Pending
                # (marked as interrupted when the engine starts again).
                self._forget(active)
                return None
            node = record.nodes.get(active.node_id)
            if node is None or node.get("phase") != PENDING:
                self._forget(active)
                return None
            process: PodProcess | ContainerSetProcess
            if launch is None and active.plan.set_containers:
                process = ContainerSetProcess(active.plan.set_containers)
            else:
                process = PodProcess(launch or active.plan.launch)
            try:
                process.start()
            except OSError as error:
                self._forget(active)
                node.update(phase=ERROR, message=start_failure_message(error), finishedAt=rfc3339())
                self._changed(record, node, reconcile=True)
                return None
            active.process = process
            if not main:
                return process
            node["phase"] = RUNNING
            # The local engine reports when the process started, not when the node was
            # created: with few workers a node may wait Pending for a process slot.
            node["startedAt"] = rfc3339(process.started_at)
            try:
                self._pid_file(record.key, node["id"]).write_text(str(process.pid))
            except OSError:
                pass
            self._changed(record, node, reconcile=False)
            return process

    def _record_outcome(self, active: ActivePod, outcome: PodOutcome, parameters: list[dict[str, Any]],
                        output_error: str | None, artifacts: list[dict[str, Any]] | None = None) -> None:
        with self.table.lock:
            record, node = self._finished(active)
            if record is None or node is None:
                return
            apply_outcome(node, outcome, parameters, output_error, artifacts)
            for container_node in apply_container_outcomes(record.nodes, record.name, node, outcome):
                self._changed(record, container_node, reconcile=False)
            self._changed(record, node, reconcile=True)

    def _finish_without_process(self, active: ActivePod, message: str) -> None:
        with self.table.lock:
            record, node = self._finished(active)
            if record is None:
                return
            if node is not None and node.get("phase") == PENDING:
                node.update(phase=ERROR, message=message, finishedAt=rfc3339())
                self._changed(record, node, reconcile=False)
            self.queue.add(record.key)

    def _finished(self, active: ActivePod) -> tuple[WorkflowRecord | None, dict[str, Any] | None]:
        """Forget the pod (lock held); its workflow's record and its node, where they still exist."""
        self._forget(active)
        record = self.table.get(active.key)
        node = record.nodes.get(active.node_id) if record is not None else None
        return record, node

    def _changed(self, record: WorkflowRecord, node: dict[str, Any], *, reconcile: bool) -> None:
        """A pod thread changed ``node`` (lock held): save soon, tell the engine, maybe reconcile."""
        self.table.touch(record)
        self.notify(record.key, node["id"])
        if reconcile:
            self.queue.add(record.key)

    def _forget(self, active: ActivePod) -> None:
        self._active.pop((active.key, active.node_id), None)

    def _pid_file(self, key: WorkflowKey, node_id: str) -> Path:
        return self.table.store.node_dir(key[0], key[1], node_id) / PID_FILE_NAME


def start_failure_message(error: OSError) -> str:
    """The node message when its process cannot start; too large an argument says what to do instead."""
    if error.errno == errno.E2BIG:
        # Linux refuses any one argument or variable over 128 KiB, as a container's exec would:
        # a parameter substituted into the command (a map's collected results, a big JSON value)
        # must travel another way.
        return ("failed to start: its command, arguments or environment are larger than this machine "
                "allows (128 KiB for any one of them, as in a container); pass large values as files "
                "(an artifact or a --data-volume) instead of parameters")
    return f"failed to start: {error}"


def join(actives: list[ActivePod], timeout: float) -> None:
    """Wait up to ``timeout`` seconds in all for the pods' threads to end."""
    deadline = time.monotonic() + timeout
    for active in actives:
        if active.thread is not None:
            active.thread.join(max(0.0, deadline - time.monotonic()))


def interrupt_leftovers(store: WorkflowStore, record: WorkflowRecord, now: float) -> None:
    """Mark the pods (and a container set's containers) an earlier engine left Pending or Running
    as Error, killing what still runs."""
    for node in record.nodes.values():
        if node.get("synchronizationStatus"):
            continue  # waiting for a lock, no process: it waits again (``lock_waits``)
        if node.get("type") in ("Pod", "Container") and node.get("phase") in (PENDING, RUNNING):
            _kill_leftover(store, record, node)
            node["phase"] = ERROR
            node["message"] = ENGINE_STOPPED_MESSAGE
            node["finishedAt"] = rfc3339(now)


def _kill_leftover(store: WorkflowStore, record: WorkflowRecord, node: dict[str, Any]) -> None:
    pid_file = store.node_dir(record.namespace, record.name, node["id"]) / PID_FILE_NAME
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return
    kill_stale_group(pid, node_marker(record.namespace, node["id"]))


def collect_output_parameters(declared_parameters: list[dict[str, Any]],
                              outcome: PodOutcome) -> tuple[list[dict[str, Any]], str | None]:
    """Read each output parameter from ``<prefix><path>``; a missing file is an error on success."""
    parameters = []
    error = None
    for declared in declared_parameters:
        entry = {"name": declared["name"], "valueFrom": declared["valueFrom"]}
        try:
            text = Path(declared["localPath"]).read_text(encoding="utf-8", errors="replace")
            # Argo trims one trailing newline "for user convenience".
            entry["value"] = text[:-1] if text.endswith("\n") else text
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as problem:
            default = declared["valueFrom"].get("default")
            if default is not None:
                entry["value"] = parameter_text(default)
            elif error is None and outcome.exit_code == 0 and outcome.kill_message is None:
                reason = "is a directory" if isinstance(problem, IsADirectoryError) else "no such file or directory"
                error = f"failed to save outputs: open {declared['path']}: {reason}{declared.get('hint', '')}"
        parameters.append(entry)
    return parameters, error


def apply_outcome(node: dict[str, Any], outcome: PodOutcome, parameters: list[dict[str, Any]],
                  output_error: str | None, artifacts: list[dict[str, Any]] | None = None) -> None:
    """Write how the process ended into its node: outputs (Argo's order: parameters, artifacts,
    result, exit code), phase, message, progress."""
    node["finishedAt"] = rfc3339(outcome.finished_at)
    outputs: dict[str, Any] = {}
    if parameters:
        outputs["parameters"] = parameters
    if artifacts:
        outputs["artifacts"] = artifacts
    if outcome.result is not None:
        outputs["result"] = outcome.result
    if outcome.exit_code is not None:
        outputs["exitCode"] = str(outcome.exit_code)
    if outputs:
        node["outputs"] = outputs
    if outcome.kill_message is not None:
        node["phase"] = ERROR if outcome.kill_message in _ENGINE_KILLS else FAILED
        node["message"] = outcome.kill_message
    elif outcome.containers is not None and outcome.failed_container is not None:
        code = outcome.containers[outcome.failed_container]
        node["phase"] = FAILED
        node["message"] = (f"{outcome.failed_container}: Error (exit code {code})" if code is not None
                           else NOT_ENDED_MESSAGE)
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
