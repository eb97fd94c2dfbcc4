"""Workflows the status view shows, and how the view tests serve them to it over HTTP.

The view is always driven by the real ``ArgoClient`` against the canned server
(tests/canned_server.py), which requires the token below. ``make_workflow`` builds a chain of
tasks in the server's JSON shape (strings for times, null while running); ``script_polls`` and
``serve_logs`` script the two routes a poll reads; ``FaultyClient`` injects what no HTTP answer
can (an unexpected exception, an error whose text carries the token) into an otherwise real client.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

from hera_magics.argo import fnv32a
from hera_magics.client import ArgoClient
from hera_magics.config import ArgoConfig, Secret
from hera_magics.view.widget import StatusView
from tests.canned_server import Answer, CannedServer, Recorded

NAMESPACE = "argo"
NAME = "wf"
WORKFLOW_PATH = f"/api/v1/workflows/{NAMESPACE}/{NAME}"
LOG_PATH = f"{WORKFLOW_PATH}/log"
TOKEN = "s3cr3t-token-value-0123456789"
ACTIONS = ("stop", "terminate", "retry")


def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Wait until ``predicate()`` holds; the deadline only bounds how long a failure takes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


# ---------------------------------------------------------------------------------------------
# Workflow JSON in the server's shape (strings for times, null while running).


def make_workflow(
    phase: str,
    tasks: list[tuple[str, str, str]],
    *,
    message: str = "",
    name: str = NAME,
) -> dict[str, Any]:
    """A DAG workflow whose tasks (name, phase, message) form a chain, as Argo reports it."""
    nodes: dict[str, Any] = {}
    ids = [f"{name}-{fnv32a(f'{name}.{task}')}" for task, _, _ in tasks]
    running = phase not in ("Succeeded", "Failed", "Error")
    nodes[name] = {
        "id": name,
        "name": name,
        "displayName": name,
        "type": "DAG",
        "templateName": "main",
        "phase": phase,
        "startedAt": "2024-05-01T10:00:00Z",
        "finishedAt": None if running else "2024-05-01T10:05:00Z",
        "children": ids[:1],
    }
    for index, (task, task_phase, task_message) in enumerate(tasks):
        node: dict[str, Any] = {
            "id": ids[index],
            "name": f"{name}.{task}",
            "displayName": task,
            "type": "Skipped" if task_phase == "Omitted" else "Pod",
            "templateName": task,
            "boundaryID": name,
            "phase": task_phase,
            "startedAt": f"2024-05-01T10:0{index}:00Z",
            "finishedAt": None if task_phase == "Running" else f"2024-05-01T10:0{index}:30Z",
        }
        if task_message:
            node["message"] = task_message
        if index + 1 < len(tasks):
            node["children"] = [ids[index + 1]]
        nodes[ids[index]] = node
    status: dict[str, Any] = {
        "phase": phase,
        "startedAt": "2024-05-01T10:00:00Z",
        "finishedAt": None if running else "2024-05-01T10:05:00Z",
        "nodes": nodes,
    }
    if message:
        status["message"] = message
    return {
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "annotations": {"workflows.argoproj.io/pod-name-format": "v2"},
        },
        "status": status,
    }


def pod_of(task: str, name: str = NAME) -> str:
    """The v2 pod name of a top-level task whose template has the task's name."""
    return f"{name}-{task}-{fnv32a(f'{name}.{task}')}"


RUNNING = make_workflow("Running", [("prepare", "Succeeded", ""), ("train", "Running", "")])
RUNNING_LATER = make_workflow(
    "Running", [("prepare", "Succeeded", ""), ("train", "Succeeded", ""), ("report", "Running", "")]
)
FAILED = make_workflow(
    "Failed",
    [
        ("prepare", "Succeeded", ""),
        ("train", "Failed", "main: Error (exit code 1)"),
        ("report", "Omitted", "omitted: depends condition not met"),
    ],
)
SUCCEEDED = make_workflow("Succeeded", [("prepare", "Succeeded", ""), ("train", "Succeeded", "")])

TRACEBACK = "\n".join(
    ["step %d" % number for number in range(60)]
    + ["Traceback (most recent call last):", '  File "<cell>", line 3', "ValueError: <bad> & worse"]
)


# ---------------------------------------------------------------------------------------------
# Serving them.


def serve_view_routes(server: CannedServer) -> None:
    """What a test does not script: the workflow Running, no logs, every action accepted."""
    script_polls(server, (200, RUNNING))
    serve_logs(server, {})
    for action in ACTIONS:
        server.script("PUT", f"{WORKFLOW_PATH}/{action}", Answer(200, RUNNING))


def script_polls(server: CannedServer, *answers: tuple[int, Any], gate: threading.Event | None = None,
                 path: str = WORKFLOW_PATH) -> None:
    """Answer the polls of ``path`` with ``(status, body)`` in order, the last one repeating;
    with ``gate``, each answer waits until the test sets it."""
    server.script("GET", path, *[Answer(status, body, gate=gate) for status, body in answers])


def serve_logs(server: CannedServer, logs: dict[str, str], path: str = LOG_PATH) -> None:
    """Answer the log route with the NDJSON lines of the pod asked for (nothing for other pods)."""

    def answer(request: Recorded) -> Answer:
        pod = request.param("podName") or ""
        lines = logs.get(pod, "").splitlines()
        return Answer(200, "".join(json.dumps({"result": {"content": line, "podName": pod}}) + "\n" for line in lines))

    server.script("GET", path, answer)


def argo_client(url: str) -> ArgoClient:
    """The real client; no client-side retries, so each scripted answer reaches the view."""
    return ArgoClient(ArgoConfig(host=url, token=Secret(TOKEN), namespace=NAMESPACE), timeout=30.0, retries=0)


class FaultyClient(ArgoClient):
    """The real client, except that its n-th ``get_workflow`` raises ``faults[n]`` (counted from 1)."""

    def __init__(self, url: str, faults: dict[int, BaseException]) -> None:
        super().__init__(ArgoConfig(host=url, token=Secret(TOKEN), namespace=NAMESPACE), timeout=30.0, retries=0)
        self.faults = faults
        self.polls = 0

    def get_workflow(self, name: str, **options: Any) -> dict[str, Any]:
        self.polls += 1
        if self.polls in self.faults:
            raise self.faults[self.polls]
        return super().get_workflow(name, **options)


def new_view(views: list[StatusView], source: ArgoClient, **options: Any) -> StatusView:
    options.setdefault("poll_interval", 0.01)
    options.setdefault("max_interval", 0.05)
    view = StatusView(source, NAME, NAMESPACE, **options)
    views.append(view)
    return view


def workflow_gets(server: CannedServer) -> list[Recorded]:
    return server.requests_to("GET", WORKFLOW_PATH)


def widget_messages(view: StatusView) -> list[Any]:
    """Record every comm message the view's widgets send to the front end from now on."""
    sent: list[Any] = []
    stack: list[Any] = [view.widget]
    while stack:
        item = stack.pop()
        stack.extend(getattr(item, "children", ()))
        original = item.comm.send

        def record(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            sent.append(kwargs.get("data", args[0] if args else None))
            return _original(*args, **kwargs)

        item.comm.send = record
    return sent
