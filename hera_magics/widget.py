"""The live status view of a workflow (DESIGN §4): an ipywidgets view bound to a poller.

Three parts, kept apart so each can be tested alone:

* pure renderers — ``render_html(summary, rows, ...)`` and ``render_text(summary, rows, ...)``
  turn the output of :mod:`hera_magics.status` into one HTML string or a plain-text table.
  Every piece of text that comes from the server or the user is escaped.
* the poller — :class:`StatusView` asks a *source* (anything with the methods of
  :class:`WorkflowSource`, normally ``hera_magics.client.ArgoClient``) for the workflow, in a
  daemon thread so the kernel stays usable. Each poll asks only for :data:`POLL_FIELDS`. While
  nothing changes the interval grows ×1.5 up to ``max_interval``; a change resets it. The poller
  stops by itself at a final phase, and on 401/403/404 with the reason shown (the last state
  stays on screen). Server hiccups (5xx, connection failures, HTML pages) show
  ``reconnecting…`` and polling goes on.
* the widgets — one ``HTML`` widget holds the header, the table and the failed tasks' log
  tails; a dropdown with a "logs" button shows any task's full log in a second ``HTML`` widget;
  buttons stop, terminate, retry and refresh. A widget value is assigned only when the newly
  rendered value differs from the shown one, so nothing is sent to the front end while nothing
  changes (``update_count`` counts the assignments of the main HTML).

Without a widget front end (nbconvert, plain IPython, a JupyterLab whose widget extension does
not match) the same object still shows the latest state: ``_repr_mimebundle_`` always carries
``text/html`` and ``text/plain`` next to the widget view, and ``repr()`` is the text table.
Such a front end keeps what was displayed, so the view re-sends its displays (the handles given
to :meth:`StatusView.attach_display`) once whenever its poller stops — at a final phase, on a
fatal error, on :meth:`stop` — and ``WorkflowRun.wait()`` does so when the run ends: the saved
notebook shows the final table. A widget front end re-renders the same widget model in place,
so no second widget appears.

Widget values are assigned from the poll thread; ipykernel >= 7.1 delivers such updates (7.0
did not, see STYLE.md §4). The token never reaches this module: it lives inside the source, and
error texts are scrubbed of anything that looks like a bearer token before they are shown.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, Sequence

from . import argo, status
from .errors import (
    ArgoServerError,
    AuthenticationError,
    ConnectionFailedError,
    HeraMagicsError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    UnexpectedResponseError,
)

if TYPE_CHECKING:  # ipywidgets is imported lazily so the module works without it
    import ipywidgets

logger = logging.getLogger(__name__)

POLL_FIELDS = (
    "metadata.name,metadata.namespace,metadata.annotations,"
    "status.phase,status.startedAt,status.finishedAt,status.progress,status.message,status.nodes"
)
"""The only fields a poll asks for (Argo's ``fields`` filter, a prefix match on dotted paths).

``metadata.annotations`` carries the pod-name format needed to find a task's log; the node map
cannot be narrowed further because its keys are node ids, unknown in advance.
"""

LOG_TAIL_LINES = 40
"""How many last lines of a failed task's log are shown under its row."""

MAX_LOG_LINES = 5000
"""The full-log viewer keeps at most this many last lines, so the browser stays responsive."""

BACKOFF_FACTOR = 1.5

RECONNECTING_MESSAGE = "reconnecting…"
NOT_FOUND_MESSAGE = (
    "workflow no longer on the server (deleted or TTL expired); showing the last state"
)
NEVER_FOUND_MESSAGE = "workflow not found on the server; polling stopped"
AUTHENTICATION_MESSAGE = (
    "polling stopped: the server rejected the token (401); showing the last state. "
    "Get a fresh token, run %argo_env again, then press refresh"
)
PERMISSION_MESSAGE = (
    "polling stopped: permission denied (403) for this workflow; showing the last state"
)
STOPPED_MESSAGE = "polling stopped"
NO_TASKS_MESSAGE = "no tasks yet"
EMPTY_LOG_MESSAGE = "(the log is empty)"

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ServerError,
    ConnectionFailedError,
    UnexpectedResponseError,
)
"""Errors after which polling goes on (the server may be back at the next poll)."""

