"""What the kernel remembers of its runs across restarts: ``runs.json`` and the kept final states.

Two things live in the state folder (:mod:`hera_magics.state` gives the folder, the lock and the
private atomic writes):

* **Remembered runs**, ``<state dir>/runs.json`` (mode 0600): name, namespace, host (without any
  ``user:password@``), server identity and submission time of the last
  :data:`MAX_REMEMBERED_RUNS` workflows this user submitted, never a token, so ``%argo_status
  --last`` works after a kernel restart. A run is remembered *before* its create request is sent,
  by its submission label and without a name yet (:func:`remember_submission`): a Ctrl-C or a
  lost answer cannot leave a workflow that nobody remembers; the name is filled in once known.
  Runs are found by their server's identity (:func:`server_key`), not its URL: the local engine
  comes back on another port after a restart and its runs are still "on this server". Every
  read-modify-write holds ``runs.json.lock``, so two kernels never lose each other's runs.
* **Kept final states**, ``<state dir>/logs/<namespace>/<workflow>/``: ``workflow.json`` (the
  workflow as it ended) and ``<task>.log`` (the last :data:`KEPT_LOG_LINES` lines of each task's
  log), written by ``WorkflowRun.keep_final_state`` when a run is seen ending. A workflow's TTL
  deletes it and its pods from the server; what was kept still answers ``run.tasks()``,
  ``run.logs()``, ``run.result()`` and the status table afterwards.

Everything here is plain files: nothing talks to a server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from .state import locked, state_directory, write_private
from .status import task_rows

logger = logging.getLogger(__name__)

MAX_REMEMBERED_RUNS = 200
"""``runs.json`` keeps this many runs; the oldest are dropped."""

KEPT_LOG_LINES = 200
"""Lines of each task's log kept on disk when a run ends (pods and their logs go with the TTL)."""

FINAL_STATE_FILE = "workflow.json"


# --------------------------------------------------------------------------------------------
# names on disk


def public_host(host: str) -> str:
    """``host`` without any ``user:password@`` part, safe to write to disk."""
    parts = urlsplit(host)
    if "@" not in parts.netloc:
        return host
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


LOCAL_ENGINE_PREFIX = "local-engine:"


def server_key(host: str, engine_id: str | None = None) -> str:
    """What identifies a server in ``runs.json``: the local engine's id (it survives a restart on
    another port), else the host without credentials."""
    return LOCAL_ENGINE_PREFIX + engine_id if engine_id else public_host(host)


def safe_path_part(text: str) -> str:
    """One file-name component from a name (Kubernetes names already are; this is a guard)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text) or "_"
    return "_" if cleaned in (".", "..") else cleaned


# --------------------------------------------------------------------------------------------
# remembered runs


@dataclass(frozen=True)
class RememberedRun:
    """A run we submitted, as kept in ``runs.json``: enough to attach to it again.

    ``name`` is empty while the create's answer is not known; ``submission`` (the value of the
    workflow's ``hera-magics/submission`` label) then finds it on the server.
    """

    name: str
    namespace: str
    host: str
    submitted_at: str  # RFC3339, UTC
    server: str = ""  # server_key(); empty in records written before it existed
    submission: str = ""

    @property
    def server_identity(self) -> str:
        return self.server or public_host(self.host)

    @property
    def pending(self) -> bool:
        """True while the name is unknown (the create's answer never came)."""
        return not self.name


def runs_file(directory: Path | None = None) -> Path:
    """``<state dir>/runs.json``."""
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
                    server=str(record.get("server") or ""),
                    submission=str(record.get("submission") or ""),
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
    server: str | None = None,
    submission: str | None = None,
) -> RememberedRun:
    """Add a run to ``runs.json`` (newest last; the oldest are dropped beyond 200).

    It replaces the record of the same workflow on the same server, and the pending record of
    the same ``submission`` (then it keeps that record's submission time).
    """
    if isinstance(submitted_at, datetime):
        submitted_at = submitted_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = RememberedRun(
        name=name,
        namespace=namespace,
        host=public_host(host),
        submitted_at=submitted_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # Written only when it says more than the host (the local engine's id), and the
        # submission only while the name is unknown: a remote run's record stays as it was.
        server="" if not server or server == public_host(host) else server,
        submission="" if name else (submission or ""),
    )
    path = runs_file(directory)
    with locked(path.with_name(path.name + ".lock")):
        runs = []
        for run in _read_runs(path):
            if submission and run.submission == submission:
                if not submitted_at and run.submitted_at:
                    record = replace(record, submitted_at=run.submitted_at)
                continue
            if record.name and (run.name, run.namespace, run.server_identity) == (
                record.name, record.namespace, record.server_identity
            ):
                continue
            runs.append(run)
        runs = (runs + [record])[-MAX_REMEMBERED_RUNS:]
        _write_runs(path, runs)
    return record


def remember_submission(
    submission: str, namespace: str, host: str, *, server: str | None = None, directory: Path | None = None
) -> RememberedRun:
    """Remember a create that is about to be sent, by its submission label (no name yet)."""
    return remember_run("", namespace, host, directory=directory, server=server, submission=submission)


