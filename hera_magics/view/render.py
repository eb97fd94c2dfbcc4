"""The status of a workflow as HTML and as plain text: pure functions, no state, no clock.

:func:`render_html` and :func:`render_text` turn what :mod:`hera_magics.status` makes of a
workflow (``summary`` and ``rows``) into the status table — a header (name, namespace, phase,
progress, start, elapsed time), an optional notice, one row per task and, under each failed
task, the end of its log. :func:`render_log_html` renders one task's full log for the log panel.

Every piece of text that comes from the server or the user becomes HTML through :func:`escape`
and nowhere else: the markup is built by :func:`element`, which escapes attribute values, and
its content is either escaped text or the output of another ``element`` call. Links are made
only for ``http(s)`` URLs (:func:`safe_link`).

The same arguments always give the same string (nothing reads a clock; a running task shows
``…`` for its duration), so the view can compare renders to know whether anything changed.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any, Mapping, Sequence

from .. import argo, status

NO_TASKS_MESSAGE = "no tasks yet"

PHASE_COLOURS = {
    argo.SUCCEEDED: "#2e7d32",
    argo.FAILED: "#c62828",
    argo.ERROR: "#c62828",
    argo.RUNNING: "#1565c0",
    argo.PENDING: "#757575",
    argo.OMITTED: "#9e9e9e",
    argo.SKIPPED: "#9e9e9e",
}
DEFAULT_PHASE_COLOUR = "#757575"

NOTICE_COLOURS = {"info": "#1565c0", "warning": "#e65100", "error": "#c62828"}

HTML_HEADINGS = ("task", "phase", "started", "duration", "message", "retries")
TEXT_HEADINGS = ("TASK", "PHASE", "STARTED", "DURATION", "RETRIES", "MESSAGE")

# Inline styles (a notebook output has no style sheet of ours), each named once.
_BOX = "font-family:var(--jp-ui-font-family,sans-serif);font-size:13px"
_MUTED = "color:#757575"
_SECONDARY = "color:#555"
_TABLE = "border-collapse:collapse;margin-top:4px"
_HEADING = "text-align:left;padding:2px 10px 2px 0;border-bottom:1px solid #ccc"
_CELL = "padding:2px 10px 2px 0;vertical-align:top"
_TAIL_CELL = "padding:0 0 6px 12px"
_TAIL = "margin:0;padding:4px;background:#fbe9e7;white-space:pre-wrap;max-height:24em;overflow:auto"
_LOG = "margin:2px 0;padding:4px;background:#f5f5f5;white-space:pre-wrap;max-height:30em;overflow:auto"
_BADGE = "background:{colour};color:#fff;padding:1px 7px;border-radius:9px;font-weight:600"
_STRONG = "color:{colour};font-weight:600"


# --------------------------------------------------------------------------------------------
# text


def format_duration(seconds: float | None) -> str:
    """``4s``, ``1m 30s``, ``2h 03m``, ``1d 02h``; ``""`` for an unknown duration."""
    if seconds is None:
        return ""
    total = int(round(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def format_clock(moment: datetime | None) -> str:
    """``HH:MM:SS`` (UTC, as the header says); ``""`` when unknown."""
    return moment.strftime("%H:%M:%S") if moment is not None else ""


def format_timestamp(moment: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC``; ``""`` when unknown."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else ""


def _ran(row: Mapping[str, Any]) -> bool:
    """Omitted and Skipped nodes never ran: Argo gives them start == finish, we show no time."""
    return str(row.get("phase")) not in argo.NOT_RUN_PHASES


def _started_text(row: Mapping[str, Any]) -> str:
    return format_clock(row.get("started")) if _ran(row) else ""


def _duration_text(row: Mapping[str, Any]) -> str:
    if not _ran(row):
        return ""
    if row.get("duration") is None and row.get("started") and not row.get("finished"):
        return "…"  # still running: no clock is read, so nothing ticks between polls
    return format_duration(row.get("duration"))


def _elapsed_text(summary: Mapping[str, Any]) -> str:
    if summary.get("elapsed") is not None:
        return f"elapsed {format_duration(summary['elapsed'])}"
    if summary.get("started") is not None and not status.is_final(summary.get("phase")):
        return "running"
    return ""


def _phase_of(row_or_summary: Mapping[str, Any]) -> str:
    return str(row_or_summary.get("phase") or argo.PENDING)


def _shown_tail(row: Mapping[str, Any], log_tails: Mapping[str, str]) -> str | None:
    """The log tail shown under ``row``: only a failed task's, and only if it was fetched."""
    if not row.get("pod_name") or _phase_of(row) not in argo.FAILED_PHASES:
        return None
    return log_tails.get(str(row.get("pod_name")))


