"""Workflow JSON -> task rows and a summary: pure functions, tested on real Argo objects.

The input is a Workflow as the Argo Server returns it (a ``dict``; times are RFC3339 strings or
``null``). Fixtures loaded with ``yaml.safe_load`` may hold ``datetime`` objects instead of
strings; both are accepted. Nothing here talks to a server or reads a clock, so the same
workflow always gives the same rows — the status view relies on that to send nothing to the
front end when nothing changed.

Rules (where Argo itself gives no single answer, the choice is written here):

* **One row per task.** A row is a node that does work or stands for work: ``Pod``, ``Suspend``,
  ``HTTP``, ``Plugin``, and ``Skipped`` (the type Argo gives both Skipped and Omitted nodes).
  ``DAG``, ``Steps``, ``StepGroup`` and ``TaskGroup`` nodes are containers and never rows, but
  the tasks inside them are. ``Container`` nodes (children of a container-set pod) are parts of
  their pod and not rows of their own.
* **Retry.** A ``Retry`` node and its attempts are one row named after the Retry node. Its
  ``phase``, ``started`` and ``finished`` are the Retry node's (so ``duration`` spans every
  attempt), ``retries`` is the number of attempts minus one, and ``node_id``, ``pod_name`` and
  ``exit_code`` are the last attempt's (that is the pod whose log explains the outcome). Its
  ``message`` is the Retry node's message followed by ``last attempt: <message>`` when the last
  attempt has a different message. A Retry node whose attempts are themselves containers (a
  retried DAG or Steps template) is treated as a container: the tasks inside each attempt are
  the rows.
* **Task names.** ``task`` is the node's ``displayName``, prefixed by the display names of the
  nested DAG/Steps nodes that enclose it (not the workflow's root), joined with ``.`` — for
  example ``sub-dag1.fail``. Argo task and step names cannot contain ``.``, so the joined name
  is unambiguous, and it reads like Argo's own node names without the workflow prefix.
* **Order.** Rows follow a topological order of the ``children`` graph (which holds the DAG
  edges, Retry attempts and Steps groups) starting from the root node; ties are broken by start
  time (unknown start times last), then by node name. Nodes not reachable from the root (an
  ``onExit`` handler) follow in the same order.
* **Times.** ``started``/``finished`` are timezone-aware UTC datetimes or ``None``.
  ``duration`` is ``finished - started`` in seconds, and ``None`` while the node runs (no
  clock is read here: a ticking value would make every poll look like a change) and when
  ``finished`` is before ``started`` (inconsistent data; one of Argo's own test fixtures has it).
* **Phase.** A missing or empty phase is ``"Pending"``.
* **Messages.** A missing message is ``""``. An Omitted node without a message gets
  ``OMITTED_MESSAGE`` and a Skipped one ``SKIPPED_MESSAGE``, so the table always says why.
* **Pod names** follow Argo's rule (``workflow/util/pod_name.go``, see ``argo.pod_name``).

:func:`task_graph` groups the rows as the status view shows them (*entries*): the items of a
map — the children of Argo's ``TaskGroup`` node, ``train(0:0.1)`` … — are one entry with their
progress, and the exit handler (``<workflow>.onExit``) is an entry of its own kind; it also
gives the edges between entries, read from ``children`` through containers.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from .argo import (
    CONTAINER_NODE_TYPES,
    DONE_PHASES,
    EXECUTABLE_NODE_TYPES,
    FAILED_PHASES,
    FINAL_PHASES,
    NOT_RUN_PHASES,
    OMITTED,
    OMITTED_MESSAGE,
    SKIPPED,
    SUCCEEDED,
    node_template_name,
    pod_name_of_node,
    pod_name_version,
)
from .argo import parse_time as _parse_time
from .graph import topological_order

ROW_NODE_TYPES = frozenset({"Pod", "Suspend", "HTTP", "Plugin", "Skipped"})
"""Node types that are a row of their own (Retry is handled separately)."""

SKIPPED_MESSAGE = "skipped: its when condition was false"

# "name(3)" -> 3: the attempt number Argo appends to a retried node's name.
_ATTEMPT_SUFFIX = re.compile(r"\((\d+)\)$")


# --------------------------------------------------------------------------------------------
# small pure helpers


# A running workflow is polled every second or so and its nodes' times repeat from poll to
# poll: reading each time string once keeps a poll of 2,000 nodes cheap for the kernel.
parse_time = functools.lru_cache(maxsize=1 << 15)(_parse_time)


@functools.lru_cache(maxsize=1 << 15)
def _pod_name(workflow_name: str, identifier: str, name: str, template: str, version: str) -> str:
    node = {"id": identifier, "name": name, "templateName": template}
    return pod_name_of_node(workflow_name, node, version=version)


def seconds_between(started: datetime | None, finished: datetime | None) -> float | None:
    """``finished - started`` in seconds; ``None`` if either is unknown or finished is earlier."""
    if started is None or finished is None:
        return None
    seconds = (finished - started).total_seconds()
    return seconds if seconds >= 0 else None


def parse_progress(value: Any) -> tuple[int, int] | None:
    """Argo's ``progress`` string ``"done/total"`` as two integers, or ``None`` if malformed."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def parse_exit_code(node: Mapping[str, Any]) -> int | None:
    """``outputs.exitCode`` (a string on the wire, e.g. ``"3"``) as an int, or ``None``."""
    outputs = node.get("outputs") or {}
    raw = outputs.get("exitCode") if isinstance(outputs, Mapping) else None
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def is_final(phase: str | None) -> bool:
    """True once a workflow phase can no longer change: Succeeded, Failed or Error."""
    return phase in FINAL_PHASES


