"""What the kernel remembers of its runs across restarts: ``runs.json`` and the kept final states.

Two things live in the state folder (:mod:`hera_magics.state` gives the folder, the lock and the
private atomic writes):

* **Remembered runs**, ``<state dir>/runs.json`` (mode 0600): name, namespace, host (without any
  ``user:password@``) and submission time of the last :data:`MAX_REMEMBERED_RUNS` workflows this
  user submitted, never a token, so ``%argo_status --last`` works after a kernel restart. Every
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
from dataclasses import asdict, dataclass
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


def safe_path_part(text: str) -> str:
    """One file-name component from a name (Kubernetes names already are; this is a guard)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text) or "_"
    return "_" if cleaned in (".", "..") else cleaned


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
    "kept_pod_log",
    "last_run",
    "load_final_state",
    "load_log_tail",
    "log_tail_path",
    "public_host",
    "remember_run",
    "remembered_runs",
    "runs_file",
    "safe_path_part",
    "save_final_state",
    "save_log_tail",
]
