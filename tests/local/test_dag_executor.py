"""DAG execution on a real engine: fail-fast, Omitted and Skipped tasks, nested DAGs."""

from __future__ import annotations

from pathlib import Path

from tests.local_helpers import dag, nodes_by_display_name, shell, task, workflow


def _fail_fast_workflow(tmp_path: Path, fail_fast: bool | None) -> dict:
    gate = tmp_path / "failed"
    main = dag([
        task("bad", "bad"),
        task("slow", "slow"),
        task("after", "quick", depends="slow"),
    ])
    if fail_fast is not None:
        main["dag"]["failFast"] = fail_fast
    return workflow([
        main,
        shell("bad", f"touch {gate}; exit 1"),
        # slow finishes only after bad has failed, so "after" becomes ready after the failure.
        shell("slow", f"while [ ! -e {gate} ]; do sleep 0.02; done; sleep 0.5"),
        shell("quick", "echo after"),
    ])


def test_fail_fast_lets_an_independent_branch_finish(engine, tmp_path):
    # dag.failFast (default true) only decides when the DAG is marked failed (Argo's
    # assessDAGPhase in workflow/controller/dag.go): the independent branch slow -> after runs.
    done = engine.wait(engine.submit(_fail_fast_workflow(tmp_path, None)))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed"
    assert nodes["bad"]["phase"] == "Failed" and nodes["bad"]["message"] == "main: Error (exit code 1)"
    assert nodes["bad"]["outputs"]["exitCode"] == "1"
    assert nodes["slow"]["phase"] == "Succeeded"  # already running: it finishes
    assert nodes["after"]["phase"] == "Succeeded"  # started after the failure
    root = done["status"]["nodes"][done["metadata"]["name"]]
    assert root["phase"] == "Failed" and root["type"] == "DAG"


def test_fail_fast_false_runs_every_branch(engine, tmp_path):
    done = engine.wait(engine.submit(_fail_fast_workflow(tmp_path, False)))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed"
    assert nodes["after"]["phase"] == "Succeeded"
    assert done["status"]["progress"] == "2/3"


def test_omitted_and_skipped_nodes(engine):
    main = dag([
        task("a", "fail"),
        task("b", "ok", depends="a"),
        task("c", "ok", depends="a.Failed"),
        task("d", "ok", depends="b"),
        task("e", "ok", when="1 == 2"),
    ], failFast=False)
    done = engine.wait(engine.submit(workflow([main, shell("fail", "exit 2"), shell("ok", "true")])))
    nodes = nodes_by_display_name(done)
    for omitted in ("b", "d"):  # d is omitted because b was: omission cascades
        node = nodes[omitted]
        assert (node["type"], node["phase"]) == ("Skipped", "Omitted")
        assert node["message"] == "omitted: depends condition not met"
        assert node["startedAt"] == node["finishedAt"] and "progress" not in node
    assert nodes["c"]["phase"] == "Succeeded"
    assert (nodes["e"]["type"], nodes["e"]["phase"], nodes["e"]["message"]) == (
        "Skipped", "Skipped", "when '1 == 2' evaluated false")
    assert nodes["a"]["message"] == "main: Error (exit code 2)"
    # The graph: dependents hang below their dependency; the DAG's children are its root tasks.
    root = done["status"]["nodes"][done["metadata"]["name"]]
    assert sorted(root["children"]) == sorted([nodes["a"]["id"], nodes["e"]["id"]])
    assert sorted(nodes["a"]["children"]) == sorted([nodes["b"]["id"], nodes["c"]["id"]])
    assert nodes["b"]["children"] == [nodes["d"]["id"]]
    assert done["status"]["phase"] == "Failed"  # target d's branch inherits a's failure


def test_nested_dags_pass_inputs_and_outputs(engine):
    inner = dag([task("leaf", "echo", arguments={"text": "inner {{inputs.parameters.word}}"})], name="inner",
                inputs={"parameters": [{"name": "word"}]},
                outputs={"parameters": [{"name": "said", "valueFrom": {"parameter": "{{tasks.leaf.outputs.parameters.said}}"}}]})
    echo = shell("echo", "printf '%s' '{{inputs.parameters.text}}' > $HERA_MAGICS_PATH_PREFIX/tmp/said")
    echo["inputs"] = {"parameters": [{"name": "text"}]}
    echo["outputs"] = {"parameters": [{"name": "said", "valueFrom": {"path": "/tmp/said"}}]}
    outer = dag([task("sub", "inner", arguments={"word": "bird"}),
                 task("after", "echo", depends="sub", arguments={"text": "got {{tasks.sub.outputs.parameters.said}}"})])
    done = engine.wait(engine.submit(workflow([outer, inner, echo])))
    assert done["status"]["phase"] == "Succeeded", done["status"]
    name = done["metadata"]["name"]
    nodes = {node["name"]: node for node in done["status"]["nodes"].values()}
    sub, leaf, after = nodes[f"{name}.sub"], nodes[f"{name}.sub.leaf"], nodes[f"{name}.after"]
    assert sub["type"] == "DAG" and leaf["boundaryID"] == sub["id"] and sub["boundaryID"] == name
    assert sub["outboundNodes"] == [leaf["id"]] and leaf["children"] == [after["id"]]
    assert sub["outputs"]["parameters"][0]["value"] == "inner bird"
    assert after["outputs"]["parameters"][0]["value"] == "got inner bird"
    assert nodes[name]["progress"] == "2/2" and sub["progress"] == "2/2"
