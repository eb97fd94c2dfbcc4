"""What a workflow's JSON and its logs say about its tasks: pure functions behind ``WorkflowRun``.

* **Which task a name means** — either spelling (``hello-world`` or ``hello_world``), a task that
  is declared but has not started yet, or "did you mean" for a typo: :func:`find_row`.
* **What a task returned** — the ``return`` output parameter (JSON-decoded), Argo's
  ``outputs.result`` and the rules Argo applies to it, or the data-volume file of a
  ``--data-volume`` task: :func:`require_succeeded`, :func:`returned_value`,
  :func:`argo_result`, :func:`data_volume_claim`.
* **Why a run failed** — the end of each failed task's log (its Python traceback) and the
  ``WorkflowFailed`` that lists them: :func:`log_tail`, :func:`failure`.

Nothing here talks to a server or reads a file; ``WorkflowRun`` fetches, this module reads.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from .argo import FAILED_PHASES, NOT_RUN_PHASES, SUCCEEDED
from .capture import argo_name
from .capture import closest_names as close_matches
from .errors import TaskResultError, UnknownTaskError, WorkflowFailed
from .pod.contract import DATA_NODE_INPUT, DATA_VOLUME_NAME, RETURN_PARAMETER
from .status import task_rows

if TYPE_CHECKING:  # pragma: no cover - imports for type checkers only
    from .run import WorkflowRun

FAILURE_TAIL_LINES = 30
"""Lines of a failed task's log quoted in ``WorkflowFailed`` when no traceback is found in it."""

MAX_TRACEBACK_LINES = 80
"""A traceback longer than this is cut from the top (the end says what went wrong)."""

MAX_RESULT_BYTES = 256 * 1024
"""Argo keeps at most the last 256 KiB of what a script printed as ``outputs.result``."""

TRACEBACK_START = "Traceback (most recent call last):"


# --------------------------------------------------------------------------------------------
# task names


def resolve_task_name(requested: str, available: Sequence[str]) -> str | None:
    """The task in ``available`` that ``requested`` means, or ``None``.

    Both spellings resolve: the Argo name (``hello-world``) and the Python identifier
    (``hello_world``); a task of the exit handler also by its own name (Argo names its node
    ``<workflow>.onExit.<task>``).
    """
    if requested in available:
        return requested
    converted = argo_name(requested)
    if converted in available:
        return converted
    exit_tasks = [name for name in available if name.endswith((f".onExit.{requested}", f".onExit.{converted}"))]
    return exit_tasks[0] if len(exit_tasks) == 1 else None


def closest_names(requested: str, available: Iterable[str]) -> list[str]:
    """Up to three names of ``available`` that look like ``requested`` (for "did you mean")."""
    return close_matches(argo_name(requested), available)


def spec_task_names(workflow: Mapping[str, Any]) -> list[str]:
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


def find_row(
    workflow: Mapping[str, Any], task: str, *, name: str, phase: str | None
) -> dict[str, Any]:
    """The row (:func:`hera_magics.status.task_rows`) of ``task``, in either spelling.

    Raises ``TaskResultError`` for a task the spec declares that has no node yet and
    ``UnknownTaskError``, with the closest names, for a name the workflow does not have; the
    messages say the workflow's ``name`` and ``phase``.
    """
    rows = task_rows(workflow)
    names = [row["task"] for row in rows]
    resolved = resolve_task_name(task, names)
    if resolved is not None:
        return rows[names.index(resolved)]
    declared = spec_task_names(workflow)
    later = resolve_task_name(task, declared)
    if later is not None:
        raise TaskResultError(
            f"task {later} of workflow {name} has not started yet "
            f"(workflow phase {phase or 'Pending'})",
            hint="wait with run.wait(), or watch run.widget",
        )
    known = sorted(set(names) | set(declared))
    suggestions = closest_names(task, known)
    message = f"workflow {name} has no task {task!r}"
    if suggestions:
        message += f"; did you mean {' or '.join(repr(s) for s in suggestions)}?"
    raise UnknownTaskError(
        message, hint=f"its tasks: {', '.join(known)}" if known else "it has no tasks yet"
    )


# --------------------------------------------------------------------------------------------
# what a task returned


