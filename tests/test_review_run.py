"""Review fixes: Ctrl-C while waiting or following logs, a failed --wait gives the run back,
``%argo_logs --follow`` names tasks and waits for a task to start, ``%argo_env`` to another
server forgets the last run.

Each test drives real parts: a real ``InteractiveShell`` with the extension loaded, the real
local engine over HTTP (the ``local_ip`` fixture) and a canned HTTP server. Ctrl-C is a real SIGINT sent to the main thread once its
stack shows it is where a user would press it; every wait is a deadline loop.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from hera_magics import errors
from hera_magics.errors import TaskResultError, WorkflowFailed
from hera_magics.run import WorkflowRun

from .canned_server import CannedServer
from .conftest import magics_of

DEADLINE_SECONDS = 60


def until(condition: Callable[[], Any], what: str, seconds: float = DEADLINE_SECONDS) -> Any:
    """Poll ``condition`` until it is truthy (returned) or the deadline passes (fail)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def main_thread_in(*names: str) -> bool:
    """True when the main thread's stack has a frame of a function called one of ``names``."""
    frame = sys._current_frames().get(threading.main_thread().ident)
    while frame is not None:
        if frame.f_code.co_name in names:
            return True
        frame = frame.f_back
    return False


class InBackground:
    """Run ``work`` in a daemon thread; ``join()`` re-raises what it raised."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.error: BaseException | None = None

        def run() -> None:
            try:
                work()
            except BaseException as error:  # noqa: BLE001 - handed to the test thread
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join(DEADLINE_SECONDS)
        assert not self.thread.is_alive(), "background helper still running"
        if self.error is not None:
            raise self.error


def ctrl_c_when(*names: str) -> InBackground:
    """Press Ctrl-C (SIGINT to the main thread) once the main thread runs one of ``names``."""
    def press() -> None:
        until(lambda: main_thread_in(*names), f"the main thread to reach {names}")
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    return InBackground(press)


def engine_phase(shell: Any, name: str) -> str:
    session = magics_of(shell).session
    answer = session.client().get_workflow(name, fields="status.phase")
    return str((answer.get("status") or {}).get("phase") or "")


def define(shell: Any, cell: str, line: str = "") -> None:
    shell.run_cell_magic("argo_task", line, cell)


GATED_TASK = """def gated(gate: str):
    import os, time
    print("waiting for the gate", flush=True)
    while not os.path.exists(gate):
        time.sleep(0.05)
    print("through the gate", flush=True)
