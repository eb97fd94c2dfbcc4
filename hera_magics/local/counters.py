"""Counts over a workflow's nodes, kept up to date one node change at a time.

Argo's controller counts nodes by scanning ``status.nodes`` whenever it needs a number
(``workflow/controller/node_counters.go`` in argoproj/argo-workflows: ``getActivePods``,
``getActiveChildren``, ``getUnsuccessfulChildren``). The local engine keeps the same numbers as
counters instead: ``NodeCounters.observe`` is told about every node that was created or changed
and moves the node between counts by comparing its phase with the phase it had last time, so a
count costs nothing to read and an event costs O(1).

* active pods, per boundary (the DAG a node belongs to) and in all: ``Pod`` nodes that are
  ``Pending`` or ``Running`` (the workflow's ``parallelism``, a DAG's own pods);
* active children per boundary: ``Pod``, ``DAG`` and ``Steps`` nodes ``Pending`` or ``Running`` (a
  template's ``parallelism``);
* unsuccessful children per boundary: the same types ``Failed`` or ``Error`` (template ``failFast``);
* running pods (the ``PodRunning`` condition) and the workflow's ``progress`` (pods in all, pods
  succeeded).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from ..argo import FAILED_PHASES, PENDING, RUNNING, SUCCEEDED

ACTIVE_PHASES = (PENDING, RUNNING)
CHILD_TYPES = ("Pod", "DAG", "Steps")
"""Node types ``getActiveChildren`` and ``getUnsuccessfulChildren`` count."""
WORKFLOW = ""
"""The boundary key of the workflow as a whole (Argo's empty boundary id)."""


class NodeCounters:
    """Per-boundary and workflow-wide counts over the nodes, moved on each observed change."""

    def __init__(self, on_freed: Callable[[str], None] | None = None) -> None:
        self.active_pods: Counter[str] = Counter()
        self.active_children: Counter[str] = Counter()
        self.unsuccessful_children: Counter[str] = Counter()
        self.active_pod_ids: dict[str, None] = {}
        self.running_pods = 0
        self.pods = 0
        self.pods_succeeded = 0
        # Told the boundary key ("" for the workflow) whenever an active count went down.
        self.on_freed = on_freed
        self._seen: dict[str, tuple[str, str]] = {}

    def observe(self, node: dict[str, Any]) -> str | None:
        """Account for ``node``'s current phase; returns the phase it had before (None if new)."""
        identifier = node["id"]
        phase = node.get("phase") or ""
        before = self._seen.get(identifier)
        if before is not None and before[1] == phase:
            return phase
        self._seen[identifier] = (node.get("type") or "", phase)
        if before is not None:
            self._count(node, before[1], -1)
        self._count(node, phase, +1)
        return before[1] if before is not None else None

    def forget(self, node: dict[str, Any]) -> None:
        """Take a removed node out of every count."""
        before = self._seen.pop(node["id"], None)
        if before is not None:
            self._count(node, before[1], -1)

    def _count(self, node: dict[str, Any], phase: str, step: int) -> None:
        node_type = node.get("type")
        boundary = node.get("boundaryID") or WORKFLOW
        active = phase in ACTIVE_PHASES
        if node_type == "Pod":
            self.pods += step
            if phase == SUCCEEDED:
                self.pods_succeeded += step
            if phase == RUNNING:
                self.running_pods += step
            if active:
                self.active_pods[boundary] += step
                if step > 0:
                    self.active_pod_ids[node["id"]] = None
                else:
                    self.active_pod_ids.pop(node["id"], None)
        if node_type in CHILD_TYPES:
            if active:
                self.active_children[boundary] += step
            elif phase in FAILED_PHASES:
                self.unsuccessful_children[boundary] += step
        if step < 0 and active and self.on_freed is not None:
            self.on_freed(boundary)
            if boundary != WORKFLOW and node_type == "Pod":
                self.on_freed(WORKFLOW)

    def workflow_active_pods(self) -> int:
        """Pending or Running pods of the whole workflow."""
        return len(self.active_pod_ids)


__all__ = ["ACTIVE_PHASES", "CHILD_TYPES", "WORKFLOW", "NodeCounters"]
