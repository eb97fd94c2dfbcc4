"""The %argo_dag expression language, through the plain-Python API (no IPython needed)."""

from __future__ import annotations

import pytest
import yaml

from hera_magics.capture import capture_cell
from hera_magics.compile import build_workflow
from hera_magics.dag import DAG_TEMPLATE_NAME, dag_order, evaluate
from hera_magics.errors import DagError
from hera_magics.options import parse_task_options, parse_workflow_options


@pytest.fixture
def tasks():
    cells = {
        "prepare": ("def prepare() -> str:\n    return 'data.csv'\n", {}),
        "train": ("def train(path: str, lr: float = 0.1, epochs=3):\n    return {'loss': lr}\n", {}),
        "evaluate_model": ("def evaluate_model(model, split='test'):\n    return 1\n", {}),
        "report": ("print(metrics)\n", {"inputs": ["metrics"]}),
        "a": ("def a():\n    pass\n", {}),
        "b": ("def b():\n    pass\n", {}),
        "c": ("def c():\n    pass\n", {}),
        "d": ("def d():\n    pass\n", {}),
    }
    specs = {}
    for name, (cell, options) in cells.items():
        specs[name] = capture_cell(cell, parse_task_options(**options), name=name if "inputs" in options else None)
    return specs


def shape(dag) -> dict:
    return {node.name: (sorted(node.depends()), node.arguments) for node in dag.nodes}


EXPRESSION_CASES = [
    ("a >> b", {"a": ([], {}), "b": (["a"], {})}),
    ("a >> [b, c]", {"a": ([], {}), "b": (["a"], {}), "c": (["a"], {})}),
    ("[b, c] >> d", {"b": ([], {}), "c": ([], {}), "d": (["b", "c"], {})}),
    ("a >> [b, c] >> d", {"a": ([], {}), "b": (["a"], {}), "c": (["a"], {}), "d": (["b", "c"], {})}),
    ("a >> b >> c >> d", {"a": ([], {}), "b": (["a"], {}), "c": (["b"], {}), "d": (["c"], {})}),
    ("d << c", {"c": ([], {}), "d": (["c"], {})}),
    ("a", {"a": ([], {})}),
    ("[a, b]", {"a": ([], {}), "b": ([], {})}),
    (
        "prepare >> train(path=prepare, lr=0.01) >> report(metrics=train)",
        {
            "prepare": ([], {}),
            "train": (["prepare"], {"path": "{{tasks.prepare.outputs.parameters.return}}", "lr": "0.01"}),
            "report": (["train"], {"metrics": "{{tasks.train.outputs.parameters.return}}"}),
        },
    ),
    (
        "report(metrics=prepare.result)",
        {"prepare": ([], {}), "report": (["prepare"], {"metrics": "{{tasks.prepare.outputs.result}}"})},
    ),
    (
        "train('x.csv', 0.5)",
        {"train": ([], {"path": "x.csv", "lr": "0.5"})},
    ),
    (
        "[train(path='a', name='train-a'), train(path='b', name='train-b')] >> evaluate_model(model=train_a_node) if False else "
        "a",
        {"train-a": ([], {"path": "a"}), "train-b": ([], {"path": "b"}), "a": ([], {})},
    ),
    (
        "t1 = train(path='a', name='fast', lr=1)\nt2 = train(path='b', name='slow', lr=0.001)\n[t1, t2] >> evaluate_model(model=t1)",
        {
            "fast": ([], {"path": "a", "lr": "1"}),
            "slow": ([], {"path": "b", "lr": "0.001"}),
            "evaluate-model": (["fast", "slow"], {"model": "{{tasks.fast.outputs.parameters.return}}"}),
        },
    ),
    (
        "train(path='p', arguments={'lr': 2})",
        {"train": ([], {"path": "p", "lr": "2"})},
    ),
    (
        "[train(path=f'part-{i}', name=f'train-{i}') for i in range(3)]",
        {f"train-{i}": ([], {"path": f"part-{i}"}) for i in range(3)},
    ),
]


@pytest.mark.parametrize("expression, expected", EXPRESSION_CASES)
def test_expressions(tasks, expression, expected):
    if "train_a_node" in expression:  # a conditional expression: only the else branch runs
        expected = {"a": ([], {})}
    assert shape(evaluate(expression, tasks)) == expected


def test_notebook_variables_as_arguments(tasks):
    notebook = {"data_path": "/data/x.csv", "rate": 0.25, "config": {"layers": [1, 2]}}
    dag = evaluate("train(path=data_path, lr=rate, epochs=config)", tasks, notebook)
    assert dag.nodes[0].arguments == {"path": "/data/x.csv", "lr": "0.25", "epochs": '{"layers": [1, 2]}'}


