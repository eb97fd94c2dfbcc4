"""The workflow as a graph to draw: nodes (tasks, maps, groups, the exit handler) and edges.

:func:`workflow_graph` joins two sources, both in the workflow JSON:

* the **spec** — the entrypoint DAG's tasks (``spec.templates[].dag.tasks``: ``dependencies`` or
  ``depends``, ``withItems``/``withParam``/``withSequence``, ``when``) and ``spec.onExit``. It
  gives the whole DAG before anything runs: Argo creates a task's node only when the task's
  dependencies are done, so the status alone shows just the part that started. It is all a
  dry run has.
* the **status** — the entries and edges of :func:`hera_magics.status.task_graph` (rows, a map
  as one entry, the exit handler), which give the phases, the maps' progress and the nested
  DAGs' tasks. Where both know a task, the status wins; their edges are joined.

Two more rules keep a big workflow readable:

* a **map** (one DAG task with ``withItems``/``withParam``/``withSequence``) is one node with
  its progress (``640/1000``), never one node per item;
* a **group**: at least :data:`GROUP_MIN` tasks of the same template with the same upstream and
  downstream tasks (a sweep written out by hand, ``[square(x=0), square(x=1), …]``) are drawn
  as one node ``square ×N``, like a map. The table still lists each of them.

Everything here is pure: the same workflow gives the same graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from .. import argo
from ..pod.contract import RETURN_PARAMETER
from ..status import EXIT_ENTRY, MAP_ENTRY, TASK_ENTRY, loop_width, task_graph

GROUP_ENTRY = "group"
GROUP_MIN = 10
"""Tasks of one template with the same neighbours drawn as one node from this many on."""

PHASE_ORDER = (
    argo.SUCCEEDED, argo.FAILED, argo.ERROR, argo.RUNNING, argo.PENDING, argo.SKIPPED, argo.OMITTED,
)
"""The order in which counts by phase are kept and shown (progress bars, tooltips)."""

LOOP_FIELDS = ("withItems", "withParam", "withSequence")
EXIT_KEY = "onExit"


@dataclass(frozen=True)
class GraphNode:
    """One node to draw.

    ``key`` is unique and stable between polls (a task's name, ``onExit``, ``group:<first>``);
    ``kind`` is ``task``, ``map``, ``group`` or ``exit``; ``phase`` is ``None`` in a dry run
    (nothing submitted). ``counts`` holds how many of its tasks are in each phase (a task
    counts itself); ``total`` how many items a map or group has (``None``: a ``withParam`` not
    expanded yet). ``members`` are a group's entry keys; ``condition`` the spec's ``when``.
    """

    key: str
    label: str
    kind: str
    phase: str | None
    counts: tuple[tuple[str, int], ...] = ()
    total: int | None = 1
    message: str = ""
    template: str = ""
    members: tuple[str, ...] = ()
    condition: str = ""

    @property
    def done(self) -> int:
        """How many of its tasks are done (Succeeded, Skipped or Omitted)."""
        return sum(count for phase, count in self.counts if phase in argo.DONE_PHASES)

    @property
    def failed(self) -> int:
        return sum(count for phase, count in self.counts if phase in argo.FAILED_PHASES)


@dataclass(frozen=True)
class WorkflowGraph:
    """Nodes in a topological-friendly order (the status's, then the spec's) and edges."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[str, str], ...]
    by_key: Mapping[str, GraphNode] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {node.key: node for node in self.nodes})

    @property
    def shape(self) -> tuple[Any, ...]:
        """What the layout depends on (keys, kinds, labels, edges) — equal shapes, equal layouts."""
        return (tuple((node.key, node.kind, node.label) for node in self.nodes), self.edges)

    def counts(self) -> dict[str, int]:
        """How many tasks (map items one by one) are in each phase, over the whole workflow."""
        total: dict[str, int] = {}
        for node in self.nodes:
            for phase, count in node.counts:
                total[phase] = total.get(phase, 0) + count
        return total


# --------------------------------------------------------------------------------------------
# helpers


