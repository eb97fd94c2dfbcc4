"""DAG semantics where the local engine used to differ from Argo without a word (issue 11).

Small workflows of our own on a real engine process. Each expected outcome is Argo v4.0.5's
(the version the engine reports), with the source that fixes it: ``workflow/controller/dag.go``
(``assessDAGPhase``, ``executeDAG``, ``buildLocalScopeFromTask``,
``resolveDependencyReferences``), ``operator.go`` ``checkParallelism``, ``node_counters.go``,
and Argo's own examples and e2e tests, in argoproj/argo-workflows.
"""

from __future__ import annotations

from pathlib import Path

from tests.local_helpers import dag, nodes_by_display_name, python_script, shell, task, workflow
from tests.local.test_dag_executor import _fail_fast_workflow


def show() -> dict:
    return python_script("show", "print('{{inputs.parameters.value}}')", inputs=["value"])


# -- (1) failFast ------------------------------------------------------------------------------------


def test_dependents_that_accept_a_failure_run_and_the_dag_succeeds(engine):
    # examples/dag-enhanced-depends.yaml (Argo's CI expects Succeeded): dag.failFast (default
    # true) does not stop scheduling; a failed task whose dependents accept the failure does not
    # fail its branch, and only the targets' branches decide the phase (assessDAGPhase).
    main = dag([
        task("a", "pass"),
        task("b", "fail", depends="a"),
        task("on-failure", "pass", depends="b.Failed"),
        task("either", "pass", depends="a && (b.Succeeded || b.Failed)"),
        task("never", "pass", depends="b.Succeeded"),
        task("after-never", "pass", depends="never || on-failure"),
    ])
    done = engine.wait(engine.submit(workflow([main, shell("pass", "true"), shell("fail", "exit 1")])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert nodes["b"]["phase"] == "Failed"
    assert nodes["on-failure"]["phase"] == nodes["either"]["phase"] == nodes["after-never"]["phase"] == "Succeeded"
    assert nodes["never"]["phase"] == "Omitted"


def test_continue_on_failed_lets_a_bare_dependent_run(engine):
    # Argo's e2e TestContinueOnFailDag: F fails with continueOn.failed, P (dependencies: [F]) runs,
    # the workflow Succeeds (ancestry.go expandDependency adds F.Failed to the bare name).
    main = dag([task("f", "fail", continueOn={"failed": True}), task("p", "pass", dependencies=["f"])], failFast=False)
    done = engine.wait(engine.submit(workflow([main, shell("pass", "true"), shell("fail", "exit 1")])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert (nodes["f"]["phase"], nodes["p"]["phase"]) == ("Failed", "Succeeded")


def test_an_independent_branch_runs_after_another_failed(engine):
    # test/e2e/expectedfailures/dag-noroot-branch-failed.yaml: C fails while B runs; D and E
    # (after B) are still created and run; the workflow fails because C's branch failed.
    main = dag([
        task("a", "pass"),
        task("b", "slow", dependencies=["a"]),
        task("c", "fail", dependencies=["a"]),
        task("d", "pass", dependencies=["b"]),
        task("e", "pass", dependencies=["d"]),
    ])
    slow = shell("slow", "sleep 1")
    done = engine.wait(engine.submit(workflow([main, shell("pass", "true"), shell("fail", "exit 2"), slow])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed"
    assert nodes["c"]["phase"] == "Failed"
    assert nodes["d"]["phase"] == nodes["e"]["phase"] == "Succeeded"


def _template_fail_fast(tmp_path: Path, fail_fast: bool | None) -> dict:
    """bad fails while slow runs; later (after slow) becomes ready after the failure."""
    document = _fail_fast_workflow(tmp_path, None)
    if fail_fast is not None:
        document["spec"]["templates"][0]["failFast"] = fail_fast
    return document


def test_template_fail_fast_starts_nothing_after_a_failed_child(engine, tmp_path):
    # operator.go checkParallelism: with the template's failFast: true, a failed child (Pod or DAG)
    # stops new children; once the DAG's own pods are done it is Failed with this message (Argo's
    # e2e TestWorkflowParallelismDAGFailFast, expectedfailures/parallelism-dag-fail-fast.yaml).
    done = engine.wait(engine.submit(_template_fail_fast(tmp_path, True)))
    nodes = nodes_by_display_name(done)
    message = "template has failed or errored children and failFast enabled"
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == message
    assert nodes[done["metadata"]["name"]]["message"] == message
    assert nodes["slow"]["phase"] == "Succeeded"  # running when bad failed: it finishes
    assert "after" not in nodes


def test_template_fail_fast_false_is_argos_default(engine, tmp_path):
    # Template.IsFailFast is true only when set: failFast: false changes nothing.
    done = engine.wait(engine.submit(_template_fail_fast(tmp_path, False)))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed" and "message" not in nodes[done["metadata"]["name"]]
    assert nodes["after"]["phase"] == "Succeeded"


# -- (3) dag.target ----------------------------------------------------------------------------------


def _target_dag(target: str) -> dict:
    main = dag([
        task("a", "show", arguments={"value": "a"}),
        task("b", "show", dependencies=["a"], arguments={"value": "b"}),
        task("c", "show", dependencies=["a"], arguments={"value": "c"}),
        task("d", "show", dependencies=["b", "c"], arguments={"value": "d"}),
        task("e", "show", dependencies=["c"], arguments={"value": "e"}),
    ], inputs={"parameters": [{"name": "target"}]}, target=target)
    return main


def test_dag_target_runs_the_targets_and_what_they_depend_on(engine):
    # examples/dag-targets.yaml and dag.go executeDAG: only the targets and their dependencies
    # run; the DAG's outbound nodes are the targets'.
    document = workflow([_target_dag("b e"), show()], arguments={"parameters": [{"name": "target", "value": "x"}]})
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert sorted(name for name in nodes if len(name) == 1) == ["a", "b", "c", "e"]
    assert nodes[done["metadata"]["name"]]["outboundNodes"] == [nodes["b"]["id"], nodes["e"]["id"]]


def test_a_parameterised_target_is_resolved_when_the_dag_runs(engine):
    # test/e2e/functional/dag-targets-input-param.yaml: target "{{inputs.parameters.target}}" = E.
    document = workflow([_target_dag("{{inputs.parameters.target}}"), show()],
                        arguments={"parameters": [{"name": "target", "value": "e"}]})
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert sorted(name for name in nodes if len(name) == 1) == ["a", "c", "e"]


# -- (4) outputs of skipped and omitted tasks: Argo v4.0.5 ---------------------------------------------


def _producer() -> dict:
    return python_script("producer", "open('{{outputs.parameters.out.path}}', 'w').write('made')",
                         outputs={"parameters": [{"name": "out", "valueFrom": {"path": "/tmp/out"}}]})


def test_a_skipped_tasks_declared_output_parameters_read_as_empty(engine):
    # v4.0.5 dag.go buildLocalScopeFromTask: a Skipped/Omitted ancestor without outputs puts ""
    # in scope for each output parameter its template declares. Argo's e2e at v4.0.5:
    # TestDAGSkippedOutputRef and TestDAGOmittedOutputRef (stage-c Succeeds).
    main = dag([
        task("skipped", "producer", when="1 == 2"),
        task("omitted", "producer", depends="skipped.Failed"),
        task("use", "show", depends="(skipped || skipped.Skipped) && (omitted || omitted.Omitted)",
             arguments={"value": "[{{tasks.skipped.outputs.parameters.out}}][{{tasks.omitted.outputs.parameters.out}}]"}),
    ])
    done = engine.wait(engine.submit(workflow([main, _producer(), show()])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert (nodes["skipped"]["phase"], nodes["omitted"]["phase"]) == ("Skipped", "Omitted")
    assert nodes["use"]["inputs"]["parameters"][0]["value"] == "[][]"


def test_a_skipped_tasks_result_never_resolves_so_the_task_waits(engine):
    # v4.0.5: outputs.result of a skipped task is not in scope (only declared outputs are), so
    # resolveDependencyReferences' ReplaceStrict fails with a missing variable and the task is
    # requeued (ErrRequeue) again and again: it never runs and the workflow stays Running.
    main = dag([
        task("skipped", "producer", when="1 == 2"),
        task("other", "show", depends="skipped", arguments={"value": "ran"}),
        task("use", "show", depends="skipped", arguments={"value": "{{tasks.skipped.outputs.result}}"}),
    ])
    name = engine.submit(workflow([main, _producer(), show()]))
    running = engine.wait_until(
        name, lambda wf: "nodes" in wf["status"]
        and (nodes_by_display_name(wf).get("other") or {}).get("phase") == "Succeeded",
        what="the other dependent to finish")
    assert running["status"]["phase"] == "Running"
    assert "use" not in nodes_by_display_name(running)
    assert engine.request("PUT", f"api/v1/workflows/argo/{name}/stop", json={}).status_code == 200
    done = engine.wait(name)
    assert done["status"]["phase"] == "Failed" and "use" not in nodes_by_display_name(done)


# -- (6) parallelism counts active child nodes -----------------------------------------------------------


def test_dag_parallelism_counts_child_dags_not_pods(engine, tmp_path):
    # examples/parallelism-nested-dag.yaml: the outer DAG's parallelism 2 limits its child DAG
    # nodes (getActiveChildren counts Pod, DAG and Steps nodes directly in it), not the pods
    # inside them: two child DAGs at a time, each running its two parallel pods.
    events = tmp_path / "events"
    arrived = tmp_path / "arrived"
    outer = dag([
        task("b1", "inner", arguments={"group": "1"}),
        task("b2", "inner", depends="b1", arguments={"group": "2"}),
        task("b3", "inner", depends="b1", arguments={"group": "3"}),
        task("b4", "inner", depends="b1", arguments={"group": "4"}),
    ], parallelism=2)
    inner = dag([
        task("c1", "job", arguments={"group": "{{inputs.parameters.group}}", "wait": "0"}),
        task("c2", "job", depends="c1", arguments={"group": "{{inputs.parameters.group}}", "wait": "1"}),
        task("c3", "job", depends="c1", arguments={"group": "{{inputs.parameters.group}}", "wait": "1"}),
    ], name="inner", inputs={"parameters": [{"name": "group"}]})
    # c2/c3 of b2..b4 wait (10 s at most) until 4 of them have arrived: two child DAGs x two pods.
    job = python_script("job", f"""import os, time
group, wait = '{{{{inputs.parameters.group}}}}', '{{{{inputs.parameters.wait}}}}' == '1'
with open({str(events)!r}, "a") as f: f.write(f"start {{group}}\\n")
if wait and group != "1":
    with open({str(arrived)!r}, "a") as f: f.write("x")
    deadline = time.time() + 10
    while time.time() < deadline and len(open({str(arrived)!r}).read()) < 4:
        time.sleep(0.02)
with open({str(events)!r}, "a") as f: f.write(f"end {{group}}\\n")
""", inputs=["group", "wait"])
    done = engine.wait(engine.submit(workflow([outer, inner, job])))
    assert done["status"]["phase"] == "Succeeded"
    pods, most_pods, groups, most_groups = 0, 0, {}, 0
    for line in events.read_text().splitlines():
        kind, group = line.split()
        pods += 1 if kind == "start" else -1
        groups[group] = groups.get(group, 0) + (1 if kind == "start" else -1)
        most_pods = max(most_pods, pods)
        most_groups = max(most_groups, sum(1 for count in groups.values() if count > 0))
    assert most_pods >= 4  # pods of two child DAGs ran together
    assert most_groups <= 2