def _tail_title(row: Mapping[str, Any]) -> str:
    return f"last lines of the log of {row.get('task') or ''} (pod {row.get('pod_name')}):"


# --------------------------------------------------------------------------------------------
# HTML building blocks


def escape(value: Any) -> str:
    """``value`` as HTML text (``None`` is empty): the one place text becomes HTML."""
    return html.escape("" if value is None else str(value), quote=True)


def element(tag: str, content: str = "", **attributes: str | None) -> str:
    """``<tag attributes>content</tag>``: ``content`` is HTML already (escaped text or other
    elements); attribute values are escaped here; ``None`` drops an attribute, ``class_`` is
    written ``class`` and other underscores are hyphens (``data_node``, ``stroke_width``)."""
    written = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(value)}"'
        for name, value in attributes.items()
        if value is not None
    )
    return f"<{tag}{written}>{content}</{tag}>"


def safe_link(url: str | None) -> str | None:
    """Only http(s) links are rendered, so a bad URL can never become ``javascript:``."""
    if url and re.match(r"(?i)^https?://", url):
        return url
    return None


def _badge(phase: str) -> str:
    colour = PHASE_COLOURS.get(phase, DEFAULT_PHASE_COLOUR)
    return element("span", escape(phase), style=_BADGE.format(colour=colour))


def _header_html(summary: Mapping[str, Any], ui_url: str | None) -> str:
    return element("div", header_content(summary, ui_url), style="margin-bottom:4px")


def header_content(summary: Mapping[str, Any], ui_url: str | None) -> str:
    """The header's inside: name (linked to the Argo UI), namespace, phase badge, progress,
    start and elapsed time."""
    name = escape(summary.get("name") or "")
    link = safe_link(ui_url)
    title = element("a", name, href=link, target="_blank", rel="noopener") if link else name
    parts = [element("b", title, style="font-size:14px")]
    if summary.get("namespace"):
        parts.append(" " + element("span", escape(summary["namespace"]), style=_MUTED))
    parts.append(" " + _badge(_phase_of(summary)))
    facts = [f"progress {summary.get('progress') or '0/0'}"]
    if summary.get("started"):
        facts.append(f"started {format_timestamp(summary.get('started'))}")
    facts.append(_elapsed_text(summary))
    parts.extend(" " + element("span", f"· {escape(fact)}", style=_SECONDARY) for fact in facts if fact)
    return "".join(parts)


def _notice_html(notice: str, level: str) -> str:
    colour = NOTICE_COLOURS.get(level, NOTICE_COLOURS["warning"])
    return element("div", escape(notice), class_="hera-magics-notice", style=_STRONG.format(colour=colour))


def entry_task_text(row: Mapping[str, Any]) -> str:
    """What the task column says: a map is ``train ×1000``; an exit handler ``notify (on exit)``;
    a plain row its task name."""
    label = str(row.get("label") or row.get("task") or "")
    if row.get("kind") == "map":
        total = row.get("total")
        return f"{label} ×{'?' if total is None else total}"
    if row.get("kind") == "exit":
        return f"{label} (on exit)"
    return label


