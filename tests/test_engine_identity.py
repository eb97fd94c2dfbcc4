"""Runs are remembered by the local engine's identity, not its port: a restart loses nothing.

The engine is killed with SIGKILL (as a crash or a reboot would) and started again by
``%argo_env --local``: another port, another token, the same identity (kept in its state
folder) and the same workflows (kept on disk). Then, without anything re-created by hand:

* ``%argo_status --last`` in a fresh kernel finds the run;
* an old ``WorkflowRun`` (``run.wait()``, ``run.refresh()``, ``run.logs()``) reaches the new engine;
* an old status view polls the new engine instead of showing "reconnecting…" for ever.

Real parts only: the real engine process, a real ``InteractiveShell``, real HTTP.
"""

from __future__ import annotations

import contextlib
import os
import signal

import pytest

from hera_magics import Session
from hera_magics.errors import WorkflowFailed
from hera_magics.local import read_engine_state, stop_engine
from hera_magics.magics import ArgoMagics

from .conftest import magics_of
from .local_helpers import process_gone, wait_for
from .interrupt_helpers import GATED_TASK


def kill_engine() -> int:
    """SIGKILL the engine of this state folder (no clean-up, as a crash); its old port."""
    state = read_engine_state()
    os.kill(state["pid"], signal.SIGKILL)
    wait_for(lambda: process_gone(state["pid"]), what="the engine to die")
    with contextlib.suppress(ChildProcessError):
        os.waitpid(state["pid"], 0)  # we started it: reap it
    return state["port"]


@pytest.fixture
def engine_folder(isolated_state):
    yield isolated_state
    stop_engine(isolated_state)


def test_runs_and_views_find_the_engine_after_it_restarts(ip, tmp_path, engine_folder, capsys):
    ip.run_line_magic("argo_env", "--local --workers 2")
    ip.run_cell_magic("argo_task", "", 'def hello():\n    print("hello from the task")\n    return 1\n')
    ip.run_cell_magic("argo_task", "", GATED_TASK)
    finished = ip.run_line_magic("argo_dag", "--wait --no-widget hello")
    running = ip.run_line_magic("argo_dag", f'--no-widget gated(gate="{tmp_path / "never"}")')
    view = running.widget
    view.poll_once()
    assert view.phase == "Running"

    old_port = kill_engine()
    ip.run_line_magic("argo_env", "--local --workers 2")  # what the hint says: start it again
    state = read_engine_state()
    assert state["port"] != old_port

    # An old handle: the run that finished is read from the new engine...
    assert finished.refresh().phase == "Succeeded"
    assert "hello from the task" in finished.logs("hello")
    # ...and the run that was running when the engine died ends there (Error: the engine stopped).
    with pytest.raises(WorkflowFailed) as caught:
        running.wait(timeout=60)
    assert caught.value.phase == "Error"
    assert f":{state['port']}/" in running.url

    # An old view polls the new engine.
    view.poll_once()
    assert view.phase == "Error" and view.notice is None

    # A fresh kernel: nothing in memory, the remembered runs are found by the engine's identity.
    ip.register_magics(ArgoMagics(ip))
    assert magics_of(ip).session.last_run is None
    ip.run_line_magic("argo_env", "--local")
    again = ip.run_line_magic("argo_status", "--last --no-widget")
    assert again.name == running.name and again.phase == "Error"
    fresh = Session()
    fresh.configure_local()
    assert fresh.attach(finished.name).result("hello") == 1


def test_the_engine_identity_is_made_once_per_state_folder(ip, engine_folder):
    ip.run_line_magic("argo_env", "--local --workers 2")
    first = read_engine_state()["id"]
    assert (engine_folder / "engine-id").read_text().strip() == first
    stop_engine(engine_folder)
    ip.run_line_magic("argo_env", "--local --workers 2")
    assert read_engine_state()["id"] == first
    assert magics_of(ip).session.config.engine_id == first
