"""Names and paths: what a request and a template may make the engine write, and where tasks see
their declared paths (issue 9 #20, issue 11 #2).

Two real engines: one that gives every task its own view of the file system (where this machine
allows it), one started with ``--no-filesystem-view`` (as on a machine without user namespaces).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from hera_magics.local.pod_filesystem import view_available
from tests.local_helpers import dag, nodes_by_display_name, shell, start_engine, task, workflow

VIEW_AVAILABLE, VIEW_PROBLEM = view_available(Path(f"/tmp/hera-magics-test-probe-{uuid.uuid4().hex}"))
needs_view = pytest.mark.skipif(not VIEW_AVAILABLE, reason=f"no user namespaces here: {VIEW_PROBLEM}")


@pytest.fixture(scope="module")
def claim_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("claim")


@pytest.fixture(scope="module")
def engine(tmp_path_factory, claim_folder):
    running = start_engine(tmp_path_factory.mktemp("paths") / "state", extra=["--volume", f"shared={claim_folder}"])
    yield running
    running.stop()


@pytest.fixture(scope="module")
def plain_engine(tmp_path_factory):
    running = start_engine(tmp_path_factory.mktemp("plain") / "state", extra=["--no-filesystem-view"])
    yield running
    running.stop()


def _files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


# -- names in the API (issue 9 #20) -------------------------------------------------------------


@pytest.mark.parametrize("namespace", ["%2Fabs", "%2E%2E", "..%2F..%2Fmydata", "Upper", "a_b", "x" * 64])
def test_a_namespace_that_is_not_a_kubernetes_name_is_refused(engine, namespace):
    before = _files_under(engine.state_dir)
    answer = engine.request("POST", f"api/v1/workflows/{namespace}",
                            json={"workflow": workflow([shell("main", "true")])})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 3 and "namespace" in answer.json()["message"]
    assert _files_under(engine.state_dir) == before
    assert engine.request("GET", f"api/v1/workflows/{namespace}/results").status_code == 400
    assert engine.request("DELETE", f"api/v1/workflows/{namespace}/results").status_code == 400


def test_a_300_character_namespace_is_refused_and_nothing_is_made(engine):
    namespace = "n" * 300
    answer = engine.create(workflow([shell("main", "true")]), namespace=namespace)
    assert answer.status_code == 400 and "must be no more than 63 characters" in answer.json()["message"]
    items = engine.request("GET", "api/v1/workflows/").json()["items"] or []
    assert all(item["metadata"]["namespace"] != namespace for item in items)
    assert all(len(path.name) <= 63 for path in (engine.state_dir / "engine" / "workflows").iterdir())


@pytest.mark.parametrize(("name", "lookup"), [("%2E%2E", 400), ("%2Fetc", 400), ("Results", 400),
                                              # a Kubernetes name, but longer than Argo allows a workflow's
                                              ("a" * 64, 404)])
def test_a_workflow_name_that_is_not_a_kubernetes_name_is_refused(engine, name, lookup):
    body = workflow([shell("main", "true")])
    body["metadata"] = {"name": name.replace("%2F", "/").replace("%2E", ".")}
    answer = engine.create(body)
    assert answer.status_code == 400, answer.text
    assert engine.request("GET", f"api/v1/workflows/argo/{name}").status_code == lookup


def test_deleting_in_a_namespace_outside_the_state_folder_touches_nothing(engine, tmp_path):
    # The repro: a namespace "../../../mydata" and a workflow "results" deleted mydata/results.
    victim = tmp_path / "mydata" / "results"
    victim.mkdir(parents=True)
    (victim / "important.csv").write_text("keep me")
    relative = os.path.relpath(tmp_path / "mydata", engine.state_dir / "engine" / "workflows")
    namespace = relative.replace("/", "%2F")
    assert engine.request("DELETE", f"api/v1/workflows/{namespace}/results").status_code == 400
    assert (victim / "important.csv").read_text() == "keep me"


# -- template paths stay under the node's folders (issue 9 #20) --------------------------------------


def _escaping_workflow(depth: int) -> dict:
    climb = "/" + "../" * depth
    # The engine creates the working folder, the mount and the output's place: none may leave the node.
    template = shell("main", "pwd > {{outputs.parameters.where.path}}")
    template["container"]["workingDir"] = climb + "escaped-cwd"
    template["container"]["volumeMounts"] = [{"name": "scratch", "mountPath": climb + "escaped-mount"}]
    template["outputs"] = {"parameters": [{"name": "where", "valueFrom": {"path": climb + "escaped-output"}}]}
    return workflow([template], volumes=[{"name": "scratch", "emptyDir": {}}])


@pytest.mark.parametrize("which", ["engine", "plain_engine"])
def test_template_paths_that_climb_out_stay_in_the_node_folder(which, request):
    running = request.getfixturevalue(which)
    outside = running.state_dir.parent

    def beside_the_state() -> set[str]:
        return {path for path in _files_under(outside) if Path(path).parts[0] != running.state_dir.name}

    before = beside_the_state()
    # From a node's root, this many ".." reach the folder that holds the state folder.
    depth = len((Path("engine") / "workflows" / "argo" / "wf" / "nodes" / "id" / "fs").parts) + 1
    done = running.wait(running.submit(_escaping_workflow(depth)))
    assert done["status"]["phase"] == "Succeeded", done["status"]
    node = nodes_by_display_name(done)[done["metadata"]["name"]]
    where = node["outputs"]["parameters"][0]["value"]
    assert where.endswith("/escaped-cwd")
    assert beside_the_state() == before


def test_a_sub_path_that_leaves_its_volume_is_refused(engine):
    template = shell("main", "true")
    template["container"]["volumeMounts"] = [{"name": "data", "mountPath": "/data", "subPath": "../../etc"}]
    claim = {"name": "data", "persistentVolumeClaim": {"claimName": "shared"}}
    answer = engine.create(workflow([template], volumes=[claim]))
    assert answer.status_code == 400
    assert "volumeMounts.data.subPath: Invalid value: \"../../etc\"" in answer.json()["message"]


# -- absolute paths are the pod's (issue 11 #2) ------------------------------------------------------


def _output_workflow(command: str, path: str, **value_from: str) -> dict:
    template = shell("main", command)
    template["outputs"] = {"parameters": [{"name": "out", "valueFrom": {"path": path, **value_from}}]}
    return workflow([template])


@needs_view
def test_a_task_writes_its_output_where_it_declared_it(engine):
    # argo-workflows docs (output parameters): "echo hi > /tmp/output.txt" with valueFrom.path
    # /tmp/output.txt gives "hi"; with a default, the default only stands in for a missing file.
    marker = f"/tmp/hera-magics-output-{uuid.uuid4().hex}.txt"
    Path(marker).write_text("the machine's own file\n")
    try:
        done = engine.wait(engine.submit(_output_workflow(f"cat {marker} || true; echo hi > {marker}", marker,
                                                          default="a silent default")))
        assert done["status"]["phase"] == "Succeeded", done["status"]
        node = nodes_by_display_name(done)[done["metadata"]["name"]]
        assert node["outputs"]["parameters"][0]["value"] == "hi"
        # The machine's file at that path was neither shown to the task nor changed by it.
        assert Path(marker).read_text() == "the machine's own file\n"
        log = engine.request("GET", f"api/v1/workflows/argo/{done['metadata']['name']}/log",
                             params={"logOptions.container": "main"}).text
        assert "the machine's own file" not in log
    finally:
        os.unlink(marker)


@needs_view
def test_a_task_sees_mounts_and_working_folder_at_their_declared_paths(engine, claim_folder):
    template = shell("main", "pwd > /work/here && echo scratch > /scratch/a && cp /scratch/a /mnt/shared/copied "
                             "&& ls /mnt/shared > /work/listing && cat /scratch/a > /tmp/result")
    template["container"]["workingDir"] = "/work"
    template["container"]["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"},
                                             {"name": "shared", "mountPath": "/mnt/shared"}]
    template["outputs"] = {"parameters": [
        {"name": "here", "valueFrom": {"path": "/work/here"}},
        {"name": "listing", "valueFrom": {"path": "/work/listing"}},
        {"name": "result", "valueFrom": {"path": "/tmp/result"}},
        {"name": "copied", "valueFrom": {"path": "/mnt/shared/copied"}},
    ]}
    (claim_folder / "given").write_text("from the machine")
    done = engine.wait(engine.submit(workflow([template], volumes=[
        {"name": "scratch", "emptyDir": {}}, {"name": "shared", "persistentVolumeClaim": {"claimName": "shared"}}])))
    assert done["status"]["phase"] == "Succeeded", done["status"]
    outputs = {parameter["name"]: parameter["value"]
               for parameter in nodes_by_display_name(done)[done["metadata"]["name"]]["outputs"]["parameters"]}
    assert outputs == {"here": "/work", "listing": "copied\ngiven", "result": "scratch", "copied": "scratch"}
    assert (claim_folder / "copied").read_text() == "scratch\n"


def test_without_a_view_a_default_that_could_hide_the_real_value_is_refused(plain_engine):
    answer = plain_engine.create(_output_workflow("echo hi > /tmp/output.txt", "/tmp/output.txt", default="none"))
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert message.startswith("templates.main.outputs.parameters.out.valueFrom.default: this machine does not let")
    assert "{{outputs.parameters.out.path}}" in message


def test_without_a_view_the_path_variable_and_the_prefix_still_work(plain_engine):
    done = plain_engine.wait(plain_engine.submit(workflow([
        dag([task("variable", "variable"), task("prefix", "prefix")]),
        _output_workflow("echo hi > {{outputs.parameters.out.path}}", "/tmp/output.txt", default="none")["spec"]
        ["templates"][0] | {"name": "variable"},
        _output_workflow("mkdir -p $HERA_MAGICS_PATH_PREFIX/out && echo ho > $HERA_MAGICS_PATH_PREFIX/out/x",
                         "/out/x")["spec"]["templates"][0] | {"name": "prefix"},
    ])))
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    assert nodes["variable"]["outputs"]["parameters"][0]["value"] == "hi"
    assert nodes["prefix"]["outputs"]["parameters"][0]["value"] == "ho"


def test_without_a_view_a_missing_output_file_says_where_to_write_it(plain_engine):
    done = plain_engine.wait(plain_engine.submit(_output_workflow("echo hi > /tmp/elsewhere.txt", "/tmp/output.txt")))
    node = nodes_by_display_name(done)[done["metadata"]["name"]]
    assert node["phase"] == "Error"
    assert node["message"].startswith("failed to save outputs: open /tmp/output.txt: no such file or directory "
                                      "(this machine gives the task no view of its own paths")
    assert "{{outputs.parameters.out.path}}" in node["message"]
