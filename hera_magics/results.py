"""What a workflow's JSON and its logs say about its tasks: pure functions behind ``WorkflowRun``.

* **Which task a name means** — either spelling (``hello-world`` or ``hello_world``), a map
  (``train``: its TaskGroup) or one of its items (``train(1:0.01)``, or ``train(1)`` by index), an
  exit handler's task by its own name, a task that is declared but has not started yet, or "did
  you mean" for a typo: :func:`find_task`.
* **What a task returned** — the ``return`` output parameter (JSON-decoded), Argo's
  ``outputs.result`` and the rules Argo applies to it, or the data-volume file of a
  ``--data-volume`` task: :func:`require_succeeded`, :func:`returned_value`,
  :func:`argo_result`, :func:`data_volume_claim`. A map's result is the list downstream tasks
  receive: :func:`map_result`; its log, every item's: :func:`map_log`.
* **Why a run failed** — the end of each failed task's log (its Python traceback) and the
  ``WorkflowFailed`` that lists them: :func:`log_tail`, :func:`failure`.

Nothing here talks to a server or reads a file; ``WorkflowRun`` fetches, this module reads.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from .argo import FAILED_PHASES, FINAL_PHASES, NOT_RUN_PHASES, SUCCEEDED
from .capture import argo_name
from .capture import closest_names as close_matches
from .errors import TaskResultError, UnknownTaskError, WorkflowFailed
from .pod.contract import DATA_NODE_INPUT, DATA_VOLUME_NAME, RETURN_PARAMETER
from .status import MAP_ENTRY, item_index, looped_task, task_rows, task_view

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


def first_item_name(entry: Mapping[str, Any]) -> str:
    """The name of a map's first item (``train(0:0.1)``), for hints."""
    items = entry.get("items") or ()
    return str(items[0]["task"]) if items else f"{entry['label']}(0)"


def find_task(
    workflow: Mapping[str, Any], task: str, *, name: str, phase: str | None
) -> dict[str, Any]:
    """The row of ``task`` (either spelling), or the entry of a map.

    A map (``train``, Argo's TaskGroup) has no row of its own: it is found as its entry of
    :func:`hera_magics.status.task_graph` (kind ``map``, its ``items`` in item order). Each of
    its items is a row named as Argo names it (``train(1:0.01)``) and also answers to
    ``train(1)``, its index.

    Raises ``TaskResultError`` for a task the spec declares that has no node yet and
    ``UnknownTaskError``, with the closest names, for a name the workflow does not have; the
    messages say the workflow's ``name`` and ``phase``.
    """
    rows, entries, _ = task_view(workflow)
    names = [row["task"] for row in rows]
    resolved = resolve_task_name(task, names)
    if resolved is not None:
        return rows[names.index(resolved)]
    maps = {str(entry["key"]): entry for entry in entries if entry["kind"] == MAP_ENTRY}
    resolved = resolve_task_name(task, list(maps))
    if resolved is not None:
        return dict(maps[resolved])
    item = _item_by_index(task, maps)
    if item is not None:
        return item
    declared = spec_task_names(workflow)
    later = resolve_task_name(task, declared)
    if later is not None:
        raise TaskResultError(
            f"task {later} of workflow {name} has not started yet "
            f"(workflow phase {phase or 'Pending'})",
            hint="wait with run.wait(), or watch run.widget",
        )
    known = sorted(set(names) | set(maps) | set(declared))
    suggestions = closest_names(task, known)
    message = f"workflow {name} has no task {task!r}"
    if suggestions:
        message += f"; did you mean {' or '.join(repr(s) for s in suggestions)}?"
    raise UnknownTaskError(
        message, hint=f"its tasks: {', '.join(known)}" if known else "it has no tasks yet"
    )


