"""Workflow objects shaped as Argo's controller shapes them, for loops, conditions and exit handlers.

The real fixtures (``tests/fixtures/argo/``) have no map, no skipped ``when`` and no exit handler, so
this builder makes them by the controller's own rules (argo-workflows v4.1.2,
``workflow/controller/dag.go`` and ``operator.go``):

* a DAG task with ``withItems``/``withParam``/``withSequence`` gets a ``TaskGroup`` node named
  ``<wf>.<task>`` (``executeDAGTask``: "we need to create virtual node of type TaskGroup"),
  whose children are its items ``<wf>.<task>(<index>:<value>)`` (``connectDependencies`` with
  a task group adds each item as the group's child); the upstream task's outbound node gets
  the TaskGroup as child;
* a task after a map becomes a child of every item (``getOutboundNodes`` of a TaskGroup is
  its children's outbound nodes);
* a ``when`` that is false makes a node of type ``Skipped``, phase ``Skipped``, message
  ``when '<expr>' evaluated false``; a ``depends`` not met: phase ``Omitted``,
  ``omitted: depends condition not met``; an empty ``withParam``: ``Skipped, empty params``;
* a retried task is a ``Retry`` node whose attempts ``<name>(0)``, ``<name>(1)`` are its
  children, and the next task hangs off the last attempt (``getOutboundNodes`` of a Retry);
* the exit handler is node ``<wf>.onExit`` with no boundary (``GenerateOnExitNodeName``) and
  ``nodeFlag.hooked``.

Node ids are ``<wf>-<fnv32a(name)>`` (``argo.node_id``), times are RFC3339 strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hera_magics.argo import node_id

START = 1_714_557_600  # 2024-05-01T10:00:00Z


def _time(offset: float | None) -> str | None:
    if offset is None:
        return None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(START + offset, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Shape:
    """A DAG workflow being described task by task, then :meth:`build` makes the object."""

    name: str
    phase: str = "Running"
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    spec_tasks: list[dict[str, Any]] = field(default_factory=list)
    outbound: dict[str, list[str]] = field(default_factory=dict)  # task -> node ids that get its children
    on_exit: str | None = None

    def __post_init__(self) -> None:
        self.root = self._node(self.name, "DAG", "Running", display=self.name, template="main", boundary=None)

    def _node(self, name: str, kind: str, phase: str, *, display: str, template: str, boundary: str | None,
              start: float | None = 0, end: float | None = None, message: str = "") -> str:
        identifier = node_id(self.name, name) if name != self.name else self.name
        node: dict[str, Any] = {
            "id": identifier, "name": name, "displayName": display, "type": kind, "templateName": template,
            "phase": phase, "startedAt": _time(start), "finishedAt": _time(end),
        }
        if boundary:
            node["boundaryID"] = boundary
        if message:
            node["message"] = message
        self.nodes[identifier] = node
        return identifier

    def _link(self, after: list[str], child: str) -> None:
        parents = [node for task in after for node in self.outbound[task]] if after else [self.root]
        for parent in parents:
            self.nodes[parent].setdefault("children", []).append(child)

    def _spec(self, name: str, template: str, after: list[str], **extra: Any) -> None:
        task: dict[str, Any] = {"name": name, "template": template}
        if after:
            task["depends"] = " && ".join(after)
        task.update(extra)
        self.spec_tasks.append(task)

    def task(self, name: str, phase: str, *, after: list[str] = (), template: str | None = None,  # type: ignore[assignment]
             start: float = 0, end: float | None = None, message: str = "", when: str | None = None) -> str:
        template = template or name
        kind = "Skipped" if phase in ("Skipped", "Omitted") else "Pod"
        if phase == "Skipped" and when and not message:
            message = f"when '{when}' evaluated false"
        if phase == "Omitted" and not message:
            message = "omitted: depends condition not met"
        ended = end if end is not None else (None if phase in ("Running", "Pending") else start + 5)
        node = self._node(f"{self.name}.{name}", kind, phase, display=name, template=template, boundary=self.root,
                          start=start, end=ended, message=message)
        self._link(list(after), node)
        self.outbound[name] = [node]
        self._spec(name, template, list(after), **({"when": when} if when else {}))
        return node

    def retried(self, name: str, attempts: list[str], *, after: list[str] = (), start: float = 0) -> str:  # type: ignore[assignment]
        final = attempts[-1]
        message = "No more retries left" if final == "Failed" else ""
        retry = self._node(f"{self.name}.{name}", "Retry", final, display=name, template=name, boundary=self.root,
                           start=start, end=start + 10 * len(attempts), message=message)
        self._link(list(after), retry)
        last = retry
        for index, phase in enumerate(attempts):
            last = self._node(f"{self.name}.{name}({index})", "Pod", phase, display=f"{name}({index})", template=name,
                              boundary=self.root, start=start + 10 * index, end=start + 10 * index + 8,
                              message="main: Error (exit code 1)" if phase == "Failed" else "")
            self.nodes[retry].setdefault("children", []).append(last)
        self.outbound[name] = [last]
        self._spec(name, name, list(after), retryStrategy={"limit": str(len(attempts) - 1)})
        return retry

    def map(self, name: str, items: list[tuple[Any, str]], *, after: list[str] = (), template: str | None = None,  # type: ignore[assignment]
            width: int | None = None, phase: str | None = None, start: float = 0, param: str | None = None) -> str:
        """A task over ``items`` ``[(value, phase), ...]``; ``width`` (default: the items) is what
        the spec's ``withItems`` holds; ``param`` makes it a ``withParam`` task instead."""
        template = template or name
        phases = [item_phase for _, item_phase in items]
        group_phase = phase or ("Running" if any(p in ("Running", "Pending") for p in phases) or
                                (width or len(items)) > len(items) else
                                "Failed" if "Failed" in phases else "Succeeded")
        done = group_phase not in ("Running", "Pending")
        group = self._node(f"{self.name}.{name}", "TaskGroup", group_phase, display=name, template=template,
                           boundary=self.root, start=start, end=start + 30 if done else None)
        self._link(list(after), group)
        items_ids = []
        for index, (value, item_phase) in enumerate(items):
            label = f"{name}({index}:{value})"
            ended = None if item_phase in ("Running", "Pending") else start + index + 3
            item = self._node(f"{self.name}.{label}", "Pod", item_phase, display=label, template=template,
                              boundary=self.root, start=start + index, end=ended,
                              message="main: Error (exit code 1)" if item_phase == "Failed" else "")
            self.nodes[group].setdefault("children", []).append(item)
            items_ids.append(item)
        self.outbound[name] = items_ids or [group]
        loop = {"withParam": param} if param else {"withItems": [value for value, _ in items] +
                                                  list(range(len(items), width or len(items)))}
        self._spec(name, template, list(after), **loop)
        return group

    def exit_handler(self, template: str, phase: str, *, start: float = 100, message: str = "") -> str:
        self.on_exit = template
        ended = None if phase in ("Running", "Pending") else start + 2
        node = self._node(f"{self.name}.onExit", "Pod", phase, display=f"{self.name}.onExit", template=template,
                          boundary=None, start=start, end=ended, message=message)
        self.nodes[node]["nodeFlag"] = {"hooked": True}
        return node

    def build(self, *, spec: bool = True, status: bool = True) -> dict[str, Any]:
        finished = self.phase in ("Succeeded", "Failed", "Error")
        self.nodes[self.root]["phase"] = self.phase
        workflow: dict[str, Any] = {
            "metadata": {"name": self.name, "namespace": "argo",
                         "annotations": {"workflows.argoproj.io/pod-name-format": "v2"}},
        }
        if spec:
            workflow["spec"] = {"entrypoint": "main", "templates": [{"name": "main", "dag": {"tasks": self.spec_tasks}}]}
            if self.on_exit:
                workflow["spec"]["onExit"] = self.on_exit
        if status:
            workflow["status"] = {"phase": self.phase, "startedAt": _time(0), "finishedAt": _time(200) if finished else None,
                                  "nodes": self.nodes}
        return workflow


def sweep(name: str = "sweep", *, width: int = 1000, done: int = 640, failed: int = 3, phase: str = "Running") -> dict[str, Any]:
    """``prep >> train.map(width) >> report`` with ``done`` items Succeeded (``failed`` of them
    Failed), two Running, the rest not created yet; and an exit handler not run yet."""
    shape = Shape(name, phase=phase)
    shape.task("prep", "Succeeded")
    items = [(index / 10, "Failed" if index < failed else "Succeeded") for index in range(done)]
    items += [(index / 10, "Running") for index in range(done, min(done + 2, width))]
    shape.map("train", items, after=["prep"], width=width, start=10)
    # report has no node yet: Argo creates it when train has ended
    shape.spec_tasks.append({"name": "report", "template": "report", "depends": "train"})
    shape.on_exit = "notify"
    return shape.build()
