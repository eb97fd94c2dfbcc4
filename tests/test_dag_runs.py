"""Maps, conditions and exit handlers run on the real local engine, through the magics (issue 10's "Done when").

Each test names the Argo behaviour it expects; the YAML shapes are tested in
``tests/test_dag_map.py`` and ``tests/test_dag_when.py``.
"""

from __future__ import annotations

import pytest

from hera_magics.errors import WorkflowFailed


def run_dag(ip, line: str):
    return ip.run_line_magic("argo_dag", "--no-widget " + line)


def phases(run) -> dict[str, str]:
    return {row["task"]: row["phase"] for row in run.tasks()}


@pytest.fixture
def scoring(local_ip):
    local_ip.run_cell_magic("argo_task", "", "def evaluate(score: float) -> float:\n    return score\n")
    local_ip.run_cell_magic("argo_task", "", "def deploy(model: float) -> str:\n    return f'deployed {model}'\n")
    return local_ip


# -- conditions ------------------------------------------------------------------------------------------


def test_a_condition_taken_runs_the_node(scoring):
    run = run_dag(scoring, "evaluate(score=0.95) >> deploy(model=evaluate).when(evaluate > 0.9)")
    run.wait(timeout=120)
    assert phases(run) == {"evaluate": "Succeeded", "deploy": "Succeeded"}
    assert run.result("deploy") == "deployed 0.95"


def test_a_condition_not_taken_skips_the_node_and_the_workflow_succeeds(scoring):
    run = run_dag(scoring, "evaluate(score=0.5) >> deploy(model=evaluate).when((evaluate > 0.9) | ~(evaluate != 0.7))")
    run.wait(timeout=120)
    assert run.phase == "Succeeded"
    assert phases(run) == {"evaluate": "Succeeded", "deploy": "Skipped"}


def test_a_condition_on_a_string_and_on_what_was_printed(local_ip):
    local_ip.run_cell_magic("argo_task", "", "def verdict() -> str:\n    print('ok')\n    return 'good'\n")
    local_ip.run_cell_magic("argo_task", "", "def act(tag: str = 'x'):\n    print('acted')\n")
    run = run_dag(local_ip, "[act.named('on-return').when(verdict == 'good'), "
                            "act.named('on-print').when(verdict.result == 'ok'), "
                            "act.named('never').when(verdict == 'bad')]")
    run.wait(timeout=120)
    assert phases(run) == {"verdict": "Succeeded", "on-return": "Succeeded", "on-print": "Succeeded",
                           "never": "Skipped"}
