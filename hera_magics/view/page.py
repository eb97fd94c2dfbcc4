"""The whole status view as one page of parts: header, progress, graph, timeline and table.

:func:`status_page` puts together what the other renderers draw — the header
(:func:`.render.header_content`), the progress bars, the graph and the timeline (:mod:`.svg`)
and the task table (:func:`.render.entry_table_html`) — as a :class:`~.patches.Page`, so the
live widget re-sends only the parts that changed and the static fallback is its whole HTML.

The table and the timeline follow the graph's layout: tasks by layer, then by place in the
layer, the exit handler last. Tasks of the spec that have not started yet are rows too
(Pending), so the table has its final rows from the first poll and a row is never moved.

The layout is computed once per shape of the graph (nodes and edges, not phases), so a poll
that only changes phases costs no layout.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping, Sequence

from .. import argo
from ..status import summary, task_view
from .graph import GraphNode, WorkflowGraph, workflow_graph
from .layout import Layout, layered_layout
from .patches import Page, PageBuilder
from .render import element, entry_table_html, escape, header_content, render_text, NOTICE_COLOURS
from .svg import graph_svg, progress_html, timeline_html

TIMELINE_OPEN_UP_TO = 12
"""The timeline starts open when there are at most this many lines, closed above."""

_BOX = "font-family:var(--jp-ui-font-family,sans-serif);font-size:13px"
_GRAPH_BOX = "overflow:auto;max-height:520px;margin:6px 0;border:1px solid #eeeeee;border-radius:4px"


@functools.lru_cache(maxsize=16)
def _layout_of_shape(shape: tuple[Any, ...]) -> Layout:
    nodes, edges = shape
    return layered_layout([key for key, kind, _ in nodes if kind != "exit"], edges)


def graph_layout(graph: WorkflowGraph) -> Layout:
    """The layout of ``graph`` without its exit handler (cached by the graph's shape)."""
    return _layout_of_shape(graph.shape)


def ordered_nodes(graph: WorkflowGraph, layout: Layout) -> list[GraphNode]:
    """The nodes by layer, then place in the layer; the exit handler last."""
    placed = sorted((node for node in graph.nodes if node.key in layout.slots), key=lambda node: layout.slots[node.key])
    return placed + [node for node in graph.nodes if node.key not in layout.slots]


def _pending_row(node: GraphNode) -> dict[str, Any]:
    """The row of a spec task that has no node in the status yet."""
    return {
        "key": node.key, "kind": node.kind, "task": node.key, "label": node.label, "template": node.template,
        "phase": argo.PENDING, "started": None, "finished": None, "duration": None,
        "message": "exit handler" if node.kind == "exit" else "", "retries": 0, "node_id": "",
        "pod_name": None, "exit_code": None, "attempts": (), "items": (), "done": 0, "total": node.total,
        "counts": dict(node.counts),
    }


def table_rows(graph: WorkflowGraph, layout: Layout, entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The table's rows in the graph's order: the entries, a group's members one by one, and a
    Pending row for each task the status does not have yet."""
    by_key = {entry["key"]: entry for entry in entries}
    rows: list[Mapping[str, Any]] = []
    for node in ordered_nodes(graph, layout):
        keys = node.members or (node.key,)
        for key in keys:
            entry = by_key.pop(key, None)
            if entry is not None:
                rows.append(entry)
            elif not node.members:
                rows.append(_pending_row(node))
    rows.extend(by_key.values())  # never lose one (a hand-made status the graph could not place)
    return rows


def _notice_html(summary: Mapping[str, Any], notice: str | None, level: str) -> str:
    parts = []
    if summary.get("message"):
        parts.append(element("div", escape(summary["message"]), style="color:#555"))
    if notice:
        colour = NOTICE_COLOURS.get(level, NOTICE_COLOURS["warning"])
        parts.append(element("div", escape(notice), class_="hera-magics-notice", style=f"color:{colour};font-weight:600"))
    return "".join(parts)


def status_page(
    summary: Mapping[str, Any],
    graph: WorkflowGraph,
    entries: Sequence[Mapping[str, Any]],
    *,
    ui_url: str | None = None,
    notice: str | None = None,
    notice_level: str = "warning",
    log_tails: Mapping[str, str] | None = None,
) -> Page:
    """The live view of a workflow (see the module docstring); equal arguments, equal pages."""
    builder = PageBuilder()
    layout = graph_layout(graph)
    rows = table_rows(graph, layout, entries)
    header = builder.part("header", "div", header_content(summary, ui_url), style="margin-bottom:4px")
    notices = builder.part("notice", "div", _notice_html(summary, notice, notice_level))
    progress = builder.part("bars", "div", progress_html(graph, builder))
    pieces = [header, notices, progress]
    if graph.nodes:
        picture = builder.part("graph", "div", graph_svg(graph, layout, builder))
        pieces.append(element("div", picture, class_="hm-graph-box", style=_GRAPH_BOX))
        timeline = builder.part("timeline", "div", timeline_html(rows, builder, end=summary.get("finished")))
        opened = "open" if len(rows) <= TIMELINE_OPEN_UP_TO else None
        pieces.append(element("details", element("summary", "timeline", style="color:#555") + timeline, open=opened,
                              class_="hm-timeline"))
    pieces.append(builder.part("table", "div", entry_table_html(rows, log_tails or {}, builder)))
    return builder.page(element("div", "".join(pieces), class_="hera-magics-status", style=_BOX))


def graph_picture_html(graph: WorkflowGraph) -> str:
    """The graph alone, for ``%argo_dag --dry-run`` (nothing was submitted: no phases)."""
    layout = graph_layout(graph)
    count = sum(1 for node in graph.nodes if node.kind != "exit")
    title = element("div", escape(f"the DAG to submit: {count} node{'s' if count != 1 else ''}"), style="color:#555")
    picture = element("div", graph_svg(graph, layout), class_="hm-graph-box", style=_GRAPH_BOX)
    return element("div", title + picture, class_="hera-magics-graph", style=_BOX)


def graph_text(graph: WorkflowGraph) -> str:
    """The graph as lines of text, in layout order: each node and what it waits for."""
    layout = graph_layout(graph)
    upstream: dict[str, list[str]] = {}
    for source, target in graph.edges:
        upstream.setdefault(target, []).append(graph.by_key[source].label if source in graph.by_key else source)
    nodes = ordered_nodes(graph, layout)
    count = sum(1 for node in nodes if node.kind != "exit")
    lines = [f"the DAG to submit: {count} node{'s' if count != 1 else ''}"]
    names = []
    for node in nodes:
        name = node.label
        if node.kind in ("map", "group"):
            name += f" ×{'?' if node.total is None else node.total} ({'map' if node.kind == 'map' else 'tasks'})"
        names.append(name)
    width = max((len(name) for name in names), default=0)
    for node, name in zip(nodes, names):
        if node.kind == "exit":
            after = "on exit"
        elif upstream.get(node.key):
            after = "after " + ", ".join(upstream[node.key])
        else:
            after = ""
        if node.condition:
            after += f"{' ' if after else ''}when {node.condition}"
        lines.append(f"  {name.ljust(width)}  {after}".rstrip())
    return "\n".join(lines)


def status_text(
    workflow: Mapping[str, Any], *, log_tails: Mapping[str, str] | None = None, notice: str | None = None
) -> str:
    """The status of ``workflow`` as the plain-text table the live view's ``text/plain`` shows.

    Rows as in the view's table: a map is one row with its progress (``train ×3 · 2/3 · 1
    failed: train(1:5)``), the exit handler comes last, and the spec's tasks that have not
    started yet are Pending rows. ``log_tails`` (by pod name) are printed under failed tasks
    (a map's first failed item). ``%argo_status --no-widget`` and ``make demo`` print this.
    """
    _, entries, edges = task_view(workflow)
    graph = workflow_graph(workflow, entries=entries, edges=edges)
    rows = table_rows(graph, graph_layout(graph), entries)
    return render_text(summary(workflow), rows, notice=notice, log_tails=log_tails)


class GraphPicture:
    """A workflow's graph before it is submitted: SVG in a notebook, text in a terminal.

    Made from the workflow's JSON (``hera_magics.compile.workflow_body``), as
    ``%argo_dag --dry-run`` shows it above the YAML.
    """

    def __init__(self, workflow: Mapping[str, Any]) -> None:
        self.graph = workflow_graph(workflow, planned=True)

    def _repr_html_(self) -> str:
        return graph_picture_html(self.graph)

    def __repr__(self) -> str:
        return graph_text(self.graph)


__all__ = [
    "GraphPicture",
    "graph_layout",
    "graph_picture_html",
    "graph_text",
    "ordered_nodes",
    "status_page",
    "status_text",
    "table_rows",
]
