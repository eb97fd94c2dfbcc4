"""What reaches the front end: nothing when nothing changed, only the changed parts otherwise.

A ``StatusView`` polls a source that answers with workflow objects shaped as Argo's (the
controller's rules, :mod:`tests.view.argo_shapes`); the comm messages its widgets send are
recorded and their sizes compared.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Iterator

import pytest

from hera_magics.view.page import status_page
from hera_magics.view.patches import Page, PageBuilder
from hera_magics.view.render import element
from hera_magics.view.widget import StatusView

from .argo_shapes import Shape, sweep
from .rendered import drawn_nodes

pytest.importorskip("anywidget")

TRACEBACK = 'Traceback (most recent call last):\n  File "cell", line 3, in ratios\nZeroDivisionError: division by zero'


class ScriptedSource:
    """Answers each poll with the next workflow of a script (the last one repeats)."""

    def __init__(self, *workflows: dict[str, Any], logs: dict[str, str] | None = None) -> None:
        self.script = [json.dumps(workflow) for workflow in workflows]  # a fresh object per answer, as over HTTP
        self.logs = logs or {}
        self.log_requests: list[str] = []

    def get_workflow(self, name: str, *, fields: str | None = None, namespace: str | None = None) -> dict[str, Any]:
        answer = self.script[0] if len(self.script) == 1 else self.script.pop(0)
        return json.loads(answer)

    def workflow_logs(self, name: str, *, pod_name: str | None = None, **_: Any) -> Iterator[dict[str, str]]:
        self.log_requests.append(str(pod_name))
        for line in self.logs.get(str(pod_name), "").splitlines():
            yield {"content": line}


def record_messages(view: StatusView) -> list[dict[str, Any]]:
    """Every comm message the live page widget sends from now on."""
    sent: list[dict[str, Any]] = []
    widget = view.html_widget
    assert widget is not None
    original = widget.comm.send

    def record(*args: Any, **kwargs: Any) -> Any:
        sent.append(kwargs.get("data", args[0] if args else None))
        return original(*args, **kwargs)

    widget.comm.send = record
    return sent


def size(messages: list[dict[str, Any]]) -> int:
    return sum(len(json.dumps(message)) for message in messages)


def steps(done: list[int]) -> list[dict[str, Any]]:
    return [sweep(width=200, done=count, failed=0) for count in done]


def test_page_changes_name_only_the_parts_that_differ() -> None:
    builder = PageBuilder()
    rows = "".join(builder.part(f"row:{name}", "tr", element("td", name)) for name in "ab")
    before = builder.page(element("table", builder.part("table", "tbody", rows)))
    builder = PageBuilder()
    rows = "".join(builder.part(f"row:{name}", "tr", element("td", name.upper() if name == "b" else name))
                   for name in "ab")
    after = builder.page(element("table", builder.part("table", "tbody", rows)))
    assert after.changes(before) == {"row:b": '<tr data-hm-part="row:b"><td>B</td></tr>'}
    assert after.changes(after) == {}
    assert after.changes(None) is None and Page("<p></p>").changes(after) is None
    assert after.html == '<table><tbody data-hm-part="table"><tr data-hm-part="row:a"><td>a</td></tr>' \
                         '<tr data-hm-part="row:b"><td>B</td></tr></tbody></table>'


def test_a_poll_that_changes_nothing_sends_nothing_and_a_change_sends_its_parts_only() -> None:
    first, second = steps([100, 101])
    view = StatusView(ScriptedSource(first, first, first, second), "sweep", "argo", widgets=True)
    try:
        messages = record_messages(view)
        assert view.poll_once() is True  # the whole page: the html trait
        assert len(messages) == 1 and messages[0]["method"] == "update" and "html" in messages[0]["state"]
        whole = size(messages)
        assert view.poll_once() is False and view.poll_once() is False
        assert len(messages) == 1  # nothing changed: nothing sent
        assert view.poll_once() is True
        assert len(messages) == 2
        patch = messages[1]["content"]
        assert patch["type"] == "patch"
        changed = set(patch["parts"])
        # one more item Succeeded, one more started: the map's node, row, bar and progress and
        # the two items' rows — never the whole SVG or table
        assert {"node:train", "row:train", "bar:train", "progress", "progress:train", "header"} <= changed
        assert {"graph", "table", "timeline"}.isdisjoint(changed)
        assert size(messages[1:]) * 5 < whole
        # the patched front end holds what a fresh render would show
        shown = view.page
        assert shown.html == status_page_of(view).html
    finally:
        view.close()


def status_page_of(view: StatusView) -> Page:
    state = view.poller.state()
    return status_page(state.summary, view.graph, [dict(entry) for entry in state.entries], log_tails=state.log_tails)


def test_a_late_view_gets_the_whole_page_and_the_end_is_kept_in_the_widget_state() -> None:
    first, second = steps([100, 101])
    view = StatusView(ScriptedSource(first, second), "sweep", "argo", widgets=True)
    try:
        view.poll_once()
        view.poll_once()  # a patch: the html trait is behind
        assert view.html_widget is not None and view.html_widget.html != view.html
        messages = record_messages(view)
        view.html_widget._on_message(view.html_widget, {"event": "hello"}, [])
        assert messages and messages[-1]["content"] == {"type": "full", "html": view.html}
        view.update_displays()  # what the poller does when it stops
        assert view.html_widget.html == view.html
    finally:
        view.close()


def test_clicking_a_failed_node_shows_its_traceback_and_a_map_shows_its_items() -> None:
    shape = Shape("ratios", phase="Failed")
    shape.task("load-data", "Succeeded")
    shape.task("compute-ratios", "Failed", after=["load-data"], message="main: Error (exit code 1)")
    shape.task("report", "Omitted", after=["compute-ratios"])
    shape.map("train", [(0.1, "Succeeded"), (0.01, "Failed")], after=["load-data"])
    workflow = shape.build()
    pods = {row_pod(workflow, name): TRACEBACK for name in ("compute-ratios", "train(1:0.01)")}
    source = ScriptedSource(workflow, logs=pods)
    view = StatusView(source, "ratios", "argo", widgets=True)
    try:
        view.poll_once()
        assert view.html_widget is not None
        view.html_widget._on_message(view.html_widget, {"event": "select", "node": "compute-ratios"}, [])
        # the click is handled in a short thread (the server may be slow): wait for the panel
        assert wait_until(lambda: view.log_widget is not None and "ZeroDivisionError" in view.log_widget.value)
        assert "compute-ratios · Failed · main: Error (exit code 1)" in view.log_html
        assert view.task_select is not None and view.task_select.value == "compute-ratios"
        detail = view.select("train")
        assert "train ×2 · Failed · 1/2 · 1 failed" in detail and "train(1:0.01)" in detail
        assert "ZeroDivisionError" in detail
        assert "not started yet" in view.select("nothing-such")
    finally:
        view.close()


def row_pod(workflow: dict[str, Any], display: str) -> str:
    from hera_magics.status import task_rows

    return next(row["pod_name"] for row in task_rows(workflow) if row["task"] == display)


def wait_until(condition: Any, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def test_the_graph_turns_succeeded_node_by_node() -> None:
    shape = Shape("chain")
    shape.task("a", "Running")
    running = shape.build()
    running["spec"]["templates"][0]["dag"]["tasks"].append({"name": "b", "template": "b", "depends": "a"})
    done = copy.deepcopy(running)
    for node in done["status"]["nodes"].values():
        if node["displayName"] == "a":
            node.update(phase="Succeeded", finishedAt="2024-05-01T10:00:05Z")
    view = StatusView(ScriptedSource(running, done), "chain", "argo", widgets=False)
    view.poll_once()
    assert {key: node.phase for key, node in drawn_nodes(view.html).items()} == {"a": "Running", "b": "Pending"}
    view.poll_once()
    assert {key: node.phase for key, node in drawn_nodes(view.html).items()} == {"a": "Succeeded", "b": "Pending"}
