"""The engine the HTTP server talks to: the Argo API's workflow calls, and the controller thread.

Design, in the spirit of Argo's own controller (``workflow/controller/controller.go`` in
argoproj/argo-workflows):

* ``status.nodes`` is the only execution state that is saved. A *reconcile*
  (``reconcile.reconcile``) takes in the nodes that changed since the last one and creates the
  next ones; what it needs to do that without walking the workflow (indexes, counters, queues)
  is the workflow's ``runtime.WorkflowRuntime``, built from ``status.nodes`` the first time (a
  new workflow, after a ``retry`` that removed failed nodes, after an engine restart).
* Reconciles run on one controller thread, fed by a ``queues.ReconcileQueue``. Everything that
  changes a workflow holds the table's one lock (``records.WorkflowTable``), so HTTP readers
  always see a consistent object.
* Each Pod node runs on its own thread (``pods.Pods``), writes its outcome into its node and
  tells the engine which node changed.
* A workflow is saved as JSON when it is created, then at most every ``SAVE_INTERVAL`` seconds
  while it runs (a saver thread; longer when saving takes long), and at once when it completes
  and when the engine stops; in between, every change is appended to its ``journal``, which an
  engine that starts again lays over the last save. Each node has its own folder with its log and its private
  file-system root (``store``). Derived fields (``progress``) are computed when the workflow
  is read or saved.

The data flow: a request (``create``) becomes a record, the record is queued, the controller
reconciles it, the reconcile starts pods, each pod's thread writes its node and queues the
workflow again, and the status a client reads (``get``, ``list``, ``logs``) is the record.
"""

from __future__ import annotations

import copy
import getpass
import json
import os
import posixpath
import socket
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any, Iterator

from ..argo import ERROR, FAILED, FAILED_PHASES, LABEL_CREATOR, SUCCEEDED, parse_rfc3339, rfc3339
from . import artifact_gc
from .artifacts import KEY_FORMAT, REPOSITORY_BUCKET, ArtifactError, artifact_key
from .expression_language import EvaluationError, MissingVariable, UnsupportedExpression, evaluate, parse_expression
from .expression_values import type_name
from .journal import Journal
from .logs import LogLine, workflow_logs
from .memoization import MemoCache
from .naming import dns_friendly, generated_name
from .pod_filesystem import view_available
from .nodes import refresh_progress
from .pod_launch import PodSettings
from .pods import Pods, interrupt_leftovers, join
from .queues import ReconcileQueue
from .reconcile import reconcile
from .records import WorkflowKey, WorkflowRecord, WorkflowTable, mark_completed_labels, newest_first
from .rerun import reset_for_retry, resubmitted_workflow, set_arguments
from .runtime import WorkflowRuntime
from .selectors import Requirement, field_value, filter_fields, labels_match
from .spec import execution_spec
from .store import WorkflowStore
from .synchronization import Mutexes, held_locks
from .suspend import SETTABLE_PHASES, SuspendError, resume_all, set_suspended_nodes
from .ttl import expires_at
from .limits import LABEL_VALUE_PATTERN, validate_local_support
from .parameters import workflow_globals
from .template_refs import (
    STORED_TEMPLATES,
    TemplateGetter,
    TemplateNotFound,
    reached_scopes,
    resolve_references,
    with_workflow_template,
)
from .template_store import TemplateStore
from .validate_artifacts import refuse_hidden_artifact_paths
from .volume_claims import create_claims, delete_claims
from .validation import WorkflowInvalid, validate_workflow
from .wire import INTERNAL, NOT_FOUND, ApiError, already_exists, bad_request

# How often create tries a new random name before it reports the clash.
GENERATED_NAME_ATTEMPTS = 100
DELETE_JOIN_SECONDS = 10.0
TTL_CHECK_SECONDS = 1.0
CONTROLLER_JOIN_SECONDS = 2.0
SAVE_INTERVAL = 0.25
"""Seconds between two saves of a running workflow, at least (coalescing its changes)."""
SAVE_COST_FACTOR = 100
"""...and at least this many times as long as the last save took, so saving a large workflow
costs a bounded share of the time (1%), not a share that grows with its size. Reads recompute
``progress`` under the same rule (a read may see it that much late; saves and the final state
always have it current)."""
SAVER_TICK = 0.05


