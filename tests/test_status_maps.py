"""How ``status`` reads maps: item order, the DAG a map with ``parallelism=`` runs in, all items skipped.

Pure: workflow objects shaped as Argo's controller shapes them (``tests/view/argo_shapes.py``).
The same shapes on real runs are in ``tests/view/test_map_runs.py``.
"""

from __future__ import annotations

from hera_magics.status import item_index, task_graph, task_rows
from tests.view.argo_shapes import Shape


def _map_entry(workflow):
    return next(entry for entry in task_graph(workflow)[0] if entry["kind"] == "map")


def test_a_map_s_items_are_in_item_order_not_start_order() -> None:
    shape = Shape("order", phase="Succeeded")
    group = shape.map("train", [(value, "Succeeded") for value in range(12)])
    # item 11 started first, item 0 last
    for node_id in shape.nodes[group]["children"]:
        node = shape.nodes[node_id]
        node["startedAt"] = f"2024-05-01T10:00:{59 - item_index(node['displayName']):02d}Z"
    entry = _map_entry(shape.build())
    assert [item["label"] for item in entry["items"]] == [f"train({index}:{index})" for index in range(12)]


def test_the_dag_a_map_with_parallelism_runs_in_is_looked_through() -> None:
    shape = Shape("bounded", phase="Succeeded")
    group = shape.map("train", [(0.1, "Succeeded"), (0.2, "Succeeded")])
    # Argo's shape of .map(..., parallelism=2): a DAG node "train" (template hera-magics-map-train)
    # whose one child is the TaskGroup "train"; the items' boundary is that DAG node.
    wrapper = shape._node("bounded.wrapper", "DAG", "Succeeded", display="train", template="hera-magics-map-train",
                          boundary=shape.root)
    shape.nodes[wrapper]["name"], shape.nodes[group]["name"] = "bounded.train", "bounded.train.train"
    shape.nodes[shape.root]["children"] = [wrapper]
    shape.nodes[wrapper]["children"] = [group]
    for node_id in [group, *shape.nodes[group]["children"]]:
        shape.nodes[node_id]["boundaryID"] = wrapper
    workflow = shape.build()
    assert [row["task"] for row in task_rows(workflow)] == ["train(0:0.1)", "train(1:0.2)"]
    assert _map_entry(workflow)["key"] == "train"


def test_a_nested_dag_of_one_task_of_its_own_name_is_not_a_map_wrapper() -> None:
    shape = Shape("nested", phase="Succeeded")
    inner = shape.task("sub", "Succeeded")
    outer = shape._node("nested.sub-dag", "DAG", "Succeeded", display="sub", template="inner", boundary=shape.root)
    shape.nodes[shape.root]["children"] = [outer]
    shape.nodes[outer]["children"] = [inner]
    shape.nodes[inner]["boundaryID"] = outer
    assert [row["task"] for row in task_rows(shape.build())] == ["sub.sub"]


def test_a_map_none_of_whose_items_ran_is_skipped_with_their_reason() -> None:
    shape = Shape("skipped", phase="Succeeded")
    group = shape.map("train", [(0.1, "Skipped"), (0.2, "Skipped")], phase="Succeeded")
    for node_id in shape.nodes[group]["children"]:
        shape.nodes[node_id].update(type="Skipped", message="when '0.5 > 0.9' evaluated false")
    entry = _map_entry(shape.build())
    assert entry["phase"] == "Skipped" and entry["message"] == "when '0.5 > 0.9' evaluated false"
    assert (entry["done"], entry["total"]) == (2, 2)
