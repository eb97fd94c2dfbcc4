"""``.when(...)``: comparisons of a task's result become Argo's ``when``, and ``--on-exit`` an exit handler.

The ``when`` text is what Argo's controller evaluates after substituting the results
(``steps.go`` ``shouldExecute``, govaluate): a return value arrives as JSON, so literals are
written as JSON too. The exit handler follows ``examples/exit-handlers.yaml``: ``spec.onExit``
names a template, which receives ``{{workflow.status}}`` and ``{{workflow.failures}}``
(``operator.go`` sets the latter ``strconv.Quote``d). Runs are in ``tests/test_dag_runs.py``.
"""

from __future__ import annotations

import json

import pytest
import yaml

from hera_magics.capture import capture_cell
from hera_magics.compile import build_workflow, runtime_loader
from hera_magics.dag import evaluate
from hera_magics.errors import DagError
from hera_magics.options import parse_task_options, parse_workflow_options
from hera_magics.pod.collected import collected_value
from hera_magics.pod.contract import FAILURES_PREFIX
from tests.test_dag_map import arguments, dag_tasks, template

CELLS = {
    "evaluate": "def evaluate() -> float:\n    return 0.95\n",
    "label": "def label() -> str:\n    return 'good'\n",
    "check": "def check() -> bool:\n    return True\n",
    "size": "def size():\n    return 3\n",
    "stats": "def stats() -> dict:\n    return {}\n",
    "deploy": "def deploy(model=None):\n    print('deployed')\n",
    "notify": "def notify(status: str, failures: list, channel: str = 'ml'):\n    print(status, failures)\n",
    "cleanup": "def cleanup():\n    print('clean')\n",
    "sweep": "def sweep(x: int) -> int:\n    return x\n",
}


@pytest.fixture(scope="module")
def tasks():
    specs = {name: capture_cell(cell, parse_task_options()) for name, cell in CELLS.items()}
    specs["printer"] = capture_cell("print('ok')\n", parse_task_options(), name="printer")
    specs["shout"] = capture_cell('echo "$status"\n', parse_task_options(shell=True, inputs=["status"]), name="shout")
    return specs


def when_of(tasks, expression: str, node: str = "deploy") -> str:
    document = yaml.safe_load(build_workflow(evaluate(expression, tasks), parse_workflow_options(),
                                             namespace="argo").to_yaml())
    task = dag_tasks(document)[node]
    return task["when"], task.get("depends")


RETURN = "{{tasks.%s.outputs.parameters.return}}"


@pytest.mark.parametrize("condition, expected", [
    ("evaluate > 0.9", f"{RETURN % 'evaluate'} > 0.9"),
    ("evaluate >= 1", f"{RETURN % 'evaluate'} >= 1"),
    ("0.9 < evaluate", f"{RETURN % 'evaluate'} > 0.9"),
    ("evaluate <= 0.5", f"{RETURN % 'evaluate'} <= 0.5"),
    ("evaluate != 0.5", f"{RETURN % 'evaluate'} != 0.5"),
    ('label == "good"', f'{RETURN % "label"} == "good"'),
    ("check == True", f"{RETURN % 'check'} == true"),
    ("check", f"{RETURN % 'check'} == true"),
    ('printer.result == "ok"', '"{{tasks.printer.outputs.result}}" == "ok"'),
    ("printer.result > 2", "{{tasks.printer.outputs.result}} > 2"),
    ("(evaluate > 0.9) & (label == 'good')", f"({RETURN % 'evaluate'} > 0.9) && ({RETURN % 'label'} == \"good\")"),
    ("(evaluate > 0.9) | ~check", f"({RETURN % 'evaluate'} > 0.9) || (!({RETURN % 'check'} == true))"),
    ("evaluate > size", f"{RETURN % 'evaluate'} > {RETURN % 'size'}"),
])
def test_comparisons_become_argo_when(tasks, condition, expected):
    when, depends = when_of(tasks, f"deploy.when({condition})")
    assert when == expected
    # a condition reads its tasks' results, so the node waits for them
    sources = [name for name in ("evaluate", "label", "check", "printer", "size") if name in condition]
    assert sorted(depends.split(" && ")) == sorted(sources)


def test_the_issue_s_spelling(tasks):
    when, depends = when_of(tasks, "evaluate >> deploy(model=evaluate).when(evaluate > 0.9)")
    assert when == f"{RETURN % 'evaluate'} > 0.9" and depends == "evaluate"


@pytest.mark.parametrize("expression, expected", [
    ("deploy.when(evaluate > 0.9 and check)", "a condition is not True or False while the DAG is built"),
    ("deploy.when(0.5 < evaluate < 0.9)", "write 0.5 < x < 0.9 as (x > 0.5) & (x < 0.9)"),
    ("deploy.when(evaluate > 0.9 & check)", "put each comparison in parentheses"),
    ("deploy.when(True)", "takes a comparison of a task's result, not a bool"),
    ("deploy.when(evaluate > None)", "not with None"),
    ("deploy.when(evaluate > [1])", "not with a list"),
    ("deploy.when(label > '{{x}}')", "contains '{{', which Argo would substitute"),
    ("deploy.when(evaluate == 'high')", "evaluate returns float, which is never == 'high'"),
    ("deploy.when(stats > 1)", "stats returns dict"),
    ("deploy.when(evaluate)", "evaluate returns float, not True/False"),
    ("deploy.when(evaluate > 1).when(check)", "has two conditions"),
    ("deploy.when(deploy.result == 'x')", "its condition uses its own result"),
    ("deploy.when(sweep.map(x=[1, 2]) > 1)", "sweep is a map"),
    ("deploy(model=evaluate > 1)", "a condition is for .when(...), not an argument"),
    ("deploy.when(evaluate > float('nan'))", "not with a float"),
])
def test_mistakes_in_a_condition_are_short_messages(tasks, expression, expected):
    with pytest.raises(DagError) as caught:
        evaluate(expression, tasks)
    assert expected in str(caught.value)


