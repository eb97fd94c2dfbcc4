"""The live status view of a workflow: ipywidgets over a :class:`~.poller.Poller`.

:class:`StatusView` composes the three parts of :mod:`hera_magics.view`: a poller keeps the
state fresh in its thread (:mod:`.poller`), the renderers turn it into HTML and text
(:mod:`.render`), and this module shows it:

* one :class:`~.live.LivePage` widget holds the page of :func:`.page.status_page`: header,
  progress bars, the DAG drawn live, the timeline and the table with the failed tasks' log
  tails. Only the parts of it that changed are sent (a node's colour, a row), nothing at all
  while nothing changes (``update_count`` counts the polls that changed it). Clicking a node
  or a row (or choosing it in the dropdown) shows its log tail — for a failed task the
  traceback, for a map its items — in a second ``HTML`` widget; the "logs" button shows the
  chosen task's full log there; buttons stop, terminate, retry and refresh.
* Without a widget front end (nbconvert, plain IPython, a JupyterLab whose widget extension does
  not match) the same object still shows the latest state: ``_repr_mimebundle_`` always carries
  ``text/html`` and ``text/plain`` next to the widget view, and ``repr()`` is the text table.
  Such a front end keeps what was displayed, so the view re-sends its displays (the handles
  given to :meth:`StatusView.attach_display`) once whenever its poller stops — at a final
  phase, on a fatal error, on :meth:`~StatusView.stop` — and ``WorkflowRun.wait()`` does so
  when the run ends: the saved notebook shows the final table. A widget front end re-renders
  the same widget model in place, so no second widget appears.

Widget values are assigned from the poll thread; ipykernel >= 7.1 delivers such updates (7.0
did not). ipywidgets is imported only when the widgets are built, so this module works
without it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .. import argo, status
from .graph import GROUP_ENTRY, WorkflowGraph, workflow_graph
from .page import graph_layout, status_page, table_rows
from .patches import Page
from .poller import Poller, PollState, WorkflowSource
from .render import (
    entry_summary,
    render_items_detail_html,
    render_log_html,
    render_task_detail_html,
    render_text,
)

if TYPE_CHECKING:  # ipywidgets is imported lazily so the module works without it
    import ipywidgets

    from .live import LivePage

logger = logging.getLogger(__name__)

DETAIL_TAILS = 5
"""A map's panel shows the log tails of at most this many failed items."""

BUTTONS = {  # key: (label, tooltip, button style)
    "logs": ("logs", "show the selected task's full log", ""),
    "stop": ("stop", "stop the workflow (exit handlers still run)", "warning"),
    "terminate": ("terminate", "terminate the workflow now", "danger"),
    "retry": ("retry", "retry the failed workflow", ""),
    "refresh": ("refresh", "poll the server now", ""),
}


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


