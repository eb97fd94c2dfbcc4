"""``WorkflowRun``: the handle on a submitted workflow, and what it produced.

A ``WorkflowRun`` names one workflow on one server (name, namespace, client) and asks the server
whenever it needs the current state — except once it has seen the workflow finished, because a
finished workflow does not change until ``retry()``. Everything here works from plain Python;
the magics and the status view are thin layers over it.

What outlives the kernel — the remembered runs (``runs.json``) and the final state kept when a
run ends (its JSON and each task's log tail) — is read and written by :mod:`hera_magics.history`;
this module decides *when*: ``submit()`` remembers the run before its create request is sent
(by its submission label; the name follows when the answer comes), and ``keep_final_state()``
keeps its end the first time it is seen (by ``refresh()``, ``wait()`` or a poll of the status
view). Runs are remembered by their server's identity, so a restarted local engine (another port)
still has them.

Ctrl-C never stops a workflow. While waiting (``wait()``) it stops waiting and says how to stop
the workflow (:func:`detached_message`); while a create is pending it says whether the server
created the workflow (:mod:`hera_magics.submission`).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from . import submission
from .argo import FINAL_PHASES, NOT_RUN_PHASES, SUCCEEDED
from .arguments import Arguments
from .errors import (
    ArgoServerError,
    ConnectionFailedError,
    HeraMagicsError,
    NotFoundError,
    ServerError,
    TaskResultError,
    WorkflowFailed,
    WorkflowInterrupted,
    WorkflowTimeout,
)
from .history import (
    KEPT_LOG_LINES,
    end_of,
    find_run,
    forget_final_state,
    load_final_state,
    load_log_tail,
    save_final_state,
    save_log_tail,
)
from .results import (
    argo_result,
    data_node_name,
    failure,
    find_task,
    first_item_name,
    is_data_volume_task,
    log_tail,
    map_log,
    map_result,
    node_of,
    require_succeeded,
    returned_value,
    template_of,
)
from .status import MAP_ENTRY, task_rows

if TYPE_CHECKING:  # pragma: no cover - imports for type checkers only
    from .client import ArgoClient
    from .view.widget import StatusView

logger = logging.getLogger(__name__)

PHASE_FIELDS = (
    "metadata.name,metadata.namespace,status.phase,status.message,status.progress,"
    "status.startedAt,status.finishedAt"
)
"""What ``wait()`` and ``phase`` ask for while a workflow runs (Argo's ``fields`` filter): a few
bytes, not the nodes. The status table asks for more: ``view.poller.TABLE_FIELDS``."""

MAX_POLL_FAILURES = 5
"""Consecutive failed polls (each already retried by the client) before ``wait()`` gives up."""

MIN_POLL_SECONDS = 0.25
"""The shortest pause between two polls of ``wait()`` / ``wait_for_pod()``: a smaller
``poll_interval`` (0 included) is raised to it, so a waiting notebook asks at most 4 times a second."""

STOP_LINE = "run.stop()"

KEPT_LOG_NOTE = "(kept when the run ended; the workflow is gone from the server)\n"


def format_seconds(seconds: float) -> str:
    """``90s`` or ``2.5 min``, for messages."""
    return f"{seconds:g}s" if seconds < 120 else f"{seconds / 60:.1f} min"


def detached_message(name: str, how_to_stop: str = STOP_LINE) -> str:
    """What Ctrl-C while waiting says: waiting stopped, the workflow did not."""
    return f"Ctrl-C: stopped waiting; workflow {name} goes on running on the server. To stop it: {how_to_stop}"


def _check_client(check: Arguments, client: Any) -> "ArgoClient":
    from .client import ArgoClient

    return check.instance("client", client, ArgoClient, what="an ArgoClient")  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# the handle


class WorkflowRun:
    """A workflow submitted to an Argo Server (or the local engine), and what it produced.

    Make one with ``WorkflowRun.submit(client, workflow)`` (create it and remember it),
    ``WorkflowRun.attach(client, name)`` (a workflow that exists, e.g. after a kernel restart),
    or ``WorkflowRun(client, name, namespace)``.
    """

    def __init__(
        self,
        client: "ArgoClient",
        name: str,
        namespace: str | None = None,
        *,
        workflow: Any = None,
        data: dict[str, Any] | None = None,
        submitted_at: str | None = None,
    ) -> None:
        check = Arguments("WorkflowRun")
        _check_client(check, client)
        check.workflow_name("name", name)
        check.namespace("namespace", namespace, optional=True)
        if workflow is not None and not callable(getattr(workflow, "to_dict", None)):
            raise check.wrong_type("workflow", workflow, "the Hera Workflow that was submitted, or None")
        check.mapping("data", data, optional=True)
        check.text("submitted_at", submitted_at, optional=True)
        namespace = namespace or ((data or {}).get("metadata") or {}).get("namespace")
        namespace = namespace or client.config.namespace
        if not namespace:
            raise HeraMagicsError(
                f"no namespace for workflow {name}",
                hint="set ARGO_NAMESPACE in .env and re-run %argo_env, or pass namespace=...",
            )
        self.client = client
        self.name = name
        self.namespace: str = namespace
        self.submitted_at = submitted_at
        self._workflow = workflow
        self._widget: StatusView | None = None
        self._data: dict[str, Any] | None = None
        self._data_is_final = False  # the last *full* answer showed a finished workflow
        self._phase: str | None = None
        # the end (phase, finish time) whose state and log tails are on disk, if any
        self._kept: tuple[Any, Any] | None = None
        self.gone_from_server = False  # the server forgot it; we show what was kept
        # where this notebook sees the workflow's data volume (--data-volume), if it has one
        self.data_folder: Path | None = None
        if data is not None:
            self._store(data)

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        client: "ArgoClient",
        workflow: Any,
        *,
        namespace: str | None = None,
        remember: bool = True,
    ) -> "WorkflowRun":
        """Create ``workflow`` (a workflow dict, or a Hera ``Workflow``) and return its run.

        The run is remembered in ``runs.json`` unless ``remember=False`` — before the request is
        sent, by its submission label, so a Ctrl-C or a lost answer cannot leave a workflow that
        nobody remembers (``attach()`` without a name finds it). Ctrl-C while the create is
        pending raises ``WorkflowInterrupted`` saying whether the workflow was created
        (:mod:`hera_magics.submission` tells how).
        """
        check = Arguments("WorkflowRun.submit")
        _check_client(check, client)
        if not isinstance(workflow, Mapping) and not callable(getattr(workflow, "to_dict", None)):
            raise check.wrong_type("workflow", workflow, "a workflow dict or a Hera Workflow")
        check.namespace("namespace", namespace, optional=True)
        check.flag("remember", remember)
        return submission.submit(cls, client, workflow, namespace=namespace, remember=remember)

    @classmethod
    def attach(
        cls, client: "ArgoClient", name: str | None = None, *, namespace: str | None = None
    ) -> "WorkflowRun":
        """The run of an existing workflow; without ``name``, the last one submitted to this server.

        Nothing is asked from the server yet; ``refresh()`` (or any state) does that, and
        raises ``NotFoundError`` if the workflow is gone. Only when the last submission's answer
        never came (Ctrl-C, a lost answer) is the server asked which workflow it made.
        """
        check = Arguments("WorkflowRun.attach")
        _check_client(check, client)
        check.workflow_name("name", name, optional=True)
        check.namespace("namespace", namespace, optional=True)
        if name is None:
            return submission.last_submitted(cls, client)
        record = find_run(name, namespace=namespace, server=submission.server_of(client))
        if record is None:
            return cls(client, name, namespace)
        return cls(client, record.name, record.namespace, submitted_at=record.submitted_at)

    # -- identity -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The workflow's page in the Argo UI."""
        return f"{self.client.config.host}workflows/{self.namespace}/{self.name}"

    @property
    def workflow(self) -> Any:
        """The Hera ``Workflow`` that was submitted (``None`` when re-attached or from a dict)."""
        return self._workflow

    # -- state --------------------------------------------------------------------------------

    def _store(self, data: dict[str, Any]) -> None:
        self._data = data
        phase = str((data.get("status") or {}).get("phase") or "")
        self._phase = phase
        self._data_is_final = phase in FINAL_PHASES

    def refresh(self) -> "WorkflowRun":
        """Fetch the whole workflow from the server now.

        Once the server has forgotten a workflow that ended (its TTL), the state kept on disk
        when it ended is used instead, so tasks, results and logs stay available.
        """
        try:
            data = self.client.get_workflow(self.name, namespace=self.namespace)
        except NotFoundError:
            kept = load_final_state(self.namespace, self.name)
            if kept is None:
                raise
            self.gone_from_server = True
            self._store(kept)
            return self
        self._store(data)
        if self._data_is_final:
            self.keep_final_state()
        return self

    def keep_final_state(self, seen: Mapping[str, Any] | None = None) -> None:
        """Keep the ended workflow and each task's log tail on disk (once), before a TTL deletes them.

        Nothing is fetched when that very end is on disk already (re-attaching to a finished run,
        another kernel kept it); otherwise only the last ``KEPT_LOG_LINES`` lines of each log are
        asked for. After a retry the run ends again, with another finish time, and is kept anew.

        ``seen`` is a final workflow a poll of the status view just saw (only its phase and
        finish time are read): the view calls this method from its poll thread through its
        ``on_final_state`` callback (see :attr:`widget`). When that end is on disk already —
        the view may be showing the kept state itself — nothing is asked of the server.
        """
        Arguments("WorkflowRun.keep_final_state").mapping("seen", seen, optional=True)
        if self.gone_from_server:
            return
        if self._data_is_final and self._kept is not None and self._kept == end_of(self._data):
            return
        if seen is not None and (end_of(seen) == self._kept or self._kept_on_disk(end_of(seen))):
            return
        data = self._data if self._data_is_final else None
        if data is None:
            data = self.client.get_workflow(self.name, namespace=self.namespace)
            if str((data.get("status") or {}).get("phase") or "") not in FINAL_PHASES:
                return
            self._store(data)
        end = end_of(data)
        if self._kept == end or self._kept_on_disk(end):
            return  # kept already: by this kernel before a restart, or by another one
        self._kept = end
        for row in task_rows(data):
            if not row.get("pod_name") or row["phase"] in NOT_RUN_PHASES:
                continue
            try:
                lines = self._log_lines(row["pod_name"], tail_lines=KEPT_LOG_LINES)
            except ArgoServerError as error:
                logger.info("could not keep the log of %s/%s: %s", self.name, row["task"], error.message)
                continue
            save_log_tail(self.namespace, self.name, row["task"], "\n".join(lines[-KEPT_LOG_LINES:]))
        save_final_state(self.namespace, self.name, data)

    def _kept_on_disk(self, end: tuple[Any, Any] | None) -> bool:
        """True when ``end`` is the end kept on disk (then remembered, so the file is read once)."""
        if end is not None and end_of(load_final_state(self.namespace, self.name)) == end:
            self._kept = end
            return True
        return False

    def _forget_kept_state(self) -> None:
        """The run goes on again (a retry): what was kept describes an end that is no more."""
        self._kept = None
        forget_final_state(self.namespace, self.name)

    def _current(self) -> dict[str, Any]:
        """The latest workflow JSON: fetched unless we hold it finished already."""
        if self._data is None or not self._data_is_final:
            self.refresh()
        assert self._data is not None
        return self._data

    @property
    def data(self) -> dict[str, Any]:
        """The workflow as the server last sent it (raw JSON)."""
        return self._current()

    @property
    def phase(self) -> str:
        """The workflow's phase now: Pending, Running, Succeeded, Failed or Error.

        Asks the server (for the phase only) unless the workflow is known to be finished.
        A workflow the controller has not picked up yet is ``Pending``.
        """
        if not self._data_is_final:
            try:
                answer = self.client.get_workflow(
                    self.name, fields=PHASE_FIELDS, namespace=self.namespace
                )
            except NotFoundError:
                self.refresh()  # the kept final state, or NotFoundError
                return self._phase or "Pending"
            self._phase = str((answer.get("status") or {}).get("phase") or "")
        return self._phase or "Pending"

    @property
    def done(self) -> bool:
        """True once the workflow has finished (Succeeded, Failed or Error)."""
        return self.phase in FINAL_PHASES

    def tasks(self) -> list[dict[str, Any]]:
        """One row per task in DAG order (see ``hera_magics.status.task_rows`` for the keys)."""
        return task_rows(self._current())

    # -- waiting ------------------------------------------------------------------------------

    def wait(self, timeout: float | None = None, poll_interval: float = 2.0) -> "WorkflowRun":
        """Block until the workflow finishes; return the run if it Succeeded.

        Raises ``WorkflowFailed`` (its message lists each failed task with the end of its log —
        the Python traceback) when it ends Failed or Error, and ``WorkflowTimeout`` (a
        ``TimeoutError``) after ``timeout`` seconds; the workflow keeps running then. A phase
        that is empty or ``Pending`` is not finished. Polls start quickly and slow down to
        ``poll_interval`` seconds (at least ``MIN_POLL_SECONDS``, 0.25); a few failed polls in a
        row (the client has retried each) are tolerated.

        Ctrl-C stops *waiting*, never the workflow: ``WorkflowInterrupted`` says it goes on and
        how to stop it (``run.stop()``).
        """
        check = Arguments("WorkflowRun.wait")
        check.number("timeout", timeout, optional=True, what="a number of seconds or None")
        poll_interval = max(MIN_POLL_SECONDS, check.number("poll_interval", poll_interval, what="a number of seconds"))
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                self._wait_until_final(deadline, timeout, poll_interval)
                self.refresh()
                if self._phase in FINAL_PHASES:  # else someone retried it meanwhile
                    break
            self._show_end_in_widget()
            if self._phase == SUCCEEDED:
                return self
            failed = self._failure()
        except KeyboardInterrupt:
            raise WorkflowInterrupted(detached_message(self.name), workflow_name=self.name, run=self) from None
        raise failed

    def _show_end_in_widget(self) -> None:
        """Bring the status view to the end and re-send its displays.

        Without a widget front end (nbconvert, papermill, plain IPython) a display shows only
        what it was when displayed; re-sending it from here, the cell that waited, makes the
        saved notebook show the final table.
        """
        view = self._widget
        if view is None:
            return
        try:
            view.poll_once()
            view.update_displays()
        except Exception:  # a display problem must never hide the workflow's outcome
            logger.exception("could not update the status display of %s", self.name)

    def _wait_until_final(
        self, deadline: float | None, timeout: float | None, poll_interval: float
    ) -> None:
        """Poll the phase until it is final or ``deadline`` (``time.monotonic()``) has passed."""
        interval = min(0.25, poll_interval)
        failures = 0
        last: Mapping[str, Any] = {}
        while True:
            try:
                last = self.client.get_workflow(
                    self.name, fields=PHASE_FIELDS, namespace=self.namespace
                )
                failures = 0
            except (ServerError, ConnectionFailedError) as error:
                failures += 1
                logger.info(
                    "polling %s failed (%d in a row): %s", self.name, failures, error.message
                )
                if failures >= MAX_POLL_FAILURES:
                    raise
            status = last.get("status") or {}
            self._phase = str(status.get("phase") or "")
            if self._phase in FINAL_PHASES:
                return
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                progress = f", progress {status['progress']}" if status.get("progress") else ""
                raise WorkflowTimeout(
                    f"workflow {self.name} has not finished after {format_seconds(timeout or 0)} "
                    f"(phase {self._phase or 'Pending'}{progress}); it keeps running on the server",
                    hint="wait again with run.wait(), or stop it with run.stop()",
                )
            pause = interval if deadline is None else min(interval, max(0.0, deadline - now))
            time.sleep(pause)
            interval = min(poll_interval, interval * 2)

    def _failure(self) -> WorkflowFailed:
        """The ``WorkflowFailed`` for a finished, unsuccessful workflow (fetches log tails)."""
        return failure(self, self._current(), self._phase or "Failed", self._failed_log_tail)

    def _failed_log_tail(self, row: Mapping[str, Any]) -> str:
        """The end of a failed task's log (kept on disk too); never raises for a server error."""
        if not row.get("pod_name"):
            return "(no log: the task never got a pod)"
        try:
            # The traceback is at the end: the last lines are enough (keep_final_state kept them too).
            lines = self._log_lines(row["pod_name"], tail_lines=KEPT_LOG_LINES)
        except ArgoServerError as error:
            saved = load_log_tail(self.namespace, self.name, row["task"])
            if saved is None:
                return f"(log not available: {error.message})"
            lines = saved.splitlines()
        return log_tail(lines) if lines else "(the log is empty)"

    # -- tasks, logs and results --------------------------------------------------------------

    def _row(self, task: str, workflow: Mapping[str, Any]) -> dict[str, Any]:
        """The row of ``task`` (either spelling) or a map's entry (kind ``map``), or a clear error."""
        return find_task(workflow, task, name=self.name, phase=self._phase)

    def fetch(self) -> dict[str, Any]:
        """The whole workflow JSON, fetched from the server now (``data`` may answer from what
        it holds; this never does). Once the server forgot the run: the state kept on disk."""
        self.refresh()
        assert self._data is not None
        return self._data

    def wait_for_pod(self, task: str, poll_seconds: float = 0.5) -> str:
        """The pod name of ``task`` (either spelling) once it has one, asking every
        ``poll_seconds``: ``%argo_logs NAME TASK --follow`` on a task that has not started yet.

        Raises ``TaskResultError`` when the task will never have a pod (it did not run, it
        ended without one, the workflow ended first) and ``UnknownTaskError`` for a name the
        workflow does not have. ``poll_seconds`` is at least ``MIN_POLL_SECONDS``.
        """
        check = Arguments("WorkflowRun.wait_for_pod")
        check.text("task", task)
        poll_seconds = max(MIN_POLL_SECONDS, check.number("poll_seconds", poll_seconds, what="a number of seconds"))
        while True:
            workflow = self.fetch()
            try:
                row: dict[str, Any] | None = self._row(task, workflow)
            except TaskResultError:  # declared in the DAG, no node yet
                row = None
            if row is not None and row.get("kind") == MAP_ENTRY:
                raise TaskResultError(
                    f"{row['label']} is a map: each of its {row['total']} items has a log of its own",
                    hint=f"follow one item: %argo_logs {self.name} '{first_item_name(row)}' --follow; "
                    f"run.logs({row['label']!r}) gives every item's log",
                )
            if row is not None and row.get("pod_name"):
                return str(row["pod_name"])
            if row is not None and row["phase"] in NOT_RUN_PHASES:
                raise TaskResultError(
                    f"task {row['task']} did not run ({row.get('message') or row['phase']}), so it has no log"
                )
            if row is not None and row["phase"] in FINAL_PHASES:  # ended without ever getting a pod
                raise TaskResultError(
                    f"task {row['task']} ended {row['phase']} without a pod "
                    f"({row.get('message') or 'no message'}), so it has no log"
                )
            if self._phase in FINAL_PHASES:
                raise TaskResultError(
                    f"task {row['task'] if row else task} never started: workflow {self.name} ended "
                    f"{self._phase} before it did, so it has no log",
                    hint=f"see its tasks with %argo_status {self.name}",
                )
            time.sleep(poll_seconds)

    def _log_lines(self, pod_name: str | None, *, tail_lines: int | None = None) -> list[str]:
        options: dict[str, Any] = {"tail_lines": tail_lines} if tail_lines is not None else {}
        entries = self.client.workflow_logs(
            self.name, pod_name=pod_name, namespace=self.namespace, **options
        )
        return [entry["content"] for entry in entries]

    def logs(self, task: str | None = None) -> str:
        """The log of one task (``task``), or of the whole workflow with ``task | `` prefixes.

        After the workflow was deleted from the server (its TTL), the log tails kept when it
        ended are returned instead, under a line that says so.
        """
        Arguments("WorkflowRun.logs").text("task", task, optional=True)
        text, kept = self._log_text(task)
        return KEPT_LOG_NOTE + text if kept else text

    def _log_text(self, task: str | None) -> tuple[str, bool]:
        """(the log, whether it comes from what was kept on disk)."""
        try:
            workflow = self._current()
            if not self.gone_from_server:
                return self._server_log(task, workflow), False
        except NotFoundError:
            if load_final_state(self.namespace, self.name) is None:
                raise
            # The server forgot it (TTL) since we last looked: use what was kept.
            self.refresh()
            workflow = self._current()
        return self._kept_logs(task, workflow), True

    def _server_log(self, task: str | None, workflow: Mapping[str, Any]) -> str:
        if task is None:
            task_of_pod = {
                row["pod_name"]: row["task"] for row in task_rows(workflow) if row["pod_name"]
            }
            entries = self.client.workflow_logs(self.name, namespace=self.namespace)
            return "\n".join(
                f"{task_of_pod.get(entry['podName'], entry['podName'])} | {entry['content']}"
                for entry in entries
            )
        row = self._row(task, workflow)
        if row.get("kind") == MAP_ENTRY:
            return map_log(row, lambda item: "\n".join(self._log_lines(item["pod_name"])))
        if row["phase"] in NOT_RUN_PHASES:
            raise TaskResultError(
                f"task {row['task']} did not run ({row['message']}), so it has no log"
            )
        if not row.get("pod_name"):
            raise TaskResultError(
                f"task {row['task']} has not started yet (phase {row['phase']}), so it has no log",
                hint="wait with run.wait(), or watch run.widget",
            )
        return "\n".join(self._log_lines(row["pod_name"]))

    def _kept_logs(self, task: str | None, workflow: Mapping[str, Any]) -> str:
        """Logs after the server forgot the workflow: the tails kept when it ended (a map's: its items')."""
        found = self._row(task, workflow) if task is not None else None
        if found is None:
            rows = task_rows(workflow)
        elif found.get("kind") == MAP_ENTRY:
            rows = list(found["items"])
        else:
            saved = load_log_tail(self.namespace, self.name, found["task"])
            if saved is not None:
                return saved
            rows = []
        parts = [f"{row['task']} | {line}" for row in rows
                 for line in (load_log_tail(self.namespace, self.name, row["task"]) or "").splitlines()]
        if not parts:
            raise NotFoundError(
                f"workflow {self.name} is gone from the server and no log was kept"
                + (f" for task {task}" if task else ""),
                hint="logs are kept when a run is seen ending (run.wait(), the widget, %argo_status)",
            )
        return "\n".join(parts)

    def result(self, task: str, stdout: bool = False) -> Any:
        """What ``task`` returned, JSON-decoded (a function cell's ``return`` value).

        With ``stdout=True``: what it printed (Argo's ``outputs.result``; when the server did not
        capture it, the task's log, which also holds what it wrote to stderr).

        A map (``train`` of ``train.map(lr=[...])``) gives the list a downstream task receives:
        its succeeded items' values in item order. When items failed, a ``keep_going=True`` map
        gives the others' values; any other map raises ``TaskResultError`` naming the failed
        items. One item answers to its own name, ``train(1:0.01)``, or ``train(1)``.
        """
        check = Arguments("WorkflowRun.result")
        check.text("task", task)
        check.flag("stdout", stdout)
        workflow = self._current()
        row = self._row(task, workflow)
        if row.get("kind") == MAP_ENTRY:
            return map_result(workflow, row, lambda item: self._value_of(workflow, item, stdout))
        require_succeeded(row)
        return self._value_of(workflow, row, stdout)

    def _value_of(self, workflow: Mapping[str, Any], row: Mapping[str, Any], stdout: bool) -> Any:
        """The value of a task that succeeded: what it returned, or printed (``stdout``)."""
        template = template_of(workflow, row.get("template") or "") or {}
        if stdout:
            printed = (node_of(workflow, row).get("outputs") or {}).get("result")
            if isinstance(printed, str):
                return printed
            return argo_result(self._log_text(row["task"])[0])
        if is_data_volume_task(template):
            return self._value_from_data_volume(workflow, row)
        return returned_value(workflow, row)

    def artifact(self, task: str, artifact: str, folder: str | os.PathLike[str] | None = None) -> bytes | Path:
        """The output artifact ``artifact`` of ``task``: the bytes of the file it saved, or, with
        ``folder``, the file or folder extracted there (its path). Read through the server's
        artifact route, so it works on a cluster and on the local engine alike."""
        from .artifacts import find_artifact, unpack

        check = Arguments("WorkflowRun.artifact")
        check.text("task", task)
        check.text("artifact", artifact)
        folder = check.path("folder", folder, optional=True)
        workflow = self._current()
        row = self._row(task, workflow)
        find_artifact(workflow, row, artifact)
        file_name, data = self.client.get_artifact(self.name, row["node_id"], artifact, namespace=self.namespace)
        return unpack(data, file_name, artifact, Path(folder) if folder is not None else None)

    def _value_from_data_volume(self, workflow: Mapping[str, Any], row: Mapping[str, Any]) -> Any:
        """A --data-volume task's return value: the file it wrote on the data volume."""
        from .pod.datafiles import load_value, return_value_path

        if self.data_folder is None:
            raise TaskResultError(
                f"task {row['task']} returned its value as a file on its data volume, which this notebook cannot see",
                hint="set HERA_MAGICS_DATA_FOLDER to where that volume is mounted here",
            )
        try:
            return load_value(str(self.data_folder), return_value_path(self.name, data_node_name(workflow, row)))
        except FileNotFoundError as error:
            raise TaskResultError(f"task {row['task']}: {error}") from None

    # -- actions ------------------------------------------------------------------------------

    def stop(self) -> "WorkflowRun":
        """Stop the workflow: running tasks are stopped, exit handlers still run."""
        self._store(self.client.stop_workflow(self.name, namespace=self.namespace))
        return self

    def terminate(self) -> "WorkflowRun":
        """Terminate the workflow at once (no exit handlers)."""
        self._store(self.client.terminate_workflow(self.name, namespace=self.namespace))
        return self

    def retry(self) -> "WorkflowRun":
        """Re-run the failed tasks of a Failed/Error workflow (the same workflow, in place)."""
        self._store(self.client.retry_workflow(self.name, namespace=self.namespace))
        self._data_is_final = False  # the answer may still show the old, final phase
        self._forget_kept_state()  # kept again when it ends again
        return self

    @property
    def widget(self) -> StatusView:
        """The status view of this run (``hera_magics.view.widget.StatusView``), made on first use.

        It polls through :class:`~hera_magics.view.source.RunSource` (the client, with the kept state behind it once
        the server forgot the run), and its ``on_final_state`` callback is
        :meth:`keep_final_state`: the first poll that sees the run ended keeps it on disk, from
        the view's poll thread, as ``wait()`` or ``refresh()`` would.
        """
        if self._widget is None:
            from .view.source import RunSource
            from .view.widget import StatusView

            self._widget = StatusView(
                RunSource(self),
                self.name,
                self.namespace,
                ui_url=self.url,
                on_final_state=self.keep_final_state,
            )
        return self._widget

    # -- display ------------------------------------------------------------------------------

    def _known_phase(self, unknown: str) -> str:
        """The last phase seen, without asking the server (a display must not block)."""
        if self._phase is None:
            return unknown
        return self._phase or "Pending"

    def __repr__(self) -> str:
        phase = self._known_phase("unknown")
        return f"WorkflowRun(name={self.name!r}, namespace={self.namespace!r}, phase={phase!r})"

    def _repr_html_(self) -> str:
        from .view.render import element, escape

        link = element("a", escape(self.name), href=self.url, target="_blank", rel="noopener")
        namespace = element("code", escape(self.namespace))
        phase = element("b", escape(self._known_phase("not fetched yet")))
        return element(
            "div", f"WorkflowRun {link} in namespace {namespace}: {phase}", class_="hera-magics-run"
        )


__all__ = [
    "KEPT_LOG_NOTE",
    "MAX_POLL_FAILURES",
    "MIN_POLL_SECONDS",
    "PHASE_FIELDS",
    "STOP_LINE",
    "WorkflowRun",
    "detached_message",
]
