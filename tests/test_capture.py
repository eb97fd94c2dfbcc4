"""Cell capture: options, checks, and the generated scripts run by a real Python."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hera_magics.capture import capture_cell
from hera_magics.compile import build_script, runtime_loader
from hera_magics.errors import TaskDefinitionError
from hera_magics.options import parse_duration, parse_quantity, parse_task_options, parse_toleration, parse_volume
from hera_magics.pod.contract import PATH_PREFIX_VARIABLE, RETURN_PATH, RUNTIME_PARAMETER
from hera_magics.session import ipython_transform

# ---------------------------------------------------------------------------------------------
# option values


@pytest.mark.parametrize(
    "text, expected",
    [("2Gi", "2Gi"), ("500m", "500m"), ("4", "4"), ("0.5", "0.5"), ("16Gi", "16Gi"), ("1.5G", "1.5G")],
)
def test_quantities_accepted(text, expected):
    assert parse_quantity(text, what="--memory") == expected


@pytest.mark.parametrize("text, expected", [("2GB", "2G"), ("512MB", "512M"), ("1GiB", "1Gi")])
def test_habit_units_are_converted_and_said(text, expected):
    notes: list[str] = []
    assert parse_quantity(text, what="--memory", notes=notes) == expected
    assert notes and expected in notes[0] and text in notes[0]


@pytest.mark.parametrize("text", ["2 Gi", "lots", "-1Gi", "2Gx", "Gi", ""])
def test_quantities_refused_with_accepted_forms(text):
    with pytest.raises(TaskDefinitionError) as caught:
        parse_quantity(text, what="--memory")
    assert "not a Kubernetes quantity" in caught.value.message
    assert "16Gi" in caught.value.hint


@pytest.mark.parametrize(
    "text, seconds",
    [("90", 90), ("30s", 30), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)],
)
def test_durations(text, seconds):
    assert parse_duration(text, what="--timeout") == seconds


@pytest.mark.parametrize("text", ["1 hour", "h", "30x", "0", "1.5h", "-5"])
def test_bad_durations_name_the_accepted_forms(text):
    with pytest.raises(TaskDefinitionError) as caught:
        parse_duration(text, what="--timeout")
    assert "--timeout" in caught.value.message


def test_toleration_and_volume_forms():
    assert parse_toleration("k=v:NoSchedule").value == "v"
    exists = parse_toleration("nvidia.com/gpu:NoExecute")
    assert (exists.key, exists.value, exists.effect) == ("nvidia.com/gpu", None, "NoExecute")
    volume = parse_volume("claim/sub/dir:/mnt:ro")
    assert (volume.claim, volume.sub_path, volume.mount_path, volume.read_only) == ("claim", "sub/dir", "/mnt", True)
    assert parse_volume("claim:/data").sub_path is None
    with pytest.raises(TaskDefinitionError):
        parse_toleration("k=v:Sometimes")
    with pytest.raises(TaskDefinitionError):
        parse_volume("claim:relative")


# ---------------------------------------------------------------------------------------------
# where each flag lands in the YAML


def template_of(script) -> dict:
    """The template as it appears in the workflow YAML (built through a Hera Workflow)."""
    from hera.workflows import Workflow

    with Workflow(name="w", entrypoint=script.name) as workflow:
        workflow.templates.append(script)
    return workflow.to_dict()["spec"]["templates"][0]


def _template(cell: str, name: str | None = None, **options) -> dict:
    spec = capture_cell(cell, parse_task_options(**options), name=name, ipython_transform=ipython_transform())
    return template_of(build_script(spec))


def test_every_resource_flag_lands_in_the_right_place():
    template = _template(
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
    template = _template("def f():\n    pass\n", image="ghcr.io/me/trainer:1.2", env=["MODE=fast", "EMPTY="],
                         secret_env=["AWS_KEY=s3-creds:access-key"])
    script = template["script"]
    assert script["image"] == "ghcr.io/me/trainer:1.2"
    assert {"name": "MODE", "value": "fast"} in script["env"]
    assert {"name": "EMPTY", "value": ""} in script["env"]
    assert {"name": "AWS_KEY", "valueFrom": {"secretKeyRef": {"name": "s3-creds", "key": "access-key"}}} in script["env"]


def test_gpu_resource_for_another_vendor():
    template = _template("def f():\n    pass\n", gpu=1, gpu_resource="amd.com/gpu")
    assert template["script"]["resources"]["limits"]["amd.com/gpu"] == "1"
    assert template["tolerations"][0]["key"] == "amd.com/gpu"


def test_defaults_image_command_and_return_output():
    template = _template("def f():\n    return 1\n")
    assert template["script"]["image"] == f"python:{sys.version_info.major}.{sys.version_info.minor}"
    assert template["script"]["command"] == ["python", "-u"]
    assert template["outputs"]["parameters"] == [{"name": "return", "valueFrom": {"path": RETURN_PATH}}]


def test_shell_task_passes_inputs_as_plain_environment_variables():
    template = _template('echo "$arg"\n', name="container", shell=True, inputs=["arg"], image="alpine:3.7")
    assert template["script"]["command"] == ["sh"]
    assert {"name": "arg", "value": "{{inputs.parameters.arg}}"} in template["script"]["env"]
    assert template["inputs"]["parameters"] == [{"name": "arg"}]


def test_function_signature_gives_inputs_with_defaults():
    spec = capture_cell("def train(path: str, lr: float = 0.1, flag=False, *, name='n', opts=None):\n    pass\n",
                        parse_task_options())
    assert [(item.name, item.default) for item in spec.inputs] == [
        ("path", None), ("lr", "0.1"), ("flag", "false"), ("name", "n"), ("opts", "null"),
    ]


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


ARGO_TAG = re.compile(r"\{\{\s*(workflow\.parameters\.[\w-]+|inputs\.parameters\.[\w-]+)\s*\}\}")


def argo_substitute(template: dict, values: dict[str, str]) -> dict:
    """Argo's substitution (``util/template/simple_template.go``): on the template's JSON, each
    value quoted into the string it replaces; workflow parameters first, then inputs."""
    text = json.dumps(template)
    for prefix in ("workflow.parameters.", "inputs.parameters."):
        text = ARGO_TAG.sub(lambda match: json.dumps(values[match.group(1)])[1:-1]
                            if match.group(1).startswith(prefix) else match.group(0), text)
    return json.loads(text)


def run_like_a_pod(template: dict, values: dict[str, str], workdir: Path, *, data_files: bool = False,
                   python: str = sys.executable) -> subprocess.CompletedProcess:
    """Run a template's script as Argo would: the workflow's runtime parameter and the inputs
    substituted, the source in a file, the template's environment and nothing of ours."""
    parameters = {f"workflow.parameters.{RUNTIME_PARAMETER}": runtime_loader(data_files)}
    parameters.update({f"inputs.parameters.{name}": value for name, value in values.items()})
    script = argo_substitute(template, parameters)["script"]
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("HERA_MAGICS_", "PYTHON"))}
    environment.update({variable["name"]: variable["value"] for variable in script.get("env", [])})
    environment[PATH_PREFIX_VARIABLE] = str(workdir / "root")
    source_file = workdir / "script"
    source_file.write_text(script["source"], encoding="utf-8")
    command = [python if word == "python" else word for word in script["command"]]
    return subprocess.run(command + [str(source_file)], env=environment, cwd=workdir,
                          capture_output=True, text=True, timeout=60)


