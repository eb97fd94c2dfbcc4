"""The local engine as a user's code meets it: a real engine process, real HTTP over loopback.

One engine process serves the whole module (started with 4 workers and one ``--volume``);
tests that need their own engine (restart, ``ensure_engine``) start one. Every wait is a
deadline loop that polls; no assertion depends on how long something took.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from hera_magics.local import ensure_engine, read_engine_state, running_engine, stop_engine
from hera_magics.argo import node_id, pod_name
from hera_magics.local.naming import GENERATE_NAME_ALPHABET
from hera_magics.local.wire import TOKEN_NOT_VALID

from .local_helpers import (
    dag,
    nodes_by_display_name,
    process_gone,
    python_script,
    shell,
    start_engine,
    task,
    wait_for,
    workflow,
)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def claim_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("claim-home")


@pytest.fixture(scope="module")
def engine(tmp_path_factory, claim_folder):
    running = start_engine(tmp_path_factory.mktemp("engine"), workers=4,
                           extra=["--volume", f"home={claim_folder}"])
    yield running
    running.stop()


def error_of(answer: requests.Response) -> tuple[int, int, str]:
    body = answer.json()
    assert set(body) == {"code", "message"}, body
    return answer.status_code, body["code"], body["message"]


# -- transport, auth, routes --------------------------------------------------------------------


def test_listens_on_loopback_only(engine):
    assert engine.url.startswith("http://127.0.0.1:") and engine.url.endswith("/")
    port = f"{engine.port:04X}"
    listeners = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(":" + port) and fields[3] == "0A":  # 0A = LISTEN
                listeners.append(fields[1])
    assert listeners == [f"0100007F:{port}"]
    try:
        others = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    except OSError:
        others = set()
    for address in others - {"127.0.0.1"}:
        if address.startswith("127."):
            continue
        with pytest.raises(OSError):
            socket.create_connection((address, engine.port), timeout=2).close()


def test_every_api_call_needs_the_token(engine):
    assert error_of(engine.request("GET", "api/v1/version", token=None)) == (401, 16, TOKEN_NOT_VALID)
    assert error_of(engine.request("GET", "api/v1/workflows/argo", token=None,
                                   headers={"Authorization": "Token abc"})) == (401, 16, TOKEN_NOT_VALID)
    assert error_of(engine.request("GET", "api/v1/workflows/argo", token="wrong")) == (401, 16, "Unauthorized")
    assert error_of(engine.request("GET", "api/v1/userinfo", token=None,
                                   headers={"Authorization": "Basic dXNlcjpwYXNz"})) == (401, 16, "Unauthorized")
    unauthorized = engine.request("GET", "api/v1/version", token="wrong")
    assert "Grpc-Metadata-Argo-Version" not in unauthorized.headers

    version = engine.request("GET", "api/v1/version")
    assert version.status_code == 200 and version.json()["version"].startswith("v")
    assert version.headers["Content-Type"] == "application/json"
    assert version.headers["Grpc-Metadata-Argo-Version"] == version.json()["version"]
    cookie = engine.request("GET", "api/v1/userinfo", token=None, cookies={"authorization": f"Bearer {engine.token}"})
    assert cookie.status_code == 200 and cookie.json()["subject"]
    assert engine.request("GET", "api/v1/info").status_code == 200
    # The token never reaches the engine's log.
    assert engine.token not in (engine.state_dir / "engine-stderr.log").read_text()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "api/v1/nothing-here"),
        ("GET", "api/v1/workflow-templates/argo"),
        ("PATCH", "api/v1/workflows/argo/some-name"),
        ("POST", "api/v1/workflows/argo/some-name/stop"),
        ("PUT", "api/v1/workflows/argo/some-name/explode"),
    ],
)
def test_unknown_routes_and_methods_are_501(engine, method, path):
    assert error_of(engine.request(method, path)) == (501, 12, "Not Implemented")
    assert error_of(engine.request(method, path, token=None)) == (501, 12, "Not Implemented")


def test_a_browser_gets_a_page_not_an_error(engine):
    page = requests.get(engine.url + "workflows/argo/x", timeout=10)
    assert page.status_code == 200 and "local engine" in page.text and engine.token not in page.text


# -- create, get, list, delete ------------------------------------------------------------------------


def test_create_answers_like_the_argo_server(engine):
    answer = engine.create(workflow([shell("main", "echo hi")], generate_name="shape-"))
    assert answer.status_code == 200
    created = answer.json()
    assert list(created) == ["metadata", "spec", "status"]  # no apiVersion/kind, as after a k8s GET
    metadata = created["metadata"]
    assert re.fullmatch(rf"shape-[{GENERATE_NAME_ALPHABET}]{{5}}", metadata["name"])
    assert metadata["namespace"] == "argo" and metadata["generation"] == 1
    assert uuid.UUID(metadata["uid"]) and metadata["resourceVersion"].isdigit()
    assert RFC3339.match(metadata["creationTimestamp"])
    assert metadata["labels"]["workflows.argoproj.io/creator"]
    assert created["status"] == {"startedAt": None, "finishedAt": None}

    done = engine.wait(metadata["name"])
    status = done["status"]
    assert status["phase"] == "Succeeded" and status["progress"] == "1/1"
    assert RFC3339.match(status["startedAt"]) and RFC3339.match(status["finishedAt"])
    assert done["metadata"]["labels"]["workflows.argoproj.io/phase"] == "Succeeded"
    assert done["metadata"]["labels"]["workflows.argoproj.io/completed"] == "true"
    assert done["metadata"]["annotations"]["workflows.argoproj.io/pod-name-format"] == "v2"
    assert int(done["metadata"]["resourceVersion"]) > int(metadata["resourceVersion"])
    # A pod entrypoint is the root node itself: id == name == workflow name.
    (root,) = status["nodes"].values()
    assert root["id"] == root["name"] == root["displayName"] == metadata["name"]
    assert root["type"] == "Pod" and root["outputs"] == {"exitCode": "0"}
    assert root["templateScope"] == f"local/{metadata['name']}"


def test_duplicate_names_conflict_and_missing_ones_are_404(engine):
    name = f"fixed-{uuid.uuid4().hex[:8]}"
    document = workflow([shell("main", "true")])
    document["metadata"] = {"name": name}
    assert engine.create(document).status_code == 200
    assert error_of(engine.create(document)) == (409, 6, f'workflows.argoproj.io "{name}" already exists')
    engine.wait(name)

    missing = f'workflows.argoproj.io "{name}-nope" not found'
    assert error_of(engine.request("GET", f"api/v1/workflows/argo/{name}-nope")) == (404, 5, missing)
    assert error_of(engine.request("DELETE", f"api/v1/workflows/argo/{name}-nope")) == (404, 5, missing)
    assert error_of(engine.request("PUT", f"api/v1/workflows/argo/{name}-nope/stop")) == (404, 5, missing)
    assert error_of(engine.request("GET", f"api/v1/workflows/argo/{name}-nope/log",
                                   params={"logOptions.container": "main"})) == (404, 5, missing)

    deleted = engine.request("DELETE", f"api/v1/workflows/argo/{name}")
    assert deleted.status_code == 200 and deleted.json() == {}
    assert engine.request("GET", f"api/v1/workflows/argo/{name}").status_code == 404


def _refusal(change):
    document = workflow([
        dag([task("a", "work")]),
        python_script("work", "print('hi')"),
    ])
    change(document)
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["spec"]["templates"][1].update(outputs={"artifacts": [{"name": "model", "path": "/m"}]}),
         "templates.work.outputs.artifacts: artifacts are not supported by the local engine"),
        (lambda d: d["spec"]["templates"][1].update(sidecars=[{"name": "db", "image": "postgres"}]),
         "templates.work.sidecars"),
        (lambda d: d["spec"]["templates"].append({"name": "s", "steps": [[{"name": "x", "template": "work"}]]}),
         "templates.s.steps: steps templates are not supported"),
        (lambda d: d["spec"].update(volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "other"}}]),
         'spec.volumes.v.persistentVolumeClaim: claim "other" has no local folder'),
        (lambda d: d["spec"].update(volumes=[{"name": "v", "hostPath": {"path": "/etc"}}]), "spec.volumes.v.hostPath"),
        (lambda d: d["spec"]["templates"][1]["script"].update(command=["definitely-not-a-command-xyz"]),
         'templates.work.script.command: executable "definitely-not-a-command-xyz" is not found'),
        (lambda d: d["spec"]["templates"][1]["script"].update(
            env=[{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
         "templates.work.script.env.TOKEN.valueFrom.secretKeyRef"),
        (lambda d: d["spec"]["templates"][0]["dag"]["tasks"][0].update(onExit="work"),
         "templates.main.tasks.a.onExit"),
        (lambda d: d["spec"]["templates"][0]["dag"]["tasks"][0].update(depends="ghost"),
         "templates.main.tasks.a dependency 'ghost' not defined"),
        (lambda d: d["spec"]["templates"][1]["script"].update(source="print('{{inputs.parameters.ghost}}')"),
         "templates.work.script.source: failed to resolve {{inputs.parameters.ghost}}"),
    ],
)
def test_what_cannot_be_honoured_is_refused_with_the_field(engine, change, message):
    status, code, text = error_of(engine.create(_refusal(change)))
    assert (status, code) == (400, 3)
    assert message in text


def test_malformed_bodies_and_lint(engine):
    answer = engine.request("POST", "api/v1/workflows/argo", data=b"{not json",
                            headers={"Content-Type": "application/json"})
    assert error_of(answer)[:2] == (400, 3)
    assert error_of(engine.request("POST", "api/v1/workflows/argo", json={}))[:2] == (400, 3)
    bad = _refusal(lambda d: d["spec"]["templates"][0]["dag"]["tasks"][0].update(depends="ghost"))
    assert error_of(engine.request("POST", "api/v1/workflows/argo/lint", json={"workflow": bad}))[:2] == (500, 2)
    good = _refusal(lambda d: None)
    linted = engine.request("POST", "api/v1/workflows/argo/lint", json={"workflow": good})
    assert linted.status_code == 200 and "name" not in linted.json()["metadata"]


def test_get_honours_fields(engine):
    name = engine.submit(workflow([dag([task("a", "work"), task("b", "work", depends="a")]),
                                   python_script("work", "print('x')")]))
    engine.wait(name)
    assert engine.get(name, fields="status.phase") == {
        "metadata": {"creationTimestamp": None},
        "spec": {},
        "status": {"phase": "Succeeded", "startedAt": None, "finishedAt": None},
    }
    small = engine.get(name, fields="metadata.name,status.phase,status.progress")
    assert small["metadata"]["name"] == name and small["status"]["progress"] == "2/2"
    assert "nodes" not in small["status"] and "templates" not in small["spec"]
    without_nodes = engine.get(name, fields="-status.nodes")
    assert "nodes" not in without_nodes["status"] and without_nodes["spec"]["templates"]
    assert without_nodes["status"]["phase"] == "Succeeded"
    whole = engine.get(name)
    assert len(whole["status"]["nodes"]) == 3


def test_list_filters_pages_and_null_items(engine):
    marker = uuid.uuid4().hex[:10]
    names = []
    for kind in ("one", "two"):
        document = workflow([shell("main", "true")], generate_name=f"list-{kind}-")
        document["metadata"]["labels"] = {"suite": marker, "kind": kind}
        names.append(engine.submit(document))
    for name in names:
        engine.wait(name)

    def listed(selector: str, **params) -> list[str] | None:
        answer = engine.request("GET", "api/v1/workflows/argo",
                                params={"listOptions.labelSelector": selector, **params})
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        return None if items is None else [item["metadata"]["name"] for item in items]

    assert sorted(listed(f"suite={marker}")) == sorted(names)
    assert listed(f"suite={marker},kind=one") == [names[0]]
    assert listed(f"suite={marker},kind!=one") == [names[1]]
    assert sorted(listed(f"suite={marker},kind in (one, two)")) == sorted(names)
    assert sorted(listed(f"suite={marker},workflows.argoproj.io/completed=true")) == sorted(names)
    assert listed(f"suite={marker},!kind") is None  # items is null, not [], when nothing matches
    assert listed(f"suite={marker}", **{"listOptions.fieldSelector": f"metadata.name={names[1]}"}) == [names[1]]

    first_page = engine.request("GET", "api/v1/workflows/argo", params={
        "listOptions.labelSelector": f"suite={marker}", "listOptions.limit": "1"}).json()
    assert len(first_page["items"]) == 1 and first_page["metadata"]["continue"] == "1"
    second_page = engine.request("GET", "api/v1/workflows/argo", params={
        "listOptions.labelSelector": f"suite={marker}", "listOptions.limit": "1", "listOptions.continue": "1"}).json()
    assert {first_page["items"][0]["metadata"]["name"], second_page["items"][0]["metadata"]["name"]} == set(names)

    slim = engine.request("GET", "api/v1/workflows/argo", params={
        "listOptions.labelSelector": f"suite={marker}",
        "fields": "metadata,items.metadata.name,items.status.phase"}).json()
    for item in slim["items"]:
        assert item["metadata"]["name"] in names and item["status"]["phase"] == "Succeeded"
        assert "labels" not in item["metadata"] and "nodes" not in item["status"]
    every_namespace = engine.request("GET", "api/v1/workflows/", params={"listOptions.labelSelector": f"suite={marker}"})
    assert len(every_namespace.json()["items"]) == 2
    assert engine.request("GET", "api/v1/workflows/elsewhere").json() == {
        "metadata": {"resourceVersion": "0"}, "items": None}


# -- logs -------------------------------------------------------------------------------------------


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


# -- execution ------------------------------------------------------------------------------------------


def recorder(name: str, events: Path, seconds: float) -> dict:
    """A task that appends ``start X`` and ``end X`` around a sleep to a shared file."""
    return python_script(name, f"""import time
