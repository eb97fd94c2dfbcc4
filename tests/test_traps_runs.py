"""Issue 9's traps that show only when the workflow runs: on the real local engine, through the magics."""

from __future__ import annotations

import pytest

from hera_magics.errors import WorkflowFailed
from hera_magics.pod.contract import LARGEST_VALUE_BYTES


def run_dag(ip, line: str):
    return ip.run_line_magic("argo_dag", "--no-widget " + line)


def phases(run) -> dict[str, str]:
    return {row["task"]: row["phase"] for row in run.tasks()}


def test_2_an_input_called_name_arrives(local_ip):
    local_ip.run_cell_magic("argo_task", "", "def greet(name: str) -> str:\n    return 'hello ' + name\n")
    run = run_dag(local_ip, '[greet(name="Ada"), greet(name="Bob").named("greet-bob")]')
    run.wait(timeout=120)
    assert run.result("greet") == "hello Ada" and run.result("greet-bob") == "hello Bob"


def test_3_the_pasted_decorator_s_environment_reaches_the_task(local_ip):
    local_ip.run_cell_magic("argo_task", "", (
        "from hera.workflows import Env, script\n\n"
        '@script(env=[Env(name="ENV_VAR1", value="1"), Env(name="ENV_VAR2", value="2")])\n'
        "def multiline_function(arg1: str) -> dict:\n"
        "    import os\n"
        "    return {'arg1': arg1, 'ENV_VAR1': os.environ.get('ENV_VAR1'), 'ENV_VAR2': os.environ.get('ENV_VAR2')}\n"
    ))
    run = run_dag(local_ip, 'multiline_function(arg1="test string")')
    run.wait(timeout=120)
    assert run.result("multiline_function") == {"arg1": "test string", "ENV_VAR1": "1", "ENV_VAR2": "2"}


def test_7_a_return_value_too_large_for_a_parameter_fails_its_producer_clearly(local_ip):
    local_ip.run_cell_magic("argo_task", "", "def give_200k() -> str:\n    return 'x' * 200_000\n")
    local_ip.run_cell_magic("argo_task", "", "def as_text(s: str) -> int:\n    return len(s)\n")
    run = run_dag(local_ip, "give_200k >> as_text(s=give_200k)")
    with pytest.raises(WorkflowFailed) as caught:
        run.wait(timeout=120)
    assert phases(run) == {"give-200k": "Failed", "as-text": "Omitted"}
    log = run.logs("give_200k")
    expected = ("ValueError: give_200k() returned 195 KiB; a value passed between tasks has at most 127 KiB: "
                "give the task --data-volume to return it as a file")
    assert expected in log
    assert expected in str(caught.value)  # the failure the notebook shows quotes it
    assert "Argument list too long" not in str(caught.value)


def test_7_the_largest_value_allowed_reaches_the_task_that_takes_it(local_ip):
    """The limit is the real one: a return value of exactly that size still starts its consumer."""
    characters = LARGEST_VALUE_BYTES - 2  # JSON adds the quotes
    local_ip.run_cell_magic("argo_task", "", f"def give_most() -> str:\n    return 'x' * {characters}\n")
    local_ip.run_cell_magic("argo_task", "", "def count_it(long_input_name_for_the_environment: str) -> int:\n"
                                             "    return len(long_input_name_for_the_environment)\n")
    run = run_dag(local_ip, "give_most >> count_it(long_input_name_for_the_environment=give_most)")
    run.wait(timeout=120)
    assert run.result("count_it") == characters
