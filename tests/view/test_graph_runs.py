"""The graph of real runs on the local engine, and of ``%argo_dag --dry-run`` in a real shell.

Each test drives the magics through a real IPython shell; the workflows run as local processes
on the embedded engine. What is checked is read from the rendered SVG/HTML.
"""

from __future__ import annotations

import textwrap

import pytest

from hera_magics import WorkflowFailed
from hera_magics.view.render import PHASE_COLOURS
from hera_magics.view.svg import NOT_RUN_FILL

from .rendered import drawn_edges, drawn_nodes, table_rows, timeline_bars

pytestmark = pytest.mark.slow


def define(ip, source: str) -> None:
    ip.run_cell_magic("argo_task", "", textwrap.dedent(source))


def test_a_failing_fan_out_is_drawn_with_phases_edges_and_the_traceback_on_click(local_ip) -> None:
    define(local_ip, "def prep() -> int:\n    return 0\n")
    define(local_ip, "def good(x: int) -> int:\n    return x + 1\n")
    define(local_ip, "def bad(x: int) -> float:\n    return 1 / x\n")
    define(local_ip, "def after(a, b):\n    print(a, b)\n")
    run = local_ip.run_line_magic("argo_dag", "--no-widget prep >> [good(x=prep), bad(x=prep)] >> after(a=good, b=bad)")
    with pytest.raises(WorkflowFailed):
        run.wait(timeout=120)
    view = run.widget
    view.poll_once()
    html = view.html
    nodes = drawn_nodes(html)
    assert {key: node.phase for key, node in nodes.items()} == {
        "prep": "Succeeded", "good": "Succeeded", "bad": "Failed", "after": "Omitted",
    }
    for key in ("prep", "good", "bad"):
        assert nodes[key].fill == PHASE_COLOURS[nodes[key].phase]
    assert nodes["after"].fill == NOT_RUN_FILL and nodes["after"].dashed
    assert drawn_edges(html) == {("prep", "good"), ("prep", "bad"), ("good", "after"), ("bad", "after")}
    rows = {cells[0]: cells for _, cells in table_rows(html)}
    assert rows["bad"][1] == "Failed" and rows["after"][4] == "omitted: depends condition not met"
    assert "ZeroDivisionError: division by zero" in html  # the tail under the failed row
    detail = view.select("bad")
    assert "bad · Failed" in detail and "ZeroDivisionError: division by zero" in detail
    good = view.select("good")
    assert "good · Succeeded" in good and "last lines of the log of good" in good


def test_a_retried_task_shows_its_attempts_in_the_timeline(local_ip, tmp_path) -> None:
    marker = tmp_path / "attempts"
    local_ip.run_cell_magic("argo_task", "--retries 2", textwrap.dedent(f"""\
        def flaky():
            from pathlib import Path
            marker = Path({str(marker)!r})
            count = int(marker.read_text()) + 1 if marker.exists() else 1
            marker.write_text(str(count))
            if count < 3:
                raise SystemExit(3)
            return count
        """))
    run = local_ip.run_line_magic("argo_dag", "--no-widget flaky")
    run.wait(timeout=120)
    view = run.widget
    view.poll_once()
    assert drawn_nodes(view.html)["flaky"].phase == "Succeeded"
    attempts = timeline_bars(view.html)["flaky"]
    assert [bar["fill"] for bar in attempts] == [PHASE_COLOURS["Failed"]] * 2 + [PHASE_COLOURS["Succeeded"]]
    assert [cells[5] for node, cells in table_rows(view.html) if node == "flaky"] == ["2"]


def test_dry_run_shows_the_graph_before_anything_is_sent(ip) -> None:
    from IPython.utils.capture import capture_output

    define(ip, "def prepare() -> str:\n    return 'data'\n")
    define(ip, "def train(path: str, lr: float = 0.1) -> float:\n    return lr\n")
    define(ip, "def report(a, b):\n    print(a, b)\n")
    with capture_output() as captured:
        result = ip.run_cell("w = %argo_dag --dry-run prepare >> [train(path=prepare, name='fast', lr=0.1), "
                             "train(path=prepare, name='slow', lr=0.01)] >> report(a=prepare, b=prepare)")
    assert result.success
    pictures = [output.data["text/html"] for output in captured.outputs if "text/html" in output.data]
    assert len(pictures) == 1
    nodes = drawn_nodes(pictures[0])
    assert set(nodes) == {"prepare", "fast", "slow", "report"}
    assert all(node.phase == "planned" and node.fill == "#ffffff" for node in nodes.values())
    assert drawn_edges(pictures[0]) == {("prepare", "fast"), ("prepare", "slow"), ("fast", "report"),
                                        ("slow", "report"), ("prepare", "report")}
    text = [output.data["text/plain"] for output in captured.outputs if "text/html" in output.data][0]
    assert text.splitlines()[0] == "the DAG to submit: 4 nodes"
    assert "report   after " in text and "fast" in text.splitlines()[-1] and "slow" in text.splitlines()[-1]
