"""Review fixes of run.py: a finished run is kept once and only log tails are fetched for it, a
retried run is kept again when it ends again, and ``result(stdout=True)`` without Argo's
``outputs.result`` is capped as Argo caps it.

Against the canned HTTP server (to count the requests) and the real local engine.
"""

from __future__ import annotations

import json

import pytest

from hera_magics.errors import WorkflowFailed
from hera_magics.history import final_state_path, load_log_tail
from hera_magics.run import WorkflowRun

from tests.canned_server import CannedServer, Recorded
from tests.conftest import magics_of
from tests.test_run import NAME, SUCCEEDED_TASKS, WORKFLOW_PATH, argo_workflow, client_for, pod_of, serve

ARGO_RESULT_BYTES = 256 * 1024  # Argo keeps the last 256 KiB of stdout as outputs.result


def define(shell, cell: str, line: str = "") -> None:
    shell.run_cell_magic("argo_task", line, cell)


# --------------------------------------------------------------------------------------------
# D. keeping the final state: once, and only the tails


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


# --------------------------------------------------------------------------------------------
# H. run.result(stdout=True) without outputs.result is capped like Argo's


def test_stdout_fallback_is_capped_like_argo(isolated_state):
    lines = [f"{index:07d} " + "x" * 92 for index in range(3000)]  # 100 bytes a line, ~293 KiB
    tasks = [{"name": "chatty", "phase": "Succeeded", "returns": False, "outputs": {"exitCode": "0"}}]
    with CannedServer() as server:
        serve(server, argo_workflow("Succeeded", tasks), logs={pod_of("chatty"): lines + [""]})
        printed = WorkflowRun(client_for(server), NAME).result("chatty", stdout=True)
    whole = "\n".join(lines)  # the log ended with a newline: Argo trims one
    assert len(printed.encode()) == ARGO_RESULT_BYTES
    assert whole.endswith(printed) and printed.endswith("x" * 92)


def test_stdout_fallback_keeps_a_short_log_and_trims_one_newline(isolated_state):
    tasks = [{"name": "chatty", "phase": "Succeeded", "returns": False, "outputs": {"exitCode": "0"}}]
    with CannedServer() as server:
        serve(server, argo_workflow("Succeeded", tasks), logs={pod_of("chatty"): ["a", "b", ""]})
        assert WorkflowRun(client_for(server), NAME).result("chatty", stdout=True) == "a\nb"