def ordered_counts(counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """``counts`` as pairs in :data:`PHASE_ORDER` (other phases after), zeros left out."""
    known = [(phase, counts[phase]) for phase in PHASE_ORDER if counts.get(phase)]
    others = sorted((phase, count) for phase, count in counts.items() if phase not in PHASE_ORDER and count)
    return tuple(known + others)


def aggregate_phase(counts: Mapping[str, int]) -> str:
    """The phase of several tasks, as Argo rolls a TaskGroup up: Running while any is not done,
    then Failed/Error if any failed, Skipped/Omitted if all were, else Succeeded."""
    total = sum(counts.values())
    if total == 0:
        return argo.PENDING
    if counts.get(argo.RUNNING):
        return argo.RUNNING
    if counts.get(argo.PENDING):
        return argo.RUNNING if total > counts[argo.PENDING] else argo.PENDING
    for phase in (argo.ERROR, argo.FAILED):
        if counts.get(phase):
            return phase
    for phase in (argo.SKIPPED, argo.OMITTED):
        if counts.get(phase) == total:
            return phase
    return argo.SUCCEEDED


def depends_names(task: Mapping[str, Any]) -> list[str]:
    """The tasks a DAG task waits for: ``dependencies``, or the names in ``depends``
    (``(A.Succeeded || B) && !C.Failed`` -> A, B, C)."""
    names = [str(name) for name in task.get("dependencies") or []]
    expression = task.get("depends")
    if isinstance(expression, str):
        for token in re.split(r"[\s()&|!]+", expression):
            name = token.split(".", 1)[0]
            if name and name not in names:
                names.append(name)
    return names


def _dag_tasks(template: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    tasks = ((template or {}).get("dag") or {}).get("tasks") or []
    return [task for task in tasks if isinstance(task, Mapping) and task.get("name")]


def _templates(workflow: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    spec = workflow.get("spec") or {}
    return {str(template["name"]): template for template in spec.get("templates") or []
            if isinstance(template, Mapping) and template.get("name")}


def _unwrapped(task: Mapping[str, Any], templates: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    """A task whose template is a DAG of one loop of the same name (a map with ``parallelism=``)
    as the loop it runs: the task, with the inner task's loop fields and template."""
    inner = _dag_tasks(templates.get(str(task.get("template") or "")))
    if len(inner) != 1 or inner[0].get("name") != task.get("name") or not _is_loop(inner[0]):
        return task
    loop = {name: inner[0][name] for name in LOOP_FIELDS if name in inner[0]}
    return {**task, **loop, "template": inner[0].get("template") or task.get("template")}


def spec_dag_tasks(workflow: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The entrypoint template's DAG tasks (``[]`` when it is no DAG or the spec is absent).

    A map that runs in a DAG template of its own (``.map(..., parallelism=N)``: a task whose
    template is a DAG of one looped task of the same name) comes as that looped task, so it is
    drawn as the map it is."""
    spec = workflow.get("spec") or {}
    templates = _templates(workflow)
    entrypoint = templates.get(str(spec.get("entrypoint") or ""))
    return [_unwrapped(task, templates) for task in _dag_tasks(entrypoint)]


def _is_loop(task: Mapping[str, Any]) -> bool:
    return any(name in task for name in LOOP_FIELDS)


# {{tasks.X.outputs.parameters.return}} / {{tasks.X.outputs.result}} / {{tasks.X.outputs.parameters.P}}
_TASK_OUTPUT = re.compile(r'"?\{\{\s*tasks\.([A-Za-z0-9-]+)\.outputs\.(result|parameters\.([A-Za-z0-9_-]+))\s*\}\}"?')


def readable_condition(when: str) -> str:
    """Argo's ``when`` as people read it: a task's return value is the task's name, what it
    printed ``NAME.result`` (``{{tasks.evaluate.outputs.parameters.return}} > 0.9`` ->
    ``evaluate > 0.9``); the rest is Argo's text."""

    def name(match: re.Match[str]) -> str:
        task, field_name, parameter = match.groups()
        if field_name == "result":
            return f"{task}.result"
        return task if parameter == RETURN_PARAMETER else f"{task}.{parameter}"

    return _TASK_OUTPUT.sub(name, when)


def _node_of_entry(entry: Mapping[str, Any]) -> GraphNode:
    phase = str(entry.get("phase") or argo.PENDING)
    if entry["kind"] == MAP_ENTRY:
        counts = ordered_counts(entry.get("counts") or {})
        return GraphNode(entry["key"], entry["label"], MAP_ENTRY, phase, counts, int(entry.get("total") or 0),
                         str(entry.get("message") or ""), str(entry.get("template") or ""))
    kind = EXIT_ENTRY if entry["kind"] == EXIT_ENTRY else TASK_ENTRY
    return GraphNode(entry["key"], entry["label"], kind, phase, ((phase, 1),), 1,
                     str(entry.get("message") or ""), str(entry.get("template") or ""))


def _planned_node(task: Mapping[str, Any], planned: bool) -> GraphNode:
    """A spec task that has no node in the status yet."""
    name = str(task["name"])
    phase = None if planned else argo.PENDING
    template = str(task.get("template") or "")
    condition = readable_condition(str(task.get("when") or ""))
    if _is_loop(task):
        width = loop_width(task)
        counts = () if planned or not width else ((argo.PENDING, width),)
        return GraphNode(name, name, MAP_ENTRY, phase, counts, width, "", template, condition=condition)
    counts = () if planned else ((argo.PENDING, 1),)
    return GraphNode(name, name, TASK_ENTRY, phase, counts, 1, "", template, condition=condition)


def _inner_keys(name: str, nodes: Mapping[str, GraphNode]) -> list[str]:
    """The status's keys of the tasks inside a nested DAG task ``name`` (``name.x``)."""
    return [key for key in nodes if key.startswith(name + ".")]


def _ends(name: str, nodes: Mapping[str, GraphNode], edges: Iterable[tuple[str, str]], *, outbound: bool) -> list[str]:
    """Where an edge from (``outbound``) or to a spec task lands: the task's own node, or the
    tasks of its nested DAG with no edge leaving (entering) the nested DAG's tasks."""
    if name in nodes:
        return [name]
    inner = set(_inner_keys(name, nodes))
    if not inner:
        return []
    inside = [(source, target) for source, target in edges if source in inner and target in inner]
    linked = {source if outbound else target for source, target in inside}
    return [key for key in nodes if key in inner and key not in linked]


# --------------------------------------------------------------------------------------------
# the graph


def workflow_graph(
    workflow: Mapping[str, Any],
    *,
    planned: bool = False,
    entries: list[dict[str, Any]] | None = None,
    edges: list[tuple[str, str]] | None = None,
) -> WorkflowGraph:
    """The graph of ``workflow`` (see the module docstring).

    ``planned=True`` draws a workflow that was not submitted (``%argo_dag --dry-run``): the
    spec's tasks have no phase. ``entries``/``edges`` are :func:`hera_magics.status.task_graph`'s
    answer when the caller has it already (the poller does), so it is not computed twice.
    """
    if entries is None or edges is None:
        entries, edges = task_graph(workflow)
    from_status: dict[str, GraphNode] = {entry["key"]: _node_of_entry(entry) for entry in entries}
    all_edges: dict[tuple[str, str], None] = dict.fromkeys(edges)
    tasks = spec_dag_tasks(workflow)
    # The spec's order first, whatever has started: the graph's shape (and so its layout and
    # the table's order) stays the same while tasks start, and only phases change.
    nodes: dict[str, GraphNode] = {}
    for task in tasks:
        name = str(task["name"])
        known = from_status.pop(name, None)
        if known is not None:
            if _is_loop(task) and known.kind == TASK_ENTRY:  # e.g. "Skipped, empty params"
                known = replace(known, kind=MAP_ENTRY, total=loop_width(task) or 0, counts=())
            nodes[name] = replace(known, condition=readable_condition(str(task.get("when") or "")))
        elif not _inner_keys(name, from_status):
            nodes[name] = _planned_node(task, planned)
    nodes.update(from_status)  # nested DAGs' tasks, the exit handler, a status without spec
    for task in tasks:
        for dependency in depends_names(task):
            for source in _ends(dependency, nodes, edges, outbound=True):
                for target in _ends(str(task["name"]), nodes, edges, outbound=False):
                    if source != target:
                        all_edges[(source, target)] = None
    for node in _planned_exit_nodes(workflow, planned):
        if not any(known.kind == EXIT_ENTRY and (known.key == node.key or node.key == EXIT_KEY) for known in nodes.values()):
            nodes[node.key] = node
    return _group_siblings(list(nodes.values()), list(all_edges))


def _planned_exit_nodes(workflow: Mapping[str, Any], planned: bool) -> list[GraphNode]:
    """The exit handler as the spec declares it (``spec.onExit``), before it runs.

    Keyed as the status keys it once it runs: a template of its own is ``onExit`` (labelled
    with the template's name); an exit DAG (``%argo_dag --on-exit notify``: the DAG
    ``hera-magics-exit`` of the one task ``notify``) is a node ``onExit.<task>`` per task,
    labelled with the task's name."""
    on_exit = (workflow.get("spec") or {}).get("onExit")
    if not on_exit:
        return []
    phase = None if planned else argo.PENDING
    counts = () if planned else ((argo.PENDING, 1),)
    tasks = _dag_tasks(_templates(workflow).get(str(on_exit)))
    if not tasks:
        return [GraphNode(EXIT_KEY, str(on_exit), EXIT_ENTRY, phase, counts, 1, "exit handler", str(on_exit))]
    return [GraphNode(f"{EXIT_KEY}.{task['name']}", str(task["name"]), EXIT_ENTRY, phase, counts, 1, "exit handler",
                      str(task.get("template") or ""), condition=readable_condition(str(task.get("when") or "")))
            for task in tasks]


def _group_siblings(nodes: list[GraphNode], edges: list[tuple[str, str]]) -> WorkflowGraph:
    """Draw :data:`GROUP_MIN` or more tasks of one template with the same neighbours as one node.

    Edges come out in the nodes' order, whichever source (status or spec) gave them first, so
    the drawing does not change while tasks start."""
    index = {node.key: number for number, node in enumerate(nodes)}
    edges = sorted(edges, key=lambda edge: (index.get(edge[0], len(index)), index.get(edge[1], len(index)), edge))
    upstream: dict[str, set[str]] = {node.key: set() for node in nodes}
    downstream: dict[str, set[str]] = {node.key: set() for node in nodes}
    for source, target in edges:
        if source in downstream and target in upstream:
            downstream[source].add(target)
            upstream[target].add(source)
    families: dict[tuple[Any, ...], list[GraphNode]] = {}
    for node in nodes:
        if node.kind == TASK_ENTRY and node.template:
            signature = (node.template, frozenset(upstream[node.key]), frozenset(downstream[node.key]))
            families.setdefault(signature, []).append(node)
    group_of: dict[str, GraphNode] = {}
    for (template, _, _), members in families.items():
        if len(members) < GROUP_MIN:
            continue
        counts: dict[str, int] = {}
        for member in members:
            for phase, count in member.counts:
                counts[phase] = counts.get(phase, 0) + count
        planned = all(member.phase is None for member in members)
        failed = [member.label for member in members if member.phase in argo.FAILED_PHASES]
        message = f"{len(failed)} failed: " + ", ".join(failed[:3]) + (", …" if len(failed) > 3 else "") if failed else ""
        group = GraphNode(
            f"group:{members[0].key}", template, GROUP_ENTRY, None if planned else aggregate_phase(counts),
            ordered_counts(counts), len(members), message, template, tuple(member.key for member in members),
        )
        group_of.update((member.key, group) for member in members)
    if not group_of:
        return WorkflowGraph(tuple(nodes), tuple(edges))
    kept: dict[str, GraphNode] = {}
    for node in nodes:
        shown = group_of.get(node.key, node)
        kept.setdefault(shown.key, shown)
    regrouped: dict[tuple[str, str], None] = {}
    for source, target in edges:
        source = group_of[source].key if source in group_of else source
        target = group_of[target].key if target in group_of else target
        if source != target:
            regrouped[(source, target)] = None
    return WorkflowGraph(tuple(kept.values()), tuple(regrouped))


__all__ = [
    "GROUP_ENTRY",
    "GROUP_MIN",
    "GraphNode",
    "PHASE_ORDER",
    "WorkflowGraph",
    "aggregate_phase",
    "depends_names",
    "ordered_counts",
    "readable_condition",
    "spec_dag_tasks",
    "workflow_graph",
]
