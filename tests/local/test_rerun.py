"""Running a workflow again: ``retry`` keeps what succeeded, ``resubmit`` starts a new workflow."""

from __future__ import annotations

import json

from tests.local_helpers import dag, error_of, nodes_by_display_name, shell, task, workflow


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
