"""Workflow JSON shaped like the Argo Server's, and a canned server that serves it.

``argo_workflow`` builds a DAG workflow with Argo's own node ids and v2 pod names, from a list of
tasks; ``serve`` scripts a ``CannedServer`` (tests/canned_server.py) to answer its GETs and its
log requests; ``client_for`` is the real ``ArgoClient`` pointed at that server. Used by the tests
of ``WorkflowRun`` (test_run.py), the kept state (test_history.py) and results (test_results.py).
"""

from __future__ import annotations

import json
from typing import Any

from hera_magics.argo import fnv32a
from hera_magics.client import ArgoClient
from hera_magics.config import ArgoConfig, Secret
from tests.canned_server import Answer, CannedServer, Recorded


TOKEN = "run-test-token-9f8e7d6c5b4a"
NAME = "nb-x7k2p"
WORKFLOW_PATH = f"/api/v1/workflows/argo/{NAME}"


TRACEBACK = [
    "loading data",
    "Traceback (most recent call last):",
    '  File "/argo/staging/script", line 12, in <module>',
    "    train(path, lr)",
    '  File "/argo/staging/script", line 9, in train',
    "    return 1 / 0",
    "ZeroDivisionError: division by zero",
]


STARTED = "2026-03-01T10:00:00Z"
FINISHED = "2026-03-01T10:01:00Z"
RETURN_OUTPUT = {"name": "return", "valueFrom": {"path": "/tmp/hera-magics/return"}}


def argo_workflow(phase: str, tasks: list[dict[str, Any]], name: str = NAME) -> dict[str, Any]:
    """A workflow as the Argo Server returns it: a DAG ``main`` with one Pod node per task.

    Each task is ``{"name", "phase", "message"?, "outputs"?, "depends"?, "returns"?}``; a task
    whose ``phase`` is ``None`` is declared in the spec but has no node yet.
    """
    finished = FINISHED if phase in ("Succeeded", "Failed", "Error") else None
    root = {
        "id": name, "name": name, "displayName": name, "type": "DAG", "templateName": "main",
        "phase": phase or "Running", "startedAt": STARTED, "finishedAt": finished,
        "children": [],
    }
    nodes: dict[str, Any] = {name: root}
    started_tasks = [task for task in tasks if task.get("phase") is not None]
    for task in started_tasks:
        node_id = node_id_of(task["name"], name)
        running = task["phase"] in ("Running", "Pending")
        dependents = [t for t in started_tasks if task["name"] in t.get("depends", [])]
        node = {
            "id": node_id,
            "name": f"{name}.{task['name']}",
            "displayName": task["name"],
            # Argo gives Omitted nodes the type Skipped (notes/argo-api.md §4.6).
            "type": "Skipped" if task["phase"] == "Omitted" else "Pod",
            "templateName": task["name"],
            "templateScope": f"local/{name}",
            "phase": task["phase"],
            "boundaryID": name,
            "startedAt": STARTED,
            "finishedAt": None if running else FINISHED,
            "children": [node_id_of(t["name"], name) for t in dependents],
        }
        if task.get("message"):
            node["message"] = task["message"]
        if task.get("outputs") is not None:
            node["outputs"] = task["outputs"]
        nodes[node_id] = node
        if not task.get("depends"):
            root["children"].append(node_id)

    dag_tasks = []
    templates: list[dict[str, Any]] = [{"name": "main", "dag": {"tasks": dag_tasks}}]
    for task in tasks:
        entry = {"name": task["name"], "template": task["name"]}
        if task.get("depends"):
            entry["depends"] = " && ".join(task["depends"])
        dag_tasks.append(entry)
        script = {"image": "python:3.11", "source": "...", "command": ["python", "-u"]}
        template: dict[str, Any] = {"name": task["name"], "script": script}
        if task.get("returns", True):
            template["outputs"] = {"parameters": [RETURN_OUTPUT]}
        templates.append(template)

    status: dict[str, Any] = {"startedAt": STARTED, "finishedAt": finished, "nodes": nodes}
    if phase:
        status["phase"] = phase
    return {
        "metadata": {
            "name": name,
            "namespace": "argo",
            "creationTimestamp": STARTED,
            "annotations": {"workflows.argoproj.io/pod-name-format": "v2"},
        },
        "spec": {"entrypoint": "main", "templates": templates},
        "status": status,
    }


def node_id_of(task: str, name: str = NAME) -> str:
    """Argo's node id: ``<workflow>-<fnv32a of the node's full name>``."""
    return f"{name}-{fnv32a(name + '.' + task)}"


def pod_of(task: str, name: str = NAME) -> str:
    """Argo's v2 pod name: the node id with the template name after the workflow name."""
    return f"{name}-{task}-{fnv32a(name + '.' + task)}"


def returned(value: Any) -> dict[str, Any]:
    """Outputs of a function task that returned ``value``."""
    return {"exitCode": "0", "parameters": [{**RETURN_OUTPUT, "value": json.dumps(value)}]}


SUCCEEDED_TASKS = [
    {"name": "prepare", "phase": "Succeeded", "outputs": {**returned("/home/me/data.parquet"), "result": "prepared"}},
    {"name": "hello-world", "phase": "Succeeded", "depends": ["prepare"], "outputs": returned({"loss": 0.12})},
    {"name": "report", "phase": "Succeeded", "depends": ["hello-world"], "returns": False,
     "outputs": {"exitCode": "0"}},
]


FAILED_TASKS = [
    {"name": "prepare", "phase": "Succeeded", "outputs": returned("/data")},
    {"name": "train", "phase": "Failed", "depends": ["prepare"], "message": "main: Error (exit code 1)",
     "outputs": {"exitCode": "1"}},
    {"name": "report", "phase": "Omitted", "depends": ["train"], "message": "omitted: depends condition not met"},
]


LOGS = {
    pod_of("prepare"): ["prepared"],
    pod_of("hello-world"): ["epoch 1", "best: 0.12"],
    pod_of("report"): ["best: {'loss': 0.12}"],
    pod_of("train"): TRACEBACK,
}


def log_answer(logs: dict[str, list[str]] = LOGS):
    """The log endpoint: NDJSON lines of the pod asked for (or of every pod)."""
    def answer(request: Recorded) -> Answer:
        pod = request.param("podName")
        pods = [pod] if pod else list(logs)
        body = "".join(
            json.dumps({"result": {"content": line, "podName": p}}) + "\n"
            for p in pods for line in logs.get(p, [])
        )
        return Answer(200, body)
    return answer


def client_for(server: CannedServer, **options: Any) -> ArgoClient:
    config = ArgoConfig(host=server.url, token=Secret(TOKEN), namespace="argo")
    return ArgoClient(config, timeout=5, retries=options.pop("retries", 1), backoff=0.0, **options)


def serve(server: CannedServer, *states: dict[str, Any], logs: dict[str, list[str]] = LOGS) -> None:
    server.script("GET", WORKFLOW_PATH, *[Answer(200, state) for state in states])
    server.script("GET", WORKFLOW_PATH + "/log", log_answer(logs))
