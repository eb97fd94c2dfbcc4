"""hera_magics.view: renderers as tables of cases, the poller against a real HTTP server.

The HTTP tests run a small Argo-shaped server (``http.server`` in a thread of this process) and
reach it through a real HTTP client: a minimal one written here (the methods of
``WorkflowSource``), and ``hera_magics.client.ArgoClient``. No test
measures time: waits use events or deadline loops that only bound how long a failure takes.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml

from hera_magics.errors import (
    ArgoServerError,
    AuthenticationError,
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    UnexpectedResponseError,
)
from hera_magics.argo import OMITTED_MESSAGE, fnv32a
from hera_magics.status import summary, task_rows
from hera_magics.view.poller import (
    EMPTY_LOG_MESSAGE,
    NEVER_FOUND_MESSAGE,
    NOT_FOUND_MESSAGE,
    RECONNECTING_MESSAGE,
    STRUCTURE_FIELDS,
    TABLE_FIELDS,
    TABLE_TAIL_LINES,
    mask_credentials,
    next_interval,
)
from hera_magics.view.render import format_duration, render_html, render_text
from hera_magics.view.widget import StatusView

ipywidgets = pytest.importorskip("ipywidgets")

NAMESPACE = "argo"
NAME = "wf"
WORKFLOW_PATH = f"/api/v1/workflows/{NAMESPACE}/{NAME}"
LOG_PATH = f"{WORKFLOW_PATH}/log"
TOKEN = "s3cr3t-token-value-0123456789"
FIXTURES = Path(__file__).absolute().parents[2] / "shared" / "argo-fixtures"


def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Wait until ``predicate()`` holds; the deadline only bounds how long a failure takes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


# ---------------------------------------------------------------------------------------------
# Workflow JSON in the server's shape (strings for times, null while running).


def make_workflow(
    phase: str,
    tasks: list[tuple[str, str, str]],
    *,
    message: str = "",
    name: str = NAME,
) -> dict[str, Any]:
    """A DAG workflow whose tasks (name, phase, message) form a chain, as Argo reports it."""
    nodes: dict[str, Any] = {}
    ids = [f"{name}-{fnv32a(f'{name}.{task}')}" for task, _, _ in tasks]
    running = phase not in ("Succeeded", "Failed", "Error")
    nodes[name] = {
        "id": name,
        "name": name,
        "displayName": name,
        "type": "DAG",
        "templateName": "main",
        "phase": phase,
        "startedAt": "2024-05-01T10:00:00Z",
        "finishedAt": None if running else "2024-05-01T10:05:00Z",
        "children": ids[:1],
    }
    for index, (task, task_phase, task_message) in enumerate(tasks):
        node: dict[str, Any] = {
            "id": ids[index],
            "name": f"{name}.{task}",
            "displayName": task,
            "type": "Skipped" if task_phase == "Omitted" else "Pod",
            "templateName": task,
            "boundaryID": name,
            "phase": task_phase,
            "startedAt": f"2024-05-01T10:0{index}:00Z",
            "finishedAt": None if task_phase == "Running" else f"2024-05-01T10:0{index}:30Z",
        }
        if task_message:
            node["message"] = task_message
        if index + 1 < len(tasks):
            node["children"] = [ids[index + 1]]
        nodes[ids[index]] = node
    status: dict[str, Any] = {
        "phase": phase,
        "startedAt": "2024-05-01T10:00:00Z",
        "finishedAt": None if running else "2024-05-01T10:05:00Z",
        "nodes": nodes,
    }
    if message:
        status["message"] = message
    return {
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "annotations": {"workflows.argoproj.io/pod-name-format": "v2"},
        },
        "status": status,
    }


def pod_of(task: str, name: str = NAME) -> str:
    """The v2 pod name of a top-level task whose template has the task's name."""
    return f"{name}-{task}-{fnv32a(f'{name}.{task}')}"


RUNNING = make_workflow("Running", [("prepare", "Succeeded", ""), ("train", "Running", "")])
RUNNING_LATER = make_workflow(
    "Running", [("prepare", "Succeeded", ""), ("train", "Succeeded", ""), ("report", "Running", "")]
)
FAILED = make_workflow(
    "Failed",
    [
        ("prepare", "Succeeded", ""),
        ("train", "Failed", "main: Error (exit code 1)"),
        ("report", "Omitted", "omitted: depends condition not met"),
    ],
)
SUCCEEDED = make_workflow("Succeeded", [("prepare", "Succeeded", ""), ("train", "Succeeded", "")])

