"""Parameters while a workflow runs: inputs, outputs, task references and each pod's private folders."""

from __future__ import annotations

import json
import sys

from hera_magics.argo import pod_name
from tests.local_helpers import dag, nodes_by_display_name, python_script, shell, task, workflow


def test_parameters_outputs_and_private_folders(engine, claim_folder):
    produce = python_script("produce", """import json, os, sys
print("executable", sys.executable)
print("input", os.environ["HERA_MAGICS_INPUT_x"], "{{inputs.parameters.y}}", "{{workflow.parameters.greeting}}")
path = os.environ.get("HERA_MAGICS_PATH_PREFIX", "") + "/tmp/hera-magics/return"
os.makedirs(os.path.dirname(path), exist_ok=True)
open(path, "w").write(json.dumps({"value": os.environ["HERA_MAGICS_INPUT_x"]}) + "\\n")
open("/home/me/{{pod.name}}.txt".replace("/home/me", os.environ["HERA_MAGICS_PATH_PREFIX"] + "/home/me"), "w").write("shared")
print(os.getcwd() == (os.environ["HERA_MAGICS_PATH_PREFIX"] or "/"))
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
