"""Argo's loops on the local engine: items, their node names, TaskGroups and aggregated outputs.

Each test is a small workflow of our own run by a real engine process; the expected outcome is
what Argo's controller (v4.0.5, the version the engine reports) does, with the source named:
``workflow/controller/dag.go`` ``expandTask``/``executeDAGTask``, ``operator.go``
``processItem``/``generateNodeName``/``expandSequence``/``processAggregateNodeOutputs``/
``aggregatedJSONValueList``, in argoproj/argo-workflows.
"""

from __future__ import annotations

from pathlib import Path

from tests.local_helpers import dag, nodes_by_display_name, python_script, shell, start_engine, task, wait_for, workflow


def square(name: str = "square") -> dict:
    """Prints n*n (its result) and writes it to the output parameter ``sq``."""
    return python_script(name, """n = int('{{inputs.parameters.n}}')
print(n * n)
open('{{outputs.parameters.sq.path}}', 'w').write(str(n * n))
""", inputs=["n"], outputs={"parameters": [{"name": "sq", "valueFrom": {"path": "/tmp/sq"}}]})


def show() -> dict:
    return python_script("show", "print('{{inputs.parameters.value}}')", inputs=["value"])


def children_names(done: dict, node: dict) -> list[str]:
    nodes = done["status"]["nodes"]
    return [nodes[child]["displayName"] for child in node.get("children") or []]


def test_with_items_runs_one_node_per_item_under_a_task_group(engine):
    # dag.go executeDAGTask: a TaskGroup node "work" whose children are work(INDEX:ITEM) in item
    # order (operator.go generateNodeName); outputs.result downstream is the JSON list of the
    # items' results and outputs.parameters.sq the list of their values as strings
    # (processAggregateNodeOutputs, aggregatedJSONValueList; dag_test.go
    # TestDAGReferTaskAggregatedOutputs expects ["1","2"]).
    main = dag([
        task("work", "square", arguments={"n": "{{item}}"}, withItems=[1, 2, 3]),
        task("result", "show", depends="work", arguments={"value": "{{tasks.work.outputs.result}}"}),
        task("params", "show", depends="work", arguments={"value": "{{tasks.work.outputs.parameters.sq}}"}),
        task("all", "show", depends="work", arguments={"value": "{{tasks.work.outputs.parameters}}"}),
    ])
    done = engine.wait(engine.submit(workflow([main, square(), show()])))
    assert done["status"]["phase"] == "Succeeded"
    nodes = nodes_by_display_name(done)
    group = nodes["work"]
    assert (group["type"], group["phase"], group["templateName"]) == ("TaskGroup", "Succeeded", "square")
    assert group["name"] == f"{done['metadata']['name']}.work" and "inputs" not in group
    assert children_names(done, group) == ["work(0:1)", "work(1:2)", "work(2:3)"]
    for index, value in enumerate(("1", "2", "3")):
        item = nodes[f"work({index}:{value})"]
        assert item["type"] == "Pod" and item["boundaryID"] == done["metadata"]["name"]
        assert item["inputs"]["parameters"] == [{"name": "n", "value": value}]
    assert nodes["result"]["inputs"]["parameters"][0]["value"] == "[1,4,9]"
    assert nodes["params"]["inputs"]["parameters"][0]["value"] == '["1","4","9"]'
    assert nodes["all"]["inputs"]["parameters"][0]["value"] == '[{"sq":"1"},{"sq":"4"},{"sq":"9"}]'
    # Dependents hang below every item (getOutboundNodes of a TaskGroup), and progress counts them.
    assert nodes["work(1:2)"]["children"] == [nodes[name]["id"] for name in ("result", "params", "all")]
    assert done["status"]["progress"] == "6/6"