def _item_by_index(task: str, maps: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """``train(1)``: the item of map ``train`` whose index is 1 (its name is ``train(1:0.01)``)."""
    match = _INDEXED_ITEM.fullmatch(task.strip())
    if match is None:
        return None
    resolved = resolve_task_name(match.group(1), list(maps))
    if resolved is None:
        return None
    wanted, entry = int(match.group(2)), maps[resolved]
    for item in entry.get("items") or ():
        if item_index(str(item.get("label") or "")) == wanted:
            return dict(item)
    total = int(entry.get("total") or 0)
    if wanted < total and entry.get("phase") in FINAL_PHASES:
        raise TaskResultError(f"item {wanted} of map {entry['label']} never ran (the map ended {entry['phase']})")
    if wanted < total:
        raise TaskResultError(f"item {wanted} of map {entry['label']} has not started yet "
                              f"(map phase {entry.get('phase') or 'Pending'})", hint="wait with run.wait() first")
    raise UnknownTaskError(f"map {entry['label']} has {total} items, numbered from 0: it has no item {wanted}",
                           hint=f"its first item: {first_item_name(entry)!r}")


_INDEXED_ITEM = re.compile(r"(.+)\((\d+)\)")


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


def keeps_going(workflow: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
    """Whether a map lets its failed items pass: its looped task has ``continueOn`` failed or
    error (``.map(..., keep_going=True)``), so downstream ran with the items that succeeded."""
    continue_on = looped_task(workflow, str(entry.get("node_id") or "")).get("continueOn") or {}
    return bool(continue_on.get("failed") or continue_on.get("error"))


def map_result(workflow: Mapping[str, Any], entry: Mapping[str, Any], value_of: Callable[[Mapping[str, Any]], Any]) -> list[Any]:
    """What a finished map gives: the list a downstream task receives from it.

    ``value_of(item)`` is one item's value. The list holds the values of the items that
    Succeeded, in item order — as Argo aggregates a loop's outputs, so Skipped items are left
    out (a map whose items were all skipped gives ``[]``). When items failed, a map declared ``keep_going=True`` gives the values of the others
    (what downstream received); any other map raises ``TaskResultError`` naming the failed items
    (each item's own value stays available by its name). A map that has not finished, or whose
    items did not all run (the workflow was stopped), raises too.
    """
    label, total = str(entry["label"]), int(entry.get("total") or 0)
    items = list(entry.get("items") or ())
    if entry.get("phase") not in FINAL_PHASES | NOT_RUN_PHASES:
        raise TaskResultError(
            f"map {label} has not finished yet ({entry.get('done') or 0}/{total} items done)",
            hint="wait with run.wait() first",
        )
    failed = [str(item["task"]) for item in items if item["phase"] in FAILED_PHASES]
    succeeded = [item for item in items if item["phase"] == SUCCEEDED]
    never_ran = total - len(items)
    if (failed and not keeps_going(workflow, entry)) or never_ran > 0:
        problems = []
        if failed:
            named = ", ".join(failed[:MAX_NAMED_ITEMS]) + (", …" if len(failed) > MAX_NAMED_ITEMS else "")
            problems.append(f"{len(failed)} of its {total} items failed ({named})")
        if never_ran > 0:
            problems.append(f"{never_ran} of its {total} items never ran")
        hints = [f"an item's own value: run.result({str(succeeded[0]['task'])!r})"] if succeeded else []
        if failed:
            hints.append(f"why it failed: run.logs({failed[0]!r})")
            hints.append(".map(..., keep_going=True) hands downstream the items that succeeded")
        raise TaskResultError(
            f"map {label} ended {entry.get('phase')}: {' and '.join(problems)}, so it has no list of results",
            hint="; ".join(hints) or None,
        )
    return [value_of(item) for item in succeeded]


MAX_NAMED_ITEMS = 5
"""How many failed items a map's ``TaskResultError`` names before ``…``."""


def map_log(entry: Mapping[str, Any], log_of: Callable[[Mapping[str, Any]], str]) -> str:
    """Every item's log, in item order, each line prefixed ``train(0:0.1) | ``, as
    ``run.logs()`` prefixes a workflow's lines with their task. ``log_of(item)`` is one item's
    log; items that ran no pod (Skipped, not started) are left out, and ``TaskResultError`` says
    so when no item has run yet."""
    lines: list[str] = []
    ran = 0
    for item in entry.get("items") or ():
        if not item.get("pod_name") or item["phase"] in NOT_RUN_PHASES:
            continue
        ran += 1
        lines.extend(f"{item['task']} | {line}" for line in log_of(item).splitlines())
    if not ran:
        raise TaskResultError(
            f"no item of map {entry['label']} has run yet (map phase {entry.get('phase') or 'Pending'})",
            hint="wait with run.wait(), or watch run.widget",
        )
    return "\n".join(lines)


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
