"""Issue 9's traps met through the magics, in a real IPython shell: each one a short message or the right result.

Numbers refer to the items of issue 9. What needs a run (a task's environment, sizes, stopping
the engine) talks to a real local engine in the test's own state folder.
"""

from __future__ import annotations

import pytest
import yaml

from hera_magics.local import read_engine_state
from tests.conftest import magics_of


def shown(ip, code: str, capsys) -> tuple[bool, str]:
    """Run ``code`` as a cell; (it succeeded, everything it printed)."""
    capsys.readouterr()
    result = ip.run_cell(code)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text, text
    return result.success, text


def dry_run(ip, expression: str) -> dict:
    """The workflow ``%argo_dag --dry-run`` builds, as a document."""
    ip.run_cell(f"__w = %argo_dag --dry-run {expression}")
    return yaml.safe_load(ip.user_ns["__w"].to_yaml())


def dag_tasks(document: dict) -> dict[str, dict]:
    template = next(t for t in document["spec"]["templates"] if t["name"] == "hera-magics-dag")
    return {task["name"]: task for task in template["dag"]["tasks"]}


def arguments(task: dict) -> dict[str, str]:
    return {item["name"]: item["value"] for item in (task.get("arguments") or {}).get("parameters", [])}


# -- 1. a notebook variable that shares a task's name --------------------------------------------


def test_1_a_notebook_variable_named_like_a_task_is_refused_with_both_ways_out(ip, capsys):
    ip.run_cell_magic("argo_task", "", "def data() -> list:\n    return [1, 2]\n")
    ip.run_cell_magic("argo_task", "", "def as_text(s) -> str:\n    return str(s)\n")
    ip.run_cell("data = [9, 9, 9]")
    ok, text = shown(ip, "%argo_dag --dry-run as_text(s=data)", capsys)
    assert not ok
    assert "DagError: line 1: `data` is both a task and a notebook variable (list [9, 9, 9])" in text
    assert "tasks.data" in text and "rename the notebook variable" in text
    # way out: the task, explicitly
    assert arguments(dag_tasks(dry_run(ip, "as_text(s=tasks.data)"))["as-text"]) == {
        "s": "{{tasks.data.outputs.parameters.return}}"}
    # way out: the notebook value, renamed
    ip.run_cell("values = data\ndel data")
    assert arguments(dag_tasks(dry_run(ip, "as_text(s=values)"))["as-text"]) == {"s": "[9, 9, 9]"}


def test_1_a_function_of_the_task_s_name_in_the_notebook_is_no_clash(ip, capsys):
    ip.run_cell("def prepare():\n    return 'tried it here first'\n")
    ip.run_cell_magic("argo_task", "", "def prepare() -> str:\n    return 'x'\n")
    assert list(dag_tasks(dry_run(ip, "prepare"))) == ["prepare"]


# -- 2. a parameter called name ---------------------------------------------------------------------


def test_2_name_binds_the_input_and_named_names_the_node(ip, capsys):
    ip.run_cell_magic("argo_task", "", "def greet(name: str) -> str:\n    return 'hello ' + name\n")
    tasks = dag_tasks(dry_run(ip, 'greet(name="Ada")'))
    assert list(tasks) == ["greet"] and arguments(tasks["greet"]) == {"name": "Ada"}
    tasks = dag_tasks(dry_run(ip, '[greet(name="Ada").named("hello-ada"), greet(name="Bob").named("hello-bob")]'))
    assert {name: arguments(task) for name, task in tasks.items()} == {
        "hello-ada": {"name": "Ada"}, "hello-bob": {"name": "Bob"}}
    # two calls, one unnamed too many: the message shows the way that works for this task
    ok, text = shown(ip, '%argo_dag --dry-run [greet(name="Ada"), greet(name="Bob")]', capsys)
    assert not ok and "`greet` is already a node of this DAG" in text and '.named("greet-2")' in text
    assert "name=" not in text.split("hint:")[1]


def test_2_the_old_name_spelling_still_names_nodes_of_tasks_without_such_a_parameter(ip, capsys):
    ip.run_cell_magic("argo_task", "", "def square(x: int) -> int:\n    return x * x\n")
    tasks = dag_tasks(dry_run(ip, '[square(x=1, name="one"), square(x=2).named("two")]'))
    assert {name: arguments(task) for name, task in tasks.items()} == {"one": {"x": "1"}, "two": {"x": "2"}}
    ok, text = shown(ip, '%argo_dag --dry-run square(x=1, name="a").named("b")', capsys)
    assert ok  # .named wins over name=: the node is "b"


