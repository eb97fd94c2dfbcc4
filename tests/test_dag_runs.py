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


# -- maps ------------------------------------------------------------------------------------------------


def node_phases(run) -> dict[str, str]:
    """Every node of the workflow by its display name (Argo's: ``train(0:0.1)``), with its phase."""
    return {node["displayName"]: node["phase"] for node in run.data["status"]["nodes"].values()}


def returned(run, display_name: str):
    """The JSON-decoded return value of the node shown as ``display_name`` (also an exit handler's)."""
    import json

    node = next(node for node in run.data["status"]["nodes"].values() if node["displayName"] == display_name)
    return json.loads(next(item["value"] for item in node["outputs"]["parameters"] if item["name"] == "return"))


@pytest.fixture
def sweep(local_ip):
    local_ip.run_cell_magic("argo_task", "", "def prep() -> str:\n    return 'data.csv'\n")
    local_ip.run_cell_magic("argo_task", "", (
        "def train(path: str, lr: float, seed: int = 0) -> dict:\n"
        "    if lr > 1:\n"
        "        raise ValueError(f'lr {lr} diverges')\n"
        "    return {'path': path, 'lr': lr, 'seed': seed}\n"))
    local_ip.run_cell_magic("argo_task", "", "def report(scores: list) -> list:\n    return scores\n")
    return local_ip


def test_a_static_sweep_hands_downstream_the_list_in_item_order(sweep):
    run = run_dag(sweep, "prep >> train(path=prep).map(lr=[0.1, 0.01, 0.001]) >> report(scores=train)")
    run.wait(timeout=120)
    assert run.result("report") == [{"path": "data.csv", "lr": lr, "seed": 0} for lr in (0.1, 0.01, 0.001)]
    phases = node_phases(run)
    assert [phases[f"train({index}:{lr})"] for index, lr in enumerate((0.1, 0.01, 0.001))] == ["Succeeded"] * 3


def test_zipped_keywords_pair_their_values(sweep):
    run = run_dag(sweep, "train(path='p').map(lr=[0.1, 0.2], seed=[7, 8]) >> report(scores=train)")
    run.wait(timeout=120)
    assert run.result("report") == [{"path": "p", "lr": 0.1, "seed": 7}, {"path": "p", "lr": 0.2, "seed": 8}]


def test_a_dynamic_fan_out_takes_its_width_from_a_task(local_ip):
    local_ip.run_cell_magic("argo_task", "", "def list_files(n: int) -> list:\n    return [f'part-{i}.csv' for i in range(n)]\n")
    local_ip.run_cell_magic("argo_task", "", "def process(path: str) -> dict:\n    return {'file': path, 'size': len(path)}\n")
    local_ip.run_cell_magic("argo_task", "", "def merge(parts: list) -> list:\n    return [part['file'] for part in parts]\n")
    local_ip.run_cell("n_files = 5")
    run = run_dag(local_ip, "list_files(n=n_files) >> process.map(path=list_files) >> merge(parts=process)")
    run.wait(timeout=120)
    assert run.result("merge") == [f"part-{i}.csv" for i in range(5)]
    assert sum(name.startswith("process(") for name in node_phases(run)) == 5


def test_parallelism_bounds_a_map_and_hands_on_the_same_list(sweep):
    run = run_dag(sweep, "prep >> train(path=prep).map(lr=[0.1, 0.2, 0.3], parallelism=1) >> report(scores=train)")
    run.wait(timeout=120)
    assert [item["lr"] for item in run.result("report")] == [0.1, 0.2, 0.3]


def test_by_default_a_failed_item_fails_the_map(sweep):
    run = run_dag(sweep, "train(path='p').map(lr=[0.1, 5, 0.3]) >> report(scores=train)")
    with pytest.raises(WorkflowFailed):
        run.wait(timeout=120)
    phases = node_phases(run)
    assert phases["train(1:5)"] == "Failed" and phases["train(0:0.1)"] == "Succeeded"
    assert phases["report"] == "Omitted"


@pytest.mark.parametrize("parallelism", ["", ", parallelism=2"])
def test_keep_going_hands_downstream_what_succeeded(sweep, parallelism):
    run = run_dag(sweep, f"train(path='p').map(lr=[0.1, 5, 0.3], keep_going=True{parallelism}) >> report(scores=train)")
    run.wait(timeout=120)
    assert run.phase == "Succeeded"
    assert [item["lr"] for item in run.result("report")] == [0.1, 0.3]
    assert node_phases(run)["train(1:5)"] == "Failed"


def test_a_map_over_a_map_s_values(sweep):
    sweep.run_cell_magic("argo_task", "", "def double(score: dict) -> float:\n    return score['lr'] * 2\n")
    run = run_dag(sweep, "train(path='p').map(lr=[0.1, 0.2]) >> double.map(score=train) >> report(scores=double)")
    run.wait(timeout=120)
    assert run.result("report") == [0.2, 0.4]


# -- exit handler ----------------------------------------------------------------------------------------


NOTIFY = ("def notify(status: str, failures: list) -> dict:\n"
          "    print('workflow', status, 'failed:', [failure['displayName'] for failure in failures])\n"
          "    return {'status': status, 'failed': sorted(failure['displayName'] for failure in failures)}\n")


def test_the_exit_handler_receives_a_task_s_failure(sweep):
    sweep.run_cell_magic("argo_task", "", NOTIFY)
    run = run_dag(sweep, "--on-exit notify prep >> train(path=prep, lr=5)")
    with pytest.raises(WorkflowFailed):
        run.wait(timeout=120)
    received = returned(run, "notify")
    # Argo lists every Failed/Error node (operator.go): the task, and the DAG that failed with it
    assert received["status"] == "Failed" and "train" in received["failed"]
    assert "prep" not in received["failed"]


def test_the_exit_handler_runs_after_success_too(sweep):
    sweep.run_cell_magic("argo_task", "", NOTIFY)
    run = run_dag(sweep, "--on-exit notify prep")
    run.wait(timeout=120)
    assert run.phase == "Succeeded"
    assert returned(run, "notify") == {"status": "Succeeded", "failed": []}
    # the exit handler's task answers to its own name (its node is <workflow>.onExit.notify)
    assert run.logs("notify").strip() == "workflow Succeeded failed: []"
    assert run.result("notify") == {"status": "Succeeded", "failed": []}
