"""A layered (Sugiyama-style) layout of a DAG, small enough to read and fast at our sizes.

Why our own and not a library: the drawing must be made in Python, because the static output
(nbconvert, GitHub, VS Code without a kernel) has no JavaScript, so a browser-side layout
(dagre, ELK) would still need a Python twin. Among Python libraries, networkx gives the layers
(``topological_generations``) but nothing after them, at the price of a large dependency, and
grandalf (the one pure-Python Sugiyama) is unmaintained since 2023 and slow on big graphs. The
steps a readable DAG needs are short, and ``graphlib`` (through :mod:`hera_magics.graph`) does
the one hard part, the topological order, without recursion:

1. **layers** — longest path from the sources: a task sits one layer after its last upstream;
2. **order within a layer** — the barycentre heuristic: a few sweeps down and up, each sorting
   a layer by the mean position of its neighbours in the layer before (edges that skip
   layers count through invisible stand-ins on the layers between), which removes most
   crossings;
3. **wrapping** — a layer wider than ``wrap`` is cut into several side-by-side layers, so a
   fan-out of 50 distinct tasks stays on screen;
4. **positions** — along the layer, each node goes to the mean position of its upstream nodes
   (a chain stays straight), pushed apart so nodes never overlap.

The direction is chosen from the shape: left-to-right for the usual wide-and-short DAG,
top-to-bottom when there are more layers than nodes in the widest layer (a long chain).
Everything is pure; work is linear in nodes plus edges (times the sweeps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from ..graph import topological_order

SWEEPS = 4
WRAP_ACROSS = 16
"""Left-to-right: at most this many nodes stacked in one column."""
WRAP_DOWN = 6
"""Top-to-bottom: at most this many nodes side by side in one row."""


@dataclass(frozen=True)
class Layout:
    """Where each node goes: ``slots[key] = (layer, position)``, both in node units.

    ``layer`` is the column (left-to-right) or row (top-to-bottom) index, ``position`` the
    place along it (a float: nodes are centred on their upstream). ``layers`` and ``breadth``
    are the extent in each unit; ``direction`` is ``"LR"`` or ``"TB"``.
    """

    slots: Mapping[str, tuple[int, float]]
    layers: int
    breadth: float
    direction: str


def _layers(keys: Sequence[str], upstream: Mapping[str, list[str]]) -> dict[str, int]:
    """Longest path from the sources, in topological order (no recursion)."""
    index = {key: number for number, key in enumerate(keys)}
    order = topological_order(upstream, key=lambda key: index[key])
    layer: dict[str, int] = {}
    for key in order:
        layer[key] = max((layer[before] + 1 for before in upstream[key] if before in layer), default=0)
    return layer


def _with_stand_ins(
    rows: list[list[str]], layer: Mapping[str, int], edges: Sequence[tuple[str, str]]
) -> tuple[list[list[str]], dict[str, list[str]]]:
    """Each layer's nodes plus invisible stand-ins for edges that skip layers, and for every
    node (stand-ins too) its neighbours in the layer before."""
    before: dict[str, list[str]] = {key: [] for row in rows for key in row}
    for number, (source, target) in enumerate(edges):
        previous = source
        for step in range(layer[source] + 1, layer[target]):
            stand_in = f"\x00{number}:{step}"
            rows[step].append(stand_in)
            before[stand_in] = [previous]
            previous = stand_in
        before[target].append(previous)
    return rows, before


def _sort_by_barycentre(rows: list[list[str]], neighbours: Mapping[str, list[str]], order: range) -> None:
    for number in order:
        reference = {key: position for position, key in enumerate(rows[number - (1 if order.step > 0 else -1)])}

        def barycentre(item: tuple[int, str]) -> float:
            position, key = item
            known = [reference[other] for other in neighbours.get(key, ()) if other in reference]
            return sum(known) / len(known) if known else float(position)

        rows[number] = [key for _, key in sorted(enumerate(rows[number]), key=barycentre)]


def _order(rows: list[list[str]], before: Mapping[str, list[str]]) -> list[list[str]]:
    after: dict[str, list[str]] = {key: [] for key in before}
    for key, sources in before.items():
        for source in sources:
            after.setdefault(source, []).append(key)
    for _ in range(SWEEPS):
        _sort_by_barycentre(rows, before, range(1, len(rows)))
        _sort_by_barycentre(rows, after, range(len(rows) - 2, -1, -1))
    return rows


def _wrap(rows: list[list[str]], wrap: int) -> list[list[str]]:
    wrapped: list[list[str]] = []
    for row in rows:
        wrapped.extend(row[start : start + wrap] for start in range(0, max(len(row), 1), wrap))
    return [row for row in wrapped if row]


def _positions(rows: list[list[str]], upstream: Mapping[str, list[str]]) -> dict[str, float]:
    """Along each layer: under the mean of the upstream nodes, pushed apart by at least 1."""
    position: dict[str, float] = {}
    for row in rows:
        wanted = []
        for index, key in enumerate(row):
            known = [position[other] for other in upstream.get(key, ()) if other in position]
            wanted.append(sum(known) / len(known) if known else float(index))
        placed: list[float] = []
        for value in wanted:
            placed.append(max(value, placed[-1] + 1) if placed else value)
        # Shift the layer back so that, on average, nodes sit where they wanted to.
        shift = sum(goal - at for goal, at in zip(wanted, placed)) / len(placed)
        for key, value in zip(row, placed):
            position[key] = value + shift
    lowest = min(position.values(), default=0.0)
    return {key: value - lowest for key, value in position.items()}


def layered_layout(keys: Sequence[str], edges: Sequence[tuple[str, str]]) -> Layout:
    """The layout of the DAG ``keys``/``edges`` (see the module docstring).

    Edges naming unknown keys, self-loops and repeats are ignored; a cycle (only a hand-made
    status could have one) does not fail: its nodes are placed after the rest.
    """
    known = set(keys)
    unique = list(dict.fromkeys((s, t) for s, t in edges if s in known and t in known and s != t))
    upstream: dict[str, list[str]] = {key: [] for key in keys}
    for source, target in unique:
        upstream[target].append(source)
    layer = _layers(keys, upstream)
    # An edge against the layers (from a cycle) is dropped from the ordering, not from drawing.
    forward = [(s, t) for s, t in unique if layer[s] < layer[t]]
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for key in keys:
        rows[layer[key]].append(key)
    widest = max((len(row) for row in rows), default=0)
    direction = "TB" if len(rows) > max(8, widest) else "LR"
    rows, before = _with_stand_ins(rows, layer, forward)
    rows = _order(rows, before)
    rows = [[key for key in row if not key.startswith("\x00")] for row in rows]
    rows = _wrap(rows, WRAP_ACROSS if direction == "LR" else WRAP_DOWN)
    position = _positions(rows, upstream)
    slots = {key: (number, position[key]) for number, row in enumerate(rows) for key in row}
    breadth = max((value for _, value in slots.values()), default=-1.0) + 1
    return Layout(slots, len(rows), breadth, direction)


__all__ = ["Layout", "layered_layout"]