with open({str(events)!r}, "a") as f: f.write("start {{{{inputs.parameters.label}}}}\\n")
time.sleep({seconds})
with open({str(events)!r}, "a") as f: f.write("end {{{{inputs.parameters.label}}}}\\n")
""", inputs=["label"])


def test_independent_tasks_run_at_the_same_time(engine, tmp_path):
    events = tmp_path / "events"
    name = engine.submit(workflow([
        dag([task("a", "sleep", arguments={"label": "a"}), task("b", "sleep", arguments={"label": "b"})]),
        recorder("sleep", events, 1.0),
    ]))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded"
    order = events.read_text().split("\n")[:-1]
    assert sorted(order[:2]) == ["start a", "start b"], order  # both started before either ended
    nodes = nodes_by_display_name(done)
    a, b = nodes["a"], nodes["b"]
    assert a["startedAt"] <= b["finishedAt"] and b["startedAt"] <= a["finishedAt"]


@pytest.mark.parametrize("where", ["workflow", "template"])
def test_parallelism_one_runs_one_task_at_a_time(engine, tmp_path, where):
    events = tmp_path / "events"
    main = dag([task("a", "sleep", arguments={"label": "a"}), task("b", "sleep", arguments={"label": "b"})])
    options = {}
    if where == "workflow":
        options["parallelism"] = 1
    else:
        main["parallelism"] = 1
    name = engine.submit(workflow([main, recorder("sleep", events, 0.5)], **options))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded"
    order = events.read_text().split("\n")[:-1]
    assert order in (["start a", "end a", "start b", "end b"], ["start b", "end b", "start a", "end a"]), order
    nodes = nodes_by_display_name(done)
    first, second = nodes[order[0][-1]], nodes[order[2][-1]]
    assert second["startedAt"] >= first["finishedAt"]


def test_workers_bound_how_many_processes_run_at_once(tmp_path):
    single = start_engine(tmp_path / "state", workers=1)
    try:
        events = tmp_path / "events"
        done = single.wait(single.submit(workflow([
            dag([task("a", "sleep", arguments={"label": "a"}), task("b", "sleep", arguments={"label": "b"})]),
            recorder("sleep", events, 0.3),
        ])))
    finally:
        single.stop()
    assert done["status"]["phase"] == "Succeeded"
    order = events.read_text().split("\n")[:-1]
    assert order in (["start a", "end a", "start b", "end b"], ["start b", "end b", "start a", "end a"]), order


def _fail_fast_workflow(tmp_path: Path, fail_fast: bool | None) -> dict:
    gate = tmp_path / "failed"
    main = dag([
        task("bad", "bad"),
        task("slow", "slow"),
        task("after", "quick", depends="slow"),
    ])
    if fail_fast is not None:
        main["dag"]["failFast"] = fail_fast
    return workflow([
        main,
        shell("bad", f"touch {gate}; exit 1"),
        # slow finishes only after bad has failed, so "after" becomes ready after the failure.
        shell("slow", f"while [ ! -e {gate} ]; do sleep 0.02; done; sleep 0.5"),
        shell("quick", "echo after"),
    ])


def test_fail_fast_lets_an_independent_branch_finish(engine, tmp_path):
    # dag.failFast (default true) only decides when the DAG is marked failed (Argo's
    # assessDAGPhase in workflow/controller/dag.go): the independent branch slow -> after runs.
    done = engine.wait(engine.submit(_fail_fast_workflow(tmp_path, None)))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed"
    assert nodes["bad"]["phase"] == "Failed" and nodes["bad"]["message"] == "main: Error (exit code 1)"
    assert nodes["bad"]["outputs"]["exitCode"] == "1"
    assert nodes["slow"]["phase"] == "Succeeded"  # already running: it finishes
    assert nodes["after"]["phase"] == "Succeeded"  # started after the failure
    root = done["status"]["nodes"][done["metadata"]["name"]]
    assert root["phase"] == "Failed" and root["type"] == "DAG"


def test_fail_fast_false_runs_every_branch(engine, tmp_path):
    done = engine.wait(engine.submit(_fail_fast_workflow(tmp_path, False)))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed"
    assert nodes["after"]["phase"] == "Succeeded"
    assert done["status"]["progress"] == "2/3"


def test_omitted_and_skipped_nodes(engine):
    main = dag([
        task("a", "fail"),
        task("b", "ok", depends="a"),
        task("c", "ok", depends="a.Failed"),
        task("d", "ok", depends="b"),
        task("e", "ok", when="1 == 2"),
    ], failFast=False)
    done = engine.wait(engine.submit(workflow([main, shell("fail", "exit 2"), shell("ok", "true")])))
    nodes = nodes_by_display_name(done)
    for omitted in ("b", "d"):  # d is omitted because b was: omission cascades
        node = nodes[omitted]
        assert (node["type"], node["phase"]) == ("Skipped", "Omitted")
        assert node["message"] == "omitted: depends condition not met"
        assert node["startedAt"] == node["finishedAt"] and "progress" not in node
    assert nodes["c"]["phase"] == "Succeeded"
    assert (nodes["e"]["type"], nodes["e"]["phase"], nodes["e"]["message"]) == (
        "Skipped", "Skipped", "when '1 == 2' evaluated false")
    assert nodes["a"]["message"] == "main: Error (exit code 2)"
    # The graph: dependents hang below their dependency; the DAG's children are its root tasks.
    root = done["status"]["nodes"][done["metadata"]["name"]]
    assert sorted(root["children"]) == sorted([nodes["a"]["id"], nodes["e"]["id"]])
    assert sorted(nodes["a"]["children"]) == sorted([nodes["b"]["id"], nodes["c"]["id"]])
    assert nodes["b"]["children"] == [nodes["d"]["id"]]
    assert done["status"]["phase"] == "Failed"  # target d's branch inherits a's failure


def test_retries_make_attempt_children(engine, tmp_path):
    counter = tmp_path / "count"
    flaky = python_script("flaky", f"""import os, sys
