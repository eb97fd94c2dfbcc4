"""Reading a workflow spec: which tasks a DAG targets."""

from __future__ import annotations

from hera_magics.local.spec import dag_targets


def test_dag_targets_are_leaves_unless_given():
    template = {"dag": {"tasks": [{"name": "a"}, {"name": "b", "depends": "a"}, {"name": "c", "dependencies": ["a"]}]}}
    assert dag_targets(template) == ["b", "c"]
    assert dag_targets({"dag": {"target": "a b", "tasks": template["dag"]["tasks"]}}) == ["a", "b"]
