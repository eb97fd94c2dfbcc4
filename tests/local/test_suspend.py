"""Suspend templates and suspending/resuming through the API, on a real engine process.

Expected outcomes are Argo v4.0.5's, from argoproj/argo-workflows: ``executeSuspend`` and
``addRawOutputFields`` (``workflow/controller/operator.go``), ``ShouldSuspend`` in ``operate``,
``SuspendWorkflow``/``ResumeWorkflow``/``updateSuspendedNode``/``StopWorkflow``
(``workflow/util/util.go``), the Argo Server's ``workflow_server.go``, and the e2e tests named
in each test. Before, suspend templates were refused and suspend/resume/set answered 501.
"""

from __future__ import annotations

from typing import Any

from tests.local.test_conformance_steps import PASS, echo, step, steps
from tests.local_helpers import error_of, nodes_by_display_name, shell, workflow


def approve(**options: Any) -> dict[str, Any]:
    return {"name": "approve", "suspend": options.pop("suspend", {}), **options}


def suspended_node(engine, name: str, display_name: str) -> dict[str, Any]:
    """Wait until the node ``display_name`` is a running Suspend node (a new workflow may have no
    ``status.nodes`` yet)."""
    running = engine.wait_until(
        name, lambda wf: wf["status"].get("nodes") is not None
        and (nodes_by_display_name(wf).get(display_name) or {}).get("phase") == "Running",
        what=f"{display_name} to be suspended")
    return nodes_by_display_name(running)[display_name]


def put(engine, name: str, action: str, body: dict[str, Any] | None = None):
    return engine.request("PUT", f"api/v1/workflows/argo/{name}/{action}", json=body or {})


def test_a_suspend_with_a_duration_resumes_itself_with_its_output_defaults(engine):
    # Argo's e2e TestSuspendNodeTimeoutWithDefaultValue (test/e2e/suspend_test.go): after the
    # duration the node Succeeds, its supplied output takes its default, the next step reads it;
    # progress counts the Suspend node (2/2).
    document = workflow([
        steps([[step("approve", "approve")],
               [step("release", "echo", arguments={"text": "{{steps.approve.outputs.parameters.message}}"})]]),
        approve(suspend={"duration": "1s"},
                outputs={"parameters": [{"name": "message",
                                         "valueFrom": {"default": "default message", "supplied": {}}}]}),
        echo()])
    name = engine.submit(document)
    node = suspended_node(engine, name, "approve")
    assert node["type"] == "Suspend"
    done = engine.wait(name)
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded" and done["status"]["progress"] == "2/2"
    assert nodes["approve"]["outputs"]["parameters"] == [{"name": "message", "value": "default message"}]
    assert nodes["release"]["inputs"]["parameters"][0]["value"] == "default message"


def test_a_suspend_whose_output_has_no_default_errs_when_its_duration_ends(engine):
    # Argo's e2e TestSuspendNodeTimeoutWithoutDefaultValue: OverrideOutputParametersWithDefault
    # fails, the node errs with this message and the workflow Fails.
    document = workflow([
        steps([[step("approve", "approve")],
               [step("release", "echo", arguments={"text": "{{steps.approve.outputs.parameters.message}}"})]]),
        approve(suspend={"duration": "0"}, outputs={"parameters": [{"name": "message", "valueFrom": {"supplied": {}}}]}),
        echo()])
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed"
    assert nodes["approve"]["phase"] == "Error"
    assert nodes["approve"]["message"] == ("raw output parameter 'message' has not been set and does not have a "
                                           "default value")
    assert "release" not in nodes


def test_resume_by_node_selector_and_stop_by_node_selector(engine):
    # Argo's e2e TestNodeSuspendResume (test/e2e/cli_test.go, testdata/node-suspend.yaml): resume
    # the node whose input tag matches, then stop the next one with a message: that node Fails
    # and so does the workflow, with "child '...' failed".
    suspend = {"name": "suspend", "inputs": {"parameters": [{"name": "tag"}]}, "suspend": {}}
    document = workflow([
        steps([[step("step1", "echo", arguments={"text": "tag1"})],
               [step("suspend1", "suspend", arguments={"tag": "suspend1-{{steps.step1.outputs.result}}"})],
               [step("suspend2", "suspend", arguments={"tag": "suspend2-{{steps.step1.outputs.result}}"})]]),
        suspend, echo()])
    name = engine.submit(document)
    suspended_node(engine, name, "suspend1")
    missing = put(engine, name, "resume", {"nodeFieldSelector": "inputs.parameters.tag.value=nothing"})
    assert error_of(missing) == (500, 13, "currently, set only targets suspend nodes: no suspend nodes matching "
                                          "nodeFieldSelector: inputs.parameters.tag.value=nothing")
    answer = put(engine, name, "resume", {"nodeFieldSelector": "inputs.parameters.tag.value=suspend1-tag1"})
    assert answer.status_code == 200, answer.text
    suspended_node(engine, name, "suspend2")
    answer = put(engine, name, "stop", {"nodeFieldSelector": "inputs.parameters.tag.value=suspend2-tag1",
                                        "message": "because"})
    assert answer.status_code == 200, answer.text
    done = engine.wait(name)
    nodes = nodes_by_display_name(done)
    assert nodes["suspend1"]["phase"] == "Succeeded"
    assert (nodes["suspend2"]["phase"], nodes["suspend2"]["message"]) == ("Failed", "because")
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == f"child '{nodes['suspend2']['id']}' failed"


