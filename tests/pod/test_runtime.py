"""The pod runtime (hera_magics.pod.runtime) as Python (imported and called), its shipped text, and
the generated scripts in every Python 3 this machine has. How compile ships it, once per workflow,
is tested in tests/test_compile.py."""

from __future__ import annotations

import base64
import inspect
import json
import sys
import textwrap
import traceback
from pathlib import Path

import pytest

from hera_magics.capture import capture_cell
from hera_magics.compile import runtime_loader, runtime_source
from hera_magics.options import parse_task_options
from hera_magics.pod import runtime
from hera_magics.pod.contract import (
    DATA_DIR_VARIABLE,
    DATA_NODE_VARIABLE,
    ENCODED_PREFIX,
    FILE_MARKER,
    INPUT_ENV_PREFIX,
    PATH_PREFIX_VARIABLE,
    PYTHON_DEFAULT_MARKER,
    RETURN_PATH,
    WORKFLOW_VARIABLE,
)
from hera_magics.pod.datafiles import load_value, save_value
from tests.pod_helpers import run_like_a_pod, template_of


@pytest.fixture
def pod(tmp_path, monkeypatch):
    """This process as a pod: its own root folder, no inputs yet, and sys.excepthook restored after."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setenv(PATH_PREFIX_VARIABLE, str(tmp_path))
    for name in (DATA_DIR_VARIABLE, DATA_NODE_VARIABLE, WORKFLOW_VARIABLE):
        monkeypatch.delenv(name, raising=False)

    def set_inputs(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(INPUT_ENV_PREFIX + name, value)

    set_inputs.root = tmp_path  # type: ignore[attr-defined]
    return set_inputs


def returned(root: Path):
    return json.loads((root / RETURN_PATH.lstrip("/")).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# inputs


@pytest.mark.parametrize("text, value", [
    ("3", 3), ("0.5", 0.5), ("[1, 2]", [1, 2]), ('{"a": null}', {"a": None}), ("true", True),
    ("plain text", "plain text"), ('"quoted"', "quoted"), ("", ""),
])
def test_inputs_are_json_decoded_or_kept_as_text(pod, text, value):
    pod(x=text)
    assert runtime.read_input("x") == value


@pytest.mark.parametrize("text, value", [("3", "3"), ('"quoted"', "quoted"), ("[1]", "[1]"), ("a b", "a b")])
def test_text_only_inputs_unwrap_json_strings_and_keep_the_rest(pod, text, value):
    pod(x=text)
    assert runtime.read_input("x", text_only=True) == value


def test_values_with_argo_braces_arrive_base64_encoded(pod):
    original = '{"template": "{{workflow.name}}"}'
    pod(x=ENCODED_PREFIX + base64.b64encode(original.encode()).decode())
    assert runtime.read_input("x") == {"template": "{{workflow.name}}"}
    assert runtime.read_input("x", text_only=True) == original


def test_a_file_reference_is_loaded_only_where_there_is_a_data_volume(pod, monkeypatch):
    reference = json.dumps({FILE_MARKER: "inputs/s1/0-x"})
    pod(x=reference)
    assert runtime.read_input("x") == {FILE_MARKER: "inputs/s1/0-x"}  # no data volume: just a dict
    monkeypatch.setenv(DATA_DIR_VARIABLE, "/data")
    save_value({"big": list(range(5))}, str(pod.root / "data"), "inputs/s1/0-x")
    assert runtime.read_input("x") == {"big": [0, 1, 2, 3, 4]}


# ---------------------------------------------------------------------------------------------
# calling the function and keeping what it returns


def cell_function(source: str, name: str):
    namespace: dict = {"__file__": "/argo/staging/script"}
    exec(compile(textwrap.dedent(source), "/argo/staging/script", "exec"), namespace)
    return namespace[name]


def test_run_function_passes_inputs_by_signature_and_writes_json(pod):
    function = cell_function("""\
        def train(path: str, lr: float = 0.1, epochs=2, *, tags='str'):
            return {"path": path, "lr": lr, "epochs": epochs, "tags": tags}
        """, "train")
    pod(path="3", lr="0.01", epochs=PYTHON_DEFAULT_MARKER, tags='["a"]')
    runtime.run_function(function, cell_lines=(1, 2))
    # path is annotated str: the text "3" stays text; epochs keeps its Python default
    assert returned(pod.root) == {"path": "3", "lr": 0.01, "epochs": 2, "tags": ["a"]}


def test_string_annotations_count_as_str(pod):
    function = cell_function("""\
        from __future__ import annotations
        def echo(text: str, other: 'str', number: int):
            return [text, other, number]
        """, "echo")
    pod(text="1", other="2", number="3")
    runtime.run_function(function)
    assert returned(pod.root) == ["1", "2", 3]


def test_sys_exit_zero_is_a_task_that_returned_nothing(pod):
    function = cell_function("import sys\ndef done():\n    sys.exit(0)\n", "done")
    runtime.run_function(function)
    assert returned(pod.root) is None
    failing = cell_function("import sys\ndef fail():\n    sys.exit(3)\n", "fail")
    with pytest.raises(SystemExit) as caught:
        runtime.run_function(failing)
    assert caught.value.code == 3


def test_numpy_values_become_numbers_and_lists(pod):
    numpy = pytest.importorskip("numpy")
    assert json.loads(runtime.json_text({"n": numpy.int64(3), "a": numpy.arange(3), "f": numpy.float32(0.5)}, "f")) \
        == {"n": 3, "a": [0, 1, 2], "f": 0.5}


def test_a_value_that_is_not_json_is_refused_with_the_function_name(pod):
    with pytest.raises(TypeError) as caught:
        runtime.json_text({"x": object()}, "train")
    assert str(caught.value) == ("train() returned an object of type object, which is not JSON; return numbers, "
                                 "strings, lists or dicts, or give the task --data-volume")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_data_volume_task_keeps_its_return_value_as_a_file(pod, monkeypatch):
    monkeypatch.setenv(DATA_DIR_VARIABLE, "/data")
    monkeypatch.setenv(WORKFLOW_VARIABLE, "wf-1")
    monkeypatch.setenv(DATA_NODE_VARIABLE, "train")
    runtime.write_return_value({"anything": object.__name__}, "train")
    assert load_value(str(pod.root / "data"), "wf-1/train/return") == {"anything": "object"}
    assert not (pod.root / RETURN_PATH.lstrip("/")).exists()


def test_script_inputs_become_variables_and_encoded_cells_run_in_the_script(pod):
    namespace: dict = {"__file__": "/argo/staging/script"}
    pod(metrics='{"loss": 0.1}')
    runtime.run_script(namespace, "report", cell_lines=(3, 4), inputs=["metrics"])
    assert namespace["metrics"] == {"loss": 0.1}
    code = "best = metrics['loss'] * 2  # {{not argo}}\n"
    runtime.run_encoded_cell(namespace, "report", base64.b64encode(code.encode()).decode())
    assert namespace["best"] == 0.2


# ---------------------------------------------------------------------------------------------
# tracebacks


def raised(function, *arguments):
    """What ``function(*arguments)`` raised, its traceback starting below this helper (as in a pod)."""
    try:
        function(*arguments)
    except BaseException as error:  # noqa: BLE001 - any error is what we format
        return error.with_traceback(error.__traceback__.tb_next)
    raise AssertionError("nothing was raised")


def test_tracebacks_rename_the_cell_and_leave_out_the_rest_of_the_script(tmp_path):
    script = tmp_path / "script"
    script.write_text("def inner():\n    raise KeyError('x')\ndef outer():\n    inner()\n# our call\nouter()\n")
    namespace: dict = {"__file__": str(script)}
    error = raised(exec, compile(script.read_text(), str(script), "exec"), namespace)
    text = "".join(runtime.format_error(error, str(script), "<cell t>", (1, 4)))
    assert text == ('Traceback (most recent call last):\n'
                    '  File "<cell t>", line 4, in outer\n    inner()\n'
                    '  File "<cell t>", line 2, in inner\n    raise KeyError(\'x\')\n'
                    "KeyError: 'x'\n")


def test_chained_errors_keep_python_s_wording(tmp_path):
    script = tmp_path / "script"
    script.write_text(textwrap.dedent("""\
        def load():
            try:
                {}['missing']
            except KeyError as error:
                raise ValueError('no config') from error
        load()
        """))
    error = raised(exec, compile(script.read_text(), str(script), "exec"), {"__file__": str(script)})
    text = "".join(runtime.format_error(error, str(script), "<cell load>", (1, 5)))
    expected = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    # what Python prints (without 3.11's position markers), less the script's own call line and
    # with the cell's label
    expected = "".join(line for line in expected.splitlines(True) if not line.strip() or line.strip(" ~^\n"))
    expected = expected.replace(f'File "{script}"', 'File "<cell load>"').replace(
        '  File "<cell load>", line 6, in <module>\n    load()\n', "")
    assert text == expected
    assert "The above exception was the direct cause of the following exception" in text


def test_the_runtime_s_own_frames_never_show(pod, tmp_path):
    function = cell_function("def returns_a_set():\n    return {1}\n", "returns_a_set")
    error = raised(runtime.run_function, function, (1, 2))
    assert isinstance(error, TypeError)
    text = "".join(runtime.format_error(error, "/argo/staging/script", "<cell returns_a_set>", (1, 2)))
    assert text == ("TypeError: returns_a_set() returned an object of type set, which is not JSON; return numbers, "
                    "strings, lists or dicts, or give the task --data-volume\n")


def test_the_hook_writes_the_formatted_error(pod, capsys):
    runtime.install_traceback_hook({"__file__": "/argo/staging/script"}, "<cell t>", (1, 2))
    error = raised(int, "x")
    sys.excepthook(type(error), error, error.__traceback__)
    assert capsys.readouterr().err == "ValueError: invalid literal for int() with base 10: 'x'\n"


# ---------------------------------------------------------------------------------------------
# the shipped text


@pytest.mark.parametrize("data_files", [False, True])
def test_the_shipped_runtime_is_safe_for_argo_s_substitution(data_files):
    text = runtime_source(data_files)
    assert "{{" not in text and text.isascii()
    assert all(line.isprintable() for line in text.splitlines())
    assert ("def save_value" in text) == data_files and "def run_function" in text
    loader = runtime_loader(data_files)
    assert "{{" not in loader and "\n" not in loader and loader.isascii() and loader.isprintable()
    script: dict = {}
    exec(loader, script)  # what the placeholder line does in a pod
    shipped = script["_hera_magics"]
    functions = {name for name, value in vars(runtime).items()
                 if inspect.isfunction(value) and value.__module__ == runtime.__name__}
    assert functions and all(inspect.isfunction(shipped[name]) for name in functions)
    assert set(script) == {"_hera_magics", "__builtins__"}  # nothing else lands in the script's globals


# ---------------------------------------------------------------------------------------------
# in a real Python of each version a task image may have


def _pythons() -> list[str]:
    """One interpreter of each Python 3 version this machine has (pyenv's or the system's)."""
    import shutil
    import subprocess

    found = []
    for minor in range(6, 15):
        candidates = [str(path) for path in sorted(Path.home().glob(f".pyenv/versions/3.{minor}.*/bin/python3"))]
        candidates += [path for path in [shutil.which(f"python3.{minor}")] if path]
        for path in candidates:
            if subprocess.run([path, "-c", "pass"], capture_output=True, timeout=30).returncode == 0:
                found.append(path)
                break
    return found


@pytest.mark.parametrize("python", _pythons() or [sys.executable])
def test_generated_scripts_run_in_every_python_3(python, tmp_path):
    function = capture_cell("def add(a: int, text: str):\n    return [a + 1, text]\n", parse_task_options())
    from hera_magics.compile import build_script

    result = run_like_a_pod(template_of(build_script(function)), {"a": "41", "text": "7"}, tmp_path, python=python)
    assert result.returncode == 0, result.stderr
    assert returned(tmp_path / "root") == [42, "7"]
    failing = capture_cell("x = 1\nraise ValueError(x)\n", parse_task_options(), name="fails")
    result = run_like_a_pod(template_of(build_script(failing)), {}, tmp_path, python=python)
    assert result.returncode == 1
    assert result.stderr == ('Traceback (most recent call last):\n  File "<cell fails>", line 2, in <module>\n'
                             "    raise ValueError(x)\nValueError: 1\n")
