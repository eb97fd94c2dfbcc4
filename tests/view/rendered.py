"""Reading what the view rendered: the graph's SVG, the table and the timeline, parsed back.

The tests check the picture the user gets, not our model: nodes, edges and colours are read
from the SVG text (``xml.etree``; the SVG is well-formed XML), rows from the table's HTML
(``html.parser``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class DrawnNode:
    key: str
    kind: str
    phase: str
    fill: str
    stroke: str
    dashed: bool
    texts: list[str]
    title: str
    x: float
    y: float


def svgs(html: str) -> list[ElementTree.Element]:
    """Every ``<svg>`` of ``html`` (not nested), parsed."""
    return [ElementTree.fromstring(match) for match in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]


def graph_svg(html: str) -> ElementTree.Element:
    pictures = [svg for svg in svgs(html) if svg.get("class") == "hm-graph"]
    assert len(pictures) == 1, f"expected one graph, found {len(pictures)}"
    return pictures[0]


def drawn_nodes(html: str) -> dict[str, DrawnNode]:
    """The graph's nodes by key, as drawn."""
    nodes = {}
    for group in graph_svg(html).iter(f"{SVG}g"):
        key = group.get("data-node")
        if key is None:
            continue
        card = [rect for rect in group.findall(f"{SVG}rect") if rect.get("opacity") is None][0]
        x, y = (float(value) for value in re.findall(r"[-\d.]+", group.get("transform") or "0 0"))
        title = group.find(f"{SVG}title")
        nodes[key] = DrawnNode(
            key=key,
            kind=group.get("data-kind") or "",
            phase=group.get("data-phase") or "",
            fill=card.get("fill") or "",
            stroke=card.get("stroke") or "",
            dashed=bool(card.get("stroke-dasharray")),
            texts=[text.text or "" for text in group.findall(f"{SVG}text")],
            title=title.text if title is not None and title.text else "",
            x=x,
            y=y,
        )
    return nodes


def drawn_edges(html: str) -> set[tuple[str, str]]:
    return {
        (path.get("data-from"), path.get("data-to"))  # type: ignore[misc]
        for path in graph_svg(html).iter(f"{SVG}path")
        if path.get("data-from") is not None
    }


class _TableReader(HTMLParser):
    """Rows of the table(s) with 6 cells: their texts, and the ``data-node`` of the row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str | None, list[str]]] = []
        self._cells: list[str] | None = None
        self._node: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._cells, self._node = [], dict(attrs).get("data-node")
        elif tag == "td" and self._cells is not None:
            self._cells.append("")
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._depth -= 1
        elif tag == "tr" and self._cells is not None:
            if len(self._cells) == 6:
                self.rows.append((self._node, [cell.strip() for cell in self._cells]))
            self._cells = None

    def handle_data(self, data: str) -> None:
        if self._cells and self._depth:
            self._cells[-1] += data


def table_rows(html: str) -> list[tuple[str | None, list[str]]]:
    """``(data-node, [task, phase, started, duration, message, retries])`` of every 6-cell row."""
    reader = _TableReader()
    reader.feed(html)
    return reader.rows


def timeline_bars(html: str) -> dict[str, list[dict[str, Any]]]:
    """The timeline's bars by key: each rect's x, width and fill."""
    pictures = [svg for svg in svgs(html) if svg.get("preserveAspectRatio") == "none"]
    if not pictures:
        return {}
    bars = {}
    for group in pictures[0].iter(f"{SVG}g"):
        bars[group.get("data-node") or ""] = [
            {"x": float(rect.get("x") or 0), "width": float(rect.get("width") or 0), "fill": rect.get("fill")}
            for rect in group.findall(f"{SVG}rect")
        ]
    return bars


class _ProgressReader(HTMLParser):
    """The text of each per-map progress bar (parts ``progress:<key>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[str, str] = {}
        self._key: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        part = dict(attrs).get("data-hm-part") or ""
        if self._key is None and part.startswith("progress:"):
            self._key, self._depth = part.split(":", 1)[1], 0
            self.texts[self._key] = ""
        if self._key is not None:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._key is not None:
            self._depth -= 1
            if self._depth == 0:
                self._key = None

    def handle_data(self, data: str) -> None:
        if self._key is not None:
            self.texts[self._key] += " " + data


def map_progress(html: str) -> dict[str, str]:
    """``{map key: "train 3/3"}``: the label and the text of each map's progress bar."""
    reader = _ProgressReader()
    reader.feed(html)
    return {key: " ".join(text.split()) for key, text in reader.texts.items()}