def test_a_condition_and_a_map_go_together(tasks):
    document = yaml.safe_load(build_workflow(evaluate("sweep.map(x=[1, 2]).when(check)", tasks),
                                             parse_workflow_options(), namespace="argo").to_yaml())
    task = dag_tasks(document)["sweep"]
    assert task["withItems"] == [1, 2] and task["when"] == f"{RETURN % 'check'} == true"


# -- --on-exit --------------------------------------------------------------------------------------------


def build_with_exit(tasks, expression: str, on_exit: str) -> dict:
    options = parse_workflow_options(on_exit=on_exit)
    dag = evaluate(expression, tasks, {"team": "vision"}, on_exit=options.on_exit)
    return yaml.safe_load(build_workflow(dag, options, namespace="argo").to_yaml())


def test_on_exit_runs_a_task_with_the_workflow_s_status_and_failures(tasks):
    document = build_with_exit(tasks, "evaluate >> deploy", "notify")
    assert document["spec"]["onExit"] == "hera-magics-exit"
    exit_tasks = dag_tasks(document, "hera-magics-exit")
    assert list(exit_tasks) == ["notify"] and exit_tasks["notify"]["template"] == "notify"
    assert arguments(exit_tasks["notify"]) == {"status": "{{workflow.status}}",
                                               "failures": FAILURES_PREFIX + "{{workflow.failures}}"}
    assert "notify" not in dag_tasks(document)  # not part of the main DAG
    assert document["spec"]["arguments"]["parameters"][0]["value"] == runtime_loader(False, True)


def test_on_exit_takes_arguments_and_tasks_without_status(tasks):
    document = build_with_exit(tasks, "evaluate", "notify(channel=team)")
    assert arguments(dag_tasks(document, "hera-magics-exit")["notify"])["channel"] == "vision"
    document = build_with_exit(tasks, "evaluate", "cleanup")
    assert arguments(dag_tasks(document, "hera-magics-exit")["cleanup"]) == {}
    document = build_with_exit(tasks, "evaluate", "shout")
    assert arguments(dag_tasks(document, "hera-magics-exit")["shout"]) == {"status": "{{workflow.status}}"}


@pytest.mark.parametrize("on_exit, expected", [
    ("notify(status='x')", "status is given by Argo when the workflow ends; do not pass it"),
    ("evaluate >> cleanup", "is not a task"),
    ("notify(channel=label)", "the exit handler is one task"),
    ("nobody", "`nobody` is neither a registered task nor a notebook variable"),
    ("sweep", "required input 'x' of `sweep` is not given"),
])
def test_mistakes_in_on_exit_are_short_messages(tasks, on_exit, expected):
    with pytest.raises(DagError) as caught:
        build_with_exit(tasks, "evaluate", on_exit)
    assert expected in str(caught.value)


def test_exit_inputs_annotated_otherwise_are_refused(tasks):
    specs = dict(tasks, bad=capture_cell("def bad(failures: str):\n    pass\n", parse_task_options()))
    with pytest.raises(DagError, match="input 'failures' is annotated str, but it receives a list of failed nodes"):
        build_with_exit(specs, "evaluate", "bad")


@pytest.mark.parametrize("argo_value, expected", [
    # operator.go: strconv.Quote(json.Marshal(failures)), then substituted into the pod's JSON
    (json.dumps(json.dumps([{"displayName": "train", "message": "Error (exit code 1)", "phase": "Failed"}])),
     [{"displayName": "train", "message": "Error (exit code 1)", "phase": "Failed"}]),
    (json.dumps("null"), []),
    ('[{"displayName": "x"}]', [{"displayName": "x"}]),  # an engine that does not quote it
])
def test_the_pod_decodes_the_workflow_s_failures(argo_value, expected):
    assert collected_value(FAILURES_PREFIX + argo_value) == expected


def test_a_shell_exit_task_cannot_take_failures(tasks):
    specs = dict(tasks, shell_failures=capture_cell('echo "$failures"\n', parse_task_options(shell=True, inputs=["failures"]),
                                                   name="shell_failures"))
    with pytest.raises(DagError, match="a --shell task cannot take the workflow's failures"):
        build_with_exit(specs, "evaluate", "shell_failures")


def test_the_exit_template_is_last_and_named_apart(tasks):
    document = build_with_exit(tasks, "notify(status='s', failures=[]) >> evaluate", "notify")
    names = [item["name"] for item in document["spec"]["templates"]]
    assert names[0] == "hera-magics-dag" and "hera-magics-exit" in names
    assert template(document, "hera-magics-exit")["dag"]["tasks"][0]["template"] == "notify"