def failed_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows whose task failed (phase Failed or Error), in the order given."""
    return [dict(row) for row in rows if row.get("phase") in FAILED_PHASES]


# --------------------------------------------------------------------------------------------
# rows


def _phase(node: Mapping[str, Any]) -> str:
    return str(node.get("phase") or "Pending")


def _children(node: Mapping[str, Any], nodes: Mapping[str, Any]) -> list[str]:
    """The node's children that exist in ``nodes`` (a partial status may lack some)."""
    return [child for child in node.get("children") or [] if child in nodes]


def _attempt_index(node: Mapping[str, Any], position: int) -> tuple[int, int]:
    """Sort key for Retry attempts: the ``(n)`` suffix of the name, then the list position."""
    match = _ATTEMPT_SUFFIX.search(str(node.get("name") or ""))
    return (int(match.group(1)) if match else -1, position)


def _last_attempt(retry: Mapping[str, Any], nodes: Mapping[str, Any]) -> Mapping[str, Any] | None:
    attempts = [nodes[child] for child in _children(retry, nodes)]
    if not attempts:
        return None
    ordered = sorted(enumerate(attempts), key=lambda item: _attempt_index(item[1], item[0]))
    return ordered[-1][1]


def _is_folded_retry(node: Mapping[str, Any], nodes: Mapping[str, Any]) -> bool:
    """A Retry node whose attempts do the work themselves (pods), so it makes one row."""
    if node.get("type") != "Retry":
        return False
    attempts = [nodes[child] for child in _children(node, nodes)]
    return not any(attempt.get("type") in CONTAINER_NODE_TYPES for attempt in attempts)


def _root_id(workflow_name: str, nodes: Mapping[str, Any]) -> str | None:
    """The root node: its id is the workflow name; else the one node without a boundary."""
    if workflow_name and workflow_name in nodes:
        return workflow_name
    unbounded = [node_id for node_id, node in nodes.items() if not node.get("boundaryID")]
    return unbounded[0] if len(unbounded) == 1 else None


def is_loop_wrapper(node: Mapping[str, Any], nodes: Mapping[str, Any]) -> bool:
    """True for a DAG node that only holds a loop of the same name: a map with ``parallelism=``.

    Argo bounds a loop's parallelism by running it in a DAG template of its own, so
    ``train(...).map(..., parallelism=2)`` is a DAG node ``train`` whose one child is the
    TaskGroup ``train`` (or, when the list was empty, a Skipped ``train``). The wrapper adds
    nothing a reader needs: its map and items are named as if it were not there (``train``,
    ``train(0:0.1)``), like a map without ``parallelism=``.
    """
    if node.get("type") != "DAG":
        return False
    children = _children(node, nodes)
    if len(children) != 1:
        return False
    child = nodes[children[0]]
    return child.get("type") in ("TaskGroup", "Skipped") and child.get("displayName") == node.get("displayName")