path = {str(counter)!r}
count = int(open(path).read()) if os.path.exists(path) else 0
open(path, "w").write(str(count + 1))
print("attempt", count)
sys.exit(0 if count >= 1 else 5)
""", retryStrategy={"limit": 3})
    doomed = shell("doomed", "exit 4", retryStrategy={"limit": "1", "retryPolicy": "Always"})
    done = engine.wait(engine.submit(workflow([
        dag([task("flaky", "flaky"), task("doomed", "doomed")], failFast=False), flaky, doomed])))
    nodes = nodes_by_display_name(done)
    name = done["metadata"]["name"]

    assert nodes["flaky"]["type"] == "Retry" and nodes["flaky"]["phase"] == "Succeeded"
    assert nodes["flaky"]["children"] == [nodes["flaky(0)"]["id"], nodes["flaky(1)"]["id"]]
    assert nodes["flaky(0)"]["phase"] == "Failed" and nodes["flaky(0)"]["message"] == "main: Error (exit code 5)"
    assert nodes["flaky(1)"]["phase"] == "Succeeded"
    assert nodes["flaky(1)"]["id"] == node_id(name, f"{name}.flaky(1)")
    assert "flaky(2)" not in nodes

    assert nodes["doomed"]["phase"] == "Failed" and nodes["doomed"]["message"] == "No more retries left"
    assert [nodes[f"doomed({index})"]["phase"] for index in range(2)] == ["Failed", "Failed"]
    assert "doomed(2)" not in nodes
    assert nodes["doomed"]["progress"] == "0/2" and nodes["flaky"]["progress"] == "1/2"


@pytest.mark.parametrize("limit", [{"timeout": "1s"}, {"activeDeadlineSeconds": 1}])
def test_template_deadlines_fail_the_node(engine, limit):
    done = engine.wait(engine.submit(workflow([dag([task("slow", "slow")]), shell("slow", "sleep 30", **limit)])))
    slow = nodes_by_display_name(done)["slow"]
    assert slow["phase"] == "Failed"
    assert slow["message"] == "Pod was active on the node longer than the specified deadline"
    assert done["status"]["phase"] == "Failed"


def test_workflow_deadline_fails_the_workflow(engine):
    done = engine.wait(engine.submit(workflow([dag([task("slow", "slow")]), shell("slow", "sleep 30")],
                                              activeDeadlineSeconds=1)))
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == "Step exceeded its deadline"
    assert nodes_by_display_name(done)["slow"]["message"] == "Step exceeded its deadline"


@pytest.mark.parametrize("action", ["stop", "terminate"])
def test_stop_and_terminate_kill_the_whole_process_tree(engine, tmp_path, action):
    # The task starts a child process (sleep) and waits for it: both must die.
    document = busy_workflow(tmp_path / "child.pid")
    document["spec"]["templates"][0]["dag"]["tasks"].append(task("later", "busy", depends="busy"))
    name = engine.submit(document)
    child = started_child(tmp_path / "child.pid")

    running = engine.request("PUT", f"api/v1/workflows/argo/{name}/retry", json={})
    assert error_of(running) == (400, 3, "Cannot retry a workflow in phase Running")

    answer = engine.request("PUT", f"api/v1/workflows/argo/{name}/{action}", json={})
    assert answer.status_code == 200
    strategy = "Stop" if action == "stop" else "Terminate"
    assert answer.json()["spec"]["shutdown"] == strategy
    done = engine.wait(name)
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == f"Stopped with strategy '{strategy}'"
    nodes = nodes_by_display_name(done)
    assert nodes["busy"]["phase"] == "Failed"
    assert nodes["busy"]["message"] == f"workflow shutdown with strategy:  {strategy}"
    assert "later" not in nodes or nodes["later"]["phase"] == "Omitted"  # it never ran
    wait_for(lambda: process_gone(child), timeout=10, what=f"child process {child} to be gone")

    again = engine.request("PUT", f"api/v1/workflows/argo/{name}/{action}", json={})
    assert error_of(again) == (500, 13, f'cannot shutdown a completed workflow: workflow: "{name}", namespace: "argo"')


def test_retry_reruns_what_failed_and_keeps_what_succeeded(engine, tmp_path):
    flag = tmp_path / "ok"
    name = engine.submit(workflow([
        dag([task("first", "first"), task("second", "second", depends="first"), task("third", "first", depends="second")]),
        shell("first", "echo first"),
        shell("second", f"test -e {flag} || exit 7"),
    ]))
    failed = engine.wait(name)
    assert failed["status"]["phase"] == "Failed"
    before = nodes_by_display_name(failed)
    assert before["second"]["message"] == "main: Error (exit code 7)" and before["third"]["phase"] == "Omitted"

    flag.touch()
    answer = engine.request("PUT", f"api/v1/workflows/argo/{name}/retry", json={})
    assert answer.status_code == 200 and answer.json()["status"]["phase"] == "Running"
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded" and "message" not in done["status"]
    after = nodes_by_display_name(done)
    assert after["first"] == before["first"] | {"children": after["first"]["children"]}  # kept as it was
    assert after["second"]["phase"] == "Succeeded" and after["third"]["phase"] == "Succeeded"
    assert done["metadata"]["labels"]["workflows.argoproj.io/completed"] == "true"
    succeeded_retry = engine.request("PUT", f"api/v1/workflows/argo/{name}/retry", json={})
    assert error_of(succeeded_retry)[:2] == (400, 3)


def test_resubmit_creates_a_new_workflow_from_the_same_spec(engine):
    original = engine.submit(workflow([shell("main", "echo {{workflow.parameters.word}}")], generate_name="again-",
                                      arguments={"parameters": [{"name": "word", "value": "first"}]}))
    engine.wait(original)
    answer = engine.request("PUT", f"api/v1/workflows/argo/{original}/resubmit", json={"parameters": ["word=second"]})
    assert answer.status_code == 200
    copy = answer.json()["metadata"]
    assert copy["name"] != original and copy["name"].startswith("again-")
    assert copy["labels"]["workflows.argoproj.io/resubmitted-from-workflow"] == original
    done = engine.wait(copy["name"])
    log = engine.request("GET", f"api/v1/workflows/argo/{copy['name']}/log", params={"logOptions.container": "main"})
    assert done["status"]["phase"] == "Succeeded" and json.loads(log.text)["result"]["content"] == "second"


def test_parameters_outputs_and_private_folders(engine, claim_folder):
    produce = python_script("produce", """import json, os, sys