def test_with_items_of_objects_names_nodes_by_sorted_key_value_pairs(engine):
    # operator.go processItem: a map item's label is its "key:value" pairs sorted and joined with
    # ","; {{item.KEY}} is each value; parentheses are dropped from the label (generateNodeName).
    main = dag([task("train", "show", arguments={"value": "{{item.lr}}/{{item.name}}"},
                     withItems=[{"name": "small (fast)", "lr": 0.1}, {"lr": 0.01, "name": "big"}])])
    done = engine.wait(engine.submit(workflow([main, show()])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert nodes["train(0:lr:0.1,name:small fast)"]["inputs"]["parameters"][0]["value"] == "0.1/small (fast)"
    assert nodes["train(1:lr:0.01,name:big)"]["inputs"]["parameters"][0]["value"] == "0.01/big"


def test_with_param_expands_at_run_time_from_a_tasks_json_list(engine):
    # dag.go expandTask: withParam is read as a JSON list once its reference resolves; items are
    # numbers here, so the names are gen(0:2), gen(1:3) and {{item}} is the number's text.
    main = dag([
        task("list", "list"),
        task("work", "square", depends="list", arguments={"n": "{{item}}"},
             withParam="{{tasks.list.outputs.result}}"),
        task("total", "show", depends="work", arguments={"value": "{{tasks.work.outputs.result}}"}),
    ])
    done = engine.wait(engine.submit(workflow([main, python_script("list", "print('[2, 3]')"), square(), show()])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert children_names(done, nodes["work"]) == ["work(0:2)", "work(1:3)"]
    assert nodes["total"]["inputs"]["parameters"][0]["value"] == "[4,9]"


def test_an_empty_with_param_is_a_skipped_node(engine):
    # dag.go executeDAGTask "Skipped, empty params"; Argo's e2e TestDAGEmptyParam
    # (test/e2e/functional/dag-empty-param.yaml) expects Succeeded with this node Skipped.
    main = dag([
        task("list", "list"),
        task("work", "square", depends="list", arguments={"n": "{{item}}"},
             withParam="{{tasks.list.outputs.result}}"),
        task("after", "show", depends="work", arguments={"value": "ran"}),
    ])
    done = engine.wait(engine.submit(workflow([main, python_script("list", "print('[]')"), square(), show()])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert (nodes["work"]["type"], nodes["work"]["phase"], nodes["work"]["message"]) == (
        "Skipped", "Skipped", "Skipped, empty params")
    assert nodes["after"]["phase"] == "Succeeded"  # a bare dependency accepts Skipped


def test_with_param_that_is_not_a_json_list_is_an_error_node(engine):
    # dag.go expandTask: "withParam value could not be parsed as a JSON list: <value>: <error>".
    main = dag([task("list", "list"),
                task("work", "square", depends="list", arguments={"n": "{{item}}"},
                     withParam="{{tasks.list.outputs.result}}")])
    done = engine.wait(engine.submit(workflow([main, python_script("list", "print('hello')"), square()])))
    node = nodes_by_display_name(done)["work"]
    assert done["status"]["phase"] == "Error"
    assert (node["type"], node["phase"]) == ("Skipped", "Error")
    assert node["message"] == ("withParam value could not be parsed as a JSON list: hello: "
                               "invalid character 'h' looking for beginning of value")


def test_with_sequence_counts_and_formats(engine):
    # operator.go expandSequence: count from start (0); start..end runs backwards when end <
    # start; each number goes through the Go format (default %d) and the item is a string.
    main = dag([
        task("count", "show", arguments={"value": "{{item}}"}, withSequence={"count": "3"}),
        task("down", "show", arguments={"value": "{{item}}"}, withSequence={"start": "5", "end": "3", "format": "id-%02d"}),
    ])
    done = engine.wait(engine.submit(workflow([main, show()])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert children_names(done, nodes["count"]) == ["count(0:0)", "count(1:1)", "count(2:2)"]
    assert children_names(done, nodes["down"]) == ["down(0:id-05)", "down(1:id-04)", "down(2:id-03)"]


def test_when_is_decided_per_item(engine):
    # dag.go executeDAGTask: each expanded task's when is evaluated after {{item}} is substituted;
    # a false one is a Skipped item; the TaskGroup still Succeeds (only Failed/Error items fail it).
    main = dag([task("work", "show", arguments={"value": "{{item}}"}, withItems=["a", "b", "c"],
                     when="{{item}} != b")])
    done = engine.wait(engine.submit(workflow([main, show()])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert nodes["work"]["phase"] == "Succeeded"
    assert (nodes["work(1:b)"]["type"], nodes["work(1:b)"]["phase"], nodes["work(1:b)"]["message"]) == (
        "Skipped", "Skipped", "when 'b != b' evaluated false")
    assert nodes["work(0:a)"]["phase"] == nodes["work(2:c)"]["phase"] == "Succeeded"


def test_template_parallelism_bounds_the_items_running_at_once(engine, tmp_path):
    # operator.go checkParallelism: a new child of a DAG waits while the DAG template's
    # parallelism is used by its active children (node_counters.go getActiveChildren).
    events = tmp_path / "events"
    main = dag([task("work", "record", arguments={"n": "{{item}}"}, withItems=list(range(6)))], parallelism=2)
    record = python_script("record", f"""import time
with open({str(events)!r}, "a") as f: f.write("start\\n")
time.sleep(0.3)
with open({str(events)!r}, "a") as f: f.write("end\\n")
""", inputs=["n"])
    done = engine.wait(engine.submit(workflow([main, record])))
    assert done["status"]["phase"] == "Succeeded"
    running, most = 0, 0
    for line in events.read_text().split():
        running += 1 if line == "start" else -1
        most = max(most, running)
    assert most == 2


def fail_on_three() -> dict:
    return python_script("maybe", """import sys
n = int('{{inputs.parameters.n}}')
print(n * 10)
sys.exit(3 if n == 3 else 0)
""", inputs=["n"])


def test_a_failed_item_fails_the_map_and_omits_its_dependents(engine):
    # dag.go executeDAGTask: the TaskGroup takes the phase of its failed item; every item still
    # runs; "report" (depends: work = work.Succeeded || work.Skipped) is Omitted; the target's
    # branch failed so the DAG and workflow fail (assessDAGPhase).
    main = dag([
        task("work", "maybe", arguments={"n": "{{item}}"}, withItems=[1, 2, 3, 4]),
        task("report", "show", depends="work", arguments={"value": "{{tasks.work.outputs.result}}"}),
    ])
    done = engine.wait(engine.submit(workflow([main, fail_on_three(), show()])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed"
    assert nodes["work"]["phase"] == "Failed"
    assert [nodes[f"work({index}:{index + 1})"]["phase"] for index in range(4)] == [
        "Succeeded", "Succeeded", "Failed", "Succeeded"]
    assert nodes["report"]["phase"] == "Omitted"


def test_continue_on_failed_hands_downstream_only_what_succeeded(engine):
    # With continueOn.failed the bare dependency also accepts Failed (ancestry.go
    # expandDependency): report runs, and the aggregated result holds only the items that
    # Succeeded, in item order (processAggregateNodeOutputs skips non-Succeeded nodes). The
    # TaskGroup is still Failed, the workflow Succeeded (report is the only target).
    main = dag([
        task("work", "maybe", arguments={"n": "{{item}}"}, withItems=[1, 2, 3, 4], continueOn={"failed": True}),
        task("report", "show", depends="work", arguments={"value": "{{tasks.work.outputs.result}}"}),
    ])
    done = engine.wait(engine.submit(workflow([main, fail_on_three(), show()])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert nodes["work"]["phase"] == "Failed"
    assert nodes["work(2:3)"]["phase"] == "Failed"
    assert nodes["report"]["phase"] == "Succeeded"
    assert nodes["report"]["inputs"]["parameters"][0]["value"] == "[10,20,40]"


def test_any_succeeded_and_all_failed_read_the_items(engine):
    # dag.go evaluateDependsLogic: AnySucceeded/AllFailed over a TaskGroup's children.
    main = dag([
        task("work", "maybe", arguments={"n": "{{item}}"}, withItems=[3, 4], continueOn={"failed": True}),
        task("some", "show", depends="work.AnySucceeded", arguments={"value": "x"}),
        task("none", "show", depends="work.AllFailed", arguments={"value": "x"}),
    ], failFast=False)
    done = engine.wait(engine.submit(workflow([main, fail_on_three(), show()])))
    nodes = nodes_by_display_name(done)
    assert nodes["some"]["phase"] == "Succeeded"
    assert nodes["none"]["phase"] == "Omitted"


def test_results_that_are_not_json_cannot_be_aggregated(engine):
    # operator.go processAggregateNodeOutputs unmarshals each item's result as JSON; a plain
    # "hello" fails it, and the dependent task is an Error node with Go's JSON error.
    main = dag([
        task("work", "hello", withItems=[1, 2]),
        task("report", "show", depends="work", arguments={"value": "{{tasks.work.outputs.result}}"}),
    ])
    done = engine.wait(engine.submit(workflow([main, shell("hello", "echo hello"), show()])))
    node = nodes_by_display_name(done)["report"]
    assert (node["type"], node["phase"]) == ("Skipped", "Error")
    assert node["message"] == "invalid character 'h' looking for beginning of value"


def test_a_loop_continues_after_an_engine_restart(tmp_path):
    # The runtime is rebuilt from status.nodes: a map interrupted by a restart goes on with the
    # items that had not started (the interrupted one is an Error, as any interrupted pod).
    gate = tmp_path / "gate"
    started = tmp_path / "started"
    state = tmp_path / "state"
    main = dag([task("work", "wait", arguments={"n": "{{item}}"}, withItems=[1, 2, 3])], parallelism=1)
    wait = python_script("wait", f"""import os, time
open({str(started)!r}, "a").write("{{{{inputs.parameters.n}}}}\\n")
while not os.path.exists({str(gate)!r}):
    time.sleep(0.05)
""", inputs=["n"])
    first = start_engine(state, workers=2)
    try:
        name = first.submit(workflow([main, wait]))
        wait_for(lambda: started.exists(), what="the first item to start")
    finally:
        first.stop()
    gate.touch()
    second = start_engine(state, workers=2)
    try:
        done = second.wait(name)
    finally:
        second.stop()
    nodes = nodes_by_display_name(done)
    assert nodes["work(0:1)"]["phase"] == "Error"
    assert nodes["work(1:2)"]["phase"] == nodes["work(2:3)"]["phase"] == "Succeeded"
    assert nodes["work"]["phase"] == "Error" and done["status"]["phase"] == "Error"
    assert "Traceback" not in Path(state, "engine-stderr.log").read_text()


def test_retry_reruns_only_the_failed_items(engine, tmp_path):
    # The retry action (FormulateRetryWorkflow) removes failed nodes and resets failed DAG and
    # TaskGroup nodes; the map runs again with only its failed item, and its dependent.
    flag = tmp_path / "fixed"
    flaky = python_script("flaky", f"""import os, sys
n = int('{{{{inputs.parameters.n}}}}')
print(n * 10)
sys.exit(3 if n == 3 and not os.path.exists({str(flag)!r}) else 0)
""", inputs=["n"])
    main = dag([
        task("work", "flaky", arguments={"n": "{{item}}"}, withItems=[1, 2, 3]),
        task("report", "show", depends="work", arguments={"value": "{{tasks.work.outputs.result}}"}),
    ])
    name = engine.submit(workflow([main, flaky, show()]))
    first = engine.wait(name)
    assert first["status"]["phase"] == "Failed"
    kept = nodes_by_display_name(first)["work(0:1)"]
    flag.touch()
    assert engine.request("PUT", f"api/v1/workflows/argo/{name}/retry", json={}).status_code == 200
    done = engine.wait_until(name, lambda wf: wf["status"].get("phase") in ("Succeeded", "Failed", "Error")
                             and wf["status"].get("finishedAt"), what="the retried run to end")
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert nodes["work(0:1)"] == {**kept, "children": nodes["work(0:1)"]["children"]}  # kept as it was
    assert nodes["work"]["phase"] == "Succeeded" and len(nodes["work"]["children"]) == 3
    assert nodes["report"]["inputs"]["parameters"][0]["value"] == "[10,20,30]"


def test_stopping_a_map_leaves_the_items_that_never_started(engine, tmp_path):
    # Stop: running items are killed, items not yet started never are; the DAG fails at once
    # (assessDAGPhase with isShutdown) and, as in Argo, the TaskGroup is left as it was.
    started = tmp_path / "started"
    busy = shell("busy", f"touch {started}; sleep 30")
    main = dag([task("work", "busy", withItems=[1, 2, 3])], parallelism=1)
    name = engine.submit(workflow([main, busy]))
    wait_for(started.exists, what="the first item to start")
    assert engine.request("PUT", f"api/v1/workflows/argo/{name}/stop", json={}).status_code == 200
    done = engine.wait(name)
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed"
    assert nodes["work(0:1)"]["phase"] == "Failed"
    assert "work(1:2)" not in nodes and "work(2:3)" not in nodes
    assert nodes[name]["phase"] == "Failed" and nodes["work"]["phase"] == "Running"
