"""The status view's background poll loop and the state it keeps (no ipywidgets here).

A :class:`Poller` asks a *source* — anything with the methods of :class:`WorkflowSource`,
normally ``hera_magics.client.ArgoClient`` — for one workflow, in a daemon thread so the kernel
stays usable, and keeps what it learnt: the task rows, the summary, a notice, and the log tails
of failed tasks (:class:`PollState`).

* Each poll asks only for :data:`TABLE_FIELDS` (the first one also for the DAG as written,
  :data:`STRUCTURE_FIELDS`). While nothing changes the wait between polls grows ×1.5 up to
  ``max_interval``; a change resets it to ``poll_interval``. A poll that cost much CPU (a
  workflow of thousands of nodes) makes the next wait longer (:data:`KERNEL_SHARE`).
* Polling stops by itself at a final phase (after the failed tasks' log tails are fetched), and
  on 401, 403 and 404 with the reason in the notice; the last state stays. Server hiccups (5xx,
  connection failures, HTML pages) show ``reconnecting…`` and polling goes on.
* Stop, terminate and retry are sent from here too, and any task's full log is read here.

Whoever builds a poller may give it three callbacks, each called in the thread that polled or
acted (the poll thread, a button's thread, or the caller of :meth:`Poller.poll_once`):

* ``on_change()`` after the state changed — the view renders it;
* ``on_stopped()`` when the poll thread ends — the view re-sends its displays; must not raise;
* ``on_final_state(workflow)`` after a poll answered with a final phase, before the rows are
  built. ``WorkflowRun.widget`` passes ``WorkflowRun.keep_final_state``, so the ended
  workflow and its log tails are kept on disk from the poll thread. A server error it raises
  counts as a failed poll (``reconnecting…``, and the next poll calls it again).

The token never reaches this module: it lives inside the source, and error texts are passed
through :func:`mask_credentials` before they are shown.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol

from .. import status
from ..errors import (
    ArgoServerError,
    AuthenticationError,
    ConnectionFailedError,
    HeraMagicsError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    UnexpectedResponseError,
)

logger = logging.getLogger(__name__)

TABLE_FIELDS = (
    "metadata.name,metadata.namespace,metadata.annotations,"
    "status.phase,status.startedAt,status.finishedAt,status.progress,status.message,status.nodes"
)
"""The only fields a poll of the status table asks for (Argo's ``fields`` filter, a prefix
match on dotted paths). ``wait()`` asks for fewer: ``hera_magics.run.PHASE_FIELDS``.

``metadata.annotations`` carries the pod-name format needed to find a task's log; the node map
cannot be narrowed further because its keys are node ids, unknown in advance.
"""

STRUCTURE_FIELDS = "spec.entrypoint,spec.onExit,spec.templates.name,spec.templates.dag"
"""Asked for once, with the first poll's :data:`TABLE_FIELDS`: the DAG as written (tasks,
dependencies, loops, conditions, exit handler), so the graph shows the tasks that have not
started yet. It cannot change while the workflow runs, so later polls do not ask for it."""

MAX_FETCHED_TAILS = 20
"""At most this many failed tasks' log tails are fetched by the poller (a map whose items fail
by the hundred must not cost as many requests); the others are read when one is chosen."""

TABLE_TAIL_LINES = 40
"""How many last lines of a failed task's log the table shows under its row."""

MAX_LOG_LINES = 5000
"""The full-log panel keeps at most this many last lines, so the browser stays responsive."""

BACKOFF_FACTOR = 1.5

KERNEL_SHARE = 0.1
"""The poll thread takes at most about this share of the kernel's time: after a poll that cost
``c`` seconds of CPU (parsing the answer, building rows and graph, rendering — all holding
Python's lock), the next one waits at least ``c / KERNEL_SHARE``. A 2,000-node workflow is then
polled a little less often instead of slowing the notebook down."""

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
EMPTY_LOG_MESSAGE = "(the log is empty)"
MAX_ERROR_TEXT = 300

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ServerError,
    ConnectionFailedError,
    UnexpectedResponseError,
)
"""Errors after which polling goes on (the server may be back at the next poll)."""

# A bearer or basic credential, in case a server or proxy echoes the Authorization header.
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/:=-]+")


class WorkflowSource(Protocol):
    """What the poller needs from a client: ``hera_magics.client.ArgoClient`` has these methods."""

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


