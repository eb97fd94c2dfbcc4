"""The live view of real runs of the DAG language: maps, conditions and the exit handler.

Each workflow is written with ``%argo_dag`` in a real IPython shell and runs on the real local
engine; what is checked is read back from the rendered SVG/HTML (and the text table), not from
our model: a map is ONE node with its progress, skipped nodes are drawn as not run with their
reason, the exit handler is apart, the edges are the DAG's, and the table shows a map as one row
that opens to its items (in item order).
"""

from __future__ import annotations

import textwrap

import pytest
from IPython.utils.capture import capture_output

from hera_magics import WorkflowFailed
from hera_magics.view.render import PHASE_COLOURS
from hera_magics.view.svg import NOT_RUN_FILL

from .rendered import drawn_edges, drawn_nodes, map_progress, table_rows

pytestmark = pytest.mark.slow

TRAIN = """\
    def train(path: str, lr: float) -> dict:
        if lr > 1:
            raise ValueError(f'lr {lr} diverges')
        return {'lr': lr}
    """


@pytest.fixture
def tasks(local_ip):
    for source in (
        "def prep() -> str:\n    return 'data.csv'\n",
        TRAIN,
        "def report(scores: list) -> int:\n    return len(scores)\n",
        "def notify(status: str) -> str:\n    return status\n",
        "def list_files(n: int) -> list:\n    return [f'part-{i}' for i in range(n)]\n",
        "def process(path: str) -> str:\n    return path.upper()\n",
        "def evaluate(score: float) -> float:\n    return score\n",
        "def deploy(model: float) -> str:\n    return 'deployed'\n",
    ):
        local_ip.run_cell_magic("argo_task", "", textwrap.dedent(source))
    return local_ip


def finished_view(ip, line: str, *, fails: bool = False):
    """Run ``%argo_dag line`` to its end; the run's view, polled once after the end, and its HTML."""
    run = ip.run_line_magic("argo_dag", "--no-widget " + line)
    if fails:
        with pytest.raises(WorkflowFailed):
            run.wait(timeout=120)
    else:
        run.wait(timeout=120)
    view = run.widget
    view.poll_once()
    return run, view, view.html


def item_rows(html: str, prefix: str) -> list[list[str]]:
    return [cells for node, cells in table_rows(html) if node and node.startswith(prefix + "(")]


def test_a_static_sweep_is_one_node_with_its_progress_and_the_exit_handler_is_apart(tasks) -> None:
    run, view, html = finished_view(
        tasks, "--on-exit notify prep >> train(path=prep).map(lr=[0.1, 0.01, 0.001]) >> report(scores=train)")
    nodes = drawn_nodes(html)
    assert set(nodes) == {"prep", "train", "report", "onExit.notify"}
    train = nodes["train"]
    assert (train.kind, train.phase, train.fill) == ("map", "Succeeded", PHASE_COLOURS["Succeeded"])
    assert train.texts == ["train ×3", "3/3"]
    assert drawn_edges(html) == {("prep", "train"), ("train", "report")}
    # the exit handler: its own kind, named after its task, under the DAG and joined to nothing
    notify = nodes["onExit.notify"]
    assert notify.kind == "exit" and notify.texts == ["notify", "Succeeded · on exit"]
    assert notify.dashed and all(notify.y > node.y for key, node in nodes.items() if key != "onExit.notify")
    # the table: the map is one row, its items (in item order) open under it; the exit handler last
    rows = table_rows(html)
    main = [(node, cells[:2], cells[4]) for node, cells in rows if node and "(" not in node]
    assert main == [("prep", ["prep", "Succeeded"], ""), ("train", ["train ×3", "Succeeded"], "3/3"),
                    ("report", ["report", "Succeeded"], ""),
                    ("onExit.notify", ["notify (on exit)", "Succeeded"], "exit handler")]
    assert [cells[0] for cells in item_rows(html, "train")] == ["train(0:0.1)", "train(1:0.01)", "train(2:0.001)"]
    assert "<details><summary" in html and "items of train" in html
    assert map_progress(html) == {"train": "train 3/3"}
    # the text fallback shows the map as one row too
    assert [line.split()[0] for line in view.text.splitlines()[2:]] == ["prep", "train", "report", "notify"]
    assert run.result("report") == 3


def test_a_dynamic_fan_out_is_one_node_whose_width_comes_from_the_task(tasks) -> None:
    with capture_output() as captured:
        tasks.run_line_magic("argo_dag", "--dry-run list_files(n=4) >> process.map(path=list_files) >> "
                                         "report(scores=process)")
    planned = drawn_nodes(next(output.data["text/html"] for output in captured.outputs if "text/html" in output.data))
    assert planned["process"].kind == "map" and planned["process"].texts[0] == "process ×?"
    _, _, html = finished_view(tasks, "list_files(n=4) >> process.map(path=list_files) >> report(scores=process)")
    nodes = drawn_nodes(html)
    assert set(nodes) == {"list-files", "process", "report"}
    assert nodes["process"].kind == "map" and nodes["process"].texts == ["process ×4", "4/4"]
    assert drawn_edges(html) == {("list-files", "process"), ("process", "report")}
    assert [cells[0] for cells in item_rows(html, "process")] == [f"process({index}:part-{index})" for index in range(4)]
    assert map_progress(html) == {"process": "process 4/4"}