def _display_name(
    node: Mapping[str, Any], nodes: Mapping[str, Any], root_id: str | None
) -> str:
    """``displayName`` prefixed by the enclosing nested DAG/Steps nodes' display names (a
    map's wrapper, :func:`is_loop_wrapper`, left out)."""
    parts = [str(node.get("displayName") or node.get("name") or node.get("id") or "?")]
    seen = {node.get("id")}
    boundary = node.get("boundaryID")
    while boundary and boundary != root_id and boundary in nodes and boundary not in seen:
        seen.add(boundary)
        enclosing = nodes[boundary]
        if not is_loop_wrapper(enclosing, nodes):
            parts.append(str(enclosing.get("displayName") or enclosing.get("name") or boundary))
        boundary = enclosing.get("boundaryID")
    return ".".join(reversed(parts))


def _order_key(node_id: str, nodes: Mapping[str, Any]) -> tuple[bool, datetime, str]:
    started = parse_time(nodes[node_id].get("startedAt"))
    return (
        started is None,
        started or datetime.min.replace(tzinfo=timezone.utc),
        str(nodes[node_id].get("name") or node_id),
    )


def _topological(node_ids: set[str], nodes: Mapping[str, Any]) -> list[str]:
    """``node_ids`` after their parents in the ``children`` graph; ready nodes by start time, then name."""
    upstream: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
    for node_id in node_ids:
        for child in _children(nodes[node_id], nodes):
            if child in upstream:
                upstream[child].append(node_id)
    return topological_order(upstream, key=lambda node_id: (_order_key(node_id, nodes), node_id))


