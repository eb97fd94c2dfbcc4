"""``synchronization`` mutexes, shared by every workflow of one engine, as Argo v4.0.5 keeps them.

Argo's controller (``workflow/sync/`` in argoproj/argo-workflows: ``sync_manager.go``,
``semaphore.go``, ``lock_name.go``; callers in ``workflow/controller/operator.go``):

* a lock is named ``NAMESPACE/Mutex/NAME`` (the mutex's ``namespace``, else the workflow's);
  ``synchronization.mutex`` (deprecated) and ``synchronization.mutexes`` both name mutexes;
* the holder is ``NAMESPACE/WORKFLOW`` for ``spec.synchronization`` and
  ``NAMESPACE/WORKFLOW/NODE-ID`` for a template's (``getHolderKey``);
* whoever asks joins the lock's queue, ordered by the workflow's ``spec.priority`` (higher first),
  then its creation time; the lock goes to the front of the queue (or to another node of the
  front's workflow, ``isSameWorkflowNodeKeys``) when it is free; every lock of a ``synchronization``
  is taken at once or none is;
* while waiting, the message is ``Waiting for LOCK lock. Lock status: 0/1`` and the workflow's
  ``status.synchronization.mutex.waiting`` names the lock and its holder; once taken,
  ``holding`` names the lock and the holder (``MutexStatus.LockAcquired``/``LockWaiting``);
* a template's lock is released when its node is fulfilled, a workflow's locks when it completes
  (``ReleaseAll``, which also drops ``status.synchronization``), and every lock of a deleted
  workflow; the released lock's next waiter is reconciled at once (``nextWorkflow``).

Semaphores and database locks are refused at create (``validate_synchronization``): the engine
has no ConfigMaps to read a semaphore's limit from, and Argo's default controller has no
synchronization database, so it would fail such a workflow.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

WorkflowKey = tuple[str, str]

MUTEX_KIND = "Mutex"


def mutex_names(synchronization: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The mutexes a ``synchronization`` asks for (``mutex`` first, then ``mutexes``; Argo's
    ``allSyncItems``)."""
    if not synchronization:
        return []
    mutexes: list[dict[str, Any]] = []
    if isinstance(synchronization.get("mutex"), dict):
        mutexes.append(synchronization["mutex"])
    mutexes.extend(mutex for mutex in synchronization.get("mutexes") or [] if isinstance(mutex, dict))
    return mutexes


def lock_keys(synchronization: Mapping[str, Any] | None, namespace: str) -> list[str]:
    """``NAMESPACE/Mutex/NAME`` for each mutex (``getMutexLockName``)."""
    return [f"{mutex.get('namespace') or namespace}/{MUTEX_KIND}/{mutex['name']}"
            for mutex in mutex_names(synchronization)]


def holder_key(namespace: str, workflow: str, node_id: str = "") -> str:
    """Argo's ``getHolderKey``: the workflow, or one of its nodes."""
    return f"{namespace}/{workflow}/{node_id}" if node_id else f"{namespace}/{workflow}"


def _same_workflow(first: str, second: str) -> bool:
    """``isSameWorkflowNodeKeys``: as many parts, and the same workflow name."""
    first_parts, second_parts = first.split("/"), second.split("/")
    return len(first_parts) == len(second_parts) and first_parts[1] == second_parts[1]


def _workflow_of(holder: str) -> WorkflowKey:
    namespace, name = holder.split("/")[:2]
    return namespace, name


@dataclass
class _Mutex:
    holder: str | None = None
    # (-priority, creation time, arrival, holder): the front of the queue comes first.
    queue: list[tuple[int, str, int, str]] = field(default_factory=list)

    def enqueue(self, holder: str, priority: int, created: str, arrival: int) -> None:
        if all(entry[3] != holder for entry in self.queue):
            self.queue.append((-priority, created, arrival, holder))
            self.queue.sort()

    def remove(self, holder: str) -> None:
        self.queue = [entry for entry in self.queue if entry[3] != holder]

    def front(self) -> str | None:
        return self.queue[0][3] if self.queue else None