def test_set_gives_a_suspended_node_its_output(engine):
    # examples/suspend-template-outputs.yaml and the Argo Server's SetWorkflow: "argo node set
    # --output-parameter message=..." sets a supplied output; resume then lets the workflow go on.
    document = workflow([
        steps([[step("approve", "approve")],
               [step("release", "echo", arguments={"text": "{{steps.approve.outputs.parameters.message}}"})]]),
        approve(outputs={"parameters": [{"name": "message", "valueFrom": {"supplied": {}}}]}),
        echo()])
    name = engine.submit(document)
    suspended_node(engine, name, "approve")
    bad_phase = put(engine, name, "set", {"nodeFieldSelector": "displayName=approve", "phase": "Running"})
    assert error_of(bad_phase) == (400, 3, "Running is an invalid phase to set to")
    unknown = put(engine, name, "set", {"nodeFieldSelector": "displayName=approve",
                                        "outputParameters": '{"other": "x"}'})
    assert error_of(unknown)[2] == "node is not expecting output parameter 'other'"
    answer = put(engine, name, "set", {"nodeFieldSelector": "displayName=approve",
                                       "outputParameters": '{"message": "ship it"}'})
    assert answer.status_code == 200, answer.text
    assert put(engine, name, "resume", {"nodeFieldSelector": "displayName=approve"}).status_code == 200
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded"
    assert nodes_by_display_name(done)["release"]["inputs"]["parameters"][0]["value"] == "ship it"


def test_resume_without_an_output_value_fails_and_changes_nothing(engine):
    # ResumeWorkflow without a selector overrides outputs with their defaults; one without a
    # default makes the resume fail (the Argo Server answers with the error, code Internal).
    document = workflow([steps([[step("approve", "approve")]]),
                         approve(outputs={"parameters": [{"name": "message", "valueFrom": {"supplied": {}}}]})])
    name = engine.submit(document)
    suspended_node(engine, name, "approve")
    answer = put(engine, name, "resume")
    assert error_of(answer) == (500, 13, "raw output parameter 'message' has not been set and does not have a "
                                         "default value")
    assert nodes_by_display_name(engine.get(name))["approve"]["phase"] == "Running"
    assert put(engine, name, "stop").status_code == 200
    done = engine.wait(name)
    nodes = nodes_by_display_name(done)
    assert (nodes["approve"]["phase"], nodes["approve"]["message"]) == ("Failed", "Stopped with strategy 'Stop'")
    assert done["status"]["phase"] == "Failed"


def test_a_suspended_workflow_starts_nothing_until_resumed(engine, tmp_path):
    # Argo's e2e TestWorkflowSuspendResume and operate's ShouldSuspend: with spec.suspend the
    # running step goes on but the next group is not opened; resume clears spec.suspend and the
    # workflow Succeeds. Suspending a completed workflow fails ("cannot suspend completed
    # workflows", SuspendWorkflow).
    gate = tmp_path / "gate"
    wait = shell("wait", f"while [ ! -e {gate} ]; do sleep 0.05; done")
    name = engine.submit(workflow([steps([[step("first", "wait")], [step("second", "pass")]]), wait, PASS]))
    engine.wait_until(name, lambda wf: "first" in nodes_by_display_name(wf) if wf["status"].get("nodes") else False,
                      what="the first step")
    suspended = put(engine, name, "suspend")
    assert suspended.status_code == 200 and suspended.json()["spec"]["suspend"] is True
    gate.touch()
    engine.wait_until(name, lambda wf: nodes_by_display_name(wf)["first"]["phase"] == "Succeeded",
                      what="the first step to end")
    held = engine.get(name)
    assert held["status"]["phase"] == "Running" and "second" not in nodes_by_display_name(held)
    resumed = put(engine, name, "resume")
    assert resumed.status_code == 200 and "suspend" not in resumed.json()["spec"]
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded"
    assert error_of(put(engine, name, "suspend")) == (500, 13, "cannot suspend completed workflows")


def test_spec_suspend_at_create_waits_for_a_resume(engine):
    # operate: a workflow created with spec.suspend: true is Running and creates no node.
    name = engine.submit(workflow([steps([[step("only", "pass")]]), PASS], suspend=True))
    running = engine.wait_until(name, lambda wf: wf["status"].get("phase") == "Running", what="Running")
    assert not running["status"].get("nodes")
    assert put(engine, name, "resume").status_code == 200
    assert engine.wait(name)["status"]["phase"] == "Succeeded"
