"""Ctrl-C never loses or kills a workflow, and waiting never floods the server.

* Ctrl-C while a create is pending: the submission was remembered before the request was sent
  (by its submission label), so ``%argo_status --last`` finds the workflow; one line, never a
  traceback, also for a second Ctrl-C during the lookup that follows.
* Ctrl-C while waiting (``run.wait()``) stops waiting; the workflow goes on and the message shows
  the line that stops it. (``%argo_dag --wait`` and ``%argo_logs --follow``:
  tests/test_review_run.py.)
* ``run.wait(poll_interval=0)`` pauses at least ``MIN_POLL_SECONDS`` between polls.

Real parts: an ``InteractiveShell`` with the extension, a canned HTTP server on a real socket,
the real local engine; Ctrl-C is a real SIGINT sent to the main thread once its stack (and the
server) show it is where a user would press it.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable

import pytest

from hera_magics import Session
from hera_magics.client import SUBMISSION_LABEL
from hera_magics.errors import ArgumentTypeError, ArgumentValueError, WorkflowInterrupted
from hera_magics.history import remembered_runs
from hera_magics.run import WorkflowRun

from .canned_server import Answer, CannedServer, Recorded
from .interrupt_helpers import GATED_TASK, InBackground, main_thread_in, until

CREATE_PATH = "/api/v1/workflows/argo"
MINIMUM_PAUSE = 0.25  # the documented minimum pause between polls (run.MIN_POLL_SECONDS)
NAME = "nb-x7k2p"


def ctrl_c_when(condition: Callable[[], Any], what: str, *, times: int = 1,
                then: Callable[[], Any] | None = None) -> InBackground:
    """Press Ctrl-C once ``condition()`` holds; a second time once ``then()`` holds."""
    def press() -> None:
        until(condition, what)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        if then is not None:
            until(then, "the second moment")
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    return InBackground(press)


def created_workflow(request: Recorded) -> dict[str, Any]:
    """What the server made of a create request."""
    workflow = request.json()["workflow"]
    workflow["metadata"].update(name=NAME, creationTimestamp="2026-03-01T10:00:00Z")
    workflow["status"] = {"phase": "Running"}
    return workflow


class SlowServer:
    """A canned Argo whose create never answers; it 'made' the workflow once ``made`` is set."""

    def __init__(self, server: CannedServer, *, lookup_delay: float = 0.0) -> None:
        self.server = server
        self.made = threading.Event()
        server.script("POST", CREATE_PATH, Answer(200, {}, delay=120))
        server.script("GET", CREATE_PATH, self.lookup)
        server.script("GET", f"{CREATE_PATH}/{NAME}", self.get)
        self.lookup_delay = lookup_delay

    def posted(self) -> Recorded | None:
        posts = self.server.requests_to("POST", CREATE_PATH)
        return posts[0] if posts else None

    def lookup(self, request: Recorded) -> Answer:
        posted = self.posted()
        assert posted is not None
        label = posted.json()["workflow"]["metadata"]["labels"][SUBMISSION_LABEL]
        assert request.param("listOptions.labelSelector") == f"{SUBMISSION_LABEL}={label}"
        items = [created_workflow(posted)] if self.made.is_set() else None
        return Answer(200, {"metadata": {}, "items": items}, delay=self.lookup_delay)

    def get(self, request: Recorded) -> Answer:
        posted = self.posted()
        assert posted is not None and self.made.is_set()
        return Answer(200, created_workflow(posted))


@pytest.fixture
def shell_on(ip, tmp_path):
    """A shell connected to a canned server, with one task registered."""
    def connect(server: CannedServer) -> Any:
        ip.run_line_magic("argo_env", f"--host {server.url} --namespace argo")
        ip.run_cell_magic("argo_task", "", "def hello():\n    return 1\n")
        return ip

    return connect


def lines_of(shown: Any) -> list[str]:
    return [line for line in (shown.out + shown.err).splitlines() if line.strip()]


def submit_pressing_ctrl_c(shell: Any, argo: SlowServer, capsys: Any,
                           then: Callable[[], Any] | None = None) -> tuple[Any, list[str]]:
    """Submit with ``%argo_dag``, pressing Ctrl-C while the create is pending (and again once
    ``then()`` holds); the cell's result and the lines it showed."""
    capsys.readouterr()
    pressing = ctrl_c_when(lambda: argo.posted() and main_thread_in("create_workflow"), "the create to be pending",
                           then=then)
    result = shell.run_cell("run = %argo_dag --no-widget hello")
    pressing.join()
    shown = capsys.readouterr()
    assert "Traceback" not in shown.out + shown.err
    return result, lines_of(shown)


# --------------------------------------------------------------------------------------------
# Ctrl-C while the create is pending


def test_ctrl_c_during_create_says_the_workflow_was_created_and_it_is_found_again(shell_on, capsys):
    with CannedServer() as server:
        argo = SlowServer(server)
        shell = shell_on(server)
        argo.made.set()  # the server has made it; only its answer is slow
        result, shown = submit_pressing_ctrl_c(shell, argo, capsys)
        assert isinstance(result.error_in_exec, WorkflowInterrupted)
        assert shown == [
            f"KeyboardInterrupt: Ctrl-C while submitting: workflow {NAME} was created and goes on running on "
            f"the server. To stop it: run = %argo_status {NAME}, then run.stop()"
        ]
        assert [(run.name, run.pending) for run in remembered_runs()] == [(NAME, False)]
        found = shell.run_line_magic("argo_status", "--last --no-widget")
        assert found.name == NAME and found.phase == "Running"