"""


# --------------------------------------------------------------------------------------------
# A. Ctrl-C: one line, never a traceback


def test_ctrl_c_while_dag_waits_shows_one_line_and_leaves_the_workflow_running(local_ip, tmp_path, capsys):
    define(local_ip, GATED_TASK)
    capsys.readouterr()
    gate = tmp_path / "gate"
    pressing = ctrl_c_when("_wait_until_final")
    result = local_ip.run_cell(f'run = %argo_dag --wait --no-widget gated(gate="{gate}")')
    pressing.join()
    shown = capsys.readouterr()
    error = result.error_in_exec
    assert isinstance(error, errors.WorkflowInterrupted) and isinstance(error, KeyboardInterrupt)
    name = magics_of(local_ip).session.last_run.name
    expected = (f"KeyboardInterrupt: Ctrl-C: stopped waiting; workflow {name} goes on running on the server. "
                f"To stop it: run = %argo_status {name}, then run.stop()")
    assert "Traceback" not in shown.out + shown.err
    assert "----" not in shown.out  # IPython's frame separators
    assert [line for line in shown.out.splitlines() if "KeyboardInterrupt" in line] == [expected]
    assert engine_phase(local_ip, name) == "Running"
    gate.touch()
    until(lambda: engine_phase(local_ip, name) == "Succeeded", "the workflow to finish on its own")


def test_ctrl_c_while_following_logs_leaves_the_workflow_running(local_ip, tmp_path, capsys):
    define(local_ip, GATED_TASK)
    gate = tmp_path / "gate"
    local_ip.run_cell(f'run = %argo_dag --no-widget gated(gate="{gate}")')
    name = magics_of(local_ip).session.last_run.name
    capsys.readouterr()
    try:
        pressing = ctrl_c_when("_iterate_log_lines")
        result = local_ip.run_cell(f"%argo_logs {name} --follow")
        pressing.join()
        shown = capsys.readouterr()
        assert result.error_in_exec is None, shown.out
        assert "Traceback" not in shown.out + shown.err and "KeyboardInterrupt" not in shown.out + shown.err
        assert shown.out.rstrip().endswith(f"stopped following the log; workflow {name} goes on running on the "
                                           f"server. To stop it: run = %argo_status {name}, then run.stop()")
        assert engine_phase(local_ip, name) == "Running"
    finally:
        gate.touch()
    until(lambda: engine_phase(local_ip, name) == "Succeeded", "the workflow to finish")


# --------------------------------------------------------------------------------------------
# B. a failed --wait still gives the run back


def test_failed_wait_gives_the_run_back(local_ip, capsys):
    define(local_ip, 'def broken():\n    raise ValueError("bad input")\n')
    local_ip.user_ns["run"] = "an older value"
    capsys.readouterr()
    result = local_ip.run_cell("run = %argo_dag --wait --no-widget broken")
    shown = capsys.readouterr().out
    error = result.error_in_exec
    assert isinstance(error, WorkflowFailed)
    last = magics_of(local_ip).session.last_run
    assert isinstance(error.run, WorkflowRun) and error.run is last
    assert local_ip.user_ns["run"] == "an older value"  # the assignment never happened
    assert "run = %argo_status --last" in shown and "Traceback (most recent call last)" in shown
    local_ip.run_cell("run = %argo_status --last --no-widget")
    assert local_ip.user_ns["run"].name == error.run.name and local_ip.user_ns["run"].phase == "Failed"


# --------------------------------------------------------------------------------------------
# C. %argo_logs --follow: task names, and a task that has not started yet


TWO_GATED_TASKS = [
    ("", GATED_TASK),
    ("", 'def after():\n    print("after ran", flush=True)\n'),
]


def submit_gated_then_after(shell: Any, gate: Path) -> str:
    for line, cell in TWO_GATED_TASKS:
        define(shell, cell, line)
    shell.run_cell(f'run = %argo_dag --no-widget gated(gate="{gate}") >> after')
    return magics_of(shell).session.last_run.name


def test_follow_prefixes_task_names_also_for_pods_that_start_later(local_ip, tmp_path, capsys):
    gate = tmp_path / "gate"
    name = submit_gated_then_after(local_ip, gate)
    capsys.readouterr()
    # The gate opens only once the log is being followed, so "after" starts later: its pod is
    # unknown to the task map made when following began.
    opener = InBackground(lambda: (until(lambda: main_thread_in("_iterate_log_lines"), "following"), gate.touch()))
    result = local_ip.run_cell(f"%argo_logs {name} --follow")
    opener.join()
    lines = capsys.readouterr().out.splitlines()
    assert result.error_in_exec is None
    assert "gated | waiting for the gate" in lines
    assert "gated | through the gate" in lines
    assert "after | after ran" in lines
    assert not any(line.startswith(name) for line in lines), lines  # no pod names
    # the same prefixes as without --follow
    assert set(magics_of(local_ip).session.attach(name).logs().splitlines()) <= set(lines)


def test_follow_of_a_task_that_has_not_started_waits_for_it(local_ip, tmp_path, capsys):
    gate = tmp_path / "gate"
    name = submit_gated_then_after(local_ip, gate)
    capsys.readouterr()
    try:
        opener = InBackground(
            lambda: (until(lambda: main_thread_in("follow_logs", "wait_for_pod"), "following"), gate.touch())
        )
        result = local_ip.run_cell(f"%argo_logs {name} after --follow")
        opener.join()
    finally:
        gate.touch()
    shown = capsys.readouterr().out
    assert result.error_in_exec is None, shown
    assert shown.splitlines() == ["after ran"]


def test_follow_of_a_task_that_will_never_run_says_so(local_ip, capsys):
    define(local_ip, 'def explode():\n    print("exploding", flush=True)\n    raise SystemExit(3)\n')
    define(local_ip, 'def after():\n    print("after ran", flush=True)\n')
    with pytest.raises(WorkflowFailed):
        local_ip.run_line_magic("argo_dag", "--wait --no-widget explode >> after")
    name = magics_of(local_ip).session.last_run.name
    capsys.readouterr()
    result = local_ip.run_cell(f"%argo_logs {name} after --follow")
    shown = capsys.readouterr().out
    assert isinstance(result.error_in_exec, TaskResultError)
    assert "task after did not run" in shown and "exploding" not in shown


# --------------------------------------------------------------------------------------------
# I. %argo_env to another server forgets the last run


def test_attach_after_switching_servers_does_not_return_the_other_servers_run(local_ip, capsys):
    define(local_ip, 'def hello():\n    return 1\n')
    local_ip.run_line_magic("argo_dag", "--wait --no-widget hello")
    assert magics_of(local_ip).session.last_run is not None
    with CannedServer() as other:
        local_ip.run_line_magic("argo_env", f"--host {other.url} --namespace argo")
        capsys.readouterr()
        result = local_ip.run_cell("%argo_status --no-widget")
    assert result.error_in_exec is not None
    assert "no run is remembered for" in capsys.readouterr().out
    assert magics_of(local_ip).session.last_run is None
