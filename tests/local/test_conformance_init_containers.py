"""A template's ``initContainers``: each runs to its end, in order, before the main container.

Argo's sources: ``examples/init-container.yaml`` (Succeeds in Argo's CI: the init container
shares the main container's mounts through ``mirrorVolumeMounts``); Kubernetes runs init
containers one after the other and fails the pod without starting main when one fails; the pod
stays Pending meanwhile, and main's exit code (``getExitCode`` in
``workflow/controller/operator.go``) is the node's ``outputs.exitCode``, so a pod whose main never
ran has none. A ``restartPolicy: Always`` init container is a native sidecar: refused, as sidecars.
"""

from __future__ import annotations

from hera_magics.argo import pod_name_of_node
from tests.local_helpers import error_of, workflow


def with_init(init_script: str, main_script: str, **init_options) -> dict:
    return workflow([{
        "name": "main",
        "container": {"image": "alpine", "command": ["sh", "-c", main_script],
                      "volumeMounts": [{"name": "foo", "mountPath": "/foo"}]},
        "initContainers": [{"name": "hello", "image": "alpine", "command": ["sh", "-c", init_script],
                            **init_options}],
    }], volumes=[{"name": "foo", "emptyDir": {}}])


def test_init_container_runs_first_and_shares_the_mirrored_mounts(engine):
    name = engine.submit(with_init("echo hello > /foo/greeting", "cat /foo/greeting", mirrorVolumeMounts=True))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    node = done["status"]["nodes"][name]
    assert node["type"] == "Pod" and node["outputs"]["exitCode"] == "0"
    logs = engine.request("GET", f"api/v1/workflows/argo/{name}/log",
                          params={"logOptions.container": "main", "podName": pod_name_of_node(name, node)})
    assert "hello" in logs.text


def test_a_failing_init_container_fails_the_pod_before_main(engine, tmp_path):
    marker = tmp_path / "main-ran"
    name = engine.submit(with_init("exit 3", f"touch {marker}"))
    done = engine.wait(name)
    node = done["status"]["nodes"][name]
    assert done["status"]["phase"] == "Failed"
    assert node["phase"] == "Failed" and node["message"] == "hello: Error (exit code 3)"
    assert "exitCode" not in (node.get("outputs") or {})
    assert not marker.exists()


def test_sidecar_init_containers_are_refused(engine):
    answer = engine.create(with_init("true", "true", restartPolicy="Always"))
    status, _, message = error_of(answer)
    assert status == 400 and message.startswith("templates.main.initContainers.hello.restartPolicy: ")
