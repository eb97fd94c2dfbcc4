"""The status view as a front end sees it (hera_magics.view.widget): what reaches the front end and
when, the buttons and the log panel, a real kernel that keeps running cells while the view polls,
and front ends without widgets (a saved notebook, plain IPython) that still see the end.

The view polls through the real ``ArgoClient`` against the canned server (tests/view/conftest.py),
or the real local engine through the magics.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest

from hera_magics.argo import OMITTED_MESSAGE
from hera_magics.client import ArgoClient
from hera_magics.local import stop_engine
from hera_magics.view.poller import EMPTY_LOG_MESSAGE
from tests.canned_server import Answer, CannedServer, Recorded
from tests.notebook_helpers import WIDGET_MIME, cell_outputs, execute
from tests.view_helpers import (
    FAILED,
    RUNNING,
    RUNNING_LATER,
    TOKEN,
    WORKFLOW_PATH,
    eventually,
    new_view,
    pod_of,
    script_polls,
    serve_logs,
    widget_messages,
)


def test_nothing_is_sent_to_the_front_end_while_nothing_changes(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    script_polls(server, (200, RUNNING), (200, RUNNING), (200, RUNNING), (200, RUNNING_LATER))
    view = new_view(views, source)
    assert view.html_widget is not None
    messages = widget_messages(view)

    assert view.poll_once() is True
    assert view.update_count == 1
    sent_after_first = len(messages)
    assert sent_after_first >= 1

    assert view.poll_once() is False
    assert view.poll_once() is False
    assert (view.update_count, len(messages)) == (1, sent_after_first)

    assert view.poll_once() is True
    assert view.update_count == 2 and len(messages) > sent_after_first
    assert [row["task"] for row in view.rows] == ["prepare", "train", "report"]
    assert view.task_select is not None and view.task_select.options == (
        "prepare",
        "train",
        "report",
    )


def test_buttons_act_on_the_workflow(server: CannedServer, source: ArgoClient, views: list) -> None:
    script_polls(server, (200, RUNNING))
    view = new_view(views, source)
    view.poll_once()
    for verb in ("stop", "terminate"):
        view.buttons[verb].click()  # runs in a background thread
        assert eventually(lambda: len(server.requests_to("PUT", f"{WORKFLOW_PATH}/{verb}")) == 1)
        assert eventually(lambda: view.notice == f"{verb} requested")
    view.stop()
    assert view.wait_until_stopped(10)


def test_any_task_log_on_demand(server: CannedServer, source: ArgoClient, views: list) -> None:
    script_polls(server, (200, FAILED))
    serve_logs(server, {pod_of("prepare"): "line 1\n<line 2>"})
    view = new_view(views, source)
    view.poll_once()
    assert view.task_select is not None
    view.task_select.value = "prepare"
    view.buttons["logs"].click()
    assert eventually(lambda: "&lt;line 2&gt;" in view.log_html)
    assert view.log_widget is not None and view.log_widget.value == view.log_html
    assert view.show_log("report").startswith(f"this task ran no pod ({OMITTED_MESSAGE}")
    assert view.show_log("train") == EMPTY_LOG_MESSAGE  # this fake has no log for it
    assert view.show_log("nope") == "no task named 'nope'"


def test_without_widgets_the_view_is_an_html_and_text_table(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    script_polls(server, (200, FAILED))
    serve_logs(server, {pod_of("train"): "log line"})
    view = new_view(views, source, widgets=False)
    view.poll_once()
    assert view.widget is None and view.update_count == 1
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/plain"] == repr(view) == view.text
    assert bundle["text/plain"].splitlines()[1].split() == [
        "TASK", "PHASE", "STARTED", "DURATION", "RETRIES", "MESSAGE"
    ]
    assert view._repr_html_() == view.html and "<table" in bundle["text/html"]
    assert "log line" in view.text  # the failed task's tail


def test_with_widgets_the_bundle_carries_the_view_and_the_table(source: ArgoClient, views: list) -> None:
    view = new_view(views, source)
    view.poll_once()
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == view.text  # the table, not "VBox(...)"
    assert bundle["text/html"].startswith(view.html)


# ---------------------------------------------------------------------------------------------
# in a real kernel: cells run while polling, updates reach the front end


KERNEL_WORKFLOW = {"metadata": {"name": "wf"}, "status": {"phase": "Succeeded", "nodes": {"wf": {
    "id": "wf", "name": "wf", "displayName": "wf", "type": "Pod", "templateName": "t", "phase": "Succeeded"}}}}

KERNEL_CELLS = [
    """\
import urllib.request
from hera_magics.client import ArgoClient
from hera_magics.config import ArgoConfig, Secret
from hera_magics.view.widget import StatusView

client = ArgoClient(ArgoConfig(host={url!r}, token=Secret({token!r}), namespace="argo"), timeout=60, retries=0)
view = StatusView(client, "wf", "argo", poll_interval=0.01, max_interval=0.05)
view.start()
view""",
    "print('kernel alive while polling:', view.polling, view.update_count)",
    # the server answers the poll only when this cell says so
    "urllib.request.urlopen(urllib.request.Request({url!r} + 'release', method='PUT', "
    "headers={{'Authorization': 'Bearer ' + {token!r}}}), timeout=60).close()\n"
    "print('stopped:', view.wait_until_stopped(30), view.phase, view.update_count)",
]


@pytest.mark.slow
def test_in_a_real_kernel_cells_run_while_polling_and_updates_reach_the_front_end(server: CannedServer) -> None:
    """A real ipykernel: the second cell runs while the poll is stuck in HTTP; the update arrives."""
    gate = threading.Event()
    script_polls(server, (200, KERNEL_WORKFLOW), gate=gate)

    def release(_request: Recorded) -> Answer:
        gate.set()
        return Answer(200, {})

    server.script("PUT", "/release", release)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source.format(url=server.url, token=TOKEN)) for source in KERNEL_CELLS]
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    display, alive, stopped = (cell.outputs for cell in notebook.cells)
    data = display[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "no tasks yet" in data["text/plain"] and "<table" in data["text/html"]
    assert alive[0]["text"] == "kernel alive while polling: True 0\n"
    assert stopped[0]["text"] == "stopped: True Succeeded 1\n"
    # The value the poll thread assigned reached the front end's copy of the widget state.
    states = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    values = [
        model["state"].get("html", "")
        for model in states.values()
        if model["model_name"] == "AnyModel"
    ]
    assert any("Succeeded" in value and "hera-magics-status" in value for value in values)


# ---------------------------------------------------------------------------------------------
# front ends without widgets see the end: a saved notebook, plain IPython


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
