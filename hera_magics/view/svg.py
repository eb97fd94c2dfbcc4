"""Pictures of a workflow as SVG/HTML: the graph, the progress bars and the timeline (pure).

Every picture is plain SVG or HTML with inline styles, so it shows wherever HTML does (the live
widget, nbconvert, GitHub, VS Code without a kernel). Each element that changes while a
workflow runs — a graph node, a progress bar, a timeline bar — is a *part*
(:mod:`.patches`): when a node turns Succeeded only that node is sent again.

Colours are the table's (:data:`.render.PHASE_COLOURS`). In the graph a node is filled with its
phase's colour; Skipped and Omitted nodes are pale with a dashed outline and say so; a map or a
group is drawn as a stack of cards with ``done/total`` and a progress strip; the exit handler
sits apart, under the DAG, after "on exit". A node not submitted yet (a dry run) is white.
Every node carries ``data-node`` (its key), ``data-kind`` and ``data-phase``; every edge
``data-from``/``data-to``; the widget's clicks and the tests read them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence

from .. import argo
from .graph import GraphNode, WorkflowGraph, ordered_counts
from .layout import Layout
from .patches import PageBuilder
from .render import DEFAULT_PHASE_COLOUR, PHASE_COLOURS, element, escape, format_duration

NODE_WIDTH = 172
NODE_HEIGHT = 40
ACROSS_GAP = 64  # between layers, left to right
ALONG_GAP = 14  # between nodes of a layer
DOWN_GAP = 46  # between layers, top to bottom
MARGIN = 12
EXIT_GAP = 34
MAX_LABEL = 22
EDGE_COLOUR = "#9e9e9e"
NOT_RUN_FILL = "#f5f5f5"
PLANNED_STROKE = "#616161"

TIMELINE_MAX = 40
TIMELINE_ROW = 16
TIMELINE_LABEL_WIDTH = 170
HORIZONS = (8, 20, 40, 60, 120, 240, 600, 1200, 1800, 3600, 7200, 14400, 28800, 43200, 86400)
"""Timeline scales in seconds: the first one longer than the run is used, so bars that ended
keep their place (and are not re-sent) until the run outgrows it."""

_SVG_FONT = "font-family:var(--jp-ui-font-family,sans-serif)"


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` cut to ``limit`` characters with ``…``."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def phase_colour(phase: str | None) -> str:
    return PHASE_COLOURS.get(str(phase), DEFAULT_PHASE_COLOUR)


# --------------------------------------------------------------------------------------------
# graph


def _corner(layout: Layout, slot: tuple[int, float]) -> tuple[float, float]:
    layer, position = slot
    if layout.direction == "TB":
        return MARGIN + position * (NODE_WIDTH + ALONG_GAP), MARGIN + layer * (NODE_HEIGHT + DOWN_GAP)
    return MARGIN + layer * (NODE_WIDTH + ACROSS_GAP), MARGIN + position * (NODE_HEIGHT + ALONG_GAP)


def _counted(label: str, kind: str, total: int | None) -> str:
    """A map's or group's label with its width: ``train ×3``, ``process ×?`` before a
    ``withParam`` is expanded (as the table writes it); other labels as they are."""
    if kind not in ("map", "group"):
        return label
    return f"{label} ×{'?' if total is None else total}"


def _second_line(node: GraphNode) -> str:
    if node.kind in ("map", "group"):
        total = "?" if node.total is None else str(node.total)
        if node.phase is None:
            return f"map · {total} items" if node.kind == "map" else f"{total} tasks"
        text = f"{node.done}/{total}"
        return text + (f" · {node.failed} failed" if node.failed else "")
    if node.phase is None:
        return "on exit" if node.kind == "exit" else (node.template if node.template != node.label else "")
    return f"{node.phase} · on exit" if node.kind == "exit" else node.phase


def _title(node: GraphNode) -> str:
    lines = [_counted(node.label, node.kind, node.total)]
    if node.phase is not None:
        lines.append(node.phase)
    if node.kind in ("map", "group") and node.counts:
        lines.append(", ".join(f"{count} {phase.lower()}" for phase, count in node.counts))
    if node.condition:
        lines.append(f"when {node.condition}")
    if node.message:
        lines.append(node.message)
    return "\n".join(lines)


def _progress_strip(node: GraphNode) -> str:
    """A thin bar at the foot of a map node: done (white) and failed (pink) items."""
    total = node.total or 0
    if node.kind not in ("map", "group") or node.phase is None or total <= 0:
        return ""
    width = NODE_WIDTH - 16
    done = width * min(node.done, total) / total
    failed = width * min(node.failed, total) / total
    parts = [element("rect", x="8", y=str(NODE_HEIGHT - 6), width=str(width), height="3", fill="rgba(0,0,0,0.25)")]
    if done:
        parts.append(element("rect", x="8", y=str(NODE_HEIGHT - 6), width=f"{done:.1f}", height="3", fill="#ffffff"))
    if failed:
        parts.append(element("rect", x=f"{8 + done:.1f}", y=str(NODE_HEIGHT - 6), width=f"{failed:.1f}",
                             height="3", fill="#ffcdd2"))
    return "".join(parts)


def node_svg(node: GraphNode) -> str:
    """The shapes and text of one node, drawn at (0, 0)."""
    not_run = node.phase in argo.NOT_RUN_PHASES
    if node.phase is None:
        fill, stroke, ink, dash = "#ffffff", PLANNED_STROKE, "#212121", None
    elif not_run:
        fill, stroke, ink, dash = NOT_RUN_FILL, phase_colour(node.phase), "#616161", "4 3"
    else:
        fill, stroke, ink, dash = phase_colour(node.phase), phase_colour(node.phase), "#ffffff", None
    if node.kind == "exit" and dash is None:
        dash = "6 3"
    shapes = []
    if node.kind in ("map", "group"):  # a stack of cards
        for offset in (6, 3):
            shapes.append(element("rect", x=str(offset), y=str(-offset), width=str(NODE_WIDTH), height=str(NODE_HEIGHT),
                                  rx="6", fill=fill, stroke=stroke, opacity="0.55"))
    shapes.append(element("rect", width=str(NODE_WIDTH), height=str(NODE_HEIGHT), rx="6", fill=fill, stroke=stroke,
                          stroke_width="1.5", stroke_dasharray=dash))
    label = _counted(node.label, node.kind, node.total)
    shapes.append(element("text", escape(shorten(label)), x="10", y="16", fill=ink, font_size="12",
                          font_weight="600"))
    shapes.append(element("text", escape(shorten(_second_line(node), 28)), x="10", y="30", fill=ink,
                          font_size="10.5"))
    shapes.append(_progress_strip(node))
    return element("title", escape(_title(node))) + "".join(shapes)


def _edge_path(layout: Layout, source: tuple[float, float], target: tuple[float, float]) -> str:
    (x1, y1), (x2, y2) = source, target
    if layout.direction == "TB":
        ax, ay, bx, by = x1 + NODE_WIDTH / 2, y1 + NODE_HEIGHT, x2 + NODE_WIDTH / 2, y2
        bend = max((by - ay) / 2, 12)
        return f"M{ax:.1f},{ay:.1f} C{ax:.1f},{ay + bend:.1f} {bx:.1f},{by - bend:.1f} {bx:.1f},{by:.1f}"
    ax, ay, bx, by = x1 + NODE_WIDTH, y1 + NODE_HEIGHT / 2, x2, y2 + NODE_HEIGHT / 2
    bend = max((bx - ax) / 2, 12)
    return f"M{ax:.1f},{ay:.1f} C{ax + bend:.1f},{ay:.1f} {bx - bend:.1f},{by:.1f} {bx:.1f},{by:.1f}"


def _arrow_head(layout: Layout, target: tuple[float, float]) -> str:
    """A small triangle where an edge enters its target. Drawn, not an SVG ``marker``: a
    marker is referenced as ``url(#id)``, which a page with a ``<base>`` element or an
    HTML sanitiser that renames ids breaks."""
    x, y = target
    if layout.direction == "TB":
        tip_x, tip_y = x + NODE_WIDTH / 2, y
        points = f"{tip_x - 4:.1f},{tip_y - 7:.1f} {tip_x + 4:.1f},{tip_y - 7:.1f} {tip_x:.1f},{tip_y:.1f}"
    else:
        tip_x, tip_y = x, y + NODE_HEIGHT / 2
        points = f"{tip_x - 7:.1f},{tip_y - 4:.1f} {tip_x - 7:.1f},{tip_y + 4:.1f} {tip_x:.1f},{tip_y:.1f}"
    return element("polygon", points=points, fill=EDGE_COLOUR)


def graph_svg(graph: WorkflowGraph, layout: Layout, builder: PageBuilder | None = None) -> str:
    """The graph as one ``<svg>``; with a ``builder`` each node is a part ``node:<key>``.

    ``layout`` is :func:`.layout.layered_layout` of the graph's nodes other than the exit
    handler, which is drawn apart under the DAG.
    """
    corners = {key: _corner(layout, slot) for key, slot in layout.slots.items()}
    width = max((x for x, _ in corners.values()), default=MARGIN) + NODE_WIDTH + MARGIN + 6
    height = max((y for _, y in corners.values()), default=MARGIN - NODE_HEIGHT) + NODE_HEIGHT + MARGIN + 6
    exits = [node for node in graph.nodes if node.kind == "exit"]
    pieces = []
    if exits:
        lane = height + EXIT_GAP - MARGIN
        pieces.append(element("text", "on exit", x=str(MARGIN), y=f"{lane - 8:.0f}", fill="#757575", font_size="11"))
        for index, node in enumerate(exits):
            corners[node.key] = (MARGIN + index * (NODE_WIDTH + ALONG_GAP), lane)
        width = max(width, MARGIN + len(exits) * (NODE_WIDTH + ALONG_GAP) + MARGIN)
        height = lane + NODE_HEIGHT + MARGIN
    for source, target in graph.edges:
        if source in corners and target in corners:
            pieces.append(element("path", d=_edge_path(layout, corners[source], corners[target]), fill="none",
                                  stroke=EDGE_COLOUR, stroke_width="1.4", data_from=source, data_to=target))
            pieces.append(_arrow_head(layout, corners[target]))
    for node in graph.nodes:
        if node.key not in corners:
            continue
        x, y = corners[node.key]
        attributes = {
            "data_node": node.key,
            "data_kind": node.kind,
            "data_phase": node.phase or "planned",
            "class_": "hm-node",
            "transform": f"translate({x:.1f},{y:.1f})",
        }
        content = node_svg(node)
        if builder is None:
            pieces.append(element("g", content, **attributes))
        else:
            pieces.append(builder.part(f"node:{node.key}", "g", content, **attributes))
    return element("svg", "".join(pieces), xmlns="http://www.w3.org/2000/svg", width=f"{width:.0f}",
                   height=f"{height:.0f}", viewBox=f"0 0 {width:.0f} {height:.0f}", class_="hm-graph",
                   style=_SVG_FONT + ";display:block")


# --------------------------------------------------------------------------------------------
# progress


BAR_PHASES = (argo.SUCCEEDED, argo.FAILED, argo.ERROR, argo.RUNNING, argo.PENDING, argo.SKIPPED, argo.OMITTED)


def bar_html(counts: Mapping[str, int], *, width: str = "320px") -> str:
    """A horizontal bar split by phase (the table's colours), as wide as ``width``."""
    total = sum(counts.values())
    segments = []
    for phase, count in ordered_counts(counts):
        if total:
            colour = "#e0e0e0" if phase == argo.PENDING else phase_colour(phase)
            segments.append(element("div", "", title=f"{count} {phase}", data_phase=phase,
                                    style=f"width:{100 * count / total:.2f}%;background:{colour}"))
    return element("div", "".join(segments), class_="hm-bar",
                   style=f"display:flex;width:{width};height:9px;background:#eeeeee;border-radius:4px;overflow:hidden")


def counts_text(counts: Mapping[str, int]) -> str:
    """``3 succeeded · 1 failed · 2 running · 4 pending``."""
    return " · ".join(f"{count} {phase.lower()}" for phase, count in ordered_counts(counts)) or "no tasks yet"


def progress_html(graph: WorkflowGraph, builder: PageBuilder) -> str:
    """The overall bar (every task, map items one by one) and one bar per map or group."""
    counts = graph.counts()
    overall = builder.part("progress", "div", bar_html(counts) + element("span", escape(counts_text(counts)),
                                                                        style="margin-left:8px;color:#555"),
                           style="display:flex;align-items:center;margin:4px 0")
    maps = []
    for node in graph.nodes:
        if node.kind not in ("map", "group") or node.phase is None:
            continue
        total = "?" if node.total is None else node.total
        text = f"{node.label} ×{total}  {node.done}/{total}" + (f" · {node.failed} failed" if node.failed else "")
        label = element("span", escape(shorten(node.label, 24)),
                        style="display:inline-block;width:170px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap")
        maps.append(builder.part(f"progress:{node.key}", "div",
                                 label + bar_html(dict(node.counts), width="220px")
                                 + element("span", escape(text.split("  ", 1)[1]), style="margin-left:8px;color:#555"),
                                 data_node=node.key, style="display:flex;align-items:center;margin:2px 0 2px 12px"))
    return element("div", overall + "".join(maps), class_="hm-progress")


# --------------------------------------------------------------------------------------------
# timeline


def horizon_for(span: float) -> float:
    """The timeline's scale: the first of :data:`HORIZONS` at least ``span``, else days."""
    for horizon in HORIZONS:
        if span <= horizon:
            return float(horizon)
    return float(86400 * (int(span // 86400) + 1))


def _intervals(row: Mapping[str, Any]) -> list[tuple[datetime, datetime | None, str]]:
    """``(start, end or None while running, phase)`` of each attempt of a row; a map's items
    make one interval, from the map's start to its end (or its last item's news)."""
    attempts = [attempt for attempt in row.get("attempts") or () if attempt[0] is not None]
    if attempts:
        return [(started, finished, phase) for started, finished, phase in attempts]
    if row.get("started") is None or str(row.get("phase")) in argo.NOT_RUN_PHASES:
        return []
    return [(row["started"], row.get("finished"), str(row.get("phase")))]


def _moments(row: Mapping[str, Any]) -> list[datetime]:
    """Every time a row reports (a map: its items' too)."""
    found = [moment for interval in _intervals(row) for moment in interval[:2] if moment]
    for item in row.get("items") or ():
        found.extend(moment for moment in (item.get("started"), item.get("finished")) if moment)
    return found


def timeline_html(rows: Sequence[Mapping[str, Any]], builder: PageBuilder, *, end: datetime | None = None) -> str:
    """A Gantt-like strip: one line per row (a map is one line), a bar from start to end.

    A running bar reaches the latest time the workflow reports (no clock is read: the same
    rows draw the same strip); a retried task shows each attempt, split by thin gaps. At
    most :data:`TIMELINE_MAX` lines. Each line's bar is a part ``bar:<key>``.
    """
    shown = list(rows[:TIMELINE_MAX])
    moments = [moment for row in rows for moment in _moments(row)]
    if end is not None:
        moments.append(end)
    if not moments:
        return element("div", "nothing has started yet", style="color:#757575")
    first = min(moments)
    latest = max(moments)
    horizon = horizon_for((latest - first).total_seconds())
    labels, bars = [], []
    for index, row in enumerate(shown):
        label = _counted(str(row.get("label") or row.get("task") or ""), str(row.get("kind")), row.get("total"))
        labels.append(element("div", escape(shorten(label, 26)), title=label,
                              style=f"height:{TIMELINE_ROW}px;line-height:{TIMELINE_ROW}px;overflow:hidden;"
                                    "white-space:nowrap;text-overflow:ellipsis"))
        rects = []
        intervals = _intervals(row)
        for started, finished, phase in intervals:
            start = (started - first).total_seconds()
            stop = ((finished or latest) - first).total_seconds()
            gap = horizon / 400 if len(intervals) > 1 else 0
            rects.append(element("rect", x=f"{start:.2f}", y=str(index * TIMELINE_ROW + 3),
                                 width=f"{max(stop - start - gap, horizon / 500):.2f}", height=str(TIMELINE_ROW - 6),
                                 fill=phase_colour(phase), opacity="1" if finished else "0.55"))
        took = format_duration(((intervals[-1][1] or latest) - intervals[0][0]).total_seconds()) if intervals else ""
        tries = f", {len(intervals)} attempts" if len(intervals) > 1 else ""
        title = element("title", escape(f"{label}: {took}{tries}" if intervals else f"{label}: not started"))
        bars.append(builder.part(f"bar:{row.get('key') or row.get('task')}", "g", title + "".join(rects),
                                 data_node=str(row.get("key") or row.get("task"))))
    height = max(len(shown), 1) * TIMELINE_ROW
    picture = element("svg", "".join(bars), xmlns="http://www.w3.org/2000/svg", viewBox=f"0 0 {horizon:.0f} {height}",
                      preserveAspectRatio="none", style=f"display:block;width:100%;height:{height}px;background:"
                      "repeating-linear-gradient(90deg,#fafafa 0,#fafafa 24.9%,#e0e0e0 25%)")
    ticks = "".join(element("span", escape(format_duration(horizon * quarter / 4) if quarter else "0s"))
                    for quarter in range(5))
    axis = element("div", ticks, style="display:flex;justify-content:space-between;color:#757575;font-size:11px")
    more = len(rows) - len(shown)
    note = element("div", f"… and {more} more (see the table)", style="color:#757575") if more > 0 else ""
    left = element("div", "".join(labels), style=f"width:{TIMELINE_LABEL_WIDTH}px;flex:none;font-size:12px")
    right = element("div", picture + axis, style="flex:1;min-width:240px")
    return element("div", left + right, style="display:flex;gap:8px") + note


__all__ = [
    "bar_html",
    "counts_text",
    "graph_svg",
    "horizon_for",
    "node_svg",
    "progress_html",
    "shorten",
    "timeline_html",
]