TRACEBACK = "\n".join(
    ["step %d" % number for number in range(60)]
    + ["Traceback (most recent call last):", '  File "<cell>", line 3', "ValueError: <bad> & worse"]
)


# ---------------------------------------------------------------------------------------------
# An Argo-shaped HTTP server in this process.


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class FakeArgo:
    """Answers the few routes the view uses, from scripts the test sets.

    ``script(*answers)`` sets the answers of GET workflow in order, the last one repeating; an
    answer is ``(status, body)``. ``gate`` cleared makes GET workflow wait until it is set again
    (a slow server), and ``arrived`` is set when such a request came in.
    """

    def __init__(self) -> None:
        self.answers: deque[tuple[int, Any]] = deque([(200, RUNNING)])
        self.action_answers: dict[str, tuple[int, Any]] = {}
        self.logs: dict[str, str] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = threading.Event()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.http.daemon_threads = True
        self.thread = threading.Thread(
            target=self.http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/"

    def script(self, *answers: tuple[int, Any]) -> None:
        with self.lock:
            self.answers = deque(answers)

    def requests_to(self, method: str, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def _next_answer(self) -> tuple[int, Any]:
        with self.lock:
            return self.answers.popleft() if len(self.answers) > 1 else self.answers[0]

    def answer(self, request: Request) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"code": 16, "message": "token not valid"}
        if request.method == "GET" and request.path == WORKFLOW_PATH:
            self.arrived.set()
            self.gate.wait(30)
            return self._next_answer()
        if request.method == "GET" and request.path.endswith("/log"):  # any workflow's logs
            pod = (request.query.get("podName") or [""])[0]
            lines = self.logs.get(pod, "").splitlines()
            body = "".join(
                json.dumps({"result": {"content": line, "podName": pod}}) + "\n" for line in lines
            )
            return 200, body
        action = request.path.rsplit("/", 1)[-1]
        if request.method == "PUT" and request.path == f"{WORKFLOW_PATH}/{action}":
            return self.action_answers.get(action, (200, RUNNING))
        return 501, {"code": 12, "message": "Not Implemented"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                request = Request(
                    self.command,
                    split.path,
                    parse_qs(split.query, keep_blank_values=True),
                    dict(self.headers.items()),
                )
                code, body = fake.answer(request)
                payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = handle_one

        return Handler

    def __enter__(self) -> "FakeArgo":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.gate.set()
        self.http.shutdown()
        self.http.server_close()


class HttpSource:
    """A minimal HTTP client with the methods of WorkflowSource and our error types."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, path: str, params: dict[str, str] | None = None) -> Any:
        try:
            response = requests.request(
                method,
                self.base_url + path,
                params=params,
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=60,
            )
        except requests.ConnectionError as error:
            raise ConnectionFailedError(f"cannot reach {self.base_url}: {error}") from error
        if response.status_code >= 400:
            try:
                message = response.json().get("message", "")
            except ValueError:  # an HTML page from a proxy
                if response.status_code < 500:
                    raise UnexpectedResponseError(response.text[:100]) from None
                message = response.text[:100]
            fallback = ServerError if response.status_code >= 500 else ArgoServerError
            kind = {
                401: AuthenticationError,
                403: PermissionDeniedError,
                404: NotFoundError,
                409: ConflictError,
            }.get(response.status_code, fallback)
            raise kind(f"{response.status_code}: {message}", status=response.status_code)
        return response

    def get_workflow(
        self, name: str, *, fields: str | None = None, namespace: str | None = None
    ) -> dict[str, Any]:
        params = {"fields": fields} if fields else None
        return self._call("GET", f"/api/v1/workflows/{namespace}/{name}", params).json()

    def workflow_logs(
        self,
        name: str,
        *,
        pod_name: str | None = None,
        follow: bool = False,
        grep: str | None = None,
        namespace: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        params = {"logOptions.container": "main"}
        if pod_name:
            params["podName"] = pod_name
        response = self._call("GET", f"/api/v1/workflows/{namespace}/{name}/log", params)
        for line in response.text.splitlines():
            if line.strip():
                yield json.loads(line)["result"]

    def _action(self, verb: str, name: str, namespace: str | None) -> dict[str, Any]:
        return self._call("PUT", f"/api/v1/workflows/{namespace}/{name}/{verb}").json()

    def stop_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self._action("stop", name, namespace)

    def terminate_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self._action("terminate", name, namespace)

    def retry_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self._action("retry", name, namespace)


def argo_client(url: str) -> Any:
    """The real client."""
    from hera_magics.client import ArgoClient
    from hera_magics.config import ArgoConfig, Secret

    config = ArgoConfig(host=url, token=Secret(TOKEN), namespace=NAMESPACE)
    # no client-side retries: each scripted answer must reach the view
    return ArgoClient(config, timeout=30.0, retries=0)


@pytest.fixture
def server() -> Iterator[FakeArgo]:
    with FakeArgo() as fake:
        yield fake


@pytest.fixture(params=["minimal-http-client", "ArgoClient"])
def source(request: pytest.FixtureRequest, server: FakeArgo) -> Any:
    if request.param == "ArgoClient":
        return argo_client(server.url)
    return HttpSource(server.url)


@pytest.fixture
def views() -> Iterator[list[StatusView]]:
    """Views made by a test; their pollers are stopped afterwards."""
    made: list[StatusView] = []
    yield made
    for view in made:
        view.stop()
        view.wait_until_stopped(10)


def new_view(views: list[StatusView], source: Any, **options: Any) -> StatusView:
    options.setdefault("poll_interval", 0.01)
    options.setdefault("max_interval", 0.05)
    view = StatusView(source, NAME, NAMESPACE, **options)
    views.append(view)
    return view


def workflow_gets(server: FakeArgo) -> list[Request]:
    return server.requests_to("GET", WORKFLOW_PATH)


def widget_messages(view: StatusView) -> list[Any]:
    """Record every comm message the view's widgets send to the front end from now on."""
    sent: list[Any] = []
    stack: list[Any] = [view.widget]
    while stack:
        item = stack.pop()
        stack.extend(getattr(item, "children", ()))
        original = item.comm.send

        def record(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            sent.append(kwargs.get("data", args[0] if args else None))
            return _original(*args, **kwargs)

        item.comm.send = record
    return sent


# ---------------------------------------------------------------------------------------------
# Pure functions.


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
    ("seconds", "expected"),
    [
        (None, ""),
        (0.0, "0s"),
        (4.4, "4s"),
        (59.6, "1m 00s"),
        (90.0, "1m 30s"),
        (3600.0, "1h 00m"),
        (7380.0, "2h 03m"),
        (93600.0, "1d 02h"),
    ],
)
def test_format_duration(seconds: float | None, expected: str) -> None:
    assert format_duration(seconds) == expected


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


def test_render_text_is_a_table_of_the_latest_state() -> None:
    text = render_text(summary(FAILED), task_rows(FAILED), log_tails={pod_of("train"): "boom"})
    assert text.splitlines() == [
        "wf  (argo)  Failed  progress 1/2  started 2024-05-01 10:00:00 UTC  elapsed 5m 00s",
        "TASK     PHASE      STARTED   DURATION  RETRIES  MESSAGE",
        "prepare  Succeeded  10:00:00  30s",
        "train    Failed     10:01:00  30s                main: Error (exit code 1)",
        f"    last lines of the log of train (pod {pod_of('train')}):",
        "    | boom",
        "report   Omitted                                 omitted: depends condition not met",
    ]


def test_render_text_running_and_empty() -> None:
    text = render_text(summary(RUNNING), task_rows(RUNNING), notice=RECONNECTING_MESSAGE)
    lines = text.splitlines()
    assert lines[0] == "wf  (argo)  Running  progress 1/2  started 2024-05-01 10:00:00 UTC  running"
    assert lines[1] == f"! {RECONNECTING_MESSAGE}"
    assert lines[-1].split() == ["train", "Running", "10:01:00", "…"]
    assert render_text(summary({}), []).splitlines()[-1] == "no tasks yet"


def test_render_html_escapes_everything_from_the_server() -> None:
    evil = "<script>alert('x')</script>"
    workflow = make_workflow("Failed", [(f"t{evil}", "Failed", evil)], message=evil)
    workflow["metadata"]["name"] = evil
    rows = task_rows(workflow)
    rendered = render_html(
        summary(workflow),
        rows,
        ui_url="javascript:alert(1)",
        notice=evil,
        log_tails={rows[0]["pod_name"]: evil},
    )
    assert "<script>" not in rendered
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in rendered
    assert "javascript:" not in rendered  # only http(s) links are made
    linked = render_html(summary(RUNNING), [], ui_url='https://argo/x?a=1&b="2"')
    assert 'href="https://argo/x?a=1&amp;b=&quot;2&quot;"' in linked


def test_render_html_shows_the_columns_omitted_reason_and_failed_tail() -> None:
    rows = task_rows(FAILED)
    rendered = render_html(summary(FAILED), rows, log_tails={pod_of("train"): "ValueError: x"})
    for heading in ("task", "phase", "started", "duration", "message", "retries"):
        assert f">{heading}</th>" in rendered
    assert OMITTED_MESSAGE in rendered
    assert "ValueError: x" in rendered
    assert "progress 1/2" in rendered and "elapsed 5m 00s" in rendered
    # the same input renders to the same string: nothing depends on a clock
    again = render_html(summary(FAILED), rows, log_tails={pod_of("train"): "ValueError: x"})
    assert rendered == again


# ---------------------------------------------------------------------------------------------
# The poller over HTTP.


def test_polls_ask_only_for_the_poll_fields(server: FakeArgo, source: Any, views: list) -> None:
    server.script((200, RUNNING), (200, FAILED))
    server.logs[pod_of("train")] = TRACEBACK
    view = new_view(views, source)
    view.poll_once()
    view.poll_once()
    gets = workflow_gets(server)
    assert len(gets) == 2
    # The first poll also asks for the DAG as written (once: it cannot change), later ones not.
    assert [get.query.get("fields") for get in gets] == [[f"{TABLE_FIELDS},{STRUCTURE_FIELDS}"], [TABLE_FIELDS]]
    log_requests = server.requests_to("GET", LOG_PATH)
    assert [r.query.get("podName") for r in log_requests] == [[pod_of("train")]]


def test_nothing_is_sent_to_the_front_end_while_nothing_changes(
    server: FakeArgo, source: Any, views: list
) -> None:
    server.script((200, RUNNING), (200, RUNNING), (200, RUNNING), (200, RUNNING_LATER))
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


def test_the_kernel_thread_keeps_working_while_a_poll_is_stuck(
    server: FakeArgo, source: Any, views: list
) -> None:
    server.gate.clear()  # the server holds every GET until the test lets it go
    view = new_view(views, source)
    view.start()
    assert server.arrived.wait(10), "the poller never asked"
    # The poll thread is blocked inside an HTTP call. This thread (the "kernel") still works:
    # it runs code, reads the view's state, renders it and presses a button.
    results = [sum(range(1000)) for _ in range(3)]
    assert results == [499500] * 3
    assert view.polling and view.update_count == 0
    assert view.phase == "Pending" and "no tasks yet" in view.html
    assert "no tasks yet" in repr(view)
    view.refresh()
    server.gate.set()
    assert eventually(lambda: view.phase == "Running")
    assert [row["task"] for row in view.rows] == ["prepare", "train"]


def test_transient_5xx_shows_reconnecting_then_recovers(
    server: FakeArgo, source: Any, views: list
) -> None:
    server.script(
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
    server: FakeArgo, source: Any, views: list
) -> None:
    server.script(
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
    with FakeArgo() as gone:
        url = gone.url  # closed on leaving: connections to it are refused
    view = new_view(views, HttpSource(url))
    view.start()
    assert eventually(lambda: view.poll_count >= 3)
    assert view.polling
    assert view.notice is not None and view.notice.startswith(RECONNECTING_MESSAGE)
    view.stop()
    assert view.wait_until_stopped(10)


def test_404_keeps_the_last_state_and_stops(server: FakeArgo, source: Any, views: list) -> None:
    server.script(
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


def test_404_before_any_state(server: FakeArgo, source: Any, views: list) -> None:
    server.script((404, {"code": 5, "message": "not found"}))
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
    server: FakeArgo, source: Any, views: list, code: int, body: dict, words: str
) -> None:
    server.script((200, RUNNING), (code, body))
    view = new_view(views, source)
    view.start()
    assert view.wait_until_stopped(10)
    assert words in view.notice and words in view.html
    assert view.phase == "Running" and len(view.rows) == 2
    assert len(workflow_gets(server)) == 2
    assert TOKEN not in view.html and TOKEN not in view.text


def test_a_final_phase_stops_polling_after_fetching_the_traceback(
    server: FakeArgo, source: Any, views: list
) -> None:
    server.script((200, RUNNING), (200, RUNNING), (200, FAILED))
    server.logs[pod_of("train")] = TRACEBACK
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


def test_real_fixture_tail_uses_the_argo_pod_name(server: FakeArgo, views: list) -> None:
    """The failed pod of a real Argo capture: its log is asked for by its v2 pod name."""
    path = FIXTURES / "modern" / "repo-jedarden-pdftract-failed-steps-m2nvb.yaml"
    if not path.is_file():
        pytest.skip(f"Argo fixtures not found at {FIXTURES}")
    workflow = yaml.safe_load(path.read_text())
    name = workflow["metadata"]["name"]
    pod = f"{name}-run-conformance-2154854314"

    class FixtureSource(HttpSource):
        def get_workflow(self, _name: str, **_options: Any) -> dict[str, Any]:
            return workflow

    server.logs[pod] = "CONFORMANCE-DELIBERATE-FAIL-pdftract-da7bf8c2"
    view = StatusView(FixtureSource(server.url), name, "argo-workflows", widgets=False)
    views.append(view)
    view.poll_once()
    assert view.log_tails == {pod: "CONFORMANCE-DELIBERATE-FAIL-pdftract-da7bf8c2"}
    assert "main: Error (exit code 3)" in view.html
    [log_request] = server.requests_to("GET", f"/api/v1/workflows/argo-workflows/{name}/log")
    assert log_request.query["podName"] == [pod]


def test_buttons_act_on_the_workflow(server: FakeArgo, source: Any, views: list) -> None:
    server.script((200, RUNNING))
    view = new_view(views, source)
    view.poll_once()
    for verb in ("stop", "terminate"):
        view.buttons[verb].click()  # runs in a background thread
        assert eventually(lambda: len(server.requests_to("PUT", f"{WORKFLOW_PATH}/{verb}")) == 1)
        assert eventually(lambda: view.notice == f"{verb} requested")
    view.stop()
    assert view.wait_until_stopped(10)


def test_retry_forgets_old_tails_and_polls_again(
    server: FakeArgo, source: Any, views: list
) -> None:
    server.script((200, FAILED))
    server.logs[pod_of("train")] = "first failure"
    view = new_view(views, source)
    view.poll_once()
    assert view.log_tails == {pod_of("train"): "first failure"}
    server.script((200, RUNNING), (200, SUCCEEDED))
    assert view.retry_workflow() is True
    assert len(server.requests_to("PUT", f"{WORKFLOW_PATH}/retry")) == 1
    assert view.wait_until_stopped(10)
    assert view.phase == "Succeeded" and view.log_tails == {}


def test_a_refused_action_says_why(server: FakeArgo, source: Any, views: list) -> None:
    server.script((200, SUCCEEDED))
    server.action_answers["stop"] = (
        500,
        {"code": 13, "message": 'cannot shutdown a completed workflow: workflow: "wf"'},
    )
    view = new_view(views, source)
    view.poll_once()
    assert view.stop_workflow() is False
    assert view.notice is not None and view.notice.startswith("stop failed:")
    assert "cannot shutdown a completed workflow" in view.html
    assert not view.polling


def test_any_task_log_on_demand(server: FakeArgo, source: Any, views: list) -> None:
    server.script((200, FAILED))
    server.logs[pod_of("prepare")] = "line 1\n<line 2>"
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


# ---------------------------------------------------------------------------------------------
# The poller with a plain object as source (no HTTP): back-off and odd failures.


class ScriptedSource:
    """Gives the scripted workflows in order (the last repeats) or raises scripted errors."""

    def __init__(self, *answers: Any) -> None:
        self.answers = deque(answers)
        self.calls: list[dict[str, Any]] = []

    def get_workflow(
        self, name: str, *, fields: str | None = None, namespace: str | None = None
    ) -> dict[str, Any]:
        self.calls.append({"name": name, "fields": fields, "namespace": namespace})
        answer = self.answers.popleft() if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return copy.deepcopy(answer)

    def workflow_logs(self, name: str, **options: Any) -> Iterator[dict[str, Any]]:
        yield {"content": "log line", "podName": options.get("pod_name")}

    def stop_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        return {}

    terminate_workflow = retry_workflow = stop_workflow


def test_back_off_while_nothing_changes_and_reset_on_change(views: list) -> None:
    source = ScriptedSource(
        RUNNING, RUNNING, RUNNING, RUNNING, RUNNING_LATER, RUNNING_LATER, SUCCEEDED
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
    views: list,
) -> None:
    seen: list[tuple[str, str]] = []

    def keep(workflow: dict[str, Any]) -> None:
        seen.append((workflow["status"]["phase"], threading.current_thread().name))
        if len(seen) == 1:
            raise ServerError("the Argo server failed (HTTP 503) to read workflow wf")

    view = new_view(views, ScriptedSource(RUNNING, SUCCEEDED), on_final_state=keep)
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


def test_an_unexpected_error_stops_polling_and_shows_it(views: list) -> None:
    view = new_view(views, ScriptedSource(RUNNING, RuntimeError("boom")))
    view.start()
    assert view.wait_until_stopped(10)
    assert "unexpected RuntimeError: boom" in view.html
    assert [row["task"] for row in view.rows] == ["prepare", "train"]


def test_a_token_in_an_error_message_is_never_shown(views: list) -> None:
    error = AuthenticationError(f"401 from proxy, sent Authorization: Bearer {TOKEN}")
    view = new_view(views, ScriptedSource(error))
    view.poll_once()
    assert TOKEN not in view.html and TOKEN not in view.text and TOKEN not in repr(view)
    assert "Bearer …" in view.html


def test_without_widgets_the_view_is_an_html_and_text_table(views: list) -> None:
    view = new_view(views, ScriptedSource(FAILED), widgets=False)
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


def test_with_widgets_the_bundle_carries_the_view_and_the_table(views: list) -> None:
    view = new_view(views, ScriptedSource(RUNNING))
    view.poll_once()
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == view.text  # the table, not "VBox(...)"
    assert bundle["text/html"].startswith(view.html)


def test_the_poll_asks_the_source_for_the_poll_fields_only(views: list) -> None:
    source = ScriptedSource(RUNNING)
    view = new_view(views, source)
    view.poll_once()
    view.poll_once()
    assert source.calls == [
        {"name": NAME, "fields": f"{TABLE_FIELDS},{STRUCTURE_FIELDS}", "namespace": NAMESPACE},
        {"name": NAME, "fields": TABLE_FIELDS, "namespace": NAMESPACE},
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


def test_stop_and_restart(views: list) -> None:
    view = new_view(views, ScriptedSource(RUNNING))
    view.start()
    assert eventually(lambda: view.poll_count >= 2)
    view.stop()
    assert view.wait_until_stopped(10) and not view.polling
    polls = view.poll_count
    view.start()
    assert eventually(lambda: view.poll_count > polls)
    view.stop()
    assert view.wait_until_stopped(10)


def test_summary_times_are_utc() -> None:
    assert summary(RUNNING)["started"] == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def test_refresh_during_a_poll_that_sees_the_end_polls_once_more(
    server: FakeArgo, source: Any, views: list
) -> None:
    """A refresh pressed while a poll is in flight is not lost if that poll ends polling."""
    server.script((200, FAILED))
    server.gate.clear()
    view = new_view(views, source)
    view.start()
    assert server.arrived.wait(10)
    view.refresh()  # e.g. right after a retry: the in-flight answer may predate it
    server.gate.set()
    assert view.wait_until_stopped(10)
    assert len(workflow_gets(server)) == 2


KERNEL_CELLS = [
    """\
import threading
from hera_magics.view.widget import StatusView
release = threading.Event()
WORKFLOW = {"metadata": {"name": "wf"}, "status": {"phase": "Succeeded", "nodes": {"wf": {
    "id": "wf", "name": "wf", "displayName": "wf", "type": "Pod", "templateName": "t",
    "phase": "Succeeded"}}}}

class SlowSource:
    def get_workflow(self, name, *, fields=None, namespace=None):
        release.wait(60)  # the server answers only when the third cell says so
        return WORKFLOW

view = StatusView(SlowSource(), "wf", "argo", poll_interval=0.01, max_interval=0.05)
view.start()
view""",
    "print('kernel alive while polling:', view.polling, view.update_count)",
    "release.set()\nprint('stopped:', view.wait_until_stopped(30), view.phase, view.update_count)",
]


@pytest.mark.slow
def test_in_a_real_kernel_cells_run_while_polling_and_updates_reach_the_front_end() -> None:
    """A real ipykernel: the second cell runs while the poll is stuck; the update arrives."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in KERNEL_CELLS]
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