def entry_message(row: Mapping[str, Any]) -> str:
    """The message column: a map's progress (``640/1000``) before its message."""
    message = str(row.get("message") or "")
    if row.get("kind") != "map":
        return message
    progress = f"{row.get('done') or 0}/{row.get('total') or 0}"
    return f"{progress} · {message}" if message else progress


def _cells_html(row: Mapping[str, Any]) -> str:
    phase = _phase_of(row)
    colour = PHASE_COLOURS.get(phase, DEFAULT_PHASE_COLOUR)
    cells = [
        escape(entry_task_text(row)),
        element("span", escape(phase), style=_STRONG.format(colour=colour)),
        escape(_started_text(row)),
        escape(_duration_text(row)),
        escape(entry_message(row)),
        escape(row.get("retries") or ""),
    ]
    return "".join(element("td", cell, style=_CELL) for cell in cells)


def _tail_html(row: Mapping[str, Any], log_tails: Mapping[str, str]) -> str:
    """The row under a failed task (or a map's first failed item) with its log tail, or ``""``."""
    shown = row
    if row.get("kind") == "map":
        shown = next((item for item in row.get("items") or () if _shown_tail(item, log_tails) is not None), row)
    tail = _shown_tail(shown, log_tails)
    if tail is None:
        return ""
    title = element("div", escape(_tail_title(shown)), style=_MUTED)
    box = element("pre", escape(tail), style=_TAIL)
    return element("tr", element("td", title + box, colspan="6", style=_TAIL_CELL))


def _row_html(row: Mapping[str, Any], log_tails: Mapping[str, str]) -> str:
    return element("tr", _cells_html(row)) + _tail_html(row, log_tails)


def _table_html(rows: Sequence[Mapping[str, Any]], log_tails: Mapping[str, str]) -> str:
    headings = "".join(element("th", heading, style=_HEADING) for heading in HTML_HEADINGS)
    if rows:
        body = "".join(_row_html(row, log_tails) for row in rows)
    else:
        body = element("tr", element("td", NO_TASKS_MESSAGE, colspan="6", style=_MUTED))
    head = element("thead", element("tr", headings))
    return element("table", head + element("tbody", body), style=_TABLE)


MAX_ITEMS_SHOWN = 100
"""A map's disclosure in the table lists at most this many items (``run.tasks()`` has all)."""

_DISCLOSURE_CELL = "padding:0 0 4px 16px"


def _items_html(row: Mapping[str, Any], builder: Any) -> str:
    """A map's items as a small table, each item row a part ``item:<task>``."""
    items = list(row.get("items") or ())
    bodies = [
        builder.part(f"item:{item['key']}", "tr", _cells_html(item), data_node=str(item["key"]))
        for item in items[:MAX_ITEMS_SHOWN]
    ]
    hidden = int(row.get("total") or 0) - len(bodies)
    if hidden > 0:
        more = f"… {hidden} more items (run.tasks() lists every one)"
        bodies.append(element("tr", element("td", escape(more), colspan="6", style=_MUTED)))
    if not items:
        bodies.append(element("tr", element("td", "no items yet", colspan="6", style=_MUTED)))
    return element("table", element("tbody", "".join(bodies)), style=_TABLE)


