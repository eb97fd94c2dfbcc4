"""A notebook run by nbclient (a real kernel, the local engine) keeps the final graph and table.

Front ends without a kernel (nbconvert, GitHub, VS Code opening a saved notebook) show an
output's ``text/html``; the view sends its display again when polling ends, so that HTML is
the end of the run: the graph's nodes Succeeded/Failed, the table, the traceback. The HTML
export of nbconvert carries the same SVG.
"""

from __future__ import annotations

import pytest

from hera_magics.view.render import PHASE_COLOURS

from .rendered import drawn_edges, drawn_nodes, table_rows

pytestmark = pytest.mark.slow

CELLS = [
    "%load_ext hera_magics",
    "%argo_env --local",
    "%%argo_task\ndef load() -> list:\n    return [3, 1, 0, 2]\n",
    "%%argo_task\ndef ratios(values: list) -> list:\n    return [values[0] / value for value in values]\n",
    "%%argo_task\ndef report(values: list):\n    print(values)\n",
    "run = %argo_dag ratios(values=load) >> report(values=ratios)",
    "from hera_magics import WorkflowFailed\ntry:\n    run.wait(timeout=120)\nexcept WorkflowFailed:\n    print('failed as planned')",
]


def test_the_saved_notebook_shows_the_final_graph_and_table(tmp_path, monkeypatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nbconvert = pytest.importorskip("nbconvert")
    from hera_magics.local import stop_engine

    engine = tmp_path / "engine"
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(engine))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    try:
        nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        stop_engine(engine)
    display = [output for output in notebook.cells[5].outputs if "text/html" in output.get("data", {})]
    assert len(display) == 1
    html = display[0]["data"]["text/html"]
    nodes = drawn_nodes(html)
    assert {key: node.phase for key, node in nodes.items()} == {"load": "Succeeded", "ratios": "Failed",
                                                                "report": "Omitted"}
    assert nodes["ratios"].fill == PHASE_COLOURS["Failed"]
    assert drawn_edges(html) == {("load", "ratios"), ("ratios", "report")}
    assert [cells[:2] for _, cells in table_rows(html)][:3] == [["load", "Succeeded"], ["ratios", "Failed"],
                                                                 ["report", "Omitted"]]
    assert "ZeroDivisionError: division by zero" in html
    assert "ratios" in display[0]["data"]["text/plain"] and "Failed" in display[0]["data"]["text/plain"]

    # With the widget state saved (nbclient and papermill save it), nbconvert's HTML export
    # shows the widget from that state: the live page's html trait holds the final page.
    states = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    pages = [model["state"]["html"] for model in states.values() if model["model_name"] == "AnyModel"]
    assert len(pages) == 1 and drawn_nodes(pages[0])["ratios"].phase == "Failed"
    # Without it (JupyterLab does not save widget state unless asked), the export shows the
    # text/html: the SVG itself.
    del notebook.metadata["widgets"]
    exported, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    assert {key: node.phase for key, node in drawn_nodes(exported).items()} == {
        "load": "Succeeded", "ratios": "Failed", "report": "Omitted"}
