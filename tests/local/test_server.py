"""The engine's REST API as a client meets it: a real engine process, real HTTP over loopback.

Transport, the token, routes, create/get/list/delete with Argo's answers and errors, ``fields``,
and Hera's own client. The engine is the folder's (``tests/local/conftest.py``). Every wait is a
deadline loop that polls; no assertion depends on how long something took.
"""

from __future__ import annotations

import json
import re
import socket
import uuid
from pathlib import Path

import pytest
import requests

from hera_magics.local.naming import GENERATE_NAME_ALPHABET
from hera_magics.local.wire import TOKEN_NOT_VALID
from tests.local_helpers import dag, error_of, python_script, shell, task, workflow

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


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
        ("GET", "api/v1/cron-workflows/argo"),
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
        (lambda d: d["spec"]["templates"][1].update(outputs={"artifacts": [
            {"name": "model", "path": "/m", "s3": {"bucket": "models", "key": "m"}}]}),
         "templates.work.outputs.artifacts.model.s3.bucket: the local engine has no network credentials"),
        (lambda d: d["spec"]["templates"][1].update(sidecars=[{"name": "db", "image": "postgres"}]),
         "templates.work.sidecars"),
        (lambda d: d["spec"]["templates"].append({"name": "s", "containerSet": {"containers": [{"name": "x"}]}}),
         "templates.s.containerSet.containers.x.command: a container without a command runs its image's entrypoint"),
        (lambda d: d["spec"].update(volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "other"}}]),
         'spec.volumes.v.persistentVolumeClaim: claim "other" has no local folder'),
        (lambda d: d["spec"].update(volumes=[{"name": "v", "hostPath": {"path": "/etc"}}]), "spec.volumes.v.hostPath"),
        (lambda d: d["spec"]["templates"][1]["script"].update(command=["definitely-not-a-command-xyz"]),
         'templates.work.script.command: executable "definitely-not-a-command-xyz" is not found'),
        (lambda d: d["spec"]["templates"][1]["script"].update(
            env=[{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
         "templates.work.script.env.TOKEN.valueFrom.secretKeyRef"),
        (lambda d: d["spec"]["templates"][0]["dag"]["tasks"][0].update(
            hooks={"running": {"template": "work", "expression": "tasks.a.status == 'Running'"}}),
         "templates.main.tasks.a.hooks.running"),
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
# -- Hera's own client ----------------------------------------------------------------


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