def forget_submission(submission: str, *, directory: Path | None = None) -> None:
    """Drop the pending record of ``submission``: its create surely made nothing."""
    path = runs_file(directory)
    with locked(path.with_name(path.name + ".lock")):
        runs = _read_runs(path)
        kept = [run for run in runs if not (run.pending and run.submission == submission)]
        if len(kept) != len(runs):
            _write_runs(path, kept)


def _write_runs(path: Path, runs: list[RememberedRun]) -> None:
    records = [{key: value for key, value in asdict(run).items() if value or key not in ("server", "submission")}
               for run in runs]
    write_private(path, json.dumps({"version": 1, "runs": records}, indent=1))


def _same_server(run: RememberedRun, host: str | None, server: str | None) -> bool:
    if server is not None:
        return run.server_identity == server
    return host is None or run.server_identity == public_host(host)


def remembered_runs(*, directory: Path | None = None) -> list[RememberedRun]:
    """Every remembered run, oldest first."""
    return _read_runs(runs_file(directory))


def last_run(
    host: str | None = None, *, server: str | None = None, directory: Path | None = None
) -> RememberedRun | None:
    """The most recently submitted run (on ``host``, or the server of identity ``server``, if
    given), or ``None``. It may be pending (its name not known yet)."""
    for run in reversed(remembered_runs(directory=directory)):
        if _same_server(run, host, server):
            return run
    return None


def find_run(
    name: str,
    host: str | None = None,
    namespace: str | None = None,
    *,
    server: str | None = None,
    directory: Path | None = None,
) -> RememberedRun | None:
    """The newest remembered run called ``name`` (on ``host`` or ``server``/in ``namespace`` if
    given)."""
    for run in reversed(remembered_runs(directory=directory)):
        if not name or run.name != name:
            continue
        if not _same_server(run, host, server):
            continue
        if namespace is not None and run.namespace != namespace:
            continue
        return run
    return None


# --------------------------------------------------------------------------------------------
# kept final states


def end_of(workflow: Mapping[str, Any] | None) -> tuple[Any, Any] | None:
    """How a workflow ended, ``(phase, finishedAt)``: a retried run ends again at another time."""
    if not workflow:
        return None
    status = workflow.get("status") or {}
    return (status.get("phase"), status.get("finishedAt"))


def kept_folder(namespace: str, workflow: str, *, directory: Path | None = None) -> Path:
    """``<state dir>/logs/<namespace>/<workflow>``: what is kept of one run."""
    base = (directory or state_directory()) / "logs"
    return base / safe_path_part(namespace) / safe_path_part(workflow)


def log_tail_path(
    namespace: str, workflow: str, task: str, *, directory: Path | None = None
) -> Path:
    """``<state dir>/logs/<namespace>/<workflow>/<task>.log``."""
    return kept_folder(namespace, workflow, directory=directory) / f"{safe_path_part(task)}.log"


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
    """The log tail kept for ``task``, or ``None``."""
    try:
        return log_tail_path(namespace, workflow, task, directory=directory).read_text("utf-8")
    except OSError:
        return None


def final_state_path(namespace: str, workflow: str, *, directory: Path | None = None) -> Path:
    """``<state dir>/logs/<namespace>/<workflow>/workflow.json``: the workflow as it ended."""
    return kept_folder(namespace, workflow, directory=directory) / FINAL_STATE_FILE


def save_final_state(
    namespace: str, workflow: str, data: Mapping[str, Any], *, directory: Path | None = None
) -> None:
    """Keep the ended workflow's JSON on disk (mode 0600); failures to write are only logged."""
    try:
        write_private(final_state_path(namespace, workflow, directory=directory), json.dumps(data))
    except OSError as exc:
        logger.warning("could not keep the final state of %s: %s", workflow, exc)


def load_final_state(
    namespace: str, workflow: str, *, directory: Path | None = None
) -> dict[str, Any] | None:
    """The workflow as it was kept when it ended, or ``None``."""
    try:
        return json.loads(
            final_state_path(namespace, workflow, directory=directory).read_text("utf-8")
        )
    except (OSError, ValueError):
        return None


def forget_final_state(namespace: str, workflow: str, *, directory: Path | None = None) -> None:
    """Drop the kept ``workflow.json`` (a retried run goes on; it is kept again when it ends).

    The log tails stay: the next end overwrites each task's tail.
    """
    with contextlib.suppress(OSError):
        final_state_path(namespace, workflow, directory=directory).unlink()


def kept_pod_log(
    namespace: str, workflow: str, pod_name: str | None, *, directory: Path | None = None
) -> str | None:
    """The kept log tail of the task that ran ``pod_name``, or ``None`` when none was kept."""
    kept = load_final_state(namespace, workflow, directory=directory) or {}
    task = next((row["task"] for row in task_rows(kept) if row.get("pod_name") == pod_name), None)
    return load_log_tail(namespace, workflow, task, directory=directory) if task else None


__all__ = [
    "KEPT_LOG_LINES",
    "MAX_REMEMBERED_RUNS",
    "RememberedRun",
    "end_of",
    "final_state_path",
    "find_run",
    "forget_final_state",
    "forget_submission",
    "kept_pod_log",
    "last_run",
    "load_final_state",
    "load_log_tail",
    "log_tail_path",
    "public_host",
    "remember_run",
    "remember_submission",
    "remembered_runs",
    "runs_file",
    "safe_path_part",
    "save_final_state",
    "save_log_tail",
    "server_key",
]
