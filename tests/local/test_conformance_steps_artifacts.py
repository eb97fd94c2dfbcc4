"""Steps templates together with artifacts, WorkflowTemplates and suspend, on a real engine process.

Each feature has its own tests (``test_conformance_steps``, ``test_conformance_artifacts``,
``test_conformance_templates``, ``test_suspend``); these check that they compose as in Argo
v4.0.5. The sources that fix the outcomes, in argoproj/argo-workflows:
``workflow/controller/steps.go`` (``resolveReferences``: "Step 2: replace all artifact
references" through ``wfScope.resolveArtifact``; ``executeSteps``: the StepGroup node's
``stepTemplateScope``, ``tmplCtx.GetTemplateScope()``), ``operator.go``
(``getTemplateOutputsFromScope`` for a steps template's output artifacts, ``initializeNode``,
``needsStoredWfSpecUpdate``/``setStoredWfSpec`` for the suspend and shutdown of a
``workflowTemplateRef`` workflow), ``workflow/validate/validate.go`` (``validateSteps``,
``addOutputsToScope``) and the examples named in each test (``examples/`` of the same
checkout).
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.local.test_conformance_steps import step, steps
from tests.local.test_suspend import approve, put, suspended_node
from tests.local_helpers import error_of, nodes_by_display_name, shell, workflow

TEMPLATES = "api/v1/workflow-templates/argo"


def hello_world_to_file() -> dict[str, Any]:
    return {**shell("hello-world-to-file", "echo hello world | tee /tmp/hello_world.txt"),
            "outputs": {"artifacts": [{"name": "hello-art", "path": "/tmp/hello_world.txt"}]}}


def print_message_from_file() -> dict[str, Any]:
    return {**shell("print-message-from-file", "cat /tmp/message"),
            "inputs": {"artifacts": [{"name": "message", "path": "/tmp/message"}]}}


def passed(source: str, name: str = "message") -> dict[str, Any]:
    return {"artifacts": [{"name": name, "from": f"{{{{{source}}}}}"}]}


def print_message() -> dict[str, Any]:
    return {"name": "print-message", "inputs": {"parameters": [{"name": "message"}]},
            "container": {"image": "busybox", "command": ["echo"], "args": ["{{inputs.parameters.message}}"]}}


def logs_of(engine, name: str) -> str:
    return engine.request("GET", f"api/v1/workflows/argo/{name}/log", params={"logOptions.container": "main"}).text


def create_template(engine, template: dict[str, Any]) -> None:
    answer = engine.request("POST", TEMPLATES, json={"template": template})
    assert answer.status_code == 200, answer.text


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- artifacts between steps ----------------------------------------------------------------------------


def test_artifact_passing_between_steps(engine):
    # examples/artifact-passing.yaml: the second step's argument artifact is
    # {{steps.generate-artifact.outputs.artifacts.hello-art}}; steps.go resolveReferences
    # replaces it by the artifact the first step saved (its key), under the argument's name,
    # and the consumer's node records it with its own path (ProcessArgs).
    main = steps([[step("generate-artifact", "hello-world-to-file")],
                  [step("consume-artifact", "print-message-from-file")
                   | {"arguments": passed("steps.generate-artifact.outputs.artifacts.hello-art")}]],
                 name="artifact-example")
    document = workflow([main, hello_world_to_file(), print_message_from_file()], entrypoint="artifact-example")
    name = engine.submit(document)
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    saved = nodes["generate-artifact"]["outputs"]["artifacts"]
    assert [artifact["name"] for artifact in saved] == ["hello-art"]
    key = saved[0]["s3"]["key"]
    assert key.startswith(f"{name}/") and key.endswith("/hello-art.tgz")
    assert nodes["consume-artifact"]["inputs"]["artifacts"] == [
        {"name": "message", "path": "/tmp/message", "s3": {"key": key}}]
    assert logs_of(engine, name).count("hello world") == 2


def test_a_steps_template_outputs_its_steps_artifact_to_a_dag_task(engine):
    # operator.go getTemplateOutputsFromScope: a steps template's output artifact with
    # from: {{steps.NAME.outputs.artifacts.X}} is that step's artifact under the output's name;
    # the DAG task after it reads it as {{tasks.T.outputs.artifacts.OUT}} (dag.go).
    inner = steps([[step("make", "hello-world-to-file")]], name="inner",
                  outputs={"artifacts": [{"name": "result", "from": "{{steps.make.outputs.artifacts.hello-art}}"}]})
    main = {"name": "main", "dag": {"tasks": [
        {"name": "produce", "template": "inner"},
        {"name": "read", "template": "print-message-from-file", "depends": "produce",
         "arguments": passed("tasks.produce.outputs.artifacts.result")}]}}
    name = engine.submit(workflow([main, inner, hello_world_to_file(), print_message_from_file()]))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    made = nodes["make"]["outputs"]["artifacts"][0]
    assert nodes["produce"]["type"] == "Steps"
    assert nodes["produce"]["outputs"]["artifacts"] == [{**made, "name": "result"}]
    assert nodes["read"]["inputs"]["artifacts"] == [{"name": "message", "path": "/tmp/message", "s3": made["s3"]}]
    assert logs_of(engine, name).count("hello world") == 2


def test_a_steps_input_artifact_is_passed_on_to_its_step(engine):
    # A steps template's input artifact reaches its steps as {{inputs.artifacts.NAME}}
    # (wfScope holds inputs.artifacts.*, as for a DAG); raw data is saved nowhere but arrives
    # as the file (examples/input-artifact-raw.yaml's artifact, here given by the caller).
    relay = steps([[step("show", "print-message-from-file") | {"arguments": passed("inputs.artifacts.message")}]],
                  name="main", inputs={"artifacts": [{"name": "message"}]})
    document = workflow([relay, print_message_from_file()],
                        arguments={"artifacts": [{"name": "message", "raw": {"data": "raw greetings\n"}}]})
    name = engine.submit(document)
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert nodes_by_display_name(done)["show"]["inputs"]["artifacts"] == [
        {"name": "message", "path": "/tmp/message", "raw": {"data": "raw greetings\n"}}]
    assert "raw greetings" in logs_of(engine, name)


def test_an_artifact_of_a_later_step_is_refused_at_create(engine):
    # validate.go validateSteps: a step's references resolve against the scope of the steps
    # before it (addOutputsToScope), so an artifact of a step that has not run yet, or one its
    # template does not declare, is "failed to resolve".
    later = steps([[step("consume", "print-message-from-file")
                    | {"arguments": passed("steps.generate.outputs.artifacts.hello-art")}],
                   [step("generate", "hello-world-to-file")]])
    status, code, message = error_of(engine.create(workflow([later, hello_world_to_file(), print_message_from_file()])))
    assert (status, code) == (400, 3)
    assert "failed to resolve {{steps.generate.outputs.artifacts.hello-art}}" in message
    undeclared = steps([[step("generate", "hello-world-to-file")],
                        [step("consume", "print-message-from-file")
                         | {"arguments": passed("steps.generate.outputs.artifacts.nothing")}]])
    status, _, message = error_of(engine.create(workflow([undeclared, hello_world_to_file(),
                                                          print_message_from_file()])))
    assert status == 400 and "failed to resolve {{steps.generate.outputs.artifacts.nothing}}" in message


def test_an_optional_output_a_step_did_not_save_is_unable_to_resolve(engine):
    # steps.go resolveReferences: resolveArtifact fails for an artifact the step does not have
    # (an optional output left out), and the step group errs ("unable to resolve references"):
    # the workflow does not wait for it.
    maybe = {**shell("maybe", "true"),
             "outputs": {"artifacts": [{"name": "hello-art", "path": "/tmp/never.txt", "optional": True}]}}
    main = steps([[step("maybe", "maybe")],
                  [step("consume", "print-message-from-file")
                   | {"arguments": passed("steps.maybe.outputs.artifacts.hello-art")}]])
    done = engine.wait(engine.submit(workflow([main, maybe, print_message_from_file()])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] in ("Failed", "Error")
    assert "outputs" not in nodes["maybe"] or not nodes["maybe"]["outputs"].get("artifacts")
    assert "consume" not in nodes
    assert "steps.maybe.outputs.artifacts.hello-art" in nodes["[1]"]["message"]


def test_volume_claim_templates_with_steps(engine):
    # examples/volumes-pvc.yaml: a claim template is one volume for the whole workflow; the
    # second step reads what the first wrote there (operator.go createPVCs).
    def mounted(name: str, script: str) -> dict[str, Any]:
        template = shell(name, script)
        template["container"]["volumeMounts"] = [{"name": "workdir", "mountPath": "/mnt/vol"}]
        return template
    main = steps([[step("generate", "hello-world-to-file")], [step("print", "print-message-from-file")]])
    claim = {"metadata": {"name": "workdir"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    document = workflow([main,
                         mounted("hello-world-to-file", "echo hello world | tee /mnt/vol/hello_world.txt"),
                         mounted("print-message-from-file", "cat /mnt/vol/hello_world.txt")],
                        volumeClaimTemplates=[claim])
    name = engine.submit(document)
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert logs_of(engine, name).count("hello world") == 2


# -- templateRef in steps ---------------------------------------------------------------------------------


def test_steps_run_referenced_templates_with_argos_scopes(engine):
    # examples/workflow-template/steps.yaml with templates.yaml's workflow-template-print-message
    # and workflow-template-inner-steps. A step with templateRef runs the template of the
    # WorkflowTemplate; its node records the templateRef and its caller's scope (initializeNode);
    # inside inner-steps, the StepGroup nodes and the steps take that template's scope,
    # namespaced/<template> (steps.go executeSteps: stepTemplateScope), and a step naming
    # template: print-message runs inner-steps' own print-message.
    printer, inner = unique("print-message"), unique("inner-steps")
    create_template(engine, {"metadata": {"name": printer},
                             "spec": {"entrypoint": "print-message", "templates": [print_message()]}})

    def referenced(name: str, holder: str, template: str, message: str) -> dict[str, Any]:
        return {"name": name, "templateRef": {"name": holder, "template": template},
                "arguments": {"parameters": [{"name": "message", "value": message}]}}
    inner_steps = {"name": "inner-steps", "steps": [
        [referenced("inner-hello1", printer, "print-message", "inner-hello1")],
        [referenced("inner-hello2a", printer, "print-message", "inner-hello2a"),
         step("inner-hello2b", "print-message", arguments={"message": "inner-hello2b"})]]}
    create_template(engine, {"metadata": {"name": inner}, "spec": {"templates": [print_message(), inner_steps]}})
    main = {"name": "hello-hello-hello", "steps": [
        [referenced("hello1", printer, "print-message", "hello1")],
        [referenced("hello2a", inner, "inner-steps", "hello2a"),
         referenced("hello2b", printer, "print-message", "hello2b")]]}
    name = engine.submit(workflow([main], entrypoint="hello-hello-hello"))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    local = f"local/{name}"
    assert nodes["hello1"]["templateRef"] == {"name": printer, "template": "print-message"}
    assert nodes["hello1"]["templateScope"] == local and "templateName" not in nodes["hello1"]
    assert (nodes["hello2a"]["type"], nodes["hello2a"]["templateScope"]) == ("Steps", local)
    assert nodes["hello2a"]["templateRef"] == {"name": inner, "template": "inner-steps"}
    inner_scope = f"namespaced/{inner}"
    inner_groups = [node for node in done["status"]["nodes"].values()
                    if node["type"] == "StepGroup" and node["boundaryID"] == nodes["hello2a"]["id"]]
    assert len(inner_groups) == 2 and {group["templateScope"] for group in inner_groups} == {inner_scope}
    assert nodes["inner-hello2b"]["templateName"] == "print-message"
    assert nodes["inner-hello2b"]["templateScope"] == inner_scope
    assert nodes["inner-hello1"]["templateRef"] == {"name": printer, "template": "print-message"}
    assert nodes["inner-hello1"]["templateScope"] == inner_scope
    outer_groups = [node for node in done["status"]["nodes"].values()
                    if node["type"] == "StepGroup" and node["boundaryID"] == nodes[name]["id"]]
    assert {group["templateScope"] for group in outer_groups} == {local}
    stored = done["status"]["storedTemplates"]
    assert {f"namespaced/{printer}/print-message", f"namespaced/{inner}/inner-steps",
            f"namespaced/{inner}/print-message"} <= set(stored)
    assert all(message in logs_of(engine, name)
               for message in ("hello1", "inner-hello1", "inner-hello2a", "inner-hello2b", "hello2b"))


def test_a_step_whose_template_ref_cannot_be_resolved_is_refused(engine):
    # validate.go validateTemplateHolder (called for each step by validateSteps): a template
    # that does not exist is "template reference W.X not found"; a step may not name both.
    main = steps([[{"name": "a", "templateRef": {"name": "no-such-template", "template": "x"}}]])
    status, code, message = error_of(engine.create(workflow([main])))
    assert (status, code) == (400, 3) and "template reference no-such-template.x not found" in message
    both = steps([[{"name": "a", "template": "x", "templateRef": {"name": "w", "template": "x"}}]])
    status, _, message = error_of(engine.create(workflow([both])))
    assert status == 400 and "template name cannot be specified with templateRef" in message


def test_an_artifact_passes_between_steps_of_a_referenced_template(engine):
    # A WorkflowTemplate's steps template passing an artifact between its own steps, run through
    # templateRef: the artifacts compose with template scopes (the steps' templates are
    # namespaced/<template>/...; examples/artifact-passing.yaml inside a WorkflowTemplate).
    holder = unique("artifacts")
    main = steps([[step("generate-artifact", "hello-world-to-file")],
                  [step("consume-artifact", "print-message-from-file")
                   | {"arguments": passed("steps.generate-artifact.outputs.artifacts.hello-art")}]],
                 name="artifact-example")
    create_template(engine, {"metadata": {"name": holder},
                             "spec": {"templates": [main, hello_world_to_file(), print_message_from_file()]}})
    caller = steps([[{"name": "run", "templateRef": {"name": holder, "template": "artifact-example"}}]])
    name = engine.submit(workflow([caller]))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    key = nodes["generate-artifact"]["outputs"]["artifacts"][0]["s3"]["key"]
    assert nodes["generate-artifact"]["templateScope"] == f"namespaced/{holder}"
    assert nodes["consume-artifact"]["inputs"]["artifacts"][0]["s3"] == {"key": key}
    assert logs_of(engine, name).count("hello world") == 2


# -- suspend in a workflowTemplateRef workflow -----------------------------------------------------------


def approval_template(name: str) -> dict[str, Any]:
    main = steps([[step("approve", "approve")], [step("release", "print-message", arguments={"message": "released"})]])
    return {"metadata": {"name": name},
            "spec": {"entrypoint": "main", "templates": [main, approve(), print_message()]}}


def test_a_suspend_step_of_a_workflow_template_is_resumed(engine):
    # examples/suspend-template.yaml as a WorkflowTemplate run through workflowTemplateRef: the
    # workflow runs the stored merged spec (setExecWorkflow); its Suspend node waits until
    # PUT .../resume (ResumeWorkflow), then the next step runs. The nodes' scope is local/
    # (the merged spec belongs to no named object).
    holder = unique("approval")
    create_template(engine, approval_template(holder))
    name = engine.submit({"metadata": {"generateName": "approval-"}, "spec": {"workflowTemplateRef": {"name": holder}}})
    node = suspended_node(engine, name, "approve")
    assert (node["type"], node["templateScope"]) == ("Suspend", "local/")
    assert put(engine, name, "resume").status_code == 200
    done = engine.wait(name)
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert nodes["approve"]["phase"] == "Succeeded" and nodes["release"]["phase"] == "Succeeded"
    assert "released" in logs_of(engine, name)


def test_suspend_and_resume_reach_a_workflow_template_ref_workflow(engine, tmp_path):
    # operator.go needsStoredWfSpecUpdate/setStoredWfSpec: when spec.suspend differs from the
    # stored spec's, Argo merges the spec again, so PUT .../suspend holds the next step group of
    # a workflowTemplateRef workflow as of any other (Argo's e2e TestWorkflowSuspendResume), and
    # PUT .../resume lets it go on.
    gate = tmp_path / "gate"
    holder = unique("gated")
    main = steps([[step("first", "wait")], [step("second", "print-message", arguments={"message": "second"})]])
    wait = shell("wait", f"while [ ! -e {gate} ]; do sleep 0.05; done")
    create_template(engine, {"metadata": {"name": holder},
                             "spec": {"entrypoint": "main", "templates": [main, wait, print_message()]}})
    name = engine.submit({"metadata": {"generateName": "gated-"}, "spec": {"workflowTemplateRef": {"name": holder}}})
    engine.wait_until(name, lambda wf: "first" in nodes_by_display_name(wf) if wf["status"].get("nodes") else False,
                      what="the first step")
    assert put(engine, name, "suspend").status_code == 200
    gate.touch()
    engine.wait_until(name, lambda wf: nodes_by_display_name(wf)["first"]["phase"] == "Succeeded",
                      what="the first step to end")
    held = engine.get(name)
    assert held["status"]["phase"] == "Running" and "second" not in nodes_by_display_name(held)
    assert put(engine, name, "resume").status_code == 200
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert nodes_by_display_name(done)["second"]["phase"] == "Succeeded"


def test_stop_reaches_a_suspended_workflow_template_ref_workflow(engine):
    # The same for spec.shutdown: PUT .../stop (StopWorkflow) of a workflowTemplateRef workflow
    # fails its running Suspend node "Stopped with strategy 'Stop'" and the workflow Fails.
    holder = unique("approval")
    create_template(engine, approval_template(holder))
    name = engine.submit({"metadata": {"generateName": "approval-"}, "spec": {"workflowTemplateRef": {"name": holder}}})
    suspended_node(engine, name, "approve")
    assert put(engine, name, "stop").status_code == 200
    done = engine.wait(name)
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed", done["status"]
    assert (nodes["approve"]["phase"], nodes["approve"]["message"]) == ("Failed", "Stopped with strategy 'Stop'")
    assert "release" not in nodes
