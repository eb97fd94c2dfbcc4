"""Fields the engine used to accept and ignore without a word: each honoured or refused with a 400
naming it (issue 11 #5), and what Argo shows that the engine got visibly wrong (issue 11 #7)."""

from __future__ import annotations

import json

import pytest

from hera_magics.argo import rfc3339
from hera_magics.local.ttl import expires_at
from tests.local_helpers import dag, nodes_by_display_name, python_script, shell, start_engine, task, wait_for, workflow


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    running = start_engine(tmp_path_factory.mktemp("fields") / "state")
    yield running
    running.stop()


def _gone(engine, name: str) -> bool:
    return engine.request("GET", f"api/v1/workflows/argo/{name}").status_code == 404


# -- ttlStrategy (workflow/gccontroller/gc_controller.go, v4.0.5) -----------------------------------


@pytest.mark.parametrize(("script", "strategy"), [
    ("print('ok')", {"secondsAfterCompletion": 1}),
    ("print('ok')", {"secondsAfterSuccess": 0, "secondsAfterCompletion": 86400}),
    ("raise SystemExit(3)", {"secondsAfterFailure": 0, "secondsAfterSuccess": 86400}),
], ids=["completion", "success-before-completion", "failure"])
def test_a_finished_workflow_is_deleted_after_its_ttl(engine, script, strategy):
    name = engine.submit(workflow([python_script("main", script)], ttlStrategy=strategy))
    folder = engine.state_dir / "engine" / "workflows" / "argo" / name
    wait_for(lambda: _gone(engine, name) and not folder.exists(), timeout=60, what="the TTL to delete the workflow")


def test_a_workflow_is_kept_until_its_own_ttl(engine):
    # Failed, with only secondsAfterSuccess: no TTL applies, Argo keeps it.
    name = engine.submit(workflow([python_script("main", "raise SystemExit(3)")],
                                  ttlStrategy={"secondsAfterSuccess": 0}))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Failed"
    assert expires_at(done) is None
    # Nebari mode's 24 hours count from finishedAt.
    kept = {**done, "spec": {**done["spec"], "ttlStrategy": {"secondsAfterCompletion": 86400}}}
    finished = done["status"]["finishedAt"]
    assert rfc3339(expires_at(kept)) == rfc3339(expires_at({"status": {"phase": "Failed", "finishedAt": finished},
                                                            "spec": {"ttlStrategy": {"secondsAfterCompletion": 0}}})
                                                 + 86400)
    assert not _gone(engine, name)


def test_the_ttl_is_honoured_after_a_restart(tmp_path):
    first = start_engine(tmp_path / "state")
    try:
        name = first.submit(workflow([python_script("main", "print('ok')")], ttlStrategy={"secondsAfterCompletion": 2}))
        first.wait(name)
    finally:
        first.stop()
    second = start_engine(tmp_path / "state")
    try:
        wait_for(lambda: _gone(second, name), timeout=60, what="the restarted engine to apply the TTL")
    finally:
        second.stop()


# -- workflowMetadata, hostAliases, archiveLogs, debug pauses ----------------------------------------


def test_workflow_metadata_labels_and_annotations_are_applied(engine):
    body = workflow([python_script("main", "print('{{workflow.labels.team}}/{{workflow.annotations.note}}')")],
                    workflowMetadata={"labels": {"team": "data"}, "annotations": {"note": "hi"}})
    done = engine.wait(engine.submit(body))
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert done["metadata"]["labels"]["team"] == "data" and done["metadata"]["annotations"]["note"] == "hi"
    log = engine.request("GET", f"api/v1/workflows/argo/{done['metadata']['name']}/log",
                         params={"logOptions.container": "main"})
    assert json.loads(log.text)["result"]["content"] == "data/hi"


