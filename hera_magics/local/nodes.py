"""Node bookkeeping: the ``status.nodes`` map of one workflow, looked up, grown and closed.

``status.nodes`` is the engine's only execution state, as in Argo's controller: every node has
an id (``argo.node_id`` of its name), a type (``Pod``, ``Retry``, ``DAG``, ``Skipped``), a phase,
``children`` (what runs after it, or a Retry node's attempts, or a DAG's first tasks) and a
``boundaryID`` (the DAG node it belongs to). ``NodeBook`` wraps the map for one reconcile pass and
keeps an index by name, which is how the walk finds the node of a task. ``update_progress`` sets
every ``progress`` field.

Argo's counterparts, in argoproj/argo-workflows: ``initializeNode``, ``markNodePhase`` and
``getOutboundNodes`` in ``workflow/controller/operator.go``; ``workflow/progress/updater.go``.
"""

from __future__ import annotations

import re
from typing import Any

from ..argo import (
    EXECUTABLE_NODE_TYPES,
    FINAL_PHASES,
    FULFILLED_PHASES,
    PENDING,
    RUNNING,
    SUCCEEDED,
    node_id,
    rfc3339,
)

Node = dict[str, Any]

MAX_RECURSION_DEPTH = 100
"""How deep templates may nest (Argo's default ``maxOperationDepth``)."""

# Node types that are where a dependent task hangs itself in the graph (``getOutboundNodes``).
_LEAF_TYPES = ("Pod", "Skipped", "Suspend", "HTTP", "Plugin")
_ATTEMPT_SUFFIX = re.compile(r"\(\d+\)$")


def attempt_name(name: str, index: int) -> str:
    """The name of attempt ``index`` of a Retry node (or its display name): ``name(index)``."""
    return f"{name}({index})"


def has_attempt_suffix(name: str) -> bool:
    return _ATTEMPT_SUFFIX.search(name) is not None


def without_attempt_suffix(name: str) -> str:
    """``task(2)`` -> ``task``: the task an attempt belongs to."""
    return _ATTEMPT_SUFFIX.sub("", name)


def is_fulfilled(node: Node | None) -> bool:
    """True when the node exists and will never change again (Argo's ``Fulfilled()``)."""
    return node is not None and node.get("phase") in FULFILLED_PHASES


def add_child(parent: Node, child_id: str) -> None:
    children = parent.setdefault("children", [])
    if child_id not in children:
        children.append(child_id)


class NodeBook:
    """The nodes of one workflow during one reconcile, with an index by node name."""

    def __init__(self, workflow_name: str, nodes: dict[str, Node], now: float) -> None:
        self.workflow_name = workflow_name
        self.nodes = nodes
        self.now = now
        self._by_name = {node["name"]: node for node in nodes.values()}

    def by_name(self, name: str) -> Node | None:
        return self._by_name.get(name)

    def get(self, identifier: str) -> Node | None:
        return self.nodes.get(identifier)

    def create(self, name: str, node_type: str, template_name: str | None, boundary_id: str | None,
               display_name: str, phase: str, *, message: str | None = None,
               inputs: dict[str, Any] | None = None) -> Node:
        """Add a node (keys in the order Argo writes them); a fulfilled one is finished at once."""
        identifier = node_id(self.workflow_name, name)
        node: Node = {
            "id": identifier,
            "name": name,
            "displayName": display_name,
            "type": node_type,
        }
        if template_name:
            node["templateName"] = template_name
            node["templateScope"] = f"local/{self.workflow_name}"
        node["phase"] = phase
        if boundary_id:
            node["boundaryID"] = boundary_id
        started = rfc3339(self.now)
        node["startedAt"] = started
        node["finishedAt"] = started if phase in FULFILLED_PHASES else None
        if message:
            node["message"] = message
        if inputs:
            node["inputs"] = inputs
        self.nodes[identifier] = node
        self._by_name[name] = node
        return node

    def finish(self, node: Node, phase: str, message: str | None = None) -> None:
        node["phase"] = phase
        node["finishedAt"] = rfc3339(self.now)
        if message:
            node["message"] = message

    def outbound_nodes(self, identifier: str) -> list[str]:
        """Argo's ``getOutboundNodes``: where a dependent task hangs in the node graph."""
        node = self.nodes.get(identifier)
        if node is None:
            return []
        if node["type"] in _LEAF_TYPES:
            return [identifier]
        if node["type"] == "Retry":
            children = node.get("children") or []
            return [children[-1]] if children else []
        outbound: list[str] = []
        for child in node.get("outboundNodes") or []:
            outbound.extend(self.outbound_nodes(child))
        return outbound

    def active_pods(self) -> list[Node]:
        """Pod nodes that are Pending or Running."""
        return [node for node in self.nodes.values()
                if node["type"] == "Pod" and node.get("phase") in (PENDING, RUNNING)]

    def active_pods_below(self, boundary_id: str | None) -> int:
        """Pending or Running pods of the workflow (``None``) or inside one DAG node."""
        active = self.active_pods()
        if boundary_id is None:
            return len(active)
        return sum(1 for node in active if self._inside(node, boundary_id))

    def _inside(self, node: Node, boundary_id: str) -> bool:
        current = node.get("boundaryID")
        seen = 0
        while current and seen < MAX_RECURSION_DEPTH + 2:
            if current == boundary_id:
                return True
            current = (self.nodes.get(current) or {}).get("boundaryID")
            seen += 1
        return False


def _done(node: Node) -> int:
    return 1 if node.get("phase") == SUCCEEDED else 0


def _executable_below(nodes: dict[str, Node], node: Node) -> list[Node]:
    """Every Pod-like node reachable through ``children``, each once."""
    found = []
    seen: set[str] = set()
    stack = list(node.get("children") or [])
    while stack:
        child_id = stack.pop()
        if child_id in seen or child_id not in nodes:
            continue
        seen.add(child_id)
        child = nodes[child_id]
        if child["type"] in EXECUTABLE_NODE_TYPES:
            found.append(child)
        stack.extend(child.get("children") or [])
    return found


def update_progress(status: dict[str, Any]) -> None:
    """``done/total`` over Pod nodes: a Pod's own, a container node's over its descendants.

    Also the workflow's ``progress`` and, while it runs, its ``PodRunning`` condition.
    """
    nodes: dict[str, Node] = status.get("nodes") or {}
    executable = [node for node in nodes.values() if node["type"] in EXECUTABLE_NODE_TYPES]
    for node in executable:
        node["progress"] = f"{_done(node)}/1"
    for node in nodes.values():
        if node["type"] in EXECUTABLE_NODE_TYPES:
            continue
        below = _executable_below(nodes, node)
        if below:
            node["progress"] = f"{sum(_done(child) for child in below)}/{len(below)}"
        else:
            node.pop("progress", None)
    status["progress"] = f"{sum(_done(node) for node in executable)}/{len(executable)}"
    running = any(node.get("phase") == RUNNING for node in nodes.values() if node["type"] == "Pod")
    if status.get("phase") not in FINAL_PHASES:
        status["conditions"] = [{"type": "PodRunning", "status": "True" if running else "False"}]
