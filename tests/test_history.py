"""What the kernel remembers of its runs (hera_magics.history): runs.json, and the final state and
log tails kept when a run ends — kept once, with only the tails asked for, and kept again when a
retried run ends again.

Against the canned HTTP server (to count the requests) and the real local engine.
"""

from __future__ import annotations

import json

import pytest

from hera_magics.errors import WorkflowFailed
from hera_magics.history import (
    RememberedRun,
    final_state_path,
    find_run,
    last_run,
    load_log_tail,
    public_host,
    remember_run,
    remembered_runs,
    safe_path_part,
)
from hera_magics.run import WorkflowRun
from tests.canned_server import CannedServer, Recorded
from tests.conftest import magics_of
from tests.run_helpers import NAME, SUCCEEDED_TASKS, WORKFLOW_PATH, argo_workflow, client_for, serve


def define(shell, cell: str, line: str = "") -> None:
    shell.run_cell_magic("argo_task", line, cell)


# --------------------------------------------------------------------------------------------
# the final state kept when a run ends: once, and only the tails


def log_requests(server: CannedServer) -> list[Recorded]:
    return server.requests_to("GET", WORKFLOW_PATH + "/log")


def test_a_finished_run_is_kept_once_and_only_its_tail_is_asked_for(isolated_state):
    with CannedServer() as server:
        serve(server, argo_workflow("Succeeded", SUCCEEDED_TASKS))
        WorkflowRun(client_for(server), NAME).refresh()
        first = log_requests(server)
        assert len(first) == 3
        assert {request.param("logOptions.tailLines") for request in first} == {"200"}
        assert final_state_path("argo", NAME).exists()
        assert load_log_tail("argo", NAME, "hello-world") == "epoch 1\nbest: 0.12"

        # re-attaching (a new kernel, %argo_status) finds the end on disk and asks for no log
        again = WorkflowRun(client_for(server), NAME)
        again.refresh()
        assert again.tasks()[0]["phase"] == "Succeeded"
        assert len(log_requests(server)) == 3


def test_the_client_asks_the_local_engine_for_a_tail(local_ip):
    define(local_ip, 'def counting():\n    for i in range(50):\n        print("line", i)\n')
    run = local_ip.run_line_magic("argo_dag", "--wait --no-widget counting")
    pod = run.tasks()[0]["pod_name"]
    entries = list(run.client.workflow_logs(run.name, pod_name=pod, tail_lines=3))
    assert [entry["content"] for entry in entries] == ["line 47", "line 48", "line 49"]
    assert load_log_tail(run.namespace, run.name, "counting").splitlines()[-1] == "line 49"


def test_a_retried_run_is_kept_again_when_it_ends_again(local_ip, tmp_path):
    marker = tmp_path / "tried-once"
    define(local_ip, f'''def flaky():
    import os
    if not os.path.exists({str(marker)!r}):
        open({str(marker)!r}, "w").close()
        print("first attempt fails", flush=True)
        raise SystemExit(1)
    print("second attempt ok", flush=True)
''')
    with pytest.raises(WorkflowFailed):
        local_ip.run_line_magic("argo_dag", "--wait --no-widget flaky")
    run = magics_of(local_ip).session.last_run
    kept = final_state_path(run.namespace, run.name)
    assert json.loads(kept.read_text())["status"]["phase"] == "Failed"
    assert "first attempt fails" in load_log_tail(run.namespace, run.name, "flaky")

    run.retry().wait()
    assert json.loads(kept.read_text())["status"]["phase"] == "Succeeded"
    assert load_log_tail(run.namespace, run.name, "flaky") == "second attempt ok"


# ---------------------------------------------------------------------------------------------
# pure helpers


@pytest.mark.parametrize(
    "host, expected",
    [("https://h/argo/", "https://h/argo/"), ("https://me:pw@h:443/argo/", "https://h:443/argo/")],
)
def test_public_host(host, expected):
    assert public_host(host) == expected


@pytest.mark.parametrize("text, expected", [("train", "train"), ("a/b", "a_b"), ("..", "_"), ("", "_")])
def test_safe_path_part(text, expected):
    assert safe_path_part(text) == expected


# ---------------------------------------------------------------------------------------------
# remembered runs (runs.json)


def test_remember_last_and_find(isolated_state):
    assert last_run() is None and remembered_runs() == []
    remember_run("a-1", "argo", "https://one/argo/", "2026-01-01T00:00:00Z")
    remember_run("b-1", "team", "https://two/", "2026-01-02T00:00:00Z")
    remember_run("a-2", "argo", "https://user:pw@one/argo/")
    assert last_run().name == "a-2"
    assert last_run("https://two/").name == "b-1"
    assert find_run("a-1") == RememberedRun("a-1", "argo", "https://one/argo/", "2026-01-01T00:00:00Z")
    assert find_run("a-1", host="https://two/") is None
    assert find_run("b-1", namespace="argo") is None
    assert "pw" not in (isolated_state / "runs.json").read_text()
    remember_run("a-1", "argo", "https://one/argo/")  # again: moves to the end, no duplicate
    assert [run.name for run in remembered_runs()] == ["b-1", "a-2", "a-1"]


def test_unreadable_runs_file_is_ignored(isolated_state):
    (isolated_state / "runs.json").write_text("{not json")
    assert last_run() is None
    remember_run("a-1", "argo", "https://one/")
    assert [run.name for run in remembered_runs()] == ["a-1"]