def test_ctrl_c_before_the_server_made_it_is_found_later_by_its_submission_label(shell_on, capsys):
    with CannedServer() as server:
        argo = SlowServer(server)
        shell = shell_on(server)
        result, shown = submit_pressing_ctrl_c(shell, argo, capsys)
        assert isinstance(result.error_in_exec, WorkflowInterrupted)
        assert shown == [
            "KeyboardInterrupt: Ctrl-C while submitting: no workflow from this submission is on the server yet; "
            "%argo_status --last (or WorkflowRun.attach(client)) finds it if it was created"
        ]
        (pending,) = remembered_runs()
        assert pending.pending and pending.submission  # remembered before the request was sent
        argo.made.set()  # the server finishes the create after all
        found = shell.run_line_magic("argo_status", "--last --no-widget")
        assert found.name == NAME
        assert [(run.name, run.pending) for run in remembered_runs()] == [(NAME, False)]


def test_a_double_ctrl_c_gives_one_line_and_the_workflow_is_still_found(shell_on, capsys):
    with CannedServer() as server:
        argo = SlowServer(server, lookup_delay=60)  # the lookup after the first Ctrl-C hangs too
        shell = shell_on(server)
        result, shown = submit_pressing_ctrl_c(
            shell, argo, capsys,
            then=lambda: server.requests_to("GET", CREATE_PATH) and main_thread_in("find_submission"),
        )
        assert isinstance(result.error_in_exec, WorkflowInterrupted)
        assert shown == [
            "KeyboardInterrupt: Ctrl-C while submitting: whether the server created the workflow is unknown "
            "(a second Ctrl-C stopped the lookup); %argo_status --last (or WorkflowRun.attach(client)) finds it "
            "if it was created"
        ]
        argo.made.set()
        argo.lookup_delay = 0
        assert shell.run_line_magic("argo_status", "--last --no-widget").name == NAME


def test_an_interrupted_submission_that_made_nothing_says_so_and_nothing_is_attached(shell_on, capsys):
    with CannedServer() as server:
        argo = SlowServer(server)
        shell = shell_on(server)
        submit_pressing_ctrl_c(shell, argo, capsys)
        result = shell.run_cell("%argo_status --last --no-widget")
        shown = capsys.readouterr()
        assert lines_of(shown) == [
            "NotFoundError: the last submission (at "
            f"{remembered_runs()[0].submitted_at}) was interrupted before the server answered, and no workflow "
            "from it is on the server: nothing of it runs",
            "  hint: submit it again, or give a workflow's name: %argo_status NAME",
        ]
        assert result.error_in_exec is not None


# --------------------------------------------------------------------------------------------
# Ctrl-C while waiting: stop waiting, never the workflow


@pytest.fixture
def local_session(engine_state, monkeypatch):
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(engine_state))
    session = Session()
    session.configure_local(workers=4)
    return session


def test_ctrl_c_in_run_wait_leaves_the_workflow_running_and_says_how_to_stop_it(local_session, tmp_path):
    local_session.define_task(GATED_TASK)
    run = local_session.submit(f'gated(gate="{tmp_path / "never"}")')
    pressing = ctrl_c_when(lambda: main_thread_in("_wait_until_final"), "wait() to poll")
    with pytest.raises(KeyboardInterrupt) as caught:
        run.wait()
    pressing.join()
    assert isinstance(caught.value, WorkflowInterrupted) and caught.value.run is run
    assert str(caught.value) == (
        f"Ctrl-C: stopped waiting; workflow {run.name} goes on running on the server. To stop it: run.stop()"
    )
    assert caught.value._render_traceback_() == [f"KeyboardInterrupt: {caught.value}"]
    assert run.refresh().phase == "Running"
    run.stop()  # the line the message shows
    until(lambda: run.refresh().phase in ("Failed", "Error"), "the stopped workflow to end")


# --------------------------------------------------------------------------------------------
# waiting has a minimum pause between polls


def test_wait_with_poll_interval_zero_pauses_between_polls():
    polls: list[float] = []

    def phase(request: Recorded) -> Answer:
        polls.append(time.monotonic())
        done = len(polls) > 6
        return Answer(200, {"metadata": {"name": NAME, "namespace": "argo"},
                            "status": {"phase": "Succeeded" if done else "Running"}})

    from hera_magics.client import ArgoClient
    from hera_magics.config import ArgoConfig, Secret

    with CannedServer() as server:
        server.script("GET", f"{CREATE_PATH}/{NAME}", phase)
        client = ArgoClient(ArgoConfig(host=server.url, token=Secret("token-1234"), namespace="argo"))
        WorkflowRun(client, NAME).wait(poll_interval=0)
    gaps = [later - earlier for earlier, later in zip(polls, polls[1:7])]
    # Lower bounds only: a sleep never ends early, so this cannot flake.
    assert min(gaps) >= MINIMUM_PAUSE * 0.95, gaps
    from hera_magics.run import MIN_POLL_SECONDS

    assert MIN_POLL_SECONDS == MINIMUM_PAUSE


@pytest.mark.parametrize("bad, error", [(-1, ArgumentValueError), (float("nan"), ArgumentValueError),
                                        ("fast", ArgumentTypeError), (None, ArgumentTypeError)])
def test_wait_refuses_a_poll_interval_that_is_no_pause(bad, error):
    from hera_magics.client import ArgoClient
    from hera_magics.config import ArgoConfig

    run = WorkflowRun(ArgoClient(ArgoConfig(host="http://127.0.0.1:9/", namespace="argo")), NAME)
    with pytest.raises(error, match="WorkflowRun.wait: poll_interval"):
        run.wait(poll_interval=bad)
