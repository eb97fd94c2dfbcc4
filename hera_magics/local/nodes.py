"""Node bookkeeping: the ``status.nodes`` map of one workflow, looked up, grown and closed.

``status.nodes`` is the engine's only execution state, as in Argo's controller: every node has
an id (``argo.node_id`` of its name), a type (``Pod``, ``Retry``, ``DAG``, ``TaskGroup``,
``Steps``, ``StepGroup``, ``Suspend``, ``Skipped``), a phase, ``children`` (what runs after it,
a Retry node's attempts, a TaskGroup's items, a DAG's first tasks, a step group's steps) and a
``boundaryID`` (the DAG or Steps node it belongs to).

``NodeBook`` wraps the map for as long as the workflow runs: it keeps an index by name (how a
DAG finds the node of a task) and tells a listener about every node it creates or changes, which
is how the counters and the DAG bookkeeping stay current without scanning the map.
``refresh_progress`` sets every ``progress`` field in one pass.

Argo's counterparts, in argoproj/argo-workflows: ``initializeNode``, ``markNodePhase`` and
``getOutboundNodes`` in ``workflow/controller/operator.go``; ``workflow/progress/updater.go``.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

from ..argo import (
    DONE_PHASES,
    EXECUTABLE_NODE_TYPES,
    FINAL_PHASES,
    FULFILLED_PHASES,
    node_id,
    rfc3339,
)
from .template_refs import node_template_fields

Node = dict[str, Any]

MAX_RECURSION_DEPTH = 100
"""How deep templates may nest (Argo's default ``maxOperationDepth``)."""

# Node types that are where a dependent task hangs itself in the graph (``getOutboundNodes``).
_LEAF_TYPES = ("Pod", "Skipped", "Suspend", "HTTP", "Plugin")


def attempt_name(name: str, index: int) -> str:
    """The name of attempt ``index`` of a Retry node (or its display name): ``name(index)``."""
    return f"{name}({index})"


def task_name_of(node_name: str) -> str:
    """The DAG task a node runs for, from its name: ``wf.fan(0:1)(0)`` -> ``fan``.

    Argo's ``getStepOrDAGTaskName``: drop the trailing ``(...)``/``[...]`` groups (loop items,
    retry attempts), then keep what follows the last dot.
    """
    end = len(node_name)
    closer_for = {")": "(", "]": "["}
    opener = ""
    for position in range(len(node_name) - 1, -1, -1):
        character = node_name[position]
        if opener:
            if character == opener:
                opener = ""
            continue
        if character in closer_for:
            opener = closer_for[character]
            continue
        end = position + 1
        break
    head = node_name[:end]
    return head[head.rfind(".") + 1:]


def is_fulfilled(node: Node | None) -> bool:
    """True when the node exists and will never change again (Argo's ``Fulfilled()``)."""
    return node is not None and node.get("phase") in FULFILLED_PHASES


def add_child(parent: Node, child_id: str) -> None:
    """Add ``child_id`` to ``parent``'s children unless it is there already (Argo's ``addChildNode``)."""
    children = parent.setdefault("children", [])
    if child_id not in children:
        children.append(child_id)


class NodeBook:
    """The nodes of one workflow, with an index by name, told to a listener as they change."""

    def __init__(self, workflow_name: str, nodes: dict[str, Node],
                 listener: Callable[[Node], None] | None = None) -> None:
        self.workflow_name = workflow_name
        self.nodes = nodes
        self.now = time.time()
        self.listener = listener
        self._by_name = {node["name"]: node for node in nodes.values()}
        # The templateScope of the workflow's own templates (``template_refs.local_scope``).
        self.local_scope = f"local/{workflow_name}"

    def __len__(self) -> int:
        return len(self.nodes)

    def by_name(self, name: str) -> Node | None:
        return self._by_name.get(name)

    def get(self, identifier: str) -> Node | None:
        return self.nodes.get(identifier)

    def create(self, name: str, node_type: str, template_name: str | None, boundary_id: str | None,
               display_name: str, phase: str, *, message: str | None = None,
               inputs: dict[str, Any] | None = None, node_flag: dict[str, Any] | None = None,
               template_scope: str | None = None) -> Node:
        """Add a node (keys in the order Argo writes them); a fulfilled one is finished at once.

        ``template_name`` is a template key (``template_refs``): the node records the
        ``templateName`` or ``templateRef`` and the ``templateScope`` it stands for;
        ``template_scope``: write this ``templateScope`` without a template (a StepGroup node);
        ``node_flag={}`` writes an empty ``nodeFlag``, as Argo does for the nodes it creates with one."""
        identifier = node_id(self.workflow_name, name)
        node: Node = {
            "id": identifier,
            "name": name,
            "displayName": display_name,
            "type": node_type,
        }
        if template_name:
            node.update(node_template_fields(template_name, self.local_scope))
        elif template_scope is not None:
            node["templateScope"] = template_scope
        node["phase"] = phase
        if boundary_id:
            node["boundaryID"] = boundary_id
        started = rfc3339(self.now)
        previous = self.nodes.get(identifier)
        if previous is not None and name not in self._by_name:
            started = previous.get("startedAt") or started  # a node that waited (``detach``) keeps its start
        node["startedAt"] = started
        node["finishedAt"] = started if phase in FULFILLED_PHASES else None
        if message:
            node["message"] = message
        if inputs:
            node["inputs"] = inputs
        if node_flag is not None:
            node["nodeFlag"] = node_flag
        self.nodes[identifier] = node
        self._by_name[name] = node
        self.changed(node)
        return node

    def detach(self, node: Node) -> None:
        """Let ``create`` make ``node`` again under the same id, keeping its ``startedAt`` (a node
        that waited for a lock goes on as its template's node)."""
        self._by_name.pop(node["name"], None)

    def finish(self, node: Node, phase: str, message: str | None = None) -> None:
        node["phase"] = phase
        node["finishedAt"] = rfc3339(self.now)
        if message:
            node["message"] = message
        self.changed(node)

    def changed(self, node: Node) -> None:
        """Tell the listener that ``node`` was created or changed."""
        if self.listener is not None:
            self.listener(node)

    def _set_containers(self, node: Node) -> list[str]:
        """The Container nodes of a container set's Pod node (none for any other node)."""
        if node["type"] != "Pod":
            return []
        return [child for child in node.get("children") or []
                if (self.nodes.get(child) or {}).get("type") == "Container"
                and self.nodes[child].get("boundaryID") == node["id"]]

    def outbound_nodes(self, identifier: str) -> list[str]:
        """Argo's ``getOutboundNodes``: where a dependent task hangs in the node graph.

        A leaf is its own outbound node, a Retry node's is its last attempt, a TaskGroup's are
        its items' and a DAG's are its ``outboundNodes``' (walked with a stack, not recursion).
        """
        outbound: list[str] = []
        stack = [identifier]
        while stack:
            node = self.nodes.get(stack.pop())
            if node is None:
                continue
            containers = self._set_containers(node)
            if containers:
                # A container set's pod leads to its containers (Argo's getOutboundNodes).
                stack.extend(reversed(containers))
            elif node["type"] == "Container":
                children = [self.nodes.get(child) for child in node.get("children") or []]
                if not children:
                    outbound.append(node["id"])
                for child in reversed(children):
                    if child is None:
                        continue
                    if child.get("boundaryID") != node.get("boundaryID"):
                        outbound.append(node["id"])  # a dependent task hangs here: a leaf container
                    else:
                        stack.append(child["id"])
            elif node["type"] in _LEAF_TYPES:
                outbound.append(node["id"])
            elif node["type"] == "Retry":
                children = node.get("children") or []
                if children:
                    outbound.append(children[-1])
            elif node["type"] == "TaskGroup" and not node.get("children"):
                outbound.append(node["id"])
            else:
                following = node.get("children") if node["type"] == "TaskGroup" else node.get("outboundNodes")
                stack.extend(reversed(following or []))
        return outbound


def _post_order(nodes: dict[str, Node]) -> Iterator[Node]:
    """Every node after all the nodes below it through ``children`` (children form no cycle)."""
    done: set[str] = set()
    for start in nodes:
        if start in done:
            continue
        stack = [(start, False)]
        while stack:
            identifier, expanded = stack.pop()
            if identifier in done or identifier not in nodes:
                continue
            if expanded:
                done.add(identifier)
                yield nodes[identifier]
                continue
            stack.append((identifier, True))
            stack.extend((child, False) for child in nodes[identifier].get("children") or [] if child not in done)


def refresh_progress(status: dict[str, Any], running_pods: int) -> None:
    """Every ``progress`` field, as Argo's ``progress.UpdateProgress`` sets them, in one pass.

    A Pod-like node is ``1/1`` once done, else ``0/1``; any other node sums the Pod-like nodes it
    reaches through ``children`` (each once), and has no ``progress`` when it reaches none. The
    reachable sets are bit sets (one bit per Pod-like node), so the pass is linear in the nodes
    and edges. Also the workflow's ``progress`` and, while it runs, its ``PodRunning`` condition.
    """
    nodes: dict[str, Node] = status.get("nodes") or {}
    bits: dict[str, int] = {}
    done_bits = 0
    for position, (identifier, node) in enumerate(
            (identifier, node) for identifier, node in nodes.items() if node["type"] in EXECUTABLE_NODE_TYPES):
        bits[identifier] = 1 << position
        finished = node.get("phase") in DONE_PHASES
        node["progress"] = "1/1" if finished else "0/1"
        if finished:
            done_bits |= 1 << position
    reach: dict[str, int] = {}
    for node in _post_order(nodes):
        mask = 0
        for child in node.get("children") or []:
            mask |= reach.get(child, 0)
        identifier = node["id"]
        if identifier in bits:
            reach[identifier] = mask | bits[identifier]
            continue
        reach[identifier] = mask
        if mask:
            node["progress"] = f"{(mask & done_bits).bit_count()}/{mask.bit_count()}"
        else:
            node.pop("progress", None)
    status["progress"] = f"{done_bits.bit_count()}/{len(bits)}"
    if status.get("phase") not in FINAL_PHASES:
        status["conditions"] = [{"type": "PodRunning", "status": "True" if running_pods else "False"}]
