"""A workflow's logs from the local engine: NDJSON and SSE, real pod names, following a running task."""

from __future__ import annotations

import json
import re

from hera_magics.argo import pod_name
from tests.local_helpers import dag, nodes_by_display_name, python_script, shell, task, workflow


LOGGING_SOURCE = """import sys
print("alpha 1")
print("to stderr", file=sys.stderr, flush=True)
print("alpha 2")
"""


def test_logs_are_ndjson_and_sse_with_the_real_pod_names(engine):
    name = engine.submit(workflow([
        dag([task("a", "chatty"), task("b", "html", depends="a")]),
        python_script("chatty", LOGGING_SOURCE),
        shell("html", "echo '<b> & beta'"),
    ]))
    done = engine.wait(name)
    nodes = nodes_by_display_name(done)
    pod_a = pod_name(name, nodes["a"]["name"], "chatty")
    pod_b = pod_name(name, nodes["b"]["name"], "html")
    assert pod_a == nodes["a"]["id"].replace(f"{name}-", f"{name}-chatty-")
    log_path = f"api/v1/workflows/argo/{name}/log"

    answer = engine.request("GET", log_path, params={"logOptions.container": "main"})
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert "\\u003cb\\u003e \\u0026 beta" in answer.text  # Go's JSON escapes <, > and &
    entries = [json.loads(line)["result"] for line in answer.text.splitlines()]
    from_a = [entry["content"] for entry in entries if entry["podName"] == pod_a]
    # stdout and stderr are separate pipes (as in a container), so only each stream's own order is kept.
    assert [line for line in from_a if line.startswith("alpha")] == ["alpha 1", "alpha 2"]
    assert sorted(from_a) == ["alpha 1", "alpha 2", "to stderr"]
    assert [entry for entry in entries if entry["podName"] == pod_b] == [{"content": "<b> & beta", "podName": pod_b}]

    only_b = engine.request("GET", log_path, params={"logOptions.container": "main", "podName": pod_b})
    assert [json.loads(line)["result"]["podName"] for line in only_b.text.splitlines()] == [pod_b]
    per_pod = engine.request("GET", f"api/v1/workflows/argo/{name}/{pod_a}/log", params={"logOptions.container": "main"})
    assert len(per_pod.text.splitlines()) == 3
    grep = engine.request("GET", log_path, params={"logOptions.container": "main", "grep": "^alpha"})
    assert [json.loads(line)["result"]["content"] for line in grep.text.splitlines()] == ["alpha 1", "alpha 2"]
    stamped = engine.request("GET", log_path, params={"logOptions.container": "main", "podName": pod_b,
                                                      "logOptions.timestamps": "true"})
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z <b> & beta$",
                    json.loads(stamped.text)["result"]["content"])
    # Like Argo, no container=main means no lines (the real server skips multi-container pods).
    assert engine.request("GET", log_path).text == ""

    sse = engine.request("GET", log_path, params={"logOptions.container": "main", "podName": pod_b},
                         headers={"Accept": "text/event-stream"})
    assert sse.headers["Content-Type"] == "text/event-stream"
    assert sse.text == 'data: {"result":{"content":"\\u003cb\\u003e \\u0026 beta","podName":"%s"}} \n\n\n' % pod_b


def test_follow_streams_lines_while_the_task_runs(engine, tmp_path):
    gate = tmp_path / "gate"
    name = engine.submit(workflow([
        python_script("main", """import os, time
print("first", flush=True)
deadline = time.time() + 60
while not os.path.exists({gate!r}) and time.time() < deadline:
    time.sleep(0.02)
print("second")
""".format(gate=str(gate)))]))
    stream = engine.request("GET", f"api/v1/workflows/argo/{name}/log", stream=True,
                            params={"logOptions.container": "main", "logOptions.follow": "true"})
    lines = stream.iter_lines()
    assert json.loads(next(lines))["result"]["content"] == "first"
    # The first line arrived while the task still waits for the gate: the stream is live.
    assert engine.get(name)["status"]["phase"] == "Running"
    gate.touch()
    rest = [json.loads(line)["result"]["content"] for line in lines if line]
    assert rest == ["second"]  # and the stream ended by itself once the workflow completed
    assert engine.get(name)["status"]["phase"] == "Succeeded"
