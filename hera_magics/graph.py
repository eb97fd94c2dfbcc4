"""Order and cycles of dependency graphs, for a DAG being built and for a workflow's nodes.

Both are ``graphlib`` (the standard library's topological sorter): it finds cycles without
recursion, so a DAG of thousands of tasks is no deeper a call stack than one of three. What we
add is a stable order: among the nodes that are ready, the one with the smallest ``key`` goes
first (the order the user wrote the tasks in; a workflow's nodes by start time).

This module imports nothing from the package (it is a leaf both sides may use).
"""

from __future__ import annotations

import graphlib
import heapq
from typing import Any, Callable, Hashable, Iterable, Mapping, TypeVar

Node = TypeVar("Node", bound=Hashable)


def find_cycle(upstream: Mapping[Node, Iterable[Node]]) -> list[Node] | None:
    """A cycle of ``upstream`` (node -> the nodes it waits for), or None.

    The cycle is given in the direction work flows, its first node repeated at the end:
    ``[a, b, c, a]`` means a >> b >> c >> a. Nodes named only as upstream are allowed.
    """
    try:
        graphlib.TopologicalSorter({node: tuple(before) for node, before in upstream.items()}).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def topological_order(
    upstream: Mapping[Node, Iterable[Node]],
    key: Callable[[Node], Any],
) -> list[Node]:
    """Every node of ``upstream`` after everything it waits for; ready nodes leave by ``key``.

    Upstream nodes that are not keys of ``upstream`` are ignored. Nodes in a cycle (which only a
    hand-made status can have) come last, by ``key``, so no node is ever lost.
    """
    known = set(upstream)
    sorter: graphlib.TopologicalSorter[Node] = graphlib.TopologicalSorter()
    for node, before in upstream.items():
        sorter.add(node, *(item for item in before if item in known and item != node))
    try:
        sorter.prepare()
    except graphlib.CycleError:
        return _order_with_cycles(upstream, key)
    ready: list[tuple[Any, int, Node]] = []
    counter = 0
    order: list[Node] = []
    while sorter.is_active():
        for node in sorter.get_ready():
            heapq.heappush(ready, (key(node), counter, node))
            counter += 1
        _, _, node = heapq.heappop(ready)
        order.append(node)
        sorter.done(node)
    return order


def _order_with_cycles(upstream: Mapping[Node, Iterable[Node]], key: Callable[[Node], Any]) -> list[Node]:
    """Kahn's algorithm by ``key``; whatever a cycle holds back follows, by ``key``."""
    known = set(upstream)
    waiting = {node: {item for item in before if item in known and item != node} for node, before in upstream.items()}
    downstream: dict[Node, list[Node]] = {node: [] for node in upstream}
    for node, before in waiting.items():
        for item in before:
            downstream[item].append(node)
    ready = [(key(node), index, node) for index, node in enumerate(upstream) if not waiting[node]]
    heapq.heapify(ready)
    order: list[Node] = []
    placed: set[Node] = set()
    while ready:
        _, _, node = heapq.heappop(ready)
        order.append(node)
        placed.add(node)
        for after in downstream[node]:
            waiting[after].discard(node)
            if not waiting[after]:
                heapq.heappush(ready, (key(after), len(order), after))
    order.extend(sorted((node for node in upstream if node not in placed), key=key))
    return order