def test_a_notebook_variable_with_a_task_s_name_is_refused(tasks):
    # Issue 9 #1: it used to mean the task silently; tests/test_dag_names.py has the details.
    with pytest.raises(DagError, match="`a` is both a task and a notebook variable"):
        evaluate("a", tasks, {"a": 42})
    assert [node.name for node in evaluate("tasks.a", tasks, {"a": 42}).nodes] == ["a"]


def test_script_task_output_is_its_stdout(tasks):
    dag = evaluate("train(path=report(metrics=1))", tasks)
    train = next(node for node in dag.nodes if node.name == "train")
    assert train.arguments["path"] == "{{tasks.report.outputs.result}}"


def test_dag_order_and_workflow_yaml(tasks):
    dag = evaluate("a >> [b, c] >> d", tasks)
    assert dag_order(dag) == ["a", "b", "c", "d"]
    options = parse_workflow_options(
        name="nightly", namespace="dev", service_account="runner", parallelism=2, label=["team=ml"],
        ttl="1h", timeout="2h", no_fail_fast=True, image_pull_secret=["regcred"],
    )
    document = yaml.safe_load(build_workflow(dag, options, namespace="dev").to_yaml())
    assert document["metadata"]["generateName"] == "nightly-"
    assert document["metadata"]["namespace"] == "dev"
    assert document["metadata"]["labels"] == {"team": "ml"}
    spec = document["spec"]
    assert spec["entrypoint"] == DAG_TEMPLATE_NAME
    assert spec["serviceAccountName"] == "runner"
    assert spec["parallelism"] == 2
    assert spec["ttlStrategy"] == {"secondsAfterCompletion": 3600}
    assert spec["activeDeadlineSeconds"] == 7200
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    dag_template = next(t for t in spec["templates"] if t["name"] == DAG_TEMPLATE_NAME)
    assert dag_template["dag"]["failFast"] is False
    assert [task.get("depends") for task in dag_template["dag"]["tasks"]] == [None, "a", "a", "b && c"]


def test_fail_fast_is_argo_default_when_not_disabled(tasks):
    document = yaml.safe_load(build_workflow(evaluate("a", tasks), parse_workflow_options(), namespace=None).to_yaml())
    dag_template = next(t for t in document["spec"]["templates"] if t["name"] == DAG_TEMPLATE_NAME)
    assert "failFast" not in dag_template["dag"]


def test_cycle_is_named(tasks):
    with pytest.raises(DagError) as caught:
        evaluate("a >> b >> c >> a", tasks)
    assert "cycle" in caught.value.message
    for name in "abc":
        assert name in caught.value.message


def test_braces_typed_by_the_user_are_data_not_argo_expressions(tasks):
    """Only references made by the handles (a.result, passing a) are Argo expressions."""
    import base64

    from hera_magics.pod.contract import ENCODED_PREFIX

    dag = evaluate("report(metrics='{{tasks.ghost.outputs.result}} and {{workflow.name}}')", tasks)
    node = dag.nodes[0]
    assert node.depends() == []
    assert node.arguments["metrics"].startswith(ENCODED_PREFIX)
    encoded = node.arguments["metrics"][len(ENCODED_PREFIX):]
    assert base64.b64decode(encoded).decode() == "{{tasks.ghost.outputs.result}} and {{workflow.name}}"


def test_too_large_values_are_refused_before_submission(tasks):
    with pytest.raises(DagError) as caught:
        evaluate("train(path='x' * 200_000)", tasks)
    assert "too large for an Argo parameter" in caught.value.message and "--data-volume" in caught.value.hint


def test_a_task_inside_a_string_is_refused(tasks):
    with pytest.raises(DagError) as caught:
        evaluate("train(path=f'prefix-{prepare}')", tasks)
    assert "cannot be turned into text" in caught.value.message and "prepare.result" in caught.value.hint
    with pytest.raises(DagError, match="has no attribute 'nope'"):
        evaluate("train(path=prepare.nope)", tasks)


def test_large_strings_for_a_data_volume_task_travel_as_files():
    spec = capture_cell("def use(big):\n    return len(big)\n", parse_task_options(data_volume="home"))
    dag = evaluate("use(big='x' * 40_000)", {"use": spec})
    assert dag.nodes[0].arguments["big"].startswith('{"__hera_magics_file__": "inputs/')
    assert list(dag.files.values()) == ["x" * 40_000]
    small = evaluate("use(big='short')", {"use": spec})
    assert small.nodes[0].arguments["big"] == "short" and not small.files