class Engine:
    """Workflows in, processes out: the part of Argo's controller the local engine needs."""

    def __init__(self, state_dir: Path, *, workers: int, volumes: dict[str, Path] | None = None,
                 python: str | None = None, base_environment: dict[str, str] | None = None,
                 filesystem_view: bool = True) -> None:
        """``filesystem_view``: give each task its own view of the file system where this machine
        allows it (``pod_filesystem``); ``filesystem_view_problem`` says why not when it does not."""
        self.workers = workers
        self.user = getpass.getuser()
        self.filesystem_view_problem = "turned off (--no-filesystem-view)"
        if filesystem_view:
            filesystem_view, self.filesystem_view_problem = view_available(state_dir / "view-probe", python)
        self.settings = PodSettings(
            store=WorkflowStore(state_dir),
            python=python,
            base_environment=dict(os.environ if base_environment is None else base_environment),
            volumes=dict(volumes or {}),
            host_name=socket.gethostname(),
            filesystem_view=filesystem_view,
        )
        self.table = WorkflowTable(self.settings.store)
        self.templates = TemplateStore(state_dir, self._validate_template, dns_friendly(self.user) or "local")
        self._journal = Journal(self.settings.store)
        self._queue = ReconcileQueue()
        self._stopping = threading.Event()
        self.pods = Pods(self.table, self._queue, workers, self._stopping, notify=self._node_changed)
        self._controller: threading.Thread | None = None
        self._ttl_thread: threading.Thread | None = None
        self._saver: threading.Thread | None = None
        self._runtimes: dict[WorkflowKey, WorkflowRuntime] = {}
        # Mutexes of every workflow (``synchronization``): a released lock's next waiter is
        # reconciled at once.
        self.mutexes = Mutexes(wake=lambda key: self._queue.add(key))
        # Memoization entries (``memoize``), kept as Argo keeps them in ConfigMaps: across workflows.
        self.memos = MemoCache(state_dir)
        self._save_interval = SAVE_INTERVAL
        self._progress_interval = SAVE_INTERVAL

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Load saved workflows and start the controller thread."""
        now = time.time()
        self.templates.load()
        for record in self.table.load():
            self.table.continue_after(self._journal.replay(record.obj))
            if not record.completed:
                for lock, holder in held_locks(record.status):
                    self.mutexes.restore(lock, holder)
                started = record.status.get("startedAt")
                record.deadline_base = parse_rfc3339(started) if started else None
                interrupt_leftovers(self.settings.store, record, now)
                self.table.touch(record)
                self._queue.add(record.key)
        self._controller = threading.Thread(target=self._control_loop, name="controller", daemon=True)
        self._controller.start()
        self._ttl_thread = threading.Thread(target=self._ttl_loop, name="ttl", daemon=True)
        self._ttl_thread.start()
        self._saver = threading.Thread(target=self._save_loop, name="saver", daemon=True)
        self._saver.start()

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Kill every running process tree, record it in the nodes, and stop the controller."""
        # First, so that nothing new starts while the running trees are being killed.
        self._stopping.set()
        with self.table.lock:
            actives = self.pods.kill_all()
        join(actives, grace_seconds)
        if self._controller is not None:
            self._controller.join(CONTROLLER_JOIN_SECONDS)
        if self._saver is not None:
            self._saver.join(CONTROLLER_JOIN_SECONDS)
        with self.table.lock:
            for record in self.table:
                self._materialize(record)
            self.table.save_all()

    def _control_loop(self) -> None:
        while not self._stopping.is_set():
            key = self._queue.get(self._stopping)
            if key is None:
                continue
            with self.table.lock:
                record = self.table.get(key)
                if record is None:
                    continue
                try:
                    self._reconcile(record)
                except Exception as error:  # a bug must not stop every other workflow
                    self._fail_on_bug(record, error)

    def _ttl_loop(self) -> None:
        """Delete each completed workflow once its ``ttlStrategy`` says so (``ttl``), as Argo's TTL
        controller does; checked every ``TTL_CHECK_SECONDS``, so also after a restart."""
        while not self._stopping.wait(TTL_CHECK_SECONDS):
            now = time.time()
            with self.table.lock:
                expired = [record.key for record in self.table
                           if (expiry := expires_at(record.obj)) is not None and expiry <= now]
            for namespace, name in expired:
                try:
                    self.delete(namespace, name)
                except ApiError:
                    pass  # deleted meanwhile
                except Exception:  # a bug must not stop the TTL thread
                    traceback.print_exc()

    def _reconcile(self, record: WorkflowRecord) -> None:
        """Reconcile one workflow (lock held), mark it for saving if it changed (save it now when
        it completed), and queue it again if asked."""
        if record.completed:
            return
        if not record.status.get("phase"):
            _start_status(record, self.settings.store.workflow_dir(record.namespace, record.name))
        runtime, requeue_after = reconcile(record, self._runtimes.get(record.key), self.pods, self.settings,
                                           self.mutexes, self.memos)
        if runtime is None:
            # Waiting for its spec.synchronization locks (or terminated while it waited): only
            # its status changed; a released lock wakes it.
            self.table.touch(record)
            self._journal.append(record, [], status=True)
            if record.completed:
                self.table.flush(record, after_save=self._journal.reset)
            return
        self._runtimes[record.key] = runtime
        if runtime.changed:
            runtime.changed = False
            self.table.touch(record)
            self._journal.append(record, runtime.take_dirty_nodes(), status=True)
        if record.completed:
            self._release_locks(record)
            artifact_gc.collect(record.obj, self.settings.store.artifacts, artifact_gc.ON_COMPLETION)
            delete_claims(record.status, execution_spec(record.obj),
                          self.settings.store.workflow_dir(record.namespace, record.name))
            self._materialize(record)
            self._runtimes.pop(record.key, None)
            self.table.flush(record, after_save=self._journal.reset)
            return
        if requeue_after is not None:
            self._queue.add(record.key, requeue_after)

    def _release_locks(self, record: WorkflowRecord) -> None:
        """A completed workflow lets go of every lock (``ReleaseAll``): its status keeps none."""
        self.mutexes.release_workflow(record.key)
        record.status.pop("synchronization", None)
        for node in record.nodes.values():
            node.pop("synchronizationStatus", None)

    def _node_changed(self, key: WorkflowKey, node_id: str) -> None:
        """A pod thread changed a node (lock held): journal it; the next reconcile takes it in."""
        record = self.table.get(key)
        node = record.nodes.get(node_id) if record is not None else None
        if node is not None:
            self._journal.append(record, [node], status=False)
        runtime = self._runtimes.get(key)
        if runtime is not None:
            runtime.pending_changes.append(node_id)

    def _materialize(self, record: WorkflowRecord, *, force: bool = True) -> None:
        """Bring the fields derived from the nodes (``progress``, conditions) up to date (lock held).

        Unless ``force``d, not more often than ``_progress_interval`` (for reads while it runs)."""
        runtime = self._runtimes.get(record.key)
        if runtime is None:
            return
        runtime.take_pending_changes()
        now = time.monotonic()
        if not runtime.progress_stale or (not force and now - runtime.progress_refreshed < self._progress_interval):
            return
        runtime.progress_stale = False
        refresh_progress(record.status, runtime.counters.running_pods)
        runtime.progress_refreshed = now
        self._progress_interval = max(SAVE_INTERVAL, SAVE_COST_FACTOR * (time.monotonic() - now))

    def _save_loop(self) -> None:
        """Save the workflows that changed, each at most every ``_save_interval`` seconds."""
        while not self._stopping.wait(SAVER_TICK):
            with self.table.lock:
                if not self.table.has_unsaved():
                    continue
                started = time.perf_counter()
                saved = self.table.flush_due(self._save_interval, before_save=self._materialize,
                                             after_save=self._journal.reset)
                spent = time.perf_counter() - started
            if saved:
                self._save_interval = max(SAVE_INTERVAL, SAVE_COST_FACTOR * spent / saved)

    def _fail_on_bug(self, record: WorkflowRecord, error: Exception) -> None:
        traceback.print_exc()
        self._runtimes.pop(record.key, None)
        if record.completed:
            return
        status = record.status
        status["phase"] = ERROR
        status["message"] = f"the local engine failed: {type(error).__name__}: {error}"
        status["finishedAt"] = rfc3339()
        mark_completed_labels(record)
        self.table.commit(record)

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
        templates = self.templates.getter(namespace)
        try:
            running_spec = (with_workflow_template(workflow, templates)[1]
                            if isinstance(workflow.get("spec"), dict) else None)
            apply_workflow_metadata(workflow, running_spec)
            self._validate(workflow, templates)
            kept = resolve_references(workflow, templates)
        except TemplateNotFound as error:
            raise ApiError(NOT_FOUND, str(error)) from None
        except WorkflowInvalid as error:
            raise bad_request(str(error)) from None
        self._label_creator(metadata)
        dry_run = bool(request.get("serverDryRun")) or bool((request.get("createOptions") or {}).get("dryRun"))
        with self.table.lock:
            self._name(namespace, metadata)
            try:
                apply_labels_from(workflow, running_spec)
            except WorkflowInvalid as error:
                raise bad_request(str(error)) from None
            stored = {
                "metadata": metadata,
                "spec": workflow.get("spec") or {},
                "status": {"startedAt": None, "finishedAt": None},
            }
            if dry_run:
                return copy.deepcopy(stored)
            stored["status"].update(kept)
            record = WorkflowRecord(namespace, metadata["name"], stored)
            try:
                self.table.insert(record)
            except OSError as error:
                raise save_failed(record.name, error, self.settings.store.root) from None
            self._queue.add(record.key)
            return copy.deepcopy(record.obj)

    def _name(self, namespace: str, metadata: dict[str, Any]) -> None:
        """Give a new workflow its name (from ``generateName``), uid and creation time (lock held)."""
        name = metadata.get("name")
        if not name:
            for _ in range(GENERATED_NAME_ATTEMPTS):
                name = generated_name(metadata["generateName"])
                if (namespace, name) not in self.table:
                    break
        if (namespace, name) in self.table:
            raise already_exists(name)
        metadata["name"] = name
        metadata["uid"] = str(uuid.uuid4())
        metadata["generation"] = 1
        metadata["creationTimestamp"] = rfc3339()

    def lint(self, namespace: str, request: dict[str, Any]) -> dict[str, Any]:
        """``POST .../lint``: validation only; an invalid spec is a 500 code 2, as on Argo."""
        workflow = request.get("workflow") if isinstance(request, dict) else None
        if not isinstance(workflow, dict):
            raise ApiError(2, "unable to get a workflow")
        workflow = copy.deepcopy(workflow)
        workflow.setdefault("metadata", {}).setdefault("namespace", namespace)
        try:
            self._validate(workflow, self.templates.getter(namespace))
        except WorkflowInvalid as error:
            raise ApiError(2, str(error)) from None
        self._label_creator(workflow["metadata"])
        return workflow

    def _validate(self, workflow: dict[str, Any], templates: TemplateGetter, *, workflow_template: bool = False) -> None:
        """Everything create refuses: the engine's own limits, then Argo's validation (with the
        WorkflowTemplates of the workflow's namespace). A ``workflowTemplateRef`` workflow's
        limits are checked on its merged spec."""
        run, _ = with_workflow_template(workflow, templates) if isinstance(workflow.get("spec"), dict) else (workflow, None)
        validate_local_support(run, filesystem_view=self.settings.filesystem_view)
        if not self.settings.filesystem_view:
            refuse_hidden_artifact_paths(run)
        validate_workflow(workflow, volume_claims=self.settings.volumes.keys(), templates=templates,
                          workflow_template=workflow_template)
        if not workflow_template:
            self._validate_reached_templates(workflow, run, templates)

    def _validate_reached_templates(self, workflow: dict[str, Any], run: dict[str, Any],
                                    templates: TemplateGetter) -> None:
        """The templates a workflow reaches through ``templateRef``, checked with its own
        parameters and labels (Argo's validator resolves each reference in the workflow)."""
        stored = resolve_references(workflow, templates).get(STORED_TEMPLATES) or {}
        for scope, reached in reached_scopes(workflow, stored).items():
            as_workflow = {"metadata": workflow.get("metadata") or {},
                           "spec": {"templates": reached, "arguments": (run.get("spec") or {}).get("arguments") or {}}}
            try:
                validate_workflow(as_workflow, volume_claims=self.settings.volumes.keys(), templates=templates,
                                  workflow_template=True)
            except WorkflowInvalid as error:
                raise WorkflowInvalid(f"{scope}: {error}") from None

    def _validate_template(self, template: dict[str, Any], templates: TemplateGetter, cluster: bool) -> None:
        """A WorkflowTemplate's checks at create, update and lint (``template_store``)."""
        metadata = template.get("metadata") or {}
        as_workflow = {"metadata": {"name": metadata.get("name") or metadata.get("generateName") or "template",
                                    "labels": metadata.get("labels") or {},
                                    "annotations": metadata.get("annotations") or {}},
                       "spec": template.get("spec")}
        self._validate(as_workflow, templates, workflow_template=True)

    def _label_creator(self, metadata: dict[str, Any]) -> None:
        metadata.setdefault("labels", {})[LABEL_CREATOR] = dns_friendly(self.user) or "local"

    def get(self, namespace: str, name: str, fields: str | None = None) -> dict[str, Any]:
        """A copy of the workflow (only ``fields``, Argo's field filter, when given)."""
        with self.table.lock:
            record = self.table.find(namespace, name)
            self._materialize(record, force=False)
            return filter_fields(record.obj, fields)

    def list(self, namespace: str | None, *, label_selector: list[Requirement] | None = None,
             field_selector: list[tuple[str, str, str]] | None = None) -> list[dict[str, Any]]:
        """The workflows of ``namespace`` (all when None) that match both selectors, newest first."""
        with self.table.lock:
            items = []
            for record in self.table:
                if (not namespace or record.namespace == namespace) and _selected(record, label_selector,
                                                                                   field_selector):
                    self._materialize(record, force=False)
                    items.append(copy.deepcopy(record.obj))
        return newest_first(items)

    def delete(self, namespace: str, name: str) -> None:
        with self.table.lock:
            record = self.table.find(namespace, name)
            self.table.remove(record.key)
            self._runtimes.pop(record.key, None)
            self.mutexes.release_workflow(record.key)
            actives = self.pods.cancel_workflow(record.key)
            artifact_gc.collect(record.obj, self.settings.store.artifacts, artifact_gc.ON_DELETION)
        for active in actives:
            if active.thread is not None:
                active.thread.join(DELETE_JOIN_SECONDS)
        self.settings.store.delete(namespace, name)

    def artifact(self, namespace: str, name: str, node_id: str, artifact_name: str, *,
                 input_artifact: bool = False) -> tuple[str, Path | bytes]:
        """An artifact of a node, as Argo's artifact server serves it: (file name, the saved file
        or raw bytes). Raises ``ApiError`` (404) when the workflow, node or artifact is unknown or
        the object is gone."""
        with self.table.lock:
            record = self.table.find(namespace, name)
            node = record.nodes.get(node_id) or {}
            place = (node.get("inputs") if input_artifact else node.get("outputs")) or {}
            artifact = next((copy.deepcopy(item) for item in place.get("artifacts") or []
                             if item.get("name") == artifact_name), None)
        if artifact is None:
            raise ApiError(NOT_FOUND, f"artifact not found: {artifact_name}")
        if artifact.get("raw") is not None:
            return artifact_name, str((artifact.get("raw") or {}).get("data") or "").encode("utf-8")
        key = artifact_key(artifact)
        try:
            path = self.settings.store.artifacts.path_of(key)
        except ArtifactError:
            path = None
        if path is None or not path.is_file():
            raise ApiError(NOT_FOUND, f"artifact {artifact_name} has no file in the local artifact repository")
        return posixpath.basename(key), path

    def logs(self, namespace: str, name: str, **options: Any) -> Iterator[LogLine | None]:
        """The workflow's log lines (see ``logs.workflow_logs`` for the options)."""
        return workflow_logs(self.table, self.pods, namespace, name, **options)

    # -- API: actions ---------------------------------------------------------------------------

    def shutdown(self, namespace: str, name: str, strategy: str, node_selector: str = "",
                 message: str = "") -> dict[str, Any]:
        """``PUT .../stop`` (``Stop``) and ``.../terminate`` (``Terminate``); a stop with a
        ``nodeFieldSelector`` fails only the matching Suspend nodes, with ``message``
        (``StopWorkflow``)."""
        with self.table.lock:
            record = self.table.find(namespace, name)
            if node_selector:
                try:
                    changed = set_suspended_nodes(record.nodes, node_selector, phase=FAILED, message=message,
                                                  now=rfc3339())
                except SuspendError as error:
                    raise ApiError(INTERNAL, str(error)) from None
                self._nodes_changed(record, changed)
                return copy.deepcopy(record.obj)
            if record.completed:
                raise ApiError(INTERNAL, f'cannot shutdown a completed workflow: workflow: "{record.name}", '
                                         f'namespace: "{record.namespace}"')
            record.obj["spec"]["shutdown"] = strategy
            self.table.commit(record)
            self._reconcile(record)
            self._materialize(record)
            return copy.deepcopy(record.obj)

    def suspend(self, namespace: str, name: str) -> dict[str, Any]:
        """``PUT .../suspend``: ``spec.suspend = true``; nothing new starts until it is resumed."""
        with self.table.lock:
            record = self.table.find(namespace, name)
            if record.completed:
                raise ApiError(INTERNAL, "cannot suspend completed workflows")
            if not record.obj["spec"].get("suspend"):
                record.obj["spec"]["suspend"] = True
                self.table.commit(record)
                self._reconcile(record)
            self._materialize(record)
            return copy.deepcopy(record.obj)

    def resume(self, namespace: str, name: str, node_selector: str) -> dict[str, Any]:
        """``PUT .../resume``: without ``nodeFieldSelector``, clear ``spec.suspend`` and resume
        every running Suspend node; with it, resume the matching ones (``suspend``)."""
        with self.table.lock:
            record = self.table.find(namespace, name)
            now = rfc3339()
            try:
                if node_selector:
                    changed = set_suspended_nodes(record.nodes, node_selector, phase=SUCCEEDED, now=now)
                else:
                    changed = resume_all(record.nodes, now)
                    record.obj["spec"].pop("suspend", None)
            except SuspendError as error:
                raise ApiError(INTERNAL, str(error)) from None
            self._nodes_changed(record, changed)
            return copy.deepcopy(record.obj)

    def set_nodes(self, namespace: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """``PUT .../set``: phase, message and output parameters of the matching Suspend nodes."""
        phase = request.get("phase") or ""
        if phase not in SETTABLE_PHASES:
            raise bad_request(f"{phase} is an invalid phase to set to")
        outputs: dict[str, Any] = {}
        if request.get("outputParameters"):
            try:
                outputs = json.loads(request["outputParameters"])
                if not isinstance(outputs, dict):
                    raise ValueError("not an object")
            except ValueError as error:
                raise bad_request(f"unable to parse output parameter set request: {error}") from None
        with self.table.lock:
            record = self.table.find(namespace, name)
            try:
                changed = set_suspended_nodes(record.nodes, request.get("nodeFieldSelector") or "", phase=phase,
                                              message=request.get("message") or "",
                                              output_parameters={key: str(value) for key, value in outputs.items()},
                                              now=rfc3339())
            except SuspendError as error:
                raise ApiError(INTERNAL, str(error)) from None
            self._nodes_changed(record, changed)
            return copy.deepcopy(record.obj)

    def _nodes_changed(self, record: WorkflowRecord, changed: list[dict[str, Any]]) -> None:
        """Nodes an API call changed (lock held): tell the runtime, save, reconcile."""
        for node in changed:
            self._node_changed(record.key, node["id"])
        self.table.commit(record)
        if not record.completed:
            self._reconcile(record)
        self._materialize(record)

    def retry(self, namespace: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """``PUT .../retry``: reset failed nodes and run the same workflow again."""
        with self.table.lock:
            record = self.table.find(namespace, name)
            phase = record.status.get("phase") or ""
            if request.get("restartSuccessful") or request.get("nodeFieldSelector"):
                raise bad_request("restartSuccessful and nodeFieldSelector are not supported by the local engine")
            if phase == SUCCEEDED:
                raise bad_request("To retry a succeeded workflow, set the options restartSuccessful and nodeFieldSelector")
            if phase not in FAILED_PHASES:
                raise bad_request(f"Cannot retry a workflow in phase {phase}")
            set_arguments(record, request.get("parameters") or [])
            reset_for_retry(record, self.settings.store)
            # Claims deleted at completion are made again (createPVCs runs while the workflow runs).
            create_claims(record.status, execution_spec(record.obj), record.name,
                          self.settings.store.workflow_dir(record.namespace, record.name))
            self._runtimes.pop(record.key, None)  # rebuilt from the nodes that remain
            self.table.commit(record)
            self._queue.add(record.key)
            return copy.deepcopy(record.obj)

    def resubmit(self, namespace: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """``PUT .../resubmit``: a new workflow from the same spec."""
        with self.table.lock:
            record = self.table.find(namespace, name)
            if request.get("memoized"):
                raise bad_request("memoized resubmit is not supported by the local engine")
            workflow = resubmitted_workflow(record, request.get("parameters") or [])
        return self.create(namespace, {"workflow": workflow})


DEFAULT_ARTIFACT_REPOSITORY = {"s3": {"bucket": REPOSITORY_BUCKET, "keyFormat": KEY_FORMAT}}
"""How the engine reports its artifact repository (``artifacts``): Argo's default repository."""


def _start_status(record: WorkflowRecord, folder: Path) -> None:
    """What Argo's controller resolves when it first operates a workflow (operator.go): the
    artifact repository it uses (the default one), whether artifacts are collected, and the
    claims of its ``volumeClaimTemplates`` (``volume_claims``, in the workflow's ``folder``)."""
    status = record.status
    create_claims(status, execution_spec(record.obj), record.name, folder)
    status.setdefault("artifactRepositoryRef", {"default": True,
                                                "artifactRepository": copy.deepcopy(DEFAULT_ARTIFACT_REPOSITORY)})
    status.setdefault(artifact_gc.STATUS_FIELD, artifact_gc.initial_status(execution_spec(record.obj)))


def apply_workflow_metadata(workflow: dict[str, Any], spec: dict[str, Any] | None = None) -> None:
    """Copy ``spec.workflowMetadata``'s labels and annotations onto the workflow, as Argo's
    controller does when it first runs it (``updateWorkflowMetadata`` in operator.go), so
    ``{{workflow.labels.X}}`` resolves to them. ``labelsFrom`` needs the workflow's name:
    ``apply_labels_from``. ``spec``: the spec that runs (a ``workflowTemplateRef``'s merged
    spec), else the workflow's own."""
    extra = (spec if spec is not None else workflow.get("spec") or {}).get("workflowMetadata")
    if not isinstance(extra, dict):
        return
    metadata = workflow["metadata"]
    for field in ("labels", "annotations"):
        if isinstance(extra.get(field), dict) and extra[field]:
            metadata[field] = {**(metadata.get(field) or {}), **extra[field]}


def apply_labels_from(workflow: dict[str, Any], spec: dict[str, Any] | None = None) -> None:
    """Evaluate ``spec.workflowMetadata.labelsFrom`` once the workflow is named and set the labels,
    as Argo's ``updateWorkflowMetadata`` does with the global variables (``workflow.name``,
    ``workflow.parameters.*``, ...). Argo fails such a workflow when it first runs it; the local
    engine answers its create with the reason instead (``WorkflowInvalid``). ``spec`` as in
    ``apply_workflow_metadata``."""
    running_spec = spec if spec is not None else workflow.get("spec") or {}
    labels_from = (running_spec.get("workflowMetadata") or {}).get("labelsFrom") or {}
    if not labels_from:
        return
    values = workflow_globals(workflow)
    labels = workflow["metadata"].setdefault("labels", {})
    for label, source in labels_from.items():
        text = str(source.get("expression"))
        where = f"spec.workflowMetadata.labelsFrom.{label}.expression"
        try:
            value = evaluate(parse_expression(text), values.get)
        except (EvaluationError, MissingVariable, UnsupportedExpression) as error:
            raise WorkflowInvalid(f"{where}: failed to evaluate label \"{label}\" expression \"{text}\": {error}") from None
        if not isinstance(value, str):
            raise WorkflowInvalid(f"{where}: failed to evaluate label \"{label}\" expression \"{text}\" evaluted to "
                                  f"{type_name(value)} but must be a string")
        if len(value) > 63 or not LABEL_VALUE_PATTERN.match(value):
            raise WorkflowInvalid(f"{where}: invalid label value \"{value}\" for label \"{label}\" and expression "
                                  f"\"{text}\": must be 63 characters or less, alphanumeric, '-', '_' or '.', and "
                                  "start and end with an alphanumeric")
        labels[label] = value


def save_failed(name: str, error: OSError, folder: Path) -> ApiError:
    """The 500 a create answers when its workflow could not be saved (nothing was created)."""
    reason = error.strerror or str(error)
    return ApiError(INTERNAL, f'the local engine could not save workflow "{name}" in {folder}: {reason}; '
                              "it was not created (free some space or fix the folder, then submit again)")


def _selected(record: WorkflowRecord, label_selector: list[Requirement] | None,
              field_selector: list[tuple[str, str, str]] | None) -> bool:
    if label_selector and not labels_match(label_selector, record.obj["metadata"].get("labels")):
        return False
    return not field_selector or all(
        (str(field_value(record.obj, path) or "") == value) == (operator == "=")
        for path, operator, value in field_selector
    )
