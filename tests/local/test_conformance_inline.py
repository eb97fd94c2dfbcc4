"""Inline templates (``inline:`` on a DAG task and on a step), as Argo v4.0.5 runs them.

Argo's sources: ``examples/dag-inline-workflow.yaml`` and ``examples/steps-inline-workflow.yaml``
(both Succeed in Argo's CI; their argosay image has no command the engine can run, so here the
inline template runs ``sh``); ``test/e2e/workflow_test.go:TestWorkflowInlinePodName`` (the pod of
an inline template has no ``--`` in its name: no template name in it); ``initializeNode`` in
``workflow/controller/operator.go`` (a node's ``templateName`` is its holder's ``template``, empty
for an inline one); ``validate.go`` (an inline template's inputs are in its holder's scope).
"""

from __future__ import annotations

from hera_magics.argo import pod_name_of_node
from tests.local_helpers import dag, error_of, nodes_by_display_name, workflow


def inline_echo(text: str) -> dict:
    return {"container": {"image": "alpine:3.20", "command": ["sh", "-c", f"echo {text}"]}}


def test_dag_task_runs_its_inline_template(engine):
    name = engine.submit(workflow([dag([
        {"name": "a", "inline": inline_echo("hello")},
        {"name": "b", "depends": "a", "inline": {
            "inputs": {"parameters": [{"name": "word"}]},
            "script": {"image": "python:3.11", "command": ["python"], "source": "print('{{inputs.parameters.word}}')"},
        }, "arguments": {"parameters": [{"name": "word", "value": "{{tasks.a.outputs.result}}"}]}},
    ])], generate_name="dag-inline-"))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    for display in ("a", "b"):
        node = nodes[display]
        assert node["type"] == "Pod" and node["phase"] == "Succeeded"
        assert "templateName" not in node  # the holder's template is empty
        assert "--" not in pod_name_of_node(name, node)
        assert pod_name_of_node(name, node).startswith(f"{name}-")
    assert nodes["b"]["inputs"]["parameters"] == [{"name": "word", "value": "hello"}]
    logs = engine.request("GET", f"api/v1/workflows/argo/{name}/log",
                          params={"logOptions.container": "main", "podName": pod_name_of_node(name, nodes["b"])})
    assert "hello" in logs.text


def test_step_runs_its_inline_template(engine):
    name = engine.submit(workflow([{"name": "main", "steps": [[{"name": "a", "inline": inline_echo("hi")}]]}],
                                  generate_name="steps-inline-"))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    node = nodes_by_display_name(done)["a"]
    assert node["type"] == "Pod" and "templateName" not in node
    assert "--" not in pod_name_of_node(name, node)


def test_inline_dag_inside_a_task_runs_its_own_tasks(engine):
    inner = {"dag": {"tasks": [{"name": "x", "inline": inline_echo("x")}, {"name": "y", "depends": "x",
                                                                           "inline": inline_echo("y")}]}}
    done = engine.wait(engine.submit(workflow([dag([{"name": "outer", "inline": inner}])])))
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    assert nodes["outer"]["type"] == "DAG"
    assert nodes["x"]["phase"] == nodes["y"]["phase"] == "Succeeded"
    assert nodes["x"]["boundaryID"] == nodes["outer"]["id"]


def test_inline_template_is_checked_at_create_and_named_by_its_place(engine):
    answer = engine.create(workflow([dag([{"name": "a", "inline": {"container": {"image": "alpine:3.20"}}}])]))
    status, _, message = error_of(answer)
    assert status == 400
    assert message.startswith("templates.main.tasks.a.inline.container.command")
    answer = engine.create(workflow([dag([{"name": "a", "template": "x", "inline": inline_echo("a")}]),
                                     {"name": "x", **inline_echo("x")}]))
    assert error_of(answer)[0] == 400
