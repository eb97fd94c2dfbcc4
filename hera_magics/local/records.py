"""The workflows the engine knows: one record each, kept in memory and saved to disk.

A ``WorkflowRecord`` is the Workflow object as the API returns it plus what is not part of it
(when its deadline started counting). The ``WorkflowTable`` holds every record by
``(namespace, name)`` with the one lock that guards all of them: the HTTP threads, the controller
thread and the pod threads all change workflows only while they hold ``table.lock``, so a reader
always sees a consistent object. ``commit`` gives a changed object a new ``resourceVersion`` and
saves it (``store.WorkflowStore``); ``touch`` gives it the new ``resourceVersion`` and leaves the
save to ``flush_due``, so a running workflow is saved at most every few tenths of a second
(what changes in between is in its ``journal``).

Two rules about failed saves (a full disk, a folder that became read-only):

* a new workflow enters the table only once it is saved (``insert``): when the save fails,
  the error reaches the caller and nothing of the workflow remains, in memory or on disk;
* a workflow the table already holds keeps running in memory when a save fails (``save``
  reports it on stderr once and tries again at the next change and at ``save_all``), so a full
  disk can never stop the controller, a pod's thread, stop or terminate.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..argo import FINAL_PHASES, LABEL_COMPLETED, LABEL_PHASE, parse_rfc3339
from .store import WorkflowStore
from .wire import not_found

# Kubernetes' key order, so the JSON reads like a real server's.
METADATA_ORDER = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation",
                  "creationTimestamp", "labels", "annotations")
WorkflowKey = tuple[str, str]
"""``(namespace, name)`` of a workflow."""
LATEST = "@latest"
"""The name Argo's API accepts for the newest workflow of a namespace."""


@dataclass
class WorkflowRecord:
    """One workflow the engine knows, with what is not part of the Workflow object."""

    namespace: str
    name: str
    obj: dict[str, Any]
    # When the workflow (re)started running: activeDeadlineSeconds counts from here.
    deadline_base: float | None = None

    @property
    def key(self) -> WorkflowKey:
        return (self.namespace, self.name)

    @property
    def status(self) -> dict[str, Any]:
        return self.obj.setdefault("status", {})

    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        return self.status.setdefault("nodes", {})

    @property
    def completed(self) -> bool:
        return self.status.get("phase") in FINAL_PHASES


def mark_completed_labels(record: WorkflowRecord) -> None:
    """Set the phase and completed labels Argo keeps in step with ``status.phase``."""
    labels = record.obj["metadata"].setdefault("labels", {})
    labels[LABEL_PHASE] = record.status.get("phase", "")
    labels[LABEL_COMPLETED] = "true" if record.completed else "false"


def _newest_first_key(obj: dict[str, Any]) -> tuple[str, int]:
    metadata = obj["metadata"]
    return (metadata.get("creationTimestamp") or "", int(metadata.get("resourceVersion") or 0))


def newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Workflow objects newest first, as the Argo UI and CLI show them."""
    return sorted(items, key=_newest_first_key, reverse=True)


class WorkflowTable:
    """Every workflow record by ``(namespace, name)``, the lock that guards them, and saving."""

    def __init__(self, store: WorkflowStore) -> None:
        self.store = store
        self.lock = threading.RLock()
        self._records: dict[WorkflowKey, WorkflowRecord] = {}
        self._resource_version = itertools.count(1)
        # Records changed since their last save (when first changed), and when each was last saved.
        self._unsaved: dict[WorkflowKey, float] = {}
        self._last_saved: dict[WorkflowKey, float] = {}
        # Records whose last save failed, with the error reported for them.
        self._save_failures: dict[WorkflowKey, str] = {}

    def __contains__(self, key: WorkflowKey) -> bool:
        return key in self._records

    def __iter__(self) -> Iterator[WorkflowRecord]:
        return iter(list(self._records.values()))

    def get(self, key: WorkflowKey) -> WorkflowRecord | None:
        return self._records.get(key)

    def find(self, namespace: str, name: str) -> WorkflowRecord:
        """The record of ``name`` (or ``@latest``) in ``namespace``; an API 404 when there is none."""
        if name == LATEST:
            candidates = [record for record in self._records.values() if record.namespace == namespace]
            if not candidates:
                raise not_found(name)
            return max(candidates, key=lambda record: _newest_first_key(record.obj))
        record = self._records.get((namespace, name))
        if record is None:
            raise not_found(name)
        return record

    def add(self, record: WorkflowRecord) -> None:
        self._records[record.key] = record

    def remove(self, key: WorkflowKey) -> None:
        del self._records[key]
        self._unsaved.pop(key, None)
        self._last_saved.pop(key, None)
        self._save_failures.pop(key, None)

    def commit(self, record: WorkflowRecord) -> None:
        """Record a change: new resourceVersion, saved to disk."""
        self._stamp(record)
        self.save(record)

    def _stamp(self, record: WorkflowRecord) -> None:
        """A new resourceVersion, and the metadata in Kubernetes' key order."""
        metadata = record.obj["metadata"]
        metadata["resourceVersion"] = str(next(self._resource_version))
        ordered = {key: metadata[key] for key in METADATA_ORDER if key in metadata}
        ordered.update((key, value) for key, value in metadata.items() if key not in ordered)
        record.obj["metadata"] = ordered

    def insert(self, record: WorkflowRecord) -> None:
        """Save a new workflow, then add it: a record exists only once it is saved.

        Raises ``OSError`` when the save fails; nothing of the workflow remains then
        (``WorkflowStore.create``).
        """
        self._stamp(record)
        self.store.create(record.namespace, record.name, record.obj)
        self.add(record)

    def save(self, record: WorkflowRecord) -> None:
        """Save a workflow the table holds; a failure is reported once, and the save tried again later."""
        try:
            self.store.save(record.namespace, record.name, record.obj)
        except OSError as error:
            reason = f"{type(error).__name__}: {error}"
            if self._save_failures.get(record.key) != reason:
                print(f"the local engine could not save workflow {record.namespace}/{record.name} "
                      f"(it goes on in memory, the save is tried again at its next change): {reason}",
                      file=sys.stderr, flush=True)
            self._save_failures[record.key] = reason
            return
        self._save_failures.pop(record.key, None)

    # -- coalesced saves: the first save at create is synchronous (commit); later changes while
    # -- a workflow runs are saved at most every few tenths of a second (touch, then flush_due).

    def touch(self, record: WorkflowRecord) -> None:
        """Record a change to save soon: a new resourceVersion now, the file with ``flush_due``."""
        record.obj["metadata"]["resourceVersion"] = str(next(self._resource_version))
        self._unsaved.setdefault(record.key, time.monotonic())

    def flush_due(self, interval: float, before_save: Callable[[WorkflowRecord], None] | None = None,
                  after_save: Callable[[WorkflowRecord], None] | None = None) -> int:
        """Save the records touched at least ``interval`` seconds after their last save (lock
        held); how many were saved."""
        now = time.monotonic()
        saved = 0
        for key in list(self._unsaved):
            record = self._records.get(key)
            if record is None:
                del self._unsaved[key]
                continue
            if now - self._last_saved.get(key, 0.0) < interval:
                continue
            self.flush(record, before_save, after_save)
            saved += 1
        return saved

    def flush(self, record: WorkflowRecord, before_save: Callable[[WorkflowRecord], None] | None = None,
              after_save: Callable[[WorkflowRecord], None] | None = None) -> None:
        """Save ``record`` now if it has unsaved changes (lock held)."""
        if self._unsaved.pop(record.key, None) is None:
            return
        if before_save is not None:
            before_save(record)
        self.save(record)
        self._last_saved[record.key] = time.monotonic()
        if after_save is not None:
            after_save(record)

    def continue_after(self, resource_version: int) -> None:
        """Hand out resourceVersions above ``resource_version`` from now on (after a journal replay)."""
        current = next(self._resource_version)
        self._resource_version = itertools.count(max(current, resource_version + 1))

    def has_unsaved(self) -> bool:
        return bool(self._unsaved)

    def save_all(self) -> None:
        for record in self._records.values():
            self.save(record)

    def load(self) -> list[WorkflowRecord]:
        """Add every saved workflow; resourceVersions continue after the highest saved one."""
        highest = 0
        loaded = []
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
            self.add(record)
            loaded.append(record)
        self._resource_version = itertools.count(highest + 1)
        return loaded
