"""What the engine keeps about a running workflow between events, besides ``status.nodes``.

Argo's controller rebuilds everything it needs from ``status.nodes`` on every pass and walks
the whole workflow. The local engine does the walk once (when it first sees the workflow, after
an engine restart, after a ``retry``) and then keeps, per workflow, a ``WorkflowRuntime``:

* ``nodes``: the ``NodeBook`` (index by name), which reports every node it creates or changes;
* ``counters``: ``NodeCounters`` (active pods and children per DAG, failures, progress counts);
* ``owners``: for each node, the *unit* to tell when it is created or fulfilled, and under which
  key. Units are the parts of the workflow that wait for nodes: a DAG node (``DagRun``: a
  dependents index, unmet-dependency counts and a ready queue), a Steps node (``StepsRun``: the
  open step group and its open children), a Retry node (``RetryRun``), a Suspend node
  (``SuspendRun``), and the workflow itself (``WorkflowRun``: root and exit handler);
* ``work``: the units to advance now (each at most once in the line); ``waiting``: the units a
  ``parallelism`` holds back, by what holds them (woken when a count under it goes down);
  ``timers``: units to advance later (retry backoff, a suspend's duration).

An event (a pod ended, a stop) costs the nodes it changed plus the units they wake: nothing
walks the whole workflow. ``status.nodes`` stays the only state that is saved; the runtime is
derived from it and can be rebuilt at any time.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

from ..argo import FULFILLED_PHASES, SUCCEEDED, node_id
from .counters import NodeCounters
from .memoization import MemoCache
from .nodes import Node, NodeBook, task_name_of
from .parameters import workflow_globals
from .records import WorkflowRecord
from .spec import DagPlan, dag_plan, execution_spec
from .steps_executor import StepsPlan, steps_plan
from .synchronization import Mutexes, held_locks, holder_key, lock_released
from .template_refs import execution_templates, local_scope, template_key_of
from .templates import TemplateResolver

if TYPE_CHECKING:
    from .reconcile import Operation


class Unit(Protocol):
    """A part of the workflow that waits for nodes (a DAG, a Retry node, the workflow)."""

    def advance(self, operation: Operation) -> None:
        """Do what can be done now (start nodes, finish the unit)."""

    def child_event(self, node: Node, key: Any, created: bool, fulfilled: bool) -> None:
        """A node this unit owns was created and/or fulfilled (only bookkeeping here)."""


class WorkflowRuntime:
    """The indexes, counters and queues of one running workflow (see the module docstring)."""

    def __init__(self, record: WorkflowRecord) -> None:
        self.record = record
        self.spec = execution_spec(record.obj)
        # Every template by key (template_refs), with spec.templateDefaults merged in (templates).
        self.resolver = TemplateResolver(execution_templates(record.obj), self.spec.get("templateDefaults"))
        self.templates = self.resolver.named
        self.globals = workflow_globals(record.obj)
        self.freed: set[str] = set()
        self.counters = NodeCounters(on_freed=self._freed)
        self.owners: dict[str, tuple[Unit, Any]] = {}
        self.units: list[Unit] = []
        self.work: deque[Unit] = deque()
        self._queued: set[int] = set()
        self.waiting: dict[str, dict[int, Unit]] = {}
        self.timers: list[tuple[float, int, Unit]] = []
        self._sequence = itertools.count()
        self._plans: dict[Any, DagPlan] = {}
        self._steps_plans: dict[Any, StepsPlan] = {}
        # Nodes a pod thread changed since the last reconcile (their ids).
        self.pending_changes: list[str] = []
        # Set whenever a node changes: there is something to save, progress to recompute; and
        # the nodes changed since the last journal line.
        self.changed = False
        self.dirty_nodes: dict[str, None] = {}
        self.progress_stale = True
        self.progress_refreshed = 0.0
        # The stop reason whose kills were already done.
        self.stop_handled: str | None = None
        # The last reconcile saw spec.suspend (so the next one without it looks at every unit).
        self.suspended = False
        self.root_unit: Unit | None = None
        # The engine's mutexes (``synchronization``), the locks each node holds (by node id,
        # read back from status.synchronization after a restart), and the nodes waiting for one.
        self.locks: Mutexes | None = None
        self.held: dict[str, list[str]] = {}
        prefix = holder_key(record.namespace, record.name) + "/"
        for lock, holder in held_locks(record.status):
            if holder.startswith(prefix):
                self.held.setdefault(holder[len(prefix):], []).append(lock)
        self.lock_waits: list[Unit] = []
        # The engine's memoization entries (``memoize``): a node that missed saves its outputs.
        self.memos: MemoCache | None = None
        for node in record.nodes.values():
            self.counters.observe(node)
        self.nodes = NodeBook(record.name, record.nodes, listener=self.node_changed)
        self.nodes.local_scope = local_scope(record.obj)

    # -- plans --------------------------------------------------------------------------------------

    def plan(self, template: dict[str, Any]) -> DagPlan:
        """The ``DagPlan`` of a DAG template, read once per workflow."""
        key = _plan_key(template)
        if key not in self._plans:
            self._plans[key] = dag_plan(template)
        return self._plans[key]

    def steps_plan(self, template: dict[str, Any]) -> StepsPlan:
        """The ``StepsPlan`` of a steps template, read once per workflow."""
        key = _plan_key(template)
        if key not in self._steps_plans:
            self._steps_plans[key] = steps_plan(template)
        return self._steps_plans[key]

    def boundary_plan(self, template: dict[str, Any]) -> DagPlan | StepsPlan | None:
        """The plan of a DAG or steps template (its ``failFast`` and ``parallelism``), else None."""
        if template.get("dag") is not None:
            return self.plan(template)
        if template.get("steps") is not None:
            return self.steps_plan(template)
        return None

    def resolve(self, reference: Any) -> dict[str, Any] | None:
        """The template a task or step runs: ``reference`` is a name or an inline template."""
        return self.resolver.resolve(reference)

    def template_of(self, node: Node | None) -> dict[str, Any] | None:
        """The template ``node`` ran: its ``templateName``'s, else (an inline template) the inline
        template of the task or step its name ends with, in its enclosing DAG or steps template."""
        if node is None:
            return None
        if node.get("templateName") or node.get("templateRef"):
            return self.templates.get(template_key_of(node))
        boundary = self.template_of(self.nodes.get(node.get("boundaryID") or ""))
        if boundary is None:
            return None
        name = task_name_of(node["name"])
        for holder in _holders(boundary):
            if holder.get("name") == name and isinstance(holder.get("inline"), dict):
                return self.resolve(holder["inline"])
        return None

    # -- node events ----------------------------------------------------------------------------------

    def expect(self, name: str, unit: Unit, key: Any) -> str:
        """Make ``unit`` the owner of the node ``name`` (before it is created); its id."""
        identifier = node_id(self.record.name, name)
        self.owners[identifier] = (unit, key)
        return identifier

    def node_changed(self, node: Node) -> None:
        """Account for a created or changed node and tell its owner what happened."""
        before = self.counters.observe(node)
        self.changed = True
        self.progress_stale = True
        self.dirty_nodes[node["id"]] = None
        owner = self.owners.get(node["id"])
        if owner is None:
            return
        created = before is None
        fulfilled = node.get("phase") in FULFILLED_PHASES and (created or before not in FULFILLED_PHASES)
        if fulfilled and node["id"] in self.held:
            self._release(node["id"])
        memoization = node.get("memoizationStatus")
        if fulfilled and memoization and not memoization.get("hit") and node.get("phase") == SUCCEEDED \
                and self.memos is not None:
            self.memos.save(self.record.namespace, memoization["cacheName"], memoization["key"], node["id"],
                            node.get("outputs") or {})
        if created or fulfilled:
            unit, key = owner
            unit.child_event(node, key, created, fulfilled)
            self.enqueue(unit)

    def release_fulfilled_holders(self) -> None:
        """After a restart: the locks of nodes that ended meanwhile (interrupted) are released."""
        for identifier in list(self.held):
            if self.nodes.get(identifier) is None or self.nodes.get(identifier).get("phase") in FULFILLED_PHASES:
                self._release(identifier)

    def _release(self, identifier: str) -> None:
        """A node that held locks is fulfilled: they are released (``syncManager.Release``)."""
        locks = self.held.pop(identifier)
        holder = holder_key(self.record.namespace, self.record.name, identifier)
        if self.locks is not None:
            self.locks.release(holder, locks)
        lock_released(self.record.status, holder, locks)

    def take_pending_changes(self) -> None:
        """Observe the nodes pod threads changed since the last time."""
        changes, self.pending_changes = self.pending_changes, []
        for identifier in changes:
            node = self.nodes.get(identifier)
            if node is not None:
                self.node_changed(node)

    def take_dirty_nodes(self) -> list[Node]:
        """The nodes changed since the last call (for the journal)."""
        dirty, self.dirty_nodes = self.dirty_nodes, {}
        return [node for node in map(self.nodes.get, dirty) if node is not None]

    # -- scheduling ---------------------------------------------------------------------------------

    def register(self, unit: Unit) -> None:
        self.units.append(unit)
        self.enqueue(unit)

    def enqueue(self, unit: Unit) -> None:
        """Advance ``unit`` in this reconcile (once, however often it is asked)."""
        if id(unit) not in self._queued:
            self._queued.add(id(unit))
            self.work.append(unit)

    def next_unit(self) -> Unit | None:
        if not self.work:
            return None
        unit = self.work.popleft()
        self._queued.discard(id(unit))
        return unit

    def wait(self, unit: Unit, key: str) -> None:
        """Hold ``unit`` until the count behind ``key`` goes down (a boundary id, or "" for the workflow)."""
        self.waiting.setdefault(key, {})[id(unit)] = unit

    def _freed(self, key: str) -> None:
        if self.waiting.get(key):
            self.freed.add(key)

    def wake_freed(self) -> bool:
        """Queue the units held by counts that went down; True when any was queued."""
        woke = False
        while self.freed:
            for unit in self.waiting.pop(self.freed.pop(), {}).values():
                self.enqueue(unit)
                woke = True
        return woke

    def schedule(self, unit: Unit, due: float) -> None:
        """Advance ``unit`` again at the time ``due`` (seconds since the epoch)."""
        heapq.heappush(self.timers, (due, next(self._sequence), unit))

    def wake_due(self, now: float) -> bool:
        woke = False
        while self.timers and self.timers[0][0] <= now:
            self.enqueue(heapq.heappop(self.timers)[2])
            woke = True
        return woke

    def next_timer(self) -> float | None:
        return self.timers[0][0] if self.timers else None


def _plan_key(template: dict[str, Any]) -> Any:
    """Named templates are planned once by name, inline ones (nameless) by identity."""
    return template.get("name") or ("inline", id(template))


def _holders(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The DAG tasks or steps of a template."""
    holders = [task for task in (template.get("dag") or {}).get("tasks") or [] if isinstance(task, dict)]
    for group in template.get("steps") or []:
        steps = group.get("steps") if isinstance(group, dict) else group
        holders.extend(step for step in steps or [] if isinstance(step, dict))
    return holders


__all__ = ["Unit", "WorkflowRuntime"]
