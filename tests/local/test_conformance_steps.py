"""Steps templates on a real engine process, each expected outcome Argo v4.0.5's.

The sources that fix them, in argoproj/argo-workflows: ``workflow/controller/steps.go``
(``executeSteps``, ``executeStepGroup``, ``resolveReferences``, ``expandStepGroup``,
``expandStep``), ``operator.go`` (``initializeNode``'s display names, ``checkParallelism``,
``processAggregateNodeOutputs``, ``getTemplateOutputsFromScope``), ``exit_handler.go``
(``runOnExitNode``), ``workflow/validate/validate.go`` (``validateSteps``) and Argo's e2e tests
named in each test. The engine refused every steps template before (a 400 naming ``steps``).
"""

from __future__ import annotations

from typing import Any

from tests.local_helpers import dag, error_of, nodes_by_display_name, shell, task, workflow

step = task  # a step is written as a DAG task is: name, template, arguments, when, loops


def steps(groups: list[list[dict[str, Any]]], name: str = "main", **options: Any) -> dict[str, Any]:
    return {"name": name, "steps": groups, **options}


def echo() -> dict[str, Any]:
    return {"name": "echo", "inputs": {"parameters": [{"name": "text"}]},
            "container": {"image": "alpine:3.20", "command": ["echo", "{{inputs.parameters.text}}"]}}


PASS = shell("pass", "true")
FAIL = shell("fail", "exit 1")


def by_name(done: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["name"]: node for node in done["status"]["nodes"].values()}


def test_step_groups_run_in_order_with_argos_node_names_and_types(engine):
    # steps.go executeSteps: a Steps node, one StepGroup node NAME[i] per group (display name
    # "[i]", boundary the Steps node), its steps NAME[i].STEP (display name STEP); group 0 below
    # the Steps node, group 1 below group 0's outbound nodes; outboundNodes from the last group.
    document = workflow([steps([[step("a", "pass")], [step("b", "pass"), step("c", "pass")]]), PASS])
    done = engine.wait(engine.submit(document))
    name = done["metadata"]["name"]
    nodes = by_name(done)
    root, first, second = nodes[name], nodes[f"{name}[0]"], nodes[f"{name}[1]"]
    a, b, c = nodes[f"{name}[0].a"], nodes[f"{name}[1].b"], nodes[f"{name}[1].c"]
    assert done["status"]["phase"] == "Succeeded"
    assert len(nodes) == 6
    assert (root["type"], first["type"], a["type"]) == ("Steps", "StepGroup", "Pod")
    assert (first["displayName"], second["displayName"], a["displayName"], c["displayName"]) == ("[0]", "[1]", "a", "c")
    assert {node["boundaryID"] for node in (first, second, a, b, c)} == {root["id"]}
    assert "templateName" not in first and first["templateScope"] == f"local/{name}"
    assert root["children"] == [first["id"]] and first["children"] == [a["id"]]
    assert a["children"] == [second["id"]] and second["children"] == [b["id"], c["id"]]
    assert root["outboundNodes"] == [b["id"], c["id"]]
    assert a["finishedAt"] <= b["startedAt"]


def test_continue_on_failed_lets_the_next_group_run(engine):
    # Argo's e2e TestContinueOnFail (test/e2e/functional_test.go): A and B (a DAG whose only task
    # fails, continueOn.failed) in parallel, then C: the workflow Succeeds with 7 nodes; B is
    # Failed with one child and one outbound node.
    boom = dag([task("B-1", "fail")], name="boom")
    document = workflow([steps([[step("A", "pass"), step("B", "boom", continueOn={"failed": True})],
                                [step("C", "pass")]]), boom, PASS, FAIL], parallelism=2)
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert len(done["status"]["nodes"]) == 7
    assert nodes["B"]["phase"] == "Failed"
    assert len(nodes["B"]["children"]) == 1 and len(nodes["B"]["outboundNodes"]) == 1
    assert nodes["C"]["phase"] == "Succeeded"


