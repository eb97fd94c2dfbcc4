"""Capture-time traps of issue 9 through the plain-Python API: pasted ``@script``, annotations, names, generators.

The same traps through a real shell are in ``tests/test_magics_traps.py``.
"""

from __future__ import annotations

import ast

import pytest

from hera_magics.annotations import annotation_kinds, fits, kinds_meet
from hera_magics.capture import argo_name, capture_cell, check_name_clash
from hera_magics.errors import TaskDefinitionError
from hera_magics.options import parse_task_options


def capture(cell: str, **options):
    return capture_cell(cell, parse_task_options(**options))


# -- @script pasted from Hera code -----------------------------------------------------------------------


def test_every_setting_that_maps_to_an_option_is_taken():
    spec = capture('''\
from hera.workflows import Env, Resources, RetryStrategy, SecretEnv, script

@script(
    image="python:3.12",
    env=[Env(name="A", value="1"), Env("B", 2), SecretEnv(name="KEY", secret_name="s3", secret_key="key")],
    resources=Resources(cpu_request="500m", memory_request="2Gi", memory_limit="2Gi", gpus=1),
    retry_strategy=RetryStrategy(limit=3),
    active_deadline_seconds=600,
    node_selector={"pool": "gpu"},
    labels={"team": "ml"},
    working_dir="/work",
    command=["python", "-X", "utf8"],
    name="fit",
    constructor="inline",
)
def fit(x: int) -> int:
    return x
''')
    options = spec.options
    assert options.image == "python:3.12" and options.env == (("A", "1"), ("B", "2"))
    assert options.secret_env == (("KEY", "s3", "key"),)
    assert (options.cpu, options.memory, options.gpu) == ("500m", "2Gi", 1)
    assert (options.retries, options.timeout_seconds, options.workdir) == (3, 600, "/work")
    assert options.node_selector == (("pool", "gpu"),) and options.labels == (("team", "ml"),)
    assert options.command == ("python", "-X", "utf8")
    assert spec.notes[0].startswith("@script(...) read as --image python:3.12 --env A=1 --env B=2 --secret-env")
    assert any("constructor" in note and "no effect" in note for note in spec.notes)
    # the Hera import and the decorator's 13 lines are blank: line numbers stay the cell's
    lines = spec.code.splitlines()
    assert lines[:15] == [""] * 15 and lines[15] == "def fit(x: int) -> int:"


def test_a_bare_or_empty_decorator_is_removed_and_said_so():
    for decorator in ("@script", "@script()", "@hera.workflows.script()"):
        spec = capture(f"import hera.workflows\n{decorator}\ndef f():\n    return 1\n")
        assert spec.notes == ("@script() removed (the task calls the function itself)",)
        assert spec.code == "\n\ndef f():\n    return 1\n"


def test_hera_imports_still_used_stay():
    spec = capture("from hera.workflows import script, Env\n@script()\ndef f():\n    return Env\n")
    assert spec.code.startswith("from hera.workflows import script, Env\n\ndef f")


def test_other_decorators_are_left_alone():
    spec = capture("import functools\n@functools.lru_cache()\ndef f():\n    return 1\n")
    assert spec.code.startswith("import functools\n@functools.lru_cache()") and not spec.notes


@pytest.mark.parametrize("decorator, expected", [
    ("@script(name='other')", "name the task with %%argo_task other instead"),
    ("@script(**settings)", "write the settings out as keywords"),
    ("@script('python:3.11')", "has positional arguments"),
    ("@script(resources=Resources(memory_request='1Gi', memory_limit='2Gi'))", "memory_request and memory_limit differ"),
    ("@script(retry_strategy=RetryStrategy(limit=2, backoff=1))", "RetryStrategy(backoff=...)) has no"),
    ("@script(env=[SecretEnv(name='A')])", "needs name, secret_name and secret_key"),
    ("@script(env=[Container()])", "expected Env(...) or SecretEnv(...)"),
    ("@script(resources=Resources(ephemeral_request='1Gi'))", "Resources(ephemeral_request=...)) has no"),
])
def test_what_cannot_be_taken_is_refused(decorator, expected):
    with pytest.raises(TaskDefinitionError) as caught:
        capture(f"{decorator}\ndef f():\n    return 1\n")
    assert expected in str(caught.value)


def test_line_options_and_the_decorator_add_up_but_never_twice():
    spec = capture("@script(env=[Env(name='A', value='1')])\ndef f():\n    return 1\n", env=["B=2"])
    assert spec.options.env == (("B", "2"), ("A", "1"))
    with pytest.raises(TaskDefinitionError, match="'A' is set both on the %%argo_task line and in @script"):
        capture("@script(env=[Env(name='A', value='1')])\ndef f():\n    return 1\n", env=["A=2"])


# -- annotations --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("annotation, kinds", [
    ("int", ("int",)), ("float", ("float",)), ("'str'", ("str",)), ("List[int]", ("list",)),
    ("list[str]", ("list",)), ("typing.Dict[str, int]", ("dict",)), ("Optional[int]", ("int", "None")),
    ("int | None", ("int", "None")), ("Union[int, str]", ("int", "str")), ("Path", ()),
    ("Union[int, Path]", ()), ("np.ndarray", ()), ("tuple", ("list",)), ("None", ("None",)),
])
def test_simple_annotations_are_read_from_the_syntax_tree(annotation, kinds):
    node = ast.parse(f"x: {annotation}").body[0].annotation
    assert annotation_kinds(node) == kinds


@pytest.mark.parametrize("value, kinds, expected", [
    (1, ("int",), True), (True, ("int",), False), (1, ("float",), True), (1.5, ("int",), False),
    ("1", ("int",), False), (None, ("str",), False), (None, ("str", "None"), True), ((1, 2), ("list",), True),
    ({"a": 1}, ("dict",), True), (True, ("bool",), True), (0, ("bool",), False), (object(), (), True),
])
def test_values_fit_their_annotation(value, kinds, expected):
    assert fits(value, kinds) is expected


def test_produced_and_accepted_kinds_meet():
    assert kinds_meet(("int",), ("float",)) and not kinds_meet(("float",), ("int",))
    assert kinds_meet((), ("int",)) and kinds_meet(("dict",), ()) and not kinds_meet(("dict",), ("list",))


def test_inputs_and_return_keep_their_annotations():
    spec = capture("from typing import List, Optional\n"
                   "def f(a: int, b: 'str' = 'x', *, c: Optional[float] = None) -> List[int]:\n    return [a]\n")
    assert [item.kinds for item in spec.inputs] == [("int",), ("str",), ("float", "None")]
    assert spec.returns == ("list",)


# -- names and generators -------------------------------------------------------------------------------------


def test_argo_names_are_lower_case_and_clashes_are_named():
    assert argo_name("My_Task") == "my-task"
    check_name_clash("my_task", ["my_task", "other"])  # the same task again: replaced, no clash
    with pytest.raises(TaskDefinitionError, match="tasks 'My_task' and 'my_task' would both be 'my-task'"):
        check_name_clash("my_task", ["My_task"])


@pytest.mark.parametrize("body", [
    "    yield 1\n",
    "    x = yield\n    return x\n",
    "    yield from range(3)\n",
    "    if True:\n        for i in range(2):\n            yield i\n",
])
def test_generator_functions_are_refused(body):
    with pytest.raises(TaskDefinitionError, match=r"gen\(\) is a generator \(it uses yield\)"):
        capture("def gen():\n" + body)


def test_yield_in_a_nested_function_is_fine():
    spec = capture("def outer():\n    def inner():\n        yield 1\n    return list(inner())\n")
    assert spec.function_name == "outer"