print("executable", sys.executable)
print("input", os.environ["HERA_MAGICS_INPUT_x"], "{{inputs.parameters.y}}", "{{workflow.parameters.greeting}}")
path = os.environ.get("HERA_MAGICS_PATH_PREFIX", "") + "/tmp/hera-magics/return"
os.makedirs(os.path.dirname(path), exist_ok=True)
open(path, "w").write(json.dumps({"value": os.environ["HERA_MAGICS_INPUT_x"]}) + "\\n")
open("/home/me/{{pod.name}}.txt".replace("/home/me", os.environ["HERA_MAGICS_PATH_PREFIX"] + "/home/me"), "w").write("shared")
print(os.getcwd() == os.environ["HERA_MAGICS_PATH_PREFIX"])
""", inputs={"x": "default-x", "y": "default-y"},
        outputs={"parameters": [{"name": "return", "valueFrom": {"path": "/tmp/hera-magics/return"}}]},
        script={"env": [{"name": "HERA_MAGICS_INPUT_x", "value": "{{inputs.parameters.x}}"}],
                "volumeMounts": [{"name": "home", "mountPath": "/home/me"}]})
    consume = python_script("consume", "import json, os\nprint(json.dumps([os.environ['V'], os.environ['R']]))",
                            inputs=["value", "result"],
                            script={"env": [{"name": "V", "value": "{{inputs.parameters.value}}"},
                                            {"name": "R", "value": "{{inputs.parameters.result}}"}]})
    forgetful = shell("forgetful", "true")
    forgetful["outputs"] = {"parameters": [{"name": "missing", "valueFrom": {"path": "/tmp/nothing"}}]}
    name = engine.submit(workflow([
        dag([
            task("p1", "produce", arguments={"x": "one"}),
            task("p2", "produce", arguments={"x": "two \"quoted\" 'x'"}),
            task("c", "consume", depends="p1", arguments={"value": "{{tasks.p1.outputs.parameters.return}}",
                                                          "result": "{{tasks.p1.outputs.result}}"}),
            task("f", "forgetful"),
        ], failFast=False),
        produce, consume, forgetful,
    ], arguments={"parameters": [{"name": "greeting", "value": "hello"}]},
        volumes=[{"name": "home", "persistentVolumeClaim": {"claimName": "home"}}]))
    done = engine.wait(name)
    nodes = nodes_by_display_name(done)

    p1, p2 = nodes["p1"], nodes["p2"]
    # Each node has its own folder, so the same fixed output path never collides.
    assert p1["outputs"]["parameters"][0]["value"] == '{"value": "one"}'
    assert p2["outputs"]["parameters"][0]["value"] == '{"value": "two \\"quoted\\" \'x\'"}'
    assert p1["outputs"]["parameters"][0]["valueFrom"] == {"path": "/tmp/hera-magics/return"}
    # outputs.result is captured only for tasks whose result the DAG references.
    result = p1["outputs"]["result"]
    assert f"executable {sys.executable}" in result and "input one default-y hello" in result
    assert result.endswith("True")  # one trailing newline trimmed
    assert "result" not in p2["outputs"]
    assert p1["inputs"]["parameters"] == [{"name": "x", "default": "default-x", "value": "one"},
                                          {"name": "y", "default": "default-y", "value": "default-y"}]
    assert nodes["c"]["phase"] == "Succeeded"
    log = engine.request("GET", f"api/v1/workflows/argo/{name}/log", params={
        "logOptions.container": "main", "podName": pod_name(name, nodes["c"]["name"], "consume")})
    assert json.loads(json.loads(log.text)["result"]["content"]) == ['{"value": "one"}', result]
    # The claim's local folder received what the tasks wrote under their mount path.
    written = sorted(path.name for path in claim_folder.iterdir())
    assert pod_name(name, p1["name"], "produce") + ".txt" in written
    # A declared output whose file is missing is an Error, as on Argo.
    assert nodes["f"]["phase"] == "Error"
    assert nodes["f"]["message"] == "failed to save outputs: open /tmp/nothing: no such file or directory"


def test_nested_dags_pass_inputs_and_outputs(engine):
    inner = dag([task("leaf", "echo", arguments={"text": "inner {{inputs.parameters.word}}"})], name="inner",
                inputs={"parameters": [{"name": "word"}]},
                outputs={"parameters": [{"name": "said", "valueFrom": {"parameter": "{{tasks.leaf.outputs.parameters.said}}"}}]})
    echo = shell("echo", "printf '%s' '{{inputs.parameters.text}}' > $HERA_MAGICS_PATH_PREFIX/tmp/said")
    echo["inputs"] = {"parameters": [{"name": "text"}]}
    echo["outputs"] = {"parameters": [{"name": "said", "valueFrom": {"path": "/tmp/said"}}]}
    outer = dag([task("sub", "inner", arguments={"word": "bird"}),
                 task("after", "echo", depends="sub", arguments={"text": "got {{tasks.sub.outputs.parameters.said}}"})])
    done = engine.wait(engine.submit(workflow([outer, inner, echo])))
    assert done["status"]["phase"] == "Succeeded", done["status"]
    name = done["metadata"]["name"]
    nodes = {node["name"]: node for node in done["status"]["nodes"].values()}
    sub, leaf, after = nodes[f"{name}.sub"], nodes[f"{name}.sub.leaf"], nodes[f"{name}.after"]
    assert sub["type"] == "DAG" and leaf["boundaryID"] == sub["id"] and sub["boundaryID"] == name
    assert sub["outboundNodes"] == [leaf["id"]] and leaf["children"] == [after["id"]]
    assert sub["outputs"]["parameters"][0]["value"] == "inner bird"
    assert after["outputs"]["parameters"][0]["value"] == "got inner bird"
    assert nodes[name]["progress"] == "2/2" and sub["progress"] == "2/2"


# -- Hera, persistence, ensure_engine ----------------------------------------------------------------


def test_a_hand_written_hera_workflow_runs_through_heras_own_client(engine):
    from hera.workflows import DAG, Workflow, WorkflowsService, script
    from hera.workflows.models import WorkflowCreateRequest

    @script(image="python:3.11")
    def produce():
        print(41)

    @script(image="python:3.11")
    def consume(value):  # no annotation: this module's "from __future__ import annotations" confuses Hera
        print(value + 1)

    with Workflow(generate_name="hera-local-", entrypoint="main", namespace="argo") as hera_workflow:
        with DAG(name="main"):
            first = produce()
            second = consume(arguments={"value": first.result})
            first >> second

    service = WorkflowsService(host=engine.url, token=engine.token)
    created = service.create_workflow(WorkflowCreateRequest(workflow=hera_workflow.build()), namespace="argo")
    name = created.metadata.name
    assert name.startswith("hera-local-")
    engine.wait(name)
    fetched = service.get_workflow(name, namespace="argo")
    assert fetched.status.phase == "Succeeded"
    results = {node.display_name: node.outputs.result if node.outputs else None
               for node in fetched.status.nodes.values() if node.type == "Pod"}
    assert results == {"produce": "41", "consume": None}
    log = engine.request("GET", f"api/v1/workflows/argo/{name}/log", params={"logOptions.container": "main"})
    assert [json.loads(line)["result"]["content"] for line in log.text.splitlines()] == ["41", "42"]


def busy_workflow(child_pid_file: Path) -> dict:
    """One task that starts a child process (sleep 60), records its pid, and waits for it."""
    return workflow([dag([task("busy", "busy")]), shell("busy", f"sleep 60 & echo $! > {child_pid_file}; wait")])


def started_child(child_pid_file: Path) -> int:
    wait_for(lambda: child_pid_file.exists() and child_pid_file.read_text().strip(), what="the child's pid")
    child = int(child_pid_file.read_text())
    assert not process_gone(child)
    return child


def test_deleting_a_running_workflow_kills_its_tasks(engine, tmp_path):
    name = engine.submit(busy_workflow(tmp_path / "child.pid"))
    child = started_child(tmp_path / "child.pid")
    deleted = engine.request("DELETE", f"api/v1/workflows/argo/{name}")
    assert deleted.status_code == 200 and deleted.json() == {}
    wait_for(lambda: process_gone(child), timeout=10, what=f"child process {child} to be gone")
    assert engine.request("GET", f"api/v1/workflows/argo/{name}").status_code == 404


def test_an_engine_restart_keeps_finished_work_and_ends_interrupted_work(tmp_path):
    state = tmp_path / "state"
    first = start_engine(state, workers=2)
    try:
        finished = first.submit(workflow([shell("main", "echo remembered")]))
        first.wait(finished)
        clash = subprocess.run([sys.executable, "-m", "hera_magics.local", "--port", "0", "--token", "other",
                                "--state-dir", str(state)], capture_output=True, text=True, timeout=60)
        assert clash.returncode == 1 and "already uses" in clash.stderr and not clash.stdout
        interrupted = first.submit(busy_workflow(tmp_path / "child.pid"))
        child = started_child(tmp_path / "child.pid")
    finally:
        first.stop()
    # Stopping the engine stops what it runs: no orphan keeps going.
    wait_for(lambda: process_gone(child), timeout=10, what=f"child process {child} to be gone")

    second = start_engine(state, workers=2, token="another-token-abcdef")
    try:
        assert second.get(finished)["status"]["phase"] == "Succeeded"
        log = second.request("GET", f"api/v1/workflows/argo/{finished}/log", params={"logOptions.container": "main"})
        assert json.loads(log.text)["result"] == {"content": "remembered", "podName": finished}
        listed = second.request("GET", "api/v1/workflows/argo").json()["items"]
        assert sorted(item["metadata"]["name"] for item in listed) == sorted([finished, interrupted])
        done = second.wait(interrupted)
        assert done["status"]["phase"] == "Error"
        busy = nodes_by_display_name(done)["busy"]
        assert (busy["phase"], busy["message"]) == ("Error", "the local engine stopped while this task ran")
    finally:
        second.stop()


def test_ensure_engine_starts_once_and_reuses_the_running_engine(tmp_path, monkeypatch):
    folder = tmp_path / "user-state"
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(folder))
    url, token = ensure_engine(workers=2)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url) and len(token) >= 32
        state_file = folder / "local-engine.json"
        assert state_file.stat().st_mode & 0o777 == 0o600
        state = read_engine_state()
        assert state == {"url": url, "port": int(url.rstrip("/").rsplit(":", 1)[1]), "token": token,
                         "pid": state["pid"], "workers": 2, "volumes": {}}
        assert ensure_engine() == (url, token)  # the same engine, not a second one
        assert read_engine_state()["pid"] == state["pid"]
        answer = requests.get(url + "api/v1/version", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200
        # The token travels in the environment, never on the engine's command line.
        assert token.encode() not in Path(f"/proc/{state['pid']}/cmdline").read_bytes()
        assert token.encode() not in Path(f"/proc/{state['pid']}/environ").read_bytes()
    finally:
        assert stop_engine() is True
    assert not (folder / "local-engine.json").exists()
    assert running_engine() is None
    wait_for(lambda: process_gone(state["pid"]), timeout=10, what="the engine to exit")
    assert stop_engine() is False
