"""A DAG task's exit hook (``onExit``, or ``hooks.exit``), as Argo v4.0.5 runs it.

Argo's sources: ``examples/exit-handler-dag-level.yaml``; ``workflow/controller/dag.go``:
``executeDAGTask`` runs ``runOnExitNode(task.GetExitHook(...))`` once the task's node completed
(a node ``TASK.onExit``, child of the task's node, ``nodeFlag.hooked``); ``evaluateDependsLogic``
lets a dependent start only when its dependencies' hooks are fulfilled
(``common.CheckAllHooksFullfilled``); ``assessDAGPhase`` takes the DAG's phase from its target
tasks, so a failing hook does not fail the DAG; a skipped task (not ``Completed()``) runs no hook.
Other lifecycle hooks need Argo's expression language and stay refused.
"""

from __future__ import annotations

from tests.local_helpers import dag, error_of, nodes_by_display_name, shell, task, workflow


def echo(name: str = "echo") -> dict:
    return {"name": name, "inputs": {"parameters": [{"name": "message"}]},
            "container": {"image": "busybox", "command": ["sh", "-c", "echo {{inputs.parameters.message}}"]}}


def test_dependents_wait_for_the_exit_hook_of_their_dependencies(engine):
    name = engine.submit(workflow([
        dag([task("A", "echo", onExit="exit", arguments={"message": "A"}),
             task("B", "echo", depends="A", onExit="exit", arguments={"message": "B"})]),
        echo(), shell("exit", "sleep 0.3; echo cleanup"),
    ]))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    a, a_exit, b, b_exit = nodes["A"], nodes["A.onExit"], nodes["B"], nodes["B.onExit"]
    assert a_exit["name"] == a["name"] + ".onExit"
    assert a_exit["nodeFlag"] == {"hooked": True} and a_exit["boundaryID"] == done["status"]["nodes"][name]["id"]
    assert a["children"][0] == a_exit["id"] and b["id"] in a["children"]
    assert b["startedAt"] >= a_exit["finishedAt"]
    assert b_exit["phase"] == "Succeeded"
    assert done["status"]["nodes"][name]["outboundNodes"] == [b["id"]]


def test_hooks_exit_gets_the_task_outputs_and_a_failed_hook_does_not_fail_the_dag(engine):
    name = engine.submit(workflow([
        dag([{"name": "A", "template": "produce", "hooks": {"exit": {"template": "echo", "arguments": {
            "parameters": [{"name": "message", "value": "{{tasks.A.outputs.parameters.word}} {{tasks.A.status}}"}]}}}},
             {"name": "B", "template": "produce", "depends": "A", "onExit": "fail"}]),
        {"name": "produce", "container": {"image": "busybox", "command": ["sh", "-c", "echo -n hi > /tmp/word"]},
         "outputs": {"parameters": [{"name": "word", "valueFrom": {"path": "/tmp/word"}}]}},
        echo(), shell("fail", "exit 3"),
    ]))
    done = engine.wait(name)
    nodes = nodes_by_display_name(done)
    assert nodes["A.onExit"]["inputs"]["parameters"] == [{"name": "message", "value": "hi Succeeded"}]
    assert nodes["B.onExit"]["phase"] == "Failed"
    assert done["status"]["phase"] == "Succeeded", done["status"]


def test_a_failed_task_runs_its_hook_and_a_skipped_one_does_not(engine):
    name = engine.submit(workflow([
        dag([task("A", "fail", onExit="exit"), task("B", "fail", when="1 == 2", onExit="exit")]),
        shell("fail", "exit 1"), shell("exit", "echo cleanup"),
    ]))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Failed"
    nodes = nodes_by_display_name(done)
    assert nodes["A.onExit"]["phase"] == "Succeeded"
    assert nodes["B"]["phase"] == "Skipped" and "B.onExit" not in nodes


def test_other_task_hooks_are_refused_naming_the_field(engine):
    answer = engine.create(workflow([
        dag([{"name": "A", "template": "exit", "hooks": {"running": {"template": "exit",
                                                                     "expression": "tasks.A.status == 'Running'"}}}]),
        shell("exit", "true"),
    ]))
    status, _, message = error_of(answer)
    assert status == 400 and message.startswith("templates.main.tasks.A.hooks.running: ")
    answer = engine.create(workflow([dag([task("A", "exit", onExit="nowhere")]), shell("exit", "true")]))
    assert error_of(answer)[2] == "templates.main.tasks.A.onExit: template name 'nowhere' undefined"