PHASE_COLOURS = {
    "Succeeded": "#2e7d32",
    "Failed": "#c62828",
    "Error": "#c62828",
    "Running": "#1565c0",
    "Pending": "#757575",
    "Omitted": "#9e9e9e",
    "Skipped": "#9e9e9e",
}
DEFAULT_PHASE_COLOUR = "#757575"

NOTICE_COLOURS = {"info": "#1565c0", "warning": "#e65100", "error": "#c62828"}

# A bearer or basic credential, in case a server or proxy echoes the Authorization header.
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/:=-]+")


class WorkflowSource(Protocol):
    """What the view needs from a client: ``hera_magics.client.ArgoClient`` has these methods."""

    def get_workflow(
        self, name: str, *, fields: str | None = None, namespace: str | None = None
    ) -> dict[str, Any]: ...

    def workflow_logs(
        self,
        name: str,
        *,
        pod_name: str | None = None,
        follow: bool = False,
        grep: str | None = None,
        namespace: str | None = None,
    ) -> Iterable[Mapping[str, Any]]: ...

    def stop_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]: ...

    def terminate_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]: ...

    def retry_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]: ...


# --------------------------------------------------------------------------------------------
# pure helpers


def next_interval(current: float, *, changed: bool, base: float, maximum: float) -> float:
    """The wait before the next poll: ``base`` after a change, else ×1.5 up to ``maximum``."""
    if changed:
        return base
    return min(current * BACKOFF_FACTOR, maximum)


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


def scrub(text: str) -> str:
    """``text`` with anything shaped like ``Bearer <token>`` masked (defence in depth)."""
    return _CREDENTIAL.sub(lambda match: f"{match.group(1)} …", text)


