"""``containerSet`` templates: several containers in one pod, run as a graph, as Argo v4.0.5 does.

Argo's sources (argoproj/argo-workflows): ``executeContainerSet`` (``workflow/controller/
container_set.go``) makes the template's node a ``Pod`` node and, under it, one ``Container``
node per container, named ``POD-NODE.CONTAINER`` (boundary: the Pod node; Pending at first); a
container without ``dependencies`` is a child of the Pod node, any other a child of each container
it depends on. ``podReconciliation`` (``operator.go``) gives each Container node its container's
end: exit code 0 Succeeded, else Failed with ``NAME: Error (exit code N): ``; a container that
never ended in a failed pod is Failed with ``Pod Failed whilst container running``.
``getOutboundNodes`` makes the leaf Container nodes the pod's outbound nodes. The pod's
``outputs.result`` and ``outputs.exitCode`` are the ``main`` container's (``getExitCode``).

Here each container is a process (with the template's file-system view and shared mounts, as in
one pod); a container starts once every container it depends on has ended with 0, and one whose
dependency failed never starts (the emissary's wait for its dependencies fails it).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..argo import FAILED, PENDING, SUCCEEDED, node_id, rfc3339
from .runner import PodLaunch, PodOutcome, PodProcess

MAIN_CONTAINER = "main"
NOT_ENDED_MESSAGE = "Pod Failed whilst container running"


def set_containers(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The containers of a ``containerSet`` template, in the order declared."""
    return [container for container in (template.get("containerSet") or {}).get("containers") or []
            if isinstance(container, dict)]


def container_node_name(pod_node_name: str, container: str) -> str:
    return f"{pod_node_name}.{container}"


def create_container_nodes(nodes: Any, pod_node: dict[str, Any], template: Mapping[str, Any],
                           node_flag: dict[str, Any] | None) -> None:
    """The Pod node's Container nodes and their graph (``executeContainerSet``). ``nodes`` is the
    workflow's ``NodeBook``."""
    containers = set_containers(template)
    for container in containers:
        nodes.create(container_node_name(pod_node["name"], container["name"]), "Container", template.get("name"),
                     pod_node["id"], container["name"], PENDING, node_flag=node_flag)
    for container in containers:
        child = node_id(nodes.workflow_name, container_node_name(pod_node["name"], container["name"]))
        parents = [container_node_name(pod_node["name"], dependency) for dependency in container.get("dependencies") or []]
        for parent_name in parents or [pod_node["name"]]:
            parent = nodes.by_name(parent_name)
            if parent is not None and child not in parent.setdefault("children", []):
                parent["children"].append(child)


def apply_container_outcomes(record_nodes: dict[str, dict[str, Any]], workflow_name: str, pod_node: Mapping[str, Any],
                             outcome: PodOutcome) -> list[dict[str, Any]]:
    """Each Container node's end (``podReconciliation``); returns the nodes it changed."""
    changed = []
    finished = rfc3339(outcome.finished_at)
    for name, code in (outcome.containers or {}).items():
        node = record_nodes.get(node_id(workflow_name, container_node_name(pod_node["name"], name)))
        if node is None or node.get("phase") not in (PENDING, "Running"):
            continue
        if code == 0:
            node["phase"] = SUCCEEDED
        elif code is not None:
            node.update(phase=FAILED, message=f"{name}: Error (exit code {code}): ")
        elif pod_node.get("phase") != SUCCEEDED:
            node.update(phase=FAILED, message=NOT_ENDED_MESSAGE)
        else:
            continue
        node["finishedAt"] = finished
        changed.append(node)
    return changed


@dataclass
class SetContainer:
    """One container of the set: its launch and what it waits for."""

    name: str
    dependencies: list[str]
    launch: PodLaunch
    process: PodProcess | None = None
    outcome: PodOutcome | None = None


@dataclass
class ContainerSetProcess:
    """The processes of a container set, run as their graph says; used as a ``PodProcess``."""

    containers: list[SetContainer]
    started_at: float = 0.0
    _kill_message: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ended: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._ended = threading.Condition(self._lock)

    @property
    def pid(self) -> int | None:
        running = [container.process.pid for container in self.containers if container.process is not None]
        return running[0] if running else None

    def start(self) -> None:
        """Start the containers that wait for nothing; raises OSError when one cannot start."""
        self.started_at = time.time()
        with self._lock:
            self._start_ready()

    def _start_ready(self) -> None:
        """Start every container whose dependencies all ended with 0 (lock held)."""
        ended = {container.name: container.outcome for container in self.containers if container.outcome is not None}
        for container in self.containers:
            if container.process is not None or self._kill_message is not None:
                continue
            outcomes = [ended.get(dependency) for dependency in container.dependencies]
            if any(outcome is None for outcome in outcomes):
                continue
            if any(outcome.exit_code != 0 or outcome.kill_message for outcome in outcomes if outcome is not None):
                continue
            process = PodProcess(container.launch)
            process.start()
            container.process = process
            threading.Thread(target=self._wait_for, args=(container,), daemon=True,
                             name=f"container-{container.name}").start()

    def _wait_for(self, container: SetContainer) -> None:
        assert container.process is not None
        outcome = container.process.wait()
        with self._lock:
            container.outcome = outcome
            try:
                self._start_ready()
            except OSError as error:
                self._kill_message = self._kill_message or f"failed to start: {error}"
            self._ended.notify_all()

    def kill(self, message: str) -> None:
        with self._lock:
            if self._kill_message is None:
                self._kill_message = message
            running = [container.process for container in self.containers
                       if container.process is not None and container.outcome is None]
        for process in running:
            process.kill(message)

    def _done(self) -> bool:
        return all(container.outcome is not None for container in self.containers if container.process is not None)

    def wait(self) -> PodOutcome:
        """Block until no container runs and none can start; the pod's outcome."""
        with self._lock:
            while not self._done():
                self._ended.wait()
        codes: dict[str, int | None] = {}
        for container in self.containers:
            outcome = container.outcome
            codes[container.name] = outcome.exit_code if outcome is not None and outcome.kill_message is None else None
        main = next((container.outcome for container in self.containers
                     if container.name == MAIN_CONTAINER and container.outcome is not None), None)
        failed = next((name for name, code in codes.items() if code not in (0, None)), None)
        if failed is None:
            failed = next((name for name, code in codes.items() if code is None), None)
        kill_message = self._kill_message or next((container.outcome.kill_message for container in self.containers
                                                   if container.outcome is not None and container.outcome.kill_message),
                                                  None)
        return PodOutcome(
            exit_code=main.exit_code if main is not None else None,
            result=main.result if main is not None else None,
            kill_message=kill_message,
            started_at=self.started_at,
            finished_at=time.time(),
            containers=codes,
            failed_container=failed,
        )


__all__ = [
    "ContainerSetProcess",
    "SetContainer",
    "apply_container_outcomes",
    "container_node_name",
    "create_container_nodes",
    "set_containers",
]
