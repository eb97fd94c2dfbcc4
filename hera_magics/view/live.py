"""The live part of the status view: one anywidget that redraws only what changed.

:class:`LivePage` shows a :class:`~.patches.Page`. The update protocol (its front end is
``live.js``, shipped beside this module):

* **whole** — the ``html`` trait (synced like any widget value) holds the page's whole HTML.
  It is set when the page's top level changes (first display, a new task appears, the
  timeline's scale grows) and once more when polling ends, so a notebook saved with its widget
  state shows the end.
* **patch** — otherwise only the parts that differ from what was last shown are sent, as a
  custom message ``{"type": "patch", "parts": {key: html}}``: when a task turns Succeeded that
  is its graph node, its table row, its timeline bar and the header/progress, not the SVG.
* **nothing** — a page equal to the one shown sends no message at all.
* A view rendered later (the same widget displayed again, the page reloaded) says ``hello``;
  if patches were sent since ``html`` was set, it gets the whole current HTML as a message.

A click on a node, a row or a bar comes back as ``{"event": "select", "node": key}`` and calls
``on_select(key)`` on the kernel's thread.

Why anywidget: ipywidgets' own ``HTML`` widget can only replace its whole value (the whole SVG
at every change) and cannot report a click on a node; a custom widget needs JavaScript, and
anywidget is the well-kept way to ship it without a JupyterLab extension of our own (it works
in JupyterLab, Notebook 7, VS Code and Colab).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

import anywidget
import traitlets

from .patches import Page

logger = logging.getLogger(__name__)

_STYLE = """
.hera-magics-live .hm-node, .hera-magics-live [data-node] { cursor: pointer; }
.hera-magics-live .hm-selected > rect:not([opacity]) { stroke: #ff6f00; stroke-width: 3; }
.hera-magics-live tr.hm-selected > td { background: #fff3e0; }
.hera-magics-live .hm-node:hover > rect:not([opacity]) { stroke-width: 3; }
"""


class LivePage(anywidget.AnyWidget):  # type: ignore[misc]
    """Shows pages, sending each time only what changed (see the module docstring)."""

    _esm = (Path(__file__).with_name("live.js")).read_text(encoding="utf-8")
    _css = _STYLE
    html = traitlets.Unicode("").tag(sync=True)

    def __init__(self, on_select: Callable[[str], Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_select = on_select
        self._lock = threading.Lock()
        self._shown: Page | None = None  # what the front end shows: html plus the patches since
        self._patched = False  # patches were sent since `html` was set
        self.on_msg(self._on_message)

    def show(self, page: Page) -> str:
        """Bring the front end to ``page``; returns what was sent: ``whole``, ``patch`` or ``nothing``."""
        with self._lock:
            changes = page.changes(self._shown)
            self._shown = page
            if changes is None:
                html = page.html
                if html == self.html and self._patched:  # the trait would not send an equal value
                    self.send({"type": "full", "html": html})
                self.html = html
                self._patched = False
                return "whole"
            if not changes:
                return "nothing"
            self.send({"type": "patch", "parts": changes})
            self._patched = True
            return "patch"

    def settle(self) -> None:
        """Put the shown page in the ``html`` trait (at the end: saved widget state shows it)."""
        with self._lock:
            if self._shown is not None and self._patched:
                self.html = self._shown.html
                self._patched = False

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("event") == "hello":
            with self._lock:
                if self._patched and self._shown is not None:
                    self.send({"type": "full", "html": self._shown.html})
        elif content.get("event") == "select" and isinstance(content.get("node"), str):
            if self.on_select is not None:
                try:
                    self.on_select(content["node"])
                except Exception:  # a click must never break the widget's comm
                    logger.exception("selecting %s failed", content["node"])


__all__ = ["LivePage"]