def _escape(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _safe_link(url: str | None) -> str | None:
    """Only http(s) links are rendered, so a bad URL can never become ``javascript:``."""
    if url and re.match(r"(?i)^https?://", url):
        return url
    return None


def _ran(row: Mapping[str, Any]) -> bool:
    """Omitted and Skipped nodes never ran: Argo gives them start == finish, we show no time."""
    return str(row.get("phase")) not in argo.NOT_RUN_PHASES


def _row_started_text(row: Mapping[str, Any]) -> str:
    return format_clock(row.get("started")) if _ran(row) else ""


def _row_duration_text(row: Mapping[str, Any]) -> str:
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


def _badge(phase: str) -> str:
    colour = PHASE_COLOURS.get(phase, DEFAULT_PHASE_COLOUR)
    return (
        f'<span style="background:{colour};color:#fff;padding:1px 7px;border-radius:9px;'
        f'font-weight:600">{_escape(phase)}</span>'
    )


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
    shown right under that task's row. The output depends only on the arguments (no clock), so
    an unchanged workflow renders to the same string.
    """
    log_tails = log_tails or {}
    name = _escape(summary.get("name") or "")
    link = _safe_link(ui_url)
    title = f'<a href="{_escape(link)}" target="_blank" rel="noopener">{name}</a>' if link else name
    namespace = summary.get("namespace")
    facts = [
        f"progress {_escape(summary.get('progress') or '0/0')}",
        f"started {_escape(format_timestamp(summary.get('started')))}"
        if summary.get("started")
        else "",
        _escape(_elapsed_text(summary)),
    ]
    parts = [
        '<div class="hera-magics-status" style="font-family:var(--jp-ui-font-family,sans-serif);'
        'font-size:13px">',
        '<div style="margin-bottom:4px">',
        f'<b style="font-size:14px">{title}</b>',
        f' <span style="color:#757575">{_escape(namespace)}</span>' if namespace else "",
        f" {_badge(str(summary.get('phase') or 'Pending'))}",
        "".join(f' <span style="color:#555">· {fact}</span>' for fact in facts if fact),
        "</div>",
    ]
    if summary.get("message"):
        parts.append(f'<div style="color:#555">{_escape(summary["message"])}</div>')
    if notice:
        colour = NOTICE_COLOURS.get(notice_level, NOTICE_COLOURS["warning"])
        parts.append(
            f'<div class="hera-magics-notice" style="color:{colour};font-weight:600">'
            f"{_escape(notice)}</div>"
        )
    parts.append(
        '<table style="border-collapse:collapse;margin-top:4px"><thead><tr>'
        + "".join(
            f'<th style="text-align:left;padding:2px 10px 2px 0;border-bottom:1px solid #ccc">'
            f"{heading}</th>"
            for heading in ("task", "phase", "started", "duration", "message", "retries")
        )
        + "</tr></thead><tbody>"
    )
    if not rows:
        parts.append(f'<tr><td colspan="6" style="color:#757575">{NO_TASKS_MESSAGE}</td></tr>')
    cell = 'style="padding:2px 10px 2px 0;vertical-align:top"'
    for row in rows:
        phase = str(row.get("phase") or "Pending")
        colour = PHASE_COLOURS.get(phase, DEFAULT_PHASE_COLOUR)
        parts.append(
            "<tr>"
            f"<td {cell}>{_escape(row.get('task'))}</td>"
            f'<td {cell}><span style="color:{colour};font-weight:600">{_escape(phase)}</span></td>'
            f"<td {cell}>{_escape(_row_started_text(row))}</td>"
            f"<td {cell}>{_escape(_row_duration_text(row))}</td>"
            f"<td {cell}>{_escape(row.get('message'))}</td>"
            f"<td {cell}>{_escape(row.get('retries') or '')}</td>"
            "</tr>"
        )
        tail = log_tails.get(str(row.get("pod_name"))) if row.get("pod_name") else None
        if tail is not None and phase in argo.FAILED_PHASES:
            parts.append(
                '<tr><td colspan="6" style="padding:0 0 6px 12px">'
                f'<div style="color:#757575">last lines of the log of '
                f"{_escape(row.get('task'))} (pod {_escape(row.get('pod_name'))}):</div>"
                '<pre style="margin:0;padding:4px;background:#fbe9e7;white-space:pre-wrap;'
                f'max-height:24em;overflow:auto">{_escape(tail)}</pre></td></tr>'
            )
    parts.append("</tbody></table></div>")
    return "".join(parts)


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
    header.append(str(summary.get("phase") or "Pending"))
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
    headings = ("TASK", "PHASE", "STARTED", "DURATION", "RETRIES", "MESSAGE")
    table = [
        (
            str(row.get("task") or ""),
            str(row.get("phase") or "Pending"),
            _row_started_text(row),
            _row_duration_text(row),
            str(row.get("retries") or ""),
            str(row.get("message") or ""),
        )
        for row in rows
    ]
    widths = [max([len(headings[i])] + [len(line[i]) for line in table]) for i in range(5)]

    def format_line(values: Sequence[str]) -> str:
        padded = [value.ljust(widths[i]) for i, value in enumerate(values[:5])]
        return "  ".join(padded + [values[5]]).rstrip()

    lines.append(format_line(headings))
    if not table:
        lines.append(NO_TASKS_MESSAGE)
    for row, line in zip(rows, table):
        lines.append(format_line(line))
        tail = log_tails.get(str(row.get("pod_name"))) if row.get("pod_name") else None
        if tail is not None and row.get("phase") in argo.FAILED_PHASES:
            lines.append(f"    last lines of the log of {line[0]} (pod {row.get('pod_name')}):")
            lines.extend(f"    | {text}" for text in tail.splitlines())
    return "\n".join(lines)


def render_log_html(task: str, pod_name: str | None, text: str, *, note: str = "") -> str:
    """The full-log viewer's content: a title line and the escaped log in a scrolling box."""
    title = f"log of {_escape(task)}" + (f" (pod {_escape(pod_name)})" if pod_name else "")
    extra = f' <span style="color:#757575">{_escape(note)}</span>' if note else ""
    return (
        f'<div style="font-size:13px"><b>{title}</b>{extra}'
        '<pre style="margin:2px 0;padding:4px;background:#f5f5f5;white-space:pre-wrap;'
        f'max-height:30em;overflow:auto">{_escape(text)}</pre></div>'
    )


def read_log_lines(
    source: WorkflowSource,
    name: str,
    *,
    pod_name: str,
    namespace: str | None,
    max_lines: int,
) -> tuple[list[str], bool]:
    """The last ``max_lines`` lines of a pod's log and whether older lines were dropped."""
    kept: deque[str] = deque(maxlen=max_lines)
    count = 0
    for entry in source.workflow_logs(name, pod_name=pod_name, namespace=namespace):
        content = entry.get("content", "") if isinstance(entry, Mapping) else entry
        for line in str(content).splitlines() or [""]:
            kept.append(line)
            count += 1
    return list(kept), count > max_lines


def _display_updates_may_be_dropped() -> bool:
    """True unless displays go straight to a terminal (IPython's own publisher prints them)."""
    try:
        from IPython import get_ipython
        from IPython.core.displaypub import DisplayPublisher
    except ImportError:  # pragma: no cover - displays come from IPython
        return True
    shell = get_ipython()
    publisher = getattr(shell, "display_pub", None)
    return publisher is None or type(publisher) is not DisplayPublisher


def _error_text(error: BaseException) -> str:
    message = error.message if isinstance(error, HeraMagicsError) else str(error)
    text = scrub(" ".join(str(message).split()))
    return text if len(text) <= 300 else text[:299] + "…"


# --------------------------------------------------------------------------------------------
# the view


class StatusView:
    """A workflow's live status: widgets in a notebook, HTML/text anywhere else.

    ``source`` is the client (see :class:`WorkflowSource`); ``name``/``namespace`` name the
    workflow; ``ui_url`` links the header to the Argo UI. Call :meth:`start` to poll in the
    background, or :meth:`poll_once` to poll in the calling thread (tests, scripts).
    ``widgets=False`` builds no ipywidgets (``None``: build them if ipywidgets imports).
    """

    def __init__(
        self,
        source: WorkflowSource,
        name: str,
        namespace: str | None,
        *,
        ui_url: str | None = None,
        poll_interval: float = 1.0,
        max_interval: float = 10.0,
        widgets: bool | None = None,
    ) -> None:
        if poll_interval <= 0 or max_interval < poll_interval:
            raise ValueError("need 0 < poll_interval <= max_interval")
        self.source = source
        self.name = name
        self.namespace = namespace
        self.ui_url = ui_url
        self.poll_interval = poll_interval
        self.max_interval = max_interval
        self.interval = poll_interval
        self.update_count = 0
        self.poll_count = 0
        # state shown; guarded by _state_lock, never held during network calls
        self._state_lock = threading.RLock()
        self._workflow: dict[str, Any] | None = None
        self._rows: list[dict[str, Any]] = []
        self._summary: dict[str, Any] = self._summarise(None)
        self._notice: str | None = None
        self._notice_level = "warning"
        self._notice_kind: str | None = None  # "poll" (errors) or "action" (button outcomes)
        self._log_tails: dict[str, str] = {}
        self._halted = False  # a final phase or a fatal error was seen
        self._html = ""
        self._log_html = ""
        # the poller; _poll_lock keeps polls from overlapping
        self._poll_lock = threading.Lock()
        self._apply_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False
        self._stop_requested = False
        self._reset_interval = False
        self._start_count = 0
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        # IPython DisplayHandles of the places this view is shown (see attach_display), and
        # the (html, log html) they were last sent with
        self._display_handles: list[Any] = []
        self._display_lock = threading.Lock()
        self._displayed: tuple[str, str] | None = None
        # the widgets (all None without ipywidgets): the main HTML, the log viewer, the task
        # dropdown and the buttons "logs", "stop", "terminate", "retry", "refresh"
        self.html_widget: ipywidgets.HTML | None = None
        self.log_widget: ipywidgets.HTML | None = None
        self.task_select: ipywidgets.Dropdown | None = None
        self.buttons: dict[str, ipywidgets.Button] = {}
        self.widget: ipywidgets.VBox | None = None
        if widgets is not False:
            self._build_widgets(required=widgets is True)
        self._apply()
        self.update_count = 0  # the first render is the initial value, not an update

    # -- public state -------------------------------------------------------------------------

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The task rows of the last successful poll (see :func:`hera_magics.status.task_rows`)."""
        with self._state_lock:
            return [dict(row) for row in self._rows]

    @property
    def summary(self) -> dict[str, Any]:
        with self._state_lock:
            return dict(self._summary)

    @property
    def phase(self) -> str:
        with self._state_lock:
            return str(self._summary["phase"])

    @property
    def workflow(self) -> dict[str, Any] | None:
        """The workflow JSON of the last successful poll (only the :data:`POLL_FIELDS`)."""
        with self._state_lock:
            return self._workflow

    @property
    def notice(self) -> str | None:
        """``reconnecting…``, the reason polling stopped, an action's outcome — or ``None``."""
        with self._state_lock:
            return self._notice

    @property
    def log_tails(self) -> dict[str, str]:
        """Pod name -> the last :data:`LOG_TAIL_LINES` lines of that failed pod's log."""
        with self._state_lock:
            return dict(self._log_tails)

    @property
    def html(self) -> str:
        """The HTML shown now (header, table, log tails)."""
        with self._state_lock:
            return self._html

    @property
    def log_html(self) -> str:
        """The HTML of the full-log viewer (empty until a log is asked for)."""
        with self._state_lock:
            return self._log_html

    @property
    def text(self) -> str:
        """The status as a plain-text table."""
        with self._state_lock:
            return render_text(
                self._summary, self._rows, notice=self._notice, log_tails=self._log_tails
            )

    @property
    def polling(self) -> bool:
        """True while the background poller runs."""
        with self._state_lock:
            return self._running

    # -- polling --------------------------------------------------------------------------------

    def poll_once(self) -> bool:
        """Fetch the workflow once, update the view; return True if what is shown changed.

        Never raises: transient errors show ``reconnecting…``; 401/403/404 and other refusals
        stop polling with the reason, keeping the last state; anything unexpected (a bug) is
        logged with its traceback and shown. A final phase stops polling too, after the failed
        tasks' log tails are fetched.
        """
        with self._poll_lock:
            self.poll_count += 1
            try:
                workflow = self.source.get_workflow(
                    self.name, fields=POLL_FIELDS, namespace=self.namespace
                )
                rows = status.task_rows(workflow)
                summary = self._summarise(workflow)
                self._fetch_log_tails(rows)
            except TRANSIENT_ERRORS as error:
                self._set_notice(f"{RECONNECTING_MESSAGE} ({_error_text(error)})", "warning")
                return self._apply()
            except NotFoundError:
                with self._state_lock:
                    seen_before = self._workflow is not None
                self._halt(NOT_FOUND_MESSAGE if seen_before else NEVER_FOUND_MESSAGE)
                return self._apply()
            except AuthenticationError as error:
                self._halt(f"{AUTHENTICATION_MESSAGE} ({_error_text(error)})")
                return self._apply()
            except PermissionDeniedError as error:
                self._halt(f"{PERMISSION_MESSAGE} ({_error_text(error)})")
                return self._apply()
            except ArgoServerError as error:
                self._halt(f"{STOPPED_MESSAGE}: {_error_text(error)}")
                return self._apply()
            except Exception as error:  # a bug or an odd source: show it, stop, keep the trace
                logger.exception("polling workflow %s failed", self.name)
                self._halt(
                    f"{STOPPED_MESSAGE}: unexpected {type(error).__name__}: {_error_text(error)}"
                )
                return self._apply()
            with self._state_lock:
                workflow_changed = rows != self._rows or summary != self._summary
                self._workflow = workflow
                self._rows = rows
                self._summary = summary
                # Recovered: "reconnecting…" and an old stop reason go away. An action's outcome
                # ("stop requested", "retry failed: ...") stays until the workflow changes.
                if self._notice_kind != "action" or workflow_changed:
                    self._notice = None
                    self._notice_kind = None
                if status.is_final(summary["phase"]):
                    self._halted = True
            return self._apply()

    def start(self) -> None:
        """Poll in a daemon thread until a final phase, a fatal error or :meth:`stop`.

        Calling it while the poller runs makes it poll now (see :meth:`refresh`).
        """
        with self._state_lock:
            self._stop_requested = False
            self._halted = False
            self._start_count += 1
            if self._running:
                self._reset_interval = True
                self._wake.set()
                return
            self._running = True
            self._stopped.clear()
            self._wake.clear()
            self.interval = self.poll_interval
            thread = threading.Thread(
                target=self._run, name=f"hera-magics-status-{self.name}", daemon=True
            )
            self._thread = thread
        thread.start()

    def stop(self) -> None:
        """Stop polling (the workflow itself goes on; see :meth:`stop_workflow` for that)."""
        with self._state_lock:
            self._stop_requested = True
        self._wake.set()

    def wait_until_stopped(self, timeout: float | None = None) -> bool:
        """Block until the poller has stopped; False if it still runs after ``timeout`` s."""
        return self._stopped.wait(timeout)

    def refresh(self) -> None:
        """Poll now: wake the running poller, or start it again if it had stopped."""
        self.start()

    def attach_display(self, handle: Any) -> None:
        """Remember a display of this view (``display(view, display_id=True)`` returns it).

        When the poller stops (a final phase, an error, :meth:`stop`) and when
        :meth:`update_displays` is called, each display is sent again with the latest state:
        front ends without widgets (nbconvert, papermill, plain IPython) keep only what was
        sent, so the saved notebook shows the end instead of the first poll.
        """
        if handle is None:
            return
        with self._state_lock:
            if all(handle is not known for known in self._display_handles):
                self._display_handles.append(handle)
            self._displayed = (self._html, self._log_html)

    def update_displays(self) -> None:
        """Send every attached display again with the current state (never raises).

        A widget front end renders the same widget model again in place: no duplicate. In a
        terminal an unchanged state is not printed again; through a kernel it is always sent,
        since a front end drops display updates that arrive between two cells (nbclient does).
        """
        with self._display_lock:
            with self._state_lock:
                handles = list(self._display_handles)
                state = (self._html, self._log_html)
            if not handles or (state == self._displayed and not _display_updates_may_be_dropped()):
                return
            self._displayed = state
            for handle in handles:
                try:
                    handle.update(self)
                except Exception:  # a front end gone away must not break polling
                    logger.debug("could not update a display of %s", self.name, exc_info=True)

    def _run(self) -> None:
        try:
            self._poll_until_stopped()
        finally:
            self.update_displays()  # the end of polling: show the last state everywhere

    def _poll_until_stopped(self) -> None:
        # Every decision to end is taken under the state lock together with clearing
        # ``_running``, so a start() at that moment either keeps this thread going or starts a
        # new one — never neither.
        try:
            while True:
                with self._state_lock:
                    starts_before_poll = self._start_count
                changed = self.poll_once()
                with self._state_lock:
                    if self._halted and self._start_count != starts_before_poll:
                        # refresh/retry pressed during this poll: its answer may predate them
                        self._halted = False
                    if self._stop_requested or self._halted:
                        self._mark_stopped()
                        return
                    self.interval = next_interval(
                        self.interval,
                        changed=changed,
                        base=self.poll_interval,
                        maximum=self.max_interval,
                    )
                    interval = self.interval
                self._sleep(interval)
                with self._state_lock:
                    if self._stop_requested:
                        self._mark_stopped()
                        return
                    if self._reset_interval:  # refresh pressed or an action sent
                        self._reset_interval = False
                        self.interval = self.poll_interval
        except BaseException:
            with self._state_lock:
                self._mark_stopped()
            raise

    def _mark_stopped(self) -> None:
        """Record that the poll thread ends; call with ``_state_lock`` held."""
        self._running = False
        self._stopped.set()

    def _sleep(self, seconds: float) -> None:
        """Wait between polls; :meth:`stop` and :meth:`refresh` cut the wait short."""
        self._wake.wait(seconds)
        self._wake.clear()

    # -- actions --------------------------------------------------------------------------------

    def stop_workflow(self) -> bool:
        """Ask Argo to stop the workflow (exit handlers still run); False if it refused."""
        return self._act("stop", self.source.stop_workflow)

    def terminate_workflow(self) -> bool:
        """Ask Argo to terminate the workflow (nothing else runs); False if it refused."""
        return self._act("terminate", self.source.terminate_workflow)

    def retry_workflow(self) -> bool:
        """Ask Argo to retry the failed workflow and poll again; False if it refused.

        A retried node keeps its id, so its new pod has the old pod's name: the log tails
        fetched for the failed pods are forgotten, to be fetched again if they fail again.
        """
        return self._act("retry", self.source.retry_workflow, forget_log_tails=True)

    def _act(
        self, verb: str, action: Callable[..., Any], *, forget_log_tails: bool = False
    ) -> bool:
        try:
            action(self.name, namespace=self.namespace)
        except HeraMagicsError as error:
            self._set_notice(f"{verb} failed: {_error_text(error)}", "error", kind="action")
            self._apply()
            return False
        with self._state_lock:
            if forget_log_tails:
                self._log_tails.clear()
        self._set_notice(f"{verb} requested", "info", kind="action")
        self._apply()
        self.start()  # poll soon, and again after a final phase (a retry makes it Running)
        return True

    def show_log(self, task: str) -> str:
        """Fetch ``task``'s full log (its last :data:`MAX_LOG_LINES` lines), show and return it."""
        with self._state_lock:
            row = next((row for row in self._rows if row["task"] == task), None)
        if row is None:
            text, note, pod = f"no task named {task!r}", "", None
        elif not row.get("pod_name"):
            reason = row.get("message") or f"phase {row.get('phase')}"
            text, note, pod = f"this task ran no pod ({reason})", "", None
        else:
            pod = str(row["pod_name"])
            try:
                lines, truncated = read_log_lines(
                    self.source,
                    self.name,
                    pod_name=pod,
                    namespace=self.namespace,
                    max_lines=MAX_LOG_LINES,
                )
                text = "\n".join(lines) if any(lines) else EMPTY_LOG_MESSAGE
                note = f"last {MAX_LOG_LINES} lines" if truncated else ""
            except HeraMagicsError as error:
                text, note = f"log unavailable: {_error_text(error)}", ""
        log_html = render_log_html(task, pod, text, note=note)
        with self._apply_lock:
            with self._state_lock:
                self._log_html = log_html
            if self.log_widget is not None and self.log_widget.value != log_html:
                self.log_widget.value = log_html
        return text

    # -- internals ------------------------------------------------------------------------------

    def _summarise(self, workflow: Mapping[str, Any] | None) -> dict[str, Any]:
        summary = status.summary(workflow or {})
        summary["name"] = summary["name"] or self.name
        summary["namespace"] = summary["namespace"] or self.namespace
        return summary

    def _set_notice(self, text: str | None, level: str, *, kind: str = "poll") -> None:
        with self._state_lock:
            self._notice = text
            self._notice_level = level
            self._notice_kind = kind

    def _halt(self, reason: str) -> None:
        """Stop polling for ``reason``, keeping the last state on screen."""
        with self._state_lock:
            self._halted = True
        self._set_notice(reason, "error")

    def _fetch_log_tails(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Fetch, once per failed pod, the tail of its log (the traceback)."""
        for row in status.failed_rows(rows):
            pod = row.get("pod_name")
            with self._state_lock:
                if not pod or pod in self._log_tails:
                    continue
            try:
                lines, _ = read_log_lines(
                    self.source,
                    self.name,
                    pod_name=str(pod),
                    namespace=self.namespace,
                    max_lines=LOG_TAIL_LINES,
                )
                tail = "\n".join(lines) if any(lines) else EMPTY_LOG_MESSAGE
            except TRANSIENT_ERRORS:
                continue  # try again at the next poll
            except HeraMagicsError as error:
                tail = f"log unavailable: {_error_text(error)}"
            with self._state_lock:
                self._log_tails[str(pod)] = tail

    def _apply(self) -> bool:
        """Render the state and push to the widgets only what differs; True if the HTML changed.

        The poll thread, action threads and the kernel's thread all call this; one lock around
        rendering *and* assigning keeps an older render from overwriting a newer one.
        """
        with self._apply_lock:
            with self._state_lock:
                rendered = render_html(
                    self._summary,
                    self._rows,
                    ui_url=self.ui_url,
                    notice=self._notice,
                    notice_level=self._notice_level,
                    log_tails=self._log_tails,
                )
                changed = rendered != self._html
                if changed:
                    self._html = rendered
                    self.update_count += 1
                tasks = tuple(row["task"] for row in self._rows)
                phase = str(self._summary["phase"])
            if self.widget is None or self.html_widget is None or self.task_select is None:
                return changed
            final = status.is_final(phase)
            wanted_disabled = {
                "logs": not tasks,
                "stop": final,
                "terminate": final,
                "retry": phase not in argo.FAILED_PHASES,
                "refresh": False,
            }
            # Each trait is compared before it is assigned, so an unchanged workflow sends no
            # message at all; hold_sync folds the changes that remain into one message a widget.
            with self.widget.hold_sync():
                if self.html_widget.value != rendered:
                    self.html_widget.value = rendered
                if tuple(self.task_select.options) != tasks:
                    selected = self.task_select.value
                    self.task_select.options = tasks
                    if selected not in tasks:
                        # Offer the task one most likely wants to read: the first that failed.
                        failed = [row["task"] for row in self._rows if row["phase"] in argo.FAILED_PHASES]
                        selected = failed[0] if failed else (tasks[0] if tasks else None)
                    if self.task_select.value != selected:
                        self.task_select.value = selected
                for key, disabled in wanted_disabled.items():
                    if self.buttons[key].disabled != disabled:
                        self.buttons[key].disabled = disabled
            return changed

    def _build_widgets(self, *, required: bool) -> None:
        try:
            import ipywidgets as widgets
        except ImportError:
            if required:
                raise
            return
        self.html_widget = widgets.HTML()
        self.log_widget = widgets.HTML()
        self.task_select = widgets.Dropdown(
            options=(), description="task", layout=widgets.Layout(width="260px")
        )
        specs = {
            "logs": ("logs", "show the selected task's full log", "", self._on_logs),
            "stop": ("stop", "stop the workflow (exit handlers still run)", "warning",
                     self._on_stop),
            "terminate": ("terminate", "terminate the workflow now", "danger",
                          self._on_terminate),
            "retry": ("retry", "retry the failed workflow", "", self._on_retry),
            "refresh": ("refresh", "poll the server now", "", self._on_refresh),
        }
        for key, (label, tooltip, style, handler) in specs.items():
            button = widgets.Button(
                description=label,
                tooltip=tooltip,
                button_style=style,
                layout=widgets.Layout(width="auto"),
            )
            button.on_click(handler)
            self.buttons[key] = button
        controls = widgets.HBox([self.task_select, *self.buttons.values()])
        self.widget = widgets.VBox([self.html_widget, controls, self.log_widget])

    # Button handlers run on the kernel's thread: anything that talks to the server goes to a
    # short daemon thread, so a slow server never freezes the notebook.
    def _in_background(self, work: Callable[[], Any]) -> None:
        threading.Thread(target=work, name="hera-magics-action", daemon=True).start()

    def _on_logs(self, _button: Any) -> None:
        task = self.task_select.value if self.task_select is not None else None
        if task:
            self._in_background(lambda: self.show_log(task))

    def _on_stop(self, _button: Any) -> None:
        self._in_background(self.stop_workflow)

    def _on_terminate(self, _button: Any) -> None:
        self._in_background(self.terminate_workflow)

    def _on_retry(self, _button: Any) -> None:
        self._in_background(self.retry_workflow)

    def _on_refresh(self, _button: Any) -> None:
        self.refresh()

    # -- display --------------------------------------------------------------------------------

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, Any]:
        """The widget view, plus the latest state as HTML and text for front ends without it."""
        bundle: dict[str, Any] = {}
        if self.widget is not None:
            bundle.update(self.widget._repr_mimebundle_() or {})
        bundle["text/html"] = self.html + self.log_html
        bundle["text/plain"] = self.text
        return bundle

    def close(self) -> None:
        """Stop polling and close the widgets (their front-end views disappear)."""
        with self._state_lock:
            self._display_handles.clear()  # a closed widget is not displayed again
        self.stop()
        if self.widget is None:
            return
        stack: list[Any] = [self.widget]
        while stack:  # the box and everything inside it
            item = stack.pop()
            stack.extend(getattr(item, "children", ()))
            item.close()

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


__all__ = [
    "LOG_TAIL_LINES",
    "NOT_FOUND_MESSAGE",
    "POLL_FIELDS",
    "RECONNECTING_MESSAGE",
    "StatusView",
    "WorkflowSource",
    "format_duration",
    "next_interval",
    "render_html",
    "render_text",
]
