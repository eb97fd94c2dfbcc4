"""The task detail panel lists a task's output artifacts (and how to read one)."""

from __future__ import annotations

from hera_magics.status import task_rows
from hera_magics.view.render import render_task_detail_html


def _workflow(outputs: dict) -> dict:
    return {
        "metadata": {"name": "wf", "annotations": {"workflows.argoproj.io/pod-name-format": "v2"}},
        "status": {"nodes": {
            "wf": {"id": "wf", "name": "wf", "displayName": "wf", "type": "DAG", "phase": "Succeeded",
                   "children": ["wf-1"]},
            "wf-1": {"id": "wf-1", "name": "wf.train", "displayName": "train", "type": "Pod", "phase": "Succeeded",
                     "boundaryID": "wf", "templateName": "train", "outputs": outputs},
        }},
    }


def test_a_row_names_the_artifacts_its_task_saved_and_the_panel_shows_them():
    artifacts = [{"name": "model", "path": "/tmp/m", "s3": {"key": "wf/p/model.tgz"}},
                 {"name": "gone", "path": "/tmp/g", "s3": {"key": "k"}, "deleted": True},
                 {"name": "main-logs", "archiveLogs": True, "s3": {"key": "wf/p/main.log"}}]
    row = next(row for row in task_rows(_workflow({"artifacts": artifacts})) if row["task"] == "train")
    assert row["artifacts"] == ["model"]
    html = render_task_detail_html(row, None)
    assert "output artifacts: model" in html
    assert "run.artifact(&#x27;train&#x27;, &#x27;model&#x27;)" in html


def test_a_row_without_artifacts_has_no_artifacts_key():
    row = next(row for row in task_rows(_workflow({"exitCode": "0"})) if row["task"] == "train")
    assert "artifacts" not in row
    assert "output artifacts" not in render_task_detail_html(row, None)
