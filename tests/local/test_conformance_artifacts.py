"""Artifacts through the local artifact repository, as Argo v4.0.5 runs them (issue 11).

Small workflows of our own on a real engine process. Each expected outcome is Argo's, with the
source that fixes it, in argoproj/argo-workflows at v4.0.5: the executor
(``workflow/executor/executor.go``: ``loadArtifact``, ``unarchiveArtifact``, ``saveArtifact``,
``stageArchiveFile``, ``saveArtifactFromFile``), the controller (``workflow/controller/dag.go``
``resolveDependencyReferences``, ``scope.go`` ``resolveArtifact``, ``operator.go``
``getTemplateOutputsFromScope``, ``workflowpod.go`` ``addArchiveLocation``), the default key
format (``DefaultArchivePattern`` in ``pkg/apis/workflow/v1alpha1/artifact_repository_types.go``)
and Argo's examples (``artifact-passing.yaml``, ``key-only-artifact.yaml``,
``artifact-disable-archive.yaml``, ``input-artifact-raw.yaml``,
``artifact-path-placeholders.yaml``, ``artifact-gc-workflow.yaml``). Before this change the
engine refused every one of these workflows.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import uuid
from pathlib import Path

import pytest

from hera_magics.local.pod_filesystem import view_available

from tests.local_helpers import dag, error_of, nodes_by_display_name, shell, start_engine, task, workflow


VIEW_AVAILABLE, VIEW_PROBLEM = view_available(Path(f"/tmp/hera-magics-test-probe-{uuid.uuid4().hex}"))


def produce(name: str, script: str, artifacts: list[dict]) -> dict:
    return {**shell(name, script), "outputs": {"artifacts": artifacts}}


def consume(name: str, script: str, artifacts: list[dict]) -> dict:
    return {**shell(name, script), "inputs": {"artifacts": artifacts}}


def passes(producer_task: str, artifact: str, name: str | None = None, **options) -> dict:
    return {"name": name or artifact, "from": f"{{{{tasks.{producer_task}.outputs.artifacts.{artifact}}}}}", **options}


def uses(task_name: str, template: str, depends: str, artifacts: list[dict]) -> dict:
    return {"name": task_name, "template": template, "depends": depends, "arguments": {"artifacts": artifacts}}


def logs_of(engine, name: str) -> str:
    answer = engine.request("GET", f"api/v1/workflows/argo/{name}/log", params={"logOptions.container": "main"})
    return answer.text


def stored(engine, key: str):
    return engine.state_dir / "engine" / "artifacts" / key


# -- passing an artifact between tasks ------------------------------------------------------------------


def test_an_output_artifact_is_saved_as_tar_gzip_under_the_pods_key_and_read_by_the_next_task(engine):
    # examples/artifact-passing.yaml as a DAG. saveArtifactFromFile: an artifact without a key
    # is saved at <archive location key>/<file name>, the key being the default repository's
    # "{{workflow.name}}/{{pod.name}}" and the file name "<artifact>.tgz" (stageArchiveFile's
    # default tar strategy). The node records {name, path, s3: {key}} (SetType + SetKey); the
    # consumer's node records the resolved artifact with its own path (ProcessArgs).
    main = dag([task("generate", "whalesay"),
                uses("consume", "print", "generate", [passes("generate", "hello-art", "message")])])
    templates = [main,
                 produce("whalesay", "echo hello world | tee /tmp/hello_world.txt",
                         [{"name": "hello-art", "path": "/tmp/hello_world.txt"}]),
                 consume("print", "cat /tmp/message", [{"name": "message", "path": "/tmp/message"}])]
    name = engine.submit(workflow(templates))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    pod = f"{name}-whalesay-{nodes['generate']['id'].rsplit('-', 1)[1]}"
    key = f"{name}/{pod}/hello-art.tgz"
    assert nodes["generate"]["outputs"]["artifacts"] == [
        {"name": "hello-art", "path": "/tmp/hello_world.txt", "s3": {"key": key}}]
    assert nodes["consume"]["inputs"]["artifacts"] == [{"name": "message", "path": "/tmp/message", "s3": {"key": key}}]
    assert logs_of(engine, name).count("hello world") == 2
    with tarfile.open(stored(engine, key), "r:gz") as archive:
        assert archive.getnames() == ["hello_world.txt"]
        assert archive.extractfile("hello_world.txt").read() == b"hello world\n"
    assert done["status"]["artifactRepositoryRef"]["default"] is True
    assert done["status"]["artifactGCStatus"] == {"notSpecified": True}


def test_archive_none_keeps_the_file_as_it_is_and_tar_can_skip_compression(engine):
    # examples/artifact-disable-archive.yaml: archive none saves the file itself, under the base
    # name of its path; tar with compressionLevel 0 is still a gzip stream (gzip level 0); the
    # consumer auto-detects a tarball (unarchiveArtifact: isTarball) or takes the file as is.
    main = dag([task("make", "make"),
                uses("read", "read", "make", [passes("make", "plain"), passes("make", "stored"),
                                              passes("make", "folder")])])
    templates = [main,
                 produce("make", "mkdir -p /tmp/out/sub && echo a > /tmp/out/a && echo b > /tmp/out/sub/b "
                                 "&& echo plain > /tmp/plain.txt && echo stored > /tmp/stored.txt",
                         [{"name": "plain", "path": "/tmp/plain.txt", "archive": {"none": {}}},
                          {"name": "stored", "path": "/tmp/stored.txt", "archive": {"tar": {"compressionLevel": 0}}},
                          {"name": "folder", "path": "/tmp/out"}]),
                 consume("read", "cat /tmp/in/plain /tmp/in/stored /tmp/in/folder/a /tmp/in/folder/sub/b",
                         [{"name": "plain", "path": "/tmp/in/plain"}, {"name": "stored", "path": "/tmp/in/stored"},
                          {"name": "folder", "path": "/tmp/in/folder"}])]
    name = engine.submit(workflow(templates))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    outputs = {artifact["name"]: artifact for artifact in nodes_by_display_name(done)["make"]["outputs"]["artifacts"]}
    assert outputs["plain"]["s3"]["key"].endswith("/plain.txt")
    assert outputs["plain"]["archive"] == {"none": {}}
    assert stored(engine, outputs["plain"]["s3"]["key"]).read_bytes() == b"plain\n"
    assert outputs["stored"]["s3"]["key"].endswith("/stored.tgz")
    raw = stored(engine, outputs["stored"]["s3"]["key"]).read_bytes()
    assert gzip.decompress(raw)  # a gzip stream, level 0
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as archive:
        assert archive.getnames() == ["stored.txt"]
    with tarfile.open(stored(engine, outputs["folder"]["s3"]["key"]), "r:gz") as archive:
        assert sorted(archive.getnames()) == ["out", "out/a", "out/sub", "out/sub/b"]
    log = logs_of(engine, name)
    for word in ("plain", "stored", '"a"', '"b"'):
        assert word in log


def test_a_key_only_artifact_is_saved_and_loaded_at_its_key(engine):
    # examples/key-only-artifact.yaml: s3 with only a key names an object of the default
    # repository; the executor saves there (no file name appended: HasKey) and loads from there.
    key = f"conformance/{uuid.uuid4().hex}/my-file"
    main = dag([task("generate", "generate"), task("consume", "consume", depends="generate")])
    templates = [main,
                 produce("generate", "echo hello > /mnt/file", [{"name": "file", "path": "/mnt/file", "s3": {"key": key}}]),
                 consume("consume", "cat /tmp/file", [{"name": "file", "path": "/tmp/file", "s3": {"key": key}}])]
    name = engine.submit(workflow(templates))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert nodes_by_display_name(done)["generate"]["outputs"]["artifacts"][0]["s3"] == {"key": key}
    assert stored(engine, key).is_file()
    assert '"hello"' in logs_of(engine, name)


def test_raw_input_and_path_placeholders(engine):
    # examples/artifact-path-placeholders.yaml: a raw artifact in the workflow's arguments is the
    # entrypoint's input; {{inputs.artifacts.text.path}} and {{outputs.artifacts.text.path}} are
    # the declared paths (SubstituteParams); the output parameter counts the lines written.
    head = {
        "name": "head-lines",
        "inputs": {"parameters": [{"name": "lines-count"}],
                   "artifacts": [{"name": "text", "path": "/inputs/text/data"}]},
        "outputs": {"parameters": [{"name": "actual-lines-count", "valueFrom": {"path": "/outputs/count/data"}}],
                    "artifacts": [{"name": "text", "path": "/outputs/text/data"}]},
        "container": {"image": "busybox", "command": ["sh", "-c",
                      'mkdir -p "$(dirname "{{outputs.artifacts.text.path}}")" '
                      '"$(dirname "{{outputs.parameters.actual-lines-count.path}}")" ; '
                      'head -n {{inputs.parameters.lines-count}} < "{{inputs.artifacts.text.path}}" | '
                      'tee "{{outputs.artifacts.text.path}}" | wc -l > "{{outputs.parameters.actual-lines-count.path}}"']},
    }
    document = workflow([head], entrypoint="head-lines",
                        arguments={"parameters": [{"name": "lines-count", "value": "3"}],
                                   "artifacts": [{"name": "text", "raw": {"data": "1\n2\n3\n4\n5\n"}}]})
    done = engine.wait(engine.submit(document))
    assert done["status"]["phase"] == "Succeeded", done["status"]
    root = next(iter(done["status"]["nodes"].values()))
    assert root["outputs"]["parameters"][0]["value"].strip() == "3"
    assert root["inputs"]["artifacts"] == [{"name": "text", "path": "/inputs/text/data", "raw": {"data": "1\n2\n3\n4\n5\n"}}]


def test_mode_is_applied_to_a_loaded_artifact(engine):
    # loadArtifact: "if art.Mode != nil { chmod(artPath, *art.Mode, art.RecurseMode) }".
    template = consume("main", "stat -c %a /tmp/tool", [{"name": "tool", "path": "/tmp/tool", "mode": 0o750,
                                                         "raw": {"data": "#!/bin/sh\n"}}])
    name = engine.submit(workflow([template]))
    assert engine.wait(name)["status"]["phase"] == "Succeeded"
    assert '"750"' in logs_of(engine, name)


# -- optional and missing artifacts ----------------------------------------------------------------------


def test_a_missing_optional_output_is_left_out_and_a_missing_required_one_errors(engine):
    # saveArtifact: an optional artifact whose path does not exist is ignored ("Ignoring optional
    # artifact which does not exist in path") and not reported; a required one fails the wait
    # container, and the node is an Error (inferFailedReason: wait container).
    optional = produce("main", "true", [{"name": "maybe", "path": "/tmp/nothing", "optional": True}])
    done = engine.wait(engine.submit(workflow([optional])))
    root = next(iter(done["status"]["nodes"].values()))
    assert done["status"]["phase"] == "Succeeded"
    assert "artifacts" not in (root.get("outputs") or {})
    required = produce("main", "true", [{"name": "must", "path": "/tmp/nothing"}])
    done = engine.wait(engine.submit(workflow([required])))
    root = next(iter(done["status"]["nodes"].values()))
    assert (done["status"]["phase"], root["phase"]) == ("Error", "Error")
    assert "/tmp/nothing: no such file or directory" in root["message"]


def test_from_an_artifact_that_was_not_saved(engine):
    # resolveDependencyReferences + resolveArtifact: a from with nothing behind it is "Unable to
    # resolve" (the task is an Error node, it does not wait); an optional argument is left out,
    # and the consumer's optional input is then "not supplied" and ignored (loadArtifact).
    main = dag([task("make", "make"),
                uses("strict", "read", "make", [passes("make", "maybe", "data")]),
                uses("lenient", "read", "make", [passes("make", "maybe", "data", optional=True)])],
               failFast=False)
    templates = [main, produce("make", "true", [{"name": "maybe", "path": "/tmp/nothing", "optional": True}]),
                 consume("read", "test ! -e /tmp/data", [{"name": "data", "path": "/tmp/data", "optional": True}])]
    done = engine.wait(engine.submit(workflow(templates)))
    nodes = nodes_by_display_name(done)
    assert (nodes["strict"]["type"], nodes["strict"]["phase"]) == ("Skipped", "Error")
    assert nodes["strict"]["message"] == 'Unable to resolve: "tasks.make.outputs.artifacts.maybe"'
    assert nodes["lenient"]["phase"] == "Succeeded"
    assert done["status"]["phase"] == "Error"


def test_a_required_input_without_an_argument_is_not_supplied(engine):
    # ProcessArgs: "inputs.artifacts.%s was not supplied" (checked at create by the validator).
    template = consume("main", "true", [{"name": "data", "path": "/tmp/data"}])
    status, code, message = error_of(engine.create(workflow([template])))
    assert (status, code) == (400, 3)
    assert message == "spec.arguments: inputs.artifacts.data was not supplied"


# -- DAG outputs -------------------------------------------------------------------------------------


def test_a_dag_output_artifact_is_its_tasks_artifact_under_the_dags_name(engine):
    # getTemplateOutputsFromScope: a DAG's output artifact resolves its from; the DAG node records
    # the task's artifact under the output's name, and a later task reads it from the DAG.
    inner = {**dag([task("make", "make")], name="inner"),
             "outputs": {"artifacts": [{"name": "result", "from": "{{tasks.make.outputs.artifacts.out}}"}]}}
    main = dag([task("inner", "inner"), uses("read", "read", "inner", [passes("inner", "result", "data")])])
    templates = [main, inner, produce("make", "echo nested > /tmp/out", [{"name": "out", "path": "/tmp/out"}]),
                 consume("read", "cat /tmp/data", [{"name": "data", "path": "/tmp/data"}])]
    name = engine.submit(workflow(templates))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    made = nodes["make"]["outputs"]["artifacts"][0]
    assert nodes["inner"]["outputs"]["artifacts"] == [{**made, "name": "result"}]
    assert '"nested"' in logs_of(engine, name)


# -- artifact garbage collection ------------------------------------------------------------------------


def test_artifact_gc_deletes_on_completion_and_on_deletion(engine):
    # examples/artifact-gc-workflow.yaml: the workflow's strategy OnWorkflowDeletion, overridden
    # per artifact by OnWorkflowCompletion (artifact_gc.go); collected artifacts are marked deleted.
    key = f"conformance/{uuid.uuid4().hex}"
    template = produce("main", "echo x > /tmp/on-completion.txt && echo y > /tmp/on-deletion.txt", [
        {"name": "on-completion", "path": "/tmp/on-completion.txt", "s3": {"key": f"{key}/on-completion.txt"},
         "artifactGC": {"strategy": "OnWorkflowCompletion"}},
        {"name": "on-deletion", "path": "/tmp/on-deletion.txt", "s3": {"key": f"{key}/on-deletion.txt"}}])
    name = engine.submit(workflow([template], artifactGC={"strategy": "OnWorkflowDeletion"}))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    artifacts = {artifact["name"]: artifact for artifact in next(iter(done["status"]["nodes"].values()))["outputs"]["artifacts"]}
    assert artifacts["on-completion"].get("deleted") is True and "deleted" not in artifacts["on-deletion"]
    assert not stored(engine, f"{key}/on-completion.txt").exists()
    assert stored(engine, f"{key}/on-deletion.txt").exists()
    assert engine.request("DELETE", f"api/v1/workflows/argo/{name}").status_code == 200
    assert not stored(engine, f"{key}/on-deletion.txt").exists()


# -- the artifact server --------------------------------------------------------------------------------


def test_the_artifact_route_serves_the_saved_object(engine):
    # server/artifacts/artifact_server.go: GET /artifacts/{ns}/{wf}/{node id}/{artifact} streams
    # the object as stored, named by the last part of its key; no token, 401.
    template = produce("main", "echo served > /tmp/out.txt", [{"name": "out", "path": "/tmp/out.txt"}])
    name = engine.submit(workflow([template]))
    node = next(iter(engine.wait(name)["status"]["nodes"].values()))
    path = f"artifacts/argo/{name}/{node['id']}/out"
    answer = engine.request("GET", path)
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == 'filename="out.tgz"'
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as archive:
        assert archive.extractfile("out.txt").read() == b"served\n"
    assert engine.request("GET", path, token=None).status_code == 401
    assert engine.request("GET", f"artifacts/argo/{name}/{node['id']}/nope").status_code == 404


# -- refused at create ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("artifact", "field"), [
    ({"http": {"url": "https://example.com/x"}}, "templates.main.inputs.artifacts.data.http"),
    ({"git": {"repo": "https://github.com/argoproj/argo-workflows.git"}}, "templates.main.inputs.artifacts.data.git"),
    ({"gcs": {"bucket": "b", "key": "k"}}, "templates.main.inputs.artifacts.data.gcs"),
    ({"s3": {"bucket": "elsewhere", "key": "k"}}, "templates.main.inputs.artifacts.data.s3.bucket"),
    ({"s3": {"endpoint": "s3.amazonaws.com", "key": "k"}}, "templates.main.inputs.artifacts.data.s3.endpoint"),
    ({"raw": {"data": "x"}, "subPath": "a"}, "templates.main.inputs.artifacts.data.subPath"),
    ({"raw": {"data": "x"}, "fromExpression": "x"}, "templates.main.inputs.artifacts.data.fromExpression"),
])
def test_artifacts_outside_the_local_repository_are_refused_naming_the_field(engine, artifact, field):
    template = consume("main", "true", [{"name": "data", "path": "/tmp/data", **artifact}])
    status, code, message = error_of(engine.create(workflow([template])))
    assert (status, code) == (400, 3)
    assert message.startswith(field), message


def test_other_repositories_and_global_artifacts_are_refused(engine):
    template = produce("main", "true", [{"name": "out", "path": "/tmp/out", "globalName": "everyone"}])
    assert error_of(engine.create(workflow([template])))[2].startswith("templates.main.outputs.artifacts.out.globalName")
    plain = shell("main", "true")
    answer = engine.create(workflow([plain], artifactRepositoryRef={"configMap": "repos", "key": "minio"}))
    assert error_of(answer)[2].startswith("spec.artifactRepositoryRef")
    answer = engine.create(workflow([{**plain, "archiveLocation": {"s3": {"bucket": "b", "key": "k"}}}]))
    assert error_of(answer)[2].startswith("templates.main.archiveLocation.s3")


def test_a_from_must_name_an_ancestors_artifact(engine):
    # validateDAGTaskArgumentDependency: "missing dependency 'X' for artifact 'Y'".
    main = dag([task("make", "make"), uses("read", "read", "", [passes("make", "out", "data")])])
    main["dag"]["tasks"][1].pop("depends")
    templates = [main, produce("make", "true", [{"name": "out", "path": "/tmp/out"}]),
                 consume("read", "true", [{"name": "data", "path": "/tmp/data"}])]
    message = error_of(engine.create(workflow(templates)))[2]
    assert message == "templates.main.tasks.read missing dependency 'make' for artifact 'data'"
    templates[0]["dag"]["tasks"][1]["depends"] = "make"
    templates[0]["dag"]["tasks"][1]["arguments"]["artifacts"][0]["from"] = "{{tasks.make.outputs.artifacts.nope}}"
    message = error_of(engine.create(workflow(templates)))[2]
    assert message == ("templates.main.tasks.read.arguments.artifacts.data.from: failed to resolve "
                       "{{tasks.make.outputs.artifacts.nope}}")


# -- without a file-system view ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_engine(tmp_path_factory):
    running = start_engine(tmp_path_factory.mktemp("plain-artifacts") / "state", extra=["--no-filesystem-view"])
    yield running
    running.stop()


def test_without_a_view_artifacts_are_reached_through_their_path_variables(plain_engine):
    # The same passing as artifact-passing.yaml, written with {{outputs.artifacts.X.path}} and
    # {{inputs.artifacts.X.path}} (SubstituteParams): they lead to the node's own files.
    main = dag([task("make", "make"), uses("read", "read", "make", [passes("make", "out", "data")])])
    templates = [main,
                 produce("make", "echo prefixed | tee {{outputs.artifacts.out.path}}", [{"name": "out", "path": "/tmp/out"}]),
                 consume("read", "cat {{inputs.artifacts.data.path}}", [{"name": "data", "path": "/tmp/data"}])]
    name = plain_engine.submit(workflow(templates))
    assert plain_engine.wait(name)["status"]["phase"] == "Succeeded"
    assert logs_of(plain_engine, name).count("prefixed") == 2


def test_without_a_view_a_bare_artifact_path_is_refused_or_explained(plain_engine):
    # A task reading /tmp/data directly would read the machine's file without a word: refused.
    reader = consume("main", "cat /tmp/data", [{"name": "data", "path": "/tmp/data", "raw": {"data": "x"}}])
    status, _, message = error_of(plain_engine.create(workflow([reader])))
    assert status == 400
    assert message.startswith("templates.main.inputs.artifacts.data.path: this machine does not let")
    assert "{{inputs.artifacts.data.path}}" in message
    # A required output written to the machine's own path is missing: the message says where to write.
    writer = produce("main", f"echo x > /tmp/hera-magics-{uuid.uuid4().hex}", [{"name": "out", "path": "/tmp/out"}])
    done = plain_engine.wait(plain_engine.submit(workflow([writer])))
    root = next(iter(done["status"]["nodes"].values()))
    assert root["phase"] == "Error"
    assert "{{outputs.artifacts.out.path}}" in root["message"]


def test_map_reduce_with_key_only_artifacts(engine):
    # examples/map-reduce.yaml, smaller: "split" saves a folder unarchived under a key prefix,
    # each looped "map" loads one file of it by a key made with {{item}} (the loop's item is
    # substituted throughout the task, artifacts included) and saves under its own key;
    # "reduce" loads the whole results prefix as a folder. Argo's outcome: {"total": 12}.
    def script(name: str, source: str, **template) -> dict:
        return {"name": name, "script": {"image": "python:alpine3.23", "command": ["python"], "source": source},
                **template}

    split = script("split", "import json, os\nos.mkdir('/mnt/out')\nparts = [str(i) for i in range(3)]\n"
                   "for index, part in enumerate(parts, start=1):\n"
                   "    json.dump({'foo': index}, open('/mnt/out/' + part + '.json', 'w'))\n"
                   "print(json.dumps(parts))\n",
                   outputs={"artifacts": [{"name": "parts", "path": "/mnt/out", "archive": {"none": {}},
                                           "s3": {"key": "{{workflow.name}}/parts/"}}]})
    mapper = script("map", "import json, os\nos.mkdir('/mnt/out')\npart = json.load(open('/mnt/in/part.json'))\n"
                    "json.dump({'bar': part['foo'] * 2}, open('/mnt/out/part.json', 'w'))\n",
                    inputs={"parameters": [{"name": "partId"}], "artifacts": [{"name": "part", "path": "/mnt/in/part.json"}]},
                    outputs={"artifacts": [{"name": "part", "path": "/mnt/out/part.json", "archive": {"none": {}},
                                            "s3": {"key": "{{workflow.name}}/results/{{inputs.parameters.partId}}.json"}}]})
    reduce = script("reduce", "import json, os\nos.mkdir('/mnt/out')\n"
                    "total = sum(json.load(open('/mnt/in/' + name))['bar'] for name in os.listdir('/mnt/in'))\n"
                    "json.dump({'total': total}, open('/mnt/out/total.json', 'w'))\n",
                    inputs={"artifacts": [{"name": "results", "path": "/mnt/in", "s3": {"key": "{{workflow.name}}/results"}}]},
                    outputs={"artifacts": [{"name": "total", "path": "/mnt/out/total.json", "archive": {"none": {}},
                                            "s3": {"key": "{{workflow.name}}/total.json"}}]})
    main = dag([task("split", "split"),
                {"name": "map", "template": "map", "depends": "split", "withParam": "{{tasks.split.outputs.result}}",
                 "arguments": {"parameters": [{"name": "partId", "value": "{{item}}"}],
                               "artifacts": [{"name": "part", "s3": {"key": "{{workflow.name}}/parts/{{item}}.json"}}]}},
                task("reduce", "reduce", depends="map")])
    name = engine.submit(workflow([main, split, mapper, reduce]))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert stored(engine, f"{name}/total.json").read_text() == '{"total": 12}'
    assert sorted(path.name for path in stored(engine, f"{name}/results").iterdir()) == ["0.json", "1.json", "2.json"]


@pytest.mark.skipif(not VIEW_AVAILABLE, reason=f"no user namespaces here: {VIEW_PROBLEM}")
def test_an_output_the_task_does_not_write_reads_what_is_there(engine):
    # test/e2e/functional/dag-argument-passing.yaml reads the output parameter "hosts" from
    # /etc/hosts, a file of the image the task never writes, and passes its artifact on: in a
    # pod the file is there. The engine's tasks see the machine's files as the image's, so the
    # output reads the machine's /etc/hosts; a task that writes the path reads its own, and the
    # machine's file stays as it was. (/tmp is the pod's own: see test_paths.)
    if "through their own view" not in (engine.state_dir / "engine-stderr.log").read_text():
        pytest.skip("this engine gives its tasks no view (the writer would write the machine's /etc/hosts)")
    machine = Path("/etc/hosts").read_text()
    reader = {**shell("read", "true"), "outputs": {
        "parameters": [{"name": "hosts", "valueFrom": {"path": "/etc/hosts"}}],
        "artifacts": [{"name": "copy", "path": "/etc/hosts", "archive": {"none": {}}}]}}
    writer = {**shell("write", "echo from the task > /etc/hosts"), "outputs": {
        "parameters": [{"name": "hosts", "valueFrom": {"path": "/etc/hosts"}}]}}
    done = engine.wait(engine.submit(workflow([dag([task("read", "read"), task("write", "write")]), reader, writer])))
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    assert nodes["read"]["outputs"]["parameters"][0]["value"] == machine.removesuffix("\n")
    assert stored(engine, nodes["read"]["outputs"]["artifacts"][0]["s3"]["key"]).read_text() == machine
    assert nodes["write"]["outputs"]["parameters"][0]["value"] == "from the task"
    assert Path("/etc/hosts").read_text() == machine