def test_2_naming_after_use_is_refused(ip, capsys):
    ip.run_cell_magic("argo_task", "", "def square(x: int) -> int:\n    return x * x\n")
    ip.run_cell_magic("argo_task", "", "def show(v):\n    print(v)\n")
    ok, text = shown(ip, "%%argo_dag --dry-run\nfirst = square(x=1)\nshow(v=first)\nfirst.named('one')\n", capsys)
    assert not ok and "name node 'square' where you make it, before it is used" in text


# -- 3. Hera's @script pasted from the seed -----------------------------------------------------------


SEED_CELL = '''\
from hera.workflows import Env, script

@script(env=[Env(name="ENV_VAR1", value="1"), Env(name="ENV_VAR2", value="2")])
def multiline_function(arg1: str) -> str:
    import os
    return arg1 + " " + os.environ["ENV_VAR1"] + os.environ["ENV_VAR2"]
'''


def test_3_script_decorator_settings_become_options_and_say_so(ip, capsys):
    ok, text = shown(ip, "%%argo_task\n" + SEED_CELL, capsys)
    assert ok and "note: @script(...) read as --env ENV_VAR1=1 --env ENV_VAR2=2" in text
    spec = magics_of(ip).session.tasks["multiline_function"]
    assert spec.options.env == (("ENV_VAR1", "1"), ("ENV_VAR2", "2"))
    # the pod gets neither the decorator nor the Hera import (which a task image may lack)
    assert "@script" not in spec.code and "hera" not in spec.code
    assert spec.code.splitlines()[4] == "    import os"  # same line numbers as the cell
    template = next(t for t in dry_run(ip, 'multiline_function(arg1="x")')["spec"]["templates"]
                    if t["name"] == "multiline-function")
    assert {"name": "ENV_VAR1", "value": "1"} in template["script"]["env"]


@pytest.mark.parametrize("decorator, expected", [
    ("@script(tolerations=[])", "use --toleration KEY[=VALUE]:EFFECT instead"),
    ("@script(volumes=[])", "use --volume CLAIM[/SUBPATH]:MOUNT[:ro] instead"),
    ("@script(pod_spec_patch='{}')", "@script(pod_spec_patch=...) has no %%argo_task option"),
    ("@script(env=[Env(name='A', value_from=x)])", "use --env NAME=VALUE"),
    ("@script(resources=Resources(cpu_limit=2))", "--cpu sets the CPU request"),
    ("@script(image=IMAGE)", "is not a literal value"),
])
def test_3_settings_without_an_option_are_refused_naming_what_to_use(ip, capsys, decorator, expected):
    cell = f"from hera.workflows import Env, Resources, script\n{decorator}\ndef f():\n    return 1\n"
    ok, text = shown(ip, "%%argo_task\n" + cell, capsys)
    assert not ok and "TaskDefinitionError" in text and expected in text
    assert "f" not in magics_of(ip).session.tasks


def test_3_a_setting_on_the_line_and_in_the_decorator_is_refused(ip, capsys):
    cell = "@script(image='python:3.12')\ndef f():\n    return 1\n"
    ok, text = shown(ip, "%%argo_task --image python:3.11\n" + cell, capsys)
    assert not ok and "image is set both on the %%argo_task line (python:3.11) and in @script(...)" in text
    ok, text = shown(ip, "%%argo_task\n@script(image='python:3.12', resources=Resources(memory_request='2Gi', "
                         "cpu_request='500m', gpus=1))\ndef f():\n    return 1\n", capsys)
    assert ok and "read as --image python:3.12 --cpu 500m --memory 2Gi --gpu 1" in text
    assert "gpu 1, cpu 500m, memory 2Gi" in text


# -- 4. values against annotations ---------------------------------------------------------------------


@pytest.mark.parametrize("expression, expected", [
    ('add(i="42")', "node 'add': input 'i' of `add` is annotated int, but the value is a str ('42')"),
    ("add(i=[1, 2])", "is annotated int, but the value is a list ([1, 2])"),
    ("add(i=True)", "is annotated int, but the value is a bool (True)"),
    ("echo(s=None)", "input 's' of `echo` is annotated str, but the value is None"),
    ("echo(s=n_text)", None),
    ("echo(s=3)", "is annotated str, but the value is an int (3)"),
    ("add(i=n_text)", "but the value is a str ('42')"),
    ("ratio(x=2)", None),
    ("ratio(x=0.5)", None),
    ("maybe(m=None)", None),
    ('maybe(m="a")', "annotated int | None"),
    ("add.map(i=[1, '2'])", "input 'i' of `add` is annotated int, but item 1 of the list is a str ('2')"),
])
def test_4_literals_and_notebook_values_meet_simple_annotations(ip, capsys, expression, expected):
    ip.run_cell_magic("argo_task", "", "def add(i: int) -> int:\n    return i + 1\n")
    ip.run_cell_magic("argo_task", "", "def echo(s: str) -> str:\n    return s\n")
    ip.run_cell_magic("argo_task", "", "def ratio(x: float) -> float:\n    return x\n")
    ip.run_cell_magic("argo_task", "", "from typing import Optional\ndef maybe(m: Optional[int] = None):\n    return m\n")
    ip.run_cell("n_text = '42'")
    ok, text = shown(ip, f"%argo_dag --dry-run {expression}", capsys)
    if expected is None:
        assert ok, text
    else:
        assert not ok and expected in text
    if expression.startswith("echo(s=None"):
        assert "'null'" in text


