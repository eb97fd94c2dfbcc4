"""What a workflow's JSON and logs say about its tasks (hera_magics.results): which task a name
means, log tails, decoded values, and the stdout of a task without Argo's ``outputs.result``."""

from __future__ import annotations

import pytest

from hera_magics.results import decode_value, log_tail, resolve_task_name
from hera_magics.run import WorkflowRun
from tests.canned_server import CannedServer
from tests.run_helpers import NAME, TRACEBACK, argo_workflow, client_for, pod_of, serve


# ---------------------------------------------------------------------------------------------
# pure functions as tables


@pytest.mark.parametrize(
    "requested, available, expected",
    [
        ("hello-world", ["hello-world"], "hello-world"),
        ("hello_world", ["hello-world"], "hello-world"),
        ("train", ["prepare", "train"], "train"),
        ("trian", ["prepare", "train"], None),
        ("sub-dag1.fail", ["sub-dag1.fail"], "sub-dag1.fail"),
        ("odd_name", ["odd_name"], "odd_name"),
    ],
)
def test_resolve_task_name(requested, available, expected):
    assert resolve_task_name(requested, available) == expected


@pytest.mark.parametrize(
    "lines, expected",
    [
        (TRACEBACK, "\n".join(TRACEBACK[1:])),
        (["a", "b", "c"], "a\nb\nc"),
        ([], ""),
        ([f"line {i}" for i in range(40)], "…\n" + "\n".join(f"line {i}" for i in range(10, 40))),
        (["Traceback (most recent call last):", "first", "Traceback (most recent call last):", "E"],
         "Traceback (most recent call last):\nE"),
    ],
)
def test_log_tail(lines, expected):
    assert log_tail(lines) == expected


def test_log_tail_cuts_a_huge_traceback_from_the_top():
    lines = [TRACEBACK[1]] + [f"  frame {i}" for i in range(200)] + ["RecursionError: too deep"]
    tail = log_tail(lines).splitlines()
    assert tail[0] == "…" and tail[-1] == "RecursionError: too deep" and len(tail) == 80


@pytest.mark.parametrize(
    "text, expected",
    [('{"loss": 0.12}', {"loss": 0.12}), ('"/data"', "/data"), ("null", None), ("3", 3),
     ("plain text", "plain text"), ("", "")],
)
def test_decode_value(text, expected):
    assert decode_value(text) == expected


# ---------------------------------------------------------------------------------------------
# run.result(stdout=True) without outputs.result is capped like Argo's


ARGO_RESULT_BYTES = 256 * 1024  # Argo keeps the last 256 KiB of stdout as outputs.result


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
