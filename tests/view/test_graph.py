"""The drawn graph, table, progress and timeline, read back from the rendered HTML/SVG.

Inputs are Argo's own workflow objects (``tests/fixtures/argo/``) and, for maps, conditions and exit
handlers, objects shaped by the controller's rules (:mod:`tests.view.argo_shapes`). What is
checked is parsed from the page the user sees (:mod:`tests.view.rendered`).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from hera_magics.status import summary, task_graph
from hera_magics.view.graph import GROUP_MIN, workflow_graph
from hera_magics.view.layout import layered_layout
from hera_magics.view.page import graph_layout, status_page
from hera_magics.view.render import PHASE_COLOURS
from hera_magics.view.svg import NODE_HEIGHT, NODE_WIDTH, NOT_RUN_FILL

from .argo_shapes import Shape, sweep
from .rendered import drawn_edges, drawn_nodes, table_rows, timeline_bars

FIXTURES = Path(__file__).absolute().parents[1] / "fixtures" / "argo"


def page_html(workflow: dict[str, Any], log_tails: dict[str, str] | None = None) -> str:
    entries, edges = task_graph(workflow)
    graph = workflow_graph(workflow, entries=entries, edges=edges)
    return status_page(summary(workflow), graph, entries, log_tails=log_tails).html


def fixture(name: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / name).read_text())


# ---------------------------------------------------------------------------------------------
# Argo's own objects


def test_failed_dag_with_retries_is_drawn_with_its_edges_and_phase_colours() -> None:
    html = page_html(fixture("dag-disable-fail-fast.yaml"))
    nodes = drawn_nodes(html)
    assert {key: node.phase for key, node in nodes.items()} == {
        "A": "Succeeded", "B": "Succeeded", "C": "Failed", "D": "Succeeded", "E": "Succeeded",
    }
    for node in nodes.values():
        assert node.fill == PHASE_COLOURS[node.phase]
    assert drawn_edges(html) == {("A", "B"), ("A", "C"), ("B", "D"), ("D", "E")}
    # left to right: every edge goes from a node to one further right
    for source, target in drawn_edges(html):
        assert nodes[source].x < nodes[target].x


def test_a_running_diamond_shows_the_task_not_created_yet_from_the_spec() -> None:
    """Argo has no node for D yet (its upstream C failed a moment ago); the spec says D waits for B and C."""
    html = page_html(fixture("dag_xfail.yaml"))
    nodes = drawn_nodes(html)
    assert {key: node.phase for key, node in nodes.items()} == {
        "A": "Succeeded", "B": "Succeeded", "C": "Failed", "D": "Pending",
    }
    assert nodes["D"].fill == PHASE_COLOURS["Pending"]
    assert drawn_edges(html) == {("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")}
    assert [row[1][:2] for row in table_rows(html)] == [
        ["A", "Succeeded"], ["B", "Succeeded"], ["C", "Failed"], ["D", "Pending"]]


def test_nested_dag_and_omitted_task() -> None:
    html = page_html(fixture("dag-exhausted-retries-xfail.yaml"))
    nodes = drawn_nodes(html)
    assert {key: node.phase for key, node in nodes.items()} == {
        "success1": "Succeeded", "sub-dag1.fail": "Failed", "success2": "Omitted",
    }
    assert drawn_edges(html) == {("success1", "sub-dag1.fail"), ("sub-dag1.fail", "success2")}
    omitted = nodes["success2"]
    assert omitted.fill == NOT_RUN_FILL and omitted.dashed and "Omitted" in omitted.texts
    rows = {row[1][0]: row[1] for row in table_rows(html)}
    assert rows["success2"][4] == "omitted: depends condition not met"


def test_retried_task_shows_each_attempt_in_the_timeline() -> None:
    html = page_html(fixture("dag_retry_succeeded.yaml"))
    assert drawn_nodes(html)["step1"].phase == "Succeeded"
    attempts = timeline_bars(html)["step1"]
    assert [bar["fill"] for bar in attempts] == [PHASE_COLOURS["Failed"], PHASE_COLOURS["Failed"],
                                                PHASE_COLOURS["Succeeded"]]
    assert attempts[0]["x"] < attempts[1]["x"] < attempts[2]["x"]


def test_steps_workflow_is_drawn_from_its_status() -> None:
    html = page_html(fixture("modern/repo-jedarden-pdftract-failed-steps-m2nvb.yaml"))
    nodes = drawn_nodes(html)
    assert {key: node.phase for key, node in nodes.items()} == {"clone-sdk": "Succeeded", "run-conformance": "Failed"}
    assert drawn_edges(html) == {("clone-sdk", "run-conformance")}


# ---------------------------------------------------------------------------------------------
# maps, conditions, exit handlers (shaped as dag.go makes them)


def test_a_map_is_one_node_with_its_progress_and_one_row_that_opens_to_its_items() -> None:
    workflow = sweep(width=1000, done=640, failed=3)
    html = page_html(workflow)
    nodes = drawn_nodes(html)
    assert set(nodes) == {"prep", "train", "report", "onExit"}
    train = nodes["train"]
    assert train.kind == "map" and train.phase == "Running" and train.fill == PHASE_COLOURS["Running"]
    assert train.texts == ["train ×1000", "637/1000 · 3 failed"]
    assert drawn_edges(html) == {("prep", "train"), ("train", "report")}
    # the exit handler is apart: under the DAG, with no edge
    exit_node = nodes["onExit"]
    assert exit_node.kind == "exit" and exit_node.texts[0] == "notify"
    assert all(exit_node.y > node.y + NODE_HEIGHT for key, node in nodes.items() if key != "onExit")
    rows = table_rows(html)
    main = [cells for node, cells in rows if node == "train"]
    assert main == [["train ×1000", "Running", "10:00:10", "…",
                     "637/1000 · 3 failed: train(0:0.0), train(1:0.1), train(2:0.2)", ""]]
    items = [cells for node, cells in rows if node and node.startswith("train(")]
    assert len(items) == 100 and items[0][:2] == ["train(0:0.0)", "Failed"]
    assert "… 900 more items" in html and "<details><summary" in html
    exit_row = [cells for node, cells in rows if node == "onExit"][0]
    assert exit_row[:2] == ["notify (on exit)", "Pending"] and exit_row[4] == "exit handler"
    # progress: the whole run and the map
    assert "638 succeeded · 3 failed · 2 running · 360 pending" in html


def test_conditions_skip_and_the_exit_handler_reports_its_reason() -> None:
    shape = Shape("cond", phase="Succeeded")
    shape.task("evaluate", "Succeeded")
    shape.task("deploy", "Skipped", after=["evaluate"], when="0.42 > 0.9")
    shape.task("announce", "Succeeded", after=["evaluate"], when="0.42 <= 0.9")
    shape.exit_handler("notify", "Succeeded")
    html = page_html(shape.build())
    nodes = drawn_nodes(html)
    assert nodes["deploy"].phase == "Skipped" and nodes["deploy"].fill == NOT_RUN_FILL and nodes["deploy"].dashed
    assert "when 0.42 > 0.9" in nodes["deploy"].title
    assert nodes["onExit"].fill == PHASE_COLOURS["Succeeded"] and nodes["onExit"].texts == ["notify", "Succeeded · on exit"]
    rows = {cells[0]: cells for _, cells in table_rows(html)}
    assert rows["deploy"][1] == "Skipped" and rows["deploy"][4] == "when '0.42 > 0.9' evaluated false"
    assert rows["notify (on exit)"][4] == "exit handler"


def test_an_empty_fan_out_is_a_skipped_map() -> None:
    shape = Shape("empty", phase="Succeeded")
    shape.task("list-files", "Succeeded")
    node = shape.task("process", "Skipped", after=["list-files"], message="Skipped, empty params")
    shape.spec_tasks[-1]["withParam"] = "{{tasks.list-files.outputs.result}}"
    assert node
    html = page_html(shape.build())
    process = drawn_nodes(html)["process"]
    assert process.kind == "map" and process.phase == "Skipped" and process.texts == ["process ×0", "0/0"]


def test_a_withparam_map_not_expanded_yet_has_an_unknown_width() -> None:
    shape = Shape("dynamic")
    shape.task("list-files", "Running")
    shape.spec_tasks.append({"name": "process", "template": "process", "depends": "list-files",
                             "withParam": "{{tasks.list-files.outputs.result}}"})
    nodes = drawn_nodes(page_html(shape.build()))
    assert nodes["process"].kind == "map" and nodes["process"].texts == ["process ×?", "0/?"]


def test_many_tasks_of_one_template_with_the_same_neighbours_are_one_group() -> None:
    shape = Shape("fan", phase="Running")
    shape.task("prep", "Succeeded")
    for index in range(2000):
        shape.task(f"work-{index}", "Succeeded" if index < 1500 else "Running", after=["prep"], template="work",
                   start=5 + index)
    workflow = shape.build()
    workflow["spec"]["templates"][0]["dag"]["tasks"].append({"name": "end", "template": "end",
                                                             "depends": " && ".join(f"work-{i}" for i in range(2000))})
    html = page_html(workflow)
    nodes = drawn_nodes(html)
    assert set(nodes) == {"prep", "group:work-0", "end"}
    group = nodes["group:work-0"]
    assert group.kind == "group" and group.texts == ["work ×2000", "1500/2000"]
    assert drawn_edges(html) == {("prep", "group:work-0"), ("group:work-0", "end")}
    # the table still lists every task
    assert len([cells for node, cells in table_rows(html) if node and node.startswith("work-")]) == 2000


def test_fewer_than_the_group_minimum_stay_distinct() -> None:
    shape = Shape("few")
    for index in range(GROUP_MIN - 1):
        shape.task(f"w{index}", "Running", template="work")
    assert len(drawn_nodes(page_html(shape.build()))) == GROUP_MIN - 1


# ---------------------------------------------------------------------------------------------
# layout


def overlapping(nodes: dict[str, Any]) -> list[tuple[str, str]]:
    boxes = sorted(nodes.values(), key=lambda node: (node.x, node.y))
    clashes = []
    for index, first in enumerate(boxes):
        for second in boxes[index + 1:]:
            if second.x >= first.x + NODE_WIDTH:
                break
            if abs(second.y - first.y) < NODE_HEIGHT:
                clashes.append((first.key, second.key))
    return clashes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fifty_distinct_tasks_never_overlap_and_edges_go_forward(seed: int) -> None:
    generator = random.Random(seed)
    shape = Shape("fifty")
    names = [f"task-{index}" for index in range(50)]
    for index, name in enumerate(names):
        after = generator.sample(names[:index], min(index, generator.randint(0, 3)))
        shape.spec_tasks.append({"name": name, "template": name, **({"depends": " && ".join(after)} if after else {})})
    workflow = shape.build(status=False)
    graph = workflow_graph(workflow, planned=True)
    layout = graph_layout(graph)
    html = page_html(workflow)
    nodes = drawn_nodes(html)
    assert len(nodes) == 50 and not overlapping(nodes)
    for source, target in drawn_edges(html):
        assert layout.slots[source][0] < layout.slots[target][0]


def test_a_long_chain_is_drawn_top_to_bottom_and_a_wide_layer_wraps() -> None:
    chain = layered_layout([f"n{i}" for i in range(20)], [(f"n{i}", f"n{i + 1}") for i in range(19)])
    assert chain.direction == "TB" and chain.layers == 20
    wide = layered_layout(["a"] + [f"b{i}" for i in range(40)], [("a", f"b{i}") for i in range(40)])
    assert wide.direction == "LR" and max(position for _, position in wide.slots.values()) < 16


def test_a_map_counts_the_items_its_task_group_announced_before_they_exist() -> None:
    """The controller links an item to its TaskGroup before creating the item's node
    (``addChildNode`` by name), e.g. when parallelism holds the rest back."""
    shape = Shape("dynamic")
    shape.task("list-files", "Succeeded")
    group = shape.map("process", [("a.csv", "Running")], after=["list-files"], param="{{tasks.list-files.outputs.result}}")
    shape.nodes[group]["children"] += ["dynamic-1", "dynamic-2", "dynamic-3"]  # not created yet
    nodes = drawn_nodes(page_html(shape.build()))
    assert nodes["process"].texts == ["process ×4", "0/4"]