def test_4_a_map_s_list_into_an_input_annotated_otherwise_is_refused(ip, capsys):
    ip.run_cell_magic("argo_task", "", "def add(i: int) -> int:\n    return i + 1\n")
    ip.run_cell_magic("argo_task", "", "def total(values: int) -> int:\n    return values\n")
    ok, text = shown(ip, "%argo_dag --dry-run add.map(i=[1, 2]) >> total(values=add)", capsys)
    assert not ok and "add is a map and hands on a list, but input 'values' of `total` is annotated int" in text


# -- 5. Argo names are lower-case ----------------------------------------------------------------------


def test_5_template_names_are_lower_case_and_a_clash_is_refused_at_capture(ip, capsys):
    ok, _ = shown(ip, "%%argo_task My_task\nprint('upper')\n", capsys)
    assert ok
    document = dry_run(ip, "My_task")
    assert [t["name"] for t in document["spec"]["templates"]] == ["hera-magics-dag", "my-task"]
    assert dag_tasks(document)["my-task"]["template"] == "my-task"
    ok, text = shown(ip, "%%argo_task my_task\nprint('lower')\n", capsys)
    assert not ok and "tasks 'My_task' and 'my_task' would both be 'my-task' on the cluster" in text
    assert list(magics_of(ip).session.tasks) == ["My_task"]
    ok, _ = shown(ip, "%%argo_task My_task\nprint('again')\n", capsys)  # replacing it is fine
    assert ok


# -- 6. generators ---------------------------------------------------------------------------------------


def test_6_a_generator_function_is_refused_at_capture(ip, capsys):
    ok, text = shown(ip, "%%argo_task\ndef numbers():\n    for i in range(3):\n        yield i\n", capsys)
    assert not ok and "line 3: numbers() is a generator (it uses yield); a task returns one value" in text
    assert not magics_of(ip).session.tasks
    # a generator inside the function is fine
    ok, _ = shown(ip, "%%argo_task\ndef numbers():\n    return list(i for i in range(3))\n", capsys)
    assert ok


# -- 8. modules and helpers of other cells ---------------------------------------------------------------


def test_8_a_module_of_another_cell_says_import_it_here(ip, capsys):
    ip.run_cell("import json as js")
    ok, text = shown(ip, "%%argo_task\ndef dump(x):\n    return js.dumps(x)\n", capsys)
    assert not ok
    assert "`js` is a module imported in another cell; the pod runs only this cell" in text
    assert "import it in this cell: import json as js" in text and "pass it as an input" not in text


def test_8_a_helper_of_another_cell_says_define_it_here(ip, capsys):
    ip.run_cell("def helper(x):\n    return x * 2\n")
    ok, text = shown(ip, "%%argo_task\ndef double(x):\n    return helper(x)\n", capsys)
    assert not ok and "`helper` is a function defined in another cell" in text
    assert "define helper in this cell too" in text and "pass it as an input" not in text
    ip.run_cell("from os.path import join")
    ok, text = shown(ip, "%%argo_task\ndef path(x):\n    return join('a', x)\n", capsys)
    assert not ok and "import it in this cell: from posixpath import join" in text


def test_8_passing_a_module_as_an_argument_says_import_it_in_the_task(ip, capsys):
    ip.run_cell("import json")
    ip.run_cell_magic("argo_task", "", "def uses(np):\n    return 1\n")
    ok, text = shown(ip, "%argo_dag --dry-run uses(np=json)", capsys)
    assert not ok and "a module (json) cannot be passed to a task" in text
    assert "import it inside the task's cell instead: import json" in text and "--data-volume" not in text


# -- 9. trailing comments ------------------------------------------------------------------------------