@dataclass(frozen=True)
class PollState:
    """What the poller knows, as one consistent snapshot (treat its contents as read-only).

    ``summary`` and ``rows`` are those of :func:`hera_magics.status.summary` and
    :func:`hera_magics.status.task_rows`; ``notice`` is ``reconnecting…``, the reason polling
    stopped or an action's outcome (``notice_level``: ``info``, ``warning`` or ``error``);
    ``log_tails`` maps a failed pod's name to the last :data:`TABLE_TAIL_LINES` of its log.
    ``entries`` and ``edges`` are :func:`hera_magics.status.task_graph`'s (a map is one entry);
    ``spec`` is the part of the workflow's spec that :data:`STRUCTURE_FIELDS` names (``{}``
    until known).
    """

    summary: Mapping[str, Any]
    rows: tuple[Mapping[str, Any], ...]
    notice: str | None
    notice_level: str
    log_tails: Mapping[str, str]
    entries: tuple[Mapping[str, Any], ...] = ()
    edges: tuple[tuple[str, str], ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskLog:
    """A task's log as read for the log panel: ``text``, and a ``note`` when it was cut."""

    task: str
    pod_name: str | None
    text: str
    note: str = ""


# --------------------------------------------------------------------------------------------
# pure helpers


def next_interval(current: float, *, changed: bool, base: float, maximum: float) -> float:
    """The wait before the next poll: ``base`` after a change, else ×1.5 up to ``maximum``."""
    if changed:
        return base
    return min(current * BACKOFF_FACTOR, maximum)


def mask_credentials(text: str) -> str:
    """``text`` with anything shaped like ``Bearer <token>`` masked (defence in depth: the
    client already redacts our own token, this catches any credential a proxy echoes)."""
    return _CREDENTIAL.sub(lambda match: f"{match.group(1)} …", text)


def describe_error(error: BaseException) -> str:
    """An error as one short line for a notice: credentials masked, at most 300 characters."""
    message = error.message if isinstance(error, HeraMagicsError) else str(error)
    text = mask_credentials(" ".join(str(message).split()))
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


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


# --------------------------------------------------------------------------------------------
# the poller


class Poller:
    """Keeps the state of workflow ``name`` fresh by polling ``source`` (see the module docstring).

    Call :meth:`start` to poll in a daemon thread, or :meth:`poll_once` to poll in the calling
    thread (tests, scripts). The state is read through :meth:`state` and the properties; it is
    guarded by a lock that is never held during a call to the server.
    """

    def __init__(
        self,
        source: WorkflowSource,
        name: str,
        namespace: str | None,
        *,
        poll_interval: float = 1.0,
        max_interval: float = 10.0,
        on_change: Callable[[], Any] | None = None,
        on_stopped: Callable[[], Any] | None = None,
        on_final_state: Callable[[Mapping[str, Any]], Any] | None = None,
    ) -> None:
        if poll_interval <= 0 or max_interval < poll_interval:
            raise ValueError("need 0 < poll_interval <= max_interval")
        self.source = source
        self.name = name
        self.namespace = namespace
        self.poll_interval = poll_interval
        self.max_interval = max_interval
        self.interval = poll_interval
        self.poll_count = 0
        self.on_change = on_change
        self.on_stopped = on_stopped
        self.on_final_state = on_final_state
        # the state; guarded by _state_lock, never held during network calls
        self._state_lock = threading.RLock()
        self._workflow: dict[str, Any] | None = None
        self._rows: list[dict[str, Any]] = []
        self._entries: list[dict[str, Any]] = []
        self._edges: list[tuple[str, str]] = []
        self._spec: dict[str, Any] | None = None  # None: not asked for successfully yet
        self._summary: dict[str, Any] = self._summarise(None)
        self._notice: str | None = None
        self._notice_level = "warning"
        self._notice_kind: str | None = None  # "poll" (errors) or "action" (button outcomes)
        self._log_tails: dict[str, str] = {}
        self._read_tails: dict[str, str] = {}  # tails read on demand (read_tail), not shown in the table
        self._halted = False  # a final phase or a fatal error was seen
        self._publish_lock = threading.Lock()
        self._published = self.state()  # what on_change was last told about
        # the loop; _poll_lock keeps polls from overlapping
        self._poll_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False
        self._stop_requested = False
        self._reset_interval = False
        self._start_count = 0
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    # -- state ----------------------------------------------------------------------------------

    def state(self) -> PollState:
        """A consistent snapshot of everything the view shows."""
        with self._state_lock:
            return PollState(
                summary=self._summary,
                rows=tuple(self._rows),
                notice=self._notice,
                notice_level=self._notice_level,
                log_tails=dict(self._log_tails),
                entries=tuple(self._entries),
                edges=tuple(self._edges),
                spec=self._spec or {},
            )

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
        """The workflow JSON of the last successful poll (only the :data:`TABLE_FIELDS`)."""
        with self._state_lock:
            return self._workflow

    @property
    def notice(self) -> str | None:
        """``reconnecting…``, the reason polling stopped, an action's outcome — or ``None``."""
        with self._state_lock:
            return self._notice

    @property
    def log_tails(self) -> dict[str, str]:
        """Pod name -> the last :data:`TABLE_TAIL_LINES` lines of that failed pod's log."""
        with self._state_lock:
            return dict(self._log_tails)

    @property
    def polling(self) -> bool:
        """True while the background poll thread runs."""
        with self._state_lock:
            return self._running

    # -- polling --------------------------------------------------------------------------------

    def poll_once(self) -> bool:
        """Fetch the workflow once and update the state; True if the state changed.

        Never raises: transient errors show ``reconnecting…``; 401/403/404 and other refusals
        stop polling with the reason, keeping the last state; anything unexpected (a bug) is
        logged with its traceback and shown. A final phase stops polling too, after
        ``on_final_state`` and after the failed tasks' log tails are fetched.
        """
        with self._poll_lock:
            self.poll_count += 1
            try:
                with self._state_lock:
                    fields = TABLE_FIELDS if self._spec is not None else f"{TABLE_FIELDS},{STRUCTURE_FIELDS}"
                workflow = self.source.get_workflow(self.name, fields=fields, namespace=self.namespace)
                phase = str((workflow.get("status") or {}).get("phase") or "")
                if self.on_final_state is not None and status.is_final(phase):
                    self.on_final_state(workflow)
                rows, entries, edges = status.task_view(workflow)
                summary = self._summarise(workflow)
                self._fetch_log_tails(rows)
            except Exception as error:  # every failure is shown; see _poll_failed for which stop
                self._poll_failed(error)
            else:
                with self._state_lock:
                    workflow_changed = rows != self._rows or summary != self._summary
                    if self._spec is None:
                        self._spec = dict(workflow.get("spec") or {})
                    self._workflow = workflow
                    self._rows = rows
                    self._entries = entries
                    self._edges = edges
                    self._summary = summary
                    # Recovered: "reconnecting…" and an old stop reason go away. An action's
                    # outcome ("stop requested", "retry failed: ...") stays until the workflow
                    # changes.
                    if self._notice_kind != "action" or workflow_changed:
                        self._notice = None
                        self._notice_kind = None
                    if status.is_final(summary["phase"]):
                        self._halted = True
            return self._publish()

    def _poll_failed(self, error: Exception) -> None:
        """Show why a poll failed; stop polling unless the error may pass (call in ``except``)."""
        if isinstance(error, TRANSIENT_ERRORS):
            self._set_notice(f"{RECONNECTING_MESSAGE} ({describe_error(error)})", "warning")
        elif isinstance(error, NotFoundError):
            with self._state_lock:
                seen_before = self._workflow is not None
            self._halt(NOT_FOUND_MESSAGE if seen_before else NEVER_FOUND_MESSAGE)
        elif isinstance(error, AuthenticationError):
            self._halt(f"{AUTHENTICATION_MESSAGE} ({describe_error(error)})")
        elif isinstance(error, PermissionDeniedError):
            self._halt(f"{PERMISSION_MESSAGE} ({describe_error(error)})")
        elif isinstance(error, ArgoServerError):
            self._halt(f"{STOPPED_MESSAGE}: {describe_error(error)}")
        else:  # a bug or an odd source: show it, stop, keep the trace in the log
            logger.exception("polling workflow %s failed", self.name)
            self._halt(f"{STOPPED_MESSAGE}: unexpected {type(error).__name__}: {describe_error(error)}")

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

    def _run(self) -> None:
        try:
            self._poll_until_stopped()
        finally:
            if self.on_stopped is not None:
                self.on_stopped()  # the end of polling: e.g. show the last state everywhere

    def _poll_until_stopped(self) -> None:
        # Every decision to end is taken under the state lock together with clearing
        # ``_running``, so a start() at that moment either keeps this thread going or starts a
        # new one — never neither.
        try:
            while True:
                with self._state_lock:
                    starts_before_poll = self._start_count
                cpu_before = time.thread_time()
                changed = self.poll_once()
                cost = time.thread_time() - cpu_before
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
                    interval = max(self.interval, cost / KERNEL_SHARE)
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
            self._set_notice(f"{verb} failed: {describe_error(error)}", "error", kind="action")
            self._publish()
            return False
        with self._state_lock:
            if forget_log_tails:
                self._log_tails.clear()
                self._read_tails.clear()
        self._set_notice(f"{verb} requested", "info", kind="action")
        self._publish()
        self.start()  # poll soon, and again after a final phase (a retry makes it Running)
        return True

    def read_log(self, task: str) -> TaskLog:
        """``task``'s full log (its last :data:`MAX_LOG_LINES` lines), or why there is none."""
        with self._state_lock:
            row = next((row for row in self._rows if row["task"] == task), None)
        if row is None:
            return TaskLog(task, None, f"no task named {task!r}")
        if not row.get("pod_name"):
            reason = row.get("message") or f"phase {row.get('phase')}"
            return TaskLog(task, None, f"this task ran no pod ({reason})")
        pod = str(row["pod_name"])
        try:
            lines, truncated = read_log_lines(
                self.source, self.name, pod_name=pod, namespace=self.namespace, max_lines=MAX_LOG_LINES
            )
        except HeraMagicsError as error:
            return TaskLog(task, pod, f"log unavailable: {describe_error(error)}")
        text = "\n".join(lines) if any(lines) else EMPTY_LOG_MESSAGE
        return TaskLog(task, pod, text, f"last {MAX_LOG_LINES} lines" if truncated else "")

    def read_tail(self, row: Mapping[str, Any]) -> str | None:
        """The last :data:`TABLE_TAIL_LINES` lines of ``row``'s log (kept with the failed tasks'
        tails, so asked once); ``None`` when the task ran no pod."""
        pod = row.get("pod_name")
        if not pod:
            return None
        with self._state_lock:
            known = self._log_tails.get(pod) or self._read_tails.get(pod)
        if known is not None:
            return known
        try:
            lines, _ = read_log_lines(
                self.source, self.name, pod_name=str(pod), namespace=self.namespace, max_lines=TABLE_TAIL_LINES
            )
        except HeraMagicsError as error:
            return f"log unavailable: {describe_error(error)}"
        tail = "\n".join(lines) if any(lines) else EMPTY_LOG_MESSAGE
        if status.is_final(str(row.get("phase"))):  # an ended task's log no longer changes
            with self._state_lock:
                self._read_tails[str(pod)] = tail
        return tail

    # -- internals ------------------------------------------------------------------------------

    def _publish(self) -> bool:
        """Tell ``on_change`` if the state differs from the last one published; True if so."""
        with self._publish_lock:
            state = self.state()
            changed = state != self._published
            self._published = state
        if changed and self.on_change is not None:
            self.on_change()
        return changed

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

    def _fetch_log_tails(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Fetch, once per failed pod, the tail of its log (the traceback); at most
        :data:`MAX_FETCHED_TAILS` of them (see :meth:`read_tail` for the others)."""
        for row in status.failed_rows(rows):
            pod = row.get("pod_name")
            with self._state_lock:
                if not pod or pod in self._log_tails:
                    continue
                if len(self._log_tails) >= MAX_FETCHED_TAILS:
                    return
            try:
                lines, _ = read_log_lines(
                    self.source,
                    self.name,
                    pod_name=str(pod),
                    namespace=self.namespace,
                    max_lines=TABLE_TAIL_LINES,
                )
                tail = "\n".join(lines) if any(lines) else EMPTY_LOG_MESSAGE
            except TRANSIENT_ERRORS:
                continue  # try again at the next poll
            except HeraMagicsError as error:
                tail = f"log unavailable: {describe_error(error)}"
            with self._state_lock:
                self._log_tails[str(pod)] = tail


__all__ = [
    "EMPTY_LOG_MESSAGE",
    "NEVER_FOUND_MESSAGE",
    "NOT_FOUND_MESSAGE",
    "PollState",
    "Poller",
    "MAX_FETCHED_TAILS",
    "RECONNECTING_MESSAGE",
    "STRUCTURE_FIELDS",
    "TABLE_FIELDS",
    "TABLE_TAIL_LINES",
    "TaskLog",
    "WorkflowSource",
    "describe_error",
    "mask_credentials",
    "next_interval",
]