def test_a_failed_step_fails_its_group_after_its_siblings_and_nothing_after_runs(engine):
    # steps.go executeStepGroup: the group waits for all its children, then a Failed child that
    # does not continueOn fails it ("child 'ID' failed"); executeSteps fails the Steps node with
    # the group's message and opens no further group.
    document = workflow([steps([[step("bad", "fail"), step("slow", "slow")], [step("never", "pass")]]),
                         FAIL, PASS, shell("slow", "sleep 0.5")])
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    name = done["metadata"]["name"]
    message = f"child '{nodes['bad']['id']}' failed"
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == message
    assert nodes["[0]"]["phase"] == "Failed" and nodes["[0]"]["message"] == message
    assert nodes[name]["message"] == message
    assert nodes["slow"]["phase"] == "Succeeded"
    assert "never" not in nodes and "[1]" not in nodes


def test_when_reads_an_earlier_steps_output_and_a_false_when_skips(engine):
    # steps.go resolveReferences (when first) and executeStepGroup: a false when makes a Skipped
    # node "when '...' evaluated false" (examples/coinflip.yaml's pattern); outputs of a group
    # are in scope for the groups after it.
    document = workflow([
        steps([[step("flip", "echo", arguments={"text": "heads"})],
               [step("heads", "pass", when="{{steps.flip.outputs.result}} == heads"),
                step("tails", "pass", when="{{steps.flip.outputs.result}} == tails")]]),
        echo(), PASS])
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert nodes["heads"]["phase"] == "Succeeded"
    assert (nodes["tails"]["type"], nodes["tails"]["phase"]) == ("Skipped", "Skipped")
    assert nodes["tails"]["message"] == "when 'heads == tails' evaluated false"


def test_a_looped_step_has_its_items_in_the_group_and_aggregated_outputs(engine):
    # steps.go expandStep: each item is a step NAME(INDEX:LABEL), a direct child of the group
    # (steps have no TaskGroup node); after the group, steps.NAME.outputs.result is the JSON list
    # of the items' results (executeSteps, processAggregateNodeOutputs).
    document = workflow([
        steps([[step("square", "square", arguments={"n": "{{item}}"}, withItems=[1, 2, 3])],
               [step("total", "echo", arguments={"text": "{{steps.square.outputs.result}}"})]]),
        {"name": "square", "inputs": {"parameters": [{"name": "n"}]},
         "script": {"image": "python:3.11", "command": ["python"],
                    "source": "print({{inputs.parameters.n}} ** 2)"}},
        echo()])
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert [node["type"] for node in done["status"]["nodes"].values()].count("TaskGroup") == 0
    assert nodes["[0]"]["children"] == [nodes[f"square({index}:{index + 1})"]["id"] for index in range(3)]
    assert nodes["total"]["inputs"]["parameters"][0]["value"] == "[1,4,9]"


def test_an_empty_loop_is_skipped_and_the_steps_go_on(engine):
    # steps.go expandStepGroup: an empty withParam makes a Skipped node "Skipped, empty params".
    document = workflow([steps([[step("none", "pass", withParam="[]")], [step("after", "pass")]]), PASS])
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert (nodes["none"]["phase"], nodes["none"]["message"]) == ("Skipped", "Skipped, empty params")
    assert nodes["after"]["phase"] == "Succeeded"