def test_9_trailing_comments_work_on_every_line_magic(ip, capsys, tmp_path):
    (tmp_path / ".env").write_text("ARGO_SERVER=argo.example.org:443\nARGO_NAMESPACE=dev\nARGO_TOKEN=abcd1234\n")
    ok, text = shown(ip, "%argo_env   # reads .env / Nebari's ARGO_* variables; the token is never shown", capsys)
    assert ok and "namespace  dev" in text
    ok, text = shown(ip, "%%argo_task --env COLOR=#fff  # a colour, not a comment\ndef paint():\n    pass\n", capsys)
    assert ok and magics_of(ip).session.tasks["paint"].options.env == (("COLOR", "#fff"),)
    ok, text = shown(ip, "%argo_tasks   # what is there?", capsys)
    assert ok and "paint" in text
    ok, text = shown(ip, "w = %argo_dag --dry-run --yaml 'out #1.yaml' paint  # --wait would be wrong here", capsys)
    assert ok and (tmp_path / "out #1.yaml").read_text() == ip.user_ns["w"].to_yaml()
    ok, text = shown(ip, "%argo_dag --dry-run  # nothing but a comment", capsys)
    assert not ok and "no DAG given" in text
    ok, text = shown(ip, "%argo_status -h  # help", capsys)
    assert ok and "%argo_status" in text


# -- 10. -h on every magic ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code, usage", [
    ("%argo_tasks -h", "%argo_tasks"),
    ("%argo_env -h", "%argo_env [--host HOST]"),
    ("%argo_dag -h", "%argo_dag [--name PREFIX]"),
    ("%argo_dag --help", "%argo_dag [--name PREFIX]"),
    ("%argo_status -h", "%argo_status [--last]"),
    ("%argo_logs -h", "%argo_logs [--follow]"),
    ("%argo_task -h", "%argo_task [--image IMAGE]"),
    ("%%argo_task -h\ndef f():\n    pass\n", "%argo_task [--image IMAGE]"),
    ("%%argo_dag -h\na >> b\n", "%argo_dag [--name PREFIX]"),
])
def test_10_every_magic_shows_its_help_with_h(ip, capsys, code, usage):
    ok, text = shown(ip, code, capsys)
    assert ok and usage in text
    assert not magics_of(ip).session.tasks  # the help ran nothing


def test_10_argo_tasks_still_takes_no_arguments(ip, capsys):
    ok, text = shown(ip, "%argo_tasks extra", capsys)
    assert not ok and "%argo_tasks takes no arguments" in text and "-h shows its help" in text


def test_10_argo_task_as_a_line_magic_says_where_the_code_goes(ip, capsys):
    ok, text = shown(ip, "%argo_task train", capsys)
    assert not ok and "UsageError: %%argo_task captures the code of its cell" in text


# -- 11. stopping the local engine ----------------------------------------------------------------------


def test_11_argo_env_local_stop_stops_the_engine(ip, capsys, isolated_state):
    ok, text = shown(ip, "%argo_env --local --workers 1", capsys)
    assert ok
    pid = read_engine_state(isolated_state)["pid"]
    ok, text = shown(ip, "%argo_env --local --stop", capsys)
    assert ok and "stopped the local engine" in text
    assert read_engine_state(isolated_state) is None
    import os

    with pytest.raises(OSError):
        os.kill(pid, 0)
    ok, text = shown(ip, "%argo_env --local --stop", capsys)
    assert ok and "no local engine was running" in text
    ip.run_cell_magic("argo_task", "", "def f():\n    pass\n")
    ok, text = shown(ip, "%argo_dag f", capsys)
    assert not ok and "not connected to an Argo server yet" in text


def test_11_stop_needs_local_and_nothing_else(ip, capsys):
    ok, text = shown(ip, "%argo_env --stop", capsys)
    assert not ok and "write %argo_env --local --stop" in text
    ok, text = shown(ip, "%argo_env --local --stop --workers 2", capsys)
    assert not ok and "takes no other options" in text


def test_11_the_warnings_of_a_running_engine_give_the_stop_command(ip, capsys, isolated_state):
    try:
        shown(ip, "%argo_env --local --workers 1", capsys)
        ok, text = shown(ip, "%argo_env --local --workers 3", capsys)
        assert ok and "(%argo_env --local --stop)" in text and "import stop_engine" not in text
    finally:
        shown(ip, "%argo_env --local --stop", capsys)


# -- 25. >> a value -----------------------------------------------------------------------------------------


def test_25_the_value_after_rshift_is_named_with_good_grammar(ip, capsys):
    ip.run_cell_magic("argo_task", "", "def hello_world():\n    print('hi')\n")
    ok, text = shown(ip, "%argo_dag --dry-run hello_world >> 42", capsys)
    assert not ok and "the right side of >> is 42 (an int), not a task" in text
    ok, text = shown(ip, "%argo_dag --dry-run 'text' >> hello_world", capsys)
    assert not ok and "the left side of >> is 'text' (a str), not a task" in text
