"""From specs to what Argo receives (hera_magics.compile): where each option lands in a template,
the generated scripts run by a real Python as a pod runs them, the pod runtime shipped once per
workflow, and the JSON body of a workflow."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from hera_magics.capture import capture_cell
from hera_magics.compile import RUNTIME_PLACEHOLDER, build_script, build_workflow, runtime_loader, workflow_body
from hera_magics.dag import evaluate
from hera_magics.options import parse_task_options, parse_workflow_options
from hera_magics.pod.contract import RETURN_PATH, RUNTIME_PARAMETER
from tests.pod_helpers import run_like_a_pod, task_template, template_of


# ---------------------------------------------------------------------------------------------
# where each option lands in the YAML


def test_every_resource_flag_lands_in_the_right_place():
    template = task_template(
        "def train():\n    pass\n",
        gpu=2, shm="2Gi", cpu="4", memory="16Gi", retries=2, timeout="1h",
        node_selector=["k=v"], toleration=["k=v:NoSchedule"], volume=["claim/sub:/mnt:ro"],
        label=["a=b"], command="torchrun --nproc-per-node 2",
    )
    script = template["script"]
    assert script["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert script["resources"]["requests"]["cpu"] == "4"
    assert script["resources"]["requests"]["memory"] == "16Gi"
    assert script["resources"]["limits"]["memory"] == "16Gi"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in template["tolerations"]
    assert {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"} in template["tolerations"]
    # /dev/shm is an in-memory emptyDir, not a PVC
    shm_volume = next(volume for volume in template["volumes"] if volume["name"] == "dshm")
    assert shm_volume["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert {"name": "dshm", "mountPath": "/dev/shm"} in script["volumeMounts"]
    claim_volume = next(volume for volume in template["volumes"] if "persistentVolumeClaim" in volume)
    assert claim_volume["persistentVolumeClaim"]["claimName"] == "claim"
    mount = next(mount for mount in script["volumeMounts"] if mount["name"] == claim_volume["name"])
    assert mount == {"name": claim_volume["name"], "mountPath": "/mnt", "subPath": "sub", "readOnly": True}
    assert template["retryStrategy"]["limit"] in (2, "2")
    assert template["activeDeadlineSeconds"] in (3600, "3600")
    assert template["nodeSelector"] == {"k": "v"}
    assert template["metadata"]["labels"] == {"a": "b"}
    assert script["command"] == ["torchrun", "--nproc-per-node", "2"]


def test_image_env_and_secret_env_land_in_the_container():
    template = task_template("def f():\n    pass\n", image="ghcr.io/me/trainer:1.2", env=["MODE=fast", "EMPTY="],
                         secret_env=["AWS_KEY=s3-creds:access-key"])
    script = template["script"]
    assert script["image"] == "ghcr.io/me/trainer:1.2"
    assert {"name": "MODE", "value": "fast"} in script["env"]
    assert {"name": "EMPTY", "value": ""} in script["env"]
    assert {"name": "AWS_KEY", "valueFrom": {"secretKeyRef": {"name": "s3-creds", "key": "access-key"}}} in script["env"]


def test_gpu_resource_for_another_vendor():
    template = task_template("def f():\n    pass\n", gpu=1, gpu_resource="amd.com/gpu")
    assert template["script"]["resources"]["limits"]["amd.com/gpu"] == "1"
    assert template["tolerations"][0]["key"] == "amd.com/gpu"


def test_defaults_image_command_and_return_output():
    template = task_template("def f():\n    return 1\n")
    assert template["script"]["image"] == f"python:{sys.version_info.major}.{sys.version_info.minor}"
    assert template["script"]["command"] == ["python", "-u"]
    assert template["outputs"]["parameters"] == [{"name": "return", "valueFrom": {"path": RETURN_PATH}}]


def test_shell_task_passes_inputs_as_plain_environment_variables():
    template = task_template('echo "$arg"\n', name="container", shell=True, inputs=["arg"], image="alpine:3.7")
    assert template["script"]["command"] == ["sh"]
    assert {"name": "arg", "value": "{{inputs.parameters.arg}}"} in template["script"]["env"]
    assert template["inputs"]["parameters"] == [{"name": "arg"}]


@pytest.mark.parametrize("memory, cpu", [("2G", "1.5"), ("500M", "250m"), ("4", "2"), ("1e9", "1"), ("16Gi", "4")])
def test_every_kubernetes_quantity_builds(memory, cpu):
    template = task_template("def f():\n    pass\n", memory=memory, cpu=cpu)
    resources = template["script"]["resources"]
    assert resources["requests"] == {"cpu": cpu, "memory": memory}
    assert resources["limits"] == {"memory": memory}


def test_yaml_of_a_task_is_plain_yaml():
    spec = capture_cell("def f():\n    return 1\n", parse_task_options())
    assert yaml.safe_load(yaml.safe_dump(template_of(build_script(spec))))["name"] == "f"


# ---------------------------------------------------------------------------------------------
# the generated scripts really run


TRICKY_VALUES = [
    "plain",
    "it's \"quoted\"",
    "triple ''' and \"\"\" quotes",
    "back\\slash \\n not a newline",
    "real\nnewlines\n",
    "{{inputs.parameters.x}} and {{ workflow.name }}",
    "unicode: héllo ✓ 日本",
    '{"json": [1, 2, {"a": null}]}',
    "'); import os; os.system('touch PWNED'); ('",
    "__import__('os').system('touch PWNED')",
    "$(touch PWNED) `touch PWNED`",
]


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_function_inputs_arrive_exactly_and_never_run(value, tmp_path):
    template = task_template(
        "import json\n"
        "def echo(text: str, data):\n"
        "    print(json.dumps([text, data]))\n"
        "    return {'text': text, 'data': data}\n"
    )
    result = run_like_a_pod(template, {"text": value, "data": value}, tmp_path)
    assert result.returncode == 0, result.stderr
    text, data = json.loads(result.stdout.strip().splitlines()[-1])
    assert text == value  # annotated str: raw
    try:
        expected_data = json.loads(value)
    except ValueError:
        expected_data = value
    assert data == expected_data
    returned = json.loads((tmp_path / "root" / RETURN_PATH.lstrip("/")).read_text(encoding="utf-8"))
    assert returned == {"text": value, "data": expected_data}
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_script_inputs_arrive_exactly_and_never_run(value, tmp_path):
    template = task_template("import json\nprint(json.dumps(message))\n", name="say", inputs=["message"])
    result = run_like_a_pod(template, {"message": value}, tmp_path)
    assert result.returncode == 0, result.stderr
    try:
        expected = json.loads(value)
    except ValueError:
        expected = value
    assert json.loads(result.stdout) == expected
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_shell_inputs_arrive_exactly_and_never_run(value, tmp_path):
    template = task_template('printf "%s" "$message"\n', name="say", inputs=["message"], shell=True)
    result = run_like_a_pod(template, {"message": value}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == value
    assert not (tmp_path / "PWNED").exists()


def test_cell_with_braces_travels_encoded_and_keeps_tracebacks(tmp_path):
    cell = "def fmt():\n    template = '{{name}}'\n    raise ValueError(template)\n"
    template = task_template(cell)
    # the only Argo tag left is the runtime's placeholder (substituted by Argo on purpose)
    assert "{{" not in template["script"]["source"].replace("{{workflow.parameters.%s}}" % RUNTIME_PARAMETER, "")
    result = run_like_a_pod(template, {}, tmp_path)
    assert result.returncode == 1
    assert "ValueError: {{name}}" in result.stderr
    assert "raise ValueError(template)" in result.stderr  # the traceback shows the cell's line


def test_non_literal_default_is_left_to_python(tmp_path):
    template = task_template("import math\ndef area(r=math.pi):\n    return r\n")
    assert template["inputs"]["parameters"][0]["default"] == "__hera_magics_python_default__"
    result = run_like_a_pod(template, {"r": "__hera_magics_python_default__"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert float((tmp_path / "root" / RETURN_PATH.lstrip("/")).read_text()) == pytest.approx(3.14159, abs=1e-4)


def test_future_import_and_shell_line_still_run(tmp_path):
    template = task_template("from __future__ import annotations\n!echo from-the-shell\nprint('after')\n", name="t")
    result = run_like_a_pod(template, {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["from-the-shell", "after"]


def test_unserialisable_return_fails_with_a_clear_message(tmp_path):
    template = task_template("def f():\n    return object()\n")
    result = run_like_a_pod(template, {}, tmp_path)
    assert result.returncode == 1
    assert "f() returned an object of type object, which is not JSON" in result.stderr
    assert "json" not in result.stderr.split("TypeError")[0]


def test_a_raising_cell_shows_its_traceback(tmp_path):
    template = task_template("def boom(x):\n    return 1 / x\n")
    result = run_like_a_pod(template, {"x": "0"}, tmp_path)
    assert result.returncode == 1
    assert "ZeroDivisionError" in result.stderr and "return 1 / x" in result.stderr


# ---------------------------------------------------------------------------------------------
# the pod runtime, shipped once per workflow


def _workflow(cells: dict[str, tuple[str, dict]], expression: str) -> dict:
    tasks = {}
    for name, (cell, options) in cells.items():
        spec = capture_cell(cell, parse_task_options(**options), name=name if "inputs" in options or options.get("shell")
                            else None)
        tasks[spec.name] = spec
    built = build_workflow(evaluate(expression, tasks), parse_workflow_options(), namespace="argo")
    return yaml.safe_load(built.to_yaml())


MIXED = {
    "prepare": ("def prepare() -> str:\n    return 'x'\n", {}),
    "train": ("def train(path: str):\n    return {'p': path}\n", {}),
    "braces": ("def braces():\n    return '{{x}}'\n", {}),
    "report": ("print(metrics)\n", {"inputs": ["metrics"]}),
    "shout": ('echo "$words"\n', {"shell": True, "inputs": ["words"]}),
}


def strings_of(value) -> list[str]:
    """Every string in a JSON-like document."""
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in strings_of(item)]


def runtime_copies(document: dict, data_files: bool = False) -> int:
    packed = runtime_loader(data_files).split('"')[-2]  # the compressed runtime
    return sum(text.count(packed) for text in strings_of(document))


def test_a_workflow_carries_the_runtime_once():
    document = _workflow(MIXED, "prepare >> train(path=prepare) >> [report(metrics=train), braces, shout(words='hi')]")
    loader = runtime_loader(False)
    assert runtime_copies(document) == 1
    assert document["spec"]["arguments"]["parameters"] == [{"name": RUNTIME_PARAMETER, "value": loader}]
    sources = {template["name"]: template["script"]["source"] for template in document["spec"]["templates"]
               if "script" in template}
    for name, source in sources.items():
        assert source.count(RUNTIME_PLACEHOLDER) == (0 if name == "shout" else 1), name
        assert "def read_input" not in source and "excepthook" not in source
    # a task shows its cell and a short call
    assert sources["train"] == ("def train(path: str):\n    return {'p': path}\n" + RUNTIME_PLACEHOLDER
                                + '_hera_magics["run_function"](train, cell_lines=(1, 2))\n')
    assert sources["report"] == (RUNTIME_PLACEHOLDER + '_hera_magics["run_script"](globals(), \'report\', '
                                 "cell_lines=(3, 3), inputs=['metrics'])\nprint(metrics)\n")


def test_a_workflow_of_shell_tasks_carries_no_runtime():
    document = _workflow({"shout": MIXED["shout"]}, "shout(words='hi')")
    assert "arguments" not in document["spec"]


def test_five_hundred_distinct_tasks_stay_small():
    cells = {f"t{index}": (f"def t{index}() -> int:\n    return {index}\n", {}) for index in range(500)}
    document = _workflow(cells, " >> ".join(cells))
    assert len(yaml.safe_dump(document).encode()) < 700 * 1024
    assert runtime_copies(document) == 1


# The README's "In a notebook" example as --dry-run showed it before the runtime was shipped
# once per workflow (commit 1f2b47e); bench/compile_time.py prints both figures.
README_EXAMPLE_BYTES_BEFORE = 15_172


def test_the_readme_example_is_at_most_a_third_of_its_size_before():
    from hera_magics.session import Session

    session = Session()
    session.define_task('def prepare() -> str:\n    return "/home/me/data.parquet"\n')
    session.define_task('def train(path: str, lr: float = 0.1) -> dict:\n    ...\n    return {"loss": 0.12}\n',
                        options=parse_task_options(gpu=1, shm="2Gi"))
    session.define_task('print("best:", metrics)\n', "report", parse_task_options(inputs=["metrics"]))
    text = session.build("prepare >> train(path=prepare, lr=0.01) >> report(metrics=train)").to_yaml()
    assert len(text.encode()) <= README_EXAMPLE_BYTES_BEFORE / 3


# ---------------------------------------------------------------------------------------------
# the JSON body of a workflow


def test_workflow_body_from_dict_and_create_request():
    workflow = {"metadata": {"generateName": "x-"}, "spec": {"entrypoint": "main"}}
    body = workflow_body(workflow)
    assert body == workflow and body is not workflow
    body["metadata"]["labels"] = {"a": "b"}
    assert "labels" not in workflow["metadata"]  # the caller's dict is never changed
    assert workflow_body({"workflow": workflow}) == workflow


def test_workflow_body_from_hera_matches_heras_own_create_request():
    from hera.workflows import DAG, Script, Workflow

    cell = Script(name="cell-a", source="print(1)", image="python:3.11")
    with Workflow(generate_name="nb-", entrypoint="main") as workflow:
        with DAG(name="main"):
            cell(name="a")
    body = workflow_body(workflow)
    assert body["metadata"]["generateName"] == "nb-"
    assert body["spec"]["templates"][1]["script"]["source"] == "print(1)"
    assert body == json.loads(json.dumps(workflow.to_dict()))
    with pytest.raises(TypeError):
        workflow_body(42)
