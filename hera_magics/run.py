"""``WorkflowRun``: the handle on a submitted workflow, and the runs we remember across restarts.

A ``WorkflowRun`` names one workflow on one server (name, namespace, client) and asks the server
whenever it needs the current state — except once it has seen the workflow finished, because a
finished workflow does not change until ``retry()``. Everything here works from plain Python;
the magics and the status widget are thin layers over it.

Remembered runs live in ``<state dir>/runs.json`` (mode 0600): name, namespace, host and the time
of submission, never a token, so ``%argo_status --last`` works after a kernel restart. Log tails
fetched when a run failed are kept in ``<state dir>/logs/<namespace>/<workflow>/<task>.log``, so a
traceback can still be shown after the workflow's TTL deleted it from the server.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from .errors import (
    ArgoServerError,
    ConflictError,
    ConnectionFailedError,
    HeraMagicsError,
    NotFoundError,
    ServerError,
    TaskResultError,
    UnknownTaskError,
    WorkflowFailed,
    WorkflowInterrupted,
    WorkflowTimeout,
)

from .capture import argo_name
from .capture import closest_names as close_matches
from .argo import FAILED_PHASES, FINAL_PHASES, NOT_RUN_PHASES
from .pod.contract import DATA_NODE_INPUT, DATA_VOLUME_NAME, RETURN_PARAMETER
from .state import locked, state_directory, write_private
from .status import task_rows

if TYPE_CHECKING:  # pragma: no cover - imports for type checkers only
    from .client import ArgoClient

logger = logging.getLogger(__name__)

POLL_FIELDS = (
    "metadata.name,metadata.namespace,status.phase,status.message,status.progress,"
    "status.startedAt,status.finishedAt"
)
"""What ``wait()`` and ``phase`` ask for while a workflow runs: a few bytes, not the nodes."""

MAX_POLL_FAILURES = 5
"""Consecutive failed polls (each already retried by the client) before ``wait()`` gives up."""

LOG_TAIL_LINES = 30
"""Lines of a failed task's log shown when no traceback is found in it."""

KEPT_LOG_LINES = 200
"""Lines of each task's log kept on disk when a run ends (pods and their logs go with the TTL)."""

MAX_TRACEBACK_LINES = 80
"""A traceback longer than this is cut from the top (the end says what went wrong)."""

MAX_REMEMBERED_RUNS = 200

MAX_RESULT_BYTES = 256 * 1024
"""Argo keeps at most the last 256 KiB of what a script printed as ``outputs.result``."""

TRACEBACK_START = "Traceback (most recent call last):"

KEPT_LOG_NOTE = "(kept when the run ended; the workflow is gone from the server)\n"


# --------------------------------------------------------------------------------------------
# pure helpers


def resolve_task_name(requested: str, available: Sequence[str]) -> str | None:
    """The task in ``available`` that ``requested`` means, or ``None``.

    Both spellings resolve: the Argo name (``hello-world``) and the Python identifier
    (``hello_world``).
    """
    if requested in available:
        return requested
    converted = argo_name(requested)
    if converted in available:
        return converted
    return None


def closest_names(requested: str, available: Iterable[str]) -> list[str]:
    """Up to three names of ``available`` that look like ``requested`` (for "did you mean")."""
    return close_matches(argo_name(requested), available)


def log_tail(lines: Sequence[str], max_lines: int = LOG_TAIL_LINES) -> str:
    """The part of a log that explains a failure.

    From the last ``Traceback (most recent call last):`` to the end when there is one (at most
    ``MAX_TRACEBACK_LINES`` lines, cut from the top), else the last ``max_lines`` lines.
    """
    start = None
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip() == TRACEBACK_START:
            start = index
            break
    if start is not None:
        tail = list(lines[start:])
        if len(tail) > MAX_TRACEBACK_LINES:
            tail = ["…"] + tail[-(MAX_TRACEBACK_LINES - 1):]
        return "\n".join(tail)
    tail = list(lines[-max_lines:]) if max_lines > 0 else []
    if len(lines) > len(tail):
        tail = ["…"] + tail
    return "\n".join(tail)