def test_a_map_whose_items_failed_shows_the_failed_count_and_the_traceback(tasks) -> None:
    _, view, html = finished_view(tasks, "train(path='p').map(lr=[0.1, 5, 0.3]) >> report(scores=train)", fails=True)
    nodes = drawn_nodes(html)
    train = nodes["train"]
    assert (train.kind, train.phase, train.fill) == ("map", "Failed", PHASE_COLOURS["Failed"])
    assert train.texts == ["train ×3", "2/3 · 1 failed"] and "1 failed: train(1:5)" in train.title
    # downstream did not run: drawn as not run, with Argo's reason
    assert nodes["report"].phase == "Omitted" and nodes["report"].fill == NOT_RUN_FILL and nodes["report"].dashed
    assert "omitted: depends condition not met" in nodes["report"].title
    assert drawn_edges(html) == {("train", "report")}
    row = next(cells for node, cells in table_rows(html) if node == "train")
    assert row[:2] == ["train ×3", "Failed"] and row[4] == "2/3 · 1 failed: train(1:5)"
    assert [cells[1] for cells in item_rows(html, "train")] == ["Succeeded", "Failed", "Succeeded"]
    assert "ValueError: lr 5 diverges" in html  # the failed item's traceback under the map's row
    assert map_progress(html) == {"train": "train 2/3 · 1 failed"}
    clicked = view.select("train")
    assert "train(1:5)" in clicked and "ValueError: lr 5 diverges" in clicked


def test_a_keep_going_map_with_parallelism_is_the_same_one_node_and_downstream_runs(tasks) -> None:
    line = "prep >> train(path=prep).map(lr=[0.1, 5, 0.3], keep_going=True, parallelism=2) >> report(scores=train)"
    with capture_output() as captured:
        tasks.run_line_magic("argo_dag", "--dry-run " + line)
    planned = drawn_nodes(next(output.data["text/html"] for output in captured.outputs if "text/html" in output.data))
    # the map runs in a DAG template of its own (to bound it): still drawn as the map
    assert planned["train"].kind == "map" and planned["train"].texts[0] == "train ×3"
    run, view, html = finished_view(tasks, line)
    nodes = drawn_nodes(html)
    assert set(nodes) == {"prep", "train", "report"}
    assert nodes["train"].kind == "map" and nodes["train"].texts == ["train ×3", "2/3 · 1 failed"]
    assert nodes["report"].phase == "Succeeded"
    assert drawn_edges(html) == {("prep", "train"), ("train", "report")}
    assert [cells[0] for cells in item_rows(html, "train")] == ["train(0:0.1)", "train(1:5)", "train(2:0.3)"]
    assert run.result("report") == 2


def test_a_condition_taken_and_one_not_taken(tasks) -> None:
    _, _, html = finished_view(tasks, "evaluate(score=0.5) >> [deploy(model=evaluate).when(evaluate > 0.9), "
                                      "deploy(model=evaluate, name='announce').when(evaluate <= 0.9)]")
    nodes = drawn_nodes(html)
    deploy, announce = nodes["deploy"], nodes["announce"]
    assert deploy.phase == "Skipped" and deploy.fill == NOT_RUN_FILL and deploy.dashed
    # the condition as written in the notebook, and Argo's reason
    assert "when evaluate > 0.9" in deploy.title and "when '0.5 > 0.9' evaluated false" in deploy.title
    assert announce.phase == "Succeeded" and announce.fill == PHASE_COLOURS["Succeeded"] and not announce.dashed
    assert drawn_edges(html) == {("evaluate", "deploy"), ("evaluate", "announce")}
    rows = {cells[0]: cells for _, cells in table_rows(html)}
    assert rows["deploy"][1:] == ["Skipped", "", "", "when '0.5 > 0.9' evaluated false", ""]


def test_argo_status_without_widget_prints_a_map_as_one_row(tasks) -> None:
    run = tasks.run_line_magic("argo_dag", "--no-widget train(path='p').map(lr=[0.1, 5, 0.3]) >> report(scores=train)")
    with pytest.raises(WorkflowFailed):
        run.wait(timeout=120)
    with capture_output() as captured:
        tasks.run_line_magic("argo_status", f"--no-widget {run.name}")
    lines = captured.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["train", "report"]
    assert lines[2].split()[:3] == ["train", "×3", "Failed"] and lines[2].endswith("2/3 · 1 failed: train(1:5)")
    assert "train(0:0.1)" not in captured.stdout


def test_a_map_whose_condition_is_false_is_drawn_as_not_run_and_hands_on_an_empty_list(tasks) -> None:
    run, _, html = finished_view(
        tasks, "evaluate(score=0.5) >> train(path='p').map(lr=[0.1, 0.2]).when(evaluate > 0.9) >> report(scores=train)")
    train = drawn_nodes(html)["train"]
    # Argo evaluates the `when` per item and calls the TaskGroup Succeeded, but nothing ran
    assert (train.kind, train.phase, train.fill, train.dashed) == ("map", "Skipped", NOT_RUN_FILL, True)
    assert "when evaluate > 0.9" in train.title and "when '0.5 > 0.9' evaluated false" in train.title
    row = next(cells for node, cells in table_rows(html) if node == "train")
    assert row[:2] == ["train ×2", "Skipped"] and row[4] == "2/2 · when '0.5 > 0.9' evaluated false"
    assert run.result("train") == [] and run.result("report") == 0
