"""``spec.onExit`` on the local engine, as Argo v4.0.5's ``operate`` runs it
(``workflow/controller/operator.go`` in argoproj/argo-workflows; ``examples/exit-handlers.yaml``).

The exit handler is the node ``<workflow>.onExit`` (no boundary, ``nodeFlag.hooked``); it runs
after the entrypoint whatever its phase, gets the workflow's arguments, and may read
``{{workflow.status}}`` and ``{{workflow.failures}}`` (a JSON list quoted with Go's
``strconv.Quote``).
"""

from __future__ import annotations

import json

import pytest

from hera_magics.argo import pod_name

from tests.local_helpers import dag, nodes_by_display_name, python_script, shell, task, workflow


def notify() -> dict:
    return python_script("notify", "print('{{inputs.parameters.status}}')",
                         inputs={"status": "{{workflow.status}}", "failures": "{{workflow.failures}}"})


def exit_node(done: dict) -> dict:
    return nodes_by_display_name(done)[f"{done['metadata']['name']}.onExit"]


def test_the_exit_handler_runs_after_success(engine):
    document = workflow([dag([task("a", "ok")]), shell("ok", "true"), notify()], onExit="notify")
    done = engine.wait(engine.submit(document))
    node = exit_node(done)
    name = done["metadata"]["name"]
    assert done["status"]["phase"] == "Succeeded"
    assert node["name"] == node["displayName"] == f"{name}.onExit"
    assert (node["type"], node["phase"], node["templateName"]) == ("Pod", "Succeeded", "notify")
    assert node["nodeFlag"] == {"hooked": True} and "boundaryID" not in node
    values = {parameter["name"]: parameter["value"] for parameter in node["inputs"]["parameters"]}
    assert values == {"status": "Succeeded", "failures": '"null"'}
    # Not part of the entrypoint's graph: the root's progress does not count it.
    assert done["status"]["nodes"][name]["progress"] == "1/1" and done["status"]["progress"] == "2/2"


def test_the_exit_handler_gets_the_failures_as_argo_quotes_them(engine):
    document = workflow([dag([task("a", "ok"), task("b", "boom", depends="a")]), shell("ok", "true"),
                         shell("boom", "exit 3"), notify()], onExit="notify")
    done = engine.wait(engine.submit(document))
    node = exit_node(done)
    name = done["metadata"]["name"]
    assert done["status"]["phase"] == "Failed"
    assert node["phase"] == "Succeeded"  # it runs whatever the entrypoint's phase
    values = {parameter["name"]: parameter["value"] for parameter in node["inputs"]["parameters"]}
    assert values["status"] == "Failed"
    quoted = values["failures"]
    assert quoted.startswith('"[{') and '\\"displayName\\":' in quoted  # strconv.Quote of the JSON
    failures = json.loads(json.loads(quoted))
    by_name = {failure["displayName"]: failure for failure in failures}
    assert set(by_name) == {"b", name}  # the failed pod and the failed root DAG
    boom = nodes_by_display_name(done)["b"]
    assert by_name["b"] == {"displayName": "b", "message": "main: Error (exit code 3)", "templateName": "boom",
                            "phase": "Failed", "podName": pod_name(name, boom["name"], "boom"),
                            "finishedAt": boom["finishedAt"]}


def test_a_failed_exit_handler_fails_a_successful_workflow(engine):
    # operate: a Succeeded root with a Failed exit handler marks the workflow Failed with the
    # exit handler's message.
    document = workflow([dag([task("a", "ok")]), shell("ok", "true"), shell("bad-exit", "exit 4")],
                        onExit="bad-exit")
    done = engine.wait(engine.submit(document))
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == "main: Error (exit code 4)"


def test_an_exit_handler_can_be_a_dag_that_branches_on_the_status(engine):
    # examples/exit-handlers.yaml: the exit handler's tasks use when on {{workflow.status}}.
    handler = dag([
        task("celebrate", "ok", when="{{workflow.status}} == Succeeded"),
        task("cry", "ok", when="{{workflow.status}} != Succeeded"),
    ], name="handler")
    document = workflow([dag([task("a", "boom")]), shell("ok", "true"), shell("boom", "exit 1"), handler],
                        onExit="handler")
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed"
    assert exit_node(done)["type"] == "DAG" and exit_node(done)["phase"] == "Succeeded"
    assert nodes["celebrate"]["phase"] == "Skipped" and nodes["cry"]["phase"] == "Succeeded"
    assert nodes["cry"]["boundaryID"] == exit_node(done)["id"]


@pytest.mark.parametrize(("action", "runs"), [("stop", True), ("terminate", False)])
def test_stop_still_runs_the_exit_handler_and_terminate_does_not(engine, tmp_path, action, runs):
    # operate: the exit handler runs when GetShutdownStrategy().ShouldExecute(true): after Stop,
    # not after Terminate.
    started = tmp_path / "started"
    busy = shell("busy", f"touch {started}; sleep 30")
    document = workflow([dag([task("a", "busy")]), busy, notify()], onExit="notify")
    name = engine.submit(document)
    engine.wait_until(name, lambda wf: started.exists(), what="the task to start")
    assert engine.request("PUT", f"api/v1/workflows/argo/{name}/{action}", json={}).status_code == 200
    done = engine.wait(name)
    strategy = "Stop" if action == "stop" else "Terminate"
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == f"Stopped with strategy '{strategy}'"
    nodes = nodes_by_display_name(done)
    if runs:
        values = {parameter["name"]: parameter["value"] for parameter in exit_node(done)["inputs"]["parameters"]}
        assert exit_node(done)["phase"] == "Succeeded" and values["status"] == "Failed"
    else:
        assert f"{name}.onExit" not in nodes