def entry_table_html(rows: Sequence[Mapping[str, Any]], log_tails: Mapping[str, str], builder: Any) -> str:
    """The task table of the live view: one ``<tbody>`` part ``row:<key>`` per entry (its row,
    and its log tail when it failed), each map followed by a disclosure that opens to its items.

    ``rows`` are entries (:func:`hera_magics.status.task_graph`, plus the spec's tasks not
    started yet); ``builder`` is a :class:`~hera_magics.view.patches.PageBuilder`.
    """
    headings = "".join(element("th", heading, style=_HEADING) for heading in HTML_HEADINGS)
    bodies = []
    for row in rows:
        key = str(row.get("key") or row.get("task"))
        inner = element("tr", _cells_html(row), data_node=key, class_="hm-row") + _tail_html(row, log_tails)
        bodies.append(builder.part(f"row:{key}", "tbody", inner))
        if row.get("kind") == "map":
            items = builder.part(f"items:{key}", "div", _items_html(row, builder))
            summary = element("summary", escape(f"items of {row.get('label') or key}"), style=_MUTED)
            details = element("details", summary + items)
            bodies.append(element("tbody", element("tr", element("td", details, colspan="6", style=_DISCLOSURE_CELL))))
    if not rows:
        bodies.append(element("tbody", element("tr", element("td", NO_TASKS_MESSAGE, colspan="6", style=_MUTED))))
    head = element("thead", element("tr", headings))
    return element("table", head + "".join(bodies), style=_TABLE)


# --------------------------------------------------------------------------------------------
# renderers


def render_html(
    summary: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    ui_url: str | None = None,
    notice: str | None = None,
    notice_level: str = "warning",
    log_tails: Mapping[str, str] | None = None,
) -> str:
    """The status as one HTML fragment: header, notice, task table with failed tasks' log tails.

    ``summary`` and ``rows`` come from :func:`hera_magics.status.summary` and
    :func:`hera_magics.status.task_rows`; ``log_tails`` maps a pod name to the tail of its log,
    shown right under that task's row; ``notice_level`` is ``info``, ``warning`` or ``error``.
    The output depends only on the arguments (no clock), so an unchanged workflow renders to
    the same string.
    """
    parts = [_header_html(summary, ui_url)]
    if summary.get("message"):
        parts.append(element("div", escape(summary["message"]), style=_SECONDARY))
    if notice:
        parts.append(_notice_html(notice, notice_level))
    parts.append(_table_html(rows, log_tails or {}))
    return element("div", "".join(parts), class_="hera-magics-status", style=_BOX)


def render_text(
    summary: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    notice: str | None = None,
    log_tails: Mapping[str, str] | None = None,
) -> str:
    """The status as a plain-text table, for terminals, nbconvert and ``repr()``."""
    log_tails = log_tails or {}
    header = [str(summary.get("name") or "")]
    if summary.get("namespace"):
        header.append(f"({summary['namespace']})")
    header.append(_phase_of(summary))
    header.append(f"progress {summary.get('progress') or '0/0'}")
    if summary.get("started"):
        header.append(f"started {format_timestamp(summary.get('started'))}")
    elapsed = _elapsed_text(summary)
    if elapsed:
        header.append(elapsed)
    lines = ["  ".join(header)]
    if summary.get("message"):
        lines.append(str(summary["message"]))
    if notice:
        lines.append(f"! {notice}")
    table = [
        (
            entry_task_text(row),
            _phase_of(row),
            _started_text(row),
            _duration_text(row),
            str(row.get("retries") or ""),
            entry_message(row),
        )
        for row in rows
    ]
    # Every column but the last (the message, of any length) is padded to its widest value.
    widths = [max([len(TEXT_HEADINGS[i])] + [len(line[i]) for line in table]) for i in range(5)]

    def format_line(values: Sequence[str]) -> str:
        padded = [value.ljust(widths[i]) for i, value in enumerate(values[:5])]
        return "  ".join(padded + [values[5]]).rstrip()

    lines.append(format_line(TEXT_HEADINGS))
    if not table:
        lines.append(NO_TASKS_MESSAGE)
    for row, line in zip(rows, table):
        lines.append(format_line(line))
        shown = row
        if row.get("kind") == "map":
            shown = next((item for item in row.get("items") or () if _shown_tail(item, log_tails) is not None), row)
        tail = _shown_tail(shown, log_tails)
        if tail is not None:
            lines.append(f"    {_tail_title(shown)}")
            lines.extend(f"    | {text}" for text in tail.splitlines())
    return "\n".join(lines)


