"""What a map gives in the notebook: ``run.result``, ``run.logs``, ``run.tasks`` for ``.map(...)``.

Real shell, real local engine. A map's result is the list a downstream task receives (each test
compares with what ``report`` received); its items answer to their own names (``train(1:0.01)``)
and to their index (``train(1)``).
"""

from __future__ import annotations

import pytest

from hera_magics.errors import TaskResultError, UnknownTaskError, WorkflowFailed

pytestmark = pytest.mark.slow

TRAIN = (
    "def train(path: str, lr: float) -> dict:\n"
    "    print('training with', lr)\n"
    "    if lr > 1:\n"
    "        raise ValueError(f'lr {lr} diverges')\n"
    "    return {'path': path, 'lr': lr}\n"
)


@pytest.fixture
def sweep(local_ip):
    local_ip.run_cell_magic("argo_task", "", "def prep() -> str:\n    return 'data.csv'\n")
    local_ip.run_cell_magic("argo_task", "", TRAIN)
    local_ip.run_cell_magic("argo_task", "", "def report(scores: list) -> list:\n    return scores\n")
    return local_ip


def run_dag(ip, line: str):
    return ip.run_line_magic("argo_dag", "--no-widget " + line)


@pytest.mark.parametrize("parallelism", ["", ", parallelism=2"])
def test_a_map_s_result_is_the_list_downstream_receives_and_its_items_answer_to_their_names(sweep, parallelism):
    run = run_dag(sweep, f"prep >> train(path=prep).map(lr=[0.1, 0.01, 0.001]{parallelism}) >> report(scores=train)")
    run.wait(timeout=120)
    expected = [{"path": "data.csv", "lr": lr} for lr in (0.1, 0.01, 0.001)]
    assert run.result("train") == run.result("report") == expected
    assert run.result("train", stdout=True) == [f"training with {lr}" for lr in (0.1, 0.01, 0.001)]
    # one item: by Argo's name, or by its index
    assert run.result("train(1:0.01)") == run.result("train(1)") == expected[1]
    # the items are rows named as Argo names them, also when the map runs in a DAG of its own
    assert [row["task"] for row in run.tasks()] == ["prep", "train(0:0.1)", "train(1:0.01)", "train(2:0.001)",
                                                      "report"]
    # the map's log is every item's, in item order
    assert run.logs("train").splitlines() == [f"train({index}:{lr}) | training with {lr}"
                                              for index, lr in enumerate((0.1, 0.01, 0.001))]
    with pytest.raises(UnknownTaskError, match="map train has 3 items, numbered from 0: it has no item 3"):
        run.result("train(3)")


def test_a_dynamic_map_s_result(local_ip):
    local_ip.run_cell_magic("argo_task", "", "def list_files(n: int) -> list:\n    return [f'part-{i}' for i in range(n)]\n")
    local_ip.run_cell_magic("argo_task", "", "def process(path: str) -> str:\n    return path.upper()\n")
    local_ip.run_cell_magic("argo_task", "", "def merge(parts: list) -> list:\n    return parts\n")
    run = run_dag(local_ip, "list_files(n=4) >> process.map(path=list_files) >> merge(parts=process)")
    run.wait(timeout=120)
    assert run.result("process") == run.result("merge") == ["PART-0", "PART-1", "PART-2", "PART-3"]
    assert run.result("process(3)") == "PART-3"


def test_a_map_whose_items_failed_names_them_and_its_items_keep_their_values(sweep):
    run = run_dag(sweep, "train(path='p').map(lr=[0.1, 5, 0.3]) >> report(scores=train)")
    with pytest.raises(WorkflowFailed):
        run.wait(timeout=120)
    with pytest.raises(TaskResultError) as raised:
        run.result("train")
    error = raised.value
    assert error.message == ("map train ended Failed: 1 of its 3 items failed (train(1:5)), so it has no list "
                             "of results")
    assert "run.result('train(0:0.1)')" in error.hint and "run.logs('train(1:5)')" in error.hint
    assert "keep_going=True" in error.hint
    assert run.result("train(0)") == {"path": "p", "lr": 0.1}
    with pytest.raises(TaskResultError, match=r"task train\(1:5\) failed"):
        run.result("train(1)")
    assert "ValueError: lr 5 diverges" in run.logs("train(1)")
    # the map's log names each item's lines, the failed one's traceback included
    assert "train(1:5) | ValueError: lr 5 diverges" in run.logs("train").splitlines()


@pytest.mark.parametrize("parallelism", ["", ", parallelism=2"])
def test_a_keep_going_map_gives_what_succeeded_as_downstream_received_it(sweep, parallelism):
    run = run_dag(sweep, f"train(path='p').map(lr=[0.1, 5, 0.3], keep_going=True{parallelism}) >> report(scores=train)")
    run.wait(timeout=120)
    assert run.result("train") == run.result("report") == [{"path": "p", "lr": 0.1}, {"path": "p", "lr": 0.3}]


def test_following_a_map_s_log_says_to_follow_an_item(sweep):
    run = run_dag(sweep, "train(path='p').map(lr=[0.1, 0.2])")
    run.wait(timeout=120)
    with pytest.raises(TaskResultError, match="train is a map: each of its 2 items has a log of its own") as raised:
        run.wait_for_pod("train")
    assert "'train(0:0.1)' --follow" in raised.value.hint
    assert run.wait_for_pod("train(1)") == next(row["pod_name"] for row in run.tasks() if row["task"] == "train(1:0.2)")


def test_a_map_s_result_and_log_after_the_server_forgot_the_run(sweep):
    from hera_magics.run import WorkflowRun

    run = run_dag(sweep, "train(path='p').map(lr=[0.1, 0.2], parallelism=1)")
    run.wait(timeout=120)  # keeps the final state and each item's log tail
    run.client.delete_workflow(run.name, namespace=run.namespace)
    again = WorkflowRun.attach(run.client, run.name, namespace=run.namespace)
    assert again.result("train") == [{"path": "p", "lr": 0.1}, {"path": "p", "lr": 0.2}]
    assert again.gone_from_server
    assert again.logs("train").splitlines()[1:] == ["train(0:0.1) | training with 0.1",
                                                    "train(1:0.2) | training with 0.2"]
