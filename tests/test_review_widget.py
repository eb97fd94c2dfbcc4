"""Review fix: a status display that ends showing the end, also without a widget front end.

Front ends without widgets (nbconvert, papermill, nbclient, plain IPython) keep what a display
first showed; the view re-sends its display when its poller stops and when ``wait()`` returns.
Proved in a notebook executed by nbclient in a kernel of this venv (what papermill does) and in
a plain ``InteractiveShell``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

from hera_magics.local import stop_engine  # noqa: E402

from tests.product.test_demo_notebooks import WIDGET_MIME, cell_outputs, execute  # noqa: E402

CELLS = [
    "%load_ext hera_magics",
    "%argo_env --local --workers 2",
    '%%argo_task\ndef hello():\n    print("hi")\n    return 41 + 1',
    "run = %argo_dag --wait hello",
    "later = %argo_dag hello",
    "later.wait().phase",
]


def status_displays(outputs: list[Any]) -> list[Any]:
    return [output for output in outputs if output.output_type == "display_data" and WIDGET_MIME in output.data]


def assert_shows_the_end(output: Any) -> None:
    text = output.data["text/plain"]
    lines = text.splitlines()
    assert "Succeeded  progress 1/1" in lines[0], text
    assert any(line.startswith("hello ") and " Succeeded " in f"{line} " for line in lines), text
    assert "Pending" not in text and "no tasks yet" not in text
    assert ">Succeeded</span>" in output.data["text/html"] and "no tasks yet" not in output.data["text/html"]


def test_saved_notebook_shows_the_final_table(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    path = tmp_path / "review.ipynb"
    nbformat.write(notebook, path)
    state = tmp_path / "state"
    try:
        executed = execute(path, state, tmp_path)
    finally:
        stop_engine(state)
    errors = [output for cell in executed.cells for output in cell.outputs if output.output_type == "error"]
    assert errors == []
    for source in ("run = %argo_dag --wait", "later = %argo_dag"):
        shown = status_displays(cell_outputs(executed, source))
        assert len(shown) == 1, f"{source}: one status display, re-sent in place, not a second one"
        assert_shows_the_end(shown[0])
    assert "'Succeeded'" in cell_outputs(executed, "later.wait()")[0].data["text/plain"]


def test_plain_ipython_prints_the_end_after_wait(local_ip, capsys) -> None:
    # The task outlasts building the view (importing ipywidgets can take a second on a busy
    # machine), so the first display shows the run before its end.
    local_ip.run_cell_magic("argo_task", "", 'def hello():\n    import time\n    time.sleep(2)\n    return 1\n')
    capsys.readouterr()
    run = local_ip.run_line_magic("argo_dag", "--wait hello")
    run.widget.wait_until_stopped(60)
    lines = capsys.readouterr().out.splitlines()
    headers = [line for line in lines if line.startswith(run.name)]
    # the table as displayed first, then the end, printed once (the poller stopping and
    # wait() returning both bring it; a terminal gets an unchanged table only once)
    assert len(headers) == 2 and "Succeeded  progress 1/1" in headers[-1], lines
    assert lines[-1].startswith("hello ") and " Succeeded " in lines[-1]


def test_plain_ipython_prints_the_end_when_the_poller_stops(local_ip, capsys) -> None:
    local_ip.run_cell_magic("argo_task", "", 'def hello():\n    return 1\n')
    capsys.readouterr()
    run = local_ip.run_line_magic("argo_dag", "hello")
    shown = capsys.readouterr().out
    deadline = time.monotonic() + 60
    while "Succeeded  progress 1/1" not in shown and time.monotonic() < deadline:
        time.sleep(0.02)
        shown += capsys.readouterr().out  # printed by the poll thread when it stops
    assert "Succeeded  progress 1/1" in shown
    assert run.widget.wait_until_stopped(60)