def entry_summary(row: Mapping[str, Any]) -> str:
    """One line for an entry: ``train ×1000 · Running · 640/1000 · 3 failed`` for a map,
    ``compute-ratios · Failed · main: Error (exit code 1)`` for a task."""
    parts = [entry_task_text(row), _phase_of(row)]
    if row.get("kind") == "map":
        parts.append(f"{row.get('done') or 0}/{row.get('total') or 0}")
        failed = sum(1 for item in row.get("items") or () if _phase_of(item) in argo.FAILED_PHASES)
        if failed:
            parts.append(f"{failed} failed")
    elif row.get("message"):
        parts.append(str(row["message"]))
    return " · ".join(parts)


DETAIL_ITEMS_SHOWN = 200


def render_task_detail_html(row: Mapping[str, Any], tail: str | None) -> str:
    """The panel for one chosen task: its summary line, its output artifacts, and the end of its
    log (for a failed task, the traceback), or why there is none."""
    title = element("b", escape(entry_summary(row)))
    if row.get("artifacts"):
        names = ", ".join(row["artifacts"])
        title += element("div", escape(f"output artifacts: {names} (read one with "
                                       f"run.artifact({row.get('task')!r}, {row['artifacts'][0]!r}))"), style=_MUTED)
    if tail is not None:
        failed = _phase_of(row) in argo.FAILED_PHASES
        caption = element("div", escape(_tail_title(row)), style=_MUTED)
        body = caption + element("pre", escape(tail), style=_TAIL if failed else _LOG)
    elif _phase_of(row) == argo.PENDING and not row.get("started"):
        body = element("div", "not started yet", style=_MUTED)
    else:
        reason = row.get("message") or f"phase {_phase_of(row)}"
        body = element("div", escape(f"no log: this task ran no pod ({reason})"), style=_MUTED)
    return element("div", title + body, class_="hm-detail", style="font-size:13px;margin-top:4px")


def render_items_detail_html(title: str, items: Sequence[Mapping[str, Any]], tails: Mapping[str, str]) -> str:
    """The panel for a map (or a group of tasks): a line, its items' table (the first
    :data:`DETAIL_ITEMS_SHOWN`) and the log tails of the first failed ones (``tails`` by key)."""
    rows = "".join(element("tr", _cells_html(item), data_node=str(item.get("key"))) for item in items[:DETAIL_ITEMS_SHOWN])
    more = len(items) - DETAIL_ITEMS_SHOWN
    if more > 0:
        rows += element("tr", element("td", escape(f"… {more} more (run.tasks() lists every one)"), colspan="6",
                                      style=_MUTED))
    table = element("table", element("tbody", rows), style=_TABLE)
    shown = []
    for item in items:
        tail = tails.get(str(item.get("key")))
        if tail is not None:
            shown.append(element("div", escape(_tail_title(item)), style=_MUTED) + element("pre", escape(tail), style=_TAIL))
    return element("div", element("b", escape(title)) + table + "".join(shown), class_="hm-detail",
                   style="font-size:13px;margin-top:4px")


def render_log_html(task: str, pod_name: str | None, text: str, *, note: str = "") -> str:
    """The log panel's content: a title line and the escaped log in a scrolling box."""
    title = f"log of {escape(task)}" + (f" (pod {escape(pod_name)})" if pod_name else "")
    extra = " " + element("span", escape(note), style=_MUTED) if note else ""
    return element("div", element("b", title) + extra + element("pre", escape(text), style=_LOG), style="font-size:13px")


__all__ = [
    "MAX_ITEMS_SHOWN",
    "NO_TASKS_MESSAGE",
    "PHASE_COLOURS",
    "entry_message",
    "entry_summary",
    "render_items_detail_html",
    "render_task_detail_html",
    "entry_table_html",
    "entry_task_text",
    "header_content",
    "element",
    "escape",
    "format_duration",
    "render_html",
    "render_log_html",
    "render_text",
    "safe_link",
]