class Mutexes:
    """The engine's mutexes (one table for every workflow it runs)."""

    def __init__(self, wake: Callable[[WorkflowKey], None] | None = None) -> None:
        self._locks: dict[str, _Mutex] = {}
        self._guard = threading.Lock()
        self._arrivals = 0
        self._wake = wake or (lambda key: None)

    def holder_of(self, lock: str) -> str | None:
        with self._guard:
            mutex = self._locks.get(lock)
            return mutex.holder if mutex is not None else None

    def try_acquire(self, workflow: Mapping[str, Any], holder: str, locks: list[str]) -> tuple[bool, str, str]:
        """Take every lock in ``locks`` for ``holder``, or none: (taken, waiting message, the
        first lock that was not free)."""
        metadata = workflow.get("metadata") or {}
        priority = int((workflow.get("spec") or {}).get("priority") or 0)
        created = str(metadata.get("creationTimestamp") or "")
        with self._guard:
            for lock in locks:
                self._arrivals += 1
                self._locks.setdefault(lock, _Mutex()).enqueue(holder, priority, created, self._arrivals)
            message, failed = "", ""
            for lock in locks:
                mutex = self._locks[lock]
                if mutex.holder == holder:
                    continue
                front = mutex.front()
                at_front = front is None or _same_workflow(holder, front)
                if not at_front and mutex.holder is None:
                    self._wake(_workflow_of(front))  # the front may take it now
                if not at_front or mutex.holder is not None:
                    message = message or f"Waiting for {lock} lock. Lock status: 0/1"
                    failed = failed or lock
            if failed:
                return False, message, failed
            for lock in locks:
                mutex = self._locks[lock]
                mutex.holder = holder
                mutex.remove(holder)
            return True, "", ""

    def release(self, holder: str, locks: Iterable[str]) -> None:
        """``holder`` lets go of ``locks`` (and leaves their queues); their next waiters are woken."""
        with self._guard:
            for lock in locks:
                mutex = self._locks.get(lock)
                if mutex is None:
                    continue
                mutex.remove(holder)
                if mutex.holder == holder:
                    mutex.holder = None
                    self._wake_front(mutex)

    def release_workflow(self, key: WorkflowKey) -> None:
        """Every lock the workflow (or a node of it) holds or waits for (``ReleaseAll``, and a
        deleted workflow's, ``CheckWorkflowExistence``)."""
        with self._guard:
            for mutex in self._locks.values():
                before = mutex.front()
                mutex.queue = [entry for entry in mutex.queue if _workflow_of(entry[3]) != key]
                if mutex.holder is not None and _workflow_of(mutex.holder) == key:
                    mutex.holder = None
                    self._wake_front(mutex)
                elif mutex.front() != before and mutex.holder is None:
                    self._wake_front(mutex)

    def restore(self, lock: str, holder: str) -> None:
        """A holding read back from a saved workflow's ``status.synchronization`` (``Initialize``)."""
        with self._guard:
            self._locks.setdefault(lock, _Mutex()).holder = holder

    def _wake_front(self, mutex: _Mutex) -> None:
        front = mutex.front()
        if front is not None:
            self._wake(_workflow_of(front))


# -- the workflow's status.synchronization -------------------------------------------------------------


def _mutex_status(status: dict[str, Any]) -> dict[str, Any]:
    return status.setdefault("synchronization", {}).setdefault("mutex", {})


def lock_acquired(status: dict[str, Any], holder: str, locks: list[str]) -> None:
    """``MutexStatus.LockAcquired``: ``holding`` names each lock and its holder; the lock is no
    longer waited for."""
    mutex_status = _mutex_status(status)
    holding = mutex_status.setdefault("holding", [])
    for lock in locks:
        entry = next((item for item in holding if item.get("mutex") == lock), None)
        if entry is None:
            holding.append({"mutex": lock, "holder": holder})
        else:
            entry["holder"] = holder
    waiting = [item for item in mutex_status.get("waiting") or [] if item.get("mutex") not in locks]
    _set_or_drop(mutex_status, "waiting", waiting)


def lock_waiting(status: dict[str, Any], mutexes: Mutexes, locks: list[str]) -> None:
    """``MutexStatus.LockWaiting``: ``waiting`` names each held lock and who holds it."""
    mutex_status = _mutex_status(status)
    waiting = mutex_status.setdefault("waiting", [])
    for lock in locks:
        current = mutexes.holder_of(lock)
        if current is None:
            continue
        entry = next((item for item in waiting if item.get("mutex") == lock), None)
        if entry is None:
            waiting.append({"mutex": lock, "holder": current})
        else:
            entry["holder"] = current
    _set_or_drop(mutex_status, "waiting", waiting)


def lock_released(status: dict[str, Any], holder: str, locks: list[str]) -> None:
    """``MutexStatus.LockReleased``: the holder's entries leave ``holding``."""
    mutex_status = (status.get("synchronization") or {}).get("mutex")
    if mutex_status is None:
        return
    holding = [item for item in mutex_status.get("holding") or []
               if not (item.get("holder") == holder and item.get("mutex") in locks)]
    _set_or_drop(mutex_status, "holding", holding)


def held_locks(status: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(lock, holder) for every lock the saved status says is held."""
    mutex_status = (status.get("synchronization") or {}).get("mutex") or {}
    return [(item["mutex"], item["holder"]) for item in mutex_status.get("holding") or []
            if item.get("mutex") and item.get("holder")]


def _set_or_drop(mapping: dict[str, Any], key: str, items: list[Any]) -> None:
    if items:
        mapping[key] = items
    else:
        mapping.pop(key, None)


__all__ = [
    "Mutexes",
    "held_locks",
    "holder_key",
    "lock_acquired",
    "lock_keys",
    "lock_released",
    "lock_waiting",
    "mutex_names",
]