def test_a_steps_template_has_outputs_a_dag_can_read(engine):
    # executeSteps: getTemplateOutputsFromScope sets the Steps node's outputs from steps.*; a DAG
    # task calling it reads them (nested templates: a DAG calling steps calling a pod).
    inner = steps([[step("say", "echo", arguments={"text": "inner"})]], name="inner",
                  outputs={"parameters": [{"name": "said", "valueFrom": {"parameter": "{{steps.say.outputs.result}}"}}]})
    outer = dag([task("call", "inner"),
                 task("show", "echo", depends="call", arguments={"text": "got {{tasks.call.outputs.parameters.said}}"})])
    done = engine.wait(engine.submit(workflow([outer, inner, echo()])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert nodes["call"]["type"] == "Steps"
    assert nodes["call"]["outputs"]["parameters"][0]["value"] == "inner"
    assert nodes["show"]["inputs"]["parameters"][0]["value"] == "got inner"


def test_template_fail_fast_fails_the_last_group_once_the_running_step_ends(engine):
    # Argo's e2e TestWorkflowParallelismStepFailFast (expectedfailures/parallelism-step-fail-fast
    # .yaml) and operator.go checkParallelism: step1 fails, step2 (running) still Succeeds, then
    # the group [0] and the workflow fail with the failFast message.
    document = workflow([steps([[step("step1", "fail"), step("step2", "slow")], [step("later", "pass")]],
                               parallelism=2, failFast=True), FAIL, PASS, shell("slow", "sleep 0.5")])
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    message = "template has failed or errored children and failFast enabled"
    assert done["status"]["phase"] == "Failed" and done["status"]["message"] == message
    assert (nodes["[0]"]["phase"], nodes["[0]"]["message"]) == ("Failed", message)
    assert (nodes["step1"]["phase"], nodes["step2"]["phase"]) == ("Failed", "Succeeded")
    assert "later" not in nodes


def test_a_retried_step_has_a_retry_node_and_attempts(engine, tmp_path):
    # operator.go executeTemplate/processNodeRetries below a step: a Retry node NAME[0].flaky
    # with attempts flaky(0), flaky(1); the group goes on once an attempt Succeeds.
    marker = tmp_path / "tried"
    flaky = shell("flaky", f"if [ -e {marker} ]; then exit 0; fi; touch {marker}; exit 1",
                  retryStrategy={"limit": 2})
    done = engine.wait(engine.submit(workflow([steps([[step("flaky", "flaky")], [step("after", "pass")]]),
                                               flaky, PASS])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert nodes["flaky"]["type"] == "Retry"
    assert (nodes["flaky(0)"]["phase"], nodes["flaky(1)"]["phase"]) == ("Failed", "Succeeded")
    assert nodes["after"]["phase"] == "Succeeded"


def test_a_steps_exit_hook_runs_after_the_step_and_reads_its_outputs(engine):
    # exit_handler.go runOnExitNode (examples/exit-handler-step-level.yaml): once the step
    # completed, NAME.onExit runs (nodeFlag hooked, a child of the step's node) and the group
    # waits for it; its arguments may read the step's outputs.
    document = workflow([
        steps([[step("produce", "producer",
                     hooks={"exit": {"template": "echo", "arguments": {"parameters": [
                         {"name": "text", "value": "saw {{steps.produce.outputs.parameters.out}}"}]}}})],
               [step("after", "pass")]]),
        {"name": "producer", "outputs": {"parameters": [{"name": "out", "valueFrom": {"path": "/tmp/out.txt"}}]},
         "container": {"image": "alpine:3.20", "command": ["sh", "-c", "echo made > /tmp/out.txt"]}},
        echo(), PASS])
    done = engine.wait(engine.submit(document))
    nodes = by_name(done)
    name = done["metadata"]["name"]
    hook = nodes[f"{name}[0].produce.onExit"]
    assert done["status"]["phase"] == "Succeeded"
    assert hook["displayName"] == "produce.onExit" and hook["nodeFlag"] == {"hooked": True}
    assert hook["id"] in nodes[f"{name}[0].produce"]["children"]
    assert hook["inputs"]["parameters"][0]["value"] == "saw made"
    assert hook["finishedAt"] <= nodes[f"{name}[1].after"]["startedAt"]


def test_steps_are_validated_as_argo_does(engine):
    # validate.go validateSteps: unique step names, templates that exist, and references only to
    # the steps before (a later step's outputs are not in scope).
    cases = [
        (steps([[step("a", "pass")], [step("a", "pass")]]), "templates.main.steps[1].name 'a' is not unique"),
        (steps([[step("a", "missing")]]), "templates.main.steps[0].a template name 'missing' undefined"),
        (steps([[step("a", "echo", arguments={"text": "{{steps.b.outputs.result}}"})], [step("b", "echo",
               arguments={"text": "x"})]]), "failed to resolve {{steps.b.outputs.result}}"),
        (steps([[step("a", "pass", hooks={"running": {"template": "pass", "expression": "true"}})]]),
         "templates.main.steps[0].a.hooks.running"),
    ]
    for template, message in cases:
        answer = engine.create(workflow([template, PASS, echo()]))
        status, _, text = error_of(answer)
        assert status == 400 and message in text, text