def template_of(workflow: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The template called ``name`` in the workflow's spec, or ``None``."""
    for template in (workflow.get("spec") or {}).get("templates") or []:
        if template.get("name") == name:
            return template
    return None


def node_of(workflow: Mapping[str, Any], row: Mapping[str, Any]) -> Mapping[str, Any]:
    """The node behind ``row`` (for a retried task, its last attempt); ``{}`` if absent."""
    nodes = (workflow.get("status") or {}).get("nodes") or {}
    return nodes.get(row.get("node_id") or "") or {}


def is_data_volume_task(template: Mapping[str, Any]) -> bool:
    """True for a ``--data-volume`` task: it writes its return value to the data volume."""
    parameters = (template.get("inputs") or {}).get("parameters") or []
    return any(parameter.get("name") == DATA_NODE_INPUT for parameter in parameters)


def data_volume_claim(workflow: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """``(claim, subPath)`` of the workflow's data volume (--data-volume tasks), if it has one."""
    for template in (workflow.get("spec") or {}).get("templates") or []:
        for volume in template.get("volumes") or []:
            if volume.get("name") == DATA_VOLUME_NAME and volume.get("persistentVolumeClaim"):
                container = template.get("script") or template.get("container") or {}
                mounts = container.get("volumeMounts") or []
                mount = next((item for item in mounts if item.get("name") == DATA_VOLUME_NAME), {})
                return volume["persistentVolumeClaim"]["claimName"], mount.get("subPath")
    return None


def data_node_name(workflow: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    """The folder a ``--data-volume`` task wrote its value to: its node's ``DATA_NODE_INPUT``."""
    parameters = (node_of(workflow, row).get("inputs") or {}).get("parameters") or []
    value = next((p.get("value") for p in parameters if p.get("name") == DATA_NODE_INPUT), None)
    return value or row["task"]


def require_succeeded(row: Mapping[str, Any]) -> None:
    """Raise ``TaskResultError`` unless the task of ``row`` succeeded (so it has a result)."""
    name, phase, message = row["task"], row["phase"], row.get("message") or ""
    if phase in FAILED_PHASES:
        raise TaskResultError(
            f"task {name} failed ({message or phase}), so it has no result",
            hint=f"see what went wrong with run.logs({name!r})",
        )
    if phase in NOT_RUN_PHASES:
        raise TaskResultError(f"task {name} did not run ({message or phase}), so it has no result")
    if phase != SUCCEEDED:
        raise TaskResultError(
            f"task {name} has not finished yet (phase {phase})",
            hint="wait with run.wait() first",
        )


def returned_value(workflow: Mapping[str, Any], row: Mapping[str, Any]) -> Any:
    """The ``return`` output parameter of a succeeded task, JSON-decoded; else a clear error."""
    name = row["task"]
    outputs = node_of(workflow, row).get("outputs") or {}
    for parameter in outputs.get("parameters") or []:
        if parameter.get("name") == RETURN_PARAMETER:
            if "value" not in parameter:
                raise TaskResultError(f"the server reported no value for task {name}'s return")
            return decode_value(str(parameter["value"]))
    template = template_of(workflow, row.get("template") or "") or {}
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


# --------------------------------------------------------------------------------------------
# why a run failed


def log_tail(lines: Sequence[str], max_lines: int = FAILURE_TAIL_LINES) -> str:
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


def failure(
    run: WorkflowRun,
    workflow: Mapping[str, Any],
    phase: str,
    tail_of: Callable[[Mapping[str, Any]], str],
) -> WorkflowFailed:
    """The ``WorkflowFailed`` of ``run``, which ended ``phase`` as ``workflow`` shows.

    Its message names each failed task with ``tail_of(row)``, the end of that task's log; its
    ``failed_tasks`` hold the same as dicts, and its ``run`` is ``run``.
    """
    failed = [row for row in task_rows(workflow) if row["phase"] in FAILED_PHASES]
    failed_tasks = []
    sections = []
    for row in failed:
        tail = tail_of(row)
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
        sections.append(f"--- task {row['task']} {row['phase']}{reason}; end of its log:\n{tail}")
    status_message = str((workflow.get("status") or {}).get("message") or "")
    if len(failed) == 1:
        headline = f"workflow {run.name} {phase}: task {failed[0]['task']} failed"
    elif failed:
        names = ", ".join(row["task"] for row in failed)
        headline = f"workflow {run.name} {phase}: {len(failed)} tasks failed ({names})"
    else:
        headline = f"workflow {run.name} {phase}"
        if status_message:
            headline += f": {status_message}"
    first = failed[0]["task"] if failed else None
    hint = (f"full log: run.logs({first!r}); " if first else "") + f"Argo UI: {run.url}"
    return WorkflowFailed(
        "\n".join([headline, *sections]),
        workflow_name=run.name,
        phase=phase,
        failed_tasks=failed_tasks,
        hint=hint,
        run=run,
    )