def _reachable(start: str, nodes: Mapping[str, Any]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for child in _children(nodes[stack.pop()], nodes):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def node_order(workflow: Mapping[str, Any]) -> list[str]:
    """Every node id of the workflow in DAG order (see the module docstring)."""
    nodes = _nodes(workflow)
    root_id = _root_id(_workflow_name(workflow), nodes)
    from_root = _reachable(root_id, nodes) if root_id else set()
    rest = set(nodes) - from_root
    return _topological(from_root, nodes) + _topological(rest, nodes)


def _nodes(workflow: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    status = workflow.get("status") or {}
    return dict(status.get("nodes") or {})


def _workflow_name(workflow: Mapping[str, Any]) -> str:
    return str((workflow.get("metadata") or {}).get("name") or "")


def _message(node: Mapping[str, Any]) -> str:
    message = str(node.get("message") or "")
    if message:
        return message
    phase = node.get("phase")
    if phase == "Omitted":
        return OMITTED_MESSAGE
    if phase == "Skipped":
        return SKIPPED_MESSAGE
    return ""


def _row(
    node: Mapping[str, Any],
    nodes: Mapping[str, Any],
    *,
    workflow_name: str,
    root_id: str | None,
    version: str,
) -> dict[str, Any]:
    """The row of one task node (or one folded Retry node)."""
    started = parse_time(node.get("startedAt"))
    finished = parse_time(node.get("finishedAt"))
    message = _message(node)
    retries = 0
    # The node whose pod holds the log: the task's own pod, or a Retry's last attempt.
    worker: Mapping[str, Any] | None = node
    template = node_template_name(node)
    if node.get("type") == "Retry":
        attempts = _children(node, nodes)
        retries = max(len(attempts) - 1, 0)
        worker = _last_attempt(node, nodes)
        if worker is not None:
            template = template or node_template_name(worker)
            attempt_message = str(worker.get("message") or "")
            if attempt_message and attempt_message != message:
                last = f"last attempt: {attempt_message}"
                message = f"{message}; {last}" if message else last
    node_id = str((worker or node).get("id") or "")
    is_pod = worker is not None and worker.get("type") == "Pod"
    row = {
        "task": _display_name(node, nodes, root_id),
        "template": template,
        "phase": _phase(node),
        "started": started,
        "finished": finished,
        "duration": seconds_between(started, finished),
        "message": message,
        "retries": retries,
        "node_id": node_id,
        "pod_name": _pod_name(workflow_name, node_id, str(worker.get("name") or ""), node_template_name(worker), version)
        if is_pod and worker
        else None,
        "exit_code": parse_exit_code(worker) if worker is not None else None,
    }
    # Only a task that saved artifacts has the key (the names, for run.artifact and the view);
    # archived logs (``main-logs``) are logs, not what the task saved.
    artifacts = [str(artifact.get("name")) for artifact in ((worker or node).get("outputs") or {}).get("artifacts") or []
                 if not artifact.get("deleted") and not artifact.get("archiveLogs")]
    if artifacts:
        row["artifacts"] = artifacts
    return row


def task_rows(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per task of ``workflow``, in DAG order.

    Each row is a dict with ``task`` (display name), ``template``, ``phase``, ``started``,
    ``finished`` (aware UTC datetimes or ``None``), ``duration`` (seconds or ``None``),
    ``message``, ``retries``, ``node_id`` and ``pod_name`` (for log lookup; ``pod_name`` is
    ``None`` for nodes without a pod) and ``exit_code`` (``None`` if not reported); a task
    that saved output artifacts also has ``artifacts`` (their names). See the module
    docstring for the rules.
    """
    return [row for _, row in _rows_with_nodes(workflow)]


def _rows_with_nodes(workflow: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The rows of :func:`task_rows`, each with the id of the node it was made from."""
    nodes = _nodes(workflow)
    workflow_name = _workflow_name(workflow)
    root_id = _root_id(workflow_name, nodes)
    version = pod_name_version(workflow)
    # Attempts of a folded Retry are part of its row, not rows of their own.
    folded_attempts = {
        child
        for node in nodes.values()
        if _is_folded_retry(node, nodes)
        for child in _children(node, nodes)
    }
    rows = []
    for node_id in node_order(workflow):
        node = nodes[node_id]
        if node_id in folded_attempts:
            continue
        node_type = node.get("type")
        if node_type in ROW_NODE_TYPES or _is_folded_retry(node, nodes):
            row = _row(node, nodes, workflow_name=workflow_name, root_id=root_id, version=version)
            rows.append((node_id, row))
    return rows


# --------------------------------------------------------------------------------------------
# entries: the rows grouped as the view shows them, and the edges between them

TASK_ENTRY = "task"
MAP_ENTRY = "map"
EXIT_ENTRY = "exit"

EXIT_HANDLER_MESSAGE = "exit handler"
"""The start of an exit handler's message: it runs when the workflow's tasks have ended."""

MAX_NAMED_FAILURES = 3
"""How many failed items a map's message names before ``…``."""

ONEXIT_SUFFIX = ".onExit"
"""Argo names the exit handler's node ``<workflow>.onExit`` (``common.GenerateOnExitNodeName``)."""


def _attempts(node_id: str, nodes: Mapping[str, Any]) -> tuple[tuple[Any, Any, str], ...]:
    """``(started, finished, phase)`` of each attempt of a Retry node, in attempt order."""
    node = nodes[node_id]
    if node.get("type") != "Retry":
        return ()
    attempts = [nodes[child] for child in _children(node, nodes)]
    ordered = sorted(enumerate(attempts), key=lambda item: _attempt_index(item[1], item[0]))
    return tuple(
        (parse_time(attempt.get("startedAt")), parse_time(attempt.get("finishedAt")), _phase(attempt))
        for _, attempt in ordered
    )


def _enclosing(node_id: str, nodes: Mapping[str, Any], wanted: Mapping[str, Any]) -> str | None:
    """The first of ``node_id`` and its boundary nodes (outwards) that is a key of ``wanted``."""
    seen: set[str] = set()
    current: str | None = node_id
    while current and current in nodes and current not in seen:
        if current in wanted:
            return current
        seen.add(current)
        current = nodes[current].get("boundaryID")
    return None


def _spec_task(workflow: Mapping[str, Any], group: Mapping[str, Any], nodes: Mapping[str, Any]) -> Mapping[str, Any]:
    """The DAG task of the spec that a TaskGroup node expands (``{}`` when the spec is absent)."""
    boundary = nodes.get(str(group.get("boundaryID") or ""))
    template_name = node_template_name(boundary) if boundary else ""
    spec = workflow.get("spec") or {}
    template_name = template_name or str(spec.get("entrypoint") or "")
    for template in spec.get("templates") or []:
        if isinstance(template, Mapping) and template.get("name") == template_name:
            for task in ((template.get("dag") or {}).get("tasks") or []):
                if isinstance(task, Mapping) and task.get("name") == group.get("displayName"):
                    return task
    return {}


def looped_task(workflow: Mapping[str, Any], group_id: str) -> Mapping[str, Any]:
    """The DAG task of the spec that the TaskGroup node ``group_id`` (a map) expands: its
    ``withItems``/``withParam``, ``continueOn``... (``{}`` when the spec or the node is absent)."""
    nodes = _nodes(workflow)
    group = nodes.get(group_id)
    return _spec_task(workflow, group, nodes) if group is not None else {}


# "train(12:0.1)" -> 12: the item's index in the name Argo gives a loop's item (generateNodeName).
_ITEM_INDEX = re.compile(r"[^(]*\((\d+):.*\)$", re.S)


def item_index(name: str) -> int | None:
    """The index of a map's item in its name (``train(12:0.1)`` -> 12), or ``None``."""
    match = _ITEM_INDEX.match(name)
    return int(match.group(1)) if match else None


def loop_width(task: Mapping[str, Any]) -> int | None:
    """How many items a DAG task's ``withItems``/``withSequence`` makes; ``None`` if unknown
    before it runs (``withParam``, or values given by parameters)."""
    items = task.get("withItems")
    if isinstance(items, list):
        return len(items)
    sequence = task.get("withSequence")
    if isinstance(sequence, Mapping):
        try:
            if sequence.get("count") is not None:
                return max(int(sequence["count"]), 0)
            start = int(sequence.get("start") or 0)
            return abs(int(sequence["end"]) - start) + 1
        except (TypeError, ValueError, KeyError):
            return None
    return None


def _item_order(item: Mapping[str, Any]) -> tuple[bool, int]:
    """Sort key of a map's items: by index, any item without one last (sorted() keeps their order)."""
    index = item_index(str(item.get("label") or ""))
    return index is None, index or 0


def _map_entry(
    key: str, group: Mapping[str, Any], items: list[dict[str, Any]], width: int | None
) -> dict[str, Any]:
    """One entry for a map (Argo's TaskGroup node) and its items, in item order.

    Its width is the largest of: the items there are, the items the TaskGroup names as its
    children (the controller links an item before it creates its node), the spec's width."""
    # Item order (train(0:…), train(1:…), …), not start order: what downstream receives.
    items = sorted(items, key=_item_order)
    total = max(len(items), len(group.get("children") or []), width or 0)
    counts: dict[str, int] = {}
    for item in items:
        counts[item["phase"]] = counts.get(item["phase"], 0) + 1
    if total > len(items):
        counts["Pending"] = counts.get("Pending", 0) + total - len(items)
    failed = [item["label"] for item in items if item["phase"] in FAILED_PHASES]
    messages = [str(group.get("message") or "")]
    if failed:
        named = ", ".join(failed[:MAX_NAMED_FAILURES]) + (", …" if len(failed) > MAX_NAMED_FAILURES else "")
        messages.append(f"{len(failed)} failed: {named}")
    phase = _phase(group)
    if phase == SUCCEEDED and items and total == len(items) and all(item["phase"] in NOT_RUN_PHASES for item in items):
        # Every item's `when` was false: Argo calls the TaskGroup Succeeded, but nothing ran.
        phase = SKIPPED if any(item["phase"] == SKIPPED for item in items) else OMITTED
        messages.append(str(items[0]["message"]))
    started = parse_time(group.get("startedAt"))
    finished = parse_time(group.get("finishedAt"))
    return {
        "key": key,
        "kind": MAP_ENTRY,
        "task": key,
        "label": key,
        "template": node_template_name(group),
        "phase": phase,
        "started": started,
        "finished": finished,
        "duration": seconds_between(started, finished),
        "message": "; ".join(message for message in messages if message),
        "retries": sum(item["retries"] for item in items),
        "node_id": str(group.get("id") or ""),
        "pod_name": None,
        "exit_code": None,
        "attempts": (),
        "items": tuple(items),
        "counts": counts,
        "done": sum(1 for item in items if item["phase"] in DONE_PHASES),
        "total": total,
    }


def task_graph(workflow: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The entries of the status view and the edges between them, from ``status.nodes``.

    An entry is a row of :func:`task_rows` plus ``key`` (unique), ``kind``, ``label`` and
    ``attempts`` (``(started, finished, phase)`` of each try of a retried task) — except that:

    * the items of a map (the children of Argo's ``TaskGroup`` node, named ``train(0:0.1)``)
      are ONE entry of kind ``map``: its ``key``, ``task`` and ``label`` are the TaskGroup's
      name, its phase and times the TaskGroup's, ``items`` the items' entries, ``counts``
      how many items are in each phase (items the spec announces but Argo has not created
      yet are ``Pending``), ``done``/``total`` the progress and ``message`` names the failed
      items;
    * the exit handler (node ``<workflow>.onExit``, and the tasks inside it when it is a DAG)
      is of kind ``exit``: its key is ``onExit`` (``onExit.<task>``), its label the
      template's name, its message starts with ``exit handler``.

    Edges ``(from, to)`` join entries whose nodes Argo joined through ``children`` (containers
    such as nested DAGs and step groups are looked through); an edge inside one map is dropped.
    """
    _, entries, edges = task_view(workflow)
    return entries, edges


def task_view(
    workflow: Mapping[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str]]]:
    """``(task_rows(workflow), *task_graph(workflow))``, computed once."""
    nodes = _nodes(workflow)
    workflow_name = _workflow_name(workflow)
    root_id = _root_id(workflow_name, nodes)
    exit_node = f"{workflow_name}{ONEXIT_SUFFIX}"
    exits = {node_id: node for node_id, node in nodes.items() if node.get("name") == exit_node}
    groups = {node_id: node for node_id, node in nodes.items() if node.get("type") == "TaskGroup"}
    item_group = {child: group_id for group_id, group in groups.items() for child in _children(group, nodes)}
    owner: dict[str, str] = {}  # node id -> the key of the entry it belongs to
    entries: list[dict[str, Any]] = []
    map_items: dict[str, list[dict[str, Any]]] = {}
    pairs = _rows_with_nodes(workflow)
    for node_id, row in pairs:
        item = _enclosing(node_id, nodes, item_group)
        entry = dict(row, key=row["task"], kind=TASK_ENTRY, label=row["task"], attempts=_attempts(node_id, nodes))
        if item is not None:
            group_id = item_group[item]
            key = _display_name(groups[group_id], nodes, root_id)
            if group_id not in map_items:
                map_items[group_id] = []
                entries.append({"key": key, "group_id": group_id})  # filled in below
            entry["label"] = str(nodes[node_id].get("displayName") or row["task"])
            map_items[group_id].append(entry)
            owner.update({node_id: key, item: key, group_id: key})
        else:
            if _enclosing(node_id, nodes, exits) is not None:
                key = row["task"][len(workflow_name) + 1 :] if row["task"].startswith(exit_node) else row["task"]
                # An exit handler that is a template of its own is named after it; a task of an
                # exit DAG (%argo_dag --on-exit notify: <workflow>.onExit.notify) after the task.
                if nodes[node_id].get("name") == exit_node:
                    label = row["template"] or key
                else:
                    label = str(nodes[node_id].get("displayName") or key)
                message = f"{EXIT_HANDLER_MESSAGE}: {row['message']}" if row["message"] else EXIT_HANDLER_MESSAGE
                entry.update(key=key, kind=EXIT_ENTRY, label=label, message=message)
            entries.append(entry)
            owner[node_id] = entry["key"]
        for child in _children(nodes[node_id], nodes) if nodes[node_id].get("type") == "Retry" else ():
            owner[child] = owner[node_id]
    for index, entry in enumerate(entries):
        if "group_id" in entry:
            group = groups[entry["group_id"]]
            width = loop_width(_spec_task(workflow, group, nodes))
            entries[index] = _map_entry(entry["key"], group, map_items[entry["group_id"]], width)
    return [row for _, row in pairs], entries, _entry_edges(nodes, owner)


def _entry_edges(nodes: Mapping[str, Any], owner: Mapping[str, str]) -> list[tuple[str, str]]:
    """Edges between owners, looking through nodes that no entry owns (containers)."""
    edges: dict[tuple[str, str], None] = {}  # ordered and without repeats
    for node_id, source in owner.items():
        stack = list(_children(nodes[node_id], nodes))
        seen = set(stack)
        while stack:
            child = stack.pop()
            target = owner.get(child)
            if target is None:  # a container: its children are the next tasks
                for grandchild in _children(nodes[child], nodes):
                    if grandchild not in seen:
                        seen.add(grandchild)
                        stack.append(grandchild)
            elif target != source:
                edges[(source, target)] = None
    return list(edges)


def task_entries(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The entries of :func:`task_graph` (rows, with each map as one entry)."""
    return task_graph(workflow)[0]


# --------------------------------------------------------------------------------------------
# summary


def count_progress(workflow: Mapping[str, Any]) -> tuple[int, int]:
    """``(done, total)`` counted as Argo does: executable nodes; Succeeded/Skipped/Omitted are done.

    Used when the server sent no ``status.progress`` (older controllers, filtered fields), so
    the number means the same thing whichever way it was obtained. Retry attempts count one
    each, as in Argo's own UI.
    """
    done = total = 0
    for node in _nodes(workflow).values():
        if node.get("type") in EXECUTABLE_NODE_TYPES:
            total += 1
            done += node.get("phase") in DONE_PHASES
    return done, total


def summary(workflow: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The workflow-level facts a status header shows.

    Keys: ``name``, ``namespace`` (``None`` if absent), ``phase`` (missing or ``""`` ->
    ``"Pending"``), ``done`` and ``total`` (from ``status.progress``, else counted, see
    ``count_progress``), ``progress`` (``"done/total"``), ``started``, ``finished`` (aware UTC
    datetimes or ``None``), ``elapsed`` (seconds: ``finished - started``; while running
    ``now - started`` if ``now`` is given, else ``None``) and ``message`` (``""`` if absent).
    """
    metadata = workflow.get("metadata") or {}
    status = workflow.get("status") or {}
    progress = parse_progress(status.get("progress")) or count_progress(workflow)
    started = parse_time(status.get("startedAt"))
    finished = parse_time(status.get("finishedAt"))
    elapsed = seconds_between(started, finished)
    if finished is None and now is not None:
        elapsed = seconds_between(started, parse_time(now))
    return {
        "name": str(metadata.get("name") or ""),
        "namespace": metadata.get("namespace") or None,
        "phase": str(status.get("phase") or "Pending"),
        "done": progress[0],
        "total": progress[1],
        "progress": f"{progress[0]}/{progress[1]}",
        "started": started,
        "finished": finished,
        "elapsed": elapsed,
        "message": str(status.get("message") or ""),
    }


__all__ = [
    "EXIT_ENTRY",
    "EXIT_HANDLER_MESSAGE",
    "MAP_ENTRY",
    "SKIPPED_MESSAGE",
    "TASK_ENTRY",
    "is_loop_wrapper",
    "item_index",
    "loop_width",
    "looped_task",
    "task_entries",
    "task_graph",
    "task_view",
    "count_progress",
    "failed_rows",
    "is_final",
    "node_order",
    "parse_progress",
    "summary",
    "task_rows",
]