@pytest.mark.parametrize(("spec", "template", "field"), [
    ({"workflowMetadata": {"labelsFrom": {"x": {"expression": "now()"}}}}, {},
     "spec.workflowMetadata.labelsFrom.x.expression: "),
    ({"workflowMetadata": {"labels": {"team": "not a label!"}}}, {}, "spec.workflowMetadata.labels.team: "),
    ({"hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db"]}]}, {}, "spec.hostAliases: "),
    ({}, {"hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db"]}]}, "templates.main.hostAliases: "),
    ({"archiveLogs": True}, {}, "spec.archiveLogs: "),
    ({}, {"archiveLocation": {"archiveLogs": True}}, "templates.main.archiveLocation.archiveLogs: "),
    ({}, {"container": {"image": "alpine", "command": ["true"],
                        "env": [{"name": "ARGO_DEBUG_PAUSE_BEFORE", "value": "true"}]}},
     "templates.main.container.env.ARGO_DEBUG_PAUSE_BEFORE: "),
    ({}, {"container": {"image": "alpine", "command": ["true"],
                        "env": [{"name": "ARGO_DEBUG_PAUSE_AFTER", "value": "true"}]}},
     "templates.main.container.env.ARGO_DEBUG_PAUSE_AFTER: "),
], ids=["labelsFrom", "label-value", "hostAliases", "template-hostAliases", "archiveLogs",
        "template-archiveLogs", "debug-pause-before", "debug-pause-after"])
def test_ignored_fields_are_refused_by_name(engine, spec, template, field):
    answer = engine.create(workflow([{**shell("main", "true"), **template}], **spec))
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith(field)


def test_a_debug_pause_set_to_false_is_no_pause(engine):
    template = shell("main", "true")
    template["container"]["env"] = [{"name": "ARGO_DEBUG_PAUSE_BEFORE", "value": "false"}]
    assert engine.wait(engine.submit(workflow([template])))["status"]["phase"] == "Succeeded"


# -- what was visibly wrong (issue 11 #7) -------------------------------------------------------------


def test_a_script_is_staged_executable_like_argo_does(engine):
    # Argo's executor writes the script with mode 0755, so "bash -c <script path>" runs it.
    bash = {"name": "bash", "script": {"image": "debian", "command": ["bash", "-c"], "source": "echo from bash"}}
    mode = python_script("mode", "import os, stat, sys\nprint(oct(stat.S_IMODE(os.stat(sys.argv[0]).st_mode)))")
    done = engine.wait(engine.submit(workflow([dag([task("bash", "bash"), task("mode", "mode")]), bash, mode])))
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    log = engine.request("GET", f"api/v1/workflows/argo/{done['metadata']['name']}/log",
                         params={"logOptions.container": "main"}).text
    contents = sorted(json.loads(line)["result"]["content"] for line in log.splitlines())
    assert contents == ["0o755", "from bash"]
    assert nodes["bash"]["phase"] == "Succeeded"


@pytest.mark.parametrize("field", ["default", "value"])
def test_an_expression_outside_the_subset_in_template_inputs_is_refused_at_create(engine, field):
    template = python_script("main", "print('{{inputs.parameters.x}}')")
    template["inputs"] = {"parameters": [{"name": "x", field: "{{=sprig.env('HOME')}}"}]}
    answer = engine.create(workflow([template]))
    assert answer.status_code == 400
    assert answer.json()["message"].startswith(f"spec.templates.main.inputs.parameters.x.{field}: the expression {{{{=sprig.env('HOME')}}}} "
                                                 "is not supported by the local engine")


@pytest.mark.parametrize(("kind", "body"), [
    ("http", {"http": {"url": "https://example.org"}}),
    ("resource", {"resource": {"action": "create", "manifest": "kind: ConfigMap"}}),
    ("daemon", {"daemon": True, "container": {"image": "alpine", "command": ["sleep", "9"]}}),
])
def test_an_unsupported_template_is_refused_for_its_kind_not_for_a_reference(engine, kind, body):
    # The DAG comes first and reads the unsupported template's result: the kind must be named.
    main = dag([task("other", "other"),
                task("after", "echo", depends="other", arguments={"text": "{{tasks.other.outputs.result}}"})])
    echo = shell("echo", "echo {{inputs.parameters.text}}", inputs={"parameters": [{"name": "text"}]})
    answer = engine.create(workflow([main, {"name": "other", **body}, echo]))
    assert answer.status_code == 400
    assert answer.json()["message"].startswith(f"templates.other.{kind}: ")