def decode_value(text: str) -> Any:
    """A returned value as Python: JSON if it parses, else the raw string."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def argo_result(text: str) -> str:
    """``text`` as Argo would keep it in ``outputs.result``: one trailing newline trimmed, then
    at most the last 256 KiB (a character cut in two at the start is dropped)."""
    if text.endswith("\n"):
        text = text[:-1]
    data = text.encode("utf-8")
    if len(data) <= MAX_RESULT_BYTES:
        return text
    return data[-MAX_RESULT_BYTES:].decode("utf-8", errors="ignore")


def _end_of(workflow: Mapping[str, Any] | None) -> tuple[Any, Any] | None:
    """How a workflow ended, ``(phase, finishedAt)``: a retried run ends again at another time."""
    if not workflow:
        return None
    status = workflow.get("status") or {}
    return (status.get("phase"), status.get("finishedAt"))


def public_host(host: str) -> str:
    """``host`` without any ``user:password@`` part, safe to write to disk."""
    parts = urlsplit(host)
    if "@" not in parts.netloc:
        return host
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def safe_path_part(text: str) -> str:
    """One file-name component from a name (Kubernetes names already are; this is a guard)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text) or "_"
    return "_" if cleaned in (".", "..") else cleaned


def format_seconds(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 120 else f"{seconds / 60:.1f} min"


# --------------------------------------------------------------------------------------------
# remembered runs


@dataclass(frozen=True)
class RememberedRun:
    """A run we submitted, as kept in ``runs.json``: enough to attach to it again."""

    name: str
    namespace: str
    host: str
    submitted_at: str  # RFC3339, UTC


def runs_file(directory: Path | None = None) -> Path:
    return (directory or state_directory()) / "runs.json"


def _read_runs(path: Path) -> list[RememberedRun]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable %s: %s", path, exc)
        return []
    runs = []
    for record in data.get("runs", []) if isinstance(data, dict) else []:
        try:
            runs.append(
                RememberedRun(
                    name=str(record["name"]),
                    namespace=str(record["namespace"]),
                    host=str(record["host"]),
                    submitted_at=str(record.get("submitted_at") or ""),
                )
            )
        except (KeyError, TypeError):
            continue
    return runs


def remember_run(
    name: str,
    namespace: str,
    host: str,
    submitted_at: str | datetime | None = None,
    *,
    directory: Path | None = None,
) -> RememberedRun:
    """Add a run to ``runs.json`` (newest last; the oldest are dropped beyond 200)."""
    if isinstance(submitted_at, datetime):
        submitted_at = submitted_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = RememberedRun(
        name=name,
        namespace=namespace,
        host=public_host(host),
        submitted_at=submitted_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    path = runs_file(directory)
    with locked(path.with_name(path.name + ".lock")):
        runs = [
            run
            for run in _read_runs(path)
            if (run.name, run.namespace, run.host) != (record.name, record.namespace, record.host)
        ]
        runs = (runs + [record])[-MAX_REMEMBERED_RUNS:]
        write_private(
            path, json.dumps({"version": 1, "runs": [asdict(run) for run in runs]}, indent=1)
        )
    return record


def remembered_runs(*, directory: Path | None = None) -> list[RememberedRun]:
    """Every remembered run, oldest first."""
    return _read_runs(runs_file(directory))


def last_run(host: str | None = None, *, directory: Path | None = None) -> RememberedRun | None:
    """The most recently submitted run (on ``host`` if given), or ``None``."""
    for run in reversed(remembered_runs(directory=directory)):
        if host is None or run.host == public_host(host):
            return run
    return None


def find_run(
    name: str,
    host: str | None = None,
    namespace: str | None = None,
    *,
    directory: Path | None = None,
) -> RememberedRun | None:
    """The newest remembered run called ``name`` (on ``host``/in ``namespace`` if given)."""
    for run in reversed(remembered_runs(directory=directory)):
        if run.name != name:
            continue
        if host is not None and run.host != public_host(host):
            continue
        if namespace is not None and run.namespace != namespace:
            continue
        return run
    return None


def log_tail_path(
    namespace: str, workflow: str, task: str, *, directory: Path | None = None
) -> Path:
    """``<state dir>/logs/<namespace>/<workflow>/<task>.log``."""
    folder = (directory or state_directory()) / "logs" / safe_path_part(namespace)
    return folder / safe_path_part(workflow) / f"{safe_path_part(task)}.log"


def save_log_tail(
    namespace: str, workflow: str, task: str, text: str, *, directory: Path | None = None
) -> None:
    """Keep a task's log tail on disk (mode 0600); failures to write are only logged."""
    try:
        write_private(log_tail_path(namespace, workflow, task, directory=directory), text)
    except OSError as exc:
        logger.warning("could not keep the log of %s/%s: %s", workflow, task, exc)


def load_log_tail(
    namespace: str, workflow: str, task: str, *, directory: Path | None = None
) -> str | None:
    try:
        return log_tail_path(namespace, workflow, task, directory=directory).read_text("utf-8")
    except OSError:
        return None


def final_state_path(namespace: str, workflow: str, *, directory: Path | None = None) -> Path:
    """``<state dir>/logs/<namespace>/<workflow>/workflow.json``: the workflow as it ended."""
    return log_tail_path(namespace, workflow, "x", directory=directory).parent / "workflow.json"


def load_final_state(namespace: str, workflow: str, *, directory: Path | None = None) -> dict[str, Any] | None:
    try:
        return json.loads(final_state_path(namespace, workflow, directory=directory).read_text("utf-8"))
    except (OSError, ValueError):
        return None


class KeptStateSource:
    """The client, as the status widget sees it: a workflow that ended is kept on disk (its JSON
    and every task's log tail), and served from there once the server forgets it (TTL, 404)."""

    def __init__(self, run: "WorkflowRun") -> None:
        self.run = run
        self.client = run.client

    def get_workflow(self, name: str, *, fields: str | None = None, namespace: str | None = None) -> dict[str, Any]:
        try:
            answer = self.client.get_workflow(name, fields=fields, namespace=namespace)
        except NotFoundError:
            kept = load_final_state(self.run.namespace, self.run.name)
            if kept is None:
                raise
            return kept
        if str((answer.get("status") or {}).get("phase") or "") in FINAL_PHASES:
            self.run.keep_final_state()
        return answer

    def workflow_logs(self, name: str, **options: Any) -> Iterator[dict[str, str]]:
        try:
            yield from self.client.workflow_logs(name, **options)
        except NotFoundError:
            pod_name = options.get("pod_name")
            kept = load_final_state(self.run.namespace, self.run.name) or {}
            task = next((row["task"] for row in task_rows(kept) if row.get("pod_name") == pod_name), None)
            text = load_log_tail(self.run.namespace, self.run.name, task) if task else None
            if text is None:
                raise
            for line in text.splitlines():
                yield {"content": line, "podName": pod_name or ""}

    def stop_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.client.stop_workflow(name, namespace=namespace)

    def terminate_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.client.terminate_workflow(name, namespace=namespace)

    def retry_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        answer = self.client.retry_workflow(name, namespace=namespace)
        self.run._forget_kept_state()
        return answer


# --------------------------------------------------------------------------------------------
# the handle


def _spec_task_names(workflow: Mapping[str, Any]) -> list[str]:
    """Task and step names declared in the workflow's spec (known before any node exists)."""
    names: list[str] = []
    for template in (workflow.get("spec") or {}).get("templates") or []:
        for task in ((template.get("dag") or {}).get("tasks")) or []:
            if task.get("name"):
                names.append(str(task["name"]))
        for group in template.get("steps") or []:
            for step in group or []:
                if isinstance(step, Mapping) and step.get("name"):
                    names.append(str(step["name"]))
    return names


def _is_data_volume_task(template: Mapping[str, Any]) -> bool:
    parameters = (template.get("inputs") or {}).get("parameters") or []
    return any(parameter.get("name") == DATA_NODE_INPUT for parameter in parameters)


def data_volume_claim(workflow: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """``(claim, subPath)`` of the workflow's data volume (--data-volume tasks), if it has one."""
    for template in (workflow.get("spec") or {}).get("templates") or []:
        for volume in template.get("volumes") or []:
            if volume.get("name") == DATA_VOLUME_NAME and volume.get("persistentVolumeClaim"):
                mounts = (template.get("script") or template.get("container") or {}).get("volumeMounts") or []
                mount = next((item for item in mounts if item.get("name") == DATA_VOLUME_NAME), {})
                return volume["persistentVolumeClaim"]["claimName"], mount.get("subPath")
    return None


def _template(workflow: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    for template in (workflow.get("spec") or {}).get("templates") or []:
        if template.get("name") == name:
            return template
    return None


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
        self._widget: Any = None
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
        """Create ``workflow`` (a Hera ``Workflow`` or a dict) and return its run.

        The run is remembered in ``runs.json`` unless ``remember=False``.
        """
        from .compile import workflow_body

        created = client.create_workflow(workflow_body(workflow), namespace=namespace)
        metadata = created.get("metadata") or {}
        name = metadata.get("name")
        if not name:
            raise HeraMagicsError(
                "the server created the workflow but did not say its name",
                hint="look for it in the Argo UI",
            )
        run_namespace = metadata.get("namespace") or namespace or client.config.namespace
        submitted_at = metadata.get("creationTimestamp") or None
        run = cls(
            client,
            name,
            run_namespace,
            workflow=None if isinstance(workflow, Mapping) else workflow,
            data=created,
            submitted_at=submitted_at,
        )
        if remember:
            record = remember_run(name, run.namespace, client.config.host, submitted_at)
            run.submitted_at = record.submitted_at
        return run

    @classmethod
    def attach(
        cls, client: "ArgoClient", name: str | None = None, *, namespace: str | None = None
    ) -> "WorkflowRun":
        """The run of an existing workflow; without ``name``, the last one submitted to this host.

        Nothing is asked from the server yet; ``refresh()`` (or any state) does that, and
        raises ``NotFoundError`` if the workflow is gone.
        """
        if name is None:
            record = last_run(client.config.host)
            if record is None:
                raise HeraMagicsError(
                    f"no run is remembered for {public_host(client.config.host)}",
                    hint="pass the workflow's name (it is in the Argo UI)",
                )
        else:
            record = find_run(name, client.config.host, namespace)
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

    def keep_final_state(self) -> None:
        """Keep the ended workflow and each task's log tail on disk (once), before a TTL deletes them.

        Nothing is fetched when that very end is on disk already (re-attaching to a finished run,
        another kernel kept it); otherwise only the last ``KEPT_LOG_LINES`` lines of each log are
        asked for. After a retry the run ends again, with another finish time, and is kept anew.
        """
        if self.gone_from_server:
            return
        if self._data_is_final and self._kept is not None and self._kept == _end_of(self._data):
            return
        data = self._data if self._data_is_final else None
        if data is None:
            data = self.client.get_workflow(self.name, namespace=self.namespace)
            if str((data.get("status") or {}).get("phase") or "") not in FINAL_PHASES:
                return
            self._store(data)
        end = _end_of(data)
        if self._kept == end:
            return
        self._kept = end
        if _end_of(load_final_state(self.namespace, self.name)) == end:
            return  # kept already: by this kernel before a restart, or by another one
        for row in task_rows(data):
            if not row.get("pod_name") or row["phase"] in NOT_RUN_PHASES:
                continue
            try:
                lines = self._log_lines(row["pod_name"], tail_lines=KEPT_LOG_LINES)
            except ArgoServerError as error:
                logger.info("could not keep the log of %s/%s: %s", self.name, row["task"], error.message)
                continue
            save_log_tail(self.namespace, self.name, row["task"], "\n".join(lines[-KEPT_LOG_LINES:]))
        try:
            write_private(final_state_path(self.namespace, self.name), json.dumps(data))
        except OSError as exc:
            logger.warning("could not keep the final state of %s: %s", self.name, exc)

    def _forget_kept_state(self) -> None:
        """The run goes on again (a retry): what was kept describes an end that is no more."""
        self._kept = None
        with contextlib.suppress(OSError):
            final_state_path(self.namespace, self.name).unlink()

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
                    self.name, fields=POLL_FIELDS, namespace=self.namespace
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
        ``poll_interval`` seconds; a few failed polls in a row (the client has retried each)
        are tolerated. Ctrl-C stops the workflow on the server and says so.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        try:
            while True:
                self._wait_until_final(deadline, timeout, poll_interval)
                self.refresh()
                if self._phase in FINAL_PHASES:  # else someone retried it meanwhile
                    break
        except KeyboardInterrupt:
            raise WorkflowInterrupted(self._stop_after_interrupt(), workflow_name=self.name) from None
        self._show_end_in_widget()
        if self._phase == "Succeeded":
            return self
        raise self._failure()

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
            update = getattr(view, "update_displays", None)
            if callable(update):
                update()
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
                    self.name, fields=POLL_FIELDS, namespace=self.namespace
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

    def _stop_after_interrupt(self) -> str:
        """Stop the workflow after Ctrl-C; the sentence that says what happened."""
        try:
            self.client.stop_workflow(self.name, namespace=self.namespace)
        except ConflictError:
            return f"Ctrl-C while waiting; workflow {self.name} had already finished"
        except ArgoServerError as error:
            return (
                f"Ctrl-C while waiting; could not stop workflow {self.name} ({error.message}); "
                f"stop it in the Argo UI: {self.url}"
            )
        self._data_is_final = False
        return f"Ctrl-C while waiting: stopped workflow {self.name} on the server"

    def _failure(self) -> WorkflowFailed:
        """The ``WorkflowFailed`` for a finished, unsuccessful workflow (fetches log tails)."""
        workflow = self._current()
        rows = task_rows(workflow)
        failed = [row for row in rows if row["phase"] in FAILED_PHASES]
        failed_tasks = []
        sections = []
        for row in failed:
            tail = self._failed_log_tail(row)
            failed_tasks.append(
                {
                    "task": row["task"],
                    "phase": row["phase"],
                    "message": row.get("message") or "",
                    "exit_code": row.get("exit_code"),
                    "pod_name": row.get("pod_name"),
                    "log_tail": tail,
                }
            )
            reason = f" ({row['message']})" if row.get("message") else ""
            sections.append(
                f"--- task {row['task']} {row['phase']}{reason}; end of its log:\n{tail}"
            )
        phase = self._phase or "Failed"
        status_message = str((workflow.get("status") or {}).get("message") or "")
        if len(failed) == 1:
            headline = f"workflow {self.name} {phase}: task {failed[0]['task']} failed"
        elif failed:
            names = ", ".join(row["task"] for row in failed)
            headline = f"workflow {self.name} {phase}: {len(failed)} tasks failed ({names})"
        else:
            headline = f"workflow {self.name} {phase}"
            if status_message:
                headline += f": {status_message}"
        first = failed[0]["task"] if failed else None
        hint = (f"full log: run.logs({first!r}); " if first else "") + f"Argo UI: {self.url}"
        return WorkflowFailed(
            "\n".join([headline, *sections]),
            workflow_name=self.name,
            phase=phase,
            failed_tasks=failed_tasks,
            hint=hint,
            run=self,
        )

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
        """The row of ``task`` (either spelling), or a clear error."""
        rows = task_rows(workflow)
        names = [row["task"] for row in rows]
        resolved = resolve_task_name(task, names)
        if resolved is not None:
            return rows[names.index(resolved)]
        declared = _spec_task_names(workflow)
        later = resolve_task_name(task, declared)
        if later is not None:
            raise TaskResultError(
                f"task {later} of workflow {self.name} has not started yet "
                f"(workflow phase {self._phase or 'Pending'})",
                hint="wait with run.wait(), or watch run.widget",
            )
        known = sorted(set(names) | set(declared))
        suggestions = closest_names(task, known)
        message = f"workflow {self.name} has no task {task!r}"
        if suggestions:
            message += f"; did you mean {' or '.join(repr(s) for s in suggestions)}?"
        raise UnknownTaskError(
            message, hint=f"its tasks: {', '.join(known)}" if known else "it has no tasks yet"
        )

    def _fresh(self) -> dict[str, Any]:
        """The workflow JSON, fetched now."""
        self.refresh()
        assert self._data is not None
        return self._data

    def _wait_for_pod(self, task: str, poll_seconds: float = 0.5) -> str:
        """The pod name of ``task`` once it has one (``%argo_logs NAME TASK --follow`` on a task
        that has not started yet); a clear error when it never will."""
        while True:
            workflow = self._fresh()
            try:
                row: dict[str, Any] | None = self._row(task, workflow)
            except TaskResultError:  # declared in the DAG, no node yet
                row = None
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
        """Logs after the server forgot the workflow: the tails kept when it ended."""
        rows = [self._row(task, workflow)] if task is not None else task_rows(workflow)
        parts = []
        for row in rows:
            saved = load_log_tail(self.namespace, self.name, row["task"])
            if saved is None:
                continue
            if task is not None:
                return saved
            parts.extend(f"{row['task']} | {line}" for line in saved.splitlines())
        if task is not None or not parts:
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
        """
        workflow = self._current()
        row = self._row(task, workflow)
        name, phase, message = row["task"], row["phase"], row.get("message") or ""
        if phase in FAILED_PHASES:
            raise TaskResultError(
                f"task {name} failed ({message or phase}), so it has no result",
                hint=f"see what went wrong with run.logs({name!r})",
            )
        if phase in NOT_RUN_PHASES:
            raise TaskResultError(
                f"task {name} did not run ({message or phase}), so it has no result"
            )
        if phase != "Succeeded":
            raise TaskResultError(
                f"task {name} has not finished yet (phase {phase})",
                hint="wait with run.wait() first",
            )
        outputs = self._outputs(workflow, row)
        template = _template(workflow, row.get("template") or "") or {}
        if not stdout and _is_data_volume_task(template):
            return self._value_from_data_volume(workflow, row)
        if stdout:
            if isinstance(outputs.get("result"), str):
                return outputs["result"]
            return argo_result(self._log_text(name)[0])
        for parameter in outputs.get("parameters") or []:
            if parameter.get("name") == RETURN_PARAMETER:
                if "value" not in parameter:
                    raise TaskResultError(f"the server reported no value for task {name}'s return")
                return decode_value(str(parameter["value"]))
        declared = [p.get("name") for p in (template.get("outputs") or {}).get("parameters") or []]
        if RETURN_PARAMETER in declared:
            raise TaskResultError(
                f"task {name} succeeded but the server reported no return value for it",
                hint=f"run.result({name!r}, stdout=True) gives what it printed",
            )
        raise TaskResultError(
            f"task {name} has no return value (a script cell returns nothing)",
            hint=f"run.result({name!r}, stdout=True) gives what it printed",
        )

    def _value_from_data_volume(self, workflow: Mapping[str, Any], row: Mapping[str, Any]) -> Any:
        """A --data-volume task's return value: the file it wrote on the data volume."""
        from .pod.datafiles import load_value, return_value_path

        node = ((workflow.get("status") or {}).get("nodes") or {}).get(row.get("node_id") or "") or {}
        node_name = next((parameter.get("value") for parameter in (node.get("inputs") or {}).get("parameters") or []
                          if parameter.get("name") == DATA_NODE_INPUT), None) or row["task"]
        if self.data_folder is None:
            raise TaskResultError(
                f"task {row['task']} returned its value as a file on its data volume, which this notebook cannot see",
                hint="set HERA_MAGICS_DATA_FOLDER to where that volume is mounted here",
            )
        try:
            return load_value(str(self.data_folder), return_value_path(self.name, node_name))
        except FileNotFoundError as error:
            raise TaskResultError(f"task {row['task']}: {error}") from None

    @staticmethod
    def _outputs(workflow: Mapping[str, Any], row: Mapping[str, Any]) -> Mapping[str, Any]:
        """The outputs of the node behind ``row`` (for a retried task, its last attempt)."""
        nodes = (workflow.get("status") or {}).get("nodes") or {}
        node = nodes.get(row.get("node_id") or "") or {}
        return node.get("outputs") or {}

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
    def widget(self) -> Any:
        """The status view of this run (``hera_magics.widget.StatusView``), made on first use."""
        if self._widget is None:
            from .widget import StatusView

            self._widget = StatusView(KeptStateSource(self), self.name, self.namespace, ui_url=self.url)
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
        phase = html.escape(self._known_phase("not fetched yet"))
        return (
            f'<div class="hera-magics-run">WorkflowRun <a href="{html.escape(self.url)}" '
            f'target="_blank" rel="noopener">{html.escape(self.name)}</a> in namespace '
            f"<code>{html.escape(self.namespace)}</code>: <b>{phase}</b></div>"
        )


__all__ = [
    "FINAL_PHASES",
    "RememberedRun",
    "TaskResultError",
    "UnknownTaskError",
    "WorkflowRun",
    "WorkflowTimeout",
    "argo_name",
    "find_run",
    "last_run",
    "load_log_tail",
    "log_tail",
    "remember_run",
    "remembered_runs",
    "resolve_task_name",
    "save_log_tail",
]