class StatusView:
    """A workflow's live status: widgets in a notebook, HTML/text anywhere else.

    ``source`` is the client (see :class:`~.poller.WorkflowSource`); ``name``/``namespace``
    name the workflow; ``ui_url`` links the header to the Argo UI. Call :meth:`start` to poll
    in the background, or :meth:`poll_once` to poll in the calling thread (tests, scripts).
    ``widgets=False`` builds no ipywidgets (``None``: build them if ipywidgets imports).
    ``on_final_state`` is given to the poller (see :mod:`.poller`): ``WorkflowRun.widget``
    passes ``WorkflowRun.keep_final_state`` there, so the poll that sees the end keeps it.
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
        on_final_state: Callable[[Mapping[str, Any]], Any] | None = None,
    ) -> None:
        self.poller = Poller(
            source,
            name,
            namespace,
            poll_interval=poll_interval,
            max_interval=max_interval,
            on_change=self._apply,
            on_stopped=self.update_displays,
            on_final_state=on_final_state,
        )
        self.ui_url = ui_url
        self.update_count = 0
        # what is shown: the main HTML and the log panel's; guarded by _shown_lock
        self._shown_lock = threading.Lock()
        self._page = Page("")
        self._page_html = ""  # self._page.html, made when first asked for
        self._graph = WorkflowGraph((), ())
        self._table: list[Mapping[str, Any]] = []  # the table's rows (entries and pending tasks)
        self._log_html = ""
        # one lock around rendering *and* assigning keeps an older render from overwriting a
        # newer one (the poll thread, action threads and the kernel's thread all render)
        self._apply_lock = threading.Lock()
        # IPython DisplayHandles of the places this view is shown (see attach_display), and
        # the (html, log html) they were last sent with
        self._display_handles: list[Any] = []
        self._display_lock = threading.Lock()
        self._displayed: tuple[str, str] | None = None
        # the widgets (all None without ipywidgets): the main HTML, the log panel, the task
        # dropdown and the buttons of BUTTONS
        self.html_widget: LivePage | None = None
        self.log_widget: ipywidgets.HTML | None = None
        self.task_select: ipywidgets.Dropdown | None = None
        self.buttons: dict[str, ipywidgets.Button] = {}
        self.widget: ipywidgets.VBox | None = None
        if widgets is not False:
            self._build_widgets(required=widgets is True)
        self._apply()
        self.update_count = 0  # the first render is the initial value, not an update

    # -- the poller's state ---------------------------------------------------------------------

    @property
    def source(self) -> WorkflowSource:
        return self.poller.source

    @property
    def name(self) -> str:
        return self.poller.name

    @property
    def namespace(self) -> str | None:
        return self.poller.namespace

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The task rows of the last successful poll (see :func:`hera_magics.status.task_rows`)."""
        return self.poller.rows

    @property
    def summary(self) -> dict[str, Any]:
        return self.poller.summary

    @property
    def phase(self) -> str:
        return self.poller.phase

    @property
    def workflow(self) -> dict[str, Any] | None:
        """The workflow JSON of the last successful poll (only the poller's ``TABLE_FIELDS``)."""
        return self.poller.workflow

    @property
    def notice(self) -> str | None:
        """``reconnecting…``, the reason polling stopped, an action's outcome — or ``None``."""
        return self.poller.notice

    @property
    def log_tails(self) -> dict[str, str]:
        """Pod name -> the last lines of that failed pod's log (the poller's ``TABLE_TAIL_LINES``)."""
        return self.poller.log_tails

    @property
    def polling(self) -> bool:
        """True while the background poller runs."""
        return self.poller.polling

    @property
    def poll_count(self) -> int:
        return self.poller.poll_count

    # -- what is shown --------------------------------------------------------------------------

    @property
    def html(self) -> str:
        """The HTML shown now (header, progress, graph, timeline, table, log tails)."""
        with self._shown_lock:
            if not self._page_html:
                self._page_html = self._page.html
            return self._page_html

    @property
    def page(self) -> Page:
        """What is shown now, as the parts the live widget updates one by one."""
        with self._shown_lock:
            return self._page

    @property
    def graph(self) -> WorkflowGraph:
        """The graph shown now (see :func:`.graph.workflow_graph`)."""
        with self._shown_lock:
            return self._graph

    @property
    def log_html(self) -> str:
        """The HTML of the log panel (empty until a log is asked for)."""
        with self._shown_lock:
            return self._log_html

    @property
    def text(self) -> str:
        """The status as a plain-text table."""
        state = self.poller.state()
        with self._shown_lock:
            rows = list(self._table)
        return render_text(state.summary, rows, notice=state.notice, log_tails=state.log_tails)

    # -- polling and actions (the poller's) -----------------------------------------------------

    def poll_once(self) -> bool:
        """Poll once in this thread and update the view; True if what is shown changed."""
        return self.poller.poll_once()

    def start(self) -> None:
        """Poll in a daemon thread until a final phase, a fatal error or :meth:`stop`."""
        self.poller.start()

    def stop(self) -> None:
        """Stop polling (the workflow itself goes on; see :meth:`stop_workflow` for that)."""
        self.poller.stop()

    def wait_until_stopped(self, timeout: float | None = None) -> bool:
        """Block until the poller has stopped; False if it still runs after ``timeout`` s."""
        return self.poller.wait_until_stopped(timeout)

    def refresh(self) -> None:
        """Poll now: wake the running poller, or start it again if it had stopped."""
        self.poller.refresh()

    def stop_workflow(self) -> bool:
        """Ask Argo to stop the workflow (exit handlers still run); False if it refused."""
        return self.poller.stop_workflow()

    def terminate_workflow(self) -> bool:
        """Ask Argo to terminate the workflow (nothing else runs); False if it refused."""
        return self.poller.terminate_workflow()

    def retry_workflow(self) -> bool:
        """Ask Argo to retry the failed workflow and poll again; False if it refused."""
        return self.poller.retry_workflow()

    def select(self, key: str) -> str:
        """Show what a click on node or row ``key`` shows, in the log panel, and return its HTML:
        a task's log tail (a failed task's traceback), a map's or group's items with the
        tracebacks of the first failed ones, or that the task has not started yet."""
        with self._shown_lock:
            graph, table = self._graph, list(self._table)
        rows = {str(row["key"]): row for row in table}
        items = {str(item["key"]): item for row in table for item in row.get("items") or ()}
        node = graph.by_key.get(key)
        if node is not None and node.kind == GROUP_ENTRY:
            members = [rows[member] for member in node.members if member in rows]
            detail = self._items_detail(f"{node.label} ×{node.total}", members)
        elif key in rows and rows[key].get("kind") == "map":
            detail = self._items_detail(entry_summary(rows[key]), list(rows[key].get("items") or ()))
        elif key in rows or key in items:
            row = rows.get(key) or items[key]
            detail = render_task_detail_html(row, self.poller.read_tail(row))
        else:
            detail = render_task_detail_html({"task": key, "phase": "Pending"}, None)
        with self._apply_lock:
            with self._shown_lock:
                self._log_html = detail
            if self.log_widget is not None and self.log_widget.value != detail:
                self.log_widget.value = detail
            if self.task_select is not None and key in self.task_select.options and self.task_select.value != key:
                self.task_select.value = key
        return detail

    def _items_detail(self, title: str, items: list[Mapping[str, Any]]) -> str:
        failed = [item for item in items if item.get("phase") in argo.FAILED_PHASES][:DETAIL_TAILS]
        tails = {str(item["key"]): tail for item in failed if (tail := self.poller.read_tail(item)) is not None}
        return render_items_detail_html(title, items, tails)

    def show_log(self, task: str) -> str:
        """Fetch ``task``'s full log (its last lines, see the poller's ``MAX_LOG_LINES``), show it
        in the log panel and return it."""
        log = self.poller.read_log(task)
        log_html = render_log_html(log.task, log.pod_name, log.text, note=log.note)
        with self._apply_lock:
            with self._shown_lock:
                self._log_html = log_html
            if self.log_widget is not None and self.log_widget.value != log_html:
                self.log_widget.value = log_html
        return log.text

    # -- displays -------------------------------------------------------------------------------

    def attach_display(self, handle: Any) -> None:
        """Remember a display of this view (``display(view, display_id=True)`` returns it).

        When the poller stops (a final phase, an error, :meth:`stop`) and when
        :meth:`update_displays` is called, each display is sent again with the latest state:
        front ends without widgets (nbconvert, papermill, plain IPython) keep only what was
        sent, so the saved notebook shows the end instead of the first poll.
        """
        if handle is None:
            return
        with self._display_lock:
            if all(handle is not known for known in self._display_handles):
                self._display_handles.append(handle)
            self._displayed = (self.html, self.log_html)

    def update_displays(self) -> None:
        """Send every attached display again with the current state (never raises).

        A widget front end renders the same widget model again in place: no duplicate. In a
        terminal an unchanged state is not printed again; through a kernel it is always sent,
        since a front end drops display updates that arrive between two cells (nbclient does).
        """
        if self.html_widget is not None:
            self.html_widget.settle()  # saved widget state shows the latest page
        with self._display_lock:
            handles = list(self._display_handles)
            state = (self.html, self.log_html)
            if not handles or (state == self._displayed and not _display_updates_may_be_dropped()):
                return
            self._displayed = state
            for handle in handles:
                try:
                    handle.update(self)
                except Exception:  # a front end gone away must not break polling
                    logger.debug("could not update a display of %s", self.name, exc_info=True)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The widget view, plus the latest state as HTML and text for front ends without it."""
        bundle: dict[str, Any] = {}
        if self.widget is not None:
            bundle.update(self.widget._repr_mimebundle_() or {})
        bundle["text/html"] = self.html + self.log_html
        bundle["text/plain"] = self.text
        return bundle

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text

    def close(self) -> None:
        """Stop polling and close the widgets (their front-end views disappear)."""
        with self._display_lock:
            self._display_handles.clear()  # a closed widget is not displayed again
        self.stop()
        if self.widget is None:
            return
        stack: list[Any] = [self.widget]
        while stack:  # the box and everything inside it
            item = stack.pop()
            stack.extend(getattr(item, "children", ()))
            item.close()

    # -- rendering into the widgets -------------------------------------------------------------

    def _apply(self) -> bool:
        """Render the poller's state and push to the widgets only what differs; True if the
        HTML changed. The poller calls it (``on_change``) whenever its state changed."""
        with self._apply_lock:
            state = self.poller.state()
            entries = [dict(entry) for entry in state.entries]
            graph = workflow_graph({"spec": state.spec}, entries=entries, edges=list(state.edges))
            page = status_page(
                state.summary,
                graph,
                entries,
                ui_url=self.ui_url,
                notice=state.notice,
                notice_level=state.notice_level,
                log_tails=state.log_tails,
            )
            with self._shown_lock:
                changed = page != self._page
                self._graph = graph
                self._table = table_rows(graph, graph_layout(graph), entries)
                if changed:
                    self._page = page
                    self._page_html = ""
                    self.update_count += 1
            if self.widget is not None:
                self._update_widgets(state, page)
            return changed

    def _update_widgets(self, state: PollState, page: Page) -> None:
        """Assign the widgets' values; call with ``_apply_lock`` held."""
        assert self.widget is not None and self.html_widget is not None
        assert self.task_select is not None
        tasks = tuple(str(entry["key"]) for entry in state.entries)
        phase = str(state.summary["phase"])
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
            self.html_widget.show(page)
            if tuple(self.task_select.options) != tasks:
                selected = self.task_select.value
                self.task_select.options = tasks
                if selected not in tasks:
                    # Offer the task one most likely wants to read: the first that failed.
                    failed = [str(entry["key"]) for entry in status.failed_rows(state.entries)]
                    selected = failed[0] if failed else (tasks[0] if tasks else None)
                if self.task_select.value != selected:
                    self.task_select.value = selected
            for key, disabled in wanted_disabled.items():
                if self.buttons[key].disabled != disabled:
                    self.buttons[key].disabled = disabled

    def _build_widgets(self, *, required: bool) -> None:
        try:
            import ipywidgets as widgets
        except ImportError:
            if required:
                raise
            return
        from .live import LivePage

        self.html_widget = LivePage(on_select=self._on_select)
        self.log_widget = widgets.HTML()
        self.task_select = widgets.Dropdown(
            options=(), description="task", layout=widgets.Layout(width="260px")
        )
        handlers = {
            "logs": self._on_logs,
            "stop": self._on_stop,
            "terminate": self._on_terminate,
            "retry": self._on_retry,
            "refresh": self._on_refresh,
        }
        for key, (label, tooltip, style) in BUTTONS.items():
            button = widgets.Button(
                description=label,
                tooltip=tooltip,
                button_style=style,
                layout=widgets.Layout(width="auto"),
            )
            button.on_click(handlers[key])
            self.buttons[key] = button
        controls = widgets.HBox([self.task_select, *self.buttons.values()])
        self.widget = widgets.VBox([self.html_widget, controls, self.log_widget])

    # Button handlers run on the kernel's thread: anything that talks to the server goes to a
    # short daemon thread, so a slow server never freezes the notebook.
    def _in_background(self, work: Callable[[], Any]) -> None:
        threading.Thread(target=work, name="hera-magics-action", daemon=True).start()

    def _on_logs(self, _button: Any) -> None:
        task = self.task_select.value if self.task_select is not None else None
        if task and any(row["task"] == task for row in self.rows):
            self._in_background(lambda: self.show_log(task))
        elif task:  # a map: its items
            self._in_background(lambda: self.select(task))

    def _on_select(self, key: str) -> None:
        self._in_background(lambda: self.select(key))

    def _on_stop(self, _button: Any) -> None:
        self._in_background(self.stop_workflow)

    def _on_terminate(self, _button: Any) -> None:
        self._in_background(self.terminate_workflow)

    def _on_retry(self, _button: Any) -> None:
        self._in_background(self.retry_workflow)

    def _on_refresh(self, _button: Any) -> None:
        self.refresh()


__all__ = ["StatusView"]
