"""The status view's poll loop (hera_magics.view.poller) over real HTTP.

Every view here polls through the real ``ArgoClient`` against the canned server
(tests/canned_server.py), which answers only with the token: scripted workflows, errors of every
kind, a server that holds its answer until the test lets it go, a server that is gone.
``FaultyClient`` adds what no HTTP answer can bring. No test measures time: waits use events or
deadline loops that only bound how long a failure takes.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
import yaml

from hera_magics.client import ArgoClient
from hera_magics.errors import AuthenticationError, ServerError
from hera_magics.status import summary, task_rows
from hera_magics.view.poller import (
    NEVER_FOUND_MESSAGE,
    NOT_FOUND_MESSAGE,
    RECONNECTING_MESSAGE,
    STRUCTURE_FIELDS,
    TABLE_FIELDS,
    TABLE_TAIL_LINES,
    mask_credentials,
    next_interval,
)
from hera_magics.view.widget import StatusView
from tests.canned_server import Answer, CannedServer
from tests.conftest import ARGO_FIXTURES
from tests.view_helpers import (
    FAILED,
    LOG_PATH,
    RUNNING,
    RUNNING_LATER,
    SUCCEEDED,
    TOKEN,
    TRACEBACK,
    WORKFLOW_PATH,
    FaultyClient,
    argo_client,
    eventually,
    new_view,
    pod_of,
    script_polls,
    serve_logs,
    workflow_gets,
)



# ---------------------------------------------------------------------------------------------
# pure functions


@pytest.mark.parametrize(
    ("current", "changed", "expected"),
    [
        (1.0, True, 1.0),
        (1.0, False, 1.5),
        (1.5, False, 2.25),
        (8.0, False, 10.0),  # capped at the maximum
        (10.0, False, 10.0),
        (10.0, True, 1.0),  # a change resets
    ],
)
def test_next_interval(current: float, changed: bool, expected: float) -> None:
    assert next_interval(current, changed=changed, base=1.0, maximum=10.0) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer …"),
        ("basic dXNlcjpwYXNz and more", "basic … and more"),
        ("token not valid", "token not valid"),
    ],
)
def test_mask_credentials(text: str, expected: str) -> None:
    assert mask_credentials(text) == expected


# ---------------------------------------------------------------------------------------------
# polling over HTTP (the real ArgoClient against the canned server)


def test_polls_ask_only_for_the_poll_fields(server: CannedServer, source: ArgoClient, views: list) -> None:
    script_polls(server, (200, RUNNING), (200, FAILED))
    serve_logs(server, {pod_of("train"): TRACEBACK})
    view = new_view(views, source)
    view.poll_once()
    view.poll_once()
    gets = workflow_gets(server)
    assert len(gets) == 2
    # The first poll also asks for the DAG as written (once: it cannot change), later ones not.
    assert [get.query.get("fields") for get in gets] == [[f"{TABLE_FIELDS},{STRUCTURE_FIELDS}"], [TABLE_FIELDS]]
    log_requests = server.requests_to("GET", LOG_PATH)
    assert [r.query.get("podName") for r in log_requests] == [[pod_of("train")]]


def test_the_kernel_thread_keeps_working_while_a_poll_is_stuck(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    gate = threading.Event()  # the server holds every GET until the test lets it go
    script_polls(server, (200, RUNNING), gate=gate)
    view = new_view(views, source)
    view.start()
    assert server.wait_for_request("GET", WORKFLOW_PATH), "the poller never asked"
    # The poll thread is blocked inside an HTTP call. This thread (the "kernel") still works:
    # it runs code, reads the view's state, renders it and presses a button.
    results = [sum(range(1000)) for _ in range(3)]
    assert results == [499500] * 3
    assert view.polling and view.update_count == 0
    assert view.phase == "Pending" and "no tasks yet" in view.html
    assert "no tasks yet" in repr(view)
    view.refresh()
    gate.set()
    assert eventually(lambda: view.phase == "Running")
    assert [row["task"] for row in view.rows] == ["prepare", "train"]


def test_transient_5xx_shows_reconnecting_then_recovers(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    script_polls(
        server,
        (200, RUNNING),
        (503, {"code": 14, "message": "upstream connect error"}),
        (200, RUNNING_LATER),
    )
    view = new_view(views, source)
    view.poll_once()
    view.poll_once()
    assert view.notice is not None and view.notice.startswith(RECONNECTING_MESSAGE)
    assert RECONNECTING_MESSAGE in view.html and RECONNECTING_MESSAGE in view.text
    assert [row["task"] for row in view.rows] == ["prepare", "train"]  # last state kept
    view.poll_once()
    assert view.notice is None and RECONNECTING_MESSAGE not in view.html
    assert [row["task"] for row in view.rows] == ["prepare", "train", "report"]


def test_polling_goes_on_through_transient_errors(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    script_polls(
        server,
        (200, RUNNING),
        (500, {"code": 13, "message": "internal"}),
        (502, "<html>bad gateway</html>"),
        (200, SUCCEEDED),
    )
    view = new_view(views, source)
    view.start()
    assert view.wait_until_stopped(10)
    assert view.phase == "Succeeded" and view.notice is None
    assert len(workflow_gets(server)) == 4


def test_an_unreachable_server_shows_reconnecting_and_polling_goes_on(views: list) -> None:
    with CannedServer() as gone:
        url = gone.url  # closed on leaving: connections to it are refused
    view = new_view(views, argo_client(url))
    view.start()
    assert eventually(lambda: view.poll_count >= 3)
    assert view.polling
    assert view.notice is not None and view.notice.startswith(RECONNECTING_MESSAGE)
    view.stop()
    assert view.wait_until_stopped(10)


def test_404_keeps_the_last_state_and_stops(server: CannedServer, source: ArgoClient, views: list) -> None:
    script_polls(
        server,
        (200, RUNNING), (404, {"code": 5, "message": 'workflows.argoproj.io "wf" not found'})
    )
    view = new_view(views, source)
    view.start()
    assert view.wait_until_stopped(10)
    assert NOT_FOUND_MESSAGE in view.notice and NOT_FOUND_MESSAGE in view.html
    assert view.phase == "Running"
    assert [row["task"] for row in view.rows] == ["prepare", "train"]
    assert len(workflow_gets(server)) == 2  # no poll after the 404
    assert not view.polling


def test_404_before_any_state(server: CannedServer, source: ArgoClient, views: list) -> None:
    script_polls(server, (404, {"code": 5, "message": "not found"}))
    view = new_view(views, source)
    view.poll_once()
    assert view.notice == NEVER_FOUND_MESSAGE


@pytest.mark.parametrize(
    ("code", "body", "words"),
    [
        (401, {"code": 16, "message": "token not valid"}, "rejected the token (401)"),
        (403, {"code": 7, "message": "workflows is forbidden"}, "permission denied (403)"),
    ],
)
def test_401_and_403_stop_with_the_reason(
    server: CannedServer, source: ArgoClient, views: list, code: int, body: dict, words: str
) -> None:
    script_polls(server, (200, RUNNING), (code, body))
    view = new_view(views, source)
    view.start()
    assert view.wait_until_stopped(10)
    assert words in view.notice and words in view.html
    assert view.phase == "Running" and len(view.rows) == 2
    assert len(workflow_gets(server)) == 2
    assert TOKEN not in view.html and TOKEN not in view.text


def test_a_final_phase_stops_polling_after_fetching_the_traceback(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    script_polls(server, (200, RUNNING), (200, RUNNING), (200, FAILED))
    serve_logs(server, {pod_of("train"): TRACEBACK})
    view = new_view(views, source)
    view.start()
    assert view.wait_until_stopped(10)
    assert view.phase == "Failed" and not view.polling
    assert len(workflow_gets(server)) == 3
    tail = view.log_tails[pod_of("train")]
    assert tail.splitlines() == TRACEBACK.splitlines()[-TABLE_TAIL_LINES:]
    assert "ValueError: &lt;bad&gt; &amp; worse" in view.html
    assert "ValueError: <bad> & worse" in view.text
    # the tail is fetched once, not at every poll
    view.poll_once()
    assert len(server.requests_to("GET", LOG_PATH)) == 1
    assert view.buttons["retry"].disabled is False
    assert view.buttons["stop"].disabled is True and view.buttons["terminate"].disabled is True


def test_real_fixture_tail_uses_the_argo_pod_name(server: CannedServer, source: ArgoClient, views: list) -> None:
    """The failed pod of a real Argo capture: its log is asked for by its v2 pod name."""
    path = ARGO_FIXTURES / "modern" / "repo-jedarden-pdftract-failed-steps-m2nvb.yaml"
    workflow = yaml.safe_load(path.read_text())
    name = workflow["metadata"]["name"]
    pod = f"{name}-run-conformance-2154854314"
    workflow_path = f"/api/v1/workflows/argo-workflows/{name}"
    script_polls(server, (200, workflow), path=workflow_path)  # the whole capture, whatever fields are asked
    serve_logs(server, {pod: "CONFORMANCE-DELIBERATE-FAIL-pdftract-da7bf8c2"}, path=f"{workflow_path}/log")
    view = StatusView(source, name, "argo-workflows", widgets=False)
    views.append(view)
    view.poll_once()
    assert view.log_tails == {pod: "CONFORMANCE-DELIBERATE-FAIL-pdftract-da7bf8c2"}
    assert "main: Error (exit code 3)" in view.html
    [log_request] = server.requests_to("GET", f"/api/v1/workflows/argo-workflows/{name}/log")
    assert log_request.query["podName"] == [pod]


def test_retry_forgets_old_tails_and_polls_again(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    script_polls(server, (200, FAILED))
    serve_logs(server, {pod_of("train"): "first failure"})
    view = new_view(views, source)
    view.poll_once()
    assert view.log_tails == {pod_of("train"): "first failure"}
    script_polls(server, (200, RUNNING), (200, SUCCEEDED))
    assert view.retry_workflow() is True
    assert len(server.requests_to("PUT", f"{WORKFLOW_PATH}/retry")) == 1
    assert view.wait_until_stopped(10)
    assert view.phase == "Succeeded" and view.log_tails == {}


def test_a_refused_action_says_why(server: CannedServer, source: ArgoClient, views: list) -> None:
    script_polls(server, (200, SUCCEEDED))
    server.script(
        "PUT",
        f"{WORKFLOW_PATH}/stop",
        Answer(500, {"code": 13, "message": 'cannot shutdown a completed workflow: workflow: "wf"'}),
    )
    view = new_view(views, source)
    view.poll_once()
    assert view.stop_workflow() is False
    assert view.notice is not None and view.notice.startswith("stop failed:")
    assert "cannot shutdown a completed workflow" in view.html
    assert not view.polling


def test_refresh_during_a_poll_that_sees_the_end_polls_once_more(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    """A refresh pressed while a poll is in flight is not lost if that poll ends polling."""
    gate = threading.Event()
    script_polls(server, (200, FAILED), gate=gate)
    view = new_view(views, source)
    view.start()
    assert server.wait_for_request("GET", WORKFLOW_PATH)
    view.refresh()  # e.g. right after a retry: the in-flight answer may predate it
    gate.set()
    assert view.wait_until_stopped(10)
    assert len(workflow_gets(server)) == 2


# ---------------------------------------------------------------------------------------------
# back-off, the end of a run, and failures no HTTP answer brings


def test_back_off_while_nothing_changes_and_reset_on_change(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    script_polls(
        server, *[(200, workflow) for workflow in
                  (RUNNING, RUNNING, RUNNING, RUNNING, RUNNING_LATER, RUNNING_LATER, SUCCEEDED)]
    )
    view = new_view(views, source, poll_interval=1.0, max_interval=3.0)
    waits: list[float] = []
    view.poller._sleep = waits.append  # record the waits instead of sleeping
    view.start()
    assert view.wait_until_stopped(10)
    # first poll changes (1.0); three unchanged (1.5, 2.25, 3.0 capped); a change (1.0); same (1.5)
    assert waits == [1.0, 1.5, 2.25, 3.0, 1.0, 1.5]
    assert view.phase == "Succeeded"


def test_on_final_state_is_called_at_the_end_and_its_server_errors_fail_the_poll(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    script_polls(server, (200, RUNNING), (200, SUCCEEDED))
    seen: list[tuple[str, str]] = []

    def keep(workflow: dict[str, Any]) -> None:
        seen.append((workflow["status"]["phase"], threading.current_thread().name))
        if len(seen) == 1:
            raise ServerError("the Argo server failed (HTTP 503) to read workflow wf")

    view = new_view(views, source, on_final_state=keep)
    view.poll_once()
    assert seen == []  # not final yet
    view.poll_once()
    assert [phase for phase, _ in seen] == ["Succeeded"]
    assert view.notice is not None and view.notice.startswith(RECONNECTING_MESSAGE)
    assert view.phase == "Running"  # the failed poll changed nothing else
    view.start()
    assert view.wait_until_stopped(10)
    assert [phase for phase, _ in seen] == ["Succeeded", "Succeeded"]
    assert seen[-1][1].startswith("hera-magics-status-")  # called from the poll thread
    assert view.phase == "Succeeded" and view.notice is None


def test_an_unexpected_error_stops_polling_and_shows_it(server: CannedServer, views: list) -> None:
    view = new_view(views, FaultyClient(server.url, {2: RuntimeError("boom")}))  # the first poll is RUNNING
    view.start()
    assert view.wait_until_stopped(10)
    assert "unexpected RuntimeError: boom" in view.html
    assert [row["task"] for row in view.rows] == ["prepare", "train"]


def test_a_token_in_an_error_message_is_never_shown(server: CannedServer, views: list) -> None:
    # The client never puts the token in its messages; the view masks one that arrives anyway.
    error = AuthenticationError(f"401 from proxy, sent Authorization: Bearer {TOKEN}")
    view = new_view(views, FaultyClient(server.url, {1: error}))
    view.poll_once()
    assert TOKEN not in view.html and TOKEN not in view.text and TOKEN not in repr(view)
    assert "Bearer …" in view.html


def test_the_poll_asks_the_source_for_the_poll_fields_only(
    server: CannedServer, source: ArgoClient, views: list
) -> None:
    view = new_view(views, source)
    view.poll_once()
    view.poll_once()
    # the view's workflow (its name, in its namespace), with the poll fields and nothing else;
    # the first poll also asks once for the DAG as written
    assert [(r.method, r.path, r.query) for r in server.requests] == [
        ("GET", WORKFLOW_PATH, {"fields": [f"{TABLE_FIELDS},{STRUCTURE_FIELDS}"]}),
        ("GET", WORKFLOW_PATH, {"fields": [TABLE_FIELDS]}),
    ]


def test_poll_fields_hold_what_the_rows_need() -> None:
    """Filtering the fixture-shaped JSON by TABLE_FIELDS must keep the rows and summary intact."""

    def keep(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for key, value in data.items():
            path = f"{prefix}{key}"
            wanted = TABLE_FIELDS.split(",")
            if any(path.startswith(field) or field.startswith(path + ".") for field in wanted):
                if isinstance(value, dict) and not any(path.startswith(f) for f in wanted):
                    kept[key] = keep(value, path + ".")
                else:
                    kept[key] = value
        return kept

    full = copy.deepcopy(FAILED)
    full["spec"] = {"templates": [{"name": "x"}]}
    full["status"]["resourcesDuration"] = {"cpu": 1}
    filtered = keep(full)
    assert "spec" not in filtered and "resourcesDuration" not in filtered["status"]
    assert task_rows(filtered) == task_rows(full)
    assert summary(filtered) == summary(full)


def test_stop_and_restart(source: ArgoClient, views: list) -> None:
    view = new_view(views, source)
    view.start()
    assert eventually(lambda: view.poll_count >= 2)
    view.stop()
    assert view.wait_until_stopped(10) and not view.polling
    polls = view.poll_count
    view.start()
    assert eventually(lambda: view.poll_count > polls)
    view.stop()
    assert view.wait_until_stopped(10)
