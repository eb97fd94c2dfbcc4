"""``.map(...)``: one node per item, as Argo's withItems / withParam, and what downstream receives.

The YAML shapes follow Argo's own examples (``examples/loops-dag.yaml``, ``loops-param-result.yaml``,
``parameter-aggregation-dag.yaml``) and are checked against Argo's ``schema.json`` (the copy in ``hera_magics/local/argo_schema``); what a task
taking a map receives is Argo's ``{{tasks.X.outputs.parameters}}`` (``operator.go``
``processAggregateNodeOutputs``), decoded by the pod. Runs on the local engine are in
``tests/test_dag_runs.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hera_magics.capture import capture_cell
from hera_magics.compile import build_workflow, runtime_loader, workflow_body
from hera_magics.dag import evaluate
from hera_magics.errors import DagError
from hera_magics.options import parse_task_options, parse_workflow_options
from hera_magics.pod.collected import collected_value
from hera_magics.pod.contract import (
    COLLECTED_PREFIX,
    ENCODED_PREFIX,
    INPUT_ENV_PREFIX,
    PATH_PREFIX_VARIABLE,
    RETURN_PATH,
    RUNTIME_PARAMETER,
)
from tests.pod_helpers import argo_substitute

CELLS = {
    "prep": ("def prep() -> str:\n    return 'data.csv'\n", {}),
    "train": ("def train(path: str, lr: float, seed: int = 0) -> dict:\n    return {'lr': lr}\n", {}),
    "report": ("def report(scores: list) -> list:\n    return scores\n", {}),
    "list_files": ("def list_files() -> list:\n    return ['a.csv', 'b.csv']\n", {}),
    "describe": ("def describe() -> dict:\n    return {}\n", {}),
    "process": ("def process(path: str) -> int:\n    return len(path)\n", {}),
    "printer": ("print('[1, 2]')\n", {}),
    "shout": ('echo "$words"\n', {"shell": True, "inputs": ["words"]}),
    "plain": ("def plain(x):\n    return x\n", {}),
    "keeps": ("def keeps() -> list:\n    return [1]\n", {"data_volume": "home"}),
    "knob": ("def knob(parallelism, value=0):\n    return parallelism\n", {}),
}


@pytest.fixture(scope="module")
def tasks():
    specs = {}
    for name, (cell, options) in CELLS.items():
        named = name if ("inputs" in options or options.get("shell") or "def " not in cell) else None
        specs[name] = capture_cell(cell, parse_task_options(**options), name=named)
    return specs


def build(tasks, expression: str, notebook=None, **options) -> dict:
    dag = evaluate(expression, tasks, notebook, on_exit=options.pop("on_exit", None))
    workflow = build_workflow(dag, parse_workflow_options(**options), namespace="argo")
    return yaml.safe_load(workflow.to_yaml())


def template(document: dict, name: str) -> dict:
    return next(t for t in document["spec"]["templates"] if t["name"] == name)


def dag_tasks(document: dict, name: str = "hera-magics-dag") -> dict[str, dict]:
    return {task["name"]: task for task in template(document, name)["dag"]["tasks"]}


def arguments(task: dict) -> dict[str, str]:
    return {item["name"]: item["value"] for item in (task.get("arguments") or {}).get("parameters", [])}


def refused(tasks, expression: str, notebook=None) -> DagError:
    with pytest.raises(DagError) as caught:
        evaluate(expression, tasks, notebook)
    return caught.value


@pytest.fixture(scope="module")
def workflow_schema():
    jsonschema = pytest.importorskip("jsonschema")
    import hera_magics.local

    # Argo's official schema (v4.0.5), as the package ships it for the local engine's create check
    schema = json.loads((Path(hera_magics.local.__file__).parent / "argo_schema" / "schema.json").read_text())
    return jsonschema.Draft7Validator(
        {"$ref": "#/definitions/io.argoproj.workflow.v1alpha1.Workflow", "definitions": schema["definitions"]})


# -- static sweeps: withItems ------------------------------------------------------------------------


def test_a_literal_list_is_with_items_and_each_item_is_its_input(tasks):
    document = build(tasks, "prep >> train(path=prep).map(lr=[0.1, 0.01, 0.001]) >> report(scores=train)")
    train = dag_tasks(document)["train"]
    # the shape of Argo's examples/loops-dag.yaml
    assert train["withItems"] == [0.1, 0.01, 0.001] and train["depends"] == "prep"
    assert arguments(train) == {"path": "{{tasks.prep.outputs.parameters.return}}", "lr": "{{item}}"}
    # downstream: the items' outputs, which the pod turns into the list of return values
    report = dag_tasks(document)["report"]
    assert report["depends"] == "train"
    assert arguments(report) == {"scores": COLLECTED_PREFIX + "{{tasks.train.outputs.parameters}}"}


def test_a_notebook_list_tuple_range_or_array_is_a_static_sweep(tasks):
    numpy = pytest.importorskip("numpy")
    for value, items in [([0.5, 0.25], [0.5, 0.25]), ((1, 2), [1, 2]), (range(3), [0, 1, 2]),
                         (numpy.array([0.5, 1.5]), [0.5, 1.5])]:
        document = build(tasks, "train(path='p').map(lr=rates)", {"rates": value})
        assert dag_tasks(document)["train"]["withItems"] == items


def test_several_mapped_keywords_zip_into_one_item_each(tasks):
    document = build(tasks, "train(path='p').map(lr=[0.1, 0.01], seed=[1, 2])")
    train = dag_tasks(document)["train"]
    assert train["withItems"] == [{"lr": 0.1, "seed": 1}, {"lr": 0.01, "seed": 2}]
    assert arguments(train) == {"path": "p", "lr": "{{item.lr}}", "seed": "{{item.seed}}"}


def test_zipped_lists_of_different_lengths_are_refused_before_submission(tasks):
    error = refused(tasks, "train(path='p').map(lr=[0.1, 0.01, 0.001], seed=[1, 2])")
    assert error.message == ("node 'train': the mapped inputs zip item by item, so they need equal lengths: "
                             "lr has 3, seed has 2")


@pytest.mark.parametrize("expression, expected", [
    ("train(path='p').map(lr=[])", "the list to map over is empty"),
    ("train(path='p').map(lr={'a': 1})", "a dict is not a list to map over"),
    ("train(path='p').map(lr=0.1)", "a float is not a list to map over"),
    ("train(path='p').map()", "train.map() has nothing to map over"),
    ("train(path='p').map(lrs=[1])", "task `train` has no input 'lrs'; did you mean 'lr'?"),
    ("train(path='p', lr=1).map(lr=[1])", "'lr' is given in the call and in .map(...)"),
    ("train.map(lr=[1, 2])", "required input 'path' of `train` is not given"),
    ("train(path='p').map(lr=[1]).map(seed=[2])", "is mapped twice"),
    ("train(path='p').map(lr=[0.1, 'fast'])", "item 1 of the list is a str ('fast')"),
    ("train(path='p').map(lr=[0.1], parallelism=0)", "parallelism=0): give a whole number of items, 1 or more"),
    ("train(path='p').map(lr=[0.1], keep_going='yes')", "keep_going='yes'): give True or False"),
    ("plain.map(x=[object()])", "a value of type object cannot be passed"),
    ("keeps.map()", "--data-volume, and its items would share one file"),
    ("x = train(path='p')\nplain(x=x)\nx.map(lr=[1])", "map node 'train' where you make it, before it is used"),
])
def test_mistakes_in_a_map_are_short_messages(tasks, expression, expected):
    assert expected in refused(tasks, expression).message


def test_strings_argo_would_change_travel_encoded(tasks):
    document = build(tasks, "plain.map(x=['plain', '{{workflow.name}}', 'say \"hi\"'])")
    items = dag_tasks(document)["plain"]["withItems"]
    # {{item}} of a string item is the string itself, except Argo's braces
    assert items[0] == "plain" and items[2] == 'say "hi"' and items[1].startswith(ENCODED_PREFIX)
    # zipped, Argo shows {{item.key}} of a string with its JSON escapes: such strings are encoded
    document = build(tasks, "train.map(path=['a', 'say \"hi\"'], lr=[1, 2])")
    items = dag_tasks(document)["train"]["withItems"]
    assert items[0] == {"path": "a", "lr": 1} and items[1]["path"].startswith(ENCODED_PREFIX)


def test_parallelism_and_keep_going_are_options_unless_the_task_has_such_an_input(tasks):
    document = build(tasks, "knob.map(parallelism=[1, 2])")
    assert dag_tasks(document)["knob"]["withItems"] == [1, 2]
    document = build(tasks, "knob(parallelism=5).map(value=[1, 2], parallelism=1)")
    assert "hera-magics-map-knob" in [t["name"] for t in document["spec"]["templates"]]


# -- dynamic fan-out: withParam --------------------------------------------------------------------------


def test_another_node_s_list_is_with_param(tasks):
    document = build(tasks, "list_files >> process.map(path=list_files) >> report(scores=process)")
    process = dag_tasks(document)["process"]
    assert process["withParam"] == "{{tasks.list-files.outputs.parameters.return}}"
    assert process["depends"] == "list-files" and arguments(process) == {"path": "{{item}}"}
    # the dependency comes from the list alone too
    assert dag_tasks(build(tasks, "process.map(path=list_files)"))["process"]["depends"] == "list-files"


def test_a_script_task_s_printed_list_and_a_map_s_values_can_be_mapped_over(tasks):
    process = dag_tasks(build(tasks, "process.map(path=printer)"))["process"]
    assert process["withParam"] == "{{tasks.printer.outputs.result}}"
    # a map of a map: Argo's by-name aggregate, a JSON list of the items' values
    document = build(tasks, "train(path='p').map(lr=[1, 2]) >> plain.map(x=train)")
    assert dag_tasks(document)["plain"]["withParam"] == "{{tasks.train.outputs.parameters.return}}"


@pytest.mark.parametrize("expression, expected", [
    ("process.map(path=describe)", "describe returns dict, not a list"),
    ("process.map(path=keeps)", "keeps returns its value through the data volume"),
    ("train.map(path=list_files, lr=[1, 2])", "a map over another task's list maps one input"),
    ("train(path='p').map(lr=[1], parallelism=2) >> plain.map(x=train)", "has parallelism= or returns nothing"),
    ("plain.map(x=plain)", "cannot map over its own output"),
])
def test_mistakes_in_a_dynamic_map_are_short_messages(tasks, expression, expected):
    assert expected in refused(tasks, expression).message


# -- what downstream receives -------------------------------------------------------------------------------


@pytest.mark.parametrize("expression, expected", [
    ("train(path='p').map(lr=[1]) >> shout(words=train)", "a --shell task cannot take a map's list"),
    ("train(path='p').map(lr=[1]) >> process(path=train)", "train is a map and hands on a list, but input 'path'"),
    ("plain(x=train(path='p').map(lr=[1]).result)", "what its items printed cannot be collected"),
    ("printer.map() if False else plain(x=printer.named('p2').map())", "has nothing to map over"),
])
def test_what_a_map_hands_on_is_checked(tasks, expression, expected):
    assert expected in refused(tasks, expression).message


@pytest.mark.parametrize("aggregate, values", [
    # Argo writes each item's output parameters, values as text, succeeded items only, item order
    ('[{"return":"0.5"},{"return":"{\\"lr\\": 0.1}"},{"return":"\\"text\\""},{"return":"null"}]',
     [0.5, {"lr": 0.1}, "text", None]),
    ("[]", []),
])
def test_the_pod_makes_a_map_s_outputs_the_list_of_return_values(aggregate, values):
    assert collected_value(COLLECTED_PREFIX + aggregate) == values


def test_a_task_taking_a_map_gets_the_list_in_a_real_python(tasks, tmp_path):
    """The shipped runtime, Argo's substitution of the aggregate, the task's own input."""
    document = build(tasks, "train(path='p').map(lr=[0.1, 0.2]) >> report(scores=train)")
    assert document["spec"]["arguments"]["parameters"] == [
        {"name": RUNTIME_PARAMETER, "value": runtime_loader(False, True)}]
    aggregate = json.dumps([{"return": json.dumps({"lr": 0.1})}, {"return": json.dumps({"lr": 0.2})}])
    value = arguments(dag_tasks(document)["report"])["scores"].replace("{{tasks.train.outputs.parameters}}", aggregate)
    parameters = {f"workflow.parameters.{RUNTIME_PARAMETER}": runtime_loader(False, True),
                  "inputs.parameters.scores": value}
    script = argo_substitute(template(document, "report"), parameters)["script"]
    environment = {key: item for key, item in os.environ.items() if not key.startswith(("HERA_MAGICS_", "PYTHON"))}
    environment.update({variable["name"]: variable["value"] for variable in script["env"]})
    environment[PATH_PREFIX_VARIABLE] = str(tmp_path)
    (tmp_path / "script").write_text(script["source"])
    answer = subprocess.run([sys.executable, str(tmp_path / "script")], env=environment, capture_output=True,
                            text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(Path(str(tmp_path) + RETURN_PATH).read_text()) == [{"lr": 0.1}, {"lr": 0.2}]
    assert environment[INPUT_ENV_PREFIX + "scores"].startswith(COLLECTED_PREFIX)


def test_workflows_without_maps_do_not_ship_the_collected_decoder(tasks):
    document = build(tasks, "prep >> train(path=prep, lr=1)")
    assert document["spec"]["arguments"]["parameters"][0]["value"] == runtime_loader(False, False)


# -- parallelism and partial failure -----------------------------------------------------------------------


def test_parallelism_runs_the_loop_in_a_dag_template_of_its_own(tasks):
    document = build(tasks, "prep >> train(path=prep, seed=3).map(lr=[0.1, 0.2], parallelism=2) >> report(scores=train)")
    outer = dag_tasks(document)["train"]
    assert outer["template"] == "hera-magics-map-train" and "withItems" not in outer
    assert arguments(outer) == {"path": "{{tasks.prep.outputs.parameters.return}}", "seed": "3"}
    map_template = template(document, "hera-magics-map-train")
    assert map_template["parallelism"] == 2
    assert [item["name"] for item in map_template["inputs"]["parameters"]] == ["path", "seed"]
    assert map_template["outputs"]["parameters"] == [
        {"name": "return", "valueFrom": {"parameter": "{{tasks.train.outputs.parameters}}"}}]
    inner = dag_tasks(document, "hera-magics-map-train")["train"]
    assert inner["template"] == "train" and inner["withItems"] == [0.1, 0.2]
    assert arguments(inner) == {"path": "{{inputs.parameters.path}}", "seed": "{{inputs.parameters.seed}}",
                                "lr": "{{item}}"}
    assert arguments(dag_tasks(document)["report"]) == {
        "scores": COLLECTED_PREFIX + "{{tasks.train.outputs.parameters.return}}"}


def test_parallelism_of_a_dynamic_map_passes_the_list_in(tasks):
    document = build(tasks, "process.map(path=list_files, parallelism=3)")
    assert arguments(dag_tasks(document)["process"]) == {
        "hera-magics-items": "{{tasks.list-files.outputs.parameters.return}}"}
    assert dag_tasks(document, "hera-magics-map-process")["process"]["withParam"] == \
        "{{inputs.parameters.hera-magics-items}}"


def test_by_default_failed_items_fail_the_map(tasks):
    document = build(tasks, "list_files >> process.map(path=list_files) >> report(scores=process)")
    assert "continueOn" not in dag_tasks(document)["process"]
    assert dag_tasks(document)["report"]["depends"] == "process"
    assert "failFast" not in template(document, "hera-magics-dag")["dag"]


def test_keep_going_hands_downstream_what_succeeded(tasks):
    document = build(tasks, "list_files >> process.map(path=list_files, keep_going=True) >> report(scores=process)")
    process, report = dag_tasks(document)["process"], dag_tasks(document)["report"]
    assert process["continueOn"] == {"failed": True, "error": True}
    assert report["depends"] == "(process || process.Failed || process.Errored)"
    # failed items must not stop the others from starting
    assert template(document, "hera-magics-dag")["dag"]["failFast"] is False


def test_keep_going_with_parallelism_keeps_its_failures_inside_the_map_s_template(tasks):
    document = build(tasks, "list_files >> process.map(path=list_files, keep_going=True, parallelism=2) >> "
                            "report(scores=process)")
    assert dag_tasks(document)["report"]["depends"] == "process"
    assert "failFast" not in template(document, "hera-magics-dag")["dag"]
    assert template(document, "hera-magics-map-process")["dag"]["failFast"] is False
    assert dag_tasks(document, "hera-magics-map-process")["process"]["continueOn"] == {"failed": True, "error": True}


# -- Argo's schema -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("expression", [
    "prep >> train(path=prep).map(lr=[0.1, 0.01, 0.001]) >> report(scores=train)",
    "train(path='p').map(lr=[0.1, 0.01], seed=[1, 2]) >> report(scores=train)",
    "list_files >> process.map(path=list_files, keep_going=True) >> report(scores=process)",
    "list_files >> process.map(path=list_files, parallelism=2) >> report(scores=process)",
    "plain.map(x=[{'a': 1}, [1, 2], 'text', True, None])",
])
def test_maps_are_valid_argo_workflows(tasks, workflow_schema, expression):
    dag = evaluate(expression, tasks)
    body = workflow_body(build_workflow(dag, parse_workflow_options(), namespace="argo"))
    errors = [error.message for error in workflow_schema.iter_errors(body)]
    assert errors == []