_run_like_a_pod = run_like_a_pod


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_function_inputs_arrive_exactly_and_never_run(value, tmp_path):
    template = _template(
        "import json\n"
        "def echo(text: str, data):\n"
        "    print(json.dumps([text, data]))\n"
        "    return {'text': text, 'data': data}\n"
    )
    result = _run_like_a_pod(template, {"text": value, "data": value}, tmp_path)
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
    template = _template("import json\nprint(json.dumps(message))\n", name="say", inputs=["message"])
    result = _run_like_a_pod(template, {"message": value}, tmp_path)
    assert result.returncode == 0, result.stderr
    try:
        expected = json.loads(value)
    except ValueError:
        expected = value
    assert json.loads(result.stdout) == expected
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_shell_inputs_arrive_exactly_and_never_run(value, tmp_path):
    template = _template('printf "%s" "$message"\n', name="say", inputs=["message"], shell=True)
    result = _run_like_a_pod(template, {"message": value}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == value
    assert not (tmp_path / "PWNED").exists()


def test_cell_with_braces_travels_encoded_and_keeps_tracebacks(tmp_path):
    cell = "def fmt():\n    template = '{{name}}'\n    raise ValueError(template)\n"
    template = _template(cell)
    # the only Argo tag left is the runtime's placeholder (substituted by Argo on purpose)
    assert "{{" not in template["script"]["source"].replace("{{workflow.parameters.%s}}" % RUNTIME_PARAMETER, "")
    result = _run_like_a_pod(template, {}, tmp_path)
    assert result.returncode == 1
    assert "ValueError: {{name}}" in result.stderr
    assert "raise ValueError(template)" in result.stderr  # the traceback shows the cell's line


def test_non_literal_default_is_left_to_python(tmp_path):
    template = _template("import math\ndef area(r=math.pi):\n    return r\n")
    assert template["inputs"]["parameters"][0]["default"] == "__hera_magics_python_default__"
    result = _run_like_a_pod(template, {"r": "__hera_magics_python_default__"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert float((tmp_path / "root" / RETURN_PATH.lstrip("/")).read_text()) == pytest.approx(3.14159, abs=1e-4)


def test_future_import_and_shell_line_still_run(tmp_path):
    template = _template("from __future__ import annotations\n!echo from-the-shell\nprint('after')\n", name="t")
    result = _run_like_a_pod(template, {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["from-the-shell", "after"]


def test_unserialisable_return_fails_with_a_clear_message(tmp_path):
    template = _template("def f():\n    return object()\n")
    result = _run_like_a_pod(template, {}, tmp_path)
    assert result.returncode == 1
    assert "f() returned an object of type object, which is not JSON" in result.stderr
    assert "json" not in result.stderr.split("TypeError")[0]


def test_a_raising_cell_shows_its_traceback(tmp_path):
    template = _template("def boom(x):\n    return 1 / x\n")
    result = _run_like_a_pod(template, {"x": "0"}, tmp_path)
    assert result.returncode == 1
    assert "ZeroDivisionError" in result.stderr and "return 1 / x" in result.stderr


def test_yaml_of_a_task_is_plain_yaml():
    spec = capture_cell("def f():\n    return 1\n", parse_task_options())
    assert yaml.safe_load(yaml.safe_dump(template_of(build_script(spec))))["name"] == "f"


def test_leading_blank_lines_are_kept(tmp_path):
    for cell in ("\ndef f():\n    return 1\n", "\n\n!echo shell\nprint('x')\n"):
        spec = capture_cell(cell, parse_task_options(), name=None if "def" in cell else "t",
                            ipython_transform=ipython_transform())
        assert spec.code.count("\n") == cell.count("\n")
    template = _template("\n\ndef g():\n    raise ValueError('third line')\n")
    result = _run_like_a_pod(template, {}, tmp_path)
    assert 'File "<cell g>", line 4, in g' in result.stderr


@pytest.mark.parametrize("memory, cpu", [("2G", "1.5"), ("500M", "250m"), ("4", "2"), ("1e9", "1"), ("16Gi", "4")])
def test_every_kubernetes_quantity_builds(memory, cpu):
    template = _template("def f():\n    pass\n", memory=memory, cpu=cpu)
    resources = template["script"]["resources"]
    assert resources["requests"] == {"cpu": cpu, "memory": memory}
    assert resources["limits"] == {"memory": memory}


def test_ipython_syntax_needs_ipython_s_reading():
    """capture itself imports no IPython: the session hands it IPython's transformer."""
    with pytest.raises(TaskDefinitionError, match="syntax error on line 1"):
        capture_cell("!echo hi\n", parse_task_options(), name="t")
    spec = capture_cell("!echo hi\n", parse_task_options(), name="t", ipython_transform=ipython_transform())
    assert spec.code == "__import__(\"subprocess\").run(shell=True, check=True, args='echo hi')\n"
    assert spec.notes == ("line 1: `!echo hi` will run as a shell command (subprocess, fails the task on error)",)
